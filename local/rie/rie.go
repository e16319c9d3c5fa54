// Package rie runs a Lambda function's bootstrap locally under aws-lambda-rie, the runtime
// interface emulator that `sam local` runs inside its containers, without Docker: the function
// speaks the real Runtime API, and tests invoke it over HTTP as Lambda would.
package rie

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"wechatqr/local/internal/proc"
	"wechatqr/local/repo"
)

// Region is the region a function sees (AWS_REGION), the one dynamolocal's clients use.
const Region = "us-east-1"

// StartTimeout bounds the wait for the emulator to listen when Start's context has no deadline.
const StartTimeout = 15 * time.Second

var (
	// ErrNotFound means aws-lambda-rie is neither in <module root>/.bin nor on PATH.
	ErrNotFound = errors.New("aws-lambda-rie not found: run `make tools`")
	// ErrExited means the emulator stopped: before it was ready, or under an invocation. The
	// error carries its last output.
	ErrExited = errors.New("aws-lambda-rie exited")
	// ErrClosed means Invoke was called after Close.
	ErrClosed = errors.New("rie: function closed")
)

// SkipShort skips t under -short (`make test-unit`): a test that runs a function
// under the emulator needs aws-lambda-rie; `make test` runs it.
func SkipShort(t testing.TB) {
	t.Helper()
	if testing.Short() {
		t.Skip("needs aws-lambda-rie (`make tools`): skipped under -short (make test-unit); make test runs it")
	}
}

// Options tell Start what to run.
type Options struct {
	// Bootstrap is the function's executable, as Build returns it. It runs in its own
	// folder, as Lambda runs it in /var/task.
	Bootstrap string
	// Env is added to the function's environment, after (and so over) the defaults: a
	// Lambda-like minimal set with AWS_REGION and dummy credentials. Nothing else of the
	// caller's environment reaches the function: real credentials only if passed here.
	Env []string
	// Name is AWS_LAMBDA_FUNCTION_NAME; empty means the name of the bootstrap's folder.
	Name string
	// Timeout is the function's timeout, in whole seconds; 0 keeps the emulator's 300 s.
	Timeout time.Duration
	// Output, when not nil, gets a copy of everything the emulator and the function print.
	Output io.Writer
}

// Function is a bootstrap running under the emulator.
type Function struct {
	name   string
	url    string
	proc   *proc.Process
	client *http.Client

	// sem lets one invocation at a time reach the emulator: it serves one at a time, and a
	// second concurrent one crashed it (nil pointer dereference in rapidcore, seen with the
	// pinned version).
	sem chan struct{}

	life      context.Context // ends at Close, aborting an invocation in flight
	cancel    context.CancelFunc
	closeOnce sync.Once
	closeErr  error
}

// Start starts the emulator on two free loopback ports with the bootstrap and returns once it
// listens. The emulator starts the bootstrap at the first invocation, as Lambda does, so that
// invocation's REPORT carries the Init Duration. ctx bounds the start only; the function runs
// until Close.
func Start(ctx context.Context, opts Options) (*Function, error) {
	if opts.Bootstrap == "" {
		return nil, errors.New("rie: Options.Bootstrap is empty")
	}
	bootstrap, err := filepath.Abs(opts.Bootstrap)
	if err != nil {
		return nil, fmt.Errorf("rie: %w", err)
	}
	// The emulator itself would only fail at the first invocation, with an empty 502.
	info, err := os.Stat(bootstrap)
	if err != nil {
		return nil, fmt.Errorf("rie: bootstrap: %w", err)
	}
	if !info.Mode().IsRegular() || info.Mode().Perm()&0o111 == 0 {
		return nil, fmt.Errorf("rie: bootstrap %s is not an executable file", bootstrap)
	}
	root, _ := repo.Root() // outside the module only PATH is searched
	bin, err := locate(root)
	if err != nil {
		return nil, err
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, StartTimeout)
		defer cancel()
	}
	name := opts.Name
	if name == "" {
		name = filepath.Base(filepath.Dir(bootstrap))
	}
	env := environment(opts, bootstrap, name)
	// Free ports can be taken between our look and the emulator's bind: try others.
	for attempt := 1; ; attempt++ {
		f, err := start(ctx, bin, bootstrap, name, env, opts.Output)
		if err == nil || !errors.Is(err, errPortInUse) || attempt == 3 {
			return f, err
		}
	}
}

// locate finds aws-lambda-rie: the copy `make tools` installs under the module root first, so
// that the pinned version wins over whatever PATH has.
func locate(root string) (string, error) {
	if root != "" {
		p := filepath.Join(root, ".bin", "aws-lambda-rie")
		if info, err := os.Stat(p); err == nil && info.Mode().IsRegular() && info.Mode().Perm()&0o111 != 0 {
			return p, nil
		}
	}
	if p, err := exec.LookPath("aws-lambda-rie"); err == nil {
		return p, nil
	}
	where := "PATH"
	if root != "" {
		where = filepath.Join(root, ".bin") + " or PATH"
	}
	return "", fmt.Errorf("rie: %w (looked in %s)", ErrNotFound, where)
}

// environment is the function's whole environment. The emulator hands its own environment to
// the function, so this is what the function sees; anything from the caller's (a developer's
// real AWS credentials or profile) would leak into the function, and AWS_LAMBDA_MAX_CONCURRENCY
// would switch the emulator into another mode.
func environment(opts Options, bootstrap, name string) []string {
	dir := filepath.Dir(bootstrap)
	env := []string{
		"PATH=/usr/local/bin:/usr/bin:/bin",
		"LANG=en_US.UTF-8",
		"TZ=:UTC",
		"LAMBDA_TASK_ROOT=" + dir,
		"AWS_LAMBDA_FUNCTION_NAME=" + name,
		"AWS_REGION=" + Region,
		"AWS_DEFAULT_REGION=" + Region,
		// Dummy credentials, as DynamoDB Local accepts; without any the SDK fails before
		// sending a request.
		"AWS_ACCESS_KEY_ID=local",
		"AWS_SECRET_ACCESS_KEY=local",
		// No developer's ~/.aws profile, and no instance metadata probe, as in Lambda.
		"AWS_CONFIG_FILE=" + os.DevNull,
		"AWS_SHARED_CREDENTIALS_FILE=" + os.DevNull,
		"AWS_EC2_METADATA_DISABLED=true",
	}
	if opts.Timeout > 0 {
		secs := int((opts.Timeout + time.Second - 1) / time.Second)
		env = append(env, "AWS_LAMBDA_FUNCTION_TIMEOUT="+strconv.Itoa(secs))
	}
	// os/exec keeps the last of duplicate keys: Env wins over the defaults.
	return append(env, opts.Env...)
}

var errPortInUse = errors.New("address already in use")

func start(ctx context.Context, bin, bootstrap, name string, env []string, output io.Writer) (*Function, error) {
	api, err := proc.FreePort()
	if err != nil {
		return nil, fmt.Errorf("rie: %w", err)
	}
	runtimeAPI, err := proc.FreePort()
	for err == nil && runtimeAPI == api {
		runtimeAPI, err = proc.FreePort()
	}
	if err != nil {
		return nil, fmt.Errorf("rie: %w", err)
	}
	addrs := []string{"127.0.0.1:" + strconv.Itoa(api), "127.0.0.1:" + strconv.Itoa(runtimeAPI)}
	// Only the bootstrap as argument: with more, the emulator takes the last for a handler.
	cmd := exec.Command(bin,
		"--runtime-interface-emulator-address", addrs[0],
		"--runtime-api-address", addrs[1],
		bootstrap)
	cmd.Dir = filepath.Dir(bootstrap)
	cmd.Env = env
	p, err := proc.Start(cmd, output, output)
	if err != nil {
		return nil, fmt.Errorf("rie: %w", err)
	}
	life, cancel := context.WithCancel(context.Background())
	f := &Function{
		name:   name,
		url:    "http://" + addrs[0] + "/2015-03-31/functions/function/invocations",
		proc:   p,
		client: &http.Client{Transport: &http.Transport{}},
		sem:    make(chan struct{}, 1),
		life:   life,
		cancel: cancel,
	}
	if err := f.waitListening(ctx, addrs); err != nil {
		_ = f.Close()
		return nil, err
	}
	return f, nil
}

// waitListening waits until both of the emulator's addresses accept connections. Nothing more
// can be asked of it before an invocation: any request to its invoke path is an invocation.
func (f *Function) waitListening(ctx context.Context, addrs []string) error {
	var d net.Dialer
	for _, addr := range addrs {
		for {
			try, cancel := context.WithTimeout(ctx, time.Second)
			conn, err := d.DialContext(try, "tcp", addr)
			cancel()
			if err == nil {
				conn.Close()
				break
			}
			select {
			case <-f.proc.Done():
				if strings.Contains(f.proc.Output(), "address already in use") {
					return fmt.Errorf("rie: %s: %w", addr, errPortInUse)
				}
				return fmt.Errorf("rie: %w before it listened (%v); its last output:\n%s", ErrExited, f.proc.Err(), f.proc.Tail(20))
			case <-ctx.Done():
				return fmt.Errorf("rie: not listening on %s: %w; its last output:\n%s", addr, ctx.Err(), f.proc.Tail(20))
			case <-time.After(20 * time.Millisecond):
			}
		}
	}
	return nil
}

// FunctionError is an invocation that the function failed: it returned an error, panicked,
// exited, timed out or failed its init. The emulator answers these with 200 or 502 and, unlike
// Lambda, no X-Amz-Function-Error header; Invoke tells them from a response by their shape.
type FunctionError struct {
	// Type is the errorType: the Go type of the returned error ("errorString",
	// "*qr.Error"), or the platform's: "Runtime.ExitError", "Sandbox.Timedout",
	// "Runtime.Unknown" (a failure the emulator reported without details: see Logs).
	Type       string
	Message    string
	StackTrace json.RawMessage // as the runtime sent it (panics), else nil
}

func (e *FunctionError) Error() string {
	return fmt.Sprintf("function error %s: %s", e.Type, e.Message)
}

// Timeout reports whether the function ran out of time.
func (e *FunctionError) Timeout() bool { return e.Type == timedOutType }

const timedOutType = "Sandbox.Timedout" // what Lambda reports for a timeout

// Invoke sends payload to the function and returns its response, or a *FunctionError when the
// function failed. Invocations are serialised. If ctx ends first, Invoke returns at once but the
// invocation runs on in the emulator, and the next one waits for it.
func (f *Function) Invoke(ctx context.Context, payload []byte) ([]byte, error) {
	if f.life.Err() != nil {
		return nil, ErrClosed
	}
	select {
	case f.sem <- struct{}{}:
	case <-ctx.Done():
		return nil, fmt.Errorf("rie: invoke %s: waiting for the previous invocation: %w", f.name, ctx.Err())
	}
	type result struct {
		body []byte
		err  error
	}
	done := make(chan result, 1)
	go func() {
		defer func() { <-f.sem }() // only once the emulator is free again
		body, err := f.post(payload)
		done <- result{body, err}
	}()
	select {
	case r := <-done:
		return r.body, r.err
	case <-ctx.Done():
		return nil, fmt.Errorf("rie: invoke %s: %w", f.name, ctx.Err())
	}
}

func (f *Function) post(payload []byte) ([]byte, error) {
	req, err := http.NewRequestWithContext(f.life, http.MethodPost, f.url, bytes.NewReader(payload))
	if err != nil {
		return nil, fmt.Errorf("rie: invoke %s: %w", f.name, err)
	}
	// Our own request id (the emulator uses the header's) lets us find this invocation's
	// REPORT line.
	id := requestID()
	req.Header.Set("X-Amzn-RequestId", id)
	offset := f.proc.Len()
	resp, err := f.client.Do(req)
	if err == nil {
		defer resp.Body.Close()
		var body []byte
		if body, err = io.ReadAll(resp.Body); err == nil {
			if resp.StatusCode == http.StatusOK {
				f.awaitReport(offset, id)
			}
			return classify(resp.StatusCode, resp.Header, body)
		}
	}
	if f.life.Err() != nil {
		return nil, ErrClosed
	}
	select {
	case <-f.proc.Done():
		return nil, fmt.Errorf("rie: invoke %s: %w (%v); its last output:\n%s", f.name, ErrExited, f.proc.Err(), f.proc.Tail(20))
	case <-time.After(100 * time.Millisecond): // an emulator that crashed takes a moment to be reaped
	}
	return nil, fmt.Errorf("rie: invoke %s: %w", f.name, err)
}

// awaitReport waits a little for the REPORT line of invocation id, so that Reports and Logs
// hold it once Invoke returns. The emulator prints it before it answers (when it answers 200),
// but the copy from its stdout runs on its own.
func (f *Function) awaitReport(offset int, id string) {
	line := "REPORT RequestId: " + id
	for deadline := time.Now().Add(2 * time.Second); time.Now().Before(deadline); time.Sleep(2 * time.Millisecond) {
		if f.proc.Contains(offset, line) {
			return
		}
	}
}

// requestID makes an id shaped like Lambda's, a random UUID.
func requestID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read does not fail
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

var timedOut = regexp.MustCompile(`^Task timed out after [0-9.]+ seconds$`)

// classify turns the emulator's answer into a response or an error.
func classify(status int, h http.Header, body []byte) ([]byte, error) {
	switch {
	case status == http.StatusOK && h.Get("X-Amz-Function-Error") == "":
		if timedOut.Match(body) {
			return nil, &FunctionError{Type: timedOutType, Message: string(body)}
		}
		if fe, ok := functionError(body); ok {
			return nil, fe
		}
		return body, nil
	case status == http.StatusOK, status == http.StatusBadGateway:
		if fe, ok := functionError(body); ok {
			return nil, fe
		}
		msg := strings.TrimSpace(string(body))
		if msg == "" {
			msg = "the runtime failed without a response (a crash during init?): see the function's logs"
		}
		return nil, &FunctionError{Type: "Runtime.Unknown", Message: msg}
	}
	return nil, fmt.Errorf("rie: the emulator answered %d %s: %s", status, http.StatusText(status), bytes.TrimSpace(body))
}

// functionError reads the runtime's error document, {"errorMessage", "errorType",
// "stackTrace"?}; a body with any other key is a response that happens to look alike.
func functionError(body []byte) (*FunctionError, bool) {
	var doc map[string]json.RawMessage
	if json.Unmarshal(body, &doc) != nil || (doc["errorMessage"] == nil && doc["errorType"] == nil) {
		return nil, false
	}
	fe := &FunctionError{}
	for k, v := range doc {
		var err error
		switch k {
		case "errorMessage":
			err = json.Unmarshal(v, &fe.Message)
		case "errorType":
			err = json.Unmarshal(v, &fe.Type)
		case "stackTrace":
			fe.StackTrace = v
		default:
			return nil, false
		}
		if err != nil {
			return nil, false
		}
	}
	return fe, true
}

// Logs is everything the emulator and the function printed so far: the function's output,
// START/END/REPORT lines on stdout, the emulator's own log lines on stderr, in arrival order.
func (f *Function) Logs() string { return f.proc.Output() }

// PID is the emulator's process id (the function's runtime is its child).
func (f *Function) PID() int { return f.proc.PID() }

// Close stops the emulator and the function's runtime and returns once both are gone. Calling
// it again does nothing.
func (f *Function) Close() error {
	f.closeOnce.Do(func() {
		f.cancel()
		f.client.CloseIdleConnections()
		if err := f.proc.Close(); err != nil {
			f.closeErr = fmt.Errorf("rie: %w", err)
		}
	})
	return f.closeErr
}
