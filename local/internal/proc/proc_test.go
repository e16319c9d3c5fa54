package proc

import (
	"bytes"
	"errors"
	"net"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestOutputAndExit(t *testing.T) {
	var tee bytes.Buffer
	p, err := Start(exec.Command("sh", "-c", "echo one; echo two >&2; echo three; exit 3"), &tee, &tee)
	if err != nil {
		t.Fatal(err)
	}
	select {
	case <-p.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("process did not exit")
	}
	var exit *exec.ExitError
	if err := p.Err(); !errors.As(err, &exit) || exit.ExitCode() != 3 {
		t.Errorf("Err() = %v, want exit status 3", err)
	}
	for _, w := range []string{"one", "two", "three"} {
		if !strings.Contains(p.Output(), w) || !strings.Contains(tee.String(), w) {
			t.Errorf("output %q / tee %q lacks %q", p.Output(), tee.String(), w)
		}
	}
	if got := p.Tail(1); got != "three" && got != "two" { // stdout and stderr race
		t.Errorf("Tail(1) = %q", got)
	}
	if err := p.Close(); err != nil {
		t.Errorf("Close after exit: %v", err)
	}
}

func TestCloseStopsGroup(t *testing.T) {
	// The shell starts a child in its own process group (as the emulator does with the
	// function's runtime) and one in the shell's group, then prints both pids.
	script := `setsid sleep 300 & a=$!; sleep 300 & b=$!; echo "$a $b"; wait`
	p, err := Start(exec.Command("sh", "-c", script), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	var pids []int
	for deadline := time.Now().Add(10 * time.Second); len(pids) < 2 && time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		pids = pids[:0]
		for _, f := range strings.Fields(p.Output()) {
			if n, err := strconv.Atoi(f); err == nil {
				pids = append(pids, n)
			}
		}
	}
	if len(pids) < 2 {
		t.Fatalf("no pids printed: %q", p.Output())
	}
	pids = append(pids, p.PID())
	for _, pid := range pids {
		if !Alive(pid) {
			t.Fatalf("pid %d not running before Close", pid)
		}
	}
	start := time.Now()
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("Close took %v: the shell should have died on SIGTERM", d)
	}
	for _, pid := range pids {
		if Alive(pid) {
			t.Errorf("pid %d still running after Close", pid)
		}
	}
	if err := p.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

func TestPorts(t *testing.T) {
	port, err := FreePort()
	if err != nil {
		t.Fatal(err)
	}
	if err := CheckPort(port); err != nil {
		t.Fatalf("CheckPort(%d) on a free port: %v", port, err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(port))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if err := CheckPort(port); err == nil {
		t.Errorf("CheckPort(%d) = nil while something listens there", port)
	}
}
