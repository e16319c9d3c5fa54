package wechattest

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"wechatqr/shared/wechat"
)

// Endpoint paths the Platform serves, for FailNext, Calls and CallLog.
const (
	PathToken        = "/cgi-bin/token"
	PathStableToken  = "/cgi-bin/stable_token"
	PathQRCodeCreate = "/cgi-bin/qrcode/create"
	PathShowQRCode   = "/cgi-bin/showqrcode"
	PathTagsCreate   = "/cgi-bin/tags/create"
	PathTagsGet      = "/cgi-bin/tags/get"
	PathBatchTagging = "/cgi-bin/tags/members/batchtagging"
	PathCustomSend   = "/cgi-bin/message/custom/send"
)

// Credentials NewPlatform uses for fields left empty: the §10 vectors'
// AppID, Token and EncodingAESKey, and a secret in WeChat's format (32
// lowercase hex digits).
const (
	DefaultAppID          = "wx5823bf96d3bd56c7"
	DefaultAppSecret      = "3f1e8c6a2b9d4e7f0a1c5b8d2e6f9a3c"
	DefaultToken          = "wechatqr"
	DefaultEncodingAESKey = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C"
)

// Limits are the platform's quotas and caps (§7, §8, §12). In PlatformConfig a
// zero field means the default below and a negative one means no limit.
type Limits struct {
	TokenPerDay          int           // /cgi-bin/token calls a day: 2000 (test accounts: 200)
	StableTokenPerDay    int           // stable_token calls a day: 500,000
	StableTokenPerMinute int           // stable_token calls a minute: 10,000
	ForceRefreshPerDay   int           // forced stable_token refreshes a day: 20
	ForceRefreshSpacing  time.Duration // minimum time between forced refreshes: 30 s
	QRCodePerDay         int           // qrcode/create calls a day: 100,000 (test accounts: 10,000)
	QRCodePerMinute      int           // qrcode/create calls a minute: none by default (WeChat publishes no number)
	PermanentCodes       int           // permanent codes per account: 100,000
	TagsPerAccount       int           // tags an account may create: 100 (45056)
	TagsPerUser          int           // tags a follower may hold: 20 (45059)
	WindowMessages       int           // customer-service messages per scan window: 3 (45047)
	Window               time.Duration // a scan window's length: 1 minute (45015 after)
}

// DefaultLimits are WeChat's documented numbers for a regular account.
var DefaultLimits = Limits{
	TokenPerDay:          2000,
	StableTokenPerDay:    500000,
	StableTokenPerMinute: 10000,
	ForceRefreshPerDay:   20,
	ForceRefreshSpacing:  30 * time.Second,
	QRCodePerDay:         100000,
	QRCodePerMinute:      -1,
	PermanentCodes:       100000,
	TagsPerAccount:       wechat.MaxTagsPerAccount,
	TagsPerUser:          wechat.MaxTagsPerUser,
	WindowMessages:       wechat.CustomWindowMessages,
	Window:               wechat.CustomWindowSeconds * time.Second,
}

func (l Limits) withDefaults() Limits {
	pick := func(v, d int) int {
		if v == 0 {
			return d
		}
		return v
	}
	d := DefaultLimits
	l.TokenPerDay = pick(l.TokenPerDay, d.TokenPerDay)
	l.StableTokenPerDay = pick(l.StableTokenPerDay, d.StableTokenPerDay)
	l.StableTokenPerMinute = pick(l.StableTokenPerMinute, d.StableTokenPerMinute)
	l.ForceRefreshPerDay = pick(l.ForceRefreshPerDay, d.ForceRefreshPerDay)
	l.QRCodePerDay = pick(l.QRCodePerDay, d.QRCodePerDay)
	l.QRCodePerMinute = pick(l.QRCodePerMinute, d.QRCodePerMinute)
	l.PermanentCodes = pick(l.PermanentCodes, d.PermanentCodes)
	l.TagsPerAccount = pick(l.TagsPerAccount, d.TagsPerAccount)
	l.TagsPerUser = pick(l.TagsPerUser, d.TagsPerUser)
	l.WindowMessages = pick(l.WindowMessages, d.WindowMessages)
	if l.ForceRefreshSpacing == 0 {
		l.ForceRefreshSpacing = d.ForceRefreshSpacing
	}
	if l.Window <= 0 {
		l.Window = d.Window
	}
	return l
}

// PlatformConfig describes the emulated account. Empty fields take the
// Default… values.
type PlatformConfig struct {
	AppID     string
	AppSecret string
	// Token, EncodingAESKey and OriginalID are the callback settings of the
	// account's console, used to sign and seal pushes (see Signer).
	Token          string
	EncodingAESKey string
	OriginalID     string
	// Now is the platform's clock: token lifetimes, quota days (counted in
	// China Standard Time, when WeChat resets them), code expiry, and the
	// CreateTime and timestamp of pushes. Default time.Now.
	Now func() time.Time
	// TokenTTL is the lifetime of issued tokens; default 7200 s.
	TokenTTL time.Duration
	Limits   Limits
	// BaseURL is the emulator's own address, for ShowQRCodeURL. Start sets
	// it; set it when serving the Platform from an http.Server of your own.
	BaseURL string
	// PushClient sends pushes to callback URLs; default a plain
	// *http.Client (each delivery is bounded by its own timeout).
	PushClient *http.Client
}

// Platform emulates WeChat's side of an Official Account, following
// docs/wechat.md (§7, §8, §12): the API (token, stable_token, qrcode/create and
// showqrcode, the user tags and customer-service messages of §12, with
// their checks, quotas and errcodes) as an http.Handler, and the pushes
// WeChat sends to the account's callback URL (Scan, Subscribe,
// Unsubscribe, VerifyURL). Tests reach into it with fault injection
// (FailNext), call records (Calls, CallLog) and state (Code, ClassicToken,
// Followers, Tags, UserTags, Messages, …).
//
// It is a working fake, as httptest.Server is: serve it in process with
// Start or NewServer, or from any http.Server. It is safe for concurrent
// use. Paths are matched exactly (/cgi-bin/token, …); mount it under a
// prefix with http.StripPrefix.
type Platform struct {
	cfg    PlatformConfig
	limits Limits
	signer Signer
	push   *http.Client
	done   chan struct{} // closed by Close: releases hung requests
	close  sync.Once

	mu        sync.Mutex
	baseURL   string
	srv       *httptest.Server
	counters  map[string]counter
	faults    map[string][]Fault
	calls     map[string][]*Call
	tokens    map[string]*tokenRecord
	classic   [2]*tokenRecord // the latest classic token and the one before it
	stable    *tokenRecord    // the latest stable token
	lastForce time.Time
	codes     map[string]*Code // by ticket
	order     []string         // tickets in creation order
	permanent map[string]string
	followers map[string]bool
	known     map[string]bool // every openid that ever followed: "of this account"
	tags      map[int64]*tagRecord
	tagOrder  []int64 // tag ids as tags/get lists them
	nextTagID int64
	userTags  map[string]map[int64]bool
	windows   map[string]*window
	inbox     map[string][]ReceivedMessage
	// scope, when set, is asked after a valid access token about the
	// token's right to the path: a Component's authorizer tokens answer
	// 61007 without the permission set (component.go). Called holding p.mu.
	scope func(path, token string) int
}

// NewPlatform returns an emulated account with cfg's settings.
func NewPlatform(cfg PlatformConfig) *Platform {
	def := func(s *string, d string) {
		if *s == "" {
			*s = d
		}
	}
	def(&cfg.AppID, DefaultAppID)
	def(&cfg.AppSecret, DefaultAppSecret)
	def(&cfg.Token, DefaultToken)
	def(&cfg.EncodingAESKey, DefaultEncodingAESKey)
	def(&cfg.OriginalID, DefaultOriginalID)
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.TokenTTL <= 0 {
		cfg.TokenTTL = 7200 * time.Second
	}
	push := cfg.PushClient
	if push == nil {
		push = &http.Client{}
	}
	p := &Platform{
		cfg:       cfg,
		limits:    cfg.Limits.withDefaults(),
		signer:    Signer{Token: cfg.Token, AppID: cfg.AppID, EncodingAESKey: cfg.EncodingAESKey, OriginalID: cfg.OriginalID},
		push:      push,
		done:      make(chan struct{}),
		baseURL:   strings.TrimRight(cfg.BaseURL, "/"),
		counters:  map[string]counter{},
		faults:    map[string][]Fault{},
		calls:     map[string][]*Call{},
		tokens:    map[string]*tokenRecord{},
		codes:     map[string]*Code{},
		permanent: map[string]string{},
		followers: map[string]bool{},
		known:     map[string]bool{},
		userTags:  map[string]map[int64]bool{},
		windows:   map[string]*window{},
		inbox:     map[string][]ReceivedMessage{},
	}
	p.resetTags()
	return p
}

// NewServer starts a Platform on a loopback httptest.Server. Close the
// Platform (which closes the server) when done.
func NewServer(cfg PlatformConfig) (*Platform, *httptest.Server) {
	p := NewPlatform(cfg)
	return p, p.Start()
}

// Start serves the Platform on a new loopback httptest.Server, sets
// BaseURL to it, and returns it.
func (p *Platform) Start() *httptest.Server {
	srv := httptest.NewServer(p)
	p.mu.Lock()
	p.srv = srv
	p.baseURL = srv.URL
	p.mu.Unlock()
	return srv
}

// Close releases every request held by a hang fault and closes the server
// Start made, if any. It is safe to call more than once.
func (p *Platform) Close() {
	p.close.Do(func() { close(p.done) })
	p.mu.Lock()
	srv := p.srv
	p.mu.Unlock()
	if srv != nil {
		srv.Close()
	}
}

// URL is the Platform's base URL: what a wechat.Client takes as baseURL.
func (p *Platform) URL() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.baseURL
}

// SetBaseURL sets the address ShowQRCodeURL points at, for a Platform
// served by an http.Server of your own.
func (p *Platform) SetBaseURL(u string) {
	p.mu.Lock()
	p.baseURL = strings.TrimRight(u, "/")
	p.mu.Unlock()
}

// Config returns the account's settings, defaults filled in.
func (p *Platform) Config() PlatformConfig { return p.cfg }

// Signer returns the Signer that signs this account's pushes.
func (p *Platform) Signer() Signer { return p.signer }

// Reset forgets injected faults, call records and quota usage. Tokens,
// codes, followers, tags, windows and received messages stay.
func (p *Platform) Reset() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.faults = map[string][]Fault{}
	p.calls = map[string][]*Call{}
	p.counters = map[string]counter{}
	p.lastForce = time.Time{}
}

// Call is one request the Platform received, and how it answered.
type Call struct {
	Method   string
	Path     string
	RawQuery string // as sent, before decoding
	Query    url.Values
	Body     []byte    // as received (capped at 1 MiB)
	At       time.Time // on the Platform's clock
	// Status is the HTTP status answered; 0 while the request is in
	// progress or held by a hang, and when the client went away.
	Status int
	// ErrCode is the errcode answered (HTTP 200 with errcode), 0 for a
	// success and for answers that are not errcode JSON.
	ErrCode int
	Fault   bool // answered (or held) by an injected fault
	// OpenIDs is the length of a batchtagging call's openid_list (0 for
	// other paths and for bodies that do not decode), set for faulted
	// calls too, so that tests can check the size of every batch sent.
	OpenIDs int
}

// Calls returns how many requests reached path, including those in
// progress and those answered by faults.
func (p *Platform) Calls(path string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.calls[path])
}

// CallLog returns copies of the requests that reached path, oldest first.
func (p *Platform) CallLog(path string) []Call {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make([]Call, len(p.calls[path]))
	for i, c := range p.calls[path] {
		out[i] = *c
		out[i].Body = append([]byte(nil), c.Body...)
	}
	return out
}

// maxRequestBody caps what the Platform reads of a request body.
const maxRequestBody = 1 << 20

// response is what an endpoint answers.
type response struct {
	status      int
	contentType string
	header      map[string]string
	body        []byte
	errcode     int
}

func (p *Platform) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := readRequestBody(r)
	p.serve(w, r, body, err, nil)
}

// readRequestBody reads r's body up to one byte past maxRequestBody, so
// that serve can tell a body that is too large.
func readRequestBody(r *http.Request) ([]byte, error) {
	return io.ReadAll(io.LimitReader(r.Body, maxRequestBody+1))
}

// serve records and answers r, whose body readRequestBody read (err is its
// error). logged, when not nil, gets the call's record as soon as it is in
// the log, before the answer (a Network logs it too); its Status and
// ErrCode are later written under p.mu.
func (p *Platform) serve(w http.ResponseWriter, r *http.Request, body []byte, err error, logged func(*Call)) {
	p.serveWith(w, r, body, err, logged, p.route)
}

// serveWith is serve with route answering the requests no fault answers: a
// Component records its calls in a Platform of its own and routes them to the
// component API.
func (p *Platform) serveWith(w http.ResponseWriter, r *http.Request, body []byte, err error, logged func(*Call), route func(*http.Request, []byte) response) {
	tooLarge := len(body) > maxRequestBody
	if tooLarge {
		body = body[:maxRequestBody]
	}
	call := &Call{Method: r.Method, Path: r.URL.Path, RawQuery: r.URL.RawQuery, Query: r.URL.Query(), Body: body}
	if r.URL.Path == PathBatchTagging {
		call.OpenIDs = openIDCount(body)
	}

	p.mu.Lock()
	call.At = p.cfg.Now()
	p.calls[r.URL.Path] = append(p.calls[r.URL.Path], call)
	f, faulted := p.popFault(r.URL.Path)
	call.Fault = faulted
	p.mu.Unlock()
	if logged != nil {
		logged(call)
	}

	if err != nil {
		return // the client went away mid-body: there is no one to answer
	}
	outcome := faultServe
	var res response
	if faulted {
		res, outcome = p.applyFault(r, f)
	}
	switch outcome {
	case faultGone:
		return
	case faultClosed:
		dropConnection(w)
		return
	case faultServe: // no fault, or a hang that ran its course
		if tooLarge {
			res = errcodeResponse(wechat.CodeDataFormat)
		} else {
			res = route(r, body)
		}
	}

	p.mu.Lock()
	call.Status, call.ErrCode = res.status, res.errcode
	p.mu.Unlock()
	if res.contentType != "" {
		w.Header().Set("Content-Type", res.contentType)
	}
	for k, v := range res.header {
		w.Header().Set(k, v)
	}
	w.WriteHeader(res.status)
	w.Write(res.body)
}

func (p *Platform) route(r *http.Request, body []byte) response {
	switch r.URL.Path {
	case PathToken:
		return p.serveToken(r)
	case PathStableToken:
		return p.serveStableToken(r, body)
	case PathQRCodeCreate:
		return p.serveCreateQRCode(r, body)
	case PathShowQRCode:
		return p.serveShowQRCode(r)
	case PathTagsCreate:
		return p.serveCreateTag(r, body)
	case PathTagsGet:
		return p.serveTags(r)
	case PathBatchTagging:
		return p.serveBatchTagging(r, body)
	case PathCustomSend:
		return p.serveCustomSend(r, body)
	}
	return response{status: http.StatusNotFound, contentType: "text/plain; charset=utf-8", body: []byte("404 page not found\n")}
}

// jsonContentType is the type WeChat's API answers carry (§7, observed).
const jsonContentType = "application/json; encoding=utf-8"

func jsonResponse(v any) response {
	b, err := json.Marshal(v)
	if err != nil {
		return errcodeResponse(wechat.CodeSystemBusy)
	}
	return response{status: http.StatusOK, contentType: jsonContentType, body: b}
}

// errcodeResponse is WeChat's error answer: HTTP 200 and errcode JSON with
// the usual errmsg and a request id suffix, as WeChat appends one (so that
// clients that match errmsg exactly fail here too).
func errcodeResponse(code int) response {
	return errcodeMsgResponse(code, errmsg(code)+" rid: "+rid())
}

// errcodeMsgResponse answers errcode code with msg exactly.
func errcodeMsgResponse(code int, msg string) response {
	res := jsonResponse(struct {
		ErrCode int    `json:"errcode"`
		ErrMsg  string `json:"errmsg"`
	}{code, msg})
	res.errcode = code
	return res
}

// errmsgs are the messages WeChat sends with each code (docs/wechat.md §7).
var errmsgs = map[int]string{
	wechat.CodeSystemBusy:            "system error",
	wechat.CodeInvalidCredential:     "invalid credential, access_token is invalid or not latest",
	wechat.CodeInvalidGrantType:      "invalid grant_type",
	wechat.CodeInvalidAppID:          "invalid appid",
	wechat.CodeInvalidAccessToken:    "invalid access_token",
	wechat.CodeInvalidCharset:        `invalid charset. please check your request, if include \uxxxx will create fail!`,
	wechat.CodeInvalidActionInfo:     "invalid action info, please check document",
	wechat.CodeInvalidAppSecret:      "invalid appsecret",
	wechat.CodeIPNotWhitelisted:      "invalid ip 203.0.113.7 ipv6 ::ffff:203.0.113.7, not in whitelist",
	wechat.CodeAppSecretFrozen:       "appsecret is frozen",
	wechat.CodeAccessTokenMissing:    "access_token missing",
	wechat.CodeAppIDMissing:          "appid missing",
	wechat.CodeAppSecretMissing:      "appsecret missing",
	wechat.CodeAccessTokenExpired:    "access_token expired",
	wechat.CodeRequirePOST:           "require POST method",
	wechat.CodeDailyQuota:            "reach max api daily quota limit",
	wechat.CodeMinuteQuota:           "api minute-quota reach limit, must slower, retry next minute",
	wechat.CodeQRCodeCountLimit:      "qrcode count out of limit",
	wechat.CodeDataFormat:            "data format error",
	wechat.CodeUnauthorized:          "api unauthorized",
	wechat.CodeClientIPNotRegistered: "access clientip is not registered",
	// §12's codes. Where §12 gives no errmsg, the text says what the
	// code means in WeChat's style; clients match the code only.
	wechat.CodeInvalidOpenID:      "invalid openid",
	wechat.CodeInvalidMediaID:     "invalid media_id",
	wechat.CodeInvalidMessageType: "invalid message type",
	wechat.CodeTooManyOpenIDs:     "invalid openid list size",
	wechat.CodeEmptyNews:          "empty news data",
	wechat.CodeEmptyContent:       "empty content",
	wechat.CodeArticleLimit:       "article size out of limit",
	wechat.CodeOutOfWindow:        "response out of time limit or subscription is canceled",
	wechat.CodeResponseLimit:      "out of response count limit",
	wechat.CodeAccountTagLimit:    "too many tags, the limit is 100",
	wechat.CodeUserTagLimit:       "a user in the list holds too many tags",
	wechat.CodeTagNameInvalid:     "invalid tag name, it may duplicate another tag",
	wechat.CodeTagNameTooLong:     "tag name too long",
	wechat.CodeUnknownTag:         "invalid tag id",
	wechat.CodeOpenIDNotOfAccount: "openid not belong to this appid",
}

func errmsg(code int) string {
	if m, ok := errmsgs[code]; ok {
		return m
	}
	return "errcode " + strconv.Itoa(code)
}

// rid imitates the request id WeChat appends to errmsg.
func rid() string {
	var b [8]byte
	rand.Read(b[:])
	h := hex.EncodeToString(b[:])
	return h[:8] + "-" + h[8:]
}

// counter counts calls in one window (a day or a minute).
type counter struct {
	window int64
	n      int
}

// chinaTime is the zone in which WeChat's daily quotas reset at midnight.
var chinaTime = time.FixedZone("CST", 8*3600)

func dayWindow(t time.Time) int64 {
	_, off := t.In(chinaTime).Zone()
	return (t.Unix() + int64(off)) / 86400
}

func minuteWindow(t time.Time) int64 { return t.Unix() / 60 }

// full reports whether the counter name has reached limit in window.
// A negative limit is no limit. Callers hold p.mu.
func (p *Platform) full(name string, window int64, limit int) bool {
	if limit < 0 {
		return false
	}
	c := p.counters[name]
	return c.window == window && c.n >= limit
}

// count records one call against the counter name. Callers hold p.mu.
func (p *Platform) count(name string, window int64) {
	c := p.counters[name]
	if c.window != window {
		c = counter{window: window}
	}
	c.n++
	p.counters[name] = c
}

// spendQuota counts a call against the daily and per-minute quotas of
// name, or answers the errcode of the one that is used up: 45009 for the
// day, which is checked first, else 45011. A refused call counts against
// neither. Callers hold p.mu.
func (p *Platform) spendQuota(name string, now time.Time, perDay, perMinute int) int {
	day, minute := dayWindow(now), minuteWindow(now)
	if p.full(name+"/day", day, perDay) {
		return wechat.CodeDailyQuota
	}
	if p.full(name+"/minute", minute, perMinute) {
		return wechat.CodeMinuteQuota
	}
	p.count(name+"/day", day)
	p.count(name+"/minute", minute)
	return 0
}
