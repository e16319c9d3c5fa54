package stack

import (
	"encoding/base64"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"wechatqr/shared/wechat"
)

// Resign gives a recorded WeChat push or URL check a fresh timestamp and the
// signatures that go with it (signature over Token, timestamp and nonce;
// msg_signature also over the Encrypt element), so that a file of events/ passes
// the timestamp window today. Events without a signature are left alone.
func Resign(e *events.APIGatewayV2HTTPRequest, token string, at time.Time) error {
	q, err := url.ParseQuery(e.RawQueryString)
	if err != nil {
		return fmt.Errorf("stack: the event's query: %w", err)
	}
	if q.Get("signature") == "" {
		return nil
	}
	ts := strconv.FormatInt(at.Unix(), 10)
	nonce := q.Get("nonce")
	q.Set("timestamp", ts)
	q.Set("signature", wechat.Sign(token, ts, nonce))
	if q.Get("msg_signature") != "" {
		body := []byte(e.Body)
		if e.IsBase64Encoded {
			if body, err = base64.StdEncoding.DecodeString(e.Body); err != nil {
				return fmt.Errorf("stack: the event's body: %w", err)
			}
		}
		m, err := wechat.ParseMessage(body)
		if err != nil {
			return fmt.Errorf("stack: the event's body: %w", err)
		}
		q.Set("msg_signature", wechat.Sign(token, ts, nonce, m.Encrypt))
	}
	// Keep WeChat's parameter order, so a re-signed file still reads like the original.
	var parts []string
	for _, kv := range strings.Split(e.RawQueryString, "&") {
		k, _, _ := strings.Cut(kv, "=")
		if name, err := url.QueryUnescape(k); err == nil && q.Has(name) {
			parts = append(parts, url.QueryEscape(name)+"="+url.QueryEscape(q.Get(name)))
		}
	}
	e.RawQueryString = strings.Join(parts, "&")
	for k := range e.QueryStringParameters {
		e.QueryStringParameters[k] = q.Get(k)
	}
	return nil
}
