package secrets

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"
)

// DefaultRefresh is how often a warm instance re-reads the secret
// (WECHAT_SECRET_REFRESH_SECONDS): a rotation reaches an instance at its first
// request once this long has passed.
const DefaultRefresh = 5 * time.Minute

// LiveOptions configure a Live.
type LiveOptions struct {
	// Interval is how old the value may get before a request starts a refresh; 0
	// never refreshes.
	Interval time.Duration
	// Timeout bounds one read; 10 s by default.
	Timeout time.Duration
	// Now is the clock; time.Now by default.
	Now func() time.Time
	// Log receives one line per failed read; nil discards.
	Log *slog.Logger
}

// ErrNotRead is what Get returns while no read has succeeded and none has
// failed yet (its context ended first).
var ErrNotRead = errors.New("secrets: the secret has not been read yet")

// Live is a value built from the account's secret (the callback's Verifier, the
// AppSecret), read in the background and re-read when it is older than the
// interval. The request path never waits for Secrets Manager once a value is
// there: Get returns it from an atomic pointer and, when it is due, starts one
// refresh (one at a time, however many requests see it due) whose result later
// requests pick up. A failed refresh keeps the old value, logs why (never a
// value) and is retried after min(Interval, 30 s).
//
// Only before the first read has succeeded does Get wait: StartLive begins that
// read at cold start, so it overlaps the rest of init and the runtime's first
// request for an event instead of lengthening init.
//
// Lambda freezes an instance between invocations, goroutines included: a refresh
// started by a request runs while that invocation runs and, if the read has not
// finished when the handler returns, completes during a later invocation. So an
// instance that had no request for a while serves its next request with values
// older than the interval; Renew is the way out for a request those refuse.
type Live[T any] struct {
	read func(context.Context) (T, error)
	opts LiveOptions
	cur  atomic.Pointer[snapshot[T]] // nil until a read succeeds

	mu      sync.Mutex
	doing   chan struct{} // closed when the running read ends; nil when none runs
	lastErr error         // the last failed read's error
	retryAt time.Time     // with no value yet: no new read before this, after a failure
}

type snapshot[T any] struct {
	v   T
	due time.Time // when a request should start a refresh
	gen uint64    // successful reads so far
}

// NewLive returns a Live holding initial, re-read with read when opts.Interval
// is positive (read may be nil otherwise).
func NewLive[T any](initial T, read func(context.Context) (T, error), opts LiveOptions) *Live[T] {
	l := newLive(read, opts)
	l.cur.Store(&snapshot[T]{v: initial, due: l.opts.Now().Add(l.opts.Interval), gen: 1})
	return l
}

// StartLive returns a Live whose first value is being read, in the background,
// as it returns.
func StartLive[T any](read func(context.Context) (T, error), opts LiveOptions) *Live[T] {
	l := newLive(read, opts)
	l.startIfDue()
	return l
}

func newLive[T any](read func(context.Context) (T, error), opts LiveOptions) *Live[T] {
	if opts.Timeout <= 0 {
		opts.Timeout = 10 * time.Second
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	if read == nil {
		opts.Interval = 0
	}
	return &Live[T]{read: read, opts: opts}
}

// Get returns the current value and, when it is due, starts a refresh in the
// background without waiting for it. Before any read has succeeded it waits,
// bounded by ctx, for the one running (or starts one) and returns its error
// if it failed.
func (l *Live[T]) Get(ctx context.Context) (T, error) {
	if s := l.cur.Load(); s != nil {
		if l.opts.Interval > 0 && !l.opts.Now().Before(s.due) {
			l.startIfDue()
		}
		return s.v, nil
	}
	if done := l.startIfDue(); done != nil {
		select {
		case <-done:
		case <-ctx.Done():
		}
	}
	if s := l.cur.Load(); s != nil {
		return s.v, nil
	}
	var zero T
	l.mu.Lock()
	err := l.lastErr
	l.mu.Unlock()
	if err == nil {
		err = ErrNotRead
	}
	return zero, err
}

// Renew is for a request the current value has refused: if a refresh is due
// or running, it waits for it (bounded by ctx) and returns the value read, with
// true when a read succeeded since the call began. Otherwise it returns at
// once with false. So a refused request waits at most once per interval, and
// only on an instance whose values are old.
func (l *Live[T]) Renew(ctx context.Context) (T, bool) {
	var zero T
	s := l.cur.Load()
	if s == nil || l.opts.Interval <= 0 {
		return zero, false
	}
	done := l.startIfDue()
	if done == nil {
		return s.v, false
	}
	select {
	case <-done:
	case <-ctx.Done():
		return s.v, false
	}
	n := l.cur.Load()
	return n.v, n.gen != s.gen
}

// startIfDue starts a read when one is due and none runs, and returns the
// running read's channel, or nil when nothing is due.
func (l *Live[T]) startIfDue() chan struct{} {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.doing != nil {
		return l.doing
	}
	now := l.opts.Now()
	if s := l.cur.Load(); s != nil && (l.opts.Interval <= 0 || now.Before(s.due)) || s == nil && now.Before(l.retryAt) {
		return nil // another request's read has just finished
	}
	done := make(chan struct{})
	l.doing = done
	go l.refresh(done)
	return done
}

func (l *Live[T]) refresh(done chan struct{}) {
	ctx, cancel := context.WithTimeout(context.Background(), l.opts.Timeout)
	v, err := l.read(ctx)
	cancel()
	prev := l.cur.Load()
	now := l.opts.Now()
	retry := time.Second
	if l.opts.Interval > 0 {
		retry = min(l.opts.Interval, 30*time.Second)
	}
	l.mu.Lock()
	switch {
	case err == nil:
		var gen uint64 = 1
		if prev != nil {
			gen = prev.gen + 1
		}
		l.cur.Store(&snapshot[T]{v: v, due: now.Add(l.opts.Interval), gen: gen})
		l.lastErr = nil
	case prev != nil:
		// Env's errors and the builders' name the secret and what is wrong with
		// it, never a value.
		l.opts.Log.Warn("secret refresh failed; keeping the values read before", slog.String("error", err.Error()))
		l.cur.Store(&snapshot[T]{v: prev.v, due: now.Add(retry), gen: prev.gen})
		l.lastErr = err
	default:
		l.opts.Log.Error("secret read failed", slog.String("error", err.Error()))
		l.lastErr, l.retryAt = err, now.Add(time.Second)
	}
	l.doing = nil
	l.mu.Unlock()
	close(done)
}
