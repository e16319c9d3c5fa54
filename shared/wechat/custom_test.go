package wechat_test

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"wechatqr/shared/wechat"
	"wechatqr/shared/wechat/wechattest"
)

// customSetup is apiSetup with a fake clock shared by the platform, a
// token, and one follower whose scan window is open.
func customSetup(t *testing.T, opts ...wechat.ClientOption) (*wechattest.Platform, *wechat.Client, *wechattest.Clock, string, string) {
	t.Helper()
	clock := wechattest.NewClock(time.Date(2026, 12, 1, 2, 0, 0, 0, time.UTC))
	p, c, _ := apiSetup(t, wechattest.PlatformConfig{Now: clock.Now}, opts...)
	tok := apiToken(t, c)
	p.Reset()
	const openid = "oKqdL5Vn7Ek3wOq2fG8mZ1xYc9aQ"
	p.Follow(openid)
	return p, c, clock, tok, openid
}

func TestSendCustomMessageSendsSection12Bodies(t *testing.T) {
	const openid = "oKqdL5Vn7Ek3wOq2fG8mZ1xYc9aQ"
	tests := []struct {
		name string
		msg  wechat.CustomMessage
		body string
		seen string // ReceivedMessage.String
	}{
		{"text", wechat.TextMessage(openid, "Answer: a map\nsee <you> & me"),
			`{"touser":"` + openid + `","msgtype":"text","text":{"content":"Answer: a map\nsee <you> & me"}}`,
			`text "Answer: a map\nsee <you> & me"`},
		{"image", wechat.ImageMessage(openid, "MEDIA_ID_1"),
			`{"touser":"` + openid + `","msgtype":"image","image":{"media_id":"MEDIA_ID_1"}}`,
			`image MEDIA_ID_1`},
		{"news with picurl", wechat.NewsMessage(openid, wechat.Article{Title: "Prize", Description: "Claim it", URL: "https://example.com/p?a=1&b=2", PicURL: "https://example.com/a.jpg"}),
			`{"touser":"` + openid + `","msgtype":"news","news":{"articles":[{"title":"Prize","description":"Claim it","url":"https://example.com/p?a=1&b=2","picurl":"https://example.com/a.jpg"}]}}`,
			`news "Prize" (https://example.com/p?a=1&b=2)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, c, clock, tok, _ := customSetup(t)
			if err := c.SendCustomMessage(context.Background(), tok, tt.msg); err != nil {
				t.Fatalf("SendCustomMessage: %v", err)
			}
			log := p.CallLog(wechattest.PathCustomSend)
			if len(log) != 1 {
				t.Fatalf("%d calls, want 1", len(log))
			}
			if log[0].Method != http.MethodPost || string(log[0].Body) != tt.body || log[0].Query.Get("access_token") != tok {
				t.Errorf("sent %s %s\nwant POST %s with the token", log[0].Method, log[0].Body, tt.body)
			}
			got := p.Messages(openid)
			if len(got) != 1 || got[0].String() != tt.seen || !got[0].At.Equal(clock.Now()) {
				t.Errorf("follower received %v, want [%s] at %v", got, tt.seen, clock.Now())
			}
		})
	}
}

func TestSendCustomMessageRefusesBadMessagesWithoutSending(t *testing.T) {
	p, c, _, tok, openid := customSetup(t)
	tests := []struct {
		name string
		msg  wechat.CustomMessage
		tok  string
	}{
		{"no token", wechat.TextMessage(openid, "hi"), ""},
		{"no openid", wechat.TextMessage("", "hi"), tok},
		{"empty text", wechat.TextMessage(openid, ""), tok},
		{"image without media_id", wechat.ImageMessage(openid, ""), tok},
		{"news without title", wechat.NewsMessage(openid, wechat.Article{URL: "https://example.com"}), tok},
		{"unknown type", wechat.CustomMessage{ToUser: openid, MsgType: "voice", MediaID: "m"}, tok},
		{"control character in text", wechat.TextMessage(openid, "a\x00b"), tok},
		{"U+2029 in title", wechat.NewsMessage(openid, wechat.Article{Title: "a\u2029b"}), tok},
		{"newline in url", wechat.NewsMessage(openid, wechat.Article{Title: "t", URL: "https://e.com/\n"}), tok},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := c.SendCustomMessage(context.Background(), tt.tok, tt.msg); !errors.Is(err, wechat.ErrInvalidRequest) {
				t.Errorf("err = %v, want ErrInvalidRequest", err)
			}
		})
	}
	if n := p.Calls(wechattest.PathCustomSend); n != 0 {
		t.Errorf("%d calls; refused messages must not be sent", n)
	}
}
