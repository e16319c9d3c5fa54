package storetest

import (
	"math/rand/v2"
	"strconv"
	"testing"
	"time"

	"wechatqr/shared/qr"
)

// RunAccounts checks that two accounts of one store share nothing: open returns
// the store of the account appID, and is called with two AppIDs per subtest
// (the store of a multi-account deployment is one set of tables). Every subtest
// names its scenes, followers and sessions afresh, and uses the same names in
// both accounts: what one account writes must not be found, counted or bound
// through the other.
func RunAccounts(t *testing.T, open func(t *testing.T, appID string) Store) {
	for _, c := range accountCases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			ns := strconv.FormatUint(rand.Uint64(), 36)
			a := &env{t: t, ctx: t.Context(), store: open(t, "wxaaaaaaaaaaaaaaaa"), ns: ns}
			b := &env{t: t, ctx: t.Context(), store: open(t, "wxbbbbbbbbbbbbbbbb"), ns: ns}
			c.run(t, a, b)
		})
	}
}

var accountCases = []struct {
	name string
	run  func(t *testing.T, a, b *env)
}{
	{"the_same_scene_in_two_accounts_is_two_codes", sameSceneIsTwoCodes},
	{"the_same_scene_in_two_accounts_has_two_sets_of_counters", sameSceneHasTwoCounters},
	{"a_push_claimed_in_one_account_is_new_in_the_other", aClaimIsPerAccount},
	{"a_session_of_one_account_cannot_be_bound_through_the_other", aSessionIsPerAccount},
	{"a_follower_source_is_per_account", aSourceIsPerAccount},
}

func sameSceneIsTwoCodes(t *testing.T, a, b *env) {
	scene := a.scene("poster")
	for _, e := range []*env{a, b} {
		if st := e.lookup(push{e.user("u"), scene, qr.EventScan, day1}); st.Code != nil {
			t.Fatalf("before any code, an account finds %+v", st.Code)
		}
	}
	put := func(e *env, reply string) {
		t.Helper()
		if err := e.store.PutCode(e.ctx, &qr.Code{Scene: scene, ActionName: "QR_LIMIT_STR_SCENE", Ticket: "T-" + reply, URL: "http://weixin.qq.com/q/" + reply, Permanent: true, Reply: qr.TextReply(reply), CreatedAt: day1}); err != nil {
			t.Fatalf("PutCode: %v", err)
		}
	}
	put(a, "from-a")
	if st := b.lookup(push{b.user("u"), scene, qr.EventScan, day1}); st.Code != nil {
		t.Fatalf("account b finds account a's code %q", st.Code.Ticket)
	}
	put(b, "from-b")
	for _, tt := range []struct {
		e      *env
		ticket string
	}{{a, "T-from-a"}, {b, "T-from-b"}} {
		st := tt.e.lookup(push{tt.e.user("u"), scene, qr.EventScan, day1})
		if st.Code == nil || st.Code.Ticket != tt.ticket {
			t.Errorf("lookup found %+v, want the account's own code %s", st.Code, tt.ticket)
		}
	}
}

func sameSceneHasTwoCounters(t *testing.T, a, b *env) {
	scene := a.scene("poster")
	for i := range 3 {
		a.deliver(push{a.user("u" + strconv.Itoa(i)), scene, qr.EventScan, day1.Add(time.Duration(i) * time.Second)})
	}
	b.deliver(push{b.user("u0"), scene, qr.EventSubscribe, day1})
	a.wantTotals(scene, qr.Counts{Scans: 3, UniqueUsers: 3})
	b.wantTotals(scene, qr.Counts{Scans: 1, UniqueUsers: 1, Subscribes: 1})
}

func aClaimIsPerAccount(t *testing.T, a, b *env) {
	// The same follower id, scene and time in both accounts: one push each.
	p := push{a.user("u"), a.scene("poster"), qr.EventScan, day1}
	if !a.deliver(p) {
		t.Fatal("account a did not count its push")
	}
	if st := b.lookup(p); st.Claim != nil || st.Seen {
		t.Fatalf("account b finds account a's claim or seen marker: %+v", st)
	}
	if !b.deliver(p) {
		t.Fatal("account b's push was taken for a retry of account a's")
	}
	if a.deliver(p) {
		t.Error("account a counted its own retry after account b's push")
	}
}

func aSessionIsPerAccount(t *testing.T, a, b *env) {
	now := sessionNow()
	id := a.session("s", now.Add(5*time.Minute))
	p := b.login(id, b.user("u"), now)
	if outcome, _ := b.bind(p, id, "x"); outcome != qr.LoginExpired {
		t.Fatalf("account b bound account a's session: %q, want %q (unknown there)", outcome, qr.LoginExpired)
	}
	q := a.login(id, a.user("u"), now)
	if outcome, _ := a.bind(q, id, "bound"); outcome != qr.LoginBound {
		t.Fatalf("account a's own scanner got %q, want %q: b's attempt touched a's session", outcome, qr.LoginBound)
	}
}

func aSourceIsPerAccount(t *testing.T, a, b *env) {
	scene := a.scene("poster")
	a.deliver(push{a.user("u"), scene, qr.EventSubscribe, day1})
	b.deliver(push{b.user("u"), "", qr.EventUnsubscribe, day1.Add(time.Minute)})
	if st := b.lookup(push{b.user("u"), "", qr.EventUnsubscribe, day1.Add(2 * time.Minute)}); st.Source != "" {
		t.Errorf("account b sees the source %q account a recorded", st.Source)
	}
	a.wantTotals(scene, qr.Counts{Scans: 1, UniqueUsers: 1, Subscribes: 1})
}
