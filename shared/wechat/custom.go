package wechat

import (
	"context"
	"fmt"
	"net/http"
)

// Message types of customer-service messages SendCustomMessage sends (§12).
const (
	MsgText  = "text"
	MsgImage = "image"
	MsgNews  = "news"
)

// Customer-service windows after a scan (§12): a follower who scans a code
// (or follows, or clicks a menu) may be sent CustomWindowMessages messages
// within CustomWindowSeconds; 45015 after it, 45047 past the count.
const (
	CustomWindowMessages = 3
	CustomWindowSeconds  = 60
)

// CustomMessage is a customer-service message to one follower.
type CustomMessage struct {
	ToUser  string // the follower's openid
	MsgType string // MsgText, MsgImage or MsgNews
	// Content is a text message's text; newlines are shown.
	Content string
	// MediaID is an image message's media_id, uploaded beforehand through
	// the material API.
	MediaID string
	// Article is a news message's one article. On the wire its picture is
	// "picurl", where the passive reply says PicUrl (§12).
	Article Article
}

// TextMessage is a text message to openid.
func TextMessage(openid, content string) CustomMessage {
	return CustomMessage{ToUser: openid, MsgType: MsgText, Content: content}
}

// ImageMessage is an image message to openid.
func ImageMessage(openid, mediaID string) CustomMessage {
	return CustomMessage{ToUser: openid, MsgType: MsgImage, MediaID: mediaID}
}

// NewsMessage is a news message of one article to openid.
func NewsMessage(openid string, a Article) CustomMessage {
	return CustomMessage{ToUser: openid, MsgType: MsgNews, Article: a}
}

// Validate checks m before it is sent: a plausible openid, a known type
// with its field set (text: Content; image: MediaID; news: a Title), and
// no text that encoding/json would write as a \u escape (§9).
// SendCustomMessage calls it.
func (m CustomMessage) Validate() error {
	bad := func(format string, a ...any) error {
		return fmt.Errorf("%w: custom message: "+format, append([]any{ErrInvalidRequest}, a...)...)
	}
	if err := checkOpenID(m.ToUser); err != nil {
		return bad("touser: %v", err)
	}
	type field struct {
		name, value string
		multiline   bool
	}
	var fields []field
	switch m.MsgType {
	case MsgText:
		if m.Content == "" {
			return bad("empty text")
		}
		fields = append(fields, field{"content", m.Content, true})
	case MsgImage:
		if m.MediaID == "" {
			return bad("image without a media_id")
		}
		fields = append(fields, field{"media_id", m.MediaID, false})
	case MsgNews:
		a := m.Article
		if a.Title == "" {
			return bad("news article without a title")
		}
		for _, f := range [][2]string{{"title", a.Title}, {"description", a.Description}, {"url", a.URL}, {"picurl", a.PicURL}} {
			fields = append(fields, field{f[0], f[1], f[0] == "description"})
		}
	default:
		return bad("unknown msgtype %q, want text, image or news", m.MsgType)
	}
	for _, f := range fields {
		if err := checkJSONText(f.value, f.multiline); err != nil {
			return bad("%s %v", f.name, err)
		}
	}
	return nil
}

// customBody is the wire shape of a CustomMessage (§12), e.g.
//
//	{"touser":"o…","msgtype":"news","news":{"articles":[{"title":"…","description":"…","url":"…","picurl":"…"}]}}
type customBody struct {
	ToUser  string       `json:"touser"`
	MsgType string       `json:"msgtype"`
	Text    *customText  `json:"text,omitempty"`
	Image   *customImage `json:"image,omitempty"`
	News    *customNews  `json:"news,omitempty"`
}

type customText struct {
	Content string `json:"content"`
}

type customImage struct {
	MediaID string `json:"media_id"`
}

type customNews struct {
	Articles []customArticle `json:"articles"`
}

type customArticle struct {
	Title       string `json:"title"`
	Description string `json:"description"`
	URL         string `json:"url"`
	PicURL      string `json:"picurl"`
}

// SendCustomMessage sends a customer-service message:
// POST /cgi-bin/message/custom/send?access_token=…, with the body of §12,
// written without HTML escaping (a link's "&" stays "&"). An invalid msg
// fails with ErrInvalidRequest before any request.
//
// Errors callers branch on: 45015 outside the follower's window
// (IsOutOfWindow) and 45047 past its count (IsResponseLimit), both to be
// skipped and counted, not retried; 48001 for an unverified account
// (IsUnauthorized); 40003 for an openid that is not a follower
// (IsInvalidOpenID); token errors (IsTokenError), after which WeChat has
// sent nothing and the caller may send again with a fresh token.
//
// The call is not idempotent: each request that WeChat accepts shows the
// follower one more message (§12). So, unlike the other calls, it is
// retried only when the connection was never made. Not after a timeout, a
// cut connection or a 5xx, since the request may have reached WeChat and
// the message may be on its way. Not after errcode -1 either: -1 is
// WeChat's catch-all "system error", and nothing documents that it comes
// only before the message is handed on for delivery; a backend that timed
// out after queueing it would answer the same. A lost follow-up is counted
// by the caller as failed; a doubled one is seen by the follower and uses
// one of the window's three messages, so the client does not gamble. A
// caller that holds a claim on the message and prefers the gamble may
// call again itself.
func (c *Client) SendCustomMessage(ctx context.Context, accessToken string, msg CustomMessage) error {
	if accessToken == "" {
		return fmt.Errorf("%w: empty access token", ErrInvalidRequest)
	}
	if err := msg.Validate(); err != nil {
		return err
	}
	b := customBody{ToUser: msg.ToUser, MsgType: msg.MsgType}
	switch msg.MsgType {
	case MsgText:
		b.Text = &customText{msg.Content}
	case MsgImage:
		b.Image = &customImage{msg.MediaID}
	case MsgNews:
		a := msg.Article
		b.News = &customNews{[]customArticle{{a.Title, a.Description, a.URL, a.PicURL}}}
	}
	body, err := encodeJSON(b)
	if err != nil {
		return err
	}
	var answer struct{}
	return c.call(ctx, c.tokenRequest(http.MethodPost, pathCustomSend, accessToken, body, retryUnconnected), &answer)
}

const pathCustomSend = "/cgi-bin/message/custom/send"
