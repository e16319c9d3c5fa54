package wechattest

import (
	"context"
	"crypto/sha1"
	"encoding/hex"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"wechatqr/shared/wechat"
)

// Addresses of the authorization page (§13.3): the PC page, the mobile
// link, and the mobile link's legacy host (wechatpy, silenceper,
// PowerWeChat).
const (
	ComponentLoginPage      = wechat.ComponentLoginPage
	BindComponentPage       = wechat.BindComponentPage
	LegacyBindComponentPage = "https://mp.weixin.qq.com/safe/bindcomponent"
)

// AuthType values of the authorization page (§13.3).
const (
	AuthTypeOfficialAccount = 1
	AuthTypeMiniProgram     = 2
	AuthTypeBoth            = 3 // the default
)

// authPageQuery writes the page parameters in §13.3's order;
// authType 0 and bizAppID "" leave theirs out.
func authPageQuery(componentAppID, preAuthCode, redirectURI string, authType int, bizAppID string) string {
	q := "component_appid=" + url.QueryEscape(componentAppID) +
		"&pre_auth_code=" + url.QueryEscape(preAuthCode) +
		"&redirect_uri=" + url.QueryEscape(redirectURI)
	if authType != 0 {
		q += "&auth_type=" + strconv.Itoa(authType)
	}
	if bizAppID != "" {
		q += "&biz_appid=" + url.QueryEscape(bizAppID)
	}
	return q
}

// ComponentLoginPageURL is the PC authorization page (§13.3):
// componentloginpage?component_appid=&pre_auth_code=&redirect_uri=<urlenc>&auth_type=&biz_appid=.
func ComponentLoginPageURL(componentAppID, preAuthCode, redirectURI string, authType int, bizAppID string) string {
	return ComponentLoginPage + "?" + authPageQuery(componentAppID, preAuthCode, redirectURI, authType, bizAppID)
}

// BindComponentURL is the mobile authorization link (§13.3):
// bindcomponent?action=bindcomponent&no_scan=1&… the same parameters …#wechat_redirect.
func BindComponentURL(componentAppID, preAuthCode, redirectURI string, authType int, bizAppID string) string {
	return BindComponentPage + "?action=bindcomponent&no_scan=1&" +
		authPageQuery(componentAppID, preAuthCode, redirectURI, authType, bizAppID) + "#wechat_redirect"
}

// AuthorizerInfo is an authorizer's authorizer_info (§13.3).
type AuthorizerInfo struct {
	NickName      string
	HeadImg       string
	ServiceType   int    // service_type_info.id: 0 subscription, 1 upgraded, 2 service account
	VerifyType    int    // verify_type_info.id: -1 unverified, 0 WeChat-verified
	UserName      string // the original ID, gh_…
	PrincipalName string
	Alias         string
	QRCodeURL     string
	// BusinessInfo: open_store, open_scan, open_pay, open_card, open_shake (0 or 1).
	OpenStore, OpenScan, OpenPay, OpenCard, OpenShake int
	AccountStatus                                     int // 1 normal; 14 deregistered, 16 banned, 18 warned, 19 frozen
}

// DefaultAuthorizerInfo is what an authorizer shows when SetAuthorizerInfo
// gave nothing: a verified service account (what qrcode/create needs, §13.4
// 48001) in a normal state, named after its appid, with the original ID its
// Platform pushes with.
func DefaultAuthorizerInfo(appID string) AuthorizerInfo {
	return AuthorizerInfo{
		NickName:      "Test account " + appID,
		HeadImg:       "http://wx.qlogo.cn/mmopen/" + appID + "/0",
		ServiceType:   2,
		VerifyType:    0,
		UserName:      originalIDFor(appID),
		PrincipalName: "Test principal of " + appID,
		QRCodeURL:     "http://mmbiz.qpic.cn/mmbiz_jpg/" + appID + "/0",
		AccountStatus: 1,
	}
}

// originalIDFor is the gh_ ID of an authorizer Platform: the release test
// account's (§13.6), else one derived from the appid.
func originalIDFor(appID string) string {
	for _, a := range ReleaseTestAccounts {
		if a.AppID == appID {
			return a.UserName
		}
	}
	h := sha1.Sum([]byte(appID))
	return "gh_" + hex.EncodeToString(h[:6])
}

type authorizerInfoWire struct {
	NickName        string `json:"nick_name"`
	HeadImg         string `json:"head_img"`
	ServiceTypeInfo idWire `json:"service_type_info"`
	VerifyTypeInfo  idWire `json:"verify_type_info"`
	UserName        string `json:"user_name"`
	PrincipalName   string `json:"principal_name"`
	Alias           string `json:"alias"`
	BusinessInfo    struct {
		OpenStore int `json:"open_store"`
		OpenScan  int `json:"open_scan"`
		OpenPay   int `json:"open_pay"`
		OpenCard  int `json:"open_card"`
		OpenShake int `json:"open_shake"`
	} `json:"business_info"`
	QRCodeURL     string `json:"qrcode_url"`
	AccountStatus int    `json:"account_status"`
}

type idWire struct {
	ID int `json:"id"`
}

func (i AuthorizerInfo) wire() authorizerInfoWire {
	w := authorizerInfoWire{
		NickName: i.NickName, HeadImg: i.HeadImg,
		ServiceTypeInfo: idWire{i.ServiceType}, VerifyTypeInfo: idWire{i.VerifyType},
		UserName: i.UserName, PrincipalName: i.PrincipalName, Alias: i.Alias,
		QRCodeURL: i.QRCodeURL, AccountStatus: i.AccountStatus,
	}
	w.BusinessInfo.OpenStore, w.BusinessInfo.OpenScan, w.BusinessInfo.OpenPay = i.OpenStore, i.OpenScan, i.OpenPay
	w.BusinessInfo.OpenCard, w.BusinessInfo.OpenShake = i.OpenCard, i.OpenShake
	return w
}

// authorizer is an account as the Component knows it.
type authorizer struct {
	appID      string
	p          *Platform
	info       *AuthorizerInfo // nil: DefaultAuthorizerInfo with p's original ID
	authorized bool
	authTime   time.Time
	refresh    string // the current authorizer_refresh_token
	revealed   bool   // api_query_auth (or a rotation) has handed refresh out
	oldRefresh string // the previous one, working until oldUntil
	oldUntil   time.Time
	chain      [2]*tokenRecord // the latest authorizer access token and the one before

	// mu guards grants and issued, which p.scope reads holding p.mu (lock
	// order: Component.mu, then Platform.mu, then authorizer.mu).
	mu     sync.Mutex
	grants []int
	issued map[string]bool // authorizer access tokens issued through the Component
}

func (a *authorizer) grantList() []int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return slices.Clone(a.grants)
}

func (a *authorizer) setGrants(g []int) {
	a.mu.Lock()
	a.grants = slices.Clone(g)
	a.mu.Unlock()
}

// shownRefresh is the refresh token as api_get_authorizer_info and
// api_get_authorizer_list show it: "" until api_query_auth (§13.3).
func (a *authorizer) shownRefresh() string {
	if !a.revealed {
		return ""
	}
	return a.refresh
}

// rotateRefresh replaces the refresh token, the previous one working
// refreshOverlap more (§13.3).
func (a *authorizer) rotateRefresh(now time.Time) {
	if a.refresh != "" {
		a.oldRefresh, a.oldUntil = a.refresh, now.Add(refreshOverlap)
	}
	a.refresh = "refreshtoken@@@" + randomChars(43)
	a.revealed = false
}

// PermissionSets returns the permission sets of which a call to path with
// an authorizer token needs one (§13.5, wechat.PermissionsFor), nil when
// the emulator checks none.
func PermissionSets(path string) []int {
	var out []int
	for _, s := range wechat.PermissionsFor(path) {
		out = append(out, int(s))
	}
	return out
}

// scope is the authorizer Platform's check (Platform.scope): a token the
// Component issued needs one of the path's sets, or the call answers 61007.
// Tokens of the account's own (/cgi-bin/token with its AppSecret) are not
// the Component's business. Called holding a.p.mu.
func (a *authorizer) scope(path, tok string) int {
	sets := wechat.PermissionsFor(path)
	if sets == nil {
		return 0
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if !a.issued[tok] || sets.GrantedBy(a.grants) {
		return 0
	}
	return wechat.CodeAPIUnauthorized
}

// issueAuthorizerToken issues an authorizer access token on a's Platform:
// the previous one works five more minutes, the one before stops (§7's
// rule, §13.9 leaving it open). Callers hold c.mu.
func (c *Component) issueAuthorizerToken(a *authorizer, now time.Time) *tokenRecord {
	p := a.p
	p.mu.Lock()
	defer p.mu.Unlock()
	t := p.issue(false, now)
	if older := a.chain[1]; older != nil {
		older.kill(now)
	}
	if prev := a.chain[0]; prev != nil {
		prev.kill(now.Add(tokenGrace))
	}
	a.chain = [2]*tokenRecord{t, a.chain[0]}
	a.mu.Lock()
	a.issued[t.value] = true
	for v := range a.issued {
		if p.tokens[v] == nil { // forgotten a day past expiry
			delete(a.issued, v)
		}
	}
	a.mu.Unlock()
	return t
}

// authorizerFor returns the authorizer for appID, putting its Platform on
// the Network the first time: a new account signed and sealed with the
// Component's Token and key (§13.2), or the account already there, whose
// pushes are from then on signed and sealed that way. Callers hold c.mu.
func (c *Component) authorizerFor(appID string) *authorizer {
	if a := c.authorizers[appID]; a != nil {
		return a
	}
	signer := Signer{Token: c.cfg.Token, AppID: c.cfg.AppID, EncodingAESKey: c.cfg.EncodingAESKey, OriginalID: originalIDFor(appID)}
	p := NewPlatform(PlatformConfig{
		AppID: appID, AppSecret: randomHex(16), Token: c.cfg.Token, EncodingAESKey: c.cfg.EncodingAESKey,
		OriginalID: signer.OriginalID, Now: c.cfg.Now, TokenTTL: c.cfg.TokenTTL, PushClient: c.cfg.PushClient,
	})
	p.signer = signer
	if q := c.net.addPlatform(p); q != p {
		p = q
		p.mu.Lock()
		signer.OriginalID = p.cfg.OriginalID
		p.signer = signer
		p.mu.Unlock()
	}
	a := &authorizer{appID: appID, p: p, issued: map[string]bool{}}
	p.mu.Lock()
	p.scope = a.scope
	p.mu.Unlock()
	c.authorizers[appID] = a
	c.authOrder = append(c.authOrder, appID)
	return a
}

// addPlatform puts p on the Network unless an account with its AppID is
// there, and returns the account that is.
func (n *Network) addPlatform(p *Platform) *Platform {
	n.mu.Lock()
	defer n.mu.Unlock()
	if q, ok := n.accounts[p.cfg.AppID]; ok {
		return q
	}
	if n.baseURL != "" {
		p.SetBaseURL(n.baseURL)
	}
	n.accounts[p.cfg.AppID] = p
	return p
}

// infoOf is a's authorizer_info. Callers hold c.mu.
func (c *Component) infoOf(a *authorizer) AuthorizerInfo {
	if a.info != nil {
		return *a.info
	}
	i := DefaultAuthorizerInfo(a.appID)
	i.UserName = a.p.cfg.OriginalID
	return i
}

// SetAuthorizerInfo sets what api_get_authorizer_info answers for appID
// (start from DefaultAuthorizerInfo). It may come before Authorize.
func (c *Component) SetAuthorizerInfo(appID string, info AuthorizerInfo) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.authorizerFor(appID).info = &info
}

// Authorizer returns the Platform of an account that has authorized the
// Component (now or before), nil for another.
func (c *Component) Authorizer(appID string) *Platform {
	c.mu.Lock()
	defer c.mu.Unlock()
	if a := c.authorizers[appID]; a != nil && !a.authTime.IsZero() {
		return a.p
	}
	return nil
}

// Grants returns the permission sets appID has granted and whether its
// authorization stands.
func (c *Component) Grants(appID string) ([]int, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	a := c.authorizers[appID]
	if a == nil || !a.authorized {
		return nil, false
	}
	return a.grantList(), true
}

// Authorize simulates appID's administrator scanning the authorization
// page and granting funcInfo, and returns the authorization code
// (queryauthcode@@@…). The page's pre_auth_code is the newest one the
// platform created that is unused and alive (one is made up when there is
// none, as if the platform had asked for it). funcInfo nil grants every
// set the platform asks for (ComponentConfig.FuncInfo), and sets it does
// not ask for are never granted. appID becomes an account on the Network
// (Authorizer) if it was not one. WeChat then pushes authorized, or
// updateauthorized when the account had authorized with other sets (§13.1),
// to the authorization-event URL; the push is in Pushes. The account's
// previous refresh token, if any, keeps working five more minutes (§13.3).
// It returns "" for an empty appID.
func (c *Component) Authorize(appID string, funcInfo []int) (authCode string) {
	code, _, _ := c.authorize(context.Background(), appID, funcInfo, "")
	return code
}

// VisitAuthPage simulates appID's administrator opening the authorization
// page pageURL (ComponentLoginPageURL or BindComponentURL, as the platform
// under test built it) and granting funcInfo (nil: every set offered). It
// returns the address WeChat redirects to, redirect_uri with
// auth_code=…&expires_in=600 (§13.3), and the authorized push. The page must
// be one of §13.3's addresses for this component, with an alive unused
// pre_auth_code (ErrPreAuthCode), a redirect_uri, an auth_type an Official
// Account can use (1 or 3, or none) and no biz_appid of another account
// (ErrAuthPage); category_id_list (1|2|…) limits the sets offered.
func (c *Component) VisitAuthPage(ctx context.Context, pageURL, appID string, funcInfo []int) (redirect string, push Push, err error) {
	u, err := url.Parse(pageURL)
	if err != nil {
		return "", Push{}, fmt.Errorf("%w: %v", ErrAuthPage, err)
	}
	q := u.Query()
	page := u.Scheme + "://" + u.Host + u.Path
	switch page {
	case ComponentLoginPage:
	case BindComponentPage, LegacyBindComponentPage:
		if q.Get("action") != "bindcomponent" || q.Get("no_scan") != "1" || u.Fragment != "wechat_redirect" {
			return "", Push{}, fmt.Errorf("%w: the mobile link needs action=bindcomponent&no_scan=1 and #wechat_redirect", ErrAuthPage)
		}
	default:
		return "", Push{}, fmt.Errorf("%w: %s is not an authorization page", ErrAuthPage, page)
	}
	if q.Get("component_appid") != c.cfg.AppID {
		return "", Push{}, fmt.Errorf("%w: component_appid %q", ErrAuthPage, q.Get("component_appid"))
	}
	back, err := url.Parse(q.Get("redirect_uri"))
	if err != nil || (back.Scheme != "http" && back.Scheme != "https") || back.Host == "" {
		return "", Push{}, fmt.Errorf("%w: redirect_uri %q", ErrAuthPage, q.Get("redirect_uri"))
	}
	switch q.Get("auth_type") {
	case "", strconv.Itoa(AuthTypeOfficialAccount), strconv.Itoa(AuthTypeBoth):
	default:
		return "", Push{}, fmt.Errorf("%w: auth_type %q does not offer Official Accounts", ErrAuthPage, q.Get("auth_type"))
	}
	if biz := q.Get("biz_appid"); biz != "" && biz != appID {
		return "", Push{}, fmt.Errorf("%w: biz_appid %s pins another account", ErrAuthPage, biz)
	}
	if funcInfo == nil {
		funcInfo = c.cfg.FuncInfo
	}
	if cats := q.Get("category_id_list"); cats != "" {
		var offered []int
		for _, s := range strings.Split(cats, "|") {
			if id, err := strconv.Atoi(s); err == nil && slices.Contains(funcInfo, id) {
				offered = append(offered, id)
			}
		}
		funcInfo = offered
		if funcInfo == nil {
			funcInfo = []int{}
		}
	}
	pre := q.Get("pre_auth_code")
	if pre == "" {
		return "", Push{}, ErrPreAuthCode
	}
	code, push, err := c.authorize(ctx, appID, funcInfo, pre)
	if code == "" {
		return "", push, err
	}
	bq := back.Query()
	bq.Set("auth_code", code)
	bq.Set("expires_in", "600")
	back.RawQuery = bq.Encode()
	return back.String(), push, err
}

// authorize is Authorize with the page's pre_auth_code (pre; "" for the
// newest alive one). It returns "" and no push when appID is empty or pre
// is not usable.
func (c *Component) authorize(ctx context.Context, appID string, funcInfo []int, pre string) (string, Push, error) {
	if appID == "" {
		return "", Push{}, fmt.Errorf("wechattest: empty appid")
	}
	c.mu.Lock()
	now := c.now()
	if pre == "" {
		pre = c.takePreAuthCode(now)
	} else {
		pc := c.preAuth[pre]
		if pc == nil || pc.used || !now.Before(pc.expiresAt) {
			c.mu.Unlock()
			return "", Push{}, ErrPreAuthCode
		}
		pc.used = true
	}
	if funcInfo == nil {
		funcInfo = c.cfg.FuncInfo
	}
	var grants []int
	for _, s := range normalizeSets(funcInfo) {
		if slices.Contains(c.cfg.FuncInfo, s) {
			grants = append(grants, s)
		}
	}
	a := c.authorizerFor(appID)
	info := wechat.InfoAuthorized
	if a.authorized && !slices.Equal(a.grantList(), grants) {
		info = wechat.InfoUpdateAuthorized
	}
	if !a.authorized {
		a.refresh, a.oldRefresh = "", "" // a revoked authorization's tokens stay dead
	}
	a.rotateRefresh(now)
	a.authorized, a.authTime = true, now
	a.setGrants(grants)
	code := "queryauthcode@@@" + randomChars(64)
	expires := now.Add(c.cfg.AuthCodeTTL)
	c.codes[code] = &authCode{appID: appID, expiresAt: expires}
	for v, ac := range c.codes {
		if now.Sub(ac.expiresAt) > 24*time.Hour {
			delete(c.codes, v)
		}
	}
	target := c.authURL
	c.mu.Unlock()

	push, err := c.push(ctx, info, c.signer.AuthorizationXML(info, appID, code, expires.Unix(), pre, now.Unix()), target, now)
	return code, push, err
}

// takePreAuthCode marks the newest alive unused pre-auth code used and
// returns it, or a new one already used. Callers hold c.mu.
func (c *Component) takePreAuthCode(now time.Time) string {
	for i := len(c.preOrder) - 1; i >= 0; i-- {
		if pc := c.preAuth[c.preOrder[i]]; !pc.used && now.Before(pc.expiresAt) {
			pc.used = true
			return pc.value
		}
	}
	pc := &preAuthCode{value: "preauthcode@@@" + randomChars(64), expiresAt: now.Add(c.cfg.PreAuthCodeTTL), used: true}
	c.preAuth[pc.value] = pc
	c.preOrder = append(c.preOrder, pc.value)
	return pc.value
}

// Unauthorize simulates appID's administrator revoking the authorization:
// its authorizer access tokens stop working at once (40001), its refresh
// token and authorization codes with them (api_authorizer_token,
// api_get_authorizer_info and api_query_auth answer 61003), it leaves
// api_get_authorizer_list, and WeChat pushes unauthorized (§13.1; in
// Pushes). The account stays on the Network with its own state. It
// returns ErrNotAuthorized, pushing nothing, when appID has no standing
// authorization, or the push's error.
func (c *Component) Unauthorize(appID string) error {
	c.mu.Lock()
	a := c.authorizers[appID]
	if a == nil || !a.authorized {
		c.mu.Unlock()
		return ErrNotAuthorized
	}
	now := c.now()
	a.authorized = false
	a.setGrants(nil)
	a.refresh, a.oldRefresh, a.revealed = "", "", false
	a.chain = [2]*tokenRecord{}
	p := a.p
	p.mu.Lock()
	a.mu.Lock()
	for v := range a.issued {
		if t := p.tokens[v]; t != nil {
			t.kill(now)
		}
	}
	a.mu.Unlock()
	p.mu.Unlock()
	target := c.authURL
	c.mu.Unlock()
	_, err := c.push(context.Background(), wechat.InfoUnauthorized, c.signer.UnauthorizedXML(appID, now.Unix()), target, now)
	return err
}
