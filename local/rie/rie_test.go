package rie

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"wechatqr/local/internal/proc"
)

// TestFunction runs the echo function under the real emulator. A missing aws-lambda-rie fails
// it with the message that says how to install it.
func TestFunction(t *testing.T) {
	SkipShort(t)
	ctx := t.Context()
	// What the function must not see of its parent's environment.
	t.Setenv("AWS_SECRET_ACCESS_KEY", "parent-secret")
	t.Setenv("PARENT_ONLY", "leaked")

	bin, err := Build(ctx, "./local/rie/testdata/echo", t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	var output bytes.Buffer // read only after Close, when nothing writes to it any more
	f, err := Start(ctx, Options{
		Bootstrap: bin,
		Env:       []string{"ECHO_EXTRA=hi"},
		Name:      "echo-test",
		Timeout:   time.Second,
		Output:    &output,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		f.Close()
		if t.Failed() {
			t.Logf("emulator output:\n%s", output.String())
		}
	})

	t.Run("echo", func(t *testing.T) {
		in := []byte(`{"hello":"world","n":[1,2]}`)
		got, err := f.Invoke(ctx, in)
		if err != nil || !bytes.Equal(got, in) {
			t.Fatalf("Invoke(%s) = %s, %v", in, got, err)
		}
	})

	t.Run("report with init duration", func(t *testing.T) {
		reports := f.Reports()
		if len(reports) != 1 {
			t.Fatalf("Reports() = %+v, want one", reports)
		}
		r := reports[0]
		if r.RequestID == "" || r.InitDuration <= 0 || r.Duration <= 0 || r.MemorySizeMB == 0 {
			t.Errorf("first report %+v: want a request id, an Init Duration, a Duration and a memory size", r)
		}
	})

	t.Run("function error", func(t *testing.T) {
		got, err := f.Invoke(ctx, []byte(`"fail"`))
		var fe *FunctionError
		if !errors.As(err, &fe) {
			t.Fatalf("Invoke(fail) = %s, %v; want a *FunctionError", got, err)
		}
		if fe.Type != "errorString" || fe.Message != "echo: asked to fail" || fe.Timeout() {
			t.Errorf("FunctionError = %+v", fe)
		}
	})

	t.Run("environment", func(t *testing.T) {
		got, err := f.Invoke(ctx, []byte(`"env"`))
		if err != nil {
			t.Fatal(err)
		}
		var env map[string]string
		if err := json.Unmarshal(got, &env); err != nil {
			t.Fatalf("%s: %v", got, err)
		}
		want := map[string]string{
			"AWS_REGION":               "us-east-1",
			"AWS_ACCESS_KEY_ID":        "local",
			"AWS_SECRET_ACCESS_KEY":    "local", // the dummy, not the parent's
			"AWS_SESSION_TOKEN":        "",
			"AWS_LAMBDA_FUNCTION_NAME": "echo-test",
			"ECHO_EXTRA":               "hi",
			"PARENT_ONLY":              "",
		}
		for k, v := range want {
			if env[k] != v {
				t.Errorf("%s = %q, want %q", k, env[k], v)
			}
		}
	})

	t.Run("timeout", func(t *testing.T) {
		start := time.Now()
		_, err := f.Invoke(ctx, []byte(`"sleep"`))
		var fe *FunctionError
		if !errors.As(err, &fe) || !fe.Timeout() {
			t.Fatalf("Invoke(sleep) error = %v; want a timeout *FunctionError", err)
		}
		if d := time.Since(start); d > 1900*time.Millisecond {
			t.Errorf("timed out after %v, want about the 1 s timeout", d)
		}
		// The emulator kills the runtime and starts a new one for the next invocation.
		if got, err := f.Invoke(ctx, []byte(`"again"`)); err != nil || string(got) != `"again"` {
			t.Fatalf("Invoke after a timeout = %s, %v", got, err)
		}
	})

	t.Run("concurrent invocations are serialised", func(t *testing.T) {
		var wg sync.WaitGroup
		for i := range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				in := []byte(`{"i":` + string(rune('0'+i)) + `}`)
				if got, err := f.Invoke(ctx, in); err != nil || !bytes.Equal(got, in) {
					t.Errorf("Invoke(%s) = %s, %v", in, got, err)
				}
			}()
		}
		wg.Wait()
	})

	t.Run("logs", func(t *testing.T) {
		logs := f.Logs()
		for _, want := range []string{`echo: got {"hello":"world"`, "START RequestId:", "REPORT RequestId:"} {
			if !strings.Contains(logs, want) {
				t.Errorf("Logs() lacks %q", want)
			}
		}
	})

	t.Run("close leaves no process", func(t *testing.T) {
		got, err := f.Invoke(ctx, []byte(`"pid"`))
		if err != nil {
			t.Fatal(err)
		}
		var runtimePID int
		if err := json.Unmarshal(got, &runtimePID); err != nil || runtimePID == 0 {
			t.Fatalf("pid answer %s: %v", got, err)
		}
		pids := map[string]int{"aws-lambda-rie": f.PID(), "bootstrap": runtimePID}
		for name, pid := range pids {
			if !proc.Alive(pid) {
				t.Fatalf("%s (pid %d) not running before Close", name, pid)
			}
		}
		if err := f.Close(); err != nil {
			t.Fatal(err)
		}
		for name, pid := range pids {
			if proc.Alive(pid) {
				t.Errorf("%s (pid %d) still running after Close", name, pid)
			}
		}
		if err := f.Close(); err != nil {
			t.Errorf("second Close: %v", err)
		}
		if _, err := f.Invoke(ctx, []byte(`{}`)); !errors.Is(err, ErrClosed) {
			t.Errorf("Invoke after Close = %v, want ErrClosed", err)
		}
		if !strings.Contains(output.String(), "REPORT RequestId:") {
			t.Errorf("Options.Output got no REPORT line")
		}
	})
}

func TestBuildError(t *testing.T) {
	_, err := Build(t.Context(), "./local/rie/testdata/broken", t.TempDir())
	if err == nil || !strings.Contains(err.Error(), "undefinedOnPurpose") {
		t.Fatalf("Build(broken) = %v; want the compiler's message", err)
	}
}

func TestStartErrors(t *testing.T) {
	dir := t.TempDir()
	notExec := filepath.Join(dir, "bootstrap")
	if err := os.WriteFile(notExec, []byte("#!/bin/sh\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, bootstrap, want string
	}{
		{name: "no bootstrap given", want: "Bootstrap is empty"},
		{name: "missing", bootstrap: filepath.Join(dir, "nope"), want: "no such file"},
		{name: "not executable", bootstrap: notExec, want: "not an executable"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := Start(t.Context(), Options{Bootstrap: tt.bootstrap})
			if err == nil {
				f.Close()
				t.Fatal("Start succeeded")
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Start: %v; want %q", err, tt.want)
			}
		})
	}
}

func TestLocate(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	_, err := locate(t.TempDir())
	if !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), "make tools") {
		t.Fatalf("locate with nothing installed = %v; want ErrNotFound saying `make tools`", err)
	}

	root := t.TempDir()
	bin := filepath.Join(root, ".bin", "aws-lambda-rie")
	if err := os.MkdirAll(filepath.Dir(bin), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bin, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	if got, err := locate(root); err != nil || got != bin {
		t.Fatalf("locate(root with .bin) = %q, %v; want %q", got, err, bin)
	}
}

func TestClassify(t *testing.T) {
	fnErr := http.Header{"X-Amz-Function-Error": {"Unhandled"}}
	tests := []struct {
		name     string
		status   int
		header   http.Header
		body     string
		want     string // the response, when no error
		wantType string // the FunctionError's type
		wantErr  string // another error
	}{
		{name: "response", status: 200, body: `{"statusCode":200}`, want: `{"statusCode":200}`},
		{name: "empty response", status: 200, body: ``, want: ``},
		{name: "look-alike response", status: 200, body: `{"errorMessage":"x","statusCode":400}`, want: `{"errorMessage":"x","statusCode":400}`},
		{name: "returned error", status: 200, body: `{"errorMessage":"boom","errorType":"*qr.Error"}`, wantType: "*qr.Error"},
		{name: "timeout", status: 200, body: `Task timed out after 5.00 seconds`, wantType: "Sandbox.Timedout"},
		{name: "panic", status: 502, body: `{"errorMessage":"boom","errorType":"string","stackTrace":[{"line":1}]}`, wantType: "string"},
		{name: "exit", status: 502, body: `{"errorType":"Runtime.ExitError","errorMessage":"exit status 2"}`, wantType: "Runtime.ExitError"},
		{name: "init crash", status: 502, body: ``, wantType: "Runtime.Unknown"},
		{name: "header, as Lambda sends it", status: 200, header: fnErr, body: `{"errorMessage":"m","errorType":"t"}`, wantType: "t"},
		{name: "emulator busy", status: 400, body: ``, wantErr: "400 Bad Request"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := tt.header
			if h == nil {
				h = http.Header{}
			}
			got, err := classify(tt.status, h, []byte(tt.body))
			var fe *FunctionError
			switch {
			case tt.wantType != "":
				if !errors.As(err, &fe) || fe.Type != tt.wantType {
					t.Fatalf("classify = %s, %v; want a FunctionError of type %s", got, err, tt.wantType)
				}
			case tt.wantErr != "":
				if err == nil || errors.As(err, &fe) || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("classify = %s, %v; want an error with %q", got, err, tt.wantErr)
				}
			default:
				if err != nil || string(got) != tt.want {
					t.Fatalf("classify = %s, %v; want %s", got, err, tt.want)
				}
			}
		})
	}
}

func TestParseReport(t *testing.T) {
	tests := []struct {
		name, line string
		want       Report
		ok         bool
	}{
		{
			name: "first invocation",
			line: "REPORT RequestId: 5799-cae\tInit Duration: 2.31 ms\tDuration: 30.46 ms\tBilled Duration: 31 ms\tMemory Size: 3008 MB\tMax Memory Used: 3008 MB\t",
			want: Report{RequestID: "5799-cae", InitDuration: 2310 * time.Microsecond, Duration: 30460 * time.Microsecond,
				BilledDuration: 31 * time.Millisecond, MemorySizeMB: 3008, MaxMemoryUsedMB: 3008},
			ok: true,
		},
		{
			name: "later invocation, unknown field",
			line: "REPORT RequestId: abc\tDuration: 1.90 ms\tBilled Duration: 2 ms\tMemory Size: 256 MB\tMax Memory Used: 256 MB\tNew Field: 7 units",
			want: Report{RequestID: "abc", Duration: 1900 * time.Microsecond, BilledDuration: 2 * time.Millisecond, MemorySizeMB: 256, MaxMemoryUsedMB: 256},
			ok:   true,
		},
		{name: "not a report", line: "START RequestId: abc Version: $LATEST"},
		{name: "the function's own words", line: "echo: REPORT RequestId: abc"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := parseReport(tt.line)
			if ok != tt.ok || got != tt.want {
				t.Fatalf("parseReport = %+v, %v; want %+v, %v", got, ok, tt.want, tt.ok)
			}
		})
	}
}
