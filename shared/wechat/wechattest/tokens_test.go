package wechattest_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"wechatqr/shared/wechat"
	"wechatqr/shared/wechat/wechattest"
)

func TestTokenChecksItsParameters(t *testing.T) {
	const id, secret = wechattest.DefaultAppID, wechattest.DefaultAppSecret
	tests := []struct {
		name                string
		grant, appid, scret string
		code                int
	}{
		{"valid", "client_credential", id, secret, 0},
		{"missing grant_type", "-", id, secret, wechat.CodeInvalidGrantType},
		{"wrong grant_type", "authorization_code", id, secret, wechat.CodeInvalidGrantType},
		{"missing appid", "client_credential", "-", secret, wechat.CodeAppIDMissing},
		{"wrong appid", "client_credential", "wx0000000000000000", secret, wechat.CodeInvalidAppID},
		{"appid case matters", "client_credential", strings.ToUpper(id), secret, wechat.CodeInvalidAppID},
		{"missing secret", "client_credential", id, "-", wechat.CodeAppSecretMissing},
		{"wrong secret", "client_credential", id, "0000", wechat.CodeInvalidAppSecret},
	}
	p, _ := startPlatform(t, wechattest.PlatformConfig{})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := call(t, p, http.MethodGet, tokenQuery(tt.grant, tt.appid, tt.scret), "")
			wantErrCode(t, a, tt.code)
			if tt.code == 0 && (a.ExpiresIn != 7200 || a.AccessToken == "") {
				t.Errorf("answer %s", a.raw)
			}
			if tt.code != 0 && a.AccessToken != "" {
				t.Errorf("an error answer carries a token: %s", a.raw)
			}
		})
	}
}

func TestTokensAreNewLongAndRealistic(t *testing.T) {
	p, _ := startPlatform(t, wechattest.PlatformConfig{})
	seen := map[string]bool{}
	for range 20 {
		tok := classicToken(t, p).AccessToken
		if seen[tok] {
			t.Fatal("a token was issued twice")
		}
		seen[tok] = true
		if len(tok) < 100 || len(tok) > 512 {
			t.Errorf("token of %d characters, want 100..512", len(tok))
		}
		if strings.Trim(tok, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-") != "" {
			t.Errorf("token %q has characters outside [A-Za-z0-9_-]", tok)
		}
	}
}

// §7: the previous classic token works for five more minutes, then answers
// 40001; the one before it dies as soon as a third is issued; an expired
// token answers 42001.
func TestClassicTokenGraceAndExpiry(t *testing.T) {
	p, clock := startPlatform(t, wechattest.PlatformConfig{})
	t1 := classicToken(t, p).AccessToken
	clock.Advance(time.Hour)
	t2 := classicToken(t, p).AccessToken

	steps := []struct {
		advance time.Duration
		t1, t2  int
	}{
		{0, 0, 0},                           // 1h: t2 just issued
		{5*time.Minute - time.Second, 0, 0}, // 1h04m59s: t1 in its grace
		{time.Second, wechat.CodeInvalidCredential, 0},                              // 1h05m: grace over, "not latest"
		{50 * time.Minute, wechat.CodeInvalidCredential, 0},                         // 1h55m
		{5 * time.Minute, wechat.CodeAccessTokenExpired, 0},                         // 2h: t1's own expiry
		{time.Hour - time.Second, wechat.CodeAccessTokenExpired, 0},                 // 2h59m59s
		{time.Second, wechat.CodeAccessTokenExpired, wechat.CodeAccessTokenExpired}, // 3h: t2 is 2h old
	}
	for i, s := range steps {
		clock.Advance(s.advance)
		if got := p.TokenStatus(t1); got != s.t1 {
			t.Errorf("step %d: t1 errcode %d, want %d", i, got, s.t1)
		}
		if got := p.TokenStatus(t2); got != s.t2 {
			t.Errorf("step %d: t2 errcode %d, want %d", i, got, s.t2)
		}
	}
	if _, ok := p.ClassicToken(); ok {
		t.Error("ClassicToken reports a token after every one expired")
	}
}

func TestThirdClassicTokenEndsTheGraceAtOnce(t *testing.T) {
	p, clock := startPlatform(t, wechattest.PlatformConfig{})
	t1 := classicToken(t, p).AccessToken
	clock.Advance(time.Minute)
	t2 := classicToken(t, p).AccessToken
	clock.Advance(time.Minute)
	t3 := classicToken(t, p).AccessToken
	for _, c := range []struct {
		name, tok string
		want      int
	}{{"t1", t1, wechat.CodeInvalidCredential}, {"t2", t2, 0}, {"t3", t3, 0}} {
		if got := p.TokenStatus(c.tok); got != c.want {
			t.Errorf("%s: errcode %d, want %d", c.name, got, c.want)
		}
	}
	if cur, ok := p.ClassicToken(); !ok || cur != t3 {
		t.Error("ClassicToken is not the latest token")
	}
}

// The token answers reach the wire through qrcode/create too.
func TestQRCodeCreateAnswersTokenErrcodes(t *testing.T) {
	p, clock := startPlatform(t, wechattest.PlatformConfig{})
	const body = `{"expire_seconds":60,"action_name":"QR_SCENE","action_info":{"scene":{"scene_id":1}}}`
	old := classicToken(t, p).AccessToken
	cur := classicToken(t, p).AccessToken
	classicToken(t, p) // old dies at once, cur gets its five minutes
	wantErrCode(t, createCode(t, p, "", body), wechat.CodeAccessTokenMissing)
	wantErrCode(t, createCode(t, p, "88_never-issued", body), wechat.CodeInvalidAccessToken)
	wantErrCode(t, createCode(t, p, old, body), wechat.CodeInvalidCredential)
	wantErrCode(t, createCode(t, p, cur, body), 0)
	clock.Advance(3 * time.Hour)
	wantErrCode(t, createCode(t, p, cur, body), wechat.CodeAccessTokenExpired)
	wantErrCode(t, call(t, p, http.MethodGet, wechattest.PathQRCodeCreate+"?access_token="+cur, ""), wechat.CodeRequirePOST)
}

func TestTokenDailyQuotaResetsAtBeijingMidnight(t *testing.T) {
	p, clock := startPlatform(t, wechattest.PlatformConfig{Limits: wechattest.Limits{TokenPerDay: 3}})
	// 23:59:58 in Beijing.
	clock.Set(time.Date(2026, 11, 25, 15, 59, 58, 0, time.UTC))
	for range 3 {
		classicToken(t, p)
	}
	a := call(t, p, http.MethodGet, tokenQuery("client_credential", wechattest.DefaultAppID, wechattest.DefaultAppSecret), "")
	wantErrCode(t, a, wechat.CodeDailyQuota)
	if !strings.HasPrefix(a.ErrMsg, "reach max api daily quota limit") {
		t.Errorf("errmsg %q", a.ErrMsg)
	}
	// Wrong credentials are refused before the quota is looked at.
	wantErrCode(t, call(t, p, http.MethodGet, tokenQuery("client_credential", wechattest.DefaultAppID, "x"), ""), wechat.CodeInvalidAppSecret)
	clock.Advance(2 * time.Second) // 00:00:00 in Beijing, 16:00 UTC
	classicToken(t, p)
}

func TestStableTokenIsStableUntilItsLastFiveMinutes(t *testing.T) {
	p, clock := startPlatform(t, wechattest.PlatformConfig{})
	first := stableToken(t, p, false)
	wantErrCode(t, first, 0)
	if first.ExpiresIn != 7200 {
		t.Fatalf("new stable token expires in %d, want 7200", first.ExpiresIn)
	}
	clock.Advance(10 * time.Minute)
	again := stableToken(t, p, false)
	if again.AccessToken != first.AccessToken || again.ExpiresIn != 7200-600 {
		t.Fatalf("10 min later: %q expiring in %d, want the same token with 6600 s left", again.AccessToken, again.ExpiresIn)
	}
	clock.Set(epoch.Add(2*time.Hour - 5*time.Minute)) // exactly 300 s left
	renewed := stableToken(t, p, false)
	if renewed.AccessToken == first.AccessToken || renewed.ExpiresIn != 7200 {
		t.Fatalf("in the last 5 minutes: same token %v, expires_in %d; want a new one for 7200 s", renewed.AccessToken == first.AccessToken, renewed.ExpiresIn)
	}
	if code := p.TokenStatus(first.AccessToken); code != 0 {
		t.Errorf("the replaced stable token answers %d before its own expiry, want 0", code)
	}
	clock.Advance(5 * time.Minute)
	if code := p.TokenStatus(first.AccessToken); code != wechat.CodeAccessTokenExpired {
		t.Errorf("the replaced stable token after its expiry: %d, want 42001", code)
	}
	if cur, ok := p.StableToken(); !ok || cur != renewed.AccessToken {
		t.Error("StableToken is not the renewed token")
	}
}

// Whenever a caller asks, what it gets is valid for at least five more
// minutes (§7: expires_in ≥ 300).
func TestStableTokenAlwaysHasFiveMinutesLeft(t *testing.T) {
	p, clock := startPlatform(t, wechattest.PlatformConfig{})
	for step := range 60 {
		a := stableToken(t, p, false)
		if a.ErrCode != 0 || a.ExpiresIn < 300 || a.ExpiresIn > 7200 {
			t.Fatalf("step %d: %s", step, a.raw)
		}
		if code := p.TokenStatus(a.AccessToken); code != 0 {
			t.Fatalf("step %d: the token returned answers %d", step, code)
		}
		clock.Advance(7*time.Minute + 13*time.Second)
	}
}

func TestStableTokenForceRefresh(t *testing.T) {
	p, clock := startPlatform(t, wechattest.PlatformConfig{})
	normal := stableToken(t, p, false).AccessToken
	forced := stableToken(t, p, true)
	wantErrCode(t, forced, 0)
	if forced.AccessToken == normal || forced.ExpiresIn != 7200 {
		t.Fatalf("force_refresh returned the same token or %d s", forced.ExpiresIn)
	}
	if code := p.TokenStatus(normal); code != wechat.CodeInvalidCredential {
		t.Errorf("the token before a forced refresh answers %d, want 40001 at once", code)
	}

	// Within 30 s a forced call does not refresh: it returns the current token.
	clock.Advance(29 * time.Second)
	within := stableToken(t, p, true)
	if within.AccessToken != forced.AccessToken || within.ExpiresIn != 7200-29 {
		t.Errorf("forced call 29 s later: new token %v, expires_in %d; want the current one with 7171 s", within.AccessToken != forced.AccessToken, within.ExpiresIn)
	}
	clock.Advance(time.Second)
	after := stableToken(t, p, true)
	if after.AccessToken == forced.AccessToken {
		t.Error("forced call 30 s after the last refresh did not refresh")
	}
}

func TestStableTokenForceRefreshDailyCap(t *testing.T) {
	p, clock := startPlatform(t, wechattest.PlatformConfig{})
	clock.Set(time.Date(2026, 11, 25, 0, 0, 0, 0, time.UTC)) // 08:00 in Beijing
	for i := range 20 {
		if a := stableToken(t, p, true); a.ErrCode != 0 {
			t.Fatalf("forced refresh %d: %s", i+1, a.raw)
		}
		clock.Advance(31 * time.Second)
	}
	wantErrCode(t, stableToken(t, p, true), wechat.CodeDailyQuota)
	// Normal calls go on working, with the last token.
	if a := stableToken(t, p, false); a.ErrCode != 0 {
		t.Errorf("normal call after the cap: %s", a.raw)
	}
	clock.Set(time.Date(2026, 11, 25, 16, 0, 0, 0, time.UTC)) // next day in Beijing
	wantErrCode(t, stableToken(t, p, true), 0)
}

func TestStableTokenRequestChecks(t *testing.T) {
	p, _ := startPlatform(t, wechattest.PlatformConfig{})
	tests := []struct {
		name, method, body string
		code               int
	}{
		{"GET", http.MethodGet, "", wechat.CodeRequirePOST},
		{"not JSON", http.MethodPost, "grant_type=client_credential", wechat.CodeDataFormat},
		{"empty body", http.MethodPost, "", wechat.CodeDataFormat},
		{"force_refresh as a string", http.MethodPost, `{"grant_type":"client_credential","appid":"` + wechattest.DefaultAppID + `","secret":"` + wechattest.DefaultAppSecret + `","force_refresh":"yes"}`, wechat.CodeDataFormat},
		{"wrong grant_type", http.MethodPost, `{"grant_type":"x","appid":"` + wechattest.DefaultAppID + `","secret":"` + wechattest.DefaultAppSecret + `"}`, wechat.CodeInvalidGrantType},
		{"missing appid", http.MethodPost, `{"grant_type":"client_credential","secret":"` + wechattest.DefaultAppSecret + `"}`, wechat.CodeAppIDMissing},
		{"wrong appid", http.MethodPost, `{"grant_type":"client_credential","appid":"wx1","secret":"` + wechattest.DefaultAppSecret + `"}`, wechat.CodeInvalidAppID},
		{"missing secret", http.MethodPost, `{"grant_type":"client_credential","appid":"` + wechattest.DefaultAppID + `"}`, wechat.CodeAppSecretMissing},
		{"wrong secret", http.MethodPost, `{"grant_type":"client_credential","appid":"` + wechattest.DefaultAppID + `","secret":"x"}`, wechat.CodeInvalidAppSecret},
		{"force_refresh omitted", http.MethodPost, `{"grant_type":"client_credential","appid":"` + wechattest.DefaultAppID + `","secret":"` + wechattest.DefaultAppSecret + `"}`, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantErrCode(t, call(t, p, tt.method, wechattest.PathStableToken, tt.body), tt.code)
		})
	}
}

func TestStableAndClassicTokensAreSeparate(t *testing.T) {
	p, _ := startPlatform(t, wechattest.PlatformConfig{})
	stable := stableToken(t, p, false).AccessToken
	c1 := classicToken(t, p).AccessToken
	classicToken(t, p)
	classicToken(t, p) // c1 is dead now
	if code := p.TokenStatus(stable); code != 0 {
		t.Errorf("classic calls changed the stable token: %d", code)
	}
	if code := p.TokenStatus(c1); code != wechat.CodeInvalidCredential {
		t.Fatalf("c1: %d", code)
	}
	cur, _ := p.ClassicToken()
	stableToken(t, p, true)
	if code := p.TokenStatus(cur); code != 0 {
		t.Errorf("a forced stable refresh killed the classic token: %d", code)
	}
	if len(p.ValidTokens()) != 3 { // two classic (one in grace), one stable
		t.Errorf("%d valid tokens, want 3", len(p.ValidTokens()))
	}
}

func TestStableTokenQuotas(t *testing.T) {
	t.Run("daily", func(t *testing.T) {
		p, _ := startPlatform(t, wechattest.PlatformConfig{Limits: wechattest.Limits{StableTokenPerDay: 2}})
		stableToken(t, p, false)
		stableToken(t, p, false)
		wantErrCode(t, stableToken(t, p, false), wechat.CodeDailyQuota)
	})
	t.Run("per minute", func(t *testing.T) {
		p, clock := startPlatform(t, wechattest.PlatformConfig{Limits: wechattest.Limits{StableTokenPerMinute: 2}})
		stableToken(t, p, false)
		stableToken(t, p, false)
		wantErrCode(t, stableToken(t, p, false), wechat.CodeMinuteQuota)
		clock.Advance(time.Minute)
		wantErrCode(t, stableToken(t, p, false), 0)
	})
}
