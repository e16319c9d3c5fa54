package wechat

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// DefaultBaseURL is WeChat's API host, used when NewClient gets "".
const DefaultBaseURL = "https://api.weixin.qq.com"

// Defaults of the client's options.
const (
	// DefaultMaxRetries is the number of extra attempts after the first.
	DefaultMaxRetries = 2
	// DefaultBackoff is the base delay before the first retry; it doubles
	// with each retry, with jitter, up to DefaultMaxBackoff.
	DefaultBackoff    = 100 * time.Millisecond
	DefaultMaxBackoff = 2 * time.Second
	// DefaultAttemptTimeout bounds each attempt (connection, request and
	// response body) inside the caller's context. A healthy WeChat answers
	// in tens of milliseconds; two seconds leaves room for a retry inside
	// the 5 s WeChat gives a callback.
	DefaultAttemptTimeout = 2 * time.Second
)

// maxResponseBody caps what the client reads of an answer: WeChat's JSON
// answers are a few hundred bytes.
const maxResponseBody = 1 << 20

// maxErrorBody is how much of a non-2xx body an *HTTPError keeps.
const maxErrorBody = 512

// Client calls WeChat's server API: access tokens, QR codes with
// parameters, user tags and customer-service messages. It is safe for
// concurrent use.
//
// Credentials never appear in its errors: URLs in transport errors have
// their secret and access_token values replaced with REDACTED, and text
// taken from an answer has the client's secret and the call's access token
// blanked out.
type Client struct {
	baseURL        string // no trailing slash
	appID, secret  string
	secretFunc     func(context.Context) (string, error)
	httpClient     *http.Client
	maxRetries     int
	backoff        time.Duration
	maxBackoff     time.Duration
	attemptTimeout time.Duration
	sleep          func(ctx context.Context, d time.Duration) error
}

// ClientOption configures a Client in NewClient.
type ClientOption func(*Client)

// WithHTTPClient sets the *http.Client used for every request (its
// Transport, for example). The client works on a copy that does not follow
// redirects: an API endpoint never redirects, and following one would send
// the access token to wherever Location points. Its Timeout, if any, applies
// on top of the per-attempt timeout.
func WithHTTPClient(hc *http.Client) ClientOption { return func(c *Client) { c.httpClient = hc } }

// WithSecretFunc makes the client ask secret for the AppSecret at each token
// call, instead of using the one given to NewClient: the account's secret as
// last re-read, so that a rotated AppSecret is used without a restart. An
// error from secret fails the call; it must not contain the value.
func WithSecretFunc(secret func(context.Context) (string, error)) ClientOption {
	return func(c *Client) { c.secretFunc = secret }
}

// WithSecret sets the AppSecret to a fixed value. NewComponent, which has
// no secret parameter, takes its component_appsecret this way (or through
// WithSecretFunc); for NewClient it overrides the secret argument.
func WithSecret(secret string) ClientOption { return func(c *Client) { c.secret = secret } }

// WithMaxRetries sets how many extra attempts a call may make after a
// transient failure (default DefaultMaxRetries; 0 disables retries).
func WithMaxRetries(n int) ClientOption { return func(c *Client) { c.maxRetries = n } }

// WithBackoff sets the delay before the first retry and the cap on later
// ones (defaults DefaultBackoff and DefaultMaxBackoff). Each delay is
// base·2^n, capped, of which a random half is kept ("equal jitter"), so that
// instances that failed together do not retry together.
func WithBackoff(base, max time.Duration) ClientOption {
	return func(c *Client) { c.backoff, c.maxBackoff = base, max }
}

// WithAttemptTimeout bounds each attempt (default DefaultAttemptTimeout;
// 0 leaves only the caller's context).
func WithAttemptTimeout(d time.Duration) ClientOption {
	return func(c *Client) { c.attemptTimeout = d }
}

// WithSleep replaces the wait between attempts, for tests: sleep must
// return ctx.Err() (or another error) to stop retrying. The default waits
// on a timer and returns early with ctx.Err() when ctx is done.
func WithSleep(sleep func(ctx context.Context, d time.Duration) error) ClientOption {
	return func(c *Client) { c.sleep = sleep }
}

// NewClient returns a client for the API at baseURL (DefaultBaseURL when
// empty; a trailing slash is ignored; a path prefix is kept, so an emulator
// mounted under /wx works). appID and secret are needed only by Token and
// StableToken: a client that only creates QR codes with a token obtained
// elsewhere may leave them empty.
func NewClient(baseURL, appID, secret string, opts ...ClientOption) (*Client, error) {
	if baseURL == "" {
		baseURL = DefaultBaseURL
	}
	u, err := url.Parse(baseURL)
	if err != nil {
		return nil, fmt.Errorf("wechat: base URL: %w", err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return nil, fmt.Errorf("wechat: base URL %q: want http(s)://host[/path] with no query, fragment or user info", baseURL)
	}
	c := &Client{
		baseURL:        strings.TrimRight(u.String(), "/"),
		appID:          appID,
		secret:         secret,
		maxRetries:     DefaultMaxRetries,
		backoff:        DefaultBackoff,
		maxBackoff:     DefaultMaxBackoff,
		attemptTimeout: DefaultAttemptTimeout,
		sleep:          sleepCtx,
	}
	for _, opt := range opts {
		opt(c)
	}
	switch {
	case c.maxRetries < 0:
		return nil, fmt.Errorf("wechat: max retries %d < 0", c.maxRetries)
	case c.backoff < 0 || c.maxBackoff < 0:
		return nil, errors.New("wechat: negative backoff")
	case c.attemptTimeout < 0:
		return nil, errors.New("wechat: negative attempt timeout")
	case c.sleep == nil:
		return nil, errors.New("wechat: nil sleep function")
	}
	hc := http.Client{}
	if c.httpClient != nil {
		hc = *c.httpClient
	}
	hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	c.httpClient = &hc
	return c, nil
}

// AppID returns the AppID the client asks tokens for.
func (c *Client) AppID() string { return c.appID }

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// AccessToken is the answer of /cgi-bin/token and /cgi-bin/stable_token,
// and of api_component_token (whose field is component_access_token).
type AccessToken struct {
	AccessToken string `json:"access_token"`
	// ExpiresIn is the remaining lifetime in seconds: 7200 for a new token;
	// for a stable token returned again, what is left of it (≥ 300).
	ExpiresIn int64 `json:"expires_in"`
}

// Token fetches a classic access token:
// GET /cgi-bin/token?grant_type=client_credential&appid=…&secret=….
//
// Every call issues a new token and retires the previous one five minutes
// later, so only one process per account should call it (§7). Errors:
// *APIError for errcodes (40013 wrong AppID, 40125 wrong secret, 40164 IP
// not whitelisted, 45009 daily quota, …), which are not retried except -1.
//
// Unlike the other calls, Token does not retry a failure after which
// WeChat may have issued a token (a timeout, a dropped connection, a 5xx):
// each issue retires the one before it, so a blind retry could issue two
// tokens in a row, and the token that other instances still hold, which
// the first issue gave five more minutes, would die at once with the
// second. It also spends the 2000-a-day quota. Retrying is left to the
// caller, the single refresher, which knows when it last stored a token.
// Failures that prove nothing reached WeChat (errcode -1, a refused
// connection) are retried as usual.
func (c *Client) Token(ctx context.Context) (AccessToken, error) {
	secret, err := c.appSecret(ctx)
	if err != nil {
		return AccessToken{}, err
	}
	q := "grant_type=client_credential&appid=" + url.QueryEscape(c.appID) + "&secret=" + url.QueryEscape(secret)
	var tok AccessToken
	err = c.call(ctx, request{method: http.MethodGet, path: "/cgi-bin/token", query: q, retry: retryUnsent, secret: secret}, &tok)
	if err != nil {
		return AccessToken{}, err
	}
	return tok, checkToken(tok)
}

// StableToken fetches a stable access token: POST /cgi-bin/stable_token.
// Without forceRefresh, WeChat returns the same token while it has more
// than five minutes left, so calling it is idempotent and every transient
// failure is retried. With forceRefresh (at most 20 a day, 30 s apart, §7)
// the current token dies at once; the call is then retried only when
// nothing can have reached WeChat, for the reason given at Token.
func (c *Client) StableToken(ctx context.Context, forceRefresh bool) (AccessToken, error) {
	secret, err := c.appSecret(ctx)
	if err != nil {
		return AccessToken{}, err
	}
	body, err := encodeJSON(struct {
		GrantType    string `json:"grant_type"`
		AppID        string `json:"appid"`
		Secret       string `json:"secret"`
		ForceRefresh bool   `json:"force_refresh"`
	}{"client_credential", c.appID, secret, forceRefresh})
	if err != nil {
		return AccessToken{}, err
	}
	policy := retryTransient
	if forceRefresh {
		policy = retryUnsent
	}
	var tok AccessToken
	if err := c.call(ctx, request{method: http.MethodPost, path: "/cgi-bin/stable_token", body: body, retry: policy, secret: secret}, &tok); err != nil {
		return AccessToken{}, err
	}
	return tok, checkToken(tok)
}

// appSecret is the AppSecret for a token call: WithSecretFunc's, else NewClient's.
func (c *Client) appSecret(ctx context.Context) (string, error) {
	secret := c.secret
	if c.secretFunc != nil {
		s, err := c.secretFunc(ctx)
		if err != nil {
			return "", fmt.Errorf("wechat: the AppSecret: %w", err)
		}
		secret = s
	}
	if c.appID == "" || secret == "" {
		return "", fmt.Errorf("%w: the client has no AppID or secret", ErrInvalidRequest)
	}
	return secret, nil
}

func checkToken(tok AccessToken) error {
	if tok.AccessToken == "" || tok.ExpiresIn <= 0 {
		return fmt.Errorf("%w: no access_token or expires_in in a success answer", ErrInvalidResponse)
	}
	return nil
}

// encodeJSON writes v as WeChat wants it: no HTML escaping (§9: \u0026 and
// friends earn 40033) and no trailing newline.
func encodeJSON(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, fmt.Errorf("wechat: encoding request: %w", err)
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// retryPolicy says which failures of a call may be retried.
type retryPolicy int

const (
	// retryTransient: errcode -1, HTTP 5xx, network errors and timeouts,
	// for calls that are safe to repeat.
	retryTransient retryPolicy = iota
	// retryUnsent: only failures after which WeChat cannot have acted:
	// errcode -1 and connections that were never made.
	retryUnsent
	// retryUnconnected: only connections that were never made, for calls
	// whose effect a user sees twice (message/custom/send, see
	// SendCustomMessage for why -1 is not enough).
	retryUnconnected
)

type request struct {
	method, path string
	query        string // encoded, may hold credentials
	body         []byte
	retry        retryPolicy
	token        string // the access token in query, blanked out of answer text
	secret       string // the AppSecret in query or body, blanked out likewise
	// credential is one more value in the body that must not reach logs
	// (a component_verify_ticket, an authorization code, a refresh
	// token), blanked out likewise.
	credential string
}

// call runs r with retries and decodes the answer into out.
func (c *Client) call(ctx context.Context, r request, out any) error {
	for attempt := 0; ; attempt++ {
		err := c.attempt(ctx, r, out)
		if err == nil {
			return nil
		}
		if attempt >= c.maxRetries || !c.retryable(ctx, r.retry, err) {
			return err
		}
		if serr := c.sleep(ctx, c.delay(attempt)); serr != nil {
			// Both stay visible to errors.Is/As: the failure and why the
			// client stopped trying.
			return fmt.Errorf("%w (not retried: %w)", err, serr)
		}
	}
}

// retryable classifies a failed attempt. Nothing is retried once the
// caller's context is done, and nothing that is the caller's fault is
// retried at all (a wrong AppID stays wrong; a quota stays spent).
func (c *Client) retryable(ctx context.Context, policy retryPolicy, err error) bool {
	if ctx.Err() != nil {
		return false
	}
	if IsBusy(err) {
		return policy != retryUnconnected
	}
	var he *HTTPError
	if errors.As(err, &he) {
		return he.StatusCode >= 500 && policy == retryTransient
	}
	var ne *netError
	if errors.As(err, &ne) {
		return !ne.final && (ne.unsent || policy == retryTransient)
	}
	return false
}

// delay is the wait before retry number attempt+1: base·2^attempt capped at
// maxBackoff, then a random point in its upper half.
func (c *Client) delay(attempt int) time.Duration {
	d := c.backoff
	for i := 0; i < attempt && d < c.maxBackoff; i++ {
		d *= 2
	}
	if d > c.maxBackoff {
		d = c.maxBackoff
	}
	if d <= 1 {
		return d
	}
	half := d / 2
	return half + time.Duration(rand.Int64N(int64(d-half)+1))
}

func (c *Client) attempt(ctx context.Context, r request, out any) error {
	if c.attemptTimeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, c.attemptTimeout)
		defer cancel()
	}
	u := c.baseURL + r.path
	if r.query != "" {
		u += "?" + r.query
	}
	var body io.Reader
	if r.body != nil {
		body = bytes.NewReader(r.body)
	}
	req, err := http.NewRequestWithContext(ctx, r.method, u, body)
	if err != nil {
		// Nothing transient about a request that cannot be built.
		ne := c.netErr(r, err, false)
		ne.final = true
		return ne
	}
	req.Header.Set("Accept", "application/json")
	if r.body != nil {
		req.Header.Set("Content-Type", "application/json; charset=utf-8")
	}
	resp, err := c.httpClient.Do(req)
	if err != nil {
		return c.netErr(r, err, neverSent(err))
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBody+1))
	if err != nil {
		return c.netErr(r, fmt.Errorf("reading the answer: %w", err), false)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		snippet := data[:min(len(data), maxErrorBody)]
		return &HTTPError{
			Method: r.method, Path: r.path, StatusCode: resp.StatusCode,
			Body: []byte(c.scrub(string(snippet), r)),
		}
	}
	if len(data) > maxResponseBody {
		return fmt.Errorf("%w: %s %s: answer longer than %d bytes", ErrInvalidResponse, r.method, r.path, maxResponseBody)
	}
	var head struct {
		ErrCode *int   `json:"errcode"`
		ErrMsg  string `json:"errmsg"`
	}
	if err := json.Unmarshal(data, &head); err != nil {
		return fmt.Errorf("%w: %s %s: HTTP %d with a body that is not a JSON object (%d bytes, Content-Type %q)",
			ErrInvalidResponse, r.method, r.path, resp.StatusCode, len(data), resp.Header.Get("Content-Type"))
	}
	if head.ErrCode != nil && *head.ErrCode != 0 {
		return &APIError{Code: *head.ErrCode, Message: c.scrub(head.ErrMsg, r)}
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("%w: %s %s: %v", ErrInvalidResponse, r.method, r.path, err)
	}
	return nil
}

// neverSent reports whether a transport error shows that the request never
// left: the connection (or the name lookup before it) failed.
func neverSent(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "dial"
}

// scrub blanks the client's secret, the call's AppSecret and its access token
// out of text that came from the other side (an errmsg, an error page), in case
// a proxy or a misbehaving server echoes the request.
func (c *Client) scrub(s string, r request) string {
	for _, secret := range []string{c.secret, r.secret, r.token, r.credential} {
		if secret != "" {
			s = strings.ReplaceAll(s, secret, "REDACTED")
			if esc := url.QueryEscape(secret); esc != secret {
				s = strings.ReplaceAll(s, esc, "REDACTED")
			}
		}
	}
	return s
}

// netError is a failed attempt that got no HTTP answer: connection
// failures, timeouts (the attempt's or the caller's), cut bodies.
type netError struct {
	msg    string // computed once, already redacted
	err    error  // the cause, its URL redacted
	unsent bool   // the request provably never reached the server
	final  bool   // not worth retrying whatever the policy
}

func (e *netError) Error() string { return e.msg }
func (e *netError) Unwrap() error { return e.err }

// Timeout reports whether the attempt timed out, like net.Error.
func (e *netError) Timeout() bool {
	var t interface{ Timeout() bool }
	return errors.As(e.err, &t) && t.Timeout() || errors.Is(e.err, context.DeadlineExceeded)
}

// netErr wraps a transport error for return. net/http's *url.Error carries
// the full request URL, which holds the secret or the access token: the
// returned chain holds a copy with those query values replaced.
func (c *Client) netErr(r request, err error, unsent bool) *netError {
	var ue *url.Error
	if errors.As(err, &ue) {
		if err == error(ue) {
			err = &url.Error{Op: ue.Op, URL: redactURL(ue.URL), Err: ue.Err}
		} else {
			// A *url.Error deeper in the chain cannot be replaced in place;
			// keep its message, redacted, and drop the chain below it.
			err = errors.New(c.scrub(strings.ReplaceAll(err.Error(), ue.URL, redactURL(ue.URL)), r))
		}
	}
	msg := c.scrub("wechat: "+r.method+" "+r.path+": "+err.Error(), r)
	return &netError{msg: msg, err: err, unsent: unsent}
}

// credentialParams are the query parameters redactURL blanks out.
var credentialParams = []string{"access_token", "secret", "appsecret", "component_access_token"}

// redactURL replaces the values of credential parameters in raw's query
// with REDACTED. A URL it cannot parse is replaced whole.
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(URL redacted)"
	}
	q := u.Query()
	changed := false
	for _, k := range credentialParams {
		if q.Has(k) {
			q.Set(k, "REDACTED")
			changed = true
		}
	}
	if changed {
		u.RawQuery = q.Encode()
	}
	return u.String()
}
