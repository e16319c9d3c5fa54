// Package token gives every function the account's access token from one place.
//
// WeChat issues a new classic token on every call and kills the previous one five
// minutes later, so instances that each fetch their own clobber one another and
// fail with 40001 in waves. Here a token is fetched by one writer and shared
// through the tokens table: a warm instance answers from memory, a cold one reads
// the table (one round trip, no WeChat call), and only when the table holds no
// valid token does exactly one caller, holding a lease, ask WeChat, while the
// others wait and re-read. The scheduled refresh keeps the table fresh so that
// the lease path is for first deploys and outages.
package token

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"sync"
	"time"

	"wechatqr/shared/qr"
)

// ErrUnavailable means no valid token could be had in time.
var ErrUnavailable = errors.New("token: no valid access token available")

// Store keeps the token record and the lease on fetching a new one.
type Store interface {
	// Load returns the stored token; the zero AccessToken when there is none.
	Load(ctx context.Context) (qr.AccessToken, error)
	// Save writes rec if the stored version is still prev, and releases any lease;
	// otherwise it returns an error of code qr.EConflict and writes nothing.
	Save(ctx context.Context, rec qr.AccessToken, prev int64) error
	// Lease gives holder the sole right to fetch a token until until, if nobody
	// holds an unexpired lease at now and the stored version is still version (so a
	// caller that read before another's write cannot fetch again). It reports
	// whether holder got it.
	Lease(ctx context.Context, holder string, version int64, now, until time.Time) (bool, error)
}

// Issued is a token as WeChat hands it out.
type Issued struct {
	Token     string
	ExpiresIn time.Duration
}

// Issuer asks WeChat for a token. force asks for a new one even if the current one
// is valid (stable_token's force_refresh; a classic token is always new).
type Issuer interface {
	Issue(ctx context.Context, force bool) (Issued, error)
}

// IssuerFunc adapts a function to Issuer.
type IssuerFunc func(ctx context.Context, force bool) (Issued, error)

func (f IssuerFunc) Issue(ctx context.Context, force bool) (Issued, error) { return f(ctx, force) }

// Defaults for Options.
const (
	// DefaultSkew: a token is treated as expired this long before WeChat says, for
	// clock skew and for calls in flight when it dies.
	DefaultSkew = time.Minute
	// DefaultMargin: the scheduled refresh replaces a token with less than this
	// left. It sits inside the last five minutes on purpose: stable_token returns
	// the same token until then, and a classic token's predecessor lives five more
	// minutes, longer than any instance keeps it cached.
	DefaultMargin = 4 * time.Minute
	// DefaultLease bounds one fetch from WeChat, so a crashed holder blocks no one
	// for long.
	DefaultLease = 10 * time.Second
	// DefaultWait is how long a caller waits for another's fetch before giving up.
	DefaultWait = 3 * time.Second
	// DefaultPoll is how often a waiting caller re-reads the table.
	DefaultPoll = 100 * time.Millisecond
)

// Options tune a Source; zero fields take the defaults above.
type Options struct {
	Skew, Margin, Lease, Wait, Poll time.Duration
	Now                             func() time.Time
}

// Source hands out the account's token. It is safe for concurrent use; build one
// per process at init.
type Source struct {
	store  Store
	issuer Issuer
	opts   Options
	holder string

	mu     sync.Mutex // serializes the slow path inside this process
	cached qr.AccessToken
	cmu    sync.RWMutex
}

// NewSource returns a Source over store that fetches from issuer.
func NewSource(store Store, issuer Issuer, opts Options) *Source {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&opts.Skew, DefaultSkew)
	def(&opts.Margin, DefaultMargin)
	def(&opts.Lease, DefaultLease)
	def(&opts.Wait, DefaultWait)
	def(&opts.Poll, DefaultPoll)
	if opts.Now == nil {
		opts.Now = time.Now
	}
	var id [8]byte
	_, _ = rand.Read(id[:])
	return &Source{store: store, issuer: issuer, opts: opts, holder: hex.EncodeToString(id[:])}
}

func (s *Source) valid(r qr.AccessToken) bool {
	return r.Token != "" && s.opts.Now().Add(s.opts.Skew).Before(r.ExpiresAt)
}

func (s *Source) fromMemory() (qr.AccessToken, bool) {
	s.cmu.RLock()
	defer s.cmu.RUnlock()
	return s.cached, s.valid(s.cached)
}

func (s *Source) remember(r qr.AccessToken) {
	s.cmu.Lock()
	defer s.cmu.Unlock()
	if r.Version >= s.cached.Version {
		s.cached = r
	}
}

// Token returns a valid access token: from memory, else from the table, else
// fetched from WeChat by exactly one caller across all instances.
func (s *Source) Token(ctx context.Context) (string, error) {
	if r, ok := s.fromMemory(); ok {
		return r.Token, nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if r, ok := s.fromMemory(); ok { // another goroutine loaded it meanwhile
		return r.Token, nil
	}
	r, err := s.obtain(ctx, func(r qr.AccessToken) bool { return s.valid(r) }, false)
	if err != nil {
		return "", err
	}
	return r.Token, nil
}

// Invalidate is called when WeChat rejected token as invalid or expired (40001,
// 40014, 42001). It forces a new token only if token is still the stored one;
// when another instance already replaced it, it just returns the replacement.
// The caller retries its call once with the token returned.
func (s *Source) Invalidate(ctx context.Context, failed string) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.cmu.Lock()
	if s.cached.Token == failed {
		s.cached = qr.AccessToken{Version: s.cached.Version}
	}
	s.cmu.Unlock()
	r, err := s.obtain(ctx, func(r qr.AccessToken) bool { return r.Token != failed && s.valid(r) }, true)
	if err != nil {
		return "", err
	}
	return r.Token, nil
}

// Refresh is the scheduled job: it replaces the stored token when less than the
// margin is left, and does nothing (no WeChat call) otherwise. It reports whether
// it wrote a new token. Losing the lease or the compare-and-swap to a concurrent
// writer is not an error: that writer did the job.
func (s *Source) Refresh(ctx context.Context) (bool, error) {
	r, err := s.store.Load(ctx)
	if err != nil {
		return false, err
	}
	now := s.opts.Now()
	if r.Token != "" && now.Add(s.opts.Margin).Before(r.ExpiresAt) {
		s.remember(r)
		return false, nil
	}
	ok, err := s.store.Lease(ctx, s.holder, r.Version, now, now.Add(s.opts.Lease))
	if err != nil || !ok {
		return false, err
	}
	if _, err := s.fetch(ctx, r, false); err != nil {
		if qr.ErrorCode(err) == qr.EConflict {
			return false, nil
		}
		return false, err
	}
	return true, nil
}

// obtain returns the stored record if good says so; otherwise it takes the lease
// and fetches, or waits for the holder of the lease to store one.
func (s *Source) obtain(ctx context.Context, good func(qr.AccessToken) bool, force bool) (qr.AccessToken, error) {
	deadline := s.opts.Now().Add(s.opts.Wait)
	for {
		r, err := s.store.Load(ctx)
		if err != nil {
			return qr.AccessToken{}, err
		}
		if good(r) {
			s.remember(r)
			return r, nil
		}
		now := s.opts.Now()
		ok, err := s.store.Lease(ctx, s.holder, r.Version, now, now.Add(s.opts.Lease))
		if err != nil {
			return qr.AccessToken{}, err
		}
		if ok {
			nr, err := s.fetch(ctx, r, force)
			if qr.ErrorCode(err) == qr.EConflict {
				continue // someone wrote after our read; use theirs
			}
			return nr, err
		}
		if !now.Before(deadline) {
			return qr.AccessToken{}, fmt.Errorf("%w: another instance holds the lease and stored nothing within %v", ErrUnavailable, s.opts.Wait)
		}
		t := time.NewTimer(s.opts.Poll)
		select {
		case <-ctx.Done():
			t.Stop()
			return qr.AccessToken{}, ctx.Err()
		case <-t.C:
		}
	}
}

// fetch asks WeChat for a token and stores it over prev.
func (s *Source) fetch(ctx context.Context, prev qr.AccessToken, force bool) (qr.AccessToken, error) {
	start := s.opts.Now()
	iss, err := s.issuer.Issue(ctx, force)
	if err != nil {
		return qr.AccessToken{}, err
	}
	if iss.Token == "" || iss.ExpiresIn <= 0 {
		return qr.AccessToken{}, fmt.Errorf("token: WeChat returned an empty token or lifetime")
	}
	// Count the lifetime from before the call: the token may be older than its answer.
	r := qr.AccessToken{Token: iss.Token, ExpiresAt: start.Add(iss.ExpiresIn), Version: prev.Version + 1}
	if err := s.store.Save(ctx, r, prev.Version); err != nil {
		return qr.AccessToken{}, err
	}
	s.remember(r)
	return r, nil
}
