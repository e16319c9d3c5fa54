package wechattest

import (
	"fmt"
	"net/http"
	"time"

	"wechatqr/shared/wechat"
)

// window is a follower's customer-service window: opened by a scan or a
// follow, it allows Limits.WindowMessages messages until Limits.Window
// has passed (§12).
type window struct {
	opened time.Time
	sent   int
}

// openWindow gives openid a fresh window at now, replacing any earlier
// one: each scan opens its own. Callers hold p.mu.
func (p *Platform) openWindow(openid string, now time.Time) {
	p.windows[openid] = &window{opened: now}
}

// ReceivedMessage is a customer-service message a follower received. Its
// JSON form (for a local stack that reports it over HTTP) leaves out Body.
type ReceivedMessage struct {
	At      time.Time `json:"at"`                 // on the Platform's clock
	MsgType string    `json:"msgtype"`            // text, image or news
	Content string    `json:"content,omitempty"`  // text
	MediaID string    `json:"media_id,omitempty"` // image
	// Article is a news message's article, read from the wire's title,
	// description, url and picurl.
	Article wechat.Article `json:"article,omitzero"`
	Body    []byte         `json:"-"` // the request body as received
}

// String shows the message as a follower would see it, on one line:
// text "…", image MEDIA_ID, or news "title" (url).
func (m ReceivedMessage) String() string {
	switch m.MsgType {
	case wechat.MsgText:
		return fmt.Sprintf("text %q", m.Content)
	case wechat.MsgImage:
		return "image " + m.MediaID
	case wechat.MsgNews:
		return fmt.Sprintf("news %q (%s)", m.Article.Title, m.Article.URL)
	}
	return m.MsgType
}

// Messages returns the customer-service messages openid received, oldest
// first. Refused sends (45015, 45047, …) are not there.
func (p *Platform) Messages(openid string) []ReceivedMessage {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make([]ReceivedMessage, len(p.inbox[openid]))
	for i, m := range p.inbox[openid] {
		out[i] = m
		out[i].Body = append([]byte(nil), m.Body...)
	}
	return out
}

// WindowLeft returns how many more messages openid may be sent now, and
// until when; 0 and the zero time when openid has no open window.
func (p *Platform) WindowLeft(openid string) (int, time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	w := p.windows[openid]
	now := p.cfg.Now()
	if w == nil || !now.Before(w.opened.Add(p.limits.Window)) {
		return 0, time.Time{}
	}
	left := p.limits.WindowMessages - w.sent
	if p.limits.WindowMessages < 0 {
		left = int(^uint(0) >> 1)
	}
	return max(left, 0), w.opened.Add(p.limits.Window)
}

// customSendBody is custom/send's body with its parts optional.
type customSendBody struct {
	ToUser  string `json:"touser"`
	MsgType string `json:"msgtype"`
	Text    *struct {
		Content string `json:"content"`
	} `json:"text"`
	Image *struct {
		MediaID string `json:"media_id"`
	} `json:"image"`
	News *struct {
		Articles []struct {
			Title       string `json:"title"`
			Description string `json:"description"`
			URL         string `json:"url"`
			PicURL      string `json:"picurl"`
		} `json:"articles"`
	} `json:"news"`
}

// serveCustomSend is POST /cgi-bin/message/custom/send?access_token=…
// (§12) for text, image and news. Its checks, in order: method (43002),
// token, JSON (47001), \u escapes (40033), touser malformed (40003), the
// message (40008 unknown msgtype, 44004 empty text, 40007 no media_id,
// 44003 no article, 45008 more than one), touser never a follower
// (40003), then the window: none open 45015, its count used up 45047.
// Each accepted message is kept in order (Messages).
//
// Choices where §12 is silent: only a scan, a plain follow (Subscribe) or
// Follow opens a window, and a new one replaces the old; an unfollowed
// user has no window (45015); text is not length-checked and a media_id
// is not looked up, since the Platform has no material store; an article
// needs nothing but to be there, as WeChat shows an empty title.
func (p *Platform) serveCustomSend(r *http.Request, body []byte) response {
	return p.withAccessToken(r, []string{http.MethodPost}, func(now time.Time) response {
		var req customSendBody
		if code := decodeBody(body, &req); code != 0 {
			return errcodeResponse(code)
		}
		if !wellFormedOpenID(req.ToUser) {
			return errcodeResponse(wechat.CodeInvalidOpenID)
		}
		m := ReceivedMessage{At: now, MsgType: req.MsgType, Body: append([]byte(nil), body...)}
		switch req.MsgType {
		case wechat.MsgText:
			if req.Text == nil || req.Text.Content == "" {
				return errcodeResponse(wechat.CodeEmptyContent)
			}
			m.Content = req.Text.Content
		case wechat.MsgImage:
			if req.Image == nil || req.Image.MediaID == "" {
				return errcodeResponse(wechat.CodeInvalidMediaID)
			}
			m.MediaID = req.Image.MediaID
		case wechat.MsgNews:
			switch {
			case req.News == nil || len(req.News.Articles) == 0:
				return errcodeResponse(wechat.CodeEmptyNews)
			case len(req.News.Articles) > 1:
				return errcodeResponse(wechat.CodeArticleLimit)
			}
			a := req.News.Articles[0]
			m.Article = wechat.Article{Title: a.Title, Description: a.Description, URL: a.URL, PicURL: a.PicURL}
		default:
			return errcodeResponse(wechat.CodeInvalidMessageType)
		}
		if !p.known[req.ToUser] {
			return errcodeResponse(wechat.CodeInvalidOpenID)
		}
		w := p.windows[req.ToUser]
		if w == nil || !p.followers[req.ToUser] || !now.Before(w.opened.Add(p.limits.Window)) {
			return errcodeResponse(wechat.CodeOutOfWindow)
		}
		if p.limits.WindowMessages >= 0 && w.sent >= p.limits.WindowMessages {
			return errcodeResponse(wechat.CodeResponseLimit)
		}
		w.sent++
		p.inbox[req.ToUser] = append(p.inbox[req.ToUser], m)
		return okResponse()
	})
}
