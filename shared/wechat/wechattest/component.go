package wechattest

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"wechatqr/shared/wechat"
)

// This file emulates WeChat's Open Platform side of a third-party platform
// ("component"). Its rules are docs/wechat.md §13, cited in these files as
// §13.x; bare §N mean docs/wechat.md, as everywhere in this package. It
// covers the component API of §13.3 with the errcodes of §13.4, the pushes
// to the authorization-event URL of §13.1, authorizers as accounts on a
// Network whose tokens carry the permission sets of §13.5, and the
// full-network release test of §13.6 (component_release.go). Choices where
// §13 is silent or §13.9 leaves a point open say so where they are made.

// Paths of the component API (§13.3), for FailNext, Calls and CallLog.
const (
	PathComponentToken    = "/cgi-bin/component/api_component_token"
	PathCreatePreAuthCode = "/cgi-bin/component/api_create_preauthcode"
	PathQueryAuth         = "/cgi-bin/component/api_query_auth"
	PathAuthorizerToken   = "/cgi-bin/component/api_authorizer_token"
	PathAuthorizerInfo    = "/cgi-bin/component/api_get_authorizer_info"
	PathAuthorizerList    = "/cgi-bin/component/api_get_authorizer_list"
	PathStartPushTicket   = "/cgi-bin/component/api_start_push_ticket"
)

// componentPrefix is what every component API path starts with.
const componentPrefix = "/cgi-bin/component/"

func init() {
	// §13.4's messages (package wechat names the codes), for the
	// Component's answers and for faults.
	for code, msg := range map[int]string{
		wechat.CodeComponentNotAuthorized: "component is not authorized by this account",
		wechat.CodeTicketExpired:          "component ticket is expired",
		wechat.CodeTicketInvalid:          "component ticket is invalid",
		wechat.CodeAPIUnauthorized:        "api is unauthorized to component",
		wechat.CodeAuthCodeInvalid:        "code is invalid",
		wechat.CodeAuthCodeExpired:        "code is expired",
		wechat.CodeInvalidComponent:       "invalid component",
		wechat.CodeRefreshTokenInvalid:    "refresh_token is invalid",
		wechat.CodeUseComponentToken:      "must use api(api_component_token) to get token for component acct",
		wechat.CodeInvalidArgs:            "invalid args",
	} {
		if _, ok := errmsgs[code]; !ok {
			errmsgs[code] = msg
		}
	}
}

// Credentials NewComponent uses for fields left empty: made-up values in
// WeChat's formats (Token: letters and digits; EncodingAESKey: 43 of
// [A-Za-z0-9]).
const (
	DefaultComponentAppID          = "wx3c0e2a7d9b4f1e65"
	DefaultComponentAppSecret      = "7d2f9a4c1e8b3f6a0c5d9e2b7a4f1c8e"
	DefaultComponentToken          = "wechatqrcomponent"
	DefaultComponentEncodingAESKey = "Qm7pXc2Vt9LrB4nKw6ZsH1yDf8GjE3aUo5TiR0vNbMc"
)

// Lifetimes (§13.1, §13.3).
const (
	// DefaultTicketInterval: a component_verify_ticket is pushed every 10 minutes.
	DefaultTicketInterval = 10 * time.Minute
	// DefaultTicketTTL: each ticket is valid 12 hours.
	DefaultTicketTTL = 12 * time.Hour
	// DefaultPreAuthCodeTTL: §13.3 quotes both 600 s (the doc's sample
	// answer) and 1800 s (its prose), and §13.9 leaves it open. The
	// Component says and enforces 600: the sample is an answer WeChat
	// gave, and the shorter life is the one a client must cope with.
	DefaultPreAuthCodeTTL = 600 * time.Second
	// DefaultAuthCodeTTL: an authorization code lives 3600 s, the lifetime
	// the authorized push states as AuthorizationCodeExpiredTime (observed
	// CreateTime+3600, §13.1). The redirect after the page still says
	// expires_in=600, as §13.3 gives it; §13.9 leaves open which one
	// WeChat enforces, and the push is what WeChat computes per code.
	DefaultAuthCodeTTL = 3600 * time.Second
	// refreshOverlap: after a re-authorization the previous refresh token
	// keeps working "about 5 min" (§13.3).
	refreshOverlap = 5 * time.Minute
)

// DefaultFuncInfo are the permission sets a Component asks for when its
// config names none: 1 message management, 2 user management, 3 account
// service (§13.5: what customer-service messages, tags and qrcode/create
// need).
var DefaultFuncInfo = []int{1, 2, 3}

// ComponentLimits are the Component's quotas. A zero field means the
// default below, a negative one no limit.
type ComponentLimits struct {
	// ComponentTokenPerDay: api_component_token calls a day, 10,000 (the
	// number one platform saw in getApiQuota, §13.7). 45009 beyond.
	ComponentTokenPerDay int
	// AuthorizerTokenPerDay: api_authorizer_token calls a day per
	// authorizer. A limit exists (45009 observed) but its number is
	// unpublished (§13.7, §13.9): none by default.
	AuthorizerTokenPerDay int
	// StartPushTicketPerDay: api_start_push_ticket calls a day. §13.9
	// leaves its quota open; the Component gives it 2000, the daily
	// quota WeChat gives an account's basic interfaces such as
	// /cgi-bin/token (§7), and answers 45009 beyond, as every quota does.
	StartPushTicketPerDay int
	// TicketFailuresToStop: consecutive ticket pushes not answered with
	// 200 "success" after which WeChat's ticket push service stops, until
	// api_start_push_ticket starts it again. WeChat's troubleshooting guide
	// names a URL that does not answer "success" as the cause of a stopped
	// service but gives no count; the Component stops after 3, the
	// "three times in total" of WeChat's retries (§6).
	TicketFailuresToStop int
}

// DefaultComponentLimits are the numbers above.
var DefaultComponentLimits = ComponentLimits{
	ComponentTokenPerDay:  10000,
	AuthorizerTokenPerDay: -1,
	StartPushTicketPerDay: 2000,
	TicketFailuresToStop:  3,
}

func (l ComponentLimits) withDefaults() ComponentLimits {
	pick := func(v, d int) int {
		if v == 0 {
			return d
		}
		return v
	}
	d := DefaultComponentLimits
	l.ComponentTokenPerDay = pick(l.ComponentTokenPerDay, d.ComponentTokenPerDay)
	l.AuthorizerTokenPerDay = pick(l.AuthorizerTokenPerDay, d.AuthorizerTokenPerDay)
	l.StartPushTicketPerDay = pick(l.StartPushTicketPerDay, d.StartPushTicketPerDay)
	l.TicketFailuresToStop = pick(l.TicketFailuresToStop, d.TicketFailuresToStop)
	return l
}

// ComponentConfig describes the emulated third-party platform. Empty
// fields take the defaults named.
type ComponentConfig struct {
	// AppID (component_appid), AppSecret (component_appsecret), and the
	// Token and EncodingAESKey of the platform's console, with which every
	// push to the platform is signed and sealed (§13.1, §13.2).
	AppID          string
	AppSecret      string
	Token          string
	EncodingAESKey string
	// AuthEventsURL is the authorization-event URL (授权事件接收URL) that
	// gets the ticket, authorized, updateauthorized and unauthorized
	// pushes (§13.1). Empty: the pushes are made and recorded but not
	// delivered. SetAuthEventsURL changes it later.
	AuthEventsURL string
	// MessageURL is the message-and-event URL (§13.2), where $APPID$
	// stands for the authorizer's appid: where the release-test messages
	// go (component_release.go) and what MessageURLFor returns.
	MessageURL string
	// FuncInfo are the permission sets the platform asks for; an
	// authorization grants at most these. Default DefaultFuncInfo.
	FuncInfo []int
	// Now is the Component's clock, and its authorizers': tickets, tokens,
	// codes and quota days (China Standard Time). Default time.Now.
	Now func() time.Time
	// TokenTTL is the lifetime of component and authorizer access tokens:
	// 7200 s (§13.3).
	TokenTTL       time.Duration
	TicketInterval time.Duration // DefaultTicketInterval
	TicketTTL      time.Duration // DefaultTicketTTL
	PreAuthCodeTTL time.Duration // DefaultPreAuthCodeTTL
	AuthCodeTTL    time.Duration // DefaultAuthCodeTTL
	// RotateRefreshTokens makes api_authorizer_token answer a new
	// authorizer_refresh_token each time, the previous one working for
	// five more minutes. §13.3 says a refresh token changes only when the
	// account authorizes again, which is the default; this is for proving
	// that a client stores whatever refresh token it is given.
	RotateRefreshTokens bool
	Limits              ComponentLimits
	// PushClient delivers the pushes; default a plain *http.Client.
	PushClient *http.Client
}

// Errors of the Component's simulation side.
var (
	// ErrNotAuthorized: the appid has no standing authorization.
	ErrNotAuthorized = errors.New("wechattest: the account has not authorized the component")
	// ErrNoURL: the push has no URL to go to (AuthEventsURL or MessageURL unset).
	ErrNoURL = errors.New("wechattest: no URL configured for the push")
	// ErrAuthPage: VisitAuthPage got a page address WeChat would not
	// serve an authorization from (wrong host or path, another
	// component_appid, no redirect_uri, an auth_type an Official Account
	// cannot use, a biz_appid of another account).
	ErrAuthPage = errors.New("wechattest: not a valid authorization page")
	// ErrPreAuthCode: the page's pre_auth_code is unknown, used or expired.
	ErrPreAuthCode = errors.New("wechattest: invalid pre_auth_code")
)

// Component emulates WeChat's side of a third-party platform (§13): the
// component API under /cgi-bin/component/ (api_component_token,
// api_create_preauthcode, api_query_auth, api_authorizer_token,
// api_get_authorizer_info, api_get_authorizer_list, api_start_push_ticket),
// the component_verify_ticket pushed every TicketInterval on its clock
// (Tick, PushTicket, Run), the authorization an administrator gives by
// scanning the page (Authorize, VisitAuthPage, Unauthorize) with its pushes,
// and the release test's messages (component_release.go).
//
// A Component lives on a Network, which takes its calls at the same base
// URL as the accounts' (as api.weixin.qq.com does): NewComponent makes one
// of its own, Network.AddComponent mounts one on an existing Network. Each
// account that authorizes it is a Platform on that Network (Authorizer),
// whose authorizer_access_tokens work on the normal /cgi-bin APIs within
// the permission sets granted (61007 outside them, §13.5).
//
// Call records and faults work as the Platform's (Calls, CallLog,
// FailNext, Reset), for the component paths. It is safe for concurrent use.
type Component struct {
	cfg    ComponentConfig
	limits ComponentLimits
	net    *Network
	ownNet bool      // NewComponent made net: Close closes it
	rec    *Platform // call records, faults, quota counters and the push client; its clock is cfg.Now
	signer Signer    // the platform's Token, key and component AppID
	wg     sync.WaitGroup
	done   chan struct{}
	once   sync.Once

	mu          sync.Mutex
	authURL     string
	msgURL      string
	tickets     map[string]time.Time // value → issued at
	newest      string
	nextTicket  time.Time
	pushing     bool // the ticket push service is running ("in a normal state")
	failures    int  // consecutive ticket pushes not answered "success"
	tokens      map[string]*tokenRecord
	chain       [2]*tokenRecord // the latest component token and the one before
	preAuth     map[string]*preAuthCode
	preOrder    []string
	codes       map[string]*authCode
	authorizers map[string]*authorizer
	authOrder   []string // appids by first authorization
	pushes      []Push
}

type preAuthCode struct {
	value     string
	expiresAt time.Time
	used      bool
}

type authCode struct {
	appID     string
	expiresAt time.Time
}

// NewComponent returns a Component with cfg's settings on a Network of its
// own, which serves the accounts that authorize it at the same base URL:
// serve the Component (ServeHTTP, Start) and both are served.
func NewComponent(cfg ComponentConfig) *Component {
	n := NewNetwork()
	c, _ := n.AddComponent(cfg) // a new Network has no component yet
	c.ownNet = true
	return c
}

// AddComponent mounts a new Component with cfg's settings on the Network:
// from then on the Network routes the /cgi-bin/component/… calls to it (by
// the body's component_appid, else the owner of the token), and its
// authorizers join the Network's accounts. It fails with ErrDuplicateAppID
// when a Component with the same AppID is mounted already.
func (n *Network) AddComponent(cfg ComponentConfig) (*Component, error) {
	def := func(s *string, d string) {
		if *s == "" {
			*s = d
		}
	}
	def(&cfg.AppID, DefaultComponentAppID)
	def(&cfg.AppSecret, DefaultComponentAppSecret)
	def(&cfg.Token, DefaultComponentToken)
	def(&cfg.EncodingAESKey, DefaultComponentEncodingAESKey)
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	dur := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	dur(&cfg.TokenTTL, 7200*time.Second)
	dur(&cfg.TicketInterval, DefaultTicketInterval)
	dur(&cfg.TicketTTL, DefaultTicketTTL)
	dur(&cfg.PreAuthCodeTTL, DefaultPreAuthCodeTTL)
	dur(&cfg.AuthCodeTTL, DefaultAuthCodeTTL)
	if cfg.FuncInfo == nil {
		cfg.FuncInfo = DefaultFuncInfo
	}
	cfg.FuncInfo = normalizeSets(cfg.FuncInfo)

	rec := NewPlatform(PlatformConfig{
		AppID: cfg.AppID, AppSecret: cfg.AppSecret, Token: cfg.Token,
		EncodingAESKey: cfg.EncodingAESKey, Now: cfg.Now, PushClient: cfg.PushClient,
	})
	c := &Component{
		cfg:         cfg,
		limits:      cfg.Limits.withDefaults(),
		net:         n,
		rec:         rec,
		signer:      Signer{Token: cfg.Token, AppID: cfg.AppID, EncodingAESKey: cfg.EncodingAESKey},
		done:        make(chan struct{}),
		authURL:     cfg.AuthEventsURL,
		msgURL:      cfg.MessageURL,
		tickets:     map[string]time.Time{},
		nextTicket:  cfg.Now(), // the first ticket is due at once
		pushing:     true,
		tokens:      map[string]*tokenRecord{},
		preAuth:     map[string]*preAuthCode{},
		codes:       map[string]*authCode{},
		authorizers: map[string]*authorizer{},
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	for _, o := range n.components {
		if o.cfg.AppID == cfg.AppID {
			return nil, fmt.Errorf("%w: component %s", ErrDuplicateAppID, cfg.AppID)
		}
	}
	n.components = append(n.components, c)
	return c, nil
}

// mounted returns the Network's Components.
func (n *Network) mounted() []*Component {
	n.mu.Lock()
	defer n.mu.Unlock()
	return slices.Clone(n.components)
}

// component picks the Component that takes r, nil when r is not a
// Component's: the /cgi-bin/component/… paths (by the body's
// component_appid, else the Component that issued the token, else the
// first, which answers as for a stranger), and /cgi-bin/token or
// stable_token asked with a component's appid, which the Component refuses
// with 61024 (§13.4).
func (n *Network) component(r *http.Request, body []byte) *Component {
	cs := n.mounted()
	if len(cs) == 0 {
		return nil
	}
	switch path := r.URL.Path; {
	case path == PathToken || path == PathStableToken:
		appID := r.URL.Query().Get("appid")
		if path == PathStableToken {
			appID = bodyString(body, "appid")
		}
		for _, c := range cs {
			if appID != "" && appID == c.cfg.AppID {
				return c
			}
		}
		return nil
	case !strings.HasPrefix(path, componentPrefix):
		return nil
	}
	if appID := bodyString(body, "component_appid"); appID != "" {
		for _, c := range cs {
			if appID == c.cfg.AppID {
				return c
			}
		}
	}
	if tok := componentToken(r.URL.Query()); tok != "" {
		for _, c := range cs {
			if c.ownsToken(tok) {
				return c
			}
		}
	}
	return cs[0]
}

// Network returns the Network the Component lives on.
func (c *Component) Network() *Network { return c.net }

// ServeHTTP serves the Component's Network: the component API and the
// authorizers' API at one address.
func (c *Component) ServeHTTP(w http.ResponseWriter, r *http.Request) { c.net.ServeHTTP(w, r) }

// Start serves the Component's Network on a loopback httptest.Server (see
// Network.Start) and returns it.
func (c *Component) Start() *httptest.Server { return c.net.Start() }

// URL is the base URL of the Component's Network.
func (c *Component) URL() string { return c.net.URL() }

// Config returns the Component's settings, defaults filled in.
func (c *Component) Config() ComponentConfig { return c.cfg }

// Signer returns the Signer of the platform's pushes: its Token, its
// EncodingAESKey, and the component AppID as the appid trailer (§13.1).
func (c *Component) Signer() Signer { return c.signer }

// SetAuthEventsURL sets the authorization-event URL (§13.1).
func (c *Component) SetAuthEventsURL(u string) {
	c.mu.Lock()
	c.authURL = u
	c.mu.Unlock()
}

// SetMessageURL sets the message-and-event URL, with $APPID$ (§13.2).
func (c *Component) SetMessageURL(u string) {
	c.mu.Lock()
	c.msgURL = u
	c.mu.Unlock()
}

// MessageURLFor is the message-and-event URL with $APPID$ replaced by
// appID, as WeChat fills it in (§13.2); "" when none is set.
func (c *Component) MessageURLFor(appID string) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return strings.ReplaceAll(c.msgURL, "$APPID$", appID)
}

// Close stops Run, waits for pushes in flight, releases requests held by
// hang faults and, for a Component made by NewComponent, closes its
// Network. Safe to call more than once.
func (c *Component) Close() {
	c.shutdown()
	if c.ownNet {
		c.net.Close()
	}
}

// shutdown is Close without the Network (Network.Close calls it).
func (c *Component) shutdown() {
	c.mu.Lock() // goPush adds to c.wg holding c.mu: after this, none will
	c.once.Do(func() { close(c.done) })
	c.mu.Unlock()
	c.rec.Close()
	c.wg.Wait()
}

// FailNext makes the next n requests to the component path fail with f
// (see Platform.FailNext).
func (c *Component) FailNext(path string, n int, f Fault) { c.rec.FailNext(path, n, f) }

// Calls returns how many requests reached the component path.
func (c *Component) Calls(path string) int { return c.rec.Calls(path) }

// CallLog returns copies of the requests that reached the component path,
// oldest first.
func (c *Component) CallLog(path string) []Call { return c.rec.CallLog(path) }

// Reset forgets injected faults, call records and quota usage.
func (c *Component) Reset() { c.rec.Reset() }

// serve records and answers r as Platform.serve does (the Component's
// records are c.rec's), with the component API's routes.
func (c *Component) serve(w http.ResponseWriter, r *http.Request, body []byte, err error, logged func(*Call)) {
	c.rec.serveWith(w, r, body, err, logged, c.route)
}

func (c *Component) route(r *http.Request, body []byte) response {
	switch r.URL.Path {
	case PathToken, PathStableToken:
		return errcodeResponse(wechat.CodeUseComponentToken)
	case PathComponentToken:
		return c.serveComponentToken(r, body)
	case PathCreatePreAuthCode:
		return c.serveCreatePreAuthCode(r, body)
	case PathQueryAuth:
		return c.serveQueryAuth(r, body)
	case PathAuthorizerToken:
		return c.serveAuthorizerToken(r, body)
	case PathAuthorizerInfo:
		return c.serveAuthorizerInfo(r, body)
	case PathAuthorizerList:
		return c.serveAuthorizerList(r, body)
	case PathStartPushTicket:
		return c.serveStartPushTicket(r, body)
	}
	return response{status: http.StatusNotFound, contentType: "text/plain; charset=utf-8", body: []byte("404 page not found\n")}
}

// now reads the Component's clock.
func (c *Component) now() time.Time { return c.cfg.Now() }

// componentToken is the token of a component call: §13.3 names it
// component_access_token (the 2.0 docs and most SDKs) or access_token (the
// current openApi docs); both are accepted, component_access_token first
// when a call carries both (§13.9).
func componentToken(q url.Values) string {
	if v := q.Get("component_access_token"); v != "" {
		return v
	}
	return q.Get("access_token")
}

// ownsToken reports whether c issued component token tok (and still
// remembers it).
func (c *Component) ownsToken(tok string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.tokens[tok] != nil
}

// randomHex returns n random bytes in lowercase hex.
func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// normalizeSets returns the sets sorted, without duplicates or values < 1.
func normalizeSets(sets []int) []int {
	out := make([]int, 0, len(sets))
	for _, s := range sets {
		if s > 0 {
			out = append(out, s)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}
