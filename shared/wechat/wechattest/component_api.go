package wechattest

import (
	"context"
	"encoding/json"
	"net/http"
	"time"

	"wechatqr/shared/wechat"
)

// bodyString returns the string field name of a JSON object body, "" when
// the body is not one or the field is not a string.
func bodyString(body []byte, name string) string {
	var m map[string]json.RawMessage
	if json.Unmarshal(body, &m) != nil {
		return ""
	}
	var s string
	if json.Unmarshal(m[name], &s) != nil {
		return ""
	}
	return s
}

// componentBody is the component_appid every component call carries.
type componentBody struct {
	ComponentAppID string `json:"component_appid"`
}

func (b *componentBody) componentAppID() string { return b.ComponentAppID }

type componentRequest interface{ componentAppID() string }

// checkComponentToken returns the errcode a call with component token tok
// gets at now, as for an account's access token (§7): 41001 missing, 40014
// never issued, 42001 expired, 40001 superseded. Callers hold c.mu.
func (c *Component) checkComponentToken(tok string, now time.Time) int {
	if tok == "" {
		return wechat.CodeAccessTokenMissing
	}
	t := c.tokens[tok]
	if t == nil {
		return wechat.CodeInvalidAccessToken
	}
	return t.status(now)
}

// withComponentToken serves a call that takes the component token, after
// the checks every such call makes first: the method (43002: the API is
// POST JSON only, §13), the token under either name (componentToken), the
// body (47001, 40033), then its component_appid (41002 missing, 61011 not
// this platform's: §13.4 "wrong component_appid"). serve runs holding c.mu.
func (c *Component) withComponentToken(r *http.Request, body []byte, req componentRequest, serve func(now time.Time) response) response {
	if r.Method != http.MethodPost {
		return errcodeResponse(wechat.CodeRequirePOST)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.now()
	if code := c.checkComponentToken(componentToken(r.URL.Query()), now); code != 0 {
		return errcodeResponse(code)
	}
	if code := decodeBody(body, req); code != 0 {
		return errcodeResponse(code)
	}
	switch id := req.componentAppID(); {
	case id == "":
		return errcodeResponse(wechat.CodeAppIDMissing)
	case id != c.cfg.AppID:
		return errcodeResponse(wechat.CodeInvalidComponent)
	}
	return serve(now)
}

// checkComponentSecret checks the credentials of the two calls that take
// the AppSecret instead of a token, in the order of their parameters:
// 41002 / 40013 for the appid, 41004 / 40125 for the secret (§13.4).
func (c *Component) checkComponentSecret(appID, secret string) int {
	switch {
	case appID == "":
		return wechat.CodeAppIDMissing
	case appID != c.cfg.AppID:
		return wechat.CodeInvalidAppID
	case secret == "":
		return wechat.CodeAppSecretMissing
	case secret != c.cfg.AppSecret:
		return wechat.CodeInvalidAppSecret
	}
	return 0
}

// serveComponentToken is api_component_token (§13.3): component_appid,
// component_appsecret and a component_verify_ticket → a
// component_access_token for TokenTTL. Checks, in order: method (43002),
// JSON (47001), credentials (41002, 40013, 41004, 40125), the ticket
// (61006 missing or never pushed, 61005 older than TicketTTL), the daily
// quota (45009).
//
// Any ticket pushed within TicketTTL works, not only the newest: §13.1
// gives each ticket 12 hours and tells the platform to keep the newest,
// which a platform that missed a push or two cannot have.
//
// Every call issues a new token; the previous one keeps working five more
// minutes and the one before it stops, as /cgi-bin/token's do (§7).
// §13.9 leaves open whether older tokens survive a refresh; this is how
// WeChat's token service treats the tokens whose rule is known.
func (c *Component) serveComponentToken(r *http.Request, body []byte) response {
	if r.Method != http.MethodPost {
		return errcodeResponse(wechat.CodeRequirePOST)
	}
	var req struct {
		ComponentAppID        string `json:"component_appid"`
		ComponentAppSecret    string `json:"component_appsecret"`
		ComponentVerifyTicket string `json:"component_verify_ticket"`
	}
	if code := decodeBody(body, &req); code != 0 {
		return errcodeResponse(code)
	}
	if code := c.checkComponentSecret(req.ComponentAppID, req.ComponentAppSecret); code != 0 {
		return errcodeResponse(code)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.now()
	issued, ok := c.tickets[req.ComponentVerifyTicket]
	switch {
	case !ok:
		return errcodeResponse(wechat.CodeTicketInvalid)
	case !now.Before(issued.Add(c.cfg.TicketTTL)):
		return errcodeResponse(wechat.CodeTicketExpired)
	}
	if code := c.spend("component_token", now, c.limits.ComponentTokenPerDay); code != 0 {
		return errcodeResponse(code)
	}
	t := c.issueComponentToken(now)
	return jsonResponse(struct {
		ComponentAccessToken string `json:"component_access_token"`
		ExpiresIn            int64  `json:"expires_in"`
	}{t.value, int64(c.cfg.TokenTTL / time.Second)})
}

// spend counts one call against the daily quota name, or answers 45009
// when it is used up. Callers hold c.mu.
func (c *Component) spend(name string, now time.Time, perDay int) int {
	c.rec.mu.Lock()
	defer c.rec.mu.Unlock()
	return c.rec.spendQuota(name, now, perDay, -1)
}

// issueComponentToken issues a component token (see serveComponentToken).
// Callers hold c.mu.
func (c *Component) issueComponentToken(now time.Time) *tokenRecord {
	t := &tokenRecord{value: newTokenValue(), issuedAt: now, expiresAt: now.Add(c.cfg.TokenTTL)}
	for c.tokens[t.value] != nil {
		t.value = newTokenValue()
	}
	c.tokens[t.value] = t
	if older := c.chain[1]; older != nil {
		older.kill(now)
	}
	if prev := c.chain[0]; prev != nil {
		prev.kill(now.Add(tokenGrace))
	}
	c.chain = [2]*tokenRecord{t, c.chain[0]}
	for v, old := range c.tokens {
		if now.Sub(old.expiresAt) > 24*time.Hour {
			delete(c.tokens, v)
		}
	}
	return t
}

// ComponentToken returns the latest component token, if it is still valid.
func (c *Component) ComponentToken() (string, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if t := c.chain[0]; t != nil && t.status(c.now()) == 0 {
		return t.value, true
	}
	return "", false
}

// serveCreatePreAuthCode is api_create_preauthcode (§13.3): a
// pre_auth_code (preauthcode@@@…) for the authorization page, valid
// PreAuthCodeTTL and good for one authorization.
func (c *Component) serveCreatePreAuthCode(r *http.Request, body []byte) response {
	var req componentBody
	return c.withComponentToken(r, body, &req, func(now time.Time) response {
		pc := &preAuthCode{value: "preauthcode@@@" + randomChars(64), expiresAt: now.Add(c.cfg.PreAuthCodeTTL)}
		c.preAuth[pc.value] = pc
		c.preOrder = append(c.preOrder, pc.value)
		c.forgetPreAuthCodes(now)
		return jsonResponse(struct {
			PreAuthCode string `json:"pre_auth_code"`
			ExpiresIn   int64  `json:"expires_in"`
		}{pc.value, int64(c.cfg.PreAuthCodeTTL / time.Second)})
	})
}

// forgetPreAuthCodes drops pre-auth codes a day past their expiry.
// Callers hold c.mu.
func (c *Component) forgetPreAuthCodes(now time.Time) {
	keep := c.preOrder[:0]
	for _, v := range c.preOrder {
		if now.Sub(c.preAuth[v].expiresAt) > 24*time.Hour {
			delete(c.preAuth, v)
			continue
		}
		keep = append(keep, v)
	}
	c.preOrder = keep
}

// funcInfoWire is func_info on the wire (§13.3).
type funcInfoWire []int

func (f funcInfoWire) MarshalJSON() ([]byte, error) {
	type category struct {
		ID int `json:"id"`
	}
	type scope struct {
		Category category `json:"funcscope_category"`
	}
	out := make([]scope, len(f))
	for i, id := range f {
		out[i] = scope{category{id}}
	}
	return json.Marshal(out)
}

// serveQueryAuth is api_query_auth (§13.3): an authorization code → the
// authorization_info with a new authorizer_access_token. The code works
// until it expires (AuthCodeTTL), more than once: §13 does not make it
// single-use, and in the release test (§13.6) WeChat sends the same code
// in a message after pushing it, which a platform answers with a second
// api_query_auth. Checks after the common ones: 61009 (missing or never
// issued), 61010 (expired), 61003 (the account has revoked the
// authorization since).
func (c *Component) serveQueryAuth(r *http.Request, body []byte) response {
	var req struct {
		componentBody
		AuthorizationCode string `json:"authorization_code"`
	}
	return c.withComponentToken(r, body, &req, func(now time.Time) response {
		code := c.codes[req.AuthorizationCode]
		switch {
		case code == nil:
			return errcodeResponse(wechat.CodeAuthCodeInvalid)
		case !now.Before(code.expiresAt):
			return errcodeResponse(wechat.CodeAuthCodeExpired)
		}
		a := c.authorizers[code.appID]
		if a == nil || !a.authorized {
			return errcodeResponse(wechat.CodeComponentNotAuthorized)
		}
		t := c.issueAuthorizerToken(a, now)
		a.revealed = true
		type info struct {
			AuthorizerAppID        string       `json:"authorizer_appid"`
			AuthorizerAccessToken  string       `json:"authorizer_access_token"`
			ExpiresIn              int64        `json:"expires_in"`
			AuthorizerRefreshToken string       `json:"authorizer_refresh_token"`
			FuncInfo               funcInfoWire `json:"func_info"`
		}
		return jsonResponse(struct {
			AuthorizationInfo info `json:"authorization_info"`
		}{info{a.appID, t.value, expiresIn(t, now), a.refresh, funcInfoWire(a.grantList())}})
	})
}

// expiresIn is a token's remaining lifetime in whole seconds.
func expiresIn(t *tokenRecord, now time.Time) int64 { return int64(t.expiresAt.Sub(now) / time.Second) }

// serveAuthorizerToken is api_authorizer_token (§13.3): the
// authorizer_refresh_token → a new authorizer_access_token (the previous
// one working five more minutes, as for every token here) and the
// authorizer_refresh_token to keep. That is the same refresh token: §13.3
// says it does not expire while the authorization stands and is replaced
// only by a new authorization (with about 5 minutes during which the
// previous one still works, and gets the new one back), unless
// RotateRefreshTokens is set. Checks after the common ones: 41002
// (authorizer_appid missing), 61003 (no standing authorization), 61023
// (the refresh token is not the current one nor the previous one within
// its overlap), 45009 (AuthorizerTokenPerDay).
func (c *Component) serveAuthorizerToken(r *http.Request, body []byte) response {
	var req struct {
		componentBody
		AuthorizerAppID        string `json:"authorizer_appid"`
		AuthorizerRefreshToken string `json:"authorizer_refresh_token"`
	}
	return c.withComponentToken(r, body, &req, func(now time.Time) response {
		if req.AuthorizerAppID == "" {
			return errcodeResponse(wechat.CodeAppIDMissing)
		}
		a := c.authorizers[req.AuthorizerAppID]
		if a == nil || !a.authorized {
			return errcodeResponse(wechat.CodeComponentNotAuthorized)
		}
		rt := req.AuthorizerRefreshToken
		current := rt != "" && rt == a.refresh
		overlap := rt != "" && rt == a.oldRefresh && now.Before(a.oldUntil)
		if !current && !overlap {
			return errcodeResponse(wechat.CodeRefreshTokenInvalid)
		}
		if code := c.spend("authorizer_token/"+a.appID, now, c.limits.AuthorizerTokenPerDay); code != 0 {
			return errcodeResponse(code)
		}
		t := c.issueAuthorizerToken(a, now)
		if c.cfg.RotateRefreshTokens {
			a.rotateRefresh(now)
			a.revealed = true
		}
		return jsonResponse(struct {
			AuthorizerAccessToken  string `json:"authorizer_access_token"`
			ExpiresIn              int64  `json:"expires_in"`
			AuthorizerRefreshToken string `json:"authorizer_refresh_token"`
		}{t.value, expiresIn(t, now), a.refresh})
	})
}

// serveAuthorizerInfo is api_get_authorizer_info (§13.3): the account's
// authorizer_info (SetAuthorizerInfo, else DefaultAuthorizerInfo) and its
// authorization_info. authorizer_refresh_token is "" until api_query_auth
// has been called for the current authorization (§13.3). 61003 without a
// standing authorization.
func (c *Component) serveAuthorizerInfo(r *http.Request, body []byte) response {
	var req struct {
		componentBody
		AuthorizerAppID string `json:"authorizer_appid"`
	}
	return c.withComponentToken(r, body, &req, func(now time.Time) response {
		if req.AuthorizerAppID == "" {
			return errcodeResponse(wechat.CodeAppIDMissing)
		}
		a := c.authorizers[req.AuthorizerAppID]
		if a == nil || !a.authorized {
			return errcodeResponse(wechat.CodeComponentNotAuthorized)
		}
		type authorization struct {
			AuthorizerAppID        string       `json:"authorizer_appid"`
			AuthorizerRefreshToken string       `json:"authorizer_refresh_token"`
			FuncInfo               funcInfoWire `json:"func_info"`
		}
		return jsonResponse(struct {
			AuthorizerInfo    authorizerInfoWire `json:"authorizer_info"`
			AuthorizationInfo authorization      `json:"authorization_info"`
		}{c.infoOf(a).wire(), authorization{a.appID, a.shownRefresh(), funcInfoWire(a.grantList())}})
	})
}

// serveAuthorizerList is api_get_authorizer_list (§13.3): the accounts
// with a standing authorization, in the order they first authorized,
// offset and count (1..500) at a time, with total_count. Each entry's
// refresh_token is "" until api_query_auth has been called, and auth_time
// is the Unix time of the latest authorization. A count outside 1..500 or
// a negative offset answers 40097 "invalid args" (§13.3 gives only the
// maximum; WeChat's usual code for a parameter out of range).
func (c *Component) serveAuthorizerList(r *http.Request, body []byte) response {
	var req struct {
		componentBody
		Offset *int `json:"offset"`
		Count  *int `json:"count"`
	}
	return c.withComponentToken(r, body, &req, func(now time.Time) response {
		offset := 0
		if req.Offset != nil {
			offset = *req.Offset
		}
		if req.Count == nil || *req.Count < 1 || *req.Count > 500 || offset < 0 {
			return errcodeResponse(wechat.CodeInvalidArgs)
		}
		type entry struct {
			AuthorizerAppID string `json:"authorizer_appid"`
			RefreshToken    string `json:"refresh_token"`
			AuthTime        int64  `json:"auth_time"`
		}
		list := []entry{}
		for _, id := range c.authOrder {
			if a := c.authorizers[id]; a.authorized {
				list = append(list, entry{id, a.shownRefresh(), a.authTime.Unix()})
			}
		}
		total := len(list)
		list = list[min(offset, total):min(offset+*req.Count, total)]
		return jsonResponse(struct {
			TotalCount int     `json:"total_count"`
			List       []entry `json:"list"`
		}{total, list})
	})
}

// serveStartPushTicket is api_start_push_ticket (§13.3): component_appid
// and component_secret (no token: one in the query, which one copy of the
// doc shows, is ignored). When the ticket push service has stopped
// (TicketFailuresToStop failed pushes, or StopTicketPush) it starts again,
// a ticket is pushed at once and the answer is errcode 0 "ok"; when it
// runs, the answer is errcode 0 "in a normal state" and nothing else
// happens (the doc: "ok" means it went from abnormal to normal, "in a
// normal state" that it was normal). Checks: method (43002), JSON (47001),
// credentials (41002, 40013, 41004, 40125), StartPushTicketPerDay (45009).
func (c *Component) serveStartPushTicket(r *http.Request, body []byte) response {
	if r.Method != http.MethodPost {
		return errcodeResponse(wechat.CodeRequirePOST)
	}
	var req struct {
		ComponentAppID  string `json:"component_appid"`
		ComponentSecret string `json:"component_secret"`
	}
	if code := decodeBody(body, &req); code != 0 {
		return errcodeResponse(code)
	}
	if code := c.checkComponentSecret(req.ComponentAppID, req.ComponentSecret); code != 0 {
		return errcodeResponse(code)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.now()
	if code := c.spend("start_push_ticket", now, c.limits.StartPushTicketPerDay); code != 0 {
		return errcodeResponse(code)
	}
	if c.pushing {
		return errcodeMsgResponse(0, "in a normal state")
	}
	c.pushing, c.failures = true, 0
	c.nextTicket = now.Add(c.cfg.TicketInterval)
	c.goPush(func(ctx context.Context) { c.PushTicket(ctx) })
	return errcodeMsgResponse(0, "ok")
}
