package platform_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"wechatqr/shared/accounts"
	"wechatqr/shared/inmem"
	"wechatqr/shared/platform"
	"wechatqr/shared/qr"
	"wechatqr/shared/seal"
	"wechatqr/shared/token"
	"wechatqr/shared/wechat"
	"wechatqr/shared/wechat/wechattest"
)

// svcDefault is the stack's default account in these tests.
const svcDefault = "wx1d1d1d1d1d1d1d1d"

// svcFixture is a platform Service over the emulated component, the
// in-memory accounts and platform state, and the component token fetched
// from the emulator with its newest ticket (tokenrefresh's part, at this
// unit's edge).
type svcFixture struct {
	comp  *wechattest.Component
	reg   *accounts.Registry
	state *inmem.Platform
	svc   *platform.Service
	logs  *bytes.Buffer
	saved map[string]qr.AccessToken // the authorizers' token items
}

func newSvcFixture(t *testing.T, readOnly ...bool) *svcFixture {
	t.Helper()
	comp := wechattest.NewComponent(wechattest.ComponentConfig{})
	srv := comp.Start()
	t.Cleanup(srv.Close)
	if _, err := comp.PushTicket(t.Context()); err != nil && !errors.Is(err, wechattest.ErrNoURL) {
		t.Fatal(err)
	}
	client, err := wechat.NewComponent(srv.URL, comp.Config().AppID, wechat.WithSecret(comp.Config().AppSecret))
	if err != nil {
		t.Fatal(err)
	}
	sealer, err := seal.NewLocal(bytes.Repeat([]byte{7}, 32))
	if err != nil {
		t.Fatal(err)
	}
	reg, err := accounts.NewRegistry(accounts.Config{Default: accounts.Account{AppID: svcDefault}, Store: inmem.NewAccounts(), Sealer: sealer})
	if err != nil {
		t.Fatal(err)
	}
	f := &svcFixture{comp: comp, reg: reg, state: inmem.NewPlatform(), logs: &bytes.Buffer{}, saved: map[string]qr.AccessToken{}}
	var mu sync.Mutex
	f.svc, err = platform.New(platform.Config{
		Component: client, Accounts: reg, State: f.state, BaseURL: srv.URL,
		ComponentToken: &emulatorToken{comp: comp, client: client},
		AuthorizerTokens: func(appID string) (token.Store, error) {
			return &memTokens{mu: &mu, items: f.saved, appID: appID}, nil
		},
		ReadOnly: len(readOnly) > 0 && readOnly[0],
		Log:      slog.New(slog.NewJSONHandler(f.logs, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// emulatorToken hands out a component token fetched with the emulator's
// newest ticket, once.
type emulatorToken struct {
	comp   *wechattest.Component
	client *wechat.Component
	mu     sync.Mutex
	tok    string
}

func (e *emulatorToken) Token(ctx context.Context) (string, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.tok == "" {
		t, err := e.client.ComponentToken(ctx, e.comp.NewestTicket())
		if err != nil {
			return "", err
		}
		e.tok = t.AccessToken
	}
	return e.tok, nil
}

func (e *emulatorToken) Invalidate(ctx context.Context, failed string) (string, error) {
	e.mu.Lock()
	if e.tok == failed {
		e.tok = ""
	}
	e.mu.Unlock()
	return e.Token(ctx)
}

// memTokens is a token.Store in memory, enough for the token an
// authorization leaves.
type memTokens struct {
	mu    *sync.Mutex
	items map[string]qr.AccessToken
	appID string
}

func (m *memTokens) Load(context.Context) (qr.AccessToken, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.items[m.appID], nil
}

func (m *memTokens) Save(_ context.Context, rec qr.AccessToken, prev int64) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.items[m.appID].Version != prev {
		return qr.Errorf(qr.EConflict, "token changed")
	}
	m.items[m.appID] = rec
	return nil
}

func (m *memTokens) Lease(context.Context, string, int64, time.Time, time.Time) (bool, error) {
	return false, errors.New("memTokens: no lease here")
}

const svcAuthorizer = "wx4b4b4b4b4b4b4b4b"

func TestAnAuthorizationPushedAndRedirectedAtOnceMakesOneAccountAndOneQueryAuth(t *testing.T) {
	f := newSvcFixture(t)
	code := f.comp.Authorize(svcAuthorizer, nil)
	var (
		wg      sync.WaitGroup
		pushErr error
		got     accounts.Account
		compErr error
	)
	wg.Go(func() { pushErr = f.svc.Authorized(t.Context(), svcAuthorizer, code) })
	wg.Go(func() { got, compErr = f.svc.Complete(t.Context(), code) })
	wg.Wait()
	if pushErr != nil || compErr != nil {
		t.Fatalf("push: %v; redirect: %v", pushErr, compErr)
	}
	if n := f.comp.Calls(wechattest.PathQueryAuth); n != 1 {
		t.Errorf("api_query_auth called %d times for one code; want 1", n)
	}
	if got.AppID != svcAuthorizer || got.Kind != accounts.Authorizer || got.Status != accounts.Active {
		t.Fatalf("the redirect's account: %+v", got)
	}
	if got.UserName == "" || !slices.Equal(got.Permissions, wechattest.DefaultFuncInfo) {
		t.Errorf("the account's user name %q and permissions %v; want its gh_ id and %v", got.UserName, got.Permissions, wechattest.DefaultFuncInfo)
	}
	all, err := f.reg.List(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if n := len(all); n != 2 { // the default account and the authorizer
		t.Errorf("%d accounts after one authorization; want the default one and %s", n, svcAuthorizer)
	}
	if tok := f.saved[svcAuthorizer]; tok.Token == "" {
		t.Error("the token api_query_auth issued was not kept as the account's")
	}
	if rt, _, err := f.reg.RefreshToken(t.Context(), svcAuthorizer); err != nil || rt == "" {
		t.Errorf("the refresh token was not kept: %v", err)
	}
	for _, secret := range []string{code, f.saved[svcAuthorizer].Token, f.comp.NewestTicket()} {
		if strings.Contains(f.logs.String(), secret) {
			t.Errorf("a log line holds a credential: %s", f.logs)
		}
	}
}

func TestTheSameAuthorizationArrivingAgainChangesNothing(t *testing.T) {
	f := newSvcFixture(t)
	code := f.comp.Authorize(svcAuthorizer, nil)
	first, err := f.svc.Complete(t.Context(), code)
	if err != nil {
		t.Fatal(err)
	}
	for _, again := range []func() error{
		func() error { return f.svc.Authorized(t.Context(), svcAuthorizer, code) },
		func() error { _, err := f.svc.Complete(t.Context(), code); return err },
	} {
		if err := again(); err != nil {
			t.Fatalf("the same code again: %v", err)
		}
	}
	if n := f.comp.Calls(wechattest.PathQueryAuth); n != 1 {
		t.Errorf("api_query_auth called %d times for one code; want 1", n)
	}
	got, err := f.reg.Get(t.Context(), svcAuthorizer)
	if err != nil || got.CreatedAt != first.CreatedAt {
		t.Errorf("the account after the same code again: %+v, %v", got, err)
	}
}

func TestAnAuthorizationIsRefusedWithoutWritingAnything(t *testing.T) {
	for _, c := range []struct {
		name  string
		run   func(f *svcFixture) error
		codes []string // qr error codes accepted
	}{
		{"a code WeChat does not know", func(f *svcFixture) error {
			_, err := f.svc.Complete(context.Background(), "queryauthcode@@@not-a-code")
			return err
		}, []string{qr.EInvalid}},
		{"no code", func(f *svcFixture) error {
			_, err := f.svc.Complete(context.Background(), "")
			return err
		}, []string{qr.EInvalid}},
		{"a push naming another account than its code", func(f *svcFixture) error {
			return f.svc.Authorized(context.Background(), "wx5c5c5c5c5c5c5c5c", f.comp.Authorize(svcAuthorizer, nil))
		}, []string{qr.EInvalid}},
	} {
		t.Run(c.name, func(t *testing.T) {
			f := newSvcFixture(t)
			err := c.run(f)
			if !slices.Contains(c.codes, qr.ErrorCode(err)) {
				t.Fatalf("got %v (%s); want one of %v", err, qr.ErrorCode(err), c.codes)
			}
			all, lerr := f.reg.List(t.Context())
			if lerr != nil || len(all) != 1 {
				t.Errorf("accounts after a refusal: %v, %v; want the default one alone", all, lerr)
			}
		})
	}
}

func TestUnauthorizedRevokesTheAccountOnceAndIgnoresStrangers(t *testing.T) {
	f := newSvcFixture(t)
	if _, err := f.svc.Complete(t.Context(), f.comp.Authorize(svcAuthorizer, nil)); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if err := f.svc.Unauthorized(t.Context(), svcAuthorizer); err != nil {
			t.Fatalf("unauthorized: %v", err)
		}
	}
	got, err := f.reg.Get(t.Context(), svcAuthorizer)
	if err != nil || got.Status != accounts.Revoked {
		t.Fatalf("after unauthorized: %+v, %v; want revoked", got, err)
	}
	if err := got.MayCall("/cgi-bin/qrcode/create"); qr.ErrorCode(err) != qr.EAccountRevoked {
		t.Errorf("a revoked authorizer's call: %v; want %s", err, qr.EAccountRevoked)
	}
	if err := f.svc.Unauthorized(t.Context(), "wx6d6d6d6d6d6d6d6d"); err != nil {
		t.Errorf("unauthorized of an account the stack never had: %v", err)
	}
}

func TestStartAuthorizationGivesPagesTheEmulatorAccepts(t *testing.T) {
	f := newSvcFixture(t)
	page, mobile, expires, err := f.svc.StartAuthorization(t.Context(), "https://console.example.com/console/platform/return")
	if err != nil {
		t.Fatal(err)
	}
	if !expires.After(time.Now()) || mobile == "" || mobile == page {
		t.Errorf("expires %v, mobile link %q", expires, mobile)
	}
	redirect, _, err := f.comp.VisitAuthPage(t.Context(), page, svcAuthorizer, []int{1, 3})
	if err != nil && !errors.Is(err, wechattest.ErrNoURL) {
		t.Fatalf("the administrator's visit: %v", err)
	}
	if !strings.HasPrefix(redirect, "https://console.example.com/console/platform/return?") || !strings.Contains(redirect, "auth_code=") {
		t.Fatalf("WeChat redirects to %q", redirect)
	}
}

func TestTheReleaseTestIsAnswered(t *testing.T) {
	f := newSvcFixture(t)
	test := wechattest.ReleaseTestAccounts[0].AppID
	code := f.comp.Authorize(test, nil)
	if _, err := f.svc.Complete(t.Context(), code); err != nil {
		t.Fatal(err)
	}
	if got := f.svc.ReleaseTest(test, &wechat.Message{MsgType: "text", Content: wechat.ReleaseTestText}); got.Reply != wechat.ReleaseTestTextReply || got.Once != nil {
		t.Errorf("the test text is answered %+v; want the passive reply %q", got, wechat.ReleaseTestTextReply)
	}
	if got := f.svc.ReleaseTest(test, &wechat.Message{MsgType: "text", Content: "hello"}); got.Reply != "" || got.Once != nil {
		t.Errorf("a user's text is answered %+v; want nothing", got)
	}
	f.comp.Authorizer(test).Follow(wechattest.ReleaseTestOpenID)
	ans := f.svc.ReleaseTest(test, &wechat.Message{MsgType: "text", FromUserName: wechattest.ReleaseTestOpenID, Content: wechat.ReleaseTestQueryAuthPrefix + code})
	if ans.Reply != "" || ans.Once == nil {
		t.Fatalf("the QUERY_AUTH_CODE text is answered %+v; want an empty reply and a message", ans)
	}
	if err := ans.Once(t.Context()); err != nil {
		t.Fatal(err)
	}
	msgs := f.comp.ReleaseTestMessages(test)
	if len(msgs) != 1 || msgs[0].Content != wechat.ReleaseTestAPIText(code) {
		t.Errorf("the test user received %+v; want %q", msgs, wechat.ReleaseTestAPIText(code))
	}
}

// WeChat may refuse a second api_query_auth with the code the authorized push
// redeemed (docs/wechat.md §13.9): the release test's message still goes, with
// the token the first redemption kept.
func TestTheReleaseTestsMessageGoesWhenWeChatRefusesTheCodeAgain(t *testing.T) {
	f := newSvcFixture(t)
	test := wechattest.ReleaseTestAccounts[1].AppID
	code := f.comp.Authorize(test, nil)
	if _, err := f.svc.Complete(t.Context(), code); err != nil {
		t.Fatal(err)
	}
	f.comp.Authorizer(test).Follow(wechattest.ReleaseTestOpenID)
	f.comp.FailNext(wechattest.PathQueryAuth, 1, wechattest.Fault{ErrCode: wechat.CodeAuthCodeInvalid})
	ans := f.svc.ReleaseTest(test, &wechat.Message{MsgType: "text", FromUserName: wechattest.ReleaseTestOpenID, Content: wechat.ReleaseTestQueryAuthPrefix + code})
	if err := ans.Once(t.Context()); err != nil {
		t.Fatal(err)
	}
	if msgs := f.comp.ReleaseTestMessages(test); len(msgs) != 1 || msgs[0].Content != wechat.ReleaseTestAPIText(code) {
		t.Errorf("the test user received %+v; want %q", msgs, wechat.ReleaseTestAPIText(code))
	}
}

// Every function but tokenrefresh reads an authorizer's token and never
// fetches one: it may not open the refresh token.
func TestAReadOnlyPlatformNeverFetchesAnAuthorizersToken(t *testing.T) {
	f := newSvcFixture(t, true)
	if _, err := f.svc.Complete(t.Context(), f.comp.Authorize(svcAuthorizer, nil)); err != nil {
		t.Fatal(err)
	}
	_, err := f.svc.AuthorizerIssuer(svcAuthorizer).Issue(t.Context(), false)
	if qr.ErrorCode(err) != qr.EUnavailable || !strings.Contains(err.Error(), "tokenrefresh") {
		t.Fatalf("a read-only platform's fetch: %v; want %s naming tokenrefresh", err, qr.EUnavailable)
	}
	if n := f.comp.Calls(wechattest.PathAuthorizerToken); n != 0 {
		t.Errorf("%d api_authorizer_token calls from a read-only platform", n)
	}
}

// A redemption that fails gives up its claim: WeChat's retry of the push (or
// the redirect) makes the account, so a failure loses no authorization.
func TestAFailedRedemptionLeavesTheCodeToTheRetry(t *testing.T) {
	f := newSvcFixture(t)
	code := f.comp.Authorize(svcAuthorizer, nil)
	f.comp.FailNext(wechattest.PathAuthorizerInfo, 3, wechattest.Fault{Status: 502})
	if err := f.svc.Authorized(t.Context(), svcAuthorizer, code); err == nil {
		t.Fatal("the push's redemption succeeded though WeChat answered 502")
	}
	if _, err := f.reg.Get(t.Context(), svcAuthorizer); qr.ErrorCode(err) != qr.EAccountNotFound {
		t.Fatalf("after a failed redemption the account is %v; want none yet", err)
	}
	if err := f.svc.Authorized(t.Context(), svcAuthorizer, code); err != nil {
		t.Fatalf("WeChat's retry of the push: %v", err)
	}
	if got, err := f.reg.Get(t.Context(), svcAuthorizer); err != nil || got.Status != accounts.Active {
		t.Errorf("after the retry: %+v, %v; want the account", got, err)
	}
}
