package wechattest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"sync"
	"time"
)

// Errors of the push simulation.
var (
	// ErrUnknownTicket: Scan got a ticket the Platform never issued.
	ErrUnknownTicket = errors.New("wechattest: unknown ticket")
	// ErrCodeExpired: Scan got the ticket of an expired temporary code.
	// WeChat shows the user an error and pushes nothing.
	ErrCodeExpired = errors.New("wechattest: the code has expired")
	// ErrURLRejected: VerifyURL's GET was not answered with 200 and the
	// echostr verbatim, so the console would refuse the URL.
	ErrURLRejected = errors.New("wechattest: callback URL verification failed")
)

// DefaultDeliveryTimeout is how long WeChat waits for the callback's
// answer before it drops the connection (§6).
const DefaultDeliveryTimeout = 5 * time.Second

// maxReplyBody caps what a delivery reads of the callback's answer.
const maxReplyBody = 1 << 20

// PushOption changes how a push is delivered.
type PushOption func(*pushOptions)

type pushOptions struct {
	times      int
	concurrent bool
	timeout    time.Duration
	retries    int
}

// Repeat delivers the same push n times (default 1): the same query and
// body each time, as a test of deduplication. Whether WeChat's own retries
// carry a new timestamp, nonce or signature is UNCONFIRMED (§11.3); the
// Platform repeats them unchanged, the case a handler is most likely to
// get wrong if it keys on them.
func Repeat(n int) PushOption { return func(o *pushOptions) { o.times = n } }

// Concurrently makes Repeat's deliveries at once instead of one after the
// other, as overlapping retries of a slow handler arrive.
func Concurrently() PushOption { return func(o *pushOptions) { o.concurrent = true } }

// DeliveryTimeout bounds each delivery (default DefaultDeliveryTimeout).
func DeliveryTimeout(d time.Duration) PushOption { return func(o *pushOptions) { o.timeout = d } }

// RetryOnFailure delivers again, up to n more times, after a delivery that
// got no HTTP answer (timed out or could not connect), as WeChat does.
// WeChat's "three times in total" reads as 2 or 3 retries (§11.3).
func RetryOnFailure(n int) PushOption { return func(o *pushOptions) { o.retries = n } }

// Delivery is one POST of a push (or VerifyURL's GET) and its answer.
type Delivery struct {
	Status int // HTTP status; 0 when no answer arrived
	Header http.Header
	Body   []byte // the answer as sent (capped at 1 MiB)
	// Reply is Body opened as WeChat would (Signer.OpenReply): the inner
	// reply XML of a sealed reply, otherwise Body unchanged ("success", an
	// empty body, a plaintext reply). Set for status 200 only.
	Reply    []byte
	Err      error // no answer, a cut body, or a reply that fails to open
	Duration time.Duration
}

// Push is a push the Platform sent and what came back.
type Push struct {
	Event   string     // subscribe, SCAN, unsubscribe, or "" for other messages
	Message []byte     // the inner message XML, before sealing
	Query   url.Values // signature, timestamp, nonce, openid[, encrypt_type, msg_signature]
	Body    []byte     // the POST body: Message, or its envelope in the encrypted modes
	// Deliveries are the POSTs made, in order of starting.
	Deliveries []Delivery
}

// Reply returns the opened reply of the first delivery answered with 200,
// or nil.
func (p Push) Reply() []byte {
	for _, d := range p.Deliveries {
		if d.Status == http.StatusOK && d.Err == nil {
			return d.Reply
		}
	}
	return nil
}

// Status returns the HTTP status of the first delivery (0 if it got no
// answer).
func (p Push) Status() int {
	if len(p.Deliveries) == 0 {
		return 0
	}
	return p.Deliveries[0].Status
}

// Follow marks openids as following the account, without a push. Each
// gets a fresh customer-service window, as a follow gives (§12).
func (p *Platform) Follow(openids ...string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := p.cfg.Now()
	for _, o := range openids {
		p.followers[o] = true
		p.known[o] = true
		p.openWindow(o, now)
	}
}

// Following reports whether openid follows the account.
func (p *Platform) Following(openid string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.followers[openid]
}

// Followers returns the account's followers, sorted.
func (p *Platform) Followers() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make([]string, 0, len(p.followers))
	for o, ok := range p.followers {
		if ok {
			out = append(out, o)
		}
	}
	slices.Sort(out)
	return out
}

// Scan simulates openid scanning the code with this ticket: WeChat pushes
// subscribe with EventKey qrscene_<scene> and the Ticket when openid does
// not follow the account yet (and openid then follows it), or SCAN with
// EventKey <scene> when it does (§5). The push is signed, and sealed in the
// Compatible and Safe modes, by the account's Signer, with the Platform's
// clock as CreateTime and timestamp.
//
// The returned error is ErrUnknownTicket or ErrCodeExpired (nothing is
// sent; WeChat would push nothing), a reply that does not open (a bad
// MsgSignature, say), or, when no delivery got an answer, the first
// failure. An answer with a status other than 200 is not an error: look at
// Push.Status. The follow takes effect whatever the callback answers, as
// it does on WeChat, and so does the customer-service window the scan
// opens (Limits.WindowMessages within Limits.Window, §12): it opens before
// the push is delivered, as the user's scan precedes WeChat's push.
func (p *Platform) Scan(ctx context.Context, callbackURL, openid, ticket string, mode Mode, opts ...PushOption) (Push, error) {
	p.mu.Lock()
	c, ok := p.codes[ticket]
	var code Code
	if ok {
		code = *c
	}
	now := p.cfg.Now()
	p.mu.Unlock()
	switch {
	case !ok:
		return Push{}, ErrUnknownTicket
	case code.Expired(now):
		return Push{}, ErrCodeExpired
	}
	return p.scan(ctx, callbackURL, openid, code.Scene, ticket, mode, opts)
}

// ScanScene is Scan by scene value: it uses the newest live code with that
// scene, or, when there is none, a made-up ticket (a scan of a code the
// Platform did not create, as when the tests' codes come from elsewhere).
func (p *Platform) ScanScene(ctx context.Context, callbackURL, openid, scene string, mode Mode, opts ...PushOption) (Push, error) {
	p.mu.Lock()
	now := p.cfg.Now()
	ticket := ""
	for i := len(p.order) - 1; i >= 0; i-- {
		if c := p.codes[p.order[i]]; c.Scene == scene && !c.Expired(now) {
			ticket = c.Ticket
			break
		}
	}
	p.mu.Unlock()
	if ticket == "" {
		ticket = newTicket("http://weixin.qq.com/q/" + randomID(20))
	}
	return p.scan(ctx, callbackURL, openid, scene, ticket, mode, opts)
}

func (p *Platform) scan(ctx context.Context, callbackURL, openid, scene, ticket string, mode Mode, opts []PushOption) (Push, error) {
	if openid == "" {
		return Push{}, errors.New("wechattest: empty openid")
	}
	o, err := pushOpts(opts)
	if err != nil {
		return Push{}, err // before the follow: a push that cannot be made changes nothing
	}
	p.mu.Lock()
	following := p.followers[openid]
	p.followers[openid] = true
	p.known[openid] = true
	now := p.cfg.Now()
	p.openWindow(openid, now)
	p.mu.Unlock()
	if following {
		return p.deliver(ctx, callbackURL, "SCAN", p.signer.ScanXML(openid, scene, now.Unix(), ticket), mode, o)
	}
	return p.deliver(ctx, callbackURL, "subscribe", p.signer.SubscribeXML(openid, scene, now.Unix(), ticket), mode, o)
}

// Subscribe simulates openid following the account without a code (from
// a search or a name card): openid follows it, gets a customer-service
// window as after a scan (§12), and WeChat pushes a subscribe without
// EventKey or Ticket. Subscribing a follower again pushes anyway, as a
// test may want.
func (p *Platform) Subscribe(ctx context.Context, callbackURL, openid string, mode Mode, opts ...PushOption) (Push, error) {
	if openid == "" {
		return Push{}, errors.New("wechattest: empty openid")
	}
	o, err := pushOpts(opts)
	if err != nil {
		return Push{}, err
	}
	p.mu.Lock()
	p.followers[openid] = true
	p.known[openid] = true
	now := p.cfg.Now()
	p.openWindow(openid, now)
	p.mu.Unlock()
	return p.deliver(ctx, callbackURL, "subscribe", p.signer.SubscribeXML(openid, "", now.Unix(), ""), mode, o)
}

// Unsubscribe simulates openid unfollowing the account: openid no longer
// follows it (and its customer-service window closes), and WeChat pushes
// unsubscribe (whose reply reaches no one). Its tags stay.
func (p *Platform) Unsubscribe(ctx context.Context, callbackURL, openid string, mode Mode, opts ...PushOption) (Push, error) {
	o, err := pushOpts(opts)
	if err != nil {
		return Push{}, err
	}
	p.mu.Lock()
	delete(p.followers, openid)
	delete(p.windows, openid)
	now := p.cfg.Now()
	p.mu.Unlock()
	return p.deliver(ctx, callbackURL, "unsubscribe", p.signer.UnsubscribeXML(openid, now.Unix()), mode, o)
}

// Send pushes any message built with the Signer (a text message, a plain
// subscribe, malformed XML…) to callbackURL, signed and sealed for mode,
// with the Platform's clock as timestamp. Follow state does not change.
func (p *Platform) Send(ctx context.Context, callbackURL string, message []byte, mode Mode, opts ...PushOption) (Push, error) {
	o, err := pushOpts(opts)
	if err != nil {
		return Push{}, err
	}
	return p.deliver(ctx, callbackURL, "", message, mode, o)
}

func pushOpts(opts []PushOption) (pushOptions, error) {
	o := pushOptions{times: 1, timeout: DefaultDeliveryTimeout}
	for _, opt := range opts {
		opt(&o)
	}
	if o.times < 1 || o.retries < 0 || o.timeout <= 0 {
		return o, fmt.Errorf("wechattest: bad push options: %d deliveries, %d retries, timeout %v", o.times, o.retries, o.timeout)
	}
	return o, nil
}

func (p *Platform) deliver(ctx context.Context, callbackURL, event string, inner []byte, mode Mode, o pushOptions) (Push, error) {
	query, body, err := p.signer.Push(inner, mode, p.cfg.Now().Unix(), newNonce())
	if err != nil {
		return Push{}, err
	}
	target, err := withQuery(callbackURL, query)
	if err != nil {
		return Push{}, err
	}
	push := Push{Event: event, Message: inner, Query: query, Body: body}

	// chain is one delivery and the retries it earns.
	chain := func() []Delivery {
		var ds []Delivery
		for try := 0; try <= o.retries; try++ {
			d := p.post(ctx, target, body, o.timeout)
			ds = append(ds, d)
			if d.Status != 0 || ctx.Err() != nil {
				break
			}
		}
		return ds
	}
	chains := make([][]Delivery, o.times)
	if o.concurrent {
		var wg sync.WaitGroup
		for i := range chains {
			wg.Go(func() { chains[i] = chain() })
		}
		wg.Wait()
	} else {
		for i := range chains {
			chains[i] = chain()
		}
	}
	for _, c := range chains {
		push.Deliveries = append(push.Deliveries, c...)
	}
	return push, deliveryError(push.Deliveries)
}

// deliveryError is what a push reports: a reply that came back but would
// not open (or was cut), else, when no delivery got an answer at all, the
// first failure. Failures followed by an answered retry are not errors:
// that is the retry doing its job, and Push.Deliveries shows them.
func deliveryError(ds []Delivery) error {
	answered := false
	for _, d := range ds {
		if d.Status != 0 {
			answered = true
			if d.Err != nil {
				return d.Err
			}
		}
	}
	if !answered && len(ds) > 0 {
		return ds[0].Err
	}
	return nil
}

// post makes one delivery, as WeChat's servers do: a POST of text/xml,
// given up after timeout.
func (p *Platform) post(ctx context.Context, target string, body []byte, timeout time.Duration) Delivery {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	start := time.Now()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(body))
	if err != nil {
		return Delivery{Err: err}
	}
	req.Header.Set("Content-Type", "text/xml")
	req.Header.Set("User-Agent", "Mozilla/4.0")
	d := p.do(req)
	d.Duration = time.Since(start)
	if d.Err == nil && d.Status == http.StatusOK {
		reply, err := p.signer.OpenReply(d.Body)
		if err != nil {
			d.Err = fmt.Errorf("wechattest: opening the reply: %w", err)
		}
		d.Reply = reply
	}
	return d
}

func (p *Platform) do(req *http.Request) Delivery {
	resp, err := p.push.Do(req)
	if err != nil {
		return Delivery{Err: fmt.Errorf("wechattest: delivering to the callback: %w", err)}
	}
	defer resp.Body.Close()
	d := Delivery{Status: resp.StatusCode, Header: resp.Header}
	d.Body, err = io.ReadAll(io.LimitReader(resp.Body, maxReplyBody))
	if err != nil {
		d.Err = fmt.Errorf("wechattest: reading the callback's answer: %w", err)
	}
	return d
}

// VerifyURL sends the GET with which the console checks a callback URL
// (§2): signature, timestamp, nonce and echostr. The URL is accepted when
// the answer is 200 with echostr verbatim; otherwise the error is
// ErrURLRejected (or the transport failure).
func (p *Platform) VerifyURL(ctx context.Context, callbackURL, echostr string) (Delivery, error) {
	target, err := withQuery(callbackURL, p.signer.Verification(echostr, p.cfg.Now().Unix(), newNonce()))
	if err != nil {
		return Delivery{}, err
	}
	ctx, cancel := context.WithTimeout(ctx, DefaultDeliveryTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
	if err != nil {
		return Delivery{}, err
	}
	start := time.Now()
	d := p.do(req)
	d.Duration = time.Since(start)
	if d.Err != nil {
		return d, d.Err
	}
	if d.Status != http.StatusOK || string(d.Body) != echostr {
		return d, fmt.Errorf("%w: HTTP %d, %d bytes", ErrURLRejected, d.Status, len(d.Body))
	}
	return d, nil
}

// withQuery adds query to the callback URL's own query.
func withQuery(callbackURL string, query url.Values) (string, error) {
	u, err := url.Parse(callbackURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", fmt.Errorf("wechattest: callback URL %q: want http(s)://host/…", callbackURL)
	}
	q := u.Query()
	for k, v := range query {
		q[k] = v
	}
	u.RawQuery = q.Encode()
	return u.String(), nil
}

// newNonce returns a nonce like WeChat's: a decimal number of up to ten
// digits.
func newNonce() string {
	var b [4]byte
	rand.Read(b[:])
	return strconv.FormatUint(uint64(binary.BigEndian.Uint32(b[:])), 10)
}
