package wechattest_test

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"wechatqr/shared/wechat"
	"wechatqr/shared/wechat/wechattest"
)

const authorizerApp = "wx1111111111111111"

func TestComponentVerifyTicketPushedEveryTenMinutesOnItsClock(t *testing.T) {
	e := newCompEnv(t, wechattest.ComponentConfig{})
	steps := []struct {
		advance time.Duration
		push    bool
	}{
		{0, true}, // the first one at once
		{9*time.Minute + 59*time.Second, false},
		{time.Second, true}, // +10 min
		{5 * time.Minute, false},
		{5 * time.Minute, true},  // +20 min
		{35 * time.Minute, true}, // +55 min: one push, not the three missed
		{time.Minute, false},
		{4 * time.Minute, true}, // +60 min: back on the 10-minute grid
	}
	pushes := 0
	for i, s := range steps {
		e.clock.Advance(s.advance)
		push, pushed, err := e.c.Tick(t.Context())
		if err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
		if pushed != s.push {
			t.Fatalf("step %d (+%v): pushed %v, want %v", i, s.advance, pushed, s.push)
		}
		if !pushed {
			continue
		}
		pushes++
		ev := e.events.last()
		if got := len(e.events.received()); got != pushes {
			t.Fatalf("step %d: %d pushes received, want %d", i, got, pushes)
		}
		if ev.InfoType != "component_verify_ticket" || ev.AppID != e.c.Config().AppID ||
			ev.CreateTime != e.clock.Now().Unix() || ev.ComponentVerifyTicket != e.c.NewestTicket() ||
			!strings.HasPrefix(ev.ComponentVerifyTicket, "ticket@@@") {
			t.Fatalf("step %d: push %s", i, ev.inner)
		}
		if push.Event != "component_verify_ticket" || push.Status() != http.StatusOK || string(push.Reply()) != "success" {
			t.Fatalf("step %d: Push %+v", i, push)
		}
	}
	if got := len(e.c.Pushes()); got != pushes {
		t.Fatalf("Pushes() has %d, want %d", got, pushes)
	}
}

func TestComponentPushesOpenWithWechatDecryption(t *testing.T) {
	e := newCompEnv(t, wechattest.ComponentConfig{})
	cfg := e.c.Config()
	e.c.PushTicket(t.Context())
	code := e.c.Authorize(authorizerApp, []int{1})
	e.c.Authorize(authorizerApp, []int{1, 3})
	if err := e.c.Unauthorize(authorizerApp); err != nil {
		t.Fatal(err)
	}
	evs := e.events.received()
	want := []string{"component_verify_ticket", "authorized", "updateauthorized", "unauthorized"}
	if len(evs) != len(want) {
		t.Fatalf("%d pushes, want %d", len(evs), len(want))
	}
	for i, ev := range evs {
		t.Run(want[i], func(t *testing.T) {
			if ev.InfoType != want[i] || ev.AppID != cfg.AppID || ev.envelopeApp != cfg.AppID {
				t.Fatalf("InfoType %q, AppId %q, envelope AppId %q", ev.InfoType, ev.AppID, ev.envelopeApp)
			}
			if ev.CreateTime != epoch.Unix() || ev.query.Get("timestamp") != strconv.FormatInt(epoch.Unix(), 10) {
				t.Fatalf("CreateTime %d, timestamp %s", ev.CreateTime, ev.query.Get("timestamp"))
			}
			// CreateTime is bare; every string field is CDATA (§13.1's samples).
			if !bytes.Contains(ev.inner, []byte("<CreateTime>"+strconv.FormatInt(epoch.Unix(), 10)+"</CreateTime>")) ||
				!bytes.Contains(ev.inner, []byte("<InfoType><![CDATA["+want[i]+"]]></InfoType>")) {
				t.Fatalf("inner %s", ev.inner)
			}
			if want[i] == "authorized" || want[i] == "updateauthorized" {
				if ev.AuthorizerAppid != authorizerApp || !strings.HasPrefix(ev.AuthorizationCode, "queryauthcode@@@") ||
					!strings.HasPrefix(ev.PreAuthCode, "preauthcode@@@") ||
					ev.AuthorizationCodeExpiredTime != strconv.FormatInt(ev.CreateTime+3600, 10) {
					t.Fatalf("inner %s", ev.inner)
				}
				if !bytes.Contains(ev.inner, []byte("<AuthorizationCodeExpiredTime><![CDATA[")) {
					t.Fatalf("AuthorizationCodeExpiredTime not in CDATA: %s", ev.inner)
				}
			}
			if want[i] == "unauthorized" && (ev.AuthorizerAppid != authorizerApp || ev.AuthorizationCode != "") {
				t.Fatalf("inner %s", ev.inner)
			}
		})
	}
	if evs[1].AuthorizationCode != code {
		t.Fatalf("authorized push code %q, Authorize returned %q", evs[1].AuthorizationCode, code)
	}

	// The appid trailer is the component's: a cipher for any other appid
	// (the authorizer's, say) refuses the push.
	last := e.c.Pushes()[0]
	var env struct {
		Encrypt string `xml:"Encrypt"`
	}
	if err := xml.Unmarshal(last.Body, &env); err != nil {
		t.Fatal(err)
	}
	other, _ := wechat.NewCipher(cfg.EncodingAESKey, authorizerApp)
	if _, err := other.Decrypt(env.Encrypt); !errors.Is(err, wechat.ErrAppID) {
		t.Fatalf("decrypting for another appid: %v, want ErrAppID", err)
	}
	own, _ := wechat.NewCipher(cfg.EncodingAESKey, cfg.AppID)
	if inner, err := own.Decrypt(env.Encrypt); err != nil || !bytes.Equal(inner, last.Message) {
		t.Fatalf("decrypting for the component: %q, %v", inner, err)
	}
}

func TestComponentSignerComponentPushIsReproducible(t *testing.T) {
	s := wechattest.Signer{Token: "AAAAA", AppID: "wx134c8103faa5a59e", EncodingAESKey: wechattest.DefaultComponentEncodingAESKey,
		Rand: strings.NewReader("0123456789abcdef0123456789abcdef")}
	inner := s.ComponentVerifyTicketXML("ticket@@@x", 1413192605)
	wantInner := `<xml><AppId><![CDATA[wx134c8103faa5a59e]]></AppId><CreateTime>1413192605</CreateTime><InfoType><![CDATA[component_verify_ticket]]></InfoType><ComponentVerifyTicket><![CDATA[ticket@@@x]]></ComponentVerifyTicket></xml>`
	if string(inner) != wantInner {
		t.Fatalf("inner\n%s\nwant\n%s", inner, wantInner)
	}
	q1, b1, err := s.ComponentPush(inner, 1413192605, "1590219412")
	if err != nil {
		t.Fatal(err)
	}
	q2, b2, _ := s.ComponentPush(inner, 1413192605, "1590219412")
	if !bytes.Equal(b1, b2) || q1.Encode() != q2.Encode() {
		t.Fatal("the same random prefix gave different pushes")
	}
	if q1.Get("signature") != wechat.Sign("AAAAA", "1413192605", "1590219412") {
		t.Fatalf("signature %s", q1.Get("signature"))
	}
	if !bytes.HasPrefix(b1, []byte("<xml><AppId><![CDATA[wx134c8103faa5a59e]]></AppId><Encrypt><![CDATA[")) {
		t.Fatalf("body %s", b1)
	}
}

func TestComponentTokenNeedsALiveTicket(t *testing.T) {
	const newest, older, none, unknown, old = "newest", "older", "none", "unknown", "old"
	tests := []struct {
		name    string
		ticket  string // which ticket to send
		change  func(body map[string]any)
		method  string
		rawBody string
		want    int
	}{
		{name: "newest ticket", ticket: newest, want: 0},
		{name: "an older ticket within 12 h", ticket: older, want: 0},
		{name: "no ticket pushed yet", ticket: none, want: wechat.CodeTicketInvalid},
		{name: "unknown ticket", ticket: unknown, want: wechat.CodeTicketInvalid},
		{name: "ticket older than 12 h", ticket: old, want: wechat.CodeTicketExpired},
		{name: "missing appid", ticket: newest, change: func(b map[string]any) { delete(b, "component_appid") }, want: wechat.CodeAppIDMissing},
		{name: "wrong appid", ticket: newest, change: func(b map[string]any) { b["component_appid"] = "wx0000000000000000" }, want: wechat.CodeInvalidAppID},
		{name: "missing secret", ticket: newest, change: func(b map[string]any) { delete(b, "component_appsecret") }, want: wechat.CodeAppSecretMissing},
		{name: "wrong secret", ticket: newest, change: func(b map[string]any) { b["component_appsecret"] = "nope" }, want: wechat.CodeInvalidAppSecret},
		{name: "GET", ticket: newest, method: http.MethodGet, want: wechat.CodeRequirePOST},
		{name: "not JSON", ticket: newest, rawBody: "component_appid=x", want: wechat.CodeDataFormat},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newCompEnv(t, wechattest.ComponentConfig{})
			cfg := e.c.Config()
			var ticket string
			switch tt.ticket {
			case newest, older:
				e.c.PushTicket(t.Context())
				first := e.c.NewestTicket()
				e.clock.Advance(10 * time.Minute)
				e.c.PushTicket(t.Context())
				ticket = e.c.NewestTicket()
				if tt.ticket == older {
					ticket = first
				}
			case unknown:
				e.c.PushTicket(t.Context())
				ticket = "ticket@@@" + strings.Repeat("x", 86)
			case old:
				e.c.PushTicket(t.Context())
				ticket = e.c.NewestTicket()
				e.clock.Advance(12 * time.Hour)
			}
			body := map[string]any{"component_appid": cfg.AppID, "component_appsecret": cfg.AppSecret, "component_verify_ticket": ticket}
			if tt.change != nil {
				tt.change(body)
			}
			var send any = body
			if tt.rawBody != "" {
				send = tt.rawBody
			}
			method := cmpOr(tt.method, http.MethodPost)
			a := e.do(t, method, wechattest.PathComponentToken, send)
			if a.ErrCode != tt.want {
				t.Fatalf("errcode %d, want %d: %s", a.ErrCode, tt.want, a.raw)
			}
			if tt.want == 0 && (a.ComponentAccessToken == "" || a.ExpiresIn != 7200 || bytes.Contains(a.raw, []byte("errcode"))) {
				t.Fatalf("answer %s", a.raw)
			}
			if tt.want != 0 && !strings.Contains(a.ErrMsg, " rid: ") {
				t.Fatalf("errmsg %q has no rid", a.ErrMsg)
			}
		})
	}
}

func cmpOr(s, d string) string {
	if s == "" {
		return d
	}
	return s
}

func TestComponentTokenDailyQuota(t *testing.T) {
	e := newCompEnv(t, wechattest.ComponentConfig{Limits: wechattest.ComponentLimits{ComponentTokenPerDay: 2}})
	e.componentToken(t)
	e.componentToken(t)
	cfg := e.c.Config()
	body := map[string]any{"component_appid": cfg.AppID, "component_appsecret": cfg.AppSecret, "component_verify_ticket": e.c.NewestTicket()}
	if a := e.do(t, http.MethodPost, wechattest.PathComponentToken, body); a.ErrCode != wechat.CodeDailyQuota {
		t.Fatalf("third call: %s", a.raw)
	}
	e.clock.Advance(24 * time.Hour)
	e.c.PushTicket(t.Context())
	body["component_verify_ticket"] = e.c.NewestTicket()
	if a := e.do(t, http.MethodPost, wechattest.PathComponentToken, body); a.ErrCode != 0 {
		t.Fatalf("next day: %s", a.raw)
	}
}

func TestComponentAPIAcceptsBothTokenParameterNames(t *testing.T) {
	e := newCompEnv(t, wechattest.ComponentConfig{})
	tok := e.componentToken(t)
	body := `{"component_appid":"` + e.c.Config().AppID + `"}`
	tests := []struct {
		name  string
		query string
		want  int
	}{
		{"component_access_token", "?component_access_token=" + url.QueryEscape(tok), 0},
		{"access_token", "?access_token=" + url.QueryEscape(tok), 0},
		{"both, component_access_token first", "?component_access_token=" + url.QueryEscape(tok) + "&access_token=bad", 0},
		{"neither", "", wechat.CodeAccessTokenMissing},
		{"unknown token", "?access_token=88_nope", wechat.CodeInvalidAccessToken},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := e.do(t, http.MethodPost, wechattest.PathCreatePreAuthCode+tt.query, body)
			if a.ErrCode != tt.want {
				t.Fatalf("errcode %d, want %d: %s", a.ErrCode, tt.want, a.raw)
			}
			if tt.want == 0 && (!strings.HasPrefix(a.PreAuthCode, "preauthcode@@@") || a.ExpiresIn != 600) {
				t.Fatalf("answer %s", a.raw)
			}
		})
	}
	// Both names work on every token-bearing path (an answer other than a
	// token error proves it).
	for _, path := range []string{wechattest.PathQueryAuth, wechattest.PathAuthorizerToken, wechattest.PathAuthorizerInfo, wechattest.PathAuthorizerList} {
		for _, name := range []string{"component_access_token", "access_token"} {
			a := e.do(t, http.MethodPost, path+"?"+name+"="+url.QueryEscape(tok), body)
			if a.ErrCode == wechat.CodeAccessTokenMissing || a.ErrCode == wechat.CodeInvalidAccessToken {
				t.Errorf("%s with %s: %s", path, name, a.raw)
			}
		}
	}
}

func TestComponentTokenLifetimes(t *testing.T) {
	e := newCompEnv(t, wechattest.ComponentConfig{})
	first := e.componentToken(t)
	second := e.componentToken(t)
	pre := func(tok string) int { return e.post(t, wechattest.PathCreatePreAuthCode, tok, nil).ErrCode }
	if pre(first) != 0 || pre(second) != 0 {
		t.Fatal("the previous token stops before its five minutes")
	}
	e.clock.Advance(5 * time.Minute)
	if got := pre(first); got != wechat.CodeInvalidCredential {
		t.Fatalf("superseded token after 5 min: %d, want 40001", got)
	}
	e.clock.Advance(7200*time.Second - 5*time.Minute)
	if got := pre(second); got != wechat.CodeAccessTokenExpired {
		t.Fatalf("token after 7200 s: %d, want 42001", got)
	}
	if a := e.post(t, wechattest.PathCreatePreAuthCode, e.componentToken(t), map[string]any{"component_appid": "wx0000000000000000"}); a.ErrCode != wechat.CodeInvalidComponent {
		t.Fatalf("another component_appid: %s", a.raw)
	}
}

func TestComponentAuthorizationFromPreAuthCodeToAuthorizerToken(t *testing.T) {
	e := newCompEnv(t, wechattest.ComponentConfig{})
	cfg := e.c.Config()
	ctok := e.componentToken(t)

	pre := e.post(t, wechattest.PathCreatePreAuthCode, ctok, nil).PreAuthCode
	page := wechattest.ComponentLoginPageURL(cfg.AppID, pre, "https://stack.example/authorized?account=a1", wechattest.AuthTypeOfficialAccount, "")
	if !strings.HasPrefix(page, "https://mp.weixin.qq.com/cgi-bin/componentloginpage?component_appid="+cfg.AppID+"&pre_auth_code=") ||
		!strings.Contains(page, "&redirect_uri=https%3A%2F%2Fstack.example%2Fauthorized%3Faccount%3Da1&auth_type=1") {
		t.Fatalf("page %s", page)
	}
	redirect, _, err := e.c.VisitAuthPage(t.Context(), page, authorizerApp, nil)
	if err != nil {
		t.Fatal(err)
	}
	back, _ := url.Parse(redirect)
	code := back.Query().Get("auth_code")
	if back.Host != "stack.example" || back.Path != "/authorized" || back.Query().Get("account") != "a1" ||
		back.Query().Get("expires_in") != "600" || !strings.HasPrefix(code, "queryauthcode@@@") {
		t.Fatalf("redirect %s", redirect)
	}
	ev := e.events.last()
	if ev.InfoType != "authorized" || ev.AuthorizationCode != code || ev.PreAuthCode != pre || ev.AuthorizerAppid != authorizerApp {
		t.Fatalf("push %s", ev.inner)
	}

	// The pre-auth code is single-use.
	if _, _, err := e.c.VisitAuthPage(t.Context(), page, "wx2222222222222222", nil); !errors.Is(err, wechattest.ErrPreAuthCode) {
		t.Fatalf("reusing the pre_auth_code: %v", err)
	}

	qa := e.post(t, wechattest.PathQueryAuth, ctok, map[string]any{"authorization_code": code})
	info := qa.AuthorizationInfo
	if qa.ErrCode != 0 || info.AuthorizerAppID != authorizerApp || info.ExpiresIn != 7200 ||
		!strings.HasPrefix(info.AuthorizerRefreshToken, "refreshtoken@@@") || !slices.Equal(qa.sets(), []int{1, 2, 3}) {
		t.Fatalf("api_query_auth: %s", qa.raw)
	}
	// The token works on the account's APIs at the same address, and the
	// call lands on the authorizer's own Platform.
	if a := e.qrcode(t, info.AuthorizerAccessToken); a.ErrCode != 0 {
		t.Fatalf("qrcode/create with the authorizer token: %s", a.raw)
	}
	if log := e.c.Network().CallLog(wechattest.PathQRCodeCreate); len(log) != 1 || log[0].AppID != authorizerApp {
		t.Fatalf("network log %+v", log)
	}
	if got := e.c.Authorizer(authorizerApp).Calls(wechattest.PathQRCodeCreate); got != 1 {
		t.Fatalf("authorizer's calls %d", got)
	}

	// api_authorizer_token: a new access token, the same refresh token (§13.3).
	r := e.refresh(t, ctok, authorizerApp, info.AuthorizerRefreshToken)
	if r.ErrCode != 0 || r.AuthorizerAccessToken == "" || r.AuthorizerAccessToken == info.AuthorizerAccessToken ||
		r.AuthorizerRefreshToken != info.AuthorizerRefreshToken || r.ExpiresIn != 7200 {
		t.Fatalf("api_authorizer_token: %s", r.raw)
	}
	if a := e.qrcode(t, info.AuthorizerAccessToken); a.ErrCode != 0 {
		t.Fatalf("the previous authorizer token within 5 min: %s", a.raw)
	}
	e.clock.Advance(5 * time.Minute)
	if a := e.qrcode(t, info.AuthorizerAccessToken); a.ErrCode != wechat.CodeInvalidCredential {
		t.Fatalf("the previous authorizer token after 5 min: %s", a.raw)
	}
	if a := e.qrcode(t, r.AuthorizerAccessToken); a.ErrCode != 0 {
		t.Fatalf("the new authorizer token: %s", a.raw)
	}
}

func TestComponentCodeLifetimes(t *testing.T) {
	tests := []struct {
		name    string
		advance time.Duration
		code    string // "" for the real one
		want    int
	}{
		{"code within its hour, twice", 59 * time.Minute, "", 0},
		{"code after 3600 s", time.Hour, "", wechat.CodeAuthCodeExpired},
		{"unknown code", 0, "queryauthcode@@@nope", wechat.CodeAuthCodeInvalid},
		{"no code", 0, "-", wechat.CodeAuthCodeInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newCompEnv(t, wechattest.ComponentConfig{})
			ctok := e.componentToken(t)
			code := e.c.Authorize(authorizerApp, nil)
			if tt.want == 0 { // usable more than once
				if a := e.post(t, wechattest.PathQueryAuth, ctok, map[string]any{"authorization_code": code}); a.ErrCode != 0 {
					t.Fatal(string(a.raw))
				}
			}
			switch tt.code {
			case "":
			case "-":
				code = ""
			default:
				code = tt.code
			}
			e.clock.Advance(tt.advance)
			ctok = e.componentToken(t)
			if a := e.post(t, wechattest.PathQueryAuth, ctok, map[string]any{"authorization_code": code}); a.ErrCode != tt.want {
				t.Fatalf("errcode %d, want %d: %s", a.ErrCode, tt.want, a.raw)
			}
		})
	}
	t.Run("pre_auth_code after 600 s", func(t *testing.T) {
		e := newCompEnv(t, wechattest.ComponentConfig{})
		pre := e.post(t, wechattest.PathCreatePreAuthCode, e.componentToken(t), nil).PreAuthCode
		e.clock.Advance(600 * time.Second)
		page := wechattest.ComponentLoginPageURL(e.c.Config().AppID, pre, "https://stack.example/back", 0, "")
		if _, _, err := e.c.VisitAuthPage(t.Context(), page, authorizerApp, nil); !errors.Is(err, wechattest.ErrPreAuthCode) {
			t.Fatalf("expired pre_auth_code: %v", err)
		}
	})
}

func TestComponentAuthPageChecks(t *testing.T) {
	const back = "https://stack.example/back"
	tests := []struct {
		name  string
		page  func(appID, pre string) string
		want  error
		grant []int
	}{
		{"PC page", func(a, p string) string { return wechattest.ComponentLoginPageURL(a, p, back, 3, "") }, nil, []int{1, 2, 3}},
		{"mobile link", func(a, p string) string { return wechattest.BindComponentURL(a, p, back, 1, authorizerApp) }, nil, []int{1, 2, 3}},
		{"legacy mobile host", func(a, p string) string {
			return strings.Replace(wechattest.BindComponentURL(a, p, back, 0, ""), wechattest.BindComponentPage, wechattest.LegacyBindComponentPage, 1)
		}, nil, []int{1, 2, 3}},
		{"category_id_list limits the sets", func(a, p string) string {
			return wechattest.ComponentLoginPageURL(a, p, back, 1, "") + "&category_id_list=1|3"
		}, nil, []int{1, 3}},
		{"mobile link without #wechat_redirect", func(a, p string) string {
			return strings.TrimSuffix(wechattest.BindComponentURL(a, p, back, 1, ""), "#wechat_redirect")
		}, wechattest.ErrAuthPage, nil},
		{"another host", func(a, p string) string {
			return strings.Replace(wechattest.ComponentLoginPageURL(a, p, back, 1, ""), "mp.weixin.qq.com", "example.com", 1)
		}, wechattest.ErrAuthPage, nil},
		{"another component", func(a, p string) string {
			return wechattest.ComponentLoginPageURL("wx0000000000000000", p, back, 1, "")
		}, wechattest.ErrAuthPage, nil},
		{"mini programs only", func(a, p string) string { return wechattest.ComponentLoginPageURL(a, p, back, 2, "") }, wechattest.ErrAuthPage, nil},
		{"pinned to another account", func(a, p string) string { return wechattest.ComponentLoginPageURL(a, p, back, 1, "wx2222222222222222") }, wechattest.ErrAuthPage, nil},
		{"no redirect_uri", func(a, p string) string { return wechattest.ComponentLoginPageURL(a, p, "", 1, "") }, wechattest.ErrAuthPage, nil},
		{"unknown pre_auth_code", func(a, p string) string {
			return wechattest.ComponentLoginPageURL(a, "preauthcode@@@nope", back, 1, "")
		}, wechattest.ErrPreAuthCode, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newCompEnv(t, wechattest.ComponentConfig{})
			pre := e.post(t, wechattest.PathCreatePreAuthCode, e.componentToken(t), nil).PreAuthCode
			_, _, err := e.c.VisitAuthPage(t.Context(), tt.page(e.c.Config().AppID, pre), authorizerApp, nil)
			if !errors.Is(err, tt.want) {
				t.Fatalf("err %v, want %v", err, tt.want)
			}
			grants, ok := e.c.Grants(authorizerApp)
			if ok != (tt.want == nil) || !slices.Equal(grants, tt.grant) {
				t.Fatalf("grants %v, %v; want %v", grants, ok, tt.grant)
			}
		})
	}
}

func TestComponentRefreshTokenRotatesAndTheOldOneIsRefused(t *testing.T) {
	tests := []struct {
		name   string
		rotate bool
	}{
		{"re-authorization replaces it", false},
		{"RotateRefreshTokens: every refresh replaces it", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newCompEnv(t, wechattest.ComponentConfig{RotateRefreshTokens: tt.rotate})
			ctok := e.componentToken(t)
			_, rt1 := e.authorize(t, ctok, authorizerApp, nil)
			var rt2 string
			if tt.rotate {
				r := e.refresh(t, ctok, authorizerApp, rt1)
				rt2 = r.AuthorizerRefreshToken
			} else {
				_, rt2 = e.authorize(t, ctok, authorizerApp, nil)
			}
			if rt2 == "" || rt2 == rt1 {
				t.Fatalf("refresh token not replaced: %q → %q", rt1, rt2)
			}
			// The old one overlaps for about 5 minutes, handing out the new one.
			e.clock.Advance(4 * time.Minute)
			if r := e.refresh(t, ctok, authorizerApp, rt1); r.ErrCode != 0 || (!tt.rotate && r.AuthorizerRefreshToken != rt2) {
				t.Fatalf("old refresh token within the overlap: %s", r.raw)
			}
			e.clock.Advance(time.Minute)
			if r := e.refresh(t, ctok, authorizerApp, rt1); r.ErrCode != wechat.CodeRefreshTokenInvalid {
				t.Fatalf("old refresh token after the overlap: %s", r.raw)
			}
			if r := e.refresh(t, ctok, authorizerApp, "refreshtoken@@@made-up"); r.ErrCode != wechat.CodeRefreshTokenInvalid {
				t.Fatalf("made-up refresh token: %s", r.raw)
			}
			cur := e.post(t, wechattest.PathAuthorizerInfo, ctok, map[string]any{"authorizer_appid": authorizerApp}).AuthorizationInfo.AuthorizerRefreshToken
			if r := e.refresh(t, ctok, authorizerApp, cur); r.ErrCode != 0 {
				t.Fatalf("current refresh token: %s", r.raw)
			}
		})
	}
}

func TestComponentAuthorizerInfoAndList(t *testing.T) {
	e := newCompEnv(t, wechattest.ComponentConfig{})
	ctok := e.componentToken(t)
	apps := []string{"wx1111111111111111", "wx2222222222222222", "wx3333333333333333"}
	info := wechattest.DefaultAuthorizerInfo(apps[0])
	info.NickName, info.ServiceType, info.VerifyType = "扫码海报", 0, -1
	e.c.SetAuthorizerInfo(apps[0], info)
	refresh := map[string]string{}
	for i, app := range apps {
		e.clock.Advance(time.Minute)
		if i == 2 {
			e.c.Authorize(app, []int{3}) // not queried yet
			continue
		}
		_, refresh[app] = e.authorize(t, ctok, app, []int{1, 3})
	}

	a := e.post(t, wechattest.PathAuthorizerInfo, ctok, map[string]any{"authorizer_appid": apps[0]})
	if a.ErrCode != 0 || a.AuthorizerInfo.NickName != "扫码海报" || a.AuthorizerInfo.ServiceTypeInfo.ID != 0 ||
		a.AuthorizerInfo.VerifyTypeInfo.ID != -1 || a.AuthorizerInfo.AccountStatus != 1 ||
		a.AuthorizationInfo.AuthorizerAppID != apps[0] || a.AuthorizationInfo.AuthorizerRefreshToken != refresh[apps[0]] ||
		!slices.Equal(a.sets(), []int{1, 3}) {
		t.Fatalf("info: %s", a.raw)
	}
	for _, key := range []string{`"head_img"`, `"user_name":"gh_`, `"principal_name"`, `"alias"`, `"qrcode_url"`, `"business_info":{"open_store":0,"open_scan":0,"open_pay":0,"open_card":0,"open_shake":0}`} {
		if !bytes.Contains(a.raw, []byte(key)) {
			t.Errorf("info lacks %s: %s", key, a.raw)
		}
	}
	if a := e.post(t, wechattest.PathAuthorizerInfo, ctok, map[string]any{"authorizer_appid": apps[2]}); a.AuthorizationInfo.AuthorizerRefreshToken != "" ||
		a.AuthorizerInfo.UserName != e.c.Authorizer(apps[2]).Config().OriginalID {
		t.Fatalf("info before api_query_auth: %s", a.raw)
	}

	tests := []struct {
		name   string
		offset any
		count  any
		want   []string
		code   int
	}{
		{"all", 0, 500, apps, 0},
		{"a page", 0, 2, apps[:2], 0},
		{"the next page", 2, 2, apps[2:], 0},
		{"past the end", 5, 2, nil, 0},
		{"no offset", nil, 1, apps[:1], 0},
		{"count 0", 0, 0, nil, wechat.CodeInvalidArgs},
		{"count 501", 0, 501, nil, wechat.CodeInvalidArgs},
		{"no count", 0, nil, nil, wechat.CodeInvalidArgs},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := map[string]any{}
			if tt.offset != nil {
				body["offset"] = tt.offset
			}
			if tt.count != nil {
				body["count"] = tt.count
			}
			a := e.post(t, wechattest.PathAuthorizerList, ctok, body)
			if a.ErrCode != tt.code {
				t.Fatalf("errcode %d, want %d: %s", a.ErrCode, tt.code, a.raw)
			}
			if tt.code != 0 {
				return
			}
			var got []string
			for _, it := range a.List {
				got = append(got, it.AuthorizerAppID)
				if it.RefreshToken != refresh[it.AuthorizerAppID] {
					t.Errorf("%s refresh_token %q, want %q", it.AuthorizerAppID, it.RefreshToken, refresh[it.AuthorizerAppID])
				}
				if it.AuthTime <= epoch.Unix() {
					t.Errorf("%s auth_time %d", it.AuthorizerAppID, it.AuthTime)
				}
			}
			if a.TotalCount != 3 || !slices.Equal(got, tt.want) || !bytes.Contains(a.raw, []byte(`"list":[`)) {
				t.Fatalf("list %s", a.raw)
			}
		})
	}
}

func TestComponentUnauthorizeInvalidatesTheAuthorization(t *testing.T) {
	e := newCompEnv(t, wechattest.ComponentConfig{})
	ctok := e.componentToken(t)
	code := e.c.Authorize(authorizerApp, nil)
	qa := e.post(t, wechattest.PathQueryAuth, ctok, map[string]any{"authorization_code": code}).AuthorizationInfo
	if err := e.c.Unauthorize(authorizerApp); err != nil {
		t.Fatal(err)
	}
	if ev := e.events.last(); ev.InfoType != "unauthorized" || ev.AuthorizerAppid != authorizerApp {
		t.Fatalf("push %s", ev.inner)
	}
	checks := []struct {
		name string
		got  func() compAnswer
		want int
	}{
		{"the access token", func() compAnswer { return e.qrcode(t, qa.AuthorizerAccessToken) }, wechat.CodeInvalidCredential},
		{"the refresh token", func() compAnswer { return e.refresh(t, ctok, authorizerApp, qa.AuthorizerRefreshToken) }, wechat.CodeComponentNotAuthorized},
		{"the info", func() compAnswer {
			return e.post(t, wechattest.PathAuthorizerInfo, ctok, map[string]any{"authorizer_appid": authorizerApp})
		}, wechat.CodeComponentNotAuthorized},
		{"the code", func() compAnswer {
			return e.post(t, wechattest.PathQueryAuth, ctok, map[string]any{"authorization_code": code})
		}, wechat.CodeComponentNotAuthorized},
	}
	for _, c := range checks {
		if a := c.got(); a.ErrCode != c.want {
			t.Errorf("%s after unauthorized: %s, want %d", c.name, a.raw, c.want)
		}
	}
	if a := e.post(t, wechattest.PathAuthorizerList, ctok, map[string]any{"offset": 0, "count": 10}); a.TotalCount != 0 || len(a.List) != 0 {
		t.Errorf("list after unauthorized: %s", a.raw)
	}
	if err := e.c.Unauthorize(authorizerApp); !errors.Is(err, wechattest.ErrNotAuthorized) {
		t.Errorf("second Unauthorize: %v", err)
	}
	// Authorizing again starts afresh: the revoked refresh token gets no overlap.
	_, rt := e.authorize(t, ctok, authorizerApp, nil)
	if a := e.refresh(t, ctok, authorizerApp, qa.AuthorizerRefreshToken); a.ErrCode != wechat.CodeRefreshTokenInvalid {
		t.Errorf("revoked refresh token after re-authorization: %s", a.raw)
	}
	if a := e.refresh(t, ctok, authorizerApp, rt); a.ErrCode != 0 {
		t.Errorf("new refresh token: %s", a.raw)
	}
}

func TestComponentUpdateAuthorizedOnlyWhenTheSetsChange(t *testing.T) {
	tests := []struct {
		name          string
		first, second []int
		want          string
		grants        []int
	}{
		{"more sets", []int{1, 2}, []int{1, 2, 3}, "updateauthorized", []int{1, 2, 3}},
		{"fewer sets", []int{1, 2, 3}, []int{3}, "updateauthorized", []int{3}},
		{"the same sets", []int{3, 1}, []int{1, 3}, "authorized", []int{1, 3}},
		{"sets the platform does not ask for are not granted", []int{1}, []int{1, 6, 19}, "authorized", []int{1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newCompEnv(t, wechattest.ComponentConfig{})
			ctok := e.componentToken(t)
			access, _ := e.authorize(t, ctok, authorizerApp, tt.first)
			e.c.Authorize(authorizerApp, tt.second)
			if ev := e.events.last(); ev.InfoType != tt.want {
				t.Fatalf("push %q, want %q", ev.InfoType, tt.want)
			}
			if g, _ := e.c.Grants(authorizerApp); !slices.Equal(g, tt.grants) {
				t.Fatalf("grants %v, want %v", g, tt.grants)
			}
			// The existing token follows the new sets at once.
			want := 0
			if !slices.Contains(tt.grants, 3) {
				want = wechat.CodeAPIUnauthorized
			}
			if a := e.qrcode(t, access); a.ErrCode != want {
				t.Fatalf("qrcode/create: %s, want %d", a.raw, want)
			}
		})
	}
}

func TestComponentMissingPermissionSetAnswers61007(t *testing.T) {
	const openid = "oKqdL5Vn7Ek3wOq2fG8mZ1xYc9aQ"
	tests := []struct {
		name   string
		grants []int
		method string
		path   string
		body   string
		want   int
	}{
		{"qrcode/create without 3", []int{1, 2}, "POST", wechattest.PathQRCodeCreate, `{"expire_seconds":60,"action_name":"QR_SCENE","action_info":{"scene":{"scene_id":1}}}`, wechat.CodeAPIUnauthorized},
		{"qrcode/create with 3", []int{3}, "POST", wechattest.PathQRCodeCreate, `{"expire_seconds":60,"action_name":"QR_SCENE","action_info":{"scene":{"scene_id":1}}}`, 0},
		{"tags/create without 2", []int{1, 3}, "POST", wechattest.PathTagsCreate, `{"tag":{"name":"t"}}`, wechat.CodeAPIUnauthorized},
		{"tags/create with 2", []int{2}, "POST", wechattest.PathTagsCreate, `{"tag":{"name":"t"}}`, 0},
		{"tags/create with 100", []int{100}, "POST", wechattest.PathTagsCreate, `{"tag":{"name":"t"}}`, 0},
		{"tags/get without 2", []int{1}, "GET", wechattest.PathTagsGet, "", wechat.CodeAPIUnauthorized},
		{"batchtagging without 2", []int{3}, "POST", wechattest.PathBatchTagging, `{"openid_list":["` + openid + `"],"tagid":2}`, wechat.CodeAPIUnauthorized},
		{"batchtagging with 2", []int{2}, "POST", wechattest.PathBatchTagging, `{"openid_list":["` + openid + `"],"tagid":2}`, 0},
		{"custom/send without 1", []int{2, 3}, "POST", wechattest.PathCustomSend, `{"touser":"` + openid + `","msgtype":"text","text":{"content":"hi"}}`, wechat.CodeAPIUnauthorized},
		{"custom/send with 1", []int{1}, "POST", wechattest.PathCustomSend, `{"touser":"` + openid + `","msgtype":"text","text":{"content":"hi"}}`, 0},
		{"custom/send with 6", []int{6}, "POST", wechattest.PathCustomSend, `{"touser":"` + openid + `","msgtype":"text","text":{"content":"hi"}}`, 0},
		{"the method is checked first", []int{1}, "GET", wechattest.PathQRCodeCreate, "", wechat.CodeRequirePOST},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newCompEnv(t, wechattest.ComponentConfig{FuncInfo: []int{1, 2, 3, 6, 100}})
			ctok := e.componentToken(t)
			access, _ := e.authorize(t, ctok, authorizerApp, tt.grants)
			p := e.c.Authorizer(authorizerApp)
			p.Follow(openid)
			a := e.do(t, tt.method, tt.path+"?access_token="+url.QueryEscape(access), tt.body)
			if a.ErrCode != tt.want {
				t.Fatalf("errcode %d, want %d: %s", a.ErrCode, tt.want, a.raw)
			}
			if tt.want == wechat.CodeAPIUnauthorized && a.ErrMsg[:len("api is unauthorized to component")] != "api is unauthorized to component" {
				t.Fatalf("errmsg %q", a.ErrMsg)
			}
			// The account's own token (its AppSecret) is not the component's to limit.
			own := e.do(t, http.MethodGet, wechattest.PathToken+"?grant_type=client_credential&appid="+authorizerApp+"&secret="+p.Config().AppSecret, nil)
			if b := e.do(t, tt.method, tt.path+"?access_token="+url.QueryEscape(tokenOf(own)), tt.body); b.ErrCode == wechat.CodeAPIUnauthorized {
				t.Fatalf("the account's own token got 61007: %s", b.raw)
			}
		})
	}
}

// tokenOf reads access_token from a /cgi-bin/token answer.
func tokenOf(a compAnswer) string {
	var v struct {
		AccessToken string `json:"access_token"`
	}
	json.Unmarshal(a.raw, &v)
	return v.AccessToken
}

func TestStartPushTicket(t *testing.T) {
	e := newCompEnv(t, wechattest.ComponentConfig{Limits: wechattest.ComponentLimits{StartPushTicketPerDay: 3}})
	cfg := e.c.Config()
	start := func(body map[string]any) compAnswer {
		if body == nil {
			body = map[string]any{"component_appid": cfg.AppID, "component_secret": cfg.AppSecret}
		}
		return e.do(t, http.MethodPost, wechattest.PathStartPushTicket, body)
	}
	// Running: "in a normal state", nothing pushed.
	if a := start(nil); a.ErrCode != 0 || a.ErrMsg != "in a normal state" {
		t.Fatalf("normal state: %s", a.raw)
	}
	e.c.WaitPushes()
	if n := len(e.events.received()); n != 0 {
		t.Fatalf("%d pushes in the normal state", n)
	}
	// Three ticket pushes not answered "success" stop the service.
	e.events.answer(http.StatusOK, "ok")
	for range 3 {
		if _, pushed, _ := e.c.Tick(t.Context()); !pushed {
			t.Fatal("no push due")
		}
		e.clock.Advance(10 * time.Minute)
	}
	if e.c.TicketPushing() {
		t.Fatal("still pushing after three failures")
	}
	if _, pushed, _ := e.c.Tick(t.Context()); pushed {
		t.Fatal("pushed while stopped")
	}
	e.events.answer(0, "")
	if a := start(nil); a.ErrCode != 0 || a.ErrMsg != "ok" {
		t.Fatalf("restart: %s", a.raw)
	}
	e.c.WaitPushes()
	if ev := e.events.last(); ev.InfoType != "component_verify_ticket" || ev.ComponentVerifyTicket != e.c.NewestTicket() || len(e.events.received()) != 4 {
		t.Fatalf("after restart: %s", ev.inner)
	}
	if !e.c.TicketPushing() || !e.c.NextTicketAt().Equal(e.clock.Now().Add(10*time.Minute)) {
		t.Fatalf("pushing %v, next at %v", e.c.TicketPushing(), e.c.NextTicketAt())
	}

	// The daily limit: the fourth call of the day answers 45009.
	tests := []struct {
		name    string
		body    map[string]any
		advance time.Duration
		want    int
	}{
		{"third call", nil, 0, 0},
		{"fourth call", nil, 0, wechat.CodeDailyQuota},
		{"wrong secret", map[string]any{"component_appid": cfg.AppID, "component_secret": "x"}, 0, wechat.CodeInvalidAppSecret},
		{"wrong appid", map[string]any{"component_appid": "wx0000000000000000", "component_secret": cfg.AppSecret}, 0, wechat.CodeInvalidAppID},
		{"the next day", nil, 24 * time.Hour, 0},
	}
	for _, tt := range tests {
		e.clock.Advance(tt.advance)
		if a := start(tt.body); a.ErrCode != tt.want {
			t.Fatalf("%s: %s, want %d", tt.name, a.raw, tt.want)
		}
	}
}

func TestCgiBinTokenWithTheComponentAppIDAnswers61024(t *testing.T) {
	e := newCompEnv(t, wechattest.ComponentConfig{})
	cfg := e.c.Config()
	if a := e.do(t, http.MethodGet, wechattest.PathToken+"?grant_type=client_credential&appid="+cfg.AppID+"&secret="+cfg.AppSecret, nil); a.ErrCode != wechat.CodeUseComponentToken {
		t.Fatalf("/cgi-bin/token: %s", a.raw)
	}
	if a := e.do(t, http.MethodPost, wechattest.PathStableToken, `{"grant_type":"client_credential","appid":"`+cfg.AppID+`","secret":"`+cfg.AppSecret+`"}`); a.ErrCode != wechat.CodeUseComponentToken {
		t.Fatalf("stable_token: %s", a.raw)
	}
	if a := e.do(t, http.MethodGet, wechattest.PathToken+"?grant_type=client_credential&appid=wx0000000000000000&secret=x", nil); a.ErrCode != wechat.CodeInvalidAppID {
		t.Fatalf("another appid: %s", a.raw)
	}
}

func TestComponentFaultsAndCallLogs(t *testing.T) {
	e := newCompEnv(t, wechattest.ComponentConfig{})
	e.c.FailNext(wechattest.PathComponentToken, 1, wechattest.ErrCodeFault(wechat.CodeTicketExpired))
	e.c.FailNext(wechattest.PathComponentToken, 1, wechattest.StatusFault(http.StatusBadGateway))
	e.c.PushTicket(t.Context())
	cfg := e.c.Config()
	body := map[string]any{"component_appid": cfg.AppID, "component_appsecret": cfg.AppSecret, "component_verify_ticket": e.c.NewestTicket()}
	if a := e.do(t, http.MethodPost, wechattest.PathComponentToken, body); a.ErrCode != wechat.CodeTicketExpired || !strings.HasPrefix(a.ErrMsg, "component ticket is expired rid: ") {
		t.Fatalf("fault: %s", a.raw)
	}
	resp, err := http.Post(e.c.URL()+wechattest.PathComponentToken, "application/json", strings.NewReader("{}"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadGateway {
		t.Fatalf("status fault: HTTP %d", resp.StatusCode)
	}
	if a := e.do(t, http.MethodPost, wechattest.PathComponentToken, body); a.ErrCode != 0 {
		t.Fatalf("after the faults: %s", a.raw)
	}
	log := e.c.CallLog(wechattest.PathComponentToken)
	if len(log) != 3 || !log[0].Fault || !log[1].Fault || log[2].Fault ||
		log[0].ErrCode != wechat.CodeTicketExpired || log[1].Status != http.StatusBadGateway || log[2].Status != http.StatusOK ||
		!log[2].At.Equal(epoch) || !bytes.Contains(log[2].Body, []byte(cfg.AppSecret)) {
		t.Fatalf("call log %+v", log)
	}
	if nl := e.c.Network().CallLog(wechattest.PathComponentToken); len(nl) != 3 || nl[2].AppID != cfg.AppID || nl[2].Status != http.StatusOK {
		t.Fatalf("network log %+v", nl)
	}
	e.c.Reset()
	if e.c.Calls(wechattest.PathComponentToken) != 0 {
		t.Fatal("Reset kept the calls")
	}
	// A hang fault holds the call until the client gives up.
	e.c.FailNext(wechattest.PathCreatePreAuthCode, 1, wechattest.HangFault(20*time.Millisecond))
	start := time.Now()
	if a := e.post(t, wechattest.PathCreatePreAuthCode, e.componentToken(t), nil); a.ErrCode != 0 || time.Since(start) < 20*time.Millisecond {
		t.Fatalf("slow answer: %s after %v", a.raw, time.Since(start))
	}
}

func TestComponentMountedOnANetworkBesideItsAccounts(t *testing.T) {
	clock := wechattest.NewClock(epoch)
	const own = "wx5555555555555555"
	n := wechattest.NewNetwork(wechattest.PlatformConfig{AppID: own, Now: clock.Now})
	t.Cleanup(n.Close)
	c, err := n.AddComponent(wechattest.ComponentConfig{Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	other, err := n.AddComponent(wechattest.ComponentConfig{AppID: "wx6666666666666666", AppSecret: "s2", Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := n.AddComponent(wechattest.ComponentConfig{}); !errors.Is(err, wechattest.ErrDuplicateAppID) {
		t.Fatalf("duplicate component: %v", err)
	}
	n.Start()
	e := &compEnv{c: c, clock: clock, events: newAuthEvents(t, c.Config().Token, c.Config().EncodingAESKey, c.Config().AppID)}
	c.SetAuthEventsURL(e.events.URL())
	other.SetAuthEventsURL(e.events.URL())

	// Each component gets its own calls, by component_appid.
	ctok := e.componentToken(t)
	other.PushTicket(t.Context())
	a := e.do(t, http.MethodPost, wechattest.PathComponentToken, map[string]any{
		"component_appid": "wx6666666666666666", "component_appsecret": "s2", "component_verify_ticket": other.NewestTicket(),
	})
	if a.ErrCode != 0 || other.Calls(wechattest.PathComponentToken) != 1 || c.Calls(wechattest.PathComponentToken) != 1 {
		t.Fatalf("second component: %s", a.raw)
	}
	// The account already on the Network authorizes: the same Platform.
	access, _ := e.authorize(t, ctok, own, nil)
	if c.Authorizer(own) != n.Platform(own) {
		t.Fatal("Authorize made a second Platform for an account on the Network")
	}
	if a := e.qrcode(t, access); a.ErrCode != 0 {
		t.Fatalf("qrcode/create: %s", a.raw)
	}
	// Its own classic token still works, unrestricted.
	tok := e.do(t, http.MethodGet, wechattest.PathToken+"?grant_type=client_credential&appid="+own+"&secret="+wechattest.DefaultAppSecret, nil)
	if a := e.qrcode(t, tokenOf(tok)); a.ErrCode != 0 {
		t.Fatalf("own token: %s", a.raw)
	}
	// From now on its pushes are sealed with the component's keys (§13.2).
	if s := n.Platform(own).Signer(); s.Token != c.Config().Token || s.AppID != c.Config().AppID || s.EncodingAESKey != c.Config().EncodingAESKey {
		t.Fatalf("signer %+v", s)
	}
}

func TestComponentReleaseTest(t *testing.T) {
	test := wechattest.ReleaseTestAccounts[0]
	tests := []struct {
		name     string
		funcInfo []int
		appID    string
		wantErr  error
	}{
		{"an Official Account with set 1", nil, test.AppID, nil},
		{"not a test account", nil, authorizerApp, wechattest.ErrNotReleaseTestAccount},
		{"a mini program", nil, wechattest.ReleaseTestAccounts[5].AppID, wechattest.ErrNotReleaseTestAccount},
		{"without set 1", []int{2, 3}, test.AppID, wechattest.ErrNoMessageSet},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newCompEnv(t, wechattest.ComponentConfig{FuncInfo: tt.funcInfo})
			ctok := e.componentToken(t)
			stack := newReleaseStack(t, e, ctok)
			e.c.SetMessageURL(stack.srv.URL + "/wechat/$APPID$/callback")

			push, err := e.c.SendReleaseTestText(t.Context(), tt.appID)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("step 2: %v, want %v", err, tt.wantErr)
			}
			if tt.wantErr != nil {
				return
			}
			if stack.lastPath != "/wechat/"+test.AppID+"/callback" || stack.lastTo != test.UserName {
				t.Fatalf("pushed to %s, ToUserName %s", stack.lastPath, stack.lastTo)
			}
			if r, _ := wechat.ParseMessage(push.Reply()); r.Content != wechat.ReleaseTestTextReply {
				t.Fatalf("step 2 reply %q", push.Reply())
			}

			code, push, err := e.c.SendReleaseTestQueryAuthCode(t.Context(), test.AppID)
			if err != nil {
				t.Fatal(err)
			}
			if ev := e.events.last(); ev.InfoType != "authorized" || ev.AuthorizationCode != code || ev.AuthorizerAppid != test.AppID {
				t.Fatalf("auto-authorization push %s", ev.inner)
			}
			if reply := push.Reply(); len(reply) != 0 && string(reply) != "success" {
				t.Fatalf("step 3 reply %q", reply)
			}
			stack.finish(t) // what the stack does after answering
			msgs := e.c.ReleaseTestMessages(test.AppID)
			if len(msgs) != 1 || msgs[0].MsgType != "text" || msgs[0].Content != code+wechat.ReleaseTestAPISuffix {
				t.Fatalf("messages %v", msgs)
			}
		})
	}
}

// releaseStack is a platform's message-and-event URL passing the release
// test: it opens each push with package wechat (the component's keys),
// answers step 2 sealed, and keeps step 3's code for finish.
type releaseStack struct {
	e        *compEnv
	ctok     string
	srv      *httptest.Server
	lastPath string
	lastTo   string
	code     string
	from     string
}

func newReleaseStack(t *testing.T, e *compEnv, ctok string) *releaseStack {
	cfg := e.c.Config()
	cipher, _ := wechat.NewCipher(cfg.EncodingAESKey, cfg.AppID)
	v, _ := wechat.NewVerifier(wechat.Keys{Token: cfg.Token, Cipher: cipher})
	s := &releaseStack{e: e, ctok: ctok}
	s.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		served, err := v.VerifySignature(q.Get("timestamp"), q.Get("nonce"), q.Get("signature"))
		if err != nil || q.Get("encrypt_type") != "aes" {
			http.Error(w, "signature", http.StatusUnauthorized)
			return
		}
		body, _ := io.ReadAll(r.Body)
		env, _ := wechat.ParseMessage(body)
		inner, served, err := v.Decrypt(served, q.Get("timestamp"), q.Get("nonce"), q.Get("msg_signature"), env.Encrypt)
		if err != nil {
			http.Error(w, err.Error(), http.StatusForbidden)
			return
		}
		m, _ := wechat.ParseMessage(inner)
		s.lastPath, s.lastTo = r.URL.Path, env.ToUserName
		switch {
		case m.Content == wechat.ReleaseTestText:
			reply := wechat.AppendText(nil, m.FromUserName, m.ToUserName, m.CreateTime, wechat.ReleaseTestTextReply)
			sealed, err := v.Seal(nil, served, reply, m.CreateTime, "1320050734")
			if err != nil {
				http.Error(w, err.Error(), http.StatusInternalServerError)
				return
			}
			w.Write(sealed)
		case strings.HasPrefix(m.Content, wechat.ReleaseTestQueryAuthPrefix):
			s.code, s.from = strings.TrimPrefix(m.Content, wechat.ReleaseTestQueryAuthPrefix), m.FromUserName
			// an empty answer
		default:
			io.WriteString(w, "success")
		}
	}))
	t.Cleanup(s.srv.Close)
	return s
}

func (s *releaseStack) finish(t *testing.T) {
	t.Helper()
	qa := s.e.post(t, wechattest.PathQueryAuth, s.ctok, map[string]any{"authorization_code": s.code})
	if qa.ErrCode != 0 {
		t.Fatalf("api_query_auth: %s", qa.raw)
	}
	body := `{"touser":"` + s.from + `","msgtype":"text","text":{"content":"` + s.code + wechat.ReleaseTestAPISuffix + `"}}`
	if a := s.e.do(t, http.MethodPost, wechattest.PathCustomSend+"?access_token="+url.QueryEscape(qa.AuthorizationInfo.AuthorizerAccessToken), body); a.ErrCode != 0 {
		t.Fatalf("custom/send: %s", a.raw)
	}
}

func TestComponentRunTicksUntilCancelled(t *testing.T) {
	e := newCompEnv(t, wechattest.ComponentConfig{})
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() { e.c.Run(ctx, time.Millisecond); close(done) }()
	deadline := time.Now().Add(2 * time.Second)
	for len(e.c.Pushes()) == 0 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	e.clock.Advance(10 * time.Minute)
	for len(e.c.Pushes()) < 2 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	cancel()
	<-done
	if got := len(e.events.received()); got != 2 {
		t.Fatalf("%d tickets pushed, want 2 (one at once, one 10 min later)", got)
	}
}
