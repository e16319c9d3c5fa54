// Package proc runs the local servers (DynamoDB Local, the Lambda runtime interface emulator) as
// child processes that do not outlive their owner: each starts in a process group of its own, is
// stopped with its whole group, and keeps what it printed for error messages and test logs.
package proc

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// grace is how long a process has to exit after SIGTERM before it gets SIGKILL. Both servers
// stop in well under a second; the margin is for a loaded machine.
const grace = 5 * time.Second

// Process is a started child process.
type Process struct {
	cmd  *exec.Cmd
	pgid int

	mu  sync.Mutex // guards out and serialises writes to the tee writers
	out bytes.Buffer

	done    chan struct{} // closed when the process has exited and been reaped
	waitErr error         // valid once done is closed

	closeOnce sync.Once
	closeErr  error
}

// Start starts cmd in a process group of its own. Everything it prints is kept (see Output) and
// copied to stdout and stderr when they are not nil; a failing copy never stops the process. The
// process lives until Close, whatever happens to the context that led to its start.
func Start(cmd *exec.Cmd, stdout, stderr io.Writer) (*Process, error) {
	p := &Process{cmd: cmd, done: make(chan struct{})}
	cmd.Stdout = &sink{p: p, tee: stdout}
	cmd.Stderr = &sink{p: p, tee: stderr}
	cmd.SysProcAttr = sysProcAttr()
	// A grandchild that keeps our pipes open (the emulator's runtime, if the emulator dies
	// first) must not block Wait for ever.
	cmd.WaitDelay = time.Second
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", cmd.Path, err)
	}
	p.pgid = cmd.Process.Pid // Setpgid with Pgid 0 makes the child the leader of a new group
	go func() {
		p.waitErr = cmd.Wait()
		close(p.done)
	}()
	return p, nil
}

// PID is the process id, which is also its process group id.
func (p *Process) PID() int { return p.cmd.Process.Pid }

// Done is closed when the process has exited.
func (p *Process) Done() <-chan struct{} { return p.done }

// Err waits for the process to exit and says how it ended (nil for exit status 0).
func (p *Process) Err() error {
	<-p.done
	return p.waitErr
}

// Output is everything the process printed so far, stdout and stderr interleaved as they came.
// It is all kept: the servers print a few lines per request, and a session is a test or an
// afternoon of `make run`.
func (p *Process) Output() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.out.String()
}

// Len is the length of Output so far: an offset for Contains.
func (p *Process) Len() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.out.Len()
}

// Contains reports whether the output from offset on contains substr.
func (p *Process) Contains(offset int, substr string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	b := p.out.Bytes()
	return offset <= len(b) && bytes.Contains(b[offset:], []byte(substr))
}

// Tail is the last n lines of Output, for error messages.
func (p *Process) Tail(n int) string {
	lines := strings.Split(strings.TrimRight(p.Output(), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// Close stops the process and everything it started: SIGTERM to its process group, SIGKILL after
// a grace period, then SIGKILL to any descendant that had moved to a process group of its own
// (the emulator puts the function's runtime in one). It returns once they are all gone. Calling
// it again does nothing.
func (p *Process) Close() error {
	p.closeOnce.Do(func() { p.closeErr = p.stop() })
	return p.closeErr
}

func (p *Process) stop() error {
	// Find them before the leader dies: afterwards they are re-parented and cannot be told apart.
	strays := descendants(p.PID())
	var errs []error
	select {
	case <-p.done:
	default:
		errs = append(errs, signalGroup(p.pgid, syscall.SIGTERM))
		select {
		case <-p.done:
		case <-time.After(grace):
			errs = append(errs, signalGroup(p.pgid, syscall.SIGKILL))
			<-p.done
		}
	}
	// Whatever is left of the group, and the strays, get no grace: their parent is gone.
	errs = append(errs, signalGroup(p.pgid, syscall.SIGKILL))
	for _, s := range strays {
		errs = append(errs, s.kill())
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("stop %s (pid %d): %w", p.cmd.Path, p.PID(), err)
	}
	return nil
}

// signalGroup signals every process in the group; a group that is already gone is no error.
func signalGroup(pgid int, sig syscall.Signal) error {
	if err := syscall.Kill(-pgid, sig); err != nil && !errors.Is(err, syscall.ESRCH) {
		return fmt.Errorf("signal %v to process group %d: %w", sig, pgid, err)
	}
	return nil
}

// sink appends what the process prints to its Output and copies it to tee. Both of the process's
// sinks share its mutex, so tee writers see whole writes, one at a time, even when the caller
// passed the same writer for stdout and stderr.
type sink struct {
	p   *Process
	tee io.Writer
}

func (s *sink) Write(b []byte) (int, error) {
	s.p.mu.Lock()
	defer s.p.mu.Unlock()
	s.p.out.Write(b)
	if s.tee != nil {
		_, _ = s.tee.Write(b) // the copy is a convenience: losing it must not kill the server
	}
	return len(b), nil
}

// FreePort returns a TCP port on 127.0.0.1 that nothing listened on at the time of the call.
// Another process may take it before the caller does: callers retry on "address already in
// use".
func FreePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// CheckPort reports an error when port cannot be listened on at 127.0.0.1 right now.
func CheckPort(port int) error {
	l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
	if err != nil {
		return err
	}
	return l.Close()
}

// Alive reports whether pid names a running process; a zombie (exited, not yet reaped by a parent
// that may never reap it) is not running.
func Alive(pid int) bool {
	return alive(pid)
}
