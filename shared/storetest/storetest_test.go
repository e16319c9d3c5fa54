package storetest_test

import (
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"wechatqr/shared/inmem"
	"wechatqr/shared/qr"
	"wechatqr/shared/storetest"
)

// Each mutant is the in-memory store with one promise broken, and the subtests
// that must catch it: a suite that passes a broken store proves nothing.
var mutants = map[string]struct {
	open     func() storetest.Store
	failures []string
}{
	"retries_count_again": {
		func() storetest.Store { return recountRetries{inmem.New()} },
		[]string{"second_record_of_a_push_returns_the_first_claim_and_counts_nothing", "concurrent_records_of_one_push_exactly_one_wins"},
	},
	"days_in_utc": {
		func() storetest.Store { return utcDays{inmem.New()} },
		[]string{"days_are_china_time_2359_and_0001_are_two_days"},
	},
	"unsubscribes_charged_to_nothing": {
		func() storetest.Store { return unchargedLeaving{inmem.New()} },
		[]string{"an_unsubscribe_is_charged_to_the_scene_that_brought_the_follower"},
	},
	"plain_follow_keeps_the_source": {
		func() storetest.Store { return plainFollowKeepsSource{inmem.New()} },
		[]string{"a_follow_through_no_code_clears_the_source"},
	},
	"second_scanner_binds": {
		func() storetest.Store { return secondScannerBinds{inmem.New()} },
		[]string{"login_a_later_scanner_gets_used_and_nothing_is_written", "login_a_session_id_is_created_once"},
	},
	"signatures_ignored": {
		func() storetest.Store { return signaturesIgnored{inmem.New()} },
		[]string{"a_signature_serves_one_body_and_a_forged_one_writes_nothing", "login_a_reused_signature_binds_nothing"},
	},
	"expired_code_reads_live": {
		func() storetest.Store { return expiredCodeLive{inmem.New()} },
		[]string{"temporary_code_found_after_its_expiry_reads_as_expired"},
	},
}

func TestTheSuiteCatchesEachBrokenPromise(t *testing.T) {
	for name, m := range mutants {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			cmd := exec.Command(os.Args[0], "-test.run=^TestMutantSuite$", "-test.count=1")
			cmd.Env = append(os.Environ(), "STORETEST_MUTANT="+name)
			out, err := cmd.CombinedOutput()
			if err == nil {
				t.Fatalf("the suite passed the store whose %s:\n%s", name, out)
			}
			for _, sub := range m.failures {
				if !strings.Contains(string(out), "--- FAIL: TestMutantSuite/"+sub+" ") {
					t.Errorf("%s did not fail:\n%s", sub, out)
				}
			}
		})
	}
}

// TestMutantSuite runs the suite on the mutant STORETEST_MUTANT names, in the
// process TestTheSuiteCatchesEachBrokenPromise starts; without it, it does nothing.
func TestMutantSuite(t *testing.T) {
	name := os.Getenv("STORETEST_MUTANT")
	if name == "" {
		return
	}
	m, ok := mutants[name]
	if !ok {
		t.Fatalf("no mutant %q", name)
	}
	storetest.Run(t, func(*testing.T) storetest.Store { return m.open() })
}

// recountRetries counts a push again when it was claimed already.
type recountRetries struct{ *inmem.Store }

func (s recountRetries) Record(ctx context.Context, c qr.Claim, scan *qr.Scan) (*qr.Claim, bool, error) {
	if w, first, err := s.Store.Record(ctx, c, scan); first || err != nil {
		return w, first, err
	}
	c.Key += "|again"
	return s.Store.Record(ctx, c, scan)
}

// signaturesIgnored records no query signature: a forged body under a served
// one is written like any push.
type signaturesIgnored struct{ *inmem.Store }

func (s signaturesIgnored) Record(ctx context.Context, c qr.Claim, scan *qr.Scan) (*qr.Claim, bool, error) {
	c.Signed = nil
	return s.Store.Record(ctx, c, scan)
}

func (s signaturesIgnored) BindSession(ctx context.Context, c qr.Claim, id, openid string, at time.Time) (string, *qr.Claim, error) {
	c.Signed = nil
	return s.Store.BindSession(ctx, c, id, openid, at)
}

// utcDays files scans under their UTC day.
type utcDays struct{ *inmem.Store }

func (s utcDays) Lookup(ctx context.Context, q qr.Lookup) (qr.PushState, error) {
	q.At = q.At.Add(-8 * time.Hour)
	return s.Store.Lookup(ctx, q)
}

func (s utcDays) Record(ctx context.Context, c qr.Claim, scan *qr.Scan) (*qr.Claim, bool, error) {
	if scan != nil {
		sc := *scan
		sc.At = sc.At.Add(-8 * time.Hour)
		scan = &sc
	}
	return s.Store.Record(ctx, c, scan)
}

// unchargedLeaving records an unsubscribe's claim and nothing else.
type unchargedLeaving struct{ *inmem.Store }

func (s unchargedLeaving) Record(ctx context.Context, c qr.Claim, scan *qr.Scan) (*qr.Claim, bool, error) {
	if scan != nil && scan.Event == qr.EventUnsubscribe {
		scan = nil
	}
	return s.Store.Record(ctx, c, scan)
}

// plainFollowKeepsSource records a follow through no code as a claim only.
type plainFollowKeepsSource struct{ *inmem.Store }

func (s plainFollowKeepsSource) Record(ctx context.Context, c qr.Claim, scan *qr.Scan) (*qr.Claim, bool, error) {
	if scan != nil && scan.Scene == "" && scan.Event == qr.EventSubscribe {
		scan = nil
	}
	return s.Store.Record(ctx, c, scan)
}

// secondScannerBinds tells a later scanner it bound the session.
type secondScannerBinds struct{ *inmem.Store }

func (s secondScannerBinds) BindSession(ctx context.Context, c qr.Claim, id, openid string, at time.Time) (string, *qr.Claim, error) {
	outcome, prior, err := s.Store.BindSession(ctx, c, id, openid, at)
	if outcome == qr.LoginUsed {
		outcome = qr.LoginBound
	}
	return outcome, prior, err
}

// expiredCodeLive returns an expired temporary code as one that never expires.
type expiredCodeLive struct{ *inmem.Store }

func (s expiredCodeLive) Lookup(ctx context.Context, q qr.Lookup) (qr.PushState, error) {
	st, err := s.Store.Lookup(ctx, q)
	if st.Code != nil && st.Code.Expired(time.Now()) {
		c := *st.Code
		c.ExpiresAt = time.Time{}
		st.Code = &c
	}
	return st, err
}
