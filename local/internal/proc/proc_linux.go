package proc

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"
)

func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{
		Setpgid: true,
		// If the owner dies without Close (a test binary killed by its timeout), the server
		// is told to stop. SIGTERM, not SIGKILL: the emulator then stops the function's
		// runtime on its way out, which SIGKILL would leave behind.
		Pdeathsig: syscall.SIGTERM,
	}
}

// stat is what /proc/<pid>/stat says about a process.
type stat struct {
	pid, ppid int
	state     byte
	start     uint64 // start time in clock ticks since boot: tells a pid from its reuse
}

func readStat(pid int) (stat, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return stat{}, err
	}
	// The command name, in parentheses, may itself hold spaces and parentheses: the fields
	// that follow start after the last ')'.
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 || i+2 >= len(s) {
		return stat{}, fmt.Errorf("parse /proc/%d/stat", pid)
	}
	f := strings.Fields(s[i+2:]) // f[0] is field 3 (state)
	if len(f) < 20 {
		return stat{}, fmt.Errorf("parse /proc/%d/stat", pid)
	}
	ppid, err1 := strconv.Atoi(f[1])
	start, err2 := strconv.ParseUint(f[19], 10, 64)
	if err := errors.Join(err1, err2); err != nil {
		return stat{}, fmt.Errorf("parse /proc/%d/stat: %w", pid, err)
	}
	return stat{pid: pid, ppid: ppid, state: f[0][0], start: start}, nil
}

func alive(pid int) bool {
	st, err := readStat(pid)
	return err == nil && st.state != 'Z' && st.state != 'X'
}

// descendants lists every live process below pid.
func descendants(pid int) []stat {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	children := map[int][]stat{}
	for _, e := range entries {
		n, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if st, err := readStat(n); err == nil {
			children[st.ppid] = append(children[st.ppid], st)
		}
	}
	var out []stat
	queue := []int{pid}
	for len(queue) > 0 {
		for _, c := range children[queue[0]] {
			out = append(out, c)
			queue = append(queue, c.pid)
		}
		queue = queue[1:]
	}
	return out
}

// kill ends a stray process and waits (briefly) for it to be gone. A process with the same pid
// but another start time is someone else's: it is left alone.
func (s stat) kill() error {
	same := func() bool {
		now, err := readStat(s.pid)
		return err == nil && now.start == s.start && now.state != 'Z' && now.state != 'X'
	}
	if !same() {
		return nil
	}
	if err := syscall.Kill(s.pid, syscall.SIGKILL); err != nil && !errors.Is(err, syscall.ESRCH) {
		return fmt.Errorf("kill stray process %d: %w", s.pid, err)
	}
	for deadline := time.Now().Add(grace); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if !same() {
			return nil
		}
	}
	return fmt.Errorf("stray process %d survived SIGKILL", s.pid)
}
