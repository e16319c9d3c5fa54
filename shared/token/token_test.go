package token_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"wechatqr/local/dynamolocal/dynamotest"
	"wechatqr/shared/dynamo"
	"wechatqr/shared/qr"
	"wechatqr/shared/token"
)

func TestMain(m *testing.M) { os.Exit(dynamotest.Main(m)) }

// newStore creates the template's tokens table under a fresh name.
func newStore(t *testing.T) *dynamo.Tokens {
	t.Helper()
	client, names := dynamotest.Tables(t, nil, "TokensTable")
	store, err := dynamo.NewTokens(client, names["TokensTable"], "wx5823bf96d3bd56c7")
	if err != nil {
		t.Fatal(err)
	}
	return store
}

// issuer plays WeChat's token endpoint: each call issues the next token.
type issuer struct {
	calls  atomic.Int64
	forced atomic.Int64
	ttl    time.Duration
	delay  time.Duration
	during func() // runs inside the call, to interleave a concurrent writer
}

func (i *issuer) Issue(ctx context.Context, force bool) (token.Issued, error) {
	n := i.calls.Add(1)
	if force {
		i.forced.Add(1)
	}
	if i.during != nil {
		i.during()
	}
	time.Sleep(i.delay)
	ttl := i.ttl
	if ttl == 0 {
		ttl = 2 * time.Hour
	}
	return token.Issued{Token: fmt.Sprintf("TOKEN-%d", n), ExpiresIn: ttl}, nil
}

func TestRacingInstancesOnAnEmptyTableFetchOnce(t *testing.T) {
	store := newStore(t)
	iss := &issuer{delay: 200 * time.Millisecond} // a slow WeChat widens the race
	const n = 50
	got := make([]string, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// A Source each: 50 cold instances, not 50 goroutines of one.
			src := token.NewSource(store, iss, token.Options{Wait: 10 * time.Second, Poll: 20 * time.Millisecond})
			got[i], errs[i] = src.Token(context.Background())
		}()
	}
	wg.Wait()
	if c := iss.calls.Load(); c != 1 {
		t.Errorf("%d token calls to WeChat, want exactly 1", c)
	}
	for i := range n {
		if errs[i] != nil || got[i] != "TOKEN-1" {
			t.Errorf("instance %d got %q, %v; want TOKEN-1", i, got[i], errs[i])
		}
	}
}

func TestOnlyTheFirstInvalidationOfATokenRefreshesIt(t *testing.T) {
	store := newStore(t)
	iss := &issuer{delay: 50 * time.Millisecond}
	a := token.NewSource(store, iss, token.Options{})
	b := token.NewSource(store, iss, token.Options{})
	ctx := context.Background()
	first, err := a.Token(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if tb, _ := b.Token(ctx); tb != first {
		t.Fatalf("b got %q, want the stored %q", tb, first)
	}

	// Both instances see 40001 on the same token at once.
	var wg sync.WaitGroup
	var ra, rb string
	wg.Add(2)
	go func() { defer wg.Done(); ra, _ = a.Invalidate(ctx, first) }()
	go func() { defer wg.Done(); rb, _ = b.Invalidate(ctx, first) }()
	wg.Wait()
	if c := iss.calls.Load(); c != 2 {
		t.Errorf("%d token calls, want 2 (the first fetch and one refresh)", c)
	}
	if iss.forced.Load() != 1 {
		t.Errorf("%d forced refreshes, want 1", iss.forced.Load())
	}
	if ra != "TOKEN-2" || rb != "TOKEN-2" {
		t.Errorf("after the refresh a=%q b=%q, want both TOKEN-2", ra, rb)
	}

	// A late failure report on the replaced token refreshes nothing.
	c := token.NewSource(store, iss, token.Options{})
	if got, err := c.Invalidate(ctx, first); err != nil || got != "TOKEN-2" {
		t.Errorf("late invalidation gave %q, %v; want TOKEN-2", got, err)
	}
	if calls := iss.calls.Load(); calls != 2 {
		t.Errorf("a failure on an already replaced token made a call (%d calls)", calls)
	}
}

func TestScheduledRefresh(t *testing.T) {
	ctx := context.Background()
	t.Run("not due makes no call", func(t *testing.T) {
		store := newStore(t)
		iss := &issuer{}
		src := token.NewSource(store, iss, token.Options{})
		if _, err := src.Token(ctx); err != nil {
			t.Fatal(err)
		}
		refreshed, err := src.Refresh(ctx)
		if err != nil || refreshed || iss.calls.Load() != 1 {
			t.Errorf("refreshed=%v err=%v calls=%d; want no refresh and only the first fetch", refreshed, err, iss.calls.Load())
		}
	})
	t.Run("due makes one call", func(t *testing.T) {
		store := newStore(t)
		iss := &issuer{ttl: 3 * time.Minute} // inside the 4-minute margin
		src := token.NewSource(store, iss, token.Options{})
		if _, err := src.Token(ctx); err != nil {
			t.Fatal(err)
		}
		refreshed, err := src.Refresh(ctx)
		if err != nil || !refreshed || iss.calls.Load() != 2 {
			t.Errorf("refreshed=%v err=%v calls=%d; want a refresh and 2 calls", refreshed, err, iss.calls.Load())
		}
		rec, _ := store.Load(ctx)
		if rec.Token != "TOKEN-2" || rec.Version != 2 {
			t.Errorf("stored %+v, want TOKEN-2 at version 2", rec)
		}
	})
	t.Run("empty table makes one call", func(t *testing.T) {
		store := newStore(t)
		iss := &issuer{}
		refreshed, err := token.NewSource(store, iss, token.Options{}).Refresh(ctx)
		if err != nil || !refreshed || iss.calls.Load() != 1 {
			t.Errorf("refreshed=%v err=%v calls=%d", refreshed, err, iss.calls.Load())
		}
	})
	t.Run("losing the compare-and-swap to a concurrent writer is clean", func(t *testing.T) {
		store := newStore(t)
		iss := &issuer{}
		iss.during = func() {
			// While our call is in flight another writer stores its token.
			if err := store.Save(ctx, qr.AccessToken{Token: "OTHER", ExpiresAt: time.Now().Add(time.Hour), Version: 1}, 0); err != nil {
				t.Error(err)
			}
		}
		refreshed, err := token.NewSource(store, iss, token.Options{}).Refresh(ctx)
		if err != nil || refreshed {
			t.Errorf("refreshed=%v err=%v; want a clean loss", refreshed, err)
		}
		if rec, _ := store.Load(ctx); rec.Token != "OTHER" {
			t.Errorf("stored %q, want the other writer's token kept", rec.Token)
		}
	})
}

func TestWaitersGiveUpWhenTheLeaseHolderNeverWrites(t *testing.T) {
	store := newStore(t)
	ctx := context.Background()
	// A holder that took the lease and died.
	if ok, err := store.Lease(ctx, "dead-instance", 0, time.Now(), time.Now().Add(time.Hour)); err != nil || !ok {
		t.Fatal(ok, err)
	}
	iss := &issuer{}
	src := token.NewSource(store, iss, token.Options{Wait: 300 * time.Millisecond, Poll: 50 * time.Millisecond})
	_, err := src.Token(ctx)
	if !errors.Is(err, token.ErrUnavailable) || iss.calls.Load() != 0 {
		t.Errorf("err=%v calls=%d; want ErrUnavailable and no call", err, iss.calls.Load())
	}
}

func TestAnExpiredLeaseIsTakenOver(t *testing.T) {
	store := newStore(t)
	ctx := context.Background()
	if ok, err := store.Lease(ctx, "dead-instance", 0, time.Now(), time.Now().Add(200*time.Millisecond)); err != nil || !ok {
		t.Fatal(ok, err)
	}
	iss := &issuer{}
	src := token.NewSource(store, iss, token.Options{Wait: 2 * time.Second, Poll: 50 * time.Millisecond})
	if got, err := src.Token(ctx); err != nil || got != "TOKEN-1" || iss.calls.Load() != 1 {
		t.Errorf("got %q err=%v calls=%d; want the lease taken over and one call", got, err, iss.calls.Load())
	}
}

func TestRoundTripsPerLookup(t *testing.T) {
	store := newStore(t)
	iss := &issuer{}
	ctx := context.Background()
	if _, err := token.NewSource(store, iss, token.Options{}).Token(ctx); err != nil {
		t.Fatal(err)
	}
	counted := &countingStore{Store: store}
	cold := token.NewSource(counted, iss, token.Options{})
	if _, err := cold.Token(ctx); err != nil {
		t.Fatal(err)
	}
	if counted.n != 1 || iss.calls.Load() != 1 {
		t.Errorf("cold instance: %d store round trips, %d WeChat calls; want 1 and none beyond the first fetch", counted.n, iss.calls.Load())
	}
	if _, err := cold.Token(ctx); err != nil {
		t.Fatal(err)
	}
	if counted.n != 1 {
		t.Errorf("warm instance made %d more round trips, want 0", counted.n-1)
	}
}

// countingStore counts the store calls a Source makes; each is one DynamoDB request.
type countingStore struct {
	token.Store
	n int
}

func (c *countingStore) Load(ctx context.Context) (qr.AccessToken, error) {
	c.n++
	return c.Store.Load(ctx)
}
