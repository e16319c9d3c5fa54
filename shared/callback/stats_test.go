package callback_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"wechatqr/shared/callback"
	"wechatqr/shared/dynamo"
	"wechatqr/shared/qr"
	"wechatqr/shared/wechat"
	"wechatqr/shared/wechat/wechattest"
)

// newShardedFixture is newFixture over a store with the given counter shards.
func newShardedFixture(t *testing.T, shards int) *fixture {
	t.Helper()
	f := newFixture(t)
	store, err := dynamo.New(f.db, f.names, dynamo.Options{Shards: shards})
	if err != nil {
		t.Fatal(err)
	}
	f.store = store
	f.h = mustHandler(t, store)
	return f
}

func mustHandler(t *testing.T, store callback.Store) *callback.Handler {
	t.Helper()
	cipher, err := wechat.NewCipher(aesKey, appID)
	if err != nil {
		t.Fatal(err)
	}
	h, err := callback.New(callback.Config{AppID: appID, Token: token, Cipher: cipher, MessageMode: callback.Plaintext, Tolerance: callback.DefaultTolerance, Now: func() time.Time { return now }}, store, nil)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// sequence is the scripted campaign on one scene: A subscribes (and WeChat
// retries it), A scans again, B scans, C subscribes, C leaves.
func sequence() [][]byte {
	t0 := now.Unix()
	return [][]byte{
		signer.SubscribeXML("user-a", "poster", t0, "T"),
		signer.SubscribeXML("user-a", "poster", t0, "T"), // the retry: same push
		signer.ScanXML("user-a", "poster", t0+1, "T"),
		signer.ScanXML("user-b", "poster", t0+2, "T"),
		signer.SubscribeXML("user-c", "poster", t0+3, "T"),
		signer.UnsubscribeXML("user-c", t0+4),
	}
}

var wantSequence = qr.Counts{Scans: 4, Subscribes: 2, UniqueUsers: 3, Unsubscribes: 1}

func TestChannelStatisticsOfAScriptedSequence(t *testing.T) {
	for _, shards := range []int{1, 10} {
		t.Run(fmt.Sprintf("%d shards, in order", shards), func(t *testing.T) {
			f := newShardedFixture(t, shards)
			for _, push := range sequence() {
				if w := f.push(t, push, wechattest.Plaintext); w.Code != 200 {
					t.Fatal(w.Code, w.Body)
				}
			}
			f.wantStats(t, "poster", wantSequence)
		})
		t.Run(fmt.Sprintf("%d shards, every push 3 times at once", shards), func(t *testing.T) {
			f := newShardedFixture(t, shards)
			// Pushes in order (an unsubscribe cannot precede its subscribe), each
			// delivered three times concurrently, as WeChat's retries can arrive.
			for _, push := range sequence() {
				var wg sync.WaitGroup
				for range 3 {
					wg.Add(1)
					go func() {
						defer wg.Done()
						if w := f.push(t, push, wechattest.Safe); w.Code != 200 {
							t.Error(w.Code, w.Body)
						}
					}()
				}
				wg.Wait()
			}
			f.wantStats(t, "poster", wantSequence)
		})
	}
}

func (f *fixture) wantStats(t *testing.T, scene string, want qr.Counts) {
	t.Helper()
	st, err := f.store.SceneStats(context.Background(), scene, qr.DayOf(now), qr.DayOf(now))
	if err != nil {
		t.Fatal(err)
	}
	if st.Totals != want {
		t.Errorf("totals = %+v, want %+v", st.Totals, want)
	}
	if len(st.Days) != 1 || st.Days[0].Counts != want {
		t.Errorf("days = %+v, want one day with %+v", st.Days, want)
	}
}

func TestConcurrentScansOfOneSceneCountExactlyWithOrWithoutShards(t *testing.T) {
	const n = 200
	var sums []qr.Counts
	for _, shards := range []int{1, 10} {
		f := newShardedFixture(t, shards)
		var wg sync.WaitGroup
		sem := make(chan struct{}, 32)
		for i := range n {
			wg.Add(1)
			sem <- struct{}{}
			go func() {
				defer func() { <-sem; wg.Done() }()
				push := signer.SubscribeXML(fmt.Sprintf("user-%03d", i), "hot", now.Unix(), "T")
				if w := f.push(t, push, wechattest.Plaintext); w.Code != 200 {
					t.Error(w.Code, w.Body)
				}
			}()
		}
		wg.Wait()
		st, err := f.store.SceneStats(context.Background(), "hot", "", "")
		if err != nil {
			t.Fatal(err)
		}
		if want := (qr.Counts{Scans: n, Subscribes: n, UniqueUsers: n}); st.Totals != want {
			t.Errorf("%d shards: totals %+v, want %+v", shards, st.Totals, want)
		}
		if claims, records := f.events(); claims != n || records != n {
			t.Errorf("%d shards: %d claims, %d scan records; want %d of each", shards, claims, records, n)
		}
		sums = append(sums, st.Totals)
	}
	if sums[0] != sums[1] {
		t.Errorf("unsharded %+v != sharded %+v", sums[0], sums[1])
	}
}

func TestDailyBucketsTurnAtMidnightChinaTime(t *testing.T) {
	f := newFixture(t)
	// 15:59:59 UTC is 23:59:59 in Beijing; a second later it is the next day there,
	// while in UTC both are the same day.
	before := time.Date(2026, 11, 24, 15, 59, 59, 0, time.UTC)
	after := before.Add(time.Second)
	f.push(t, signer.ScanXML("user-1", "night", before.Unix(), "T"), wechattest.Plaintext)
	f.push(t, signer.ScanXML("user-1", "night", after.Unix(), "T"), wechattest.Plaintext)
	st, err := f.store.SceneStats(context.Background(), "night", "2026-11-20", "2026-11-30")
	if err != nil {
		t.Fatal(err)
	}
	want := []qr.Day{
		{Date: "2026-11-24", Counts: qr.Counts{Scans: 1, UniqueUsers: 1}},
		{Date: "2026-11-25", Counts: qr.Counts{Scans: 1, UniqueUsers: 1}},
	}
	if fmt.Sprint(st.Days) != fmt.Sprint(want) {
		t.Errorf("days = %+v, want %+v", st.Days, want)
	}
	if st.Totals.UniqueUsers != 1 || st.Totals.Scans != 2 {
		t.Errorf("totals = %+v: one user on two days is one unique user, two scans", st.Totals)
	}
}

func TestUnsubscribesAreChargedToTheSceneThatBroughtTheFollower(t *testing.T) {
	f := newFixture(t)
	t0 := now.Unix()
	for _, push := range [][]byte{
		signer.SubscribeXML("u", "poster-a", t0, "T"), // brought by A
		signer.ScanXML("u", "poster-b", t0+1, "T"),    // later scans B: A stays the source
		signer.UnsubscribeXML("u", t0+2),              // charged to A
		signer.SubscribeXML("u", "", t0+3, ""),        // back through search: no source
		signer.UnsubscribeXML("u", t0+4),              // charged to nobody
	} {
		if w := f.push(t, push, wechattest.Plaintext); w.Code != 200 {
			t.Fatal(w.Code, w.Body)
		}
	}
	a, _ := f.store.SceneStats(context.Background(), "poster-a", "", "")
	b, _ := f.store.SceneStats(context.Background(), "poster-b", "", "")
	if a.Totals.Unsubscribes != 1 || b.Totals.Unsubscribes != 0 {
		t.Errorf("unsubscribes: A %d, B %d; want 1 and 0", a.Totals.Unsubscribes, b.Totals.Unsubscribes)
	}
}
