package storetest

import (
	"crypto/rand"
	"encoding/hex"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"wechatqr/shared/accounts"
	"wechatqr/shared/qr"
)

// RunPlatform checks the promises of the platform's state (accounts.Platform)
// that the callback and tokenrefresh build on. open must return a platform of
// the subtest's own, with no ticket and no claim: its items have fixed keys.
func RunPlatform(t *testing.T, open func(t *testing.T) accounts.Platform) {
	for _, c := range platformCases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			c.run(t, open(t))
		})
	}
}

var platformCases = []struct {
	name string
	run  func(*testing.T, accounts.Platform)
}{
	{"no_ticket_reads_as_the_zero_ticket", noTicketReadsAsZero},
	{"tickets_out_of_order_keep_the_newest", ticketsOutOfOrderKeepTheNewest},
	{"a_ticket_of_an_equal_create_time_replaces_nothing", anEqualCreateTimeReplacesNothing},
	{"an_empty_ticket_is_refused", anEmptyTicketIsRefused},
	{"concurrent_tickets_keep_the_newest", concurrentTicketsKeepTheNewest},
	{"start_push_ticket_is_claimed_once_per_window", startPushTicketClaimedOncePerWindow},
	{"concurrent_claims_of_start_push_ticket_one_wins", concurrentClaimsOneWins},
	{"an_authorization_code_is_claimed_once_and_the_losers_read_its_account", authCodeClaimedOnce},
	{"concurrent_claims_of_an_authorization_code_one_wins", concurrentAuthCodeClaimsOneWins},
	{"a released claim can be taken again, a redeemed one cannot be released", authCodeReleased},
}

func authCodeReleased(t *testing.T, p accounts.Platform) {
	ctx, until := t.Context(), time.Now().Add(time.Hour)
	failed, done := authCode(t), authCode(t)
	for _, code := range []string{failed, done} {
		if ok, err := p.ClaimAuthCode(ctx, code, until); err != nil || !ok {
			t.Fatalf("claim: %v, %v", ok, err)
		}
	}
	if err := p.AuthCodeRedeemed(ctx, done, "wx1111111111111111"); err != nil {
		t.Fatal(err)
	}
	for _, code := range []string{failed, done, authCode(t)} { // the last was never claimed
		if err := p.ReleaseAuthCode(ctx, code); err != nil {
			t.Fatalf("release: %v", err)
		}
	}
	if ok, err := p.ClaimAuthCode(ctx, failed, until); err != nil || !ok {
		t.Errorf("a released code's claim = %v, %v; want it taken again", ok, err)
	}
	if ok, err := p.ClaimAuthCode(ctx, done, until); err != nil || ok {
		t.Errorf("a redeemed code's claim after a release = %v, %v; want it kept", ok, err)
	}
	if got, err := p.AuthCodeAccount(ctx, done); err != nil || got != "wx1111111111111111" {
		t.Errorf("the redeemed code's account after a release = %q, %v", got, err)
	}
}

// authCode is a code no other case (nor another run on the same table) uses.
func authCode(*testing.T) string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return "queryauthcode@@@" + hex.EncodeToString(b[:])
}

func authCodeClaimedOnce(t *testing.T, p accounts.Platform) {
	ctx, code, until := t.Context(), authCode(t), time.Now().Add(time.Hour)
	if got, err := p.AuthCodeAccount(ctx, code); err != nil || got != "" {
		t.Fatalf("an unclaimed code's account = %q, %v; want none", got, err)
	}
	if err := p.AuthCodeRedeemed(ctx, code, "wx1111111111111111"); qr.ErrorCode(err) != qr.ENotFound {
		t.Fatalf("noting an unclaimed code = %v; want %s, and nothing written", err, qr.ENotFound)
	}
	if got, err := p.AuthCodeAccount(ctx, code); err != nil || got != "" {
		t.Fatalf("after a refused note, the code's account = %q, %v", got, err)
	}
	if ok, err := p.ClaimAuthCode(ctx, code, until); err != nil || !ok {
		t.Fatalf("the first claim = %v, %v; want true", ok, err)
	}
	if ok, err := p.ClaimAuthCode(ctx, code, until); err != nil || ok {
		t.Fatalf("a second claim = %v, %v; want false", ok, err)
	}
	if ok, err := p.ClaimAuthCode(ctx, authCode(t), until); err != nil || !ok {
		t.Fatalf("another code's claim = %v, %v; want true", ok, err)
	}
	if got, err := p.AuthCodeAccount(ctx, code); err != nil || got != "" {
		t.Fatalf("a claimed, unredeemed code's account = %q, %v; want none yet", got, err)
	}
	if err := p.AuthCodeRedeemed(ctx, code, "wx1111111111111111"); err != nil {
		t.Fatal(err)
	}
	if got, err := p.AuthCodeAccount(ctx, code); err != nil || got != "wx1111111111111111" {
		t.Fatalf("the redeemed code's account = %q, %v", got, err)
	}
	if _, err := p.ClaimAuthCode(ctx, "", until); qr.ErrorCode(err) != qr.EInvalid {
		t.Fatalf("an empty code's claim = %v; want %s", err, qr.EInvalid)
	}
}

func concurrentAuthCodeClaimsOneWins(t *testing.T, p accounts.Platform) {
	code, until := authCode(t), time.Now().Add(time.Hour)
	const n = 8
	var (
		wg    sync.WaitGroup
		won   atomic.Int32
		errs  = make(chan error, n)
		start = make(chan struct{})
	)
	for range n {
		wg.Go(func() {
			<-start
			ok, err := p.ClaimAuthCode(t.Context(), code, until)
			if err != nil {
				errs <- err
			}
			if ok {
				won.Add(1)
			}
		})
	}
	close(start)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if won.Load() != 1 {
		t.Fatalf("%d of %d concurrent claims of one code won; want 1", won.Load(), n)
	}
}

// ticketAt is a CreateTime as WeChat sends it: whole seconds.
func ticketAt(sec int64) time.Time { return time.Unix(1764810000+sec, 0).UTC() }

func wantTicket(t *testing.T, p accounts.Platform, value string, created time.Time) {
	t.Helper()
	got, err := p.Ticket(t.Context())
	if err != nil {
		t.Fatalf("Ticket: %v", err)
	}
	if got.Value != value || !got.Created.Equal(created) {
		t.Errorf("Ticket = %q created %v, want %q created %v", got.Value, got.Created, value, created)
	}
}

func noTicketReadsAsZero(t *testing.T, p accounts.Platform) {
	got, err := p.Ticket(t.Context())
	if err != nil || got != (accounts.Ticket{}) {
		t.Errorf("Ticket of a new platform = %+v, %v; want the zero Ticket", got, err)
	}
}

func ticketsOutOfOrderKeepTheNewest(t *testing.T, p accounts.Platform) {
	before := time.Now().Add(-time.Second)
	for _, step := range []struct {
		ticket string
		at     int64
		stored bool
		want   string
		wantAt int64
	}{
		{"ticket@@@second", 600, true, "ticket@@@second", 600},
		{"ticket@@@first", 0, false, "ticket@@@second", 600}, // late, older
		{"ticket@@@third", 1200, true, "ticket@@@third", 1200},
		{"ticket@@@second", 600, false, "ticket@@@third", 1200}, // a retry of an old push
	} {
		stored, err := p.PutTicket(t.Context(), step.ticket, ticketAt(step.at))
		if err != nil || stored != step.stored {
			t.Fatalf("PutTicket(%s, +%ds) = %v, %v; want %v", step.ticket, step.at, stored, err, step.stored)
		}
		wantTicket(t, p, step.want, ticketAt(step.wantAt))
	}
	got, err := p.Ticket(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if got.Received.Before(before.Truncate(time.Second)) || got.Received.After(time.Now().Add(time.Second)) {
		t.Errorf("Received = %v, want about now (%v)", got.Received, before)
	}
}

func anEmptyTicketIsRefused(t *testing.T, p accounts.Platform) {
	if stored, err := p.PutTicket(t.Context(), "", ticketAt(0)); qr.ErrorCode(err) != qr.EInvalid || stored {
		t.Fatalf("PutTicket of an empty ticket = %v, %v; want invalid", stored, err)
	}
	wantTicket(t, p, "", time.Time{})
}

func anEqualCreateTimeReplacesNothing(t *testing.T, p accounts.Platform) {
	if stored, err := p.PutTicket(t.Context(), "ticket@@@A", ticketAt(0)); err != nil || !stored {
		t.Fatalf("the first PutTicket = %v, %v", stored, err)
	}
	if stored, err := p.PutTicket(t.Context(), "ticket@@@B", ticketAt(0)); err != nil || stored {
		t.Fatalf("PutTicket of the same CreateTime = %v, %v; want not stored", stored, err)
	}
	wantTicket(t, p, "ticket@@@A", ticketAt(0))
}

func concurrentTicketsKeepTheNewest(t *testing.T, p accounts.Platform) {
	var wg sync.WaitGroup
	for i := range Concurrency {
		wg.Go(func() {
			if _, err := p.PutTicket(t.Context(), "ticket@@@"+string(rune('a'+i)), ticketAt(int64(i))); err != nil {
				t.Errorf("PutTicket %d: %v", i, err)
			}
		})
	}
	wg.Wait()
	wantTicket(t, p, "ticket@@@"+string(rune('a'+Concurrency-1)), ticketAt(Concurrency-1))
}

func startPushTicketClaimedOncePerWindow(t *testing.T, p accounts.Platform) {
	const every = 10 * time.Minute
	start := time.Unix(1764810000, 0)
	for _, step := range []struct {
		name string
		at   time.Duration // after start
		want bool
	}{
		{"the first claim", 0, true},
		{"a second claim at once", 0, false},
		{"a claim just inside the window", every - time.Millisecond, false},
		{"a claim when the window has passed", every, true},
		{"a claim a second into the next window", every + time.Second, false},
		{"a claim long after", 5 * every, true},
	} {
		got, err := p.ClaimStartPushTicket(t.Context(), start.Add(step.at), every)
		if err != nil || got != step.want {
			t.Fatalf("%s: ClaimStartPushTicket = %v, %v; want %v", step.name, got, err, step.want)
		}
	}
}

func concurrentClaimsOneWins(t *testing.T, p accounts.Platform) {
	now := time.Unix(1764810000, 0)
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		wins int
	)
	for range Concurrency {
		wg.Go(func() {
			ok, err := p.ClaimStartPushTicket(t.Context(), now, 10*time.Minute)
			if err != nil {
				t.Errorf("ClaimStartPushTicket: %v", err)
			}
			if ok {
				mu.Lock()
				wins++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if wins != 1 {
		t.Errorf("%d of %d concurrent claims won, want exactly 1", wins, Concurrency)
	}
}
