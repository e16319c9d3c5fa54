// Package moto runs moto_server, the AWS API emulator from Python's moto, on a
// loopback port: Secrets Manager for the tests of what the functions read from it, EventBridge and
// SQS for the scan actions (what they publish, what their stream mapping dead-letters).
package moto

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"regexp"
	"sync"
	"testing"
	"time"

	"wechatqr/local/internal/proc"
)

// ErrNotFound means moto_server is not on PATH.
var ErrNotFound = errors.New("moto_server not found on PATH: install it with `pip install 'moto[server]'`")

// Server is a running moto_server.
type Server struct {
	proc     *proc.Process
	endpoint string
}

var listening = regexp.MustCompile(`Running on (http://127\.0\.0\.1:\d+)`)

// Start starts moto_server on a free loopback port and returns once it listens.
func Start(ctx context.Context) (*Server, error) {
	bin, err := exec.LookPath("moto_server")
	if err != nil {
		return nil, fmt.Errorf("moto: %w", ErrNotFound)
	}
	// Port 0: the server picks a free port and prints it, so no race for one.
	p, err := proc.Start(exec.Command(bin, "-H", "127.0.0.1", "-p", "0"), nil, nil)
	if err != nil {
		return nil, fmt.Errorf("moto: %w", err)
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
	}
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		if m := listening.FindStringSubmatch(p.Output()); m != nil {
			return &Server{proc: p, endpoint: m[1]}, nil
		}
		select {
		case <-p.Done():
			return nil, fmt.Errorf("moto: moto_server exited before listening: %s", p.Tail(5))
		case <-ctx.Done():
			_ = p.Close()
			return nil, fmt.Errorf("moto: moto_server did not listen in time: %w", ctx.Err())
		case <-tick.C:
		}
	}
}

// Endpoint is the server's base URL, for AWS_ENDPOINT_URL_<SERVICE>.
func (s *Server) Endpoint() string { return s.endpoint }

// Close stops the server.
func (s *Server) Close() error { return s.proc.Close() }

// PID is the server's process id.
func (s *Server) PID() int { return s.proc.PID() }

// SkipShort skips t under -short (`make test-unit`), naming what it needs; `make
// test` runs it.
func SkipShort(t testing.TB) {
	t.Helper()
	if testing.Short() {
		t.Skip("needs moto_server (`pip install 'moto[server]'`): skipped under -short (make test-unit); make test runs it")
	}
}

// ForTest starts a server for t and stops it when t ends, as httptest.NewServer
// does: a test that cannot have its moto_server fails, it is not skipped (except
// under -short, see SkipShort).
func ForTest(t testing.TB) *Server {
	t.Helper()
	SkipShort(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	s, err := Start(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// Shared is one server for a package's tests, started by the first test that
// asks for it (so that the package's other tests run without moto_server) and
// stopped by Close from TestMain. The zero value is ready to use.
type Shared struct {
	once sync.Once
	srv  *Server
	err  error
}

// Get returns the server, starting it on the first call. Under -short it skips
// t; a server that cannot start fails every test that asks for it.
func (s *Shared) Get(t testing.TB) *Server {
	t.Helper()
	SkipShort(t)
	s.once.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		s.srv, s.err = Start(ctx)
	})
	if s.err != nil {
		t.Fatal(s.err)
	}
	return s.srv
}

// Close stops the server if a test started it.
func (s *Shared) Close() error {
	if s.srv == nil {
		return nil
	}
	return s.srv.Close()
}
