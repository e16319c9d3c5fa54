package platform_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/smithy-go/middleware"

	"wechatqr/local/dynamolocal/dynamotest"
	"wechatqr/shared/accounts"
	"wechatqr/shared/dynamo"
	"wechatqr/shared/inmem"
	"wechatqr/shared/platform"
	"wechatqr/shared/qr"
	"wechatqr/shared/seal"
	"wechatqr/shared/token"
	"wechatqr/shared/wechat"
	"wechatqr/shared/wechat/wechattest"
)

func TestMain(m *testing.M) { os.Exit(dynamotest.Main(m)) }

// logBuffer is a log sink safe for concurrent writers.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// rig is a platform on the emulator: its accounts in memory, its state in
// memory, its tokens in a tokens table on DynamoDB Local, as tokenrefresh
// and the other functions share them.
type rig struct {
	wc     *wechattest.Component
	client *wechat.Component
	reg    *accounts.Registry
	state  *inmem.Platform
	db     dynamo.API
	table  string
	logs   *logBuffer
	now    time.Time
	clock  sync.Mutex
}

func newRig(tb testing.TB, cfg wechattest.ComponentConfig) *rig {
	tb.Helper()
	client, names := dynamotest.Tables(tb, nil, "TokensTable")
	return newRigOn(tb, cfg, client, names["TokensTable"])
}

func newRigOn(tb testing.TB, cfg wechattest.ComponentConfig, db dynamo.API, table string) *rig {
	tb.Helper()
	r := &rig{db: db, table: table, logs: &logBuffer{}, now: time.Now()}
	// The emulator runs on the rig's clock, so tests can move WeChat's time.
	cfg.Now = r.Now
	wc := wechattest.NewComponent(cfg)
	srv := wc.Start()
	tb.Cleanup(wc.Close)
	c, err := wechat.NewComponent(srv.URL, wc.Config().AppID, wechat.WithSecret(wc.Config().AppSecret), wechat.WithBackoff(time.Millisecond, 5*time.Millisecond))
	if err != nil {
		tb.Fatal(err)
	}
	sealer, err := seal.NewLocal(bytes.Repeat([]byte{7}, 32))
	if err != nil {
		tb.Fatal(err)
	}
	reg, err := accounts.NewRegistry(accounts.Config{Default: accounts.Account{AppID: "wx0d0d0d0d0d0d0d0d"}, Store: inmem.NewAccounts(), Sealer: sealer})
	if err != nil {
		tb.Fatal(err)
	}
	r.wc, r.client, r.reg, r.state = wc, c, reg, inmem.NewPlatform()
	return r
}

// pushTicket has the emulator issue a ticket and the platform keep it, as
// the authorization-event URL does.
func (r *rig) pushTicket(tb testing.TB) {
	tb.Helper()
	_, _ = r.wc.PushTicket(context.Background()) // no URL: issued, not delivered
	if _, err := r.state.PutTicket(context.Background(), r.wc.NewestTicket(), time.Now()); err != nil {
		tb.Fatal(err)
	}
}

// Now is the rig's clock, which tests move.
func (r *rig) Now() time.Time {
	r.clock.Lock()
	defer r.clock.Unlock()
	return r.now
}

func (r *rig) advance(d time.Duration) {
	r.clock.Lock()
	r.now = r.now.Add(d)
	r.clock.Unlock()
}

func (r *rig) store(tb testing.TB, appID string) *dynamo.Tokens {
	tb.Helper()
	s, err := dynamo.NewTokens(r.db, r.table, appID)
	if err != nil {
		tb.Fatal(err)
	}
	return s
}

// instance is one function instance's Service: its own component token
// Source over the shared table, as a cold Lambda builds it.
func (r *rig) instance(tb testing.TB) (*platform.Service, *token.Source) {
	tb.Helper()
	comp := token.NewSource(r.store(tb, r.wc.Config().AppID), platform.ComponentIssuer(r.client, r.state), token.Options{})
	svc, err := platform.New(platform.Config{
		Component: r.client, Accounts: r.reg, State: r.state, ComponentToken: comp,
		Now: r.Now, Log: slog.New(slog.NewJSONHandler(r.logs, nil)),
	})
	if err != nil {
		tb.Fatal(err)
	}
	return svc, comp
}

// authorize makes appID an authorizer: WeChat's authorization, redeemed by
// the platform. The account's token item stays empty.
func (r *rig) authorize(tb testing.TB, svc *platform.Service, appID string) {
	tb.Helper()
	code := r.wc.Authorize(appID, nil)
	if err := svc.Authorized(context.Background(), appID, code); err != nil {
		tb.Fatal(err)
	}
}

// source is appID's token Source on one instance.
func (r *rig) source(tb testing.TB, svc *platform.Service, appID string) *token.Source {
	tb.Helper()
	return token.NewSource(r.store(tb, appID), svc.AuthorizerIssuer(appID), token.Options{Wait: 5 * time.Second, Poll: 20 * time.Millisecond})
}

// opCounter counts DynamoDB requests by operation.
type opCounter struct{ get, update, put atomic.Int64 }

func (c *opCounter) reset() { c.get.Store(0); c.update.Store(0); c.put.Store(0) }

func (c *opCounter) middleware(stack *middleware.Stack) error {
	return stack.Initialize.Add(middleware.InitializeMiddlewareFunc("countOps", func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
		switch in.Parameters.(type) {
		case *dynamodb.GetItemInput:
			c.get.Add(1)
		case *dynamodb.UpdateItemInput:
			c.update.Add(1)
		case *dynamodb.PutItemInput:
			c.put.Add(1)
		}
		return next.HandleInitialize(ctx, in)
	}), middleware.After)
}

// authorizerOf is the authorizer_appid of a component call.
func authorizerOf(c wechattest.Call) string {
	var body struct {
		AppID string `json:"authorizer_appid"`
	}
	_ = json.Unmarshal(c.Body, &body)
	return body.AppID
}

// storedRefresh is the refresh token the registry holds for appID.
func (r *rig) storedRefresh(tb testing.TB, appID string) string {
	tb.Helper()
	rt, _, err := r.reg.RefreshToken(context.Background(), appID)
	if err != nil {
		tb.Fatal(err)
	}
	return rt
}

// secrets is every secret the emulator handed out that the rig knows of.
func (r *rig) secrets(extra ...string) []string {
	out := []string{r.wc.Config().AppSecret, r.wc.NewestTicket()}
	if tok, ok := r.wc.ComponentToken(); ok {
		out = append(out, tok)
	}
	return append(out, extra...)
}

// assertNoSecret fails if any text holds any secret.
func assertNoSecret(t *testing.T, secrets []string, texts ...string) {
	t.Helper()
	for _, s := range secrets {
		if s == "" {
			continue
		}
		for _, text := range texts {
			if strings.Contains(text, s) {
				t.Errorf("a secret (%.12s…) is in %q", s, text)
			}
		}
	}
}

const authorizerA = "wxa1a1a1a1a1a1a1a1"

func TestRacingInstancesFetchAnAuthorizerTokenOnceAndKeepTheRotatedRefreshToken(t *testing.T) {
	for _, rotate := range []bool{false, true} {
		t.Run(fmt.Sprintf("rotate=%v", rotate), func(t *testing.T) {
			r := newRig(t, wechattest.ComponentConfig{RotateRefreshTokens: rotate})
			r.pushTicket(t)
			svc1, _ := r.instance(t)
			svc2, _ := r.instance(t)
			r.authorize(t, svc1, authorizerA)
			before := r.storedRefresh(t, authorizerA)
			r.wc.Reset()
			// A slow WeChat widens the race.
			r.wc.FailNext(wechattest.PathAuthorizerToken, 1, wechattest.HangFault(200*time.Millisecond))
			srcs := []*token.Source{r.source(t, svc1, authorizerA), r.source(t, svc2, authorizerA)}
			got := make([]string, len(srcs))
			errs := make([]error, len(srcs))
			var wg sync.WaitGroup
			for i, src := range srcs {
				wg.Go(func() { got[i], errs[i] = src.Token(context.Background()) })
			}
			wg.Wait()
			for i := range srcs {
				if errs[i] != nil || got[i] == "" || got[i] != got[0] {
					t.Errorf("instance %d: %q, %v; want the one token both share", i, got[i], errs[i])
				}
			}
			if n := r.wc.Calls(wechattest.PathAuthorizerToken); n != 1 {
				t.Errorf("%d api_authorizer_token calls, want exactly 1", n)
			}
			after := r.storedRefresh(t, authorizerA)
			if rotate {
				if after == before {
					t.Error("the rotated refresh token was not stored")
				}
				// The stored one is the one WeChat takes once the old one's
				// 5 minutes of overlap are over: a later fetch works with it
				// and recovers nothing.
				r.advance(6 * time.Minute)
				if _, err := svc2.AuthorizerIssuer(authorizerA).Issue(context.Background(), false); err != nil {
					t.Errorf("a fetch with the stored refresh token: %v", err)
				}
				if n := r.wc.Calls(wechattest.PathAuthorizerInfo); n != 0 {
					t.Errorf("%d api_get_authorizer_info calls: the stored refresh token was not the current one", n)
				}
			} else if after != before {
				t.Error("the refresh token changed though WeChat did not rotate it")
			}
			assertNoSecret(t, r.secrets(before, after, got[0]), r.logs.String())
		})
	}
}

// infoAttempts is how often the client tries api_get_authorizer_info, a read,
// before it gives up on a 5xx: once and wechat's default retries.
const infoAttempts = 1 + wechat.DefaultMaxRetries

func TestARefusedRefreshTokenIsRecoveredOnceOrTheAccountIsFlagged(t *testing.T) {
	for _, tc := range []struct {
		name string
		// refuse makes the stored refresh token invalid in the emulator.
		refuse func(r *rig)
		// faults are injected after that.
		faults      func(r *rig)
		wantToken   bool
		wantFlagged bool
		// wantCalls are api_authorizer_token, api_get_authorizer_info and
		// api_get_authorizer_list calls.
		wantTokenCalls, wantInfoCalls, wantListCalls int
	}{
		{
			name: "a stale refresh token stored: the current one is recovered",
			refuse: func(r *rig) {
				_, v, err := r.reg.RefreshToken(context.Background(), authorizerA)
				if err == nil {
					err = r.reg.ReplaceRefreshToken(context.Background(), authorizerA, "refreshtoken@@@stale", v)
				}
				if err != nil {
					panic(err)
				}
			},
			wantToken: true, wantTokenCalls: 2, wantInfoCalls: 1,
		},
		{
			// A new authorization replaces the refresh token (the old one
			// works 5 more minutes, which the clock jumps past), and WeChat
			// shows none until its code is redeemed (§13.3): here it never was.
			name:        "re-authorized, its code never redeemed: flagged",
			refuse:      func(r *rig) { r.wc.Authorize(authorizerA, nil); r.advance(6 * time.Minute) },
			wantFlagged: true, wantTokenCalls: 1, wantInfoCalls: 1, wantListCalls: 1,
		},
		{
			name: "61023 while api_get_authorizer_info fails: the list gives it",
			faults: func(r *rig) {
				r.wc.FailNext(wechattest.PathAuthorizerToken, 1, wechattest.ErrCodeFault(wechat.CodeRefreshTokenInvalid))
				r.wc.FailNext(wechattest.PathAuthorizerInfo, 10, wechattest.Fault{Status: 502})
			},
			wantToken: true, wantTokenCalls: 2, wantInfoCalls: infoAttempts, wantListCalls: 1,
		},
		{
			name: "61023 once: the refresh token is recovered",
			faults: func(r *rig) {
				r.wc.FailNext(wechattest.PathAuthorizerToken, 1, wechattest.ErrCodeFault(wechat.CodeRefreshTokenInvalid))
			},
			wantToken: true, wantTokenCalls: 2, wantInfoCalls: 1,
		},
		{
			name: "61023 again after recovery: flagged, no loop",
			faults: func(r *rig) {
				r.wc.FailNext(wechattest.PathAuthorizerToken, 2, wechattest.ErrCodeFault(wechat.CodeRefreshTokenInvalid))
			},
			wantFlagged: true, wantTokenCalls: 2, wantInfoCalls: 1,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newRig(t, wechattest.ComponentConfig{})
			r.pushTicket(t)
			svc, _ := r.instance(t)
			r.authorize(t, svc, authorizerA)
			before := r.storedRefresh(t, authorizerA)
			if tc.refuse != nil {
				tc.refuse(r)
			}
			r.wc.Reset()
			if tc.faults != nil {
				tc.faults(r)
			}
			src := r.source(t, svc, authorizerA)
			tok, err := src.Token(context.Background())
			if tc.wantToken && (err != nil || tok == "") {
				t.Fatalf("Token = %q, %v; want one", tok, err)
			}
			if !tc.wantToken && err == nil {
				t.Fatalf("Token = %q; want an error", tok)
			}
			if n := r.wc.Calls(wechattest.PathAuthorizerToken); n != tc.wantTokenCalls {
				t.Errorf("%d api_authorizer_token calls, want %d", n, tc.wantTokenCalls)
			}
			if n := r.wc.Calls(wechattest.PathAuthorizerInfo); n != tc.wantInfoCalls {
				t.Errorf("%d api_get_authorizer_info calls, want %d", n, tc.wantInfoCalls)
			}
			if n := r.wc.Calls(wechattest.PathAuthorizerList); n != tc.wantListCalls {
				t.Errorf("%d api_get_authorizer_list calls, want %d", n, tc.wantListCalls)
			}
			a, gerr := r.reg.Get(context.Background(), authorizerA)
			if gerr != nil {
				t.Fatal(gerr)
			}
			if a.NeedsReauthorization != tc.wantFlagged {
				t.Errorf("needs_reauthorization = %v (%q), want %v", a.NeedsReauthorization, a.ReauthorizationReason, tc.wantFlagged)
			}
			if tc.wantFlagged {
				// No loop: a flagged account is not asked for again, on any instance.
				calls := r.wc.Calls(wechattest.PathAuthorizerToken) + r.wc.Calls(wechattest.PathAuthorizerInfo)
				svc2, _ := r.instance(t)
				// Another instance, a minute later: past the failed fetch's lease.
				later := token.NewSource(r.store(t, authorizerA), svc2.AuthorizerIssuer(authorizerA), token.Options{Now: func() time.Time { return time.Now().Add(time.Minute) }})
				if _, err := later.Token(context.Background()); err == nil {
					t.Error("a flagged account got a token")
				}
				if n := r.wc.Calls(wechattest.PathAuthorizerToken) + r.wc.Calls(wechattest.PathAuthorizerInfo); n != calls {
					t.Errorf("a flagged account made %d more WeChat calls", n-calls)
				}
			}
			after := r.storedRefresh(t, authorizerA)
			assertNoSecret(t, r.secrets(before, after, tok), r.logs.String(), fmt.Sprint(err), a.ReauthorizationReason)
		})
	}
}

func TestTicketsAreWatched(t *testing.T) {
	t.Run("no ticket: a clear error and no api_component_token call", func(t *testing.T) {
		r := newRig(t, wechattest.ComponentConfig{})
		_, comp := r.instance(t)
		_, err := comp.Token(context.Background())
		if !errors.Is(err, platform.ErrNoTicket) || !strings.Contains(err.Error(), "every 10 minutes") {
			t.Errorf("err = %v, want ErrNoTicket", err)
		}
		if n := r.wc.Calls(wechattest.PathComponentToken); n != 0 {
			t.Errorf("%d api_component_token calls without a ticket", n)
		}
	})
	t.Run("61006: api_start_push_ticket once in 10 minutes across instances", func(t *testing.T) {
		r := newRig(t, wechattest.ComponentConfig{})
		r.pushTicket(t)
		svc1, comp := r.instance(t)
		svc2, _ := r.instance(t)
		r.wc.FailNext(wechattest.PathComponentToken, 1, wechattest.ErrCodeFault(wechat.CodeTicketInvalid))
		_, cerr := comp.Refresh(context.Background())
		if !wechat.IsTicketError(cerr) {
			t.Fatalf("component token refresh: %v, want 61006", cerr)
		}
		steps := []struct {
			name  string
			svc   *platform.Service
			after time.Duration
			want  int
		}{
			{"the first run calls", svc1, 0, 1},
			{"another instance 5 minutes later does not", svc2, 5 * time.Minute, 1},
			{"the same instance 9 minutes later does not", svc1, 4 * time.Minute, 1},
			{"a run 11 minutes after the call calls again", svc2, 2 * time.Minute, 2},
		}
		for _, s := range steps {
			r.advance(s.after)
			if _, err := s.svc.WatchTicket(context.Background(), cerr); err != nil {
				t.Fatalf("%s: %v", s.name, err)
			}
			if n := r.wc.Calls(wechattest.PathStartPushTicket); n != s.want {
				t.Errorf("%s: %d api_start_push_ticket calls, want %d", s.name, n, s.want)
			}
		}
		assertNoSecret(t, r.secrets(), r.logs.String(), cerr.Error())
	})
	t.Run("a ticket silent for 20 minutes, and only then", func(t *testing.T) {
		r := newRig(t, wechattest.ComponentConfig{})
		svc, _ := r.instance(t)
		// inmem.Platform stamps Received with the real clock: the rig's
		// starts there too, and only the rig's moves.
		if _, err := r.state.PutTicket(context.Background(), "ticket@@@x", r.Now()); err != nil {
			t.Fatal(err)
		}
		for _, s := range []struct {
			after time.Duration
			want  int
		}{{19 * time.Minute, 0}, {time.Minute, 1}} {
			r.advance(s.after)
			if _, err := svc.WatchTicket(context.Background(), nil); err != nil {
				t.Fatal(err)
			}
			if n := r.wc.Calls(wechattest.PathStartPushTicket); n != s.want {
				t.Errorf("after %v: %d calls, want %d", s.after, n, s.want)
			}
		}
	})
}

func TestAWithdrawnAuthorizationRevokesTheAccount(t *testing.T) {
	r := newRig(t, wechattest.ComponentConfig{})
	r.pushTicket(t)
	svc, _ := r.instance(t)
	r.authorize(t, svc, authorizerA)
	rt := r.storedRefresh(t, authorizerA)
	// WeChat's side only: the unauthorized push is lost, so the refresh finds out.
	if err := r.wc.Unauthorize(authorizerA); err != nil && !errors.Is(err, wechattest.ErrNoURL) {
		t.Fatal(err)
	}
	r.wc.Reset()
	src := r.source(t, svc, authorizerA)
	_, err := src.Token(context.Background())
	if qr.ErrorCode(err) != qr.EAccountRevoked {
		t.Fatalf("err = %v, want account_revoked", err)
	}
	a, gerr := r.reg.Get(context.Background(), authorizerA)
	if gerr != nil || a.Status != accounts.Revoked {
		t.Fatalf("account %+v, %v; want revoked", a, gerr)
	}
	calls := r.wc.Calls(wechattest.PathAuthorizerToken)
	// Afterwards, on any instance (past the failed fetch's lease): 409
	// account_revoked, no WeChat call.
	svc2, _ := r.instance(t)
	later := func(d time.Duration) token.Options {
		return token.Options{Now: func() time.Time { return time.Now().Add(d) }}
	}
	for _, s := range []*token.Source{
		token.NewSource(r.store(t, authorizerA), svc.AuthorizerIssuer(authorizerA), later(time.Minute)),
		token.NewSource(r.store(t, authorizerA), svc2.AuthorizerIssuer(authorizerA), later(2*time.Minute)),
	} {
		_, err := s.Token(context.Background())
		if code := qr.ErrorCode(err); code != qr.EAccountRevoked {
			t.Errorf("after revocation: %v, want account_revoked", err)
		}
	}
	if n := r.wc.Calls(wechattest.PathAuthorizerToken); n != calls {
		t.Errorf("%d WeChat calls after the revocation", n-calls)
	}
	assertNoSecret(t, r.secrets(rt), r.logs.String(), err.Error())
}

// BenchmarkRefreshAuthorizers10000 is tokenrefresh's run with 10,000
// authorizers all due (a first run after a migration, or an outage's end):
// each is refreshed with exactly one api_authorizer_token call, checked, and
// the wall time and DynamoDB requests per account on the tokens table are
// reported (a GetItem strongly consistent, 1 read unit; an UpdateItem for
// the lease and a PutItem for the token, 1 write unit each). The accounts
// registry is in memory here; deployed it adds a GetItem of the account and
// one of its refresh token per fetch (2 read units) and a KMS Decrypt.
//
//	go test ./shared/platform -run '^$' -bench RefreshAuthorizers10000 -benchtime 1x -timeout 30m
func BenchmarkRefreshAuthorizers10000(b *testing.B) {
	const n = 10000
	for b.Loop() {
		b.StopTimer()
		client, names := dynamotest.Tables(b, nil, "TokensTable")
		ops := &opCounter{}
		counted := dynamodb.New(client.Options(), func(o *dynamodb.Options) { o.APIOptions = append(o.APIOptions, ops.middleware) })
		r := newRigOn(b, wechattest.ComponentConfig{}, counted, names["TokensTable"])
		r.pushTicket(b)
		svc, comp := r.instance(b)
		ctx := context.Background()
		ctok, err := comp.Token(ctx)
		if err != nil {
			b.Fatal(err)
		}
		accts := make([]token.Account, n)
		for i := range n {
			appID := fmt.Sprintf("wx%016x", i+1)
			// api_query_auth hands out the refresh token; the details are made up.
			auth, err := r.client.QueryAuth(ctx, ctok, r.wc.Authorize(appID, nil))
			if err != nil {
				b.Fatal(err)
			}
			if _, err := r.reg.Authorize(ctx, accounts.Authorized{AppID: appID, RefreshToken: auth.RefreshToken, FuncInfo: auth.FuncInfo, UserName: "gh_" + appID[2:14]}); err != nil {
				b.Fatal(err)
			}
			store := r.store(b, appID)
			accts[i] = token.Account{AppID: appID, Source: token.NewSource(store, svc.AuthorizerIssuer(appID), token.Options{}), Health: store}
		}
		r.wc.Reset()
		ops.reset()
		b.StartTimer()
		start := time.Now()
		sum := token.RefreshAll(ctx, accts, token.AllOptions{})
		wall := time.Since(start)
		b.StopTimer()
		if sum.Refreshed != n || sum.Failed != 0 {
			b.Fatalf("summary %+v", sum)
		}
		per := map[string]int{}
		for _, c := range r.wc.CallLog(wechattest.PathAuthorizerToken) {
			per[authorizerOf(c)]++
		}
		calls := r.wc.Calls(wechattest.PathAuthorizerToken)
		if calls != n || len(per) != n {
			b.Fatalf("%d api_authorizer_token calls over %d accounts, want %d each once", calls, len(per), n)
		}
		b.ReportMetric(float64(calls), "wechat-calls")
		b.ReportMetric(float64(n), "accounts-due")
		b.ReportMetric(float64(wall.Milliseconds()), "ms/run")
		b.ReportMetric(float64(ops.get.Load())/n, "reads/account")
		b.ReportMetric(float64(ops.update.Load()+ops.put.Load())/n, "writes/account")
		// The run after: every token fresh, one read each and no call.
		ops.reset()
		start = time.Now()
		token.RefreshAll(ctx, accts, token.AllOptions{})
		b.ReportMetric(float64(time.Since(start).Milliseconds()), "ms/fresh-run")
		if c := r.wc.Calls(wechattest.PathAuthorizerToken); c != n {
			b.Fatalf("the fresh run made %d calls", c-n)
		}
		b.StartTimer()
	}
}
