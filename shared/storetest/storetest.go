// Package storetest checks that a store keeps the promises the callback and the
// API build on, whatever it stores in: run it against every implementation, as
// testing/fstest.TestFS is run against every file system.
//
//	func TestStore(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) storetest.Store { return inmem.New() })
//	}
//
// The in-memory store (package inmem) stands in for the DynamoDB one (package
// dynamo) in benchmarks and unit tests; this suite is what makes it a fair
// stand-in. Where the two legitimately differ it checks what callers rely on,
// not how a store gets there:
//
//   - DynamoDB deletes expired items by TTL, lazily: an expired temporary code
//     may still be found, so a code found is checked with qr.Code.Expired.
//   - DynamoDB keeps times to the second; pushes carry whole seconds, and so do
//     the times this suite writes.
//   - SeenUntil (when a seen-marker expires) is the DynamoDB store's retention
//     detail; an in-memory store, which forgets nothing, leaves it zero.
//   - Record's hints (Unique, UniqueToday, Register, Source) are what the push's
//     Lookup found, as the callback passes them; a store may trust them as far as
//     the DynamoDB store does, and must check again the ones a concurrent push
//     can make stale (a user's first scan of a scene, of a day, a scene's first).
package storetest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"wechatqr/shared/qr"
)

// Store is what the suite exercises: the callback's store (Lookup, Record,
// BindSession) and the writes that set up what it reads (PutCode,
// CreateSession), with the statistics the API reads back (SceneStats).
type Store interface {
	PutCode(ctx context.Context, c *qr.Code) error
	Lookup(ctx context.Context, q qr.Lookup) (qr.PushState, error)
	Record(ctx context.Context, c qr.Claim, scan *qr.Scan) (winner *qr.Claim, first bool, err error)
	SceneStats(ctx context.Context, scene, from, to string) (qr.Stats, error)
	CreateSession(ctx context.Context, s *qr.Session) error
	BindSession(ctx context.Context, c qr.Claim, id, openid string, at time.Time) (outcome string, prior *qr.Claim, err error)
}

// Concurrency is how many deliveries the concurrency cases race.
const Concurrency = 8

// Run runs the suite, one subtest per behaviour, each on the store open returns
// for it. Every subtest names its scenes, followers, pushes and sessions afresh,
// so open may hand every subtest a store over the same tables; the subtests run
// in parallel.
func Run(t *testing.T, open func(t *testing.T) Store) {
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			c.run(t, &env{t: t, ctx: t.Context(), store: open(t), ns: strconv.FormatUint(rand.Uint64(), 36)})
		})
	}
}

var cases = []struct {
	name string
	run  func(*testing.T, *env)
}{
	{"lookup_of_a_new_push_finds_nothing", lookupOfANewPushFindsNothing},
	{"lookup_finds_the_code_last_put_for_a_scene", lookupFindsTheCodeLastPut},
	{"lookup_after_record_finds_the_claim_and_the_seen_user", lookupAfterRecordFindsClaimAndSeenUser},
	{"record_writes_the_claim_and_the_counts_together", recordWritesClaimAndCountsTogether},
	{"record_without_a_scan_claims_and_counts_nothing", recordWithoutAScanCountsNothing},
	{"second_record_of_a_push_returns_the_first_claim_and_counts_nothing", secondRecordReturnsTheFirstClaim},
	{"concurrent_records_of_one_push_exactly_one_wins", concurrentRecordsOfOnePush},
	{"concurrent_first_scans_of_a_user_count_one_unique_user", concurrentFirstScansCountOneUser},
	{"a_user_counts_once_per_scene_all_time_and_once_per_day", aUserCountsOncePerSceneAndDay},
	{"days_are_china_time_2359_and_0001_are_two_days", daysAreChinaTime},
	{"a_subscribe_counts_a_scan_and_a_subscriber", aSubscribeCountsAScanAndASubscriber},
	{"an_unsubscribe_is_charged_to_the_scene_that_brought_the_follower", anUnsubscribeIsChargedToItsSource},
	{"an_unsubscribe_with_no_source_is_charged_to_nothing", anUnsubscribeWithNoSourceChargesNothing},
	{"a_follow_through_no_code_clears_the_source", aPlainFollowClearsTheSource},
	{"a_follower_back_through_another_scene_is_charged_there", aFollowerBackThroughAnotherScene},
	{"scene_stats_give_totals_and_the_days_of_a_period", sceneStatsTotalsAndDays},
	{"temporary_code_found_after_its_expiry_reads_as_expired", expiredTemporaryCodes},
	{"login_the_first_scanner_binds_the_session", loginFirstScannerBinds},
	{"login_a_later_scanner_gets_used_and_nothing_is_written", loginLaterScannerGetsUsed},
	{"login_a_bound_session_stays_used_after_its_expiry", loginBoundSessionStaysUsed},
	{"login_an_unknown_session_is_expired", loginUnknownSessionIsExpired},
	{"login_a_session_at_or_past_its_expiry_is_expired", loginPastExpiryIsExpired},
	{"login_a_retried_bind_returns_the_first_claim", loginRetriedBindReturnsTheClaim},
	{"login_a_session_id_is_created_once", loginSessionIDCreatedOnce},
	{"a_signature_serves_one_body_and_a_forged_one_writes_nothing", aSignatureServesOneBody},
	{"login_a_reused_signature_binds_nothing", loginReusedSignatureBindsNothing},
}

// env is one subtest's store and namespace.
type env struct {
	t     *testing.T
	ctx   context.Context
	store Store
	ns    string
}

func (e *env) scene(name string) string { return e.ns + "-" + name }
func (e *env) user(name string) string  { return "o" + e.ns + "-" + name }

// push is one push as the callback sees it.
type push struct {
	openid, scene, event string
	at                   time.Time
}

// key is the push's dedupe key, shaped as wechat.Message.DedupeKey makes it.
func (p push) key() string {
	return "event:" + p.openid + "|" + strconv.FormatInt(p.at.Unix(), 10) + "|" + p.event + "|" + p.scene
}

func (p push) lookup() qr.Lookup {
	return qr.Lookup{PushKey: p.key(), Scene: p.scene, OpenID: p.openid, Event: p.event, At: p.at}
}

func (p push) claim(reply string) qr.Claim {
	return qr.Claim{Key: p.key(), OpenID: p.openid, Reply: []byte(reply), At: p.at}
}

// scanOf is the scan the callback records for p, with the hints its lookup gave.
func scanOf(p push, st qr.PushState) *qr.Scan {
	return &qr.Scan{
		Scene: p.scene, OpenID: p.openid, Event: p.event, At: p.at,
		Unique: !st.Seen, UniqueToday: !st.SeenToday, Register: !st.Registered,
		SeenUntil: st.SeenUntil, Source: st.Source,
	}
}

func (e *env) lookup(p push) qr.PushState {
	e.t.Helper()
	st, err := e.store.Lookup(e.ctx, p.lookup())
	if err != nil {
		e.t.Fatalf("Lookup(%s): %v", p.key(), err)
	}
	return st
}

func (e *env) record(p push, st qr.PushState, reply string) (*qr.Claim, bool) {
	e.t.Helper()
	winner, first, err := e.store.Record(e.ctx, p.claim(reply), scanOf(p, st))
	if err != nil {
		e.t.Fatalf("Record(%s): %v", p.key(), err)
	}
	if winner == nil {
		e.t.Fatalf("Record(%s): no claim returned", p.key())
	}
	return winner, first
}

// deliver handles p as the callback does: look it up, stop at an earlier claim,
// else record it with the lookup's hints. It reports whether p was counted.
func (e *env) deliver(p push) bool {
	e.t.Helper()
	st := e.lookup(p)
	if st.Claim != nil {
		return false
	}
	_, first := e.record(p, st, "reply to "+p.key())
	return first
}

func (e *env) stats(scene, from, to string) qr.Stats {
	e.t.Helper()
	st, err := e.store.SceneStats(e.ctx, scene, from, to)
	if err != nil {
		e.t.Fatalf("SceneStats(%s, %q, %q): %v", scene, from, to, err)
	}
	return st
}

func (e *env) wantTotals(scene string, want qr.Counts) {
	e.t.Helper()
	if got := e.stats(scene, "", "").Totals; got != want {
		e.t.Errorf("totals of %s = %+v, want %+v", scene, got, want)
	}
}

func (e *env) wantDays(scene, from, to string, want ...qr.Day) {
	e.t.Helper()
	got := e.stats(scene, from, to).Days
	if got == nil || !slices.Equal(got, want) {
		e.t.Errorf("days of %s in [%s, %s] = %+v, want %+v (never nil)", scene, from, to, got, want)
	}
}

// china is a moment of China Standard Time, given as "2006-01-02 15:04", in UTC
// as the callback passes push times.
func china(s string) time.Time {
	t, err := time.ParseInLocation("2006-01-02 15:04", s, qr.ChinaTime)
	if err != nil {
		panic(err)
	}
	return t.UTC()
}

func wantClaim(t *testing.T, what string, got *qr.Claim, want qr.Claim) {
	t.Helper()
	switch {
	case got == nil:
		t.Errorf("%s: no claim, want %s", what, want.Key)
	case got.Key != want.Key || got.OpenID != want.OpenID || !bytes.Equal(got.Reply, want.Reply) || !got.At.Equal(want.At):
		t.Errorf("%s: claim {%s %s %q %v}, want {%s %s %q %v}", what,
			got.Key, got.OpenID, got.Reply, got.At, want.Key, want.OpenID, want.Reply, want.At)
	}
}

var day1 = china("2024-03-01 10:00")

func lookupOfANewPushFindsNothing(t *testing.T, e *env) {
	p := push{e.user("u"), e.scene("a"), qr.EventScan, day1}
	st := e.lookup(p)
	if st.Claim != nil || st.Code != nil || st.Seen || st.SeenToday || st.Registered || st.Source != "" {
		t.Errorf("Lookup of a push on an empty store = %+v, want nothing found", st)
	}
	leave := e.lookup(push{e.user("u"), "", qr.EventUnsubscribe, day1})
	if leave.Claim != nil || leave.Source != "" {
		t.Errorf("Lookup of a first unsubscribe = %+v, want nothing found", leave)
	}
}

func lookupFindsTheCodeLastPut(t *testing.T, e *env) {
	scene := e.scene("a")
	created := china("2024-03-01 09:00")
	code := &qr.Code{
		Scene: scene, ActionName: "QR_LIMIT_STR_SCENE", Ticket: "T1", URL: "http://weixin.qq.com/q/1",
		Permanent: true, Reply: qr.TextReply("hello"), Tag: "vip",
		Followups: []qr.Reply{*qr.TextReply("and then")}, CreatedAt: created,
	}
	if err := e.store.PutCode(e.ctx, code); err != nil {
		t.Fatal(err)
	}
	got := e.lookup(push{e.user("u"), scene, qr.EventScan, day1}).Code
	if got == nil {
		t.Fatal("Lookup found no code after PutCode")
	}
	if got.Scene != scene || got.Ticket != "T1" || got.URL != code.URL || !got.Permanent || got.ActionName != code.ActionName ||
		got.Reply == nil || got.Reply.Content != "hello" || got.Tag != "vip" ||
		len(got.Followups) != 1 || got.Followups[0].Content != "and then" || !got.CreatedAt.Equal(created) {
		t.Errorf("Lookup found %+v, want what was put: %+v", got, code)
	}
	if got.Expired(created.AddDate(100, 0, 0)) {
		t.Error("a permanent code reads as expired")
	}

	replaced := *code
	replaced.Ticket, replaced.Reply = "T2", qr.TextReply("changed")
	if err := e.store.PutCode(e.ctx, &replaced); err != nil {
		t.Fatal(err)
	}
	got = e.lookup(push{e.user("u"), scene, qr.EventScan, day1}).Code
	if got == nil || got.Ticket != "T2" || got.Reply == nil || got.Reply.Content != "changed" {
		t.Errorf("after a second PutCode Lookup found %+v, want the second code", got)
	}
	if other := e.lookup(push{e.user("u"), e.scene("b"), qr.EventScan, day1}).Code; other != nil {
		t.Errorf("Lookup of another scene found %+v", other)
	}
}

func lookupAfterRecordFindsClaimAndSeenUser(t *testing.T, e *env) {
	p := push{e.user("u"), e.scene("a"), qr.EventScan, day1}
	st := e.lookup(p)
	if st.Claim != nil || st.Seen || st.SeenToday || st.Registered {
		t.Fatalf("before Record: %+v, want nothing found", st)
	}
	if _, first := e.record(p, st, "R"); !first {
		t.Fatal("the first Record was not first")
	}

	st = e.lookup(p)
	wantClaim(t, "Lookup of the recorded push", st.Claim, p.claim("R"))
	if !st.Seen || !st.SeenToday || !st.Registered {
		t.Errorf("Lookup of the recorded push: seen %v, seen today %v, registered %v; want all true", st.Seen, st.SeenToday, st.Registered)
	}

	// The same user's next push, later that day and the next day.
	later := e.lookup(push{p.openid, p.scene, qr.EventScan, day1.Add(time.Hour)})
	if later.Claim != nil || !later.Seen || !later.SeenToday || !later.Registered {
		t.Errorf("a later push that day: %+v, want no claim, seen, seen today, registered", later)
	}
	next := e.lookup(push{p.openid, p.scene, qr.EventScan, day1.AddDate(0, 0, 1)})
	if next.Claim != nil || !next.Seen || next.SeenToday {
		t.Errorf("a push the next day: %+v, want no claim, seen, not seen today", next)
	}
	// Another user of the same scene: the scene has statistics, the user is new.
	other := e.lookup(push{e.user("v"), p.scene, qr.EventScan, day1})
	if other.Seen || other.SeenToday || !other.Registered {
		t.Errorf("another user's push: %+v, want not seen, registered", other)
	}
}

func recordWritesClaimAndCountsTogether(t *testing.T, e *env) {
	p := push{e.user("u"), e.scene("a"), qr.EventScan, day1}
	e.wantTotals(p.scene, qr.Counts{})
	// A Record cut short must leave neither the claim nor the counts; one that
	// went through must leave both. (A store that ignores the context goes through.)
	ctx, cancel := context.WithCancel(e.ctx)
	cancel()
	_, _, err := e.store.Record(ctx, p.claim("R"), scanOf(p, e.lookup(p)))
	st := e.lookup(p)
	counts := e.stats(p.scene, "", "").Totals
	if err != nil {
		if st.Claim != nil || counts != (qr.Counts{}) {
			t.Fatalf("a Record that failed (%v) left claim %v and counts %+v", err, st.Claim, counts)
		}
		_, first := e.record(p, st, "R")
		if !first {
			t.Fatal("after a failed Record, the push's next Record was not first")
		}
	}
	wantClaim(t, "the recorded push's claim", e.lookup(p).Claim, p.claim("R"))
	e.wantTotals(p.scene, qr.Counts{Scans: 1, UniqueUsers: 1})
	e.wantDays(p.scene, "2024-03-01", "2024-03-01", qr.Day{Date: "2024-03-01", Counts: qr.Counts{Scans: 1, UniqueUsers: 1}})
}

func recordWithoutAScanCountsNothing(t *testing.T, e *env) {
	p := push{e.user("u"), e.scene("a"), qr.EventScan, day1}
	winner, first, err := e.store.Record(e.ctx, p.claim("R"), nil)
	if err != nil || !first {
		t.Fatalf("Record without a scan = %v, %v; want first", first, err)
	}
	wantClaim(t, "Record's claim", winner, p.claim("R"))
	st := e.lookup(p)
	wantClaim(t, "Lookup of the claimed push", st.Claim, p.claim("R"))
	if st.Seen || st.SeenToday || st.Registered {
		t.Errorf("a claim alone marked the user seen or the scene registered: %+v", st)
	}
	e.wantTotals(p.scene, qr.Counts{})
	winner, first, err = e.store.Record(e.ctx, p.claim("other"), nil)
	if err != nil || first {
		t.Fatalf("second Record without a scan = %v, %v; want not first", first, err)
	}
	wantClaim(t, "second Record's winner", winner, p.claim("R"))
}

func secondRecordReturnsTheFirstClaim(t *testing.T, e *env) {
	p := push{e.user("u"), e.scene("a"), qr.EventSubscribe, day1}
	// Two deliveries both looked the push up before either recorded it.
	st := e.lookup(p)
	if _, first := e.record(p, st, "first reply"); !first {
		t.Fatal("the first Record was not first")
	}
	winner, first := e.record(p, st, "second reply")
	if first {
		t.Fatal("the second Record of one push was first too")
	}
	wantClaim(t, "the second Record's winner", winner, p.claim("first reply"))
	e.wantTotals(p.scene, qr.Counts{Scans: 1, Subscribes: 1, UniqueUsers: 1})
	e.wantDays(p.scene, "2024-03-01", "2024-03-01", qr.Day{Date: "2024-03-01", Counts: qr.Counts{Scans: 1, Subscribes: 1, UniqueUsers: 1}})
	// And the follower is still charged once to this scene when they leave.
	if src := e.lookup(push{p.openid, "", qr.EventUnsubscribe, day1.Add(time.Hour)}).Source; src != p.scene {
		t.Errorf("source after a duplicated subscribe = %q, want %q", src, p.scene)
	}
}

// race runs f(i) for i in [0, n) in goroutines released together.
func race(n int, f func(i int)) {
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			f(i)
		}()
	}
	close(start)
	wg.Wait()
}

func concurrentRecordsOfOnePush(t *testing.T, e *env) {
	p := push{e.user("u"), e.scene("a"), qr.EventSubscribe, day1}
	st := e.lookup(p) // every delivery saw no claim
	winners := make([]*qr.Claim, Concurrency)
	firsts := make([]bool, Concurrency)
	race(Concurrency, func(i int) {
		var err error
		winners[i], firsts[i], err = e.store.Record(e.ctx, p.claim(fmt.Sprint("reply ", i)), scanOf(p, st))
		if err != nil {
			t.Errorf("delivery %d: %v", i, err)
		}
	})
	if t.Failed() {
		return
	}
	won := -1
	for i, first := range firsts {
		if first {
			if won >= 0 {
				t.Fatalf("deliveries %d and %d both won", won, i)
			}
			won = i
		}
	}
	if won < 0 {
		t.Fatal("no delivery won")
	}
	for i, w := range winners {
		wantClaim(t, fmt.Sprint("delivery ", i), w, p.claim(fmt.Sprint("reply ", won)))
	}
	wantClaim(t, "Lookup after the race", e.lookup(p).Claim, p.claim(fmt.Sprint("reply ", won)))
	e.wantTotals(p.scene, qr.Counts{Scans: 1, Subscribes: 1, UniqueUsers: 1})
}

func concurrentFirstScansCountOneUser(t *testing.T, e *env) {
	// One user's distinct pushes (a second apart), each looked up before any is
	// recorded: every lookup says "new user", and only one may count as one.
	scene, user := e.scene("a"), e.user("u")
	pushes := make([]push, Concurrency)
	states := make([]qr.PushState, Concurrency)
	for i := range pushes {
		pushes[i] = push{user, scene, qr.EventScan, day1.Add(time.Duration(i) * time.Second)}
		states[i] = e.lookup(pushes[i])
	}
	race(Concurrency, func(i int) {
		_, first, err := e.store.Record(e.ctx, pushes[i].claim("R"), scanOf(pushes[i], states[i]))
		if err != nil || !first {
			t.Errorf("push %d: first %v, %v; want first", i, first, err)
		}
	})
	want := qr.Counts{Scans: Concurrency, UniqueUsers: 1}
	e.wantTotals(scene, want)
	e.wantDays(scene, "2024-03-01", "2024-03-01", qr.Day{Date: "2024-03-01", Counts: want})
}

func aUserCountsOncePerSceneAndDay(t *testing.T, e *env) {
	a, b, u, v := e.scene("a"), e.scene("b"), e.user("u"), e.user("v")
	day2 := day1.AddDate(0, 0, 1)
	for i, p := range []push{
		{u, a, qr.EventSubscribe, day1},
		{u, a, qr.EventScan, day1.Add(time.Minute)},
		{u, a, qr.EventScan, day1.Add(2 * time.Minute)},
		{v, a, qr.EventScan, day1.Add(3 * time.Minute)},
		{u, a, qr.EventScan, day2},
		{u, a, qr.EventScan, day2.Add(time.Minute)},
		{u, b, qr.EventScan, day2.Add(2 * time.Minute)},
	} {
		if !e.deliver(p) {
			t.Fatalf("push %d was not counted", i)
		}
	}
	e.wantTotals(a, qr.Counts{Scans: 6, Subscribes: 1, UniqueUsers: 2})
	e.wantDays(a, "2024-03-01", "2024-03-02",
		qr.Day{Date: "2024-03-01", Counts: qr.Counts{Scans: 4, Subscribes: 1, UniqueUsers: 2}},
		qr.Day{Date: "2024-03-02", Counts: qr.Counts{Scans: 2, UniqueUsers: 1}})
	e.wantTotals(b, qr.Counts{Scans: 1, UniqueUsers: 1})
}

func daysAreChinaTime(t *testing.T, e *env) {
	scene, u := e.scene("a"), e.user("u")
	// One UTC day (2024-03-01, 15:59Z and 16:01Z), two days in China.
	late, early := china("2024-03-01 23:59"), china("2024-03-02 00:01")
	if !e.deliver(push{u, scene, qr.EventScan, late}) {
		t.Fatal("the 23:59 scan was not counted")
	}
	if st := e.lookup(push{u, scene, qr.EventScan, early}); !st.Seen || st.SeenToday {
		t.Errorf("Lookup at 00:01 after a scan at 23:59: seen %v, seen today %v; want seen, not today", st.Seen, st.SeenToday)
	}
	if !e.deliver(push{u, scene, qr.EventScan, early}) {
		t.Fatal("the 00:01 scan was not counted")
	}
	one := qr.Counts{Scans: 1, UniqueUsers: 1}
	e.wantDays(scene, "2024-02-29", "2024-03-03", qr.Day{Date: "2024-03-01", Counts: one}, qr.Day{Date: "2024-03-02", Counts: one})
	e.wantTotals(scene, qr.Counts{Scans: 2, UniqueUsers: 1})
}

func aSubscribeCountsAScanAndASubscriber(t *testing.T, e *env) {
	scene := e.scene("a")
	e.deliver(push{e.user("u"), scene, qr.EventSubscribe, day1})
	e.deliver(push{e.user("v"), scene, qr.EventScan, day1})
	e.wantTotals(scene, qr.Counts{Scans: 2, Subscribes: 1, UniqueUsers: 2})
}

func anUnsubscribeIsChargedToItsSource(t *testing.T, e *env) {
	a, b, u := e.scene("a"), e.scene("b"), e.user("u")
	e.deliver(push{u, a, qr.EventSubscribe, day1})
	e.deliver(push{u, b, qr.EventScan, day1.Add(time.Hour)}) // a follower's scan brings no one
	leave := push{u, "", qr.EventUnsubscribe, china("2024-03-03 12:00")}
	if src := e.lookup(leave).Source; src != a {
		t.Errorf("Lookup of the unsubscribe: source %q, want %q", src, a)
	}
	if !e.deliver(leave) {
		t.Fatal("the unsubscribe was not recorded")
	}
	e.wantTotals(a, qr.Counts{Scans: 1, Subscribes: 1, UniqueUsers: 1, Unsubscribes: 1})
	e.wantDays(a, "2024-03-03", "2024-03-03", qr.Day{Date: "2024-03-03", Counts: qr.Counts{Unsubscribes: 1}})
	e.wantTotals(b, qr.Counts{Scans: 1, UniqueUsers: 1})
	// Charged once: its retry finds the claim, and a later leaving has no source.
	if e.deliver(leave) {
		t.Error("the unsubscribe's retry was recorded again")
	}
	if src := e.lookup(push{u, "", qr.EventUnsubscribe, china("2024-03-04 12:00")}).Source; src != "" {
		t.Errorf("after the leaving, source %q, want none", src)
	}
}

func anUnsubscribeWithNoSourceChargesNothing(t *testing.T, e *env) {
	a, u := e.scene("a"), e.user("u")
	e.deliver(push{e.user("v"), a, qr.EventSubscribe, day1}) // a scene with counts
	e.deliver(push{u, a, qr.EventScan, day1})                // u scans, never subscribes through it
	leave := push{u, "", qr.EventUnsubscribe, day1.Add(time.Hour)}
	if src := e.lookup(leave).Source; src != "" {
		t.Errorf("source %q, want none", src)
	}
	if !e.deliver(leave) {
		t.Fatal("the unsubscribe was not recorded")
	}
	if e.lookup(leave).Claim == nil {
		t.Error("the unsubscribe left no claim for its retries")
	}
	e.wantTotals(a, qr.Counts{Scans: 2, Subscribes: 1, UniqueUsers: 2})
	e.wantTotals("", qr.Counts{})
}

func aPlainFollowClearsTheSource(t *testing.T, e *env) {
	a, u := e.scene("a"), e.user("u")
	e.deliver(push{u, a, qr.EventSubscribe, day1})
	// Their leaving was lost; they follow again through search, and leave.
	if !e.deliver(push{u, "", qr.EventSubscribe, day1.Add(time.Hour)}) {
		t.Fatal("the plain follow was not recorded")
	}
	leave := push{u, "", qr.EventUnsubscribe, day1.Add(2 * time.Hour)}
	if src := e.lookup(leave).Source; src != "" {
		t.Errorf("after a follow through no code, source %q, want none", src)
	}
	e.deliver(leave)
	e.wantTotals(a, qr.Counts{Scans: 1, Subscribes: 1, UniqueUsers: 1})
}

func aFollowerBackThroughAnotherScene(t *testing.T, e *env) {
	a, b, u := e.scene("a"), e.scene("b"), e.user("u")
	e.deliver(push{u, a, qr.EventSubscribe, day1})
	e.deliver(push{u, "", qr.EventUnsubscribe, day1.Add(time.Hour)})
	e.deliver(push{u, b, qr.EventSubscribe, day1.Add(2 * time.Hour)})
	leave := push{u, "", qr.EventUnsubscribe, day1.Add(3 * time.Hour)}
	if src := e.lookup(leave).Source; src != b {
		t.Errorf("source %q, want %q", src, b)
	}
	e.deliver(leave)
	e.wantTotals(a, qr.Counts{Scans: 1, Subscribes: 1, UniqueUsers: 1, Unsubscribes: 1})
	e.wantTotals(b, qr.Counts{Scans: 1, Subscribes: 1, UniqueUsers: 1, Unsubscribes: 1})
}

func sceneStatsTotalsAndDays(t *testing.T, e *env) {
	scene, u, v := e.scene("a"), e.user("u"), e.user("v")
	for _, p := range []push{
		{u, scene, qr.EventSubscribe, china("2024-03-01 08:00")},
		{v, scene, qr.EventScan, china("2024-03-02 08:00")},
		{u, scene, qr.EventScan, china("2024-03-02 09:00")},
		{v, scene, qr.EventScan, china("2024-03-05 23:30")},
		{u, "", qr.EventUnsubscribe, china("2024-03-05 23:45")},
	} {
		e.deliver(p)
	}
	st := e.stats(scene, "2024-03-02", "2024-03-05")
	if st.Scene != scene {
		t.Errorf("Stats.Scene = %q, want %q", st.Scene, scene)
	}
	if want := (qr.Counts{Scans: 4, Subscribes: 1, UniqueUsers: 2, Unsubscribes: 1}); st.Totals != want {
		t.Errorf("totals %+v, want %+v (all time, whatever the period)", st.Totals, want)
	}
	e.wantDays(scene, "2024-03-02", "2024-03-05",
		qr.Day{Date: "2024-03-02", Counts: qr.Counts{Scans: 2, UniqueUsers: 2}},
		qr.Day{Date: "2024-03-05", Counts: qr.Counts{Scans: 1, UniqueUsers: 1, Unsubscribes: 1}})
	e.wantDays(scene, "2024-03-01", "2024-03-01", qr.Day{Date: "2024-03-01", Counts: qr.Counts{Scans: 1, Subscribes: 1, UniqueUsers: 1}})
	e.wantDays(scene, "2024-03-03", "2024-03-04")
	e.wantDays(scene, "", "") // no period: totals only

	unknown := e.stats(e.scene("never"), "2024-03-01", "2024-03-31")
	if unknown.Totals != (qr.Counts{}) || unknown.Days == nil || len(unknown.Days) != 0 {
		t.Errorf("a scene never scanned: %+v, want zero totals and no days (not nil)", unknown)
	}
}

func expiredTemporaryCodes(t *testing.T, e *env) {
	// Real time: an expired item may really be deleted by the store's TTL.
	now := time.Now().UTC().Truncate(time.Second)
	temp := func(scene string, expires time.Time) *qr.Code {
		return &qr.Code{
			Scene: scene, ActionName: "QR_STR_SCENE", Ticket: "T", URL: "http://weixin.qq.com/q/t",
			Reply: qr.TextReply("hi"), CreatedAt: expires.Add(-time.Hour), ExpireSeconds: 3600, ExpiresAt: expires,
		}
	}
	live, gone := e.scene("live"), e.scene("gone")
	for _, c := range []*qr.Code{temp(live, now.Add(time.Hour)), temp(gone, now.Add(-time.Minute))} {
		if err := e.store.PutCode(e.ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	c := e.lookup(push{e.user("u"), live, qr.EventScan, now}).Code
	switch {
	case c == nil:
		t.Fatal("a live temporary code was not found")
	case c.Expired(now):
		t.Errorf("a code expiring at %v reads as expired at %v", c.ExpiresAt, now)
	case !c.Expired(now.Add(time.Hour)):
		t.Errorf("a code expiring at %v does not read as expired then", c.ExpiresAt)
	}
	// The store may have deleted it or not yet; what it returns must say it ran out.
	if c := e.lookup(push{e.user("u"), gone, qr.EventScan, now}).Code; c != nil && !c.Expired(now) {
		t.Errorf("an expired temporary code was found unexpired: %+v", c)
	}
}

// session creates a pending log-in session expiring at expires, with an id of
// the subtest's own.
func (e *env) session(name string, expires time.Time) string {
	e.t.Helper()
	id := e.ns + name
	err := e.store.CreateSession(e.ctx, &qr.Session{
		ID: id, Scene: qr.LoginPrefix + id, Ticket: "T", URL: "http://weixin.qq.com/q/l",
		CreatedAt: expires.Add(-5 * time.Minute), ExpiresAt: expires,
	})
	if err != nil {
		e.t.Fatalf("CreateSession(%s): %v", id, err)
	}
	return id
}

// login is a scan of log-in session id by openid at at.
func (e *env) login(id, openid string, at time.Time) push {
	return push{openid, qr.LoginPrefix + id, qr.EventScan, at}
}

func (e *env) bind(p push, id, reply string) (string, *qr.Claim) {
	e.t.Helper()
	outcome, prior, err := e.store.BindSession(e.ctx, p.claim(reply), id, p.openid, p.at)
	if err != nil {
		e.t.Fatalf("BindSession(%s by %s): %v", id, p.openid, err)
	}
	if (outcome == "") == (prior == nil) {
		e.t.Fatalf("BindSession(%s by %s) = %q, %v; want an outcome or an earlier claim, not both or neither", id, p.openid, outcome, prior)
	}
	return outcome, prior
}

// sessionNow is real time to the second: sessions expire by TTL in a real store.
func sessionNow() time.Time { return time.Now().UTC().Truncate(time.Second) }

func loginFirstScannerBinds(t *testing.T, e *env) {
	now := sessionNow()
	id := e.session("s", now.Add(5*time.Minute))
	p := e.login(id, e.user("u"), now)
	if outcome, _ := e.bind(p, id, "bound"); outcome != qr.LoginBound {
		t.Fatalf("the first scanner got %q, want %q", outcome, qr.LoginBound)
	}
	// The bind claimed the push: its retries find it.
	st, err := e.store.Lookup(e.ctx, qr.Lookup{PushKey: p.key(), OpenID: p.openid, Event: p.event})
	if err != nil {
		t.Fatal(err)
	}
	wantClaim(t, "Lookup of the bound push", st.Claim, p.claim("bound"))
}

func loginLaterScannerGetsUsed(t *testing.T, e *env) {
	now := sessionNow()
	id := e.session("s", now.Add(5*time.Minute))
	u, v := e.user("u"), e.user("v")
	if outcome, _ := e.bind(e.login(id, u, now), id, "bound"); outcome != qr.LoginBound {
		t.Fatalf("the first scanner got %q", outcome)
	}
	for _, p := range []push{e.login(id, v, now.Add(time.Second)), e.login(id, u, now.Add(2*time.Second))} {
		if outcome, _ := e.bind(p, id, "bound"); outcome != qr.LoginUsed {
			t.Errorf("%s scanning a bound session got %q, want %q", p.openid, outcome, qr.LoginUsed)
		}
		// Nothing written: the callback records the push itself, with its own reply.
		if st := e.lookup(p); st.Claim != nil {
			t.Errorf("a %q bind left a claim: %+v", qr.LoginUsed, st.Claim)
		}
		if outcome, _ := e.bind(p, id, "bound"); outcome != qr.LoginUsed {
			t.Errorf("a retry of %s's %q bind got %q", p.openid, qr.LoginUsed, outcome)
		}
	}
}

func loginBoundSessionStaysUsed(t *testing.T, e *env) {
	now := sessionNow()
	expires := now.Add(time.Minute)
	id := e.session("s", expires)
	if outcome, _ := e.bind(e.login(id, e.user("u"), now), id, "bound"); outcome != qr.LoginBound {
		t.Fatalf("the first scanner got %q", outcome)
	}
	// Someone scanned it: a later scanner is told so, not that it ran out, while
	// the store keeps the session.
	if outcome, _ := e.bind(e.login(id, e.user("v"), expires.Add(time.Second)), id, "bound"); outcome != qr.LoginUsed {
		t.Errorf("a scanner after the expiry of a bound session got %q, want %q", outcome, qr.LoginUsed)
	}
}

func loginUnknownSessionIsExpired(t *testing.T, e *env) {
	id := e.ns + "never-created"
	p := e.login(id, e.user("u"), sessionNow())
	if outcome, _ := e.bind(p, id, "bound"); outcome != qr.LoginExpired {
		t.Errorf("scanning an unknown session got %q, want %q", outcome, qr.LoginExpired)
	}
	if st := e.lookup(p); st.Claim != nil {
		t.Errorf("an %q bind left a claim: %+v", qr.LoginExpired, st.Claim)
	}
}

func loginPastExpiryIsExpired(t *testing.T, e *env) {
	now := sessionNow()
	expires := now.Add(time.Minute)
	at, past := e.session("at", expires), e.session("past", expires)
	for id, when := range map[string]time.Time{at: expires, past: expires.Add(time.Second)} {
		p := e.login(id, e.user("u"), when)
		if outcome, _ := e.bind(p, id, "bound"); outcome != qr.LoginExpired {
			t.Errorf("a scan %v after a session's expiry got %q, want %q", when.Sub(expires), outcome, qr.LoginExpired)
		}
		if st := e.lookup(p); st.Claim != nil {
			t.Errorf("an %q bind left a claim: %+v", qr.LoginExpired, st.Claim)
		}
	}
	// The last second before the expiry still binds, and so does a session whose
	// earlier scans were refused.
	if outcome, _ := e.bind(e.login(at, e.user("v"), expires.Add(-time.Second)), at, "bound"); outcome != qr.LoginBound {
		t.Errorf("a scan a second before the expiry got %q, want %q", outcome, qr.LoginBound)
	}
}

func loginRetriedBindReturnsTheClaim(t *testing.T, e *env) {
	now := sessionNow()
	id := e.session("s", now.Add(5*time.Minute))
	p := e.login(id, e.user("u"), now)
	if outcome, _ := e.bind(p, id, "bound"); outcome != qr.LoginBound {
		t.Fatalf("the first scanner got %q", outcome)
	}
	// A retry that got past the lookup before the first delivery's bind landed.
	outcome, prior := e.bind(p, id, "other")
	if outcome != "" {
		t.Fatalf("a retried bind got %q, want the first delivery's claim", outcome)
	}
	wantClaim(t, "a retried bind's claim", prior, p.claim("bound"))
	// Claims of scans and of binds are one namespace: a push recorded by Record is
	// not bound again.
	q := e.login(id, e.user("w"), now)
	if _, first, err := e.store.Record(e.ctx, q.claim("recorded"), nil); err != nil || !first {
		t.Fatalf("Record = %v, %v", first, err)
	}
	if _, prior := e.bind(q, id, "bound"); prior == nil {
		t.Error("binding a push already recorded did not return its claim")
	} else {
		wantClaim(t, "bind of a recorded push", prior, q.claim("recorded"))
	}
}

func loginSessionIDCreatedOnce(t *testing.T, e *env) {
	now := sessionNow()
	id := e.session("s", now.Add(5*time.Minute))
	if outcome, _ := e.bind(e.login(id, e.user("u"), now), id, "bound"); outcome != qr.LoginBound {
		t.Fatalf("the first scanner got %q", outcome)
	}
	err := e.store.CreateSession(e.ctx, &qr.Session{
		ID: id, Scene: qr.LoginPrefix + id, Ticket: "T2", URL: "http://weixin.qq.com/q/l2",
		CreatedAt: now, ExpiresAt: now.Add(10 * time.Minute),
	})
	if qr.ErrorCode(err) != qr.EConflict {
		t.Errorf("creating session %s again: %v, want a %s error", id, err, qr.EConflict)
	}
	// The bound session was not reset to pending.
	if outcome, _ := e.bind(e.login(id, e.user("v"), now.Add(time.Second)), id, "bound"); outcome != qr.LoginUsed {
		t.Errorf("after a refused re-create, a second scanner got %q, want %q", outcome, qr.LoginUsed)
	}
}

// signed is p's claim as a plain push under query signature sig with body body.
func (e *env) signed(p push, reply, sig, body string) qr.Claim {
	c := p.claim(reply)
	c.Signed = &qr.SignedBody{Signature: e.ns + sig, Body: sha256.Sum256([]byte(body)), Until: time.Now().Add(10 * time.Minute)}
	return c
}

func aSignatureServesOneBody(t *testing.T, e *env) {
	genuine := push{e.user("u"), e.scene("a"), qr.EventSubscribe, day1}
	st := e.lookup(genuine)
	if _, first, err := e.store.Record(e.ctx, e.signed(genuine, "R", "S", "genuine body"), scanOf(genuine, st)); err != nil || !first {
		t.Fatalf("the genuine push: first=%v, %v", first, err)
	}
	// WeChat's retry: the same body under the same signature gets the claim.
	winner, first, err := e.store.Record(e.ctx, e.signed(genuine, "R2", "S", "genuine body"), scanOf(genuine, st))
	if err != nil || first {
		t.Fatalf("the retry: first=%v, %v; want the first claim", first, err)
	}
	wantClaim(t, "the retry's winner", winner, genuine.claim("R"))
	// A lookup under the signature tells a forged body from the genuine one.
	for _, c := range []struct {
		sig, body string
		reused    bool
	}{{"S", "genuine body", false}, {"S", "forged body", true}, {"S2", "forged body", false}} {
		q := genuine.lookup()
		q.Signed = e.signed(genuine, "", c.sig, c.body).Signed
		st, err := e.store.Lookup(e.ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		if st.SignatureReused != c.reused {
			t.Errorf("Lookup under %s with %q: SignatureReused=%v, want %v", c.sig, c.body, st.SignatureReused, c.reused)
		}
	}
	// A forged body under the same signature, whether it names another push or
	// the same one, is refused whole.
	forged := push{e.user("f"), e.scene("b"), qr.EventSubscribe, day1.Add(time.Second)}
	for _, c := range []struct {
		p   push
		why string
	}{{forged, "another push"}, {genuine, "the same push"}} {
		st := e.lookup(c.p)
		winner, first, err := e.store.Record(e.ctx, e.signed(c.p, "F", "S", "forged body"), scanOf(c.p, st))
		if !errors.Is(err, qr.ErrSignatureReused) {
			t.Errorf("a forged body (%s) under a served signature: %v, %v, %v; want ErrSignatureReused", c.why, winner, first, err)
		}
	}
	if st := e.lookup(forged); st.Claim != nil || st.Seen {
		t.Errorf("the forged push left a claim or a seen marker: %+v", st)
	}
	e.wantTotals(forged.scene, qr.Counts{})
	e.wantTotals(genuine.scene, qr.Counts{Scans: 1, Subscribes: 1, UniqueUsers: 1})
	// Another signature is free, and a claim without one is not checked.
	if _, first, err := e.store.Record(e.ctx, e.signed(forged, "F", "S2", "forged body"), scanOf(forged, e.lookup(forged))); err != nil || !first {
		t.Errorf("a push under a new signature: first=%v, %v", first, err)
	}
}

func loginReusedSignatureBindsNothing(t *testing.T, e *env) {
	now := sessionNow()
	id := e.session("s", now.Add(5*time.Minute))
	genuine := push{e.user("u"), "", qr.EventSubscribe, now}
	if _, first, err := e.store.Record(e.ctx, e.signed(genuine, "", "S", "genuine body"), nil); err != nil || !first {
		t.Fatalf("the genuine push: first=%v, %v", first, err)
	}
	p := e.login(id, e.user("f"), now)
	outcome, prior, err := e.store.BindSession(e.ctx, e.signed(p, "bound", "S", "forged body"), id, p.openid, p.at)
	if !errors.Is(err, qr.ErrSignatureReused) {
		t.Fatalf("a forged log-in under a served signature: %q, %v, %v; want ErrSignatureReused", outcome, prior, err)
	}
	if st := e.lookup(p); st.Claim != nil {
		t.Error("the forged log-in left a claim")
	}
	// The session is still pending: the genuine scanner binds it.
	if outcome, _ := e.bind(e.login(id, e.user("v"), now), id, "bound"); outcome != qr.LoginBound {
		t.Errorf("after the forged bind, the genuine scanner got %q, want %q", outcome, qr.LoginBound)
	}
}
