package wechat_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"wechatqr/shared/wechat"
)

// FuzzCustomMessageBody checks the promise of Validate and ValidateTagName:
// whatever they accept is sent as JSON without a single \u escape (WeChat's
// 40033, §9) and decodes back to the same text; whatever they refuse is
// refused with ErrInvalidRequest and never sent.
func FuzzCustomMessageBody(f *testing.F) {
	for _, s := range []string{"Answer: a map\nsee <you> & me", "北京海报", "", "a\u2028b", "a\x00b", "\xff", "tab\there", "\ufffd ok", `"quoted" \ back`} {
		f.Add(s, s)
	}
	var mu sync.Mutex
	var bodies [][]byte
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		bodies = append(bodies, b)
		mu.Unlock()
		if r.URL.Path == "/cgi-bin/tags/create" {
			var req struct {
				Tag struct{ Name string } `json:"tag"`
			}
			json.Unmarshal(b, &req)
			out, _ := json.Marshal(map[string]any{"tag": map[string]any{"id": 100, "name": req.Tag.Name}})
			w.Write(out)
			return
		}
		w.Write([]byte(`{"errcode":0,"errmsg":"ok"}`))
	}))
	f.Cleanup(srv.Close)
	c, err := wechat.NewClient(srv.URL, "", "", wechat.WithMaxRetries(0))
	if err != nil {
		f.Fatal(err)
	}
	take := func() [][]byte {
		mu.Lock()
		defer mu.Unlock()
		b := bodies
		bodies = nil
		return b
	}

	f.Fuzz(func(t *testing.T, text, title string) {
		ctx := context.Background()
		take()
		msgs := []wechat.CustomMessage{
			wechat.TextMessage("oFuzz", text),
			wechat.NewsMessage("oFuzz", wechat.Article{Title: title, Description: text, URL: "https://e.com/?q=" + title}),
		}
		for _, m := range msgs {
			verr := m.Validate()
			err := c.SendCustomMessage(ctx, "88_tok", m)
			sent := take()
			if verr != nil {
				if !errors.Is(err, wechat.ErrInvalidRequest) || len(sent) != 0 {
					t.Fatalf("refused %+v (%v) but got %v and %d requests", m, verr, err, len(sent))
				}
				continue
			}
			if err != nil || len(sent) != 1 {
				t.Fatalf("accepted %+v but sending gave %v after %d requests", m, err, len(sent))
			}
			if hasUEscape(sent[0]) {
				t.Fatalf("body %s holds a \\u escape", sent[0])
			}
			var got struct {
				Text struct{ Content string } `json:"text"`
				News struct {
					Articles []struct{ Title, Description string } `json:"articles"`
				} `json:"news"`
			}
			if err := json.Unmarshal(sent[0], &got); err != nil {
				t.Fatalf("body %s: %v", sent[0], err)
			}
			switch m.MsgType {
			case wechat.MsgText:
				if got.Text.Content != text {
					t.Fatalf("content %q came back as %q", text, got.Text.Content)
				}
			case wechat.MsgNews:
				if len(got.News.Articles) != 1 || got.News.Articles[0].Title != title || got.News.Articles[0].Description != text {
					t.Fatalf("article %+v from %s", got.News.Articles, sent[0])
				}
			}
		}

		verr := wechat.ValidateTagName(title)
		tag, err := c.CreateTag(ctx, "88_tok", title)
		sent := take()
		if verr != nil {
			if !errors.Is(err, wechat.ErrInvalidRequest) || len(sent) != 0 {
				t.Fatalf("refused tag name %q but got %v and %d requests", title, err, len(sent))
			}
			return
		}
		if err != nil || len(sent) != 1 || tag.Name != title || hasUEscape(sent[0]) || len(title) > wechat.MaxTagNameLen {
			t.Fatalf("tag name %q: %+v, %v, body %q", title, tag, err, sent)
		}
	})
}

// hasUEscape reports whether a JSON text holds a \uXXXX escape, stepping
// over escape pairs so that an escaped backslash before a 'u' is not one.
func hasUEscape(b []byte) bool {
	for i := 0; i < len(b); i++ {
		if b[i] == '\\' {
			if i+1 < len(b) && b[i+1] == 'u' {
				return true
			}
			i++
		}
	}
	return false
}
