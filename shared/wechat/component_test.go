package wechat_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"wechatqr/shared/wechat"
	"wechatqr/shared/wechat/wechattest"
)

// compEnv is an emulated third-party platform and a Component client of
// it, the API mounted under /api as apiSetup does, on a settable clock.
type compEnv struct {
	emu    *wechattest.Component
	cp     *wechat.Component
	clock  *wechattest.Clock
	base   string
	sleeps *apiSleeps
}

func compSetup(t *testing.T, cfg wechattest.ComponentConfig, opts ...wechat.ClientOption) *compEnv {
	t.Helper()
	clock := wechattest.NewClock(time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC))
	cfg.Now = clock.Now
	emu := wechattest.NewComponent(cfg)
	mux := http.NewServeMux()
	mux.Handle("/api/", http.StripPrefix("/api", emu))
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		t.Errorf("request outside the base URL: %s %s", r.Method, r.URL.Path)
		http.NotFound(w, r)
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	t.Cleanup(emu.Close)
	sleeps := &apiSleeps{}
	cfg = emu.Config()
	opts = append([]wechat.ClientOption{wechat.WithSleep(sleeps.sleep), wechat.WithSecret(cfg.AppSecret)}, opts...)
	cp, err := wechat.NewComponent(srv.URL+"/api", cfg.AppID, opts...)
	if err != nil {
		t.Fatalf("NewComponent: %v", err)
	}
	return &compEnv{emu: emu, cp: cp, clock: clock, base: srv.URL + "/api", sleeps: sleeps}
}

// ticket has the emulator push a component_verify_ticket (to no URL: the
// ticket is valid all the same) and returns it.
func (e *compEnv) ticket(t *testing.T) string {
	t.Helper()
	if _, err := e.emu.PushTicket(t.Context()); err != nil && !errors.Is(err, wechattest.ErrNoURL) {
		t.Fatalf("PushTicket: %v", err)
	}
	return e.emu.NewestTicket()
}

// token gets a component access token through the client.
func (e *compEnv) token(t *testing.T) string {
	t.Helper()
	tok, err := e.cp.ComponentToken(t.Context(), e.ticket(t))
	if err != nil {
		t.Fatalf("ComponentToken: %v", err)
	}
	return tok.AccessToken
}

// authorize has appID's administrator grant funcInfo and the platform
// exchange the code.
func (e *compEnv) authorize(t *testing.T, ctok, appID string, funcInfo []int) wechat.Authorization {
	t.Helper()
	a, err := e.cp.QueryAuth(t.Context(), ctok, e.emu.Authorize(appID, funcInfo))
	if err != nil {
		t.Fatalf("QueryAuth: %v", err)
	}
	return a
}

func wantCode(t *testing.T, err error, code int) {
	t.Helper()
	if got, ok := wechat.ErrCode(err); !ok || got != code {
		t.Fatalf("err = %v, want errcode %d", err, code)
	}
}

const testAuthorizer = "wx570bc396a51b8ff8" // a release-test account (§13.6)

func TestComponentTokenIsIssuedForThePushedTicket(t *testing.T) {
	e := compSetup(t, wechattest.ComponentConfig{})
	ticket := e.ticket(t)
	tok, err := e.cp.ComponentToken(t.Context(), ticket)
	if err != nil {
		t.Fatal(err)
	}
	if tok.AccessToken == "" || tok.ExpiresIn != 7200 {
		t.Errorf("token %+v, want a value and 7200 s", tok)
	}
	if got, ok := e.emu.ComponentToken(); !ok || got != tok.AccessToken {
		t.Errorf("the emulator's current token is %q, the client got %q", got, tok.AccessToken)
	}
	calls := e.emu.CallLog(wechattest.PathComponentToken)
	if len(calls) != 1 || calls[0].Method != http.MethodPost || calls[0].RawQuery != "" {
		t.Fatalf("calls %+v, want one POST without a query", calls)
	}
	var body map[string]string
	if err := json.Unmarshal(calls[0].Body, &body); err != nil {
		t.Fatal(err)
	}
	cfg := e.emu.Config()
	want := map[string]string{"component_appid": cfg.AppID, "component_appsecret": cfg.AppSecret, "component_verify_ticket": ticket}
	if fmt.Sprint(body) != fmt.Sprint(want) {
		t.Errorf("body %v, want %v", body, want)
	}
}

func TestComponentTokenUsesTheSecretFunc(t *testing.T) {
	e := compSetup(t, wechattest.ComponentConfig{})
	asked := 0
	secret := e.emu.Config().AppSecret
	cp, err := wechat.NewComponent(e.base, e.cp.AppID(), wechat.WithSecretFunc(func(context.Context) (string, error) {
		asked++
		return secret, nil
	}))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cp.ComponentToken(t.Context(), e.ticket(t)); err != nil || asked != 1 {
		t.Fatalf("ComponentToken: %v, secret asked %d times", err, asked)
	}
}

func TestComponentTokenRefusals(t *testing.T) {
	tests := []struct {
		name  string
		setup func(e *compEnv) (cp *wechat.Component, ticket string)
		code  int
		is    func(error) bool
	}{
		{"ticket never pushed", func(e *compEnv) (*wechat.Component, string) {
			return e.cp, "ticket@@@never-pushed"
		}, wechat.CodeTicketInvalid, wechat.IsTicketError},
		{"ticket older than 12 h", func(e *compEnv) (*wechat.Component, string) {
			ticket := e.emu.NewestTicket()
			e.clock.Advance(12*time.Hour + time.Second)
			return e.cp, ticket
		}, wechat.CodeTicketExpired, wechat.IsTicketError},
		{"wrong secret", func(e *compEnv) (*wechat.Component, string) {
			cp, _ := wechat.NewComponent(e.base, e.cp.AppID(), wechat.WithSecret("not-the-secret"))
			return cp, e.emu.NewestTicket()
		}, wechat.CodeInvalidAppSecret, func(err error) bool { return !wechat.IsTicketError(err) && !wechat.IsTokenError(err) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := compSetup(t, wechattest.ComponentConfig{})
			e.ticket(t)
			cp, ticket := tt.setup(e)
			_, err := cp.ComponentToken(t.Context(), ticket)
			wantCode(t, err, tt.code)
			if !tt.is(err) {
				t.Errorf("%v not classified", err)
			}
			if n := e.emu.Calls(wechattest.PathComponentToken); n != 1 {
				t.Errorf("%d calls, want 1 (errcodes are not retried)", n)
			}
		})
	}
}

func TestComponentCallsRefuseMissingInputsBeforeSending(t *testing.T) {
	e := compSetup(t, wechattest.ComponentConfig{})
	secretless, err := wechat.NewComponent(e.base, e.cp.AppID())
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	tests := []struct {
		name string
		run  func() error
	}{
		{"no secret", func() error { _, err := secretless.ComponentToken(ctx, "ticket@@@x"); return err }},
		{"no secret to start pushes", func() error { return secretless.StartPushTicket(ctx) }},
		{"no ticket", func() error { _, err := e.cp.ComponentToken(ctx, ""); return err }},
		{"no component token", func() error { _, err := e.cp.CreatePreAuthCode(ctx, ""); return err }},
		{"no auth code", func() error { _, err := e.cp.QueryAuth(ctx, "tok", ""); return err }},
		{"no refresh token", func() error { _, err := e.cp.AuthorizerToken(ctx, "tok", testAuthorizer, ""); return err }},
		{"no authorizer", func() error { _, err := e.cp.AuthorizerInfo(ctx, "tok", ""); return err }},
		{"count 0", func() error { _, err := e.cp.AuthorizerList(ctx, "tok", 0, 0); return err }},
		{"count 501", func() error { _, err := e.cp.AuthorizerList(ctx, "tok", 0, 501); return err }},
		{"negative offset", func() error { _, err := e.cp.AuthorizerList(ctx, "tok", -1, 10); return err }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.run(); !errors.Is(err, wechat.ErrInvalidRequest) {
				t.Errorf("err = %v, want ErrInvalidRequest", err)
			}
		})
	}
	for _, p := range []string{wechattest.PathComponentToken, wechattest.PathCreatePreAuthCode, wechattest.PathQueryAuth,
		wechattest.PathAuthorizerToken, wechattest.PathAuthorizerInfo, wechattest.PathAuthorizerList, wechattest.PathStartPushTicket} {
		if n := e.emu.Calls(p); n != 0 {
			t.Errorf("%s: %d calls, want none", p, n)
		}
	}
	if _, err := wechat.NewComponent(e.base, ""); err == nil {
		t.Error("NewComponent accepted an empty component AppID")
	}
}

// The calls that issue a token (or spend a code) are not repeated after a
// failure that may have reached WeChat; the calls that only read are.
func TestComponentRetryPolicies(t *testing.T) {
	tests := []struct {
		name  string
		path  string
		fault wechattest.Fault
		calls int
	}{
		{"component token after a 502", wechattest.PathComponentToken, wechattest.StatusFault(502), 1},
		{"component token after -1", wechattest.PathComponentToken, wechattest.ErrCodeFault(wechat.CodeSystemBusy), 2},
		{"query auth after a 502", wechattest.PathQueryAuth, wechattest.StatusFault(502), 1},
		{"query auth after -1", wechattest.PathQueryAuth, wechattest.ErrCodeFault(wechat.CodeSystemBusy), 1},
		{"authorizer token after a 502", wechattest.PathAuthorizerToken, wechattest.StatusFault(502), 1},
		{"authorizer token after -1", wechattest.PathAuthorizerToken, wechattest.ErrCodeFault(wechat.CodeSystemBusy), 2},
		{"pre-auth code after a 502", wechattest.PathCreatePreAuthCode, wechattest.StatusFault(502), 2},
		{"authorizer info after a 502", wechattest.PathAuthorizerInfo, wechattest.StatusFault(502), 2},
		{"authorizer list after a 502", wechattest.PathAuthorizerList, wechattest.StatusFault(502), 2},
		{"start push ticket after a 502", wechattest.PathStartPushTicket, wechattest.StatusFault(502), 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := compSetup(t, wechattest.ComponentConfig{})
			ticket := e.ticket(t)
			ctok := e.token(t)
			a := e.authorize(t, ctok, testAuthorizer, nil)
			code := e.emu.Authorize(testAuthorizer, nil)
			e.emu.Reset()
			e.emu.FailNext(tt.path, 1, tt.fault)
			ctx := t.Context()
			var err error
			switch tt.path {
			case wechattest.PathComponentToken:
				_, err = e.cp.ComponentToken(ctx, ticket)
			case wechattest.PathQueryAuth:
				_, err = e.cp.QueryAuth(ctx, ctok, code)
			case wechattest.PathAuthorizerToken:
				_, err = e.cp.AuthorizerToken(ctx, ctok, testAuthorizer, a.RefreshToken)
			case wechattest.PathCreatePreAuthCode:
				_, err = e.cp.CreatePreAuthCode(ctx, ctok)
			case wechattest.PathAuthorizerInfo:
				_, err = e.cp.AuthorizerInfo(ctx, ctok, testAuthorizer)
			case wechattest.PathAuthorizerList:
				_, err = e.cp.AuthorizerList(ctx, ctok, 0, 10)
			case wechattest.PathStartPushTicket:
				err = e.cp.StartPushTicket(ctx)
			}
			if got := e.emu.Calls(tt.path); got != tt.calls {
				t.Errorf("%d calls, want %d (err %v)", got, tt.calls, err)
			}
			if (tt.calls == 2) != (err == nil) {
				t.Errorf("err = %v after %d calls", err, tt.calls)
			}
		})
	}
}

func TestCreatePreAuthCodeSendsTheComponentToken(t *testing.T) {
	e := compSetup(t, wechattest.ComponentConfig{})
	ctok := e.token(t)
	pre, err := e.cp.CreatePreAuthCode(t.Context(), ctok)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(pre.Code, "preauthcode@@@") || pre.ExpiresIn != 600 {
		t.Errorf("pre-auth code %+v", pre)
	}
	call := e.emu.CallLog(wechattest.PathCreatePreAuthCode)[0]
	if call.Query.Get("component_access_token") != ctok || call.Query.Has("access_token") {
		t.Errorf("query %q, want component_access_token only", call.RawQuery)
	}
	if string(call.Body) != `{"component_appid":"`+e.cp.AppID()+`"}` {
		t.Errorf("body %s", call.Body)
	}
}

func TestCreatePreAuthCodeWithAStaleTokenIsATokenError(t *testing.T) {
	e := compSetup(t, wechattest.ComponentConfig{})
	ctok := e.token(t)
	e.clock.Advance(7201 * time.Second)
	_, err := e.cp.CreatePreAuthCode(t.Context(), ctok)
	if !wechat.IsTokenError(err) {
		t.Fatalf("err = %v, want a token error", err)
	}
}

func TestAuthorizationPageRoundTrip(t *testing.T) {
	e := compSetup(t, wechattest.ComponentConfig{})
	ctok := e.token(t)
	for _, page := range []func(pre, back string) string{e.cp.LoginPageURL, e.cp.MobileAuthURL} {
		pre, err := e.cp.CreatePreAuthCode(t.Context(), ctok)
		if err != nil {
			t.Fatal(err)
		}
		redirect, _, err := e.emu.VisitAuthPage(t.Context(), page(pre.Code, "https://stack.example/authorized?x=1&y=2"), testAuthorizer, nil)
		if err != nil && !errors.Is(err, wechattest.ErrNoURL) { // no authorization-event URL: the push is not delivered
			t.Fatalf("the emulator refused the page: %v", err)
		}
		u, err := url.Parse(redirect)
		if err != nil || u.Host != "stack.example" || u.Query().Get("x") != "1" {
			t.Fatalf("redirect %q", redirect)
		}
		a, err := e.cp.QueryAuth(t.Context(), ctok, u.Query().Get("auth_code"))
		if err != nil || a.AuthorizerAppID != testAuthorizer {
			t.Fatalf("QueryAuth with the redirect's code: %+v, %v", a, err)
		}
	}
}

func TestAuthorizationPageURLs(t *testing.T) {
	cp, err := wechat.NewComponent("", "wx3c0e2a7d9b4f1e65")
	if err != nil {
		t.Fatal(err)
	}
	const pre, back = "preauthcode@@@a+b/c=", "https://stack.example/cb?x=1&y=é"
	tests := []struct {
		name, got, want string
	}{
		{"PC", cp.LoginPageURL(pre, back),
			"https://mp.weixin.qq.com/cgi-bin/componentloginpage?component_appid=wx3c0e2a7d9b4f1e65" +
				"&pre_auth_code=preauthcode%40%40%40a%2Bb%2Fc%3D&redirect_uri=https%3A%2F%2Fstack.example%2Fcb%3Fx%3D1%26y%3D%C3%A9&auth_type=1"},
		{"mobile", cp.MobileAuthURL(pre, back),
			"https://open.weixin.qq.com/wxaopen/safe/bindcomponent?action=bindcomponent&no_scan=1&component_appid=wx3c0e2a7d9b4f1e65" +
				"&pre_auth_code=preauthcode%40%40%40a%2Bb%2Fc%3D&redirect_uri=https%3A%2F%2Fstack.example%2Fcb%3Fx%3D1%26y%3D%C3%A9&auth_type=1#wechat_redirect"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.got != tt.want {
				t.Errorf("\n got %s\nwant %s", tt.got, tt.want)
			}
			u, err := url.Parse(tt.got)
			if err != nil || u.Query().Get("redirect_uri") != back || u.Query().Get("pre_auth_code") != pre {
				t.Errorf("parameters do not round-trip: %v", err)
			}
		})
	}
}

func TestQueryAuthGivesTheGrantAndAWorkingToken(t *testing.T) {
	e := compSetup(t, wechattest.ComponentConfig{})
	ctok := e.token(t)
	a := e.authorize(t, ctok, testAuthorizer, nil)
	if a.AuthorizerAppID != testAuthorizer || a.AccessToken == "" || a.ExpiresIn <= 0 || a.RefreshToken == "" {
		t.Errorf("authorization %+v", a)
	}
	if !slices.Equal(a.FuncInfo, []int{1, 2, 3}) {
		t.Errorf("FuncInfo %v, want [1 2 3]", a.FuncInfo)
	}
	// The authorizer token works on the account's own API.
	oa, err := wechat.NewClient(e.base, "", "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := oa.CreateQRCode(t.Context(), a.AccessToken, wechat.QRCodeRequest{ExpireSeconds: 60, ActionName: wechat.ActionScene, SceneID: 7}); err != nil {
		t.Errorf("qrcode/create with the authorizer token: %v", err)
	}
}

func TestQueryAuthCodeRefusals(t *testing.T) {
	tests := []struct {
		name string
		code func(e *compEnv) string
		want int
		is   func(error) bool
	}{
		{"unknown code", func(*compEnv) string { return "queryauthcode@@@unknown" }, wechat.CodeAuthCodeInvalid, wechat.IsAuthCodeError},
		{"expired code", func(e *compEnv) string {
			code := e.emu.Authorize(testAuthorizer, nil)
			e.clock.Advance(wechattest.DefaultAuthCodeTTL + time.Second)
			return code
		}, wechat.CodeAuthCodeExpired, wechat.IsAuthCodeError},
		{"revoked since", func(e *compEnv) string {
			code := e.emu.Authorize(testAuthorizer, nil)
			e.emu.Unauthorize(testAuthorizer)
			return code
		}, wechat.CodeComponentNotAuthorized, wechat.IsAuthorizationRevoked},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := compSetup(t, wechattest.ComponentConfig{})
			ctok := e.token(t)
			code := tt.code(e)
			if tt.name == "expired code" { // the component token must outlive the code
				ctok = e.token(t)
			}
			_, err := e.cp.QueryAuth(t.Context(), ctok, code)
			wantCode(t, err, tt.want)
			if !tt.is(err) {
				t.Errorf("%v not classified", err)
			}
		})
	}
}

func TestAuthorizerTokenKeepsTheRefreshTokenByDefault(t *testing.T) {
	e := compSetup(t, wechattest.ComponentConfig{})
	ctok := e.token(t)
	a := e.authorize(t, ctok, testAuthorizer, nil)
	tok, err := e.cp.AuthorizerToken(t.Context(), ctok, testAuthorizer, a.RefreshToken)
	if err != nil {
		t.Fatal(err)
	}
	if tok.AccessToken == "" || tok.AccessToken == a.AccessToken || tok.ExpiresIn <= 0 || tok.RefreshToken != a.RefreshToken {
		t.Errorf("token %+v after %+v", tok, a)
	}
	var body map[string]string
	json.Unmarshal(e.emu.CallLog(wechattest.PathAuthorizerToken)[0].Body, &body)
	if body["authorizer_appid"] != testAuthorizer || body["authorizer_refresh_token"] != a.RefreshToken || body["component_appid"] != e.cp.AppID() {
		t.Errorf("body %v", body)
	}
}

// With rotation on, each answer's refresh token is the one to use next;
// the one before keeps working only its five minutes of overlap.
func TestAuthorizerTokenRotatesRefreshTokens(t *testing.T) {
	e := compSetup(t, wechattest.ComponentConfig{RotateRefreshTokens: true})
	ctok := e.token(t)
	first := e.authorize(t, ctok, testAuthorizer, nil).RefreshToken
	second, err := e.cp.AuthorizerToken(t.Context(), ctok, testAuthorizer, first)
	if err != nil {
		t.Fatal(err)
	}
	if second.RefreshToken == "" || second.RefreshToken == first {
		t.Fatalf("refresh token not rotated: %q", second.RefreshToken)
	}
	third, err := e.cp.AuthorizerToken(t.Context(), ctok, testAuthorizer, second.RefreshToken)
	if err != nil {
		t.Fatalf("the rotated refresh token: %v", err)
	}
	e.clock.Advance(5*time.Minute + time.Second)
	_, err = e.cp.AuthorizerToken(t.Context(), ctok, testAuthorizer, second.RefreshToken)
	wantCode(t, err, wechat.CodeRefreshTokenInvalid)
	if !wechat.IsRefreshTokenInvalid(err) {
		t.Errorf("%v not classified", err)
	}
	info, err := e.cp.AuthorizerInfo(t.Context(), ctok, testAuthorizer)
	if err != nil || info.RefreshToken != third.RefreshToken {
		t.Errorf("AuthorizerInfo shows refresh token %q (%v), want the latest %q", info.RefreshToken, err, third.RefreshToken)
	}
	if _, err := e.cp.AuthorizerToken(t.Context(), ctok, testAuthorizer, info.RefreshToken); err != nil {
		t.Errorf("the recovered refresh token: %v", err)
	}
}

func TestAuthorizerTokenRefusesAWrongRefreshToken(t *testing.T) {
	e := compSetup(t, wechattest.ComponentConfig{})
	ctok := e.token(t)
	e.authorize(t, ctok, testAuthorizer, nil)
	_, err := e.cp.AuthorizerToken(t.Context(), ctok, testAuthorizer, "refreshtoken@@@wrong")
	wantCode(t, err, wechat.CodeRefreshTokenInvalid)
}

func TestAuthorizerInfoDescribesTheAccount(t *testing.T) {
	e := compSetup(t, wechattest.ComponentConfig{})
	ctok := e.token(t)
	want := wechattest.DefaultAuthorizerInfo(testAuthorizer)
	want.Alias, want.ServiceType, want.VerifyType, want.AccountStatus = "qrdemo", 2, -1, 1
	e.emu.Authorize(testAuthorizer, []int{1, 3})
	e.emu.SetAuthorizerInfo(testAuthorizer, want)

	before, err := e.cp.AuthorizerInfo(t.Context(), ctok, testAuthorizer)
	if err != nil {
		t.Fatal(err)
	}
	if before.RefreshToken != "" {
		t.Errorf("refresh token %q shown before api_query_auth", before.RefreshToken)
	}
	a := e.authorize(t, ctok, testAuthorizer, []int{1, 3})
	got, err := e.cp.AuthorizerInfo(t.Context(), ctok, testAuthorizer)
	if err != nil {
		t.Fatal(err)
	}
	expect := wechat.AuthorizerInfo{
		NickName: want.NickName, HeadImg: want.HeadImg, UserName: "gh_3c884a361561",
		PrincipalName: want.PrincipalName, Alias: "qrdemo", QRCodeURL: want.QRCodeURL,
		ServiceType: 2, VerifyType: -1, AccountStatus: 1,
		AuthorizerAppID: testAuthorizer, RefreshToken: a.RefreshToken, FuncInfo: []int{1, 3},
	}
	if fmt.Sprintf("%+v", got) != fmt.Sprintf("%+v", expect) {
		t.Errorf("\n got %+v\nwant %+v", got, expect)
	}
	_, err = e.cp.AuthorizerInfo(t.Context(), ctok, "wx0000000000000000")
	wantCode(t, err, wechat.CodeComponentNotAuthorized)
}

func TestAuthorizerListPages(t *testing.T) {
	e := compSetup(t, wechattest.ComponentConfig{})
	ctok := e.token(t)
	accounts := []string{"wx570bc396a51b8ff8", "wx9252c5e0bb1836fc", "wx8e1097c5bc82cde9"}
	refresh := map[string]string{}
	for _, id := range accounts {
		refresh[id] = e.authorize(t, ctok, id, nil).RefreshToken
	}
	var seen []string
	for offset := 0; offset < 4; offset += 2 {
		page, err := e.cp.AuthorizerList(t.Context(), ctok, offset, 2)
		if err != nil {
			t.Fatal(err)
		}
		if page.TotalCount != 3 {
			t.Errorf("total %d, want 3", page.TotalCount)
		}
		for _, a := range page.Authorizers {
			if a.RefreshToken != refresh[a.AppID] || a.AuthTime != e.clock.Now().Unix() {
				t.Errorf("entry %+v", a)
			}
			seen = append(seen, a.AppID)
		}
	}
	if !slices.Equal(seen, accounts) {
		t.Errorf("listed %v, want %v", seen, accounts)
	}
}

func TestStartPushTicketRestartsTheTicketPush(t *testing.T) {
	e := compSetup(t, wechattest.ComponentConfig{})
	e.emu.StopTicketPush()
	if err := e.cp.StartPushTicket(t.Context()); err != nil {
		t.Fatal(err)
	}
	e.emu.WaitPushes()
	if !e.emu.TicketPushing() {
		t.Error("the ticket push is still stopped")
	}
	if err := e.cp.StartPushTicket(t.Context()); err != nil {
		t.Errorf("on a running push: %v", err)
	}
	var body map[string]string
	json.Unmarshal(e.emu.CallLog(wechattest.PathStartPushTicket)[0].Body, &body)
	if body["component_secret"] != e.emu.Config().AppSecret || body["component_appid"] != e.cp.AppID() {
		t.Errorf("body %v", body)
	}
	wrong, _ := wechat.NewComponent(e.base, e.cp.AppID(), wechat.WithSecret("wrong"))
	wantCode(t, wrong.StartPushTicket(t.Context()), wechat.CodeInvalidAppSecret)
}

// An authorizer token used outside the granted sets gets 61007 (§13.5),
// and PermissionsFor says so beforehand.
func TestMissingPermissionSet(t *testing.T) {
	e := compSetup(t, wechattest.ComponentConfig{})
	ctok := e.token(t)
	a := e.authorize(t, ctok, testAuthorizer, []int{1, 2})
	if wechat.PermissionsFor("/cgi-bin/qrcode/create").GrantedBy(a.FuncInfo) {
		t.Errorf("sets %v said to cover qrcode/create", a.FuncInfo)
	}
	oa, _ := wechat.NewClient(e.base, "", "")
	_, err := oa.CreateQRCode(t.Context(), a.AccessToken, wechat.QRCodeRequest{ExpireSeconds: 60, ActionName: wechat.ActionScene, SceneID: 7})
	wantCode(t, err, wechat.CodeAPIUnauthorized)
	if !wechat.IsPermissionMissing(err) {
		t.Errorf("%v not classified", err)
	}
	if _, err := oa.CreateTag(t.Context(), a.AccessToken, "poster"); err != nil {
		t.Errorf("tags/create with set 2: %v", err)
	}
}

// Whatever fails, no credential of the component API reaches an error:
// the secret, the ticket, the component token, a code, a refresh token.
func TestComponentErrorsNeverShowCredentials(t *testing.T) {
	const (
		secret  = "c0mp+secret/=must-not-leak"
		ticket  = "ticket@@@T1ck3t+/="
		ctok    = "C0mpT0ken+/=value"
		code    = "queryauthcode@@@C0de+/="
		refresh = "refreshtoken@@@R3fresh+/="
	)
	// A gateway that echoes the query and the body in its errmsg.
	echo := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body strings.Builder
		buf := make([]byte, 4096)
		n, _ := r.Body.Read(buf)
		body.Write(buf[:n])
		msg, _ := json.Marshal(r.URL.RawQuery + " " + r.URL.Query().Get("component_access_token") + " " + body.String())
		if strings.Contains(r.URL.Path, "authorizer_info") {
			w.WriteHeader(http.StatusBadGateway)
			fmt.Fprintf(w, "upstream refused %s %s", r.URL, body.String())
			return
		}
		fmt.Fprintf(w, `{"errcode":40001,"errmsg":%s}`, msg)
	}))
	defer echo.Close()
	noSleep := wechat.WithSleep(func(context.Context, time.Duration) error { return nil })
	cp, err := wechat.NewComponent(echo.URL, "wx3c0e2a7d9b4f1e65", wechat.WithSecret(secret), noSleep)
	if err != nil {
		t.Fatal(err)
	}
	closed := httptest.NewServer(http.NotFoundHandler())
	closed.Close()
	cc, _ := wechat.NewComponent(closed.URL, "wx3c0e2a7d9b4f1e65", wechat.WithSecretFunc(func(context.Context) (string, error) { return secret, nil }), noSleep)
	ctx := t.Context()
	tests := []struct {
		name string
		run  func(cp *wechat.Component) error
	}{
		{"component token", func(cp *wechat.Component) error { _, err := cp.ComponentToken(ctx, ticket); return err }},
		{"pre-auth code", func(cp *wechat.Component) error { _, err := cp.CreatePreAuthCode(ctx, ctok); return err }},
		{"query auth", func(cp *wechat.Component) error { _, err := cp.QueryAuth(ctx, ctok, code); return err }},
		{"authorizer token", func(cp *wechat.Component) error {
			_, err := cp.AuthorizerToken(ctx, ctok, testAuthorizer, refresh)
			return err
		}},
		{"authorizer info", func(cp *wechat.Component) error { _, err := cp.AuthorizerInfo(ctx, ctok, testAuthorizer); return err }},
		{"authorizer list", func(cp *wechat.Component) error { _, err := cp.AuthorizerList(ctx, ctok, 0, 10); return err }},
		{"start push ticket", func(cp *wechat.Component) error { return cp.StartPushTicket(ctx) }},
	}
	for _, tt := range tests {
		for _, side := range []struct {
			name string
			cp   *wechat.Component
		}{{"echoing server", cp}, {"connection refused", cc}} {
			t.Run(tt.name+", "+side.name, func(t *testing.T) {
				err := tt.run(side.cp)
				if err == nil {
					t.Fatal("no error")
				}
				var texts []string
				for e := err; e != nil; e = errors.Unwrap(e) {
					texts = append(texts, e.Error(), fmt.Sprintf("%+v", e))
				}
				var he *wechat.HTTPError
				if errors.As(err, &he) {
					texts = append(texts, string(he.Body))
				}
				all := strings.Join(texts, "\n")
				for _, c := range []string{secret, ticket, ctok, code, refresh} {
					for _, form := range []string{c, url.QueryEscape(c)} {
						if strings.Contains(all, form) {
							t.Errorf("%q shows up in:\n%s", form, all)
						}
					}
				}
			})
		}
	}
}
