package wechattest

import (
	"context"
	"crypto/rand"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"time"

	"wechatqr/shared/wechat"
)

// The answer a platform gives a push, and the shape of a ticket (§13.1).
// The InfoType values are package wechat's Info constants.
const (
	componentPushSuccess  = "success"
	componentTicketPrefix = "ticket@@@"
)

// componentHead starts a push of the authorization-event URL: AppId (the
// component AppID, s.AppID), CreateTime (bare) and InfoType, as §13.1's
// samples have them.
func (s Signer) componentHead(createTime int64, infoType string) []byte {
	b := make([]byte, 0, 512)
	b = append(b, "<xml>"...)
	b = appendElem(b, "AppId", s.AppID)
	b = append(b, "<CreateTime>"...)
	b = strconv.AppendInt(b, createTime, 10)
	b = append(b, "</CreateTime>"...)
	return appendElem(b, "InfoType", infoType)
}

// ComponentVerifyTicketXML is the decrypted component_verify_ticket push
// (§13.1), s.AppID being the component AppID.
func (s Signer) ComponentVerifyTicketXML(ticket string, createTime int64) []byte {
	b := s.componentHead(createTime, wechat.InfoVerifyTicket)
	b = appendElem(b, "ComponentVerifyTicket", ticket)
	return append(b, "</xml>"...)
}

// AuthorizationXML is the decrypted authorized or updateauthorized push
// (infoType, §13.1): AuthorizerAppid, AuthorizationCode,
// AuthorizationCodeExpiredTime (a Unix time, in CDATA as in the sample)
// and PreAuthCode.
func (s Signer) AuthorizationXML(infoType, authorizerAppID, authCode string, codeExpiredTime int64, preAuthCode string, createTime int64) []byte {
	b := s.componentHead(createTime, infoType)
	b = appendElem(b, "AuthorizerAppid", authorizerAppID)
	b = appendElem(b, "AuthorizationCode", authCode)
	b = appendElem(b, "AuthorizationCodeExpiredTime", strconv.FormatInt(codeExpiredTime, 10))
	b = appendElem(b, "PreAuthCode", preAuthCode)
	return append(b, "</xml>"...)
}

// UnauthorizedXML is the decrypted unauthorized push (§13.1).
func (s Signer) UnauthorizedXML(authorizerAppID string, createTime int64) []byte {
	b := s.componentHead(createTime, wechat.InfoUnauthorized)
	b = appendElem(b, "AuthorizerAppid", authorizerAppID)
	return append(b, "</xml>"...)
}

// ComponentPush builds the POST WeChat sends to a third-party platform's
// authorization-event URL (§13.1) for the decrypted message inner: the
// query signature, timestamp, nonce, encrypt_type=aes and msg_signature,
// and the body <xml><AppId>…</AppId><Encrypt>…</Encrypt></xml>, sealed with
// the platform's Token and EncodingAESKey and the component AppID (s.AppID)
// as the appid trailer. There is no openid and no plaintext mode.
func (s Signer) ComponentPush(inner []byte, timestamp int64, nonce string) (query url.Values, body []byte, err error) {
	enc, err := s.encrypt(inner)
	if err != nil {
		return nil, nil, err
	}
	ts := strconv.FormatInt(timestamp, 10)
	query = url.Values{
		"signature":     {wechat.Sign(s.Token, ts, nonce)},
		"timestamp":     {ts},
		"nonce":         {nonce},
		"encrypt_type":  {"aes"},
		"msg_signature": {wechat.Sign(s.Token, ts, nonce, enc)},
	}
	b := []byte("<xml>")
	b = appendElem(b, "AppId", s.AppID)
	b = appendElem(b, "Encrypt", enc)
	return query, append(b, "</xml>"...), nil
}

// push signs, seals and delivers a push of the authorization-event URL
// target (no delivery when it is ""), and records it (Pushes). Push.Event
// is the InfoType.
func (c *Component) push(ctx context.Context, infoType string, inner []byte, target string, now time.Time) (Push, error) {
	query, body, err := c.signer.ComponentPush(inner, now.Unix(), newNonce())
	if err != nil {
		return Push{}, err
	}
	push := Push{Event: infoType, Message: inner, Query: query, Body: body}
	if target == "" {
		err = ErrNoURL
	} else if u, uerr := withQuery(target, query); uerr != nil {
		err = uerr
	} else {
		push.Deliveries = []Delivery{c.rec.post(ctx, u, body, DefaultDeliveryTimeout)}
		err = deliveryError(push.Deliveries)
	}
	c.mu.Lock()
	c.pushes = append(c.pushes, push)
	c.mu.Unlock()
	return push, err
}

// Pushes returns the pushes the Component made to its authorization-event
// URL, oldest first (Push.Event is the InfoType). Pushes started by
// api_start_push_ticket appear once delivered: see WaitPushes.
func (c *Component) Pushes() []Push {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.pushes)
}

// WaitPushes waits for the pushes the Component makes in the background
// (api_start_push_ticket's ticket) to be delivered.
func (c *Component) WaitPushes() { c.wg.Wait() }

// goPush runs push in the background, tracked by WaitPushes and cancelled
// by Close. Callers hold c.mu.
func (c *Component) goPush(push func(ctx context.Context)) {
	select {
	case <-c.done:
		return
	default:
	}
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		go func() {
			select {
			case <-c.done:
				cancel()
			case <-ctx.Done():
			}
		}()
		push(ctx)
	}()
}

// accepted reports whether a push got what §13.1 asks of the platform: 200
// and the plain string "success".
func accepted(p Push) bool {
	for _, d := range p.Deliveries {
		if d.Err == nil && d.Status == http.StatusOK && string(d.Body) == componentPushSuccess {
			return true
		}
	}
	return false
}

// randomChars returns n characters of the token alphabet.
func randomChars(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	for i := range b {
		b[i] = tokenChars[int(b[i])%len(tokenChars)]
	}
	return string(b)
}

// PushTicket issues a new component_verify_ticket now and pushes it to the
// authorization-event URL, whether or not the push service is running (a
// test's way to make WeChat push at once). A push not answered 200
// "success" counts towards TicketFailuresToStop; one that is resets the
// count. The ticket is valid from now on, delivered or not.
func (c *Component) PushTicket(ctx context.Context) (Push, error) {
	c.mu.Lock()
	now := c.now()
	ticket := componentTicketPrefix + randomChars(86)
	for {
		if _, dup := c.tickets[ticket]; !dup {
			break
		}
		ticket = componentTicketPrefix + randomChars(86)
	}
	c.tickets[ticket] = now
	c.newest = ticket
	for v, at := range c.tickets {
		if now.Sub(at) > c.cfg.TicketTTL+24*time.Hour {
			delete(c.tickets, v)
		}
	}
	target := c.authURL
	c.mu.Unlock()

	push, err := c.push(ctx, wechat.InfoVerifyTicket, c.signer.ComponentVerifyTicketXML(ticket, now.Unix()), target, now)
	c.mu.Lock()
	if accepted(push) {
		c.failures = 0
	} else {
		c.failures++
		if c.limits.TicketFailuresToStop > 0 && c.failures >= c.limits.TicketFailuresToStop {
			c.pushing = false
		}
	}
	c.mu.Unlock()
	return push, err
}

// Tick pushes a ticket when one is due on the Component's clock: the first
// at once, then every TicketInterval after it (a push that was missed
// while the clock jumped is not made up for: one push, and the schedule
// moves to the next interval after now). Nothing is due while the push
// service is stopped. It reports whether it pushed.
func (c *Component) Tick(ctx context.Context) (Push, bool, error) {
	c.mu.Lock()
	now := c.now()
	due := c.pushing && !now.Before(c.nextTicket)
	if due {
		for !c.nextTicket.After(now) {
			c.nextTicket = c.nextTicket.Add(c.cfg.TicketInterval)
		}
	}
	c.mu.Unlock()
	if !due {
		return Push{}, false, nil
	}
	push, err := c.PushTicket(ctx)
	return push, true, err
}

// Run calls Tick every poll (real time) until ctx is done or the Component
// is closed: the ticket cycle for a Component on a real clock, such as a
// local stack's.
func (c *Component) Run(ctx context.Context, poll time.Duration) {
	t := time.NewTicker(poll)
	defer t.Stop()
	for {
		c.Tick(ctx)
		select {
		case <-ctx.Done():
			return
		case <-c.done:
			return
		case <-t.C:
		}
	}
}

// NewestTicket returns the latest component_verify_ticket issued.
func (c *Component) NewestTicket() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.newest
}

// NextTicketAt returns when Tick will push the next ticket.
func (c *Component) NextTicketAt() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.nextTicket
}

// TicketPushing reports whether the ticket push service runs ("in a
// normal state").
func (c *Component) TicketPushing() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.pushing
}

// StopTicketPush stops the ticket push service, as WeChat does after
// failed pushes, until api_start_push_ticket starts it.
func (c *Component) StopTicketPush() {
	c.mu.Lock()
	c.pushing = false
	c.mu.Unlock()
}
