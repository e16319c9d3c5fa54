package wechattest

import (
	"crypto/rand"
	"encoding/json"
	"net/http"
	"slices"
	"time"

	"wechatqr/shared/wechat"
)

// tokenGrace is how long a classic token keeps working after the next one
// is issued, and how long before its expiry a stable token is replaced (§7).
const tokenGrace = 5 * time.Minute

// tokenRecord is an access token the Platform issued.
type tokenRecord struct {
	value     string
	stable    bool
	issuedAt  time.Time
	expiresAt time.Time
	// killAt, when set, is when the token stops working before its
	// expiry: superseded (classic) or invalidated by a forced refresh
	// (stable). Such a token answers 40001, "not latest".
	killAt time.Time
}

// status is the errcode a request carrying this token gets at now.
func (t *tokenRecord) status(now time.Time) int {
	switch {
	case !now.Before(t.expiresAt):
		return wechat.CodeAccessTokenExpired
	case !t.killAt.IsZero() && !now.Before(t.killAt):
		return wechat.CodeInvalidCredential
	}
	return 0
}

// kill makes t stop working at the latest at. Callers hold p.mu.
func (t *tokenRecord) kill(at time.Time) {
	if t.killAt.IsZero() || at.Before(t.killAt) {
		t.killAt = at
	}
}

// tokenChars is the alphabet of WeChat's access tokens (they look like
// "88_Ab3…-x_Q", 130 to 160 characters).
const tokenChars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-"

// newTokenValue returns a fresh token: a numeric prefix and 150 random
// characters, 153 in all, well within the 512 §7 asks callers to reserve.
func newTokenValue() string {
	b := make([]byte, 153)
	rand.Read(b)
	copy(b, "88_")
	for i := 3; i < len(b); i++ {
		b[i] = tokenChars[int(b[i])%len(tokenChars)] // 256 is a multiple of 64: no bias
	}
	return string(b)
}

// issue records a new token. Callers hold p.mu.
func (p *Platform) issue(stable bool, now time.Time) *tokenRecord {
	t := &tokenRecord{value: newTokenValue(), stable: stable, issuedAt: now, expiresAt: now.Add(p.cfg.TokenTTL)}
	for p.tokens[t.value] != nil {
		t.value = newTokenValue()
	}
	p.tokens[t.value] = t
	p.forgetOldTokens(now)
	return t
}

// forgetOldTokens drops tokens a day past their expiry, so that a
// long-running emulator does not grow; until then an expired token still
// answers 42001 rather than 40014. Callers hold p.mu.
func (p *Platform) forgetOldTokens(now time.Time) {
	for v, t := range p.tokens {
		if now.Sub(t.expiresAt) > 24*time.Hour {
			delete(p.tokens, v)
		}
	}
}

// checkAccessToken returns the errcode a request with access token tok
// gets: 0 when it is valid, 41001 when missing, 40014 when the Platform
// never issued it, 42001 once expired, 40001 once superseded or
// invalidated. Callers hold p.mu.
func (p *Platform) checkAccessToken(tok string, now time.Time) int {
	if tok == "" {
		return wechat.CodeAccessTokenMissing
	}
	t := p.tokens[tok]
	if t == nil {
		return wechat.CodeInvalidAccessToken
	}
	return t.status(now)
}

// withAccessToken serves a call to an endpoint that takes an access_token
// after the checks every such endpoint makes first, in WeChat's order: the
// method (43002 for one not in methods), then the token (checkAccessToken's
// errcode). serve gets the time the token was checked at and runs holding
// p.mu, so that the endpoint's own checks and the changes it makes see one
// state.
func (p *Platform) withAccessToken(r *http.Request, methods []string, serve func(now time.Time) response) response {
	if !slices.Contains(methods, r.Method) {
		return errcodeResponse(wechat.CodeRequirePOST)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	now := p.cfg.Now()
	tok := r.URL.Query().Get("access_token")
	if code := p.checkAccessToken(tok, now); code != 0 {
		return errcodeResponse(code)
	}
	if p.scope != nil {
		if code := p.scope(r.URL.Path, tok); code != 0 {
			return errcodeResponse(code)
		}
	}
	return serve(now)
}

// TokenStatus returns the errcode a call carrying access token tok would
// get now: 0 when it is valid (classic or stable).
func (p *Platform) TokenStatus(tok string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.checkAccessToken(tok, p.cfg.Now())
}

// ClassicToken returns the latest token /cgi-bin/token issued, if it is
// still valid. (The one before it may be valid too, for five minutes.)
func (p *Platform) ClassicToken() (string, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if t := p.classic[0]; t != nil && t.status(p.cfg.Now()) == 0 {
		return t.value, true
	}
	return "", false
}

// StableToken returns the latest stable token, if it is still valid.
func (p *Platform) StableToken() (string, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if t := p.stable; t != nil && t.status(p.cfg.Now()) == 0 {
		return t.value, true
	}
	return "", false
}

// ValidTokens returns every token, classic or stable, that works now.
func (p *Platform) ValidTokens() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := p.cfg.Now()
	var out []string
	for v, t := range p.tokens {
		if t.status(now) == 0 {
			out = append(out, v)
		}
	}
	return out
}

// checkCredentials applies the checks both token endpoints make, in the
// order of the parameters (§7): grant_type, appid, secret.
func (p *Platform) checkCredentials(grantType, appID, secret string) int {
	switch {
	case grantType != "client_credential":
		return wechat.CodeInvalidGrantType
	case appID == "":
		return wechat.CodeAppIDMissing
	case appID != p.cfg.AppID:
		return wechat.CodeInvalidAppID
	case secret == "":
		return wechat.CodeAppSecretMissing
	case secret != p.cfg.AppSecret:
		return wechat.CodeInvalidAppSecret
	}
	return 0
}

type tokenAnswer struct {
	AccessToken string `json:"access_token"`
	ExpiresIn   int64  `json:"expires_in"`
}

// serveToken is GET /cgi-bin/token (§7): every call issues a new token;
// the previous one works for five more minutes, and the one before that
// stops at once.
func (p *Platform) serveToken(r *http.Request) response {
	q := r.URL.Query()
	if code := p.checkCredentials(q.Get("grant_type"), q.Get("appid"), q.Get("secret")); code != 0 {
		return errcodeResponse(code)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	now := p.cfg.Now()
	day := dayWindow(now)
	if p.full("token/day", day, p.limits.TokenPerDay) {
		return errcodeResponse(wechat.CodeDailyQuota)
	}
	p.count("token/day", day)

	t := p.issue(false, now)
	if older := p.classic[1]; older != nil {
		older.kill(now)
	}
	if prev := p.classic[0]; prev != nil {
		prev.kill(now.Add(tokenGrace))
	}
	p.classic = [2]*tokenRecord{t, p.classic[0]}
	return jsonResponse(tokenAnswer{t.value, int64(p.cfg.TokenTTL / time.Second)})
}

// serveStableToken is POST /cgi-bin/stable_token (§7). Its tokens are
// apart from the classic ones. Normal mode returns the current token while
// it has more than five minutes left, else a new one (the old one lives
// out its own lifetime). A forced refresh kills every stable token at once
// and issues a new one, at most ForceRefreshPerDay times a day (45009
// beyond), and ForceRefreshSpacing apart.
//
// A forced call inside the spacing returns the current token unchanged
// (with its remaining lifetime) and does not count as a refresh. The doc
// says only that such a call "will not refresh" (§11.5): returning the
// token is the reading under which a caller that forces twice in a row
// still gets a working token, and an error would not tell it more.
func (p *Platform) serveStableToken(r *http.Request, body []byte) response {
	if r.Method != http.MethodPost {
		return errcodeResponse(wechat.CodeRequirePOST)
	}
	var req struct {
		GrantType    string `json:"grant_type"`
		AppID        string `json:"appid"`
		Secret       string `json:"secret"`
		ForceRefresh bool   `json:"force_refresh"`
	}
	if err := json.Unmarshal(body, &req); err != nil {
		return errcodeResponse(wechat.CodeDataFormat)
	}
	if code := p.checkCredentials(req.GrantType, req.AppID, req.Secret); code != 0 {
		return errcodeResponse(code)
	}

	p.mu.Lock()
	defer p.mu.Unlock()
	now := p.cfg.Now()
	if code := p.spendQuota("stable", now, p.limits.StableTokenPerDay, p.limits.StableTokenPerMinute); code != 0 {
		return errcodeResponse(code)
	}

	cur := p.stable
	valid := cur != nil && cur.status(now) == 0
	switch {
	case req.ForceRefresh && valid && !p.lastForce.IsZero() && now.Sub(p.lastForce) < p.limits.ForceRefreshSpacing:
		// Inside the spacing: no refresh, the current token as is.
	case req.ForceRefresh:
		day := dayWindow(now)
		if p.full("force/day", day, p.limits.ForceRefreshPerDay) {
			return errcodeResponse(wechat.CodeDailyQuota)
		}
		p.count("force/day", day)
		for _, t := range p.tokens {
			if t.stable {
				t.kill(now)
			}
		}
		cur = p.issue(true, now)
		p.stable = cur
		p.lastForce = now
	case !valid || cur.expiresAt.Sub(now) <= tokenGrace:
		cur = p.issue(true, now)
		p.stable = cur
	}
	// Whole seconds left, rounded down: never promise more than is left.
	return jsonResponse(tokenAnswer{cur.value, int64(cur.expiresAt.Sub(now) / time.Second)})
}

// IssuedTokens returns every token the Platform issued that it still
// remembers (a day past expiry), valid or not: what a test that searches logs
// for leaked tokens looks for.
func (p *Platform) IssuedTokens() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make([]string, 0, len(p.tokens))
	for v := range p.tokens {
		out = append(out, v)
	}
	return out
}
