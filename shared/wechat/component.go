package wechat

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
)

// Paths of the component API (§13.3). Every call is a POST of JSON.
const (
	pathComponentToken    = "/cgi-bin/component/api_component_token"
	pathCreatePreAuthCode = "/cgi-bin/component/api_create_preauthcode"
	pathQueryAuth         = "/cgi-bin/component/api_query_auth"
	pathAuthorizerToken   = "/cgi-bin/component/api_authorizer_token"
	pathAuthorizerInfo    = "/cgi-bin/component/api_get_authorizer_info"
	pathAuthorizerList    = "/cgi-bin/component/api_get_authorizer_list"
	pathStartPushTicket   = "/cgi-bin/component/api_start_push_ticket"
)

// MaxAuthorizerListCount is the most entries one api_get_authorizer_list
// call returns (§13.3).
const MaxAuthorizerListCount = 500

// Addresses of the authorization page an account's administrator opens to
// authorize the platform (§13.3).
const (
	ComponentLoginPage = "https://mp.weixin.qq.com/cgi-bin/componentloginpage"
	BindComponentPage  = "https://open.weixin.qq.com/wxaopen/safe/bindcomponent"
)

// authTypeOfficialAccount is the page's auth_type that offers Official
// Accounts only (§13.3: 1 accounts, 2 mini programs, 3 both).
const authTypeOfficialAccount = "1"

// Component calls the API of a WeChat third-party platform (§13.3): the
// component access token, pre-authorization codes, and the authorizers'
// tokens and details. It shares Client's machinery (retries, timeouts,
// *APIError, and the blanking of credentials out of errors) and is safe
// for concurrent use.
//
// Every call but ComponentToken and StartPushTicket takes the component
// access token, sent as the query parameter component_access_token: the
// name of the platform's 2.0 docs and of every SDK but one (§13.3, §13.9).
type Component struct {
	c *Client
}

// NewComponent returns a client for the component API at baseURL
// (DefaultBaseURL when empty) of the platform componentAppID. The
// component_appsecret, needed by ComponentToken and StartPushTicket only,
// comes from WithSecret or WithSecretFunc; the other options are
// NewClient's.
func NewComponent(baseURL, componentAppID string, opts ...ClientOption) (*Component, error) {
	if componentAppID == "" {
		return nil, errors.New("wechat: the component AppID is required")
	}
	c, err := NewClient(baseURL, componentAppID, "", opts...)
	if err != nil {
		return nil, err
	}
	return &Component{c: c}, nil
}

// AppID returns the component AppID.
func (cp *Component) AppID() string { return cp.c.appID }

// ComponentToken fetches a component access token (api_component_token)
// with the component_appsecret and the newest component_verify_ticket the
// platform was pushed (§13.1). The token lives 7200 s; refresh it well
// before (§13.3 suggests at about 1 h 50 min).
//
// Errors: 61005 / 61006 for an expired or unknown ticket (IsTicketError),
// 40013 / 40125 for a wrong AppID or secret, 45009 for the daily quota.
// Like Client.Token, it does not retry a failure after which WeChat may
// have issued a token: each issue retires the one before, so a blind
// retry could cut off the token other instances hold.
func (cp *Component) ComponentToken(ctx context.Context, ticket string) (AccessToken, error) {
	secret, err := cp.c.appSecret(ctx)
	if err != nil {
		return AccessToken{}, err
	}
	if ticket == "" {
		return AccessToken{}, fmt.Errorf("%w: empty component_verify_ticket", ErrInvalidRequest)
	}
	body, err := encodeJSON(struct {
		AppID     string `json:"component_appid"`
		AppSecret string `json:"component_appsecret"`
		Ticket    string `json:"component_verify_ticket"`
	}{cp.c.appID, secret, ticket})
	if err != nil {
		return AccessToken{}, err
	}
	var answer struct {
		Token     string `json:"component_access_token"`
		ExpiresIn int64  `json:"expires_in"`
	}
	r := request{
		method: http.MethodPost, path: pathComponentToken, body: body,
		retry: retryUnsent, secret: secret, credential: ticket,
	}
	if err := cp.c.call(ctx, r, &answer); err != nil {
		return AccessToken{}, err
	}
	tok := AccessToken{AccessToken: answer.Token, ExpiresIn: answer.ExpiresIn}
	return tok, checkToken(tok)
}

// PreAuthCode is the answer of api_create_preauthcode.
type PreAuthCode struct {
	Code string // preauthcode@@@…, for LoginPageURL or MobileAuthURL
	// ExpiresIn is its lifetime in seconds: 600 in WeChat's sample
	// answer, 1800 in its prose (§13.9). Trust the number given.
	ExpiresIn int64
}

// CreatePreAuthCode asks for a pre-authorization code, good for one
// authorization page (§13.3). Transient failures are retried: a code
// whose answer was lost is never used, which costs nothing.
func (cp *Component) CreatePreAuthCode(ctx context.Context, componentToken string) (PreAuthCode, error) {
	var answer struct {
		Code      string `json:"pre_auth_code"`
		ExpiresIn int64  `json:"expires_in"`
	}
	if err := cp.post(ctx, pathCreatePreAuthCode, componentToken, "", nil, retryTransient, &answer); err != nil {
		return PreAuthCode{}, err
	}
	if answer.Code == "" || answer.ExpiresIn <= 0 {
		return PreAuthCode{}, fmt.Errorf("%w: no pre_auth_code or expires_in in a success answer", ErrInvalidResponse)
	}
	return PreAuthCode(answer), nil
}

// Authorization is the answer of api_query_auth: the account that
// authorized the platform, a first authorizer access token, the refresh
// token to keep, and the permission sets granted.
type Authorization struct {
	AuthorizerAppID string
	AccessToken     string // the authorizer_access_token
	ExpiresIn       int64
	// RefreshToken is what AuthorizerToken takes from now on. Store it:
	// it is the only long-lived credential for the account (§13.3).
	RefreshToken string
	// FuncInfo are the permission sets granted (funcscope_category ids,
	// §13.5); see PermissionSets.GrantedBy.
	FuncInfo []int
}

// funcInfo is func_info on the wire: [{"funcscope_category":{"id":1}},…].
type funcInfo []struct {
	Category struct {
		ID int `json:"id"`
	} `json:"funcscope_category"`
}

func (f funcInfo) ids() []int {
	ids := make([]int, 0, len(f))
	for _, s := range f {
		ids = append(ids, s.Category.ID)
	}
	return ids
}

// QueryAuth exchanges an authorization code (from the redirect after the
// authorization page, or the authorized push of §13.1) for the
// Authorization (api_query_auth).
//
// Errors: 61009 / 61010 for an unknown or expired code (IsAuthCodeError),
// 61003 when the account has revoked the authorization since.
//
// The call is retried only when no connection was made. The code is meant
// for one exchange, and the exchange issues an authorizer token that
// retires the one before; after an errcode -1 WeChat may have done both,
// so even that is left to the caller, who can ask for the account's refresh
// token with AuthorizerInfo instead.
func (cp *Component) QueryAuth(ctx context.Context, componentToken, authCode string) (Authorization, error) {
	if authCode == "" {
		return Authorization{}, fmt.Errorf("%w: empty authorization code", ErrInvalidRequest)
	}
	var answer struct {
		Info struct {
			AppID        string   `json:"authorizer_appid"`
			AccessToken  string   `json:"authorizer_access_token"`
			ExpiresIn    int64    `json:"expires_in"`
			RefreshToken string   `json:"authorizer_refresh_token"`
			FuncInfo     funcInfo `json:"func_info"`
		} `json:"authorization_info"`
	}
	fields := map[string]any{"authorization_code": authCode}
	if err := cp.post(ctx, pathQueryAuth, componentToken, authCode, fields, retryUnconnected, &answer); err != nil {
		return Authorization{}, err
	}
	in := answer.Info
	if in.AppID == "" || in.AccessToken == "" || in.ExpiresIn <= 0 || in.RefreshToken == "" {
		return Authorization{}, fmt.Errorf("%w: incomplete authorization_info in a success answer", ErrInvalidResponse)
	}
	return Authorization{
		AuthorizerAppID: in.AppID, AccessToken: in.AccessToken, ExpiresIn: in.ExpiresIn,
		RefreshToken: in.RefreshToken, FuncInfo: in.FuncInfo.ids(),
	}, nil
}

// AuthorizerToken is the answer of api_authorizer_token.
type AuthorizerToken struct {
	AccessToken string // for the account's own APIs, as ?access_token= (§13.5)
	ExpiresIn   int64
	// RefreshToken is the refresh token to use next time. WeChat says it
	// stays the same while the authorization stands (§13.3), but store
	// whatever comes back: that is right whether or not it changed.
	RefreshToken string
}

// AuthorizerToken fetches an access token for the account authorizerAppID
// with its refresh token (api_authorizer_token).
//
// Errors: 61023 when the refresh token is not (or no longer) valid
// (IsRefreshTokenInvalid), 61003 when the authorization was revoked,
// 45009 for the daily quota. As for ComponentToken, a failure after which
// WeChat may have issued a token is not retried: each issue retires the
// token before it, and the call counts against a daily quota.
func (cp *Component) AuthorizerToken(ctx context.Context, componentToken, authorizerAppID, refreshToken string) (AuthorizerToken, error) {
	if authorizerAppID == "" || refreshToken == "" {
		return AuthorizerToken{}, fmt.Errorf("%w: empty authorizer AppID or refresh token", ErrInvalidRequest)
	}
	var answer struct {
		AccessToken  string `json:"authorizer_access_token"`
		ExpiresIn    int64  `json:"expires_in"`
		RefreshToken string `json:"authorizer_refresh_token"`
	}
	fields := map[string]any{"authorizer_appid": authorizerAppID, "authorizer_refresh_token": refreshToken}
	if err := cp.post(ctx, pathAuthorizerToken, componentToken, refreshToken, fields, retryUnsent, &answer); err != nil {
		return AuthorizerToken{}, err
	}
	if answer.AccessToken == "" || answer.ExpiresIn <= 0 || answer.RefreshToken == "" {
		return AuthorizerToken{}, fmt.Errorf("%w: no authorizer_access_token, expires_in or authorizer_refresh_token in a success answer", ErrInvalidResponse)
	}
	return AuthorizerToken(answer), nil
}

// AuthorizerInfo is the answer of api_get_authorizer_info: the account's
// details and its authorization.
type AuthorizerInfo struct {
	NickName      string
	HeadImg       string
	UserName      string // the original ID, gh_…: ToUserName in the account's pushes (§13.2)
	PrincipalName string
	Alias         string
	QRCodeURL     string
	// ServiceType is service_type_info.id: 0 subscription account,
	// 1 upgraded from an old account, 2 service account.
	ServiceType int
	// VerifyType is verify_type_info.id: -1 unverified, 0 verified by
	// WeChat, other values other kinds of verification. qrcode/create
	// needs a verified service account (48001 otherwise).
	VerifyType int
	// AccountStatus: 1 normal; 14 deregistered, 16 banned, 18 warned,
	// 19 frozen.
	AccountStatus int

	// From authorization_info:
	AuthorizerAppID string
	// RefreshToken is the account's current refresh token, "" until
	// QueryAuth has been called for the authorization (§13.3). It is
	// where to recover one lost or refused with 61023.
	RefreshToken string
	FuncInfo     []int
}

type idField struct {
	ID int `json:"id"`
}

// AuthorizerInfo fetches the details of the account authorizerAppID
// (api_get_authorizer_info). It only reads, so transient failures are
// retried. 61003 when the account has no standing authorization.
func (cp *Component) AuthorizerInfo(ctx context.Context, componentToken, authorizerAppID string) (AuthorizerInfo, error) {
	if authorizerAppID == "" {
		return AuthorizerInfo{}, fmt.Errorf("%w: empty authorizer AppID", ErrInvalidRequest)
	}
	var answer struct {
		Info struct {
			NickName      string  `json:"nick_name"`
			HeadImg       string  `json:"head_img"`
			UserName      string  `json:"user_name"`
			PrincipalName string  `json:"principal_name"`
			Alias         string  `json:"alias"`
			QRCodeURL     string  `json:"qrcode_url"`
			ServiceType   idField `json:"service_type_info"`
			VerifyType    idField `json:"verify_type_info"`
			AccountStatus int     `json:"account_status"`
		} `json:"authorizer_info"`
		Auth struct {
			AppID        string   `json:"authorizer_appid"`
			RefreshToken string   `json:"authorizer_refresh_token"`
			FuncInfo     funcInfo `json:"func_info"`
		} `json:"authorization_info"`
	}
	fields := map[string]any{"authorizer_appid": authorizerAppID}
	if err := cp.post(ctx, pathAuthorizerInfo, componentToken, "", fields, retryTransient, &answer); err != nil {
		return AuthorizerInfo{}, err
	}
	in, au := answer.Info, answer.Auth
	if in.UserName == "" || au.AppID == "" {
		return AuthorizerInfo{}, fmt.Errorf("%w: no user_name or authorizer_appid in a success answer", ErrInvalidResponse)
	}
	return AuthorizerInfo{
		NickName: in.NickName, HeadImg: in.HeadImg, UserName: in.UserName,
		PrincipalName: in.PrincipalName, Alias: in.Alias, QRCodeURL: in.QRCodeURL,
		ServiceType: in.ServiceType.ID, VerifyType: in.VerifyType.ID, AccountStatus: in.AccountStatus,
		AuthorizerAppID: au.AppID, RefreshToken: au.RefreshToken, FuncInfo: au.FuncInfo.ids(),
	}, nil
}

// AuthorizerList is one page of api_get_authorizer_list.
type AuthorizerList struct {
	TotalCount  int // accounts with a standing authorization, over all pages
	Authorizers []ListedAuthorizer
}

// ListedAuthorizer is one entry of AuthorizerList.
type ListedAuthorizer struct {
	AppID        string
	RefreshToken string // "" until QueryAuth has been called (§13.3)
	AuthTime     int64  // Unix seconds of the latest authorization
}

// AuthorizerList lists the accounts that authorize the platform, count
// (1..MaxAuthorizerListCount) from offset (api_get_authorizer_list). A
// count or offset out of range fails with ErrInvalidRequest before any
// request. It only reads, so transient failures are retried.
func (cp *Component) AuthorizerList(ctx context.Context, componentToken string, offset, count int) (AuthorizerList, error) {
	if count < 1 || count > MaxAuthorizerListCount || offset < 0 {
		return AuthorizerList{}, fmt.Errorf("%w: authorizer list offset %d count %d, want offset ≥ 0 and count 1..%d",
			ErrInvalidRequest, offset, count, MaxAuthorizerListCount)
	}
	var answer struct {
		TotalCount int `json:"total_count"`
		List       []struct {
			AppID        string `json:"authorizer_appid"`
			RefreshToken string `json:"refresh_token"`
			AuthTime     int64  `json:"auth_time"`
		} `json:"list"`
	}
	fields := map[string]any{"offset": offset, "count": count}
	if err := cp.post(ctx, pathAuthorizerList, componentToken, "", fields, retryTransient, &answer); err != nil {
		return AuthorizerList{}, err
	}
	out := AuthorizerList{TotalCount: answer.TotalCount, Authorizers: make([]ListedAuthorizer, 0, len(answer.List))}
	for _, e := range answer.List {
		if e.AppID == "" {
			return AuthorizerList{}, fmt.Errorf("%w: an authorizer list entry without authorizer_appid", ErrInvalidResponse)
		}
		out.Authorizers = append(out.Authorizers, ListedAuthorizer(e))
	}
	return out, nil
}

// StartPushTicket asks WeChat to resume pushing component_verify_ticket
// (api_start_push_ticket), which it stops when the authorization-event
// URL fails to answer "success". It takes the component_appsecret, not a
// token. Restarting a running service is harmless (WeChat answers "in a
// normal state"), so transient failures are retried.
func (cp *Component) StartPushTicket(ctx context.Context) error {
	secret, err := cp.c.appSecret(ctx)
	if err != nil {
		return err
	}
	body, err := encodeJSON(struct {
		AppID  string `json:"component_appid"`
		Secret string `json:"component_secret"`
	}{cp.c.appID, secret})
	if err != nil {
		return err
	}
	r := request{method: http.MethodPost, path: pathStartPushTicket, body: body, retry: retryTransient, secret: secret}
	return cp.c.call(ctx, r, &struct{}{})
}

// post makes a call that takes the component token: the body is fields
// plus component_appid, the token goes in the query, and credential (a
// code or refresh token in fields, or "") is blanked out of errors.
func (cp *Component) post(ctx context.Context, path, componentToken, credential string, fields map[string]any, policy retryPolicy, out any) error {
	if componentToken == "" {
		return fmt.Errorf("%w: empty component access token", ErrInvalidRequest)
	}
	body, err := componentBody(cp.c.appID, fields)
	if err != nil {
		return err
	}
	r := request{
		method: http.MethodPost, path: path,
		query: "component_access_token=" + url.QueryEscape(componentToken), body: body,
		retry: policy, token: componentToken, credential: credential,
	}
	return cp.c.call(ctx, r, out)
}

// componentBody encodes fields with component_appid added. encoding/json
// sorts map keys, so a body is the same bytes every time.
func componentBody(appID string, fields map[string]any) ([]byte, error) {
	m := make(map[string]any, len(fields)+1)
	for k, v := range fields {
		m[k] = v
	}
	m["component_appid"] = appID
	return encodeJSON(m)
}

// LoginPageURL is the PC authorization page for preAuthCode (§13.3),
// offering Official Accounts only (auth_type=1): the administrator scans
// it with WeChat, and is sent back to redirectURI with auth_code and
// expires_in added to its query. redirectURI must be on the platform's
// authorized domain.
func (cp *Component) LoginPageURL(preAuthCode, redirectURI string) string {
	return ComponentLoginPage + "?" + cp.authPageQuery(preAuthCode, redirectURI)
}

// MobileAuthURL is the authorization link for preAuthCode to open inside
// WeChat on a phone (§13.3), offering Official Accounts only. The
// #wechat_redirect fragment is part of the address WeChat expects.
func (cp *Component) MobileAuthURL(preAuthCode, redirectURI string) string {
	return BindComponentPage + "?action=bindcomponent&no_scan=1&" + cp.authPageQuery(preAuthCode, redirectURI) + "#wechat_redirect"
}

// authPageQuery is the page parameters in §13.3's order.
func (cp *Component) authPageQuery(preAuthCode, redirectURI string) string {
	return "component_appid=" + url.QueryEscape(cp.c.appID) +
		"&pre_auth_code=" + url.QueryEscape(preAuthCode) +
		"&redirect_uri=" + url.QueryEscape(redirectURI) +
		"&auth_type=" + authTypeOfficialAccount
}
