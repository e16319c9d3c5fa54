// Package wechattest is the platform side of package wechat, for tests: a
// Signer that builds callback requests exactly as WeChat's servers send them
// (event and message XML, query signatures, the compatible and safe
// encryption modes) and opens the replies a handler sends back. It plays the
// role stripe's GenerateTestSignedPayload plays for stripe webhooks, so tests
// never re-implement the algorithm, and it is the base of the platform
// emulator.
package wechattest

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"

	"wechatqr/shared/wechat"
)

// DefaultOriginalID is the account's original ID (ToUserName of every push)
// when Signer.OriginalID is empty.
const DefaultOriginalID = "gh_0123456789ab"

// Mode is the message mode set in the account's console (§1).
type Mode int

const (
	// Plaintext: the body is the message XML; no encrypt_type or
	// msg_signature.
	Plaintext Mode = iota
	// Compatible: the body is the message XML plus an Encrypt element.
	Compatible
	// Safe: the body holds only ToUserName and Encrypt.
	Safe
)

func (m Mode) String() string {
	switch m {
	case Plaintext:
		return "plaintext"
	case Compatible:
		return "compatible"
	case Safe:
		return "safe"
	}
	return "Mode(" + strconv.Itoa(int(m)) + ")"
}

// Signer holds an account's callback configuration, as WeChat's servers
// know it. The zero value signs with an empty Token; Compatible and Safe
// need EncodingAESKey and AppID.
type Signer struct {
	Token          string
	AppID          string
	EncodingAESKey string
	// OriginalID is the account's gh_ ID; DefaultOriginalID when empty.
	OriginalID string
	// PreviousToken and PreviousEncodingAESKey are the values before a
	// rotation, as an instance that keeps both holds them; Using signs and
	// seals with them.
	PreviousToken          string
	PreviousEncodingAESKey string
	// Rand, when set, supplies the 16-byte random prefix of each encryption,
	// for reproducible bodies; nil means crypto/rand. Reads consume it.
	Rand io.Reader
}

// Using returns the Signer that signs with the token's value (Current: Token,
// Previous: PreviousToken) and seals and opens with the key's
// (EncodingAESKey or PreviousEncodingAESKey): WeChat's side before or during a
// rotation. Its OpenReply accepts only a reply signed and sealed with exactly
// those values, which is how a test sees that a reply went back under the
// values its push came with.
func (s Signer) Using(token, key wechat.Generation) Signer {
	out := s
	if token == wechat.Previous {
		out.Token = s.PreviousToken
	}
	if key == wechat.Previous {
		out.EncodingAESKey = s.PreviousEncodingAESKey
	}
	out.PreviousToken, out.PreviousEncodingAESKey = "", ""
	return out
}

func (s Signer) originalID() string {
	if s.OriginalID == "" {
		return DefaultOriginalID
	}
	return s.OriginalID
}

// SubscribeXML is the event WeChat pushes when a user follows the account.
// With a scene, the follow came through a QR code with parameters:
// EventKey is "qrscene_"+scene and Ticket is the code's ticket. With scene
// "" it is a plain follow (search, name card): no EventKey and no Ticket.
func (s Signer) SubscribeXML(openid, scene string, createTime int64, ticket string) []byte {
	b := s.eventHead(openid, createTime, "subscribe")
	if scene != "" {
		b = appendElem(b, "EventKey", "qrscene_"+scene)
		b = appendElem(b, "Ticket", ticket)
	}
	return append(b, "</xml>"...)
}

// ScanXML is the event WeChat pushes when a user who already follows the
// account scans a QR code with parameters: EventKey is the bare scene.
func (s Signer) ScanXML(openid, scene string, createTime int64, ticket string) []byte {
	b := s.eventHead(openid, createTime, "SCAN")
	b = appendElem(b, "EventKey", scene)
	b = appendElem(b, "Ticket", ticket)
	return append(b, "</xml>"...)
}

// UnsubscribeXML is the event WeChat pushes when a user unfollows.
func (s Signer) UnsubscribeXML(openid string, createTime int64) []byte {
	return append(s.eventHead(openid, createTime, "unsubscribe"), "</xml>"...)
}

// TextXML is a text message from a user.
func (s Signer) TextXML(openid, content string, createTime int64, msgID uint64) []byte {
	b := s.head(openid, createTime, "text")
	b = appendElem(b, "Content", content)
	b = append(b, "<MsgId>"...)
	b = strconv.AppendUint(b, msgID, 10)
	return append(b, "</MsgId></xml>"...)
}

func (s Signer) eventHead(openid string, createTime int64, event string) []byte {
	return appendElem(s.head(openid, createTime, "event"), "Event", event)
}

func (s Signer) head(openid string, createTime int64, msgType string) []byte {
	b := make([]byte, 0, 512)
	b = append(b, "<xml>"...)
	b = appendElem(b, "ToUserName", s.originalID())
	b = appendElem(b, "FromUserName", openid)
	b = append(b, "<CreateTime>"...)
	b = strconv.AppendInt(b, createTime, 10)
	b = append(b, "</CreateTime>"...)
	return appendElem(b, "MsgType", msgType)
}

// appendElem writes <name><![CDATA[value]]></name> the way WeChat does:
// always a CDATA section, even for an empty value, with a "]]>" inside value
// split across two sections.
func appendElem(b []byte, name, value string) []byte {
	b = append(b, '<')
	b = append(b, name...)
	b = append(b, "><![CDATA["...)
	b = append(b, strings.ReplaceAll(value, "]]>", "]]]]><![CDATA[>")...)
	b = append(b, "]]></"...)
	b = append(b, name...)
	return append(b, '>')
}

// Push builds the POST that WeChat sends for the message inner in the given
// mode: the query (signature, timestamp, nonce, openid, and for Compatible
// and Safe encrypt_type=aes and msg_signature) and the body. openid is
// inner's FromUserName, omitted when inner has none. In Safe mode the body
// is <xml><ToUserName>…</ToUserName><Encrypt>…</Encrypt></xml>, ToUserName
// being inner's (or OriginalID when inner has none). In Compatible mode it
// is inner with an Encrypt element added as its last child (where WeChat
// places it among the children is not documented; a parser must not care).
// inner is sent as given, so tests can push malformed XML.
func (s Signer) Push(inner []byte, mode Mode, timestamp int64, nonce string) (query url.Values, body []byte, err error) {
	ts := strconv.FormatInt(timestamp, 10)
	query = url.Values{
		"signature": {wechat.Sign(s.Token, ts, nonce)},
		"timestamp": {ts},
		"nonce":     {nonce},
	}
	m, _ := wechat.ParseMessage(inner) // malformed inner: no openid, default ToUserName
	if m.FromUserName != "" {
		query.Set("openid", m.FromUserName)
	}
	if mode == Plaintext {
		return query, bytes.Clone(inner), nil
	}
	if mode != Compatible && mode != Safe {
		return nil, nil, fmt.Errorf("wechattest: unknown mode %v", mode)
	}

	enc, err := s.encrypt(inner)
	if err != nil {
		return nil, nil, err
	}
	query.Set("encrypt_type", "aes")
	query.Set("msg_signature", wechat.Sign(s.Token, ts, nonce, enc))

	if mode == Safe {
		to := m.ToUserName
		if to == "" {
			to = s.originalID()
		}
		b := []byte("<xml>")
		b = appendElem(b, "ToUserName", to)
		b = appendElem(b, "Encrypt", enc)
		return query, append(b, "</xml>"...), nil
	}
	trimmed := bytes.TrimRight(inner, " \t\r\n")
	if !bytes.HasSuffix(trimmed, []byte("</xml>")) {
		return nil, nil, errors.New("wechattest: compatible mode needs inner XML ending in </xml>")
	}
	b := bytes.Clone(trimmed[:len(trimmed)-len("</xml>")])
	b = appendElem(b, "Encrypt", enc)
	return query, append(b, "</xml>"...), nil
}

func (s Signer) encrypt(msg []byte) (string, error) {
	c, err := wechat.NewCipher(s.EncodingAESKey, s.AppID)
	if err != nil {
		return "", err
	}
	if s.Rand == nil {
		return c.Encrypt(msg)
	}
	var random [16]byte
	if _, err := io.ReadFull(s.Rand, random[:]); err != nil {
		return "", fmt.Errorf("wechattest: reading Rand: %w", err)
	}
	return c.EncryptWithRandom(random, msg), nil
}

// Verification builds the query of the GET with which WeChat checks the
// callback URL. It is the same in every mode for an Official Account; the
// handler must answer echostr verbatim.
func (s Signer) Verification(echostr string, timestamp int64, nonce string) url.Values {
	ts := strconv.FormatInt(timestamp, 10)
	return url.Values{
		"signature": {wechat.Sign(s.Token, ts, nonce)},
		"timestamp": {ts},
		"nonce":     {nonce},
		"echostr":   {echostr},
	}
}

// OpenReply reads a handler's answer as WeChat would. A sealed reply
// (an <xml> document with a non-empty Encrypt element) must carry a
// MsgSignature that verifies over its own TimeStamp, Nonce and Encrypt, and a
// bare numeric TimeStamp; OpenReply then decrypts it and returns the inner
// reply XML. Any other body ("success", an empty body, a plaintext reply) is
// returned unchanged with a nil error: telling those apart is the test's job.
func (s Signer) OpenReply(body []byte) ([]byte, error) {
	var env struct {
		XMLName      xml.Name `xml:"xml"`
		Encrypt      string
		MsgSignature string
		TimeStamp    string
		Nonce        string
	}
	if xml.Unmarshal(body, &env) != nil || env.Encrypt == "" {
		return body, nil
	}
	if _, err := strconv.ParseInt(env.TimeStamp, 10, 64); err != nil {
		return nil, fmt.Errorf("%w: envelope TimeStamp %q is not a bare number", wechat.ErrMalformed, env.TimeStamp)
	}
	if err := wechat.VerifyMsgSignature(s.Token, env.TimeStamp, env.Nonce, env.Encrypt, env.MsgSignature); err != nil {
		return nil, err
	}
	c, err := wechat.NewCipher(s.EncodingAESKey, s.AppID)
	if err != nil {
		return nil, err
	}
	return c.Decrypt(env.Encrypt)
}

// Request builds the server-side view of WeChat's POST (httptest.NewRequest,
// for handler.ServeHTTP): query merged into target's own query, body as
// given, Content-Type text/xml. Like httptest.NewRequest it panics on a
// target it cannot parse.
func (s Signer) Request(target string, query url.Values, body []byte) *http.Request {
	u, err := url.Parse(target)
	if err != nil {
		panic("wechattest: bad target: " + err.Error())
	}
	q := u.Query()
	for k, v := range query {
		q[k] = v
	}
	u.RawQuery = q.Encode()
	r := httptest.NewRequest(http.MethodPost, u.String(), bytes.NewReader(body))
	r.Header.Set("Content-Type", "text/xml")
	return r
}
