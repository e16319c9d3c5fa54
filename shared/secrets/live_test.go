package secrets_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"wechatqr/shared/secrets"
)

// countingClient counts reads and can hold them, to see how many a burst of
// requests makes.
type countingClient struct {
	secrets.API
	reads atomic.Int32
	hold  chan struct{} // when non-nil, each read waits for it to close
}

func (c *countingClient) GetSecretValue(ctx context.Context, in *secretsmanager.GetSecretValueInput, opts ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error) {
	c.reads.Add(1)
	if c.hold != nil {
		<-c.hold
	}
	return c.API.GetSecretValue(ctx, in, opts...)
}

// fakeClock is a clock the test moves.
type fakeClock struct{ ns atomic.Int64 }

func (c *fakeClock) now() time.Time      { return time.Unix(0, c.ns.Load()) }
func (c *fakeClock) add(d time.Duration) { c.ns.Add(int64(d)) }
func newClock() *fakeClock               { c := &fakeClock{}; c.ns.Store(time.Now().UnixNano()); return c }
func tokenOf(getenv func(string) string) any {
	return getenv("WECHAT_TOKEN") + "/" + getenv("WECHAT_TOKEN_PREVIOUS")
}

// eventually polls cond for up to 10 s: a background read has no other signal.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatalf("after 10 s: %s", what)
}

func TestLiveRereadsTheSecretInTheBackgroundOncePerInterval(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	sm := newSecretsManager(t)
	if _, err := sm.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String("live"), SecretString: aws.String(`{"token":"first"}`)}); err != nil {
		t.Fatal(err)
	}
	put := func(value string) {
		t.Helper()
		if _, err := sm.PutSecretValue(ctx, &secretsmanager.PutSecretValueInput{SecretId: aws.String("live"), SecretString: aws.String(value)}); err != nil {
			t.Fatal(err)
		}
	}
	client := &countingClient{API: sm}
	env := func(k string) string {
		if k == "WECHAT_CALLBACK_SECRET_ID" {
			return "live"
		}
		return ""
	}
	var logs bytes.Buffer
	var logMu sync.Mutex
	clock := newClock()
	live := secrets.StartLive(func(ctx context.Context) (any, error) {
		getenv, err := secrets.Env(ctx, secrets.Callback, env, client)
		if err != nil {
			return nil, err
		}
		return tokenOf(getenv), nil
	}, secrets.LiveOptions{Interval: 5 * time.Minute, Now: clock.now, Log: slog.New(slog.NewJSONHandler(lockedWriter{&logs, &logMu}, nil))})
	get := func() any {
		t.Helper()
		v, err := live.Get(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}

	// Cold start: the first Get waits for the read StartLive began.
	if v := get(); v != "first/" || client.reads.Load() != 1 {
		t.Fatalf("first value %v after %d reads", v, client.reads.Load())
	}
	// Rotated in Secrets Manager: a warm instance keeps its values, and reads
	// nothing, until the interval has passed.
	put(`{"token":"second","previous_token":"first"}`)
	clock.add(5*time.Minute - time.Second)
	for range 10 {
		if v := get(); v != "first/" {
			t.Fatalf("before the interval: %v", v)
		}
	}
	if n := client.reads.Load(); n != 1 {
		t.Fatalf("%d reads before the interval, want 1", n)
	}
	// Past it, a burst of requests starts one read, in the background: each of
	// them is answered at once with the values it had.
	clock.add(time.Second)
	client.hold = make(chan struct{})
	var wg sync.WaitGroup
	for range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if v, err := live.Get(ctx); err != nil || v != "first/" {
				t.Errorf("during the refresh: %v, %v", v, err)
			}
		}()
	}
	wg.Wait()
	close(client.hold)
	eventually(t, "the rotated values", func() bool { return get() == "second/first" })
	client.hold = nil
	if n := client.reads.Load(); n != 2 {
		t.Errorf("%d reads for a burst of 50 requests past the interval, want 1 more (2 in all)", n)
	}

	// A failed refresh keeps the values and logs why, without them.
	if _, err := sm.DeleteSecret(ctx, &secretsmanager.DeleteSecretInput{SecretId: aws.String("live"), ForceDeleteWithoutRecovery: aws.Bool(true)}); err != nil {
		t.Fatal(err)
	}
	clock.add(5 * time.Minute)
	get()
	eventually(t, "a logged failure", func() bool {
		logMu.Lock()
		defer logMu.Unlock()
		return strings.Contains(logs.String(), "secret refresh failed")
	})
	if v := get(); v != "second/first" {
		t.Errorf("after a failed refresh: %v, want the values read before", v)
	}
	logMu.Lock()
	if out := logs.String(); strings.Contains(out, "second") || strings.Contains(out, `"first`) {
		t.Errorf("the log quotes a value: %s", out)
	}
	logMu.Unlock()

	// The previous value removed: the next refresh drops it.
	if _, err := sm.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String("live"), SecretString: aws.String(`{"token":"second"}`)}); err != nil {
		t.Fatal(err)
	}
	clock.add(time.Minute) // a failure is retried after min(interval, 30 s)
	get()
	eventually(t, "the previous value removed", func() bool { return get() == "second/" })
}

func TestLiveRenewWaitsOnlyWhenARefreshIsDue(t *testing.T) {
	clock := newClock()
	var reads atomic.Int32
	value := "old"
	live := secrets.NewLive(value, func(context.Context) (string, error) {
		reads.Add(1)
		return "new", nil
	}, secrets.LiveOptions{Interval: time.Minute, Now: clock.now})
	if v, ok := live.Renew(context.Background()); ok || v != "old" || reads.Load() != 0 {
		t.Errorf("fresh: Renew = %q, %v after %d reads; want old, false, no read", v, ok, reads.Load())
	}
	clock.add(time.Minute)
	if v, ok := live.Renew(context.Background()); !ok || v != "new" || reads.Load() != 1 {
		t.Errorf("due: Renew = %q, %v after %d reads; want new, true, 1 read", v, ok, reads.Load())
	}
	if v, ok := live.Renew(context.Background()); ok || v != "new" || reads.Load() != 1 {
		t.Errorf("just refreshed: Renew = %q, %v after %d reads; want new, false, no other read", v, ok, reads.Load())
	}
}

func TestLiveWithoutAValueReportsTheReadError(t *testing.T) {
	fail := errors.New("secrets: reading WECHAT_SECRET_ID \"x\": AccessDeniedException")
	var reads atomic.Int32
	live := secrets.StartLive(func(context.Context) (string, error) {
		reads.Add(1)
		return "", fail
	}, secrets.LiveOptions{Interval: time.Minute})
	if _, err := live.Get(context.Background()); !errors.Is(err, fail) {
		t.Errorf("Get = %v, want the read's error", err)
	}
	// Failed reads without a value are retried on demand, at most once a second.
	for range 20 {
		_, _ = live.Get(context.Background())
	}
	if n := reads.Load(); n > 2 {
		t.Errorf("%d reads in a burst after a failure, want at most 2", n)
	}
}

type lockedWriter struct {
	b  *bytes.Buffer
	mu *sync.Mutex
}

func (w lockedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}
