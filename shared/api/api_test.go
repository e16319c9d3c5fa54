package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image"
	_ "image/png"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/makiuchi-d/gozxing"
	gozxingqr "github.com/makiuchi-d/gozxing/qrcode"

	"wechatqr/shared/api"
	"wechatqr/shared/qrimage"
	"wechatqr/shared/wechat/wechattest"
)

func TestEachActionNameFromCreateToScanReply(t *testing.T) {
	s := newStack(t, api.Config{})
	tests := []struct {
		name, body, action, scene, wechatBody string
		permanent                             bool
	}{
		{"temporary numeric", `{"scene":42,"expire_seconds":600,"reply":{"type":"text","content":"Poster 42"}}`,
			"QR_SCENE", "42", `{"expire_seconds":600,"action_name":"QR_SCENE","action_info":{"scene":{"scene_id":42}}}`, false},
		{"temporary string", `{"scene":"login-like:9f2c","expire_seconds":600,"reply":{"type":"text","content":"Hello & welcome <3"}}`,
			"QR_STR_SCENE", "login-like:9f2c", `{"expire_seconds":600,"action_name":"QR_STR_SCENE","action_info":{"scene":{"scene_str":"login-like:9f2c"}}}`, false},
		{"permanent numeric", `{"scene":100000,"permanent":true,"reply":{"type":"text","content":"Parcel 100000"}}`,
			"QR_LIMIT_SCENE", "100000", `{"action_name":"QR_LIMIT_SCENE","action_info":{"scene":{"scene_id":100000}}}`, true},
		{"permanent string", `{"scene":"riddle-1","permanent":true,"reply":{"type":"text","content":"Answer: a map"}}`,
			"QR_LIMIT_STR_SCENE", "riddle-1", `{"action_name":"QR_LIMIT_STR_SCENE","action_info":{"scene":{"scene_str":"riddle-1"}}}`, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got codeJSON
			w := s.do(t, "POST", "/qrcodes", tt.body, &got)
			if w.Code != http.StatusCreated {
				t.Fatalf("status %d: %s", w.Code, w.Body)
			}
			log := s.platform.CallLog(wechattest.PathQRCodeCreate)
			if sent := bytes.TrimSpace(log[len(log)-1].Body); string(sent) != tt.wechatBody {
				t.Errorf("WeChat received %s\nwant          %s", sent, tt.wechatBody)
			}
			if got.Scene != tt.scene || got.ActionName != tt.action || got.Permanent != tt.permanent || got.Ticket == "" || !strings.HasPrefix(got.URL, "http://weixin.qq.com/q/") {
				t.Errorf("answer = %+v", got)
			}
			if want := s.platform.ShowQRCodeURL(got.Ticket); got.ImageURL != want || !strings.Contains(got.ImageURL, url.QueryEscape(got.Ticket)) {
				t.Errorf("image_url = %q, want %q with the ticket escaped", got.ImageURL, want)
			}
			if tt.permanent != (got.ExpiresAt == nil) || (!tt.permanent && got.ExpireSeconds != 600) {
				t.Errorf("expire_seconds %d expires_at %v for permanent=%v", got.ExpireSeconds, got.ExpiresAt, tt.permanent)
			}
			if !tt.permanent {
				at, err := time.Parse(time.RFC3339, *got.ExpiresAt)
				if err != nil || at.Sub(time.Now()) < 590*time.Second || at.Sub(time.Now()) > 610*time.Second {
					t.Errorf("expires_at %q is not RFC 3339 about 600 s from now", *got.ExpiresAt)
				}
			}

			// The emulator scans the code it made: subscribe for a new follower.
			push, err := s.platform.Scan(context.Background(), s.callback, "openid-"+tt.scene, got.Ticket, wechattest.Safe)
			if err != nil {
				t.Fatal(err)
			}
			var want struct{ Content string }
			_ = json.Unmarshal(compact(t, tt.body), &struct {
				Reply *struct{ Content string } `json:"reply"`
			}{&want})
			if push.Event != "subscribe" || !bytes.Contains(push.Reply(), []byte(want.Content)) {
				t.Errorf("scan gave %s %q, want the reply %q", push.Event, push.Reply(), want.Content)
			}
			var stored codeJSON
			if w := s.do(t, "GET", "/qrcodes/"+url.PathEscape(tt.scene), "", &stored); w.Code != 200 || stored.Ticket != got.Ticket || stored.Stats == nil || stored.Stats.Scans != 1 || stored.Stats.Subscribes != 1 {
				t.Errorf("GET gave %d %s", w.Code, w.Body)
			}
		})
	}
}

func TestInvalidRequestsWriteNothingAndCallNobody(t *testing.T) {
	s := newStack(t, api.Config{})
	long := strings.Repeat("x", 65)
	tests := []struct{ name, body, field string }{
		{"no scene", `{"expire_seconds":60}`, "scene: required"},
		{"null scene", `{"scene":null}`, "scene: required"},
		{"temporary id 0", `{"scene":0}`, "non-zero 32-bit"},
		{"temporary id past 32 bits", `{"scene":4294967296}`, "non-zero 32-bit"},
		{"negative id", `{"scene":-1}`, "without sign"},
		{"fractional id", `{"scene":1.5}`, "without sign, fraction"},
		{"exponent id", `{"scene":1e3}`, "without sign, fraction or exponent"},
		{"permanent id 0", `{"scene":0,"permanent":true}`, "1 to 100000"},
		{"permanent id past 100000", `{"scene":100001,"permanent":true}`, "1 to 100000"},
		{"empty scene string", `{"scene":""}`, "1 to 64 bytes"},
		{"scene string of 65", `{"scene":"` + long + `"}`, "65 bytes is over"},
		{"scene with a newline", `{"scene":"a\nb"}`, "EventKey round trip"},
		{"scene with <", `{"scene":"a<b"}`, "EventKey round trip"},
		{"scene with U+2028", `{"scene":"a\u2028b"}`, "EventKey round trip"},
		{"scene with spaces around", `{"scene":" a "}`, "leading or trailing"},
		{"reserved log-in prefix", `{"scene":"login:x"}`, "reserved for log-in"},
		{"scene is an object", `{"scene":{"id":1}}`, "scene: a number must be"},
		{"expire_seconds 0", `{"scene":"a","expire_seconds":0}`, "expire_seconds: 1 to 2592000"},
		{"expire_seconds past 30 days", `{"scene":"a","expire_seconds":2592001}`, "expire_seconds: 1 to 2592000"},
		{"expire_seconds with permanent", `{"scene":"a","permanent":true,"expire_seconds":60}`, "permanent codes never expire"},
		{"expire_seconds not a number", `{"scene":"a","expire_seconds":"60"}`, "expire_seconds must be a whole number, not string"},
		{"unknown field", `{"scene":"a","colour":"red"}`, `unknown field "colour"`},
		{"unknown reply field", `{"scene":"a","reply":{"type":"text","content":"x","font":"big"}}`, `unknown field "font"`},
		{"broken JSON", `{"scene":"a",`, "truncated"},
		{"not JSON", `scene=a`, "not valid JSON"},
		{"two objects", `{"scene":"a"}{"scene":"b"}`, "one JSON object"},
		{"an array body", `[1]`, "the body must be a JSON object"},
		{"reply not an object", `{"scene":"a","reply":[1]}`, "reply must be an object, not array"},
		{"reply without type", `{"scene":"a","reply":{"content":"x"}}`, "reply.type: required"},
		{"reply of unknown type", `{"scene":"a","reply":{"type":"video"}}`, "not one of text, news, image"},
		{"empty text reply", `{"scene":"a","reply":{"type":"text"}}`, "reply.content"},
		{"text reply too long", `{"scene":"a","reply":{"type":"text","content":"` + strings.Repeat("x", 2049) + `"}}`, "over WeChat's limit of 2048"},
		{"news with two articles", `{"scene":"a","reply":{"type":"news","articles":[{"title":"1"},{"title":"2"}]}}`, "exactly 1 article"},
		{"news article without title", `{"scene":"a","reply":{"type":"news","articles":[{"url":"https://e.com"}]}}`, "articles[0].title"},
		{"image without media_id", `{"scene":"a","reply":{"type":"image"}}`, "reply.media_id"},
		{"text reply with media_id", `{"scene":"a","reply":{"type":"text","content":"x","media_id":"m"}}`, "takes only content"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var e errorJSON
			w := s.do(t, "POST", "/qrcodes", tt.body, &e)
			if w.Code != http.StatusBadRequest || e.Error != "invalid" || !strings.Contains(e.Message, tt.field) {
				t.Errorf("got %d %+v, want 400 invalid mentioning %q", w.Code, e, tt.field)
			}
		})
	}
	t.Run("oversized body", func(t *testing.T) {
		var e errorJSON
		w := s.do(t, "POST", "/qrcodes", `{"scene":"a","reply":{"type":"text","content":"`+strings.Repeat("x", api.DefaultMaxBody)+`"}}`, &e)
		if w.Code != http.StatusRequestEntityTooLarge {
			t.Errorf("got %d %+v, want 413", w.Code, e)
		}
	})
	if n := s.platform.Calls(wechattest.PathQRCodeCreate); n != 0 {
		t.Errorf("%d qrcode/create calls for invalid requests, want 0", n)
	}
	if n := s.items(t); n != 0 {
		t.Errorf("%d items written for invalid requests, want 0", n)
	}
}

func TestOneEventKeyOneMapping(t *testing.T) {
	s := newStack(t, api.Config{})
	var first, again codeJSON
	s.do(t, "POST", "/qrcodes", `{"scene":"poster-a","permanent":true,"reply":{"type":"text","content":"A"}}`, &first)
	w := s.do(t, "POST", "/qrcodes", `{"scene":"poster-a","permanent":true,"reply":{"type":"text","content":"A"}}`, &again)
	if w.Code != http.StatusOK || again.Ticket != first.Ticket {
		t.Errorf("re-creating a permanent code: %d ticket %q, want 200 and the stored %q", w.Code, again.Ticket, first.Ticket)
	}
	if n := s.platform.Calls(wechattest.PathQRCodeCreate); n != 1 {
		t.Errorf("%d WeChat calls, want 1: the re-creation must not call WeChat", n)
	}

	var e errorJSON
	if w := s.do(t, "POST", "/qrcodes", `{"scene":"poster-a","permanent":true,"reply":{"type":"text","content":"B"}}`, &e); w.Code != http.StatusConflict || !strings.Contains(e.Message, "PUT /qrcodes/poster-a/reply") {
		t.Errorf("another reply for an existing permanent code: %d %+v, want 409 pointing at PUT", w.Code, e)
	}
	if w := s.do(t, "POST", "/qrcodes", `{"scene":"poster-a","expire_seconds":60}`, &e); w.Code != http.StatusConflict || e.Error != "conflict" {
		t.Errorf("temporary over permanent: %d %+v, want 409", w.Code, e)
	}

	// Number 42 and string "42" are one EventKey: the second is a re-issue.
	var n42, s42 codeJSON
	s.do(t, "POST", "/qrcodes", `{"scene":42,"expire_seconds":600,"reply":{"type":"text","content":"forty-two"}}`, &n42)
	if _, err := s.platform.Scan(context.Background(), s.callback, "u1", n42.Ticket, wechattest.Plaintext); err != nil {
		t.Fatal(err)
	}
	w = s.do(t, "POST", "/qrcodes", `{"scene":"42","expire_seconds":900}`, &s42)
	if w.Code != http.StatusCreated || s42.Scene != "42" || s42.Ticket == n42.Ticket || s42.ActionName != "QR_STR_SCENE" {
		t.Errorf("re-issue of 42 as a string: %d %+v", w.Code, s42)
	}
	var got codeJSON
	s.do(t, "GET", "/qrcodes/42", "", &got)
	if got.Ticket != s42.Ticket || got.Stats.Scans != 1 || !strings.Contains(string(got.Reply), "forty-two") {
		t.Errorf("after the re-issue: %+v (want the new ticket, the old counters and the kept reply)", got)
	}
	if w := s.do(t, "POST", "/qrcodes", `{"scene":42,"permanent":true}`, &e); w.Code != http.StatusConflict {
		t.Errorf("permanent over a live temporary 42: %d, want 409", w.Code)
	}
}

func TestPermanentQuota(t *testing.T) {
	t.Run("our count refuses before calling WeChat", func(t *testing.T) {
		s := newStack(t, api.Config{MaxPermanent: 2})
		for _, scene := range []string{"1", "2"} {
			if w := s.do(t, "POST", "/qrcodes", `{"scene":`+scene+`,"permanent":true}`, nil); w.Code != http.StatusCreated {
				t.Fatalf("create %s: %d %s", scene, w.Code, w.Body)
			}
		}
		var e errorJSON
		if w := s.do(t, "POST", "/qrcodes", `{"scene":3,"permanent":true}`, &e); w.Code != http.StatusConflict || e.Error != "quota" {
			t.Errorf("third permanent code: %d %+v, want 409 quota", w.Code, e)
		}
		if n := s.platform.Calls(wechattest.PathQRCodeCreate); n != 2 {
			t.Errorf("%d WeChat calls, want 2", n)
		}
		if w := s.do(t, "POST", "/qrcodes", `{"scene":3,"expire_seconds":60}`, nil); w.Code != http.StatusCreated {
			t.Errorf("temporary codes are not counted: %d", w.Code)
		}
	})
	t.Run("WeChat's 45029 is a quota error and stores nothing", func(t *testing.T) {
		s := newStack(t, api.Config{})
		s.platform.FailNext(wechattest.PathQRCodeCreate, 1, wechattest.ErrCodeFault(45029))
		var e errorJSON
		w := s.do(t, "POST", "/qrcodes", `{"scene":"p","permanent":true}`, &e)
		if w.Code != http.StatusConflict || e.Error != "quota" || e.ErrCode == nil || *e.ErrCode != 45029 {
			t.Errorf("got %d %+v, want 409 quota with errcode 45029", w.Code, e)
		}
		if n := s.items(t); n != 0 {
			t.Errorf("%d items stored for a code WeChat did not create", n)
		}
	})
}

func TestWeChatFailures(t *testing.T) {
	t.Run("a rejected token is refreshed once and the call succeeds", func(t *testing.T) {
		s := newStack(t, api.Config{})
		if w := s.do(t, "POST", "/qrcodes", `{"scene":"warm","expire_seconds":60}`, nil); w.Code != http.StatusCreated {
			t.Fatal(w.Code, w.Body)
		}
		tokenCalls := s.platform.Calls(wechattest.PathStableToken)
		s.platform.FailNext(wechattest.PathQRCodeCreate, 1, wechattest.ErrCodeFault(40001))
		if w := s.do(t, "POST", "/qrcodes", `{"scene":"after-40001","expire_seconds":60}`, nil); w.Code != http.StatusCreated {
			t.Errorf("after one 40001: %d %s, want 201", w.Code, w.Body)
		}
		if n := s.platform.Calls(wechattest.PathStableToken) - tokenCalls; n != 1 {
			t.Errorf("%d token calls for one 40001, want exactly 1", n)
		}
	})
	for _, code := range []int{45009, 48001, 40053} {
		t.Run(fmt.Sprintf("errcode %d is a 502 carrying it", code), func(t *testing.T) {
			s := newStack(t, api.Config{})
			s.platform.FailNext(wechattest.PathQRCodeCreate, 1, wechattest.ErrCodeFault(code))
			var e errorJSON
			w := s.do(t, "POST", "/qrcodes", `{"scene":"x","expire_seconds":60}`, &e)
			if w.Code != http.StatusBadGateway || e.ErrCode == nil || *e.ErrCode != code {
				t.Errorf("got %d %+v, want 502 carrying errcode %d", w.Code, e, code)
			}
			if n := s.items(t); n != 0 {
				t.Errorf("%d items stored after WeChat refused", n)
			}
		})
	}
}

func TestImagesDecodeBackToTheCodesURL(t *testing.T) {
	s := newStack(t, api.Config{})
	var c codeJSON
	s.do(t, "POST", "/qrcodes", `{"scene":"riddle-2","expire_seconds":600}`, &c)

	w := s.do(t, "GET", "/qrcodes/riddle-2/image?size=300", "", nil)
	if w.Code != 200 || w.Header().Get("Content-Type") != "image/png" {
		t.Fatalf("PNG: %d %s", w.Code, w.Header().Get("Content-Type"))
	}
	img, _, err := image.Decode(bytes.NewReader(w.Body.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	if img.Bounds().Dx() != 300 {
		t.Errorf("PNG is %d px wide, want 300", img.Bounds().Dx())
	}
	bmp, err := gozxing.NewBinaryBitmapFromImage(img)
	if err != nil {
		t.Fatal(err)
	}
	// PURE_BARCODE: gozxing's general detector misses a few percent of clean codes
	// (see shared/qrimage's tests); a rendered image is exactly a pure barcode.
	res, err := gozxingqr.NewQRCodeReader().Decode(bmp, map[gozxing.DecodeHintType]any{gozxing.DecodeHintType_PURE_BARCODE: true})
	if err != nil || res.GetText() != c.URL {
		t.Errorf("PNG decodes to %v %v, want %q", res, err, c.URL)
	}

	w = s.do(t, "GET", "/qrcodes/riddle-2/image?format=svg&size=256", "", nil)
	want, _ := qrimage.SVG(c.URL, 256)
	if w.Code != 200 || w.Header().Get("Content-Type") != "image/svg+xml" || !bytes.Equal(w.Body.Bytes(), want) {
		t.Errorf("SVG: %d %s, want the rendering of the code's url", w.Code, w.Header().Get("Content-Type"))
	}

	for _, q := range []string{"size=10", "size=5000", "size=big", "format=gif"} {
		var e errorJSON
		if w := s.do(t, "GET", "/qrcodes/riddle-2/image?"+q, "", &e); w.Code != 400 {
			t.Errorf("%s: %d, want 400", q, w.Code)
		}
	}
	if w := s.do(t, "GET", "/qrcodes/nobody/image", "", nil); w.Code != 404 {
		t.Errorf("unknown scene: %d, want 404", w.Code)
	}
}

func TestChangingAReplyKeepsTheCode(t *testing.T) {
	s := newStack(t, api.Config{})
	var c codeJSON
	s.do(t, "POST", "/qrcodes", `{"scene":"poster-b","permanent":true,"reply":{"type":"text","content":"old"}}`, &c)
	if w := s.do(t, "PUT", "/qrcodes/poster-b/reply", `{"type":"news","articles":[{"title":"New","url":"https://e.com/n"}]}`, nil); w.Code != 200 {
		t.Fatalf("PUT: %d %s", w.Code, w.Body)
	}
	push, err := s.platform.Scan(context.Background(), s.callback, "u", c.Ticket, wechattest.Plaintext)
	if err != nil || !bytes.Contains(push.Reply(), []byte("<Title><![CDATA[New]]></Title>")) {
		t.Errorf("scan after PUT gave %q %v, want the new news reply", push.Reply(), err)
	}
	if n := s.platform.Calls(wechattest.PathQRCodeCreate); n != 1 {
		t.Errorf("%d WeChat calls, want 1: changing a reply makes no new code", n)
	}
	var e errorJSON
	if w := s.do(t, "PUT", "/qrcodes/nobody/reply", `{"type":"text","content":"x"}`, &e); w.Code != 404 || e.Error != "not_found" {
		t.Errorf("PUT on an unknown scene: %d %+v", w.Code, e)
	}
	if w := s.do(t, "PUT", "/qrcodes/poster-b/reply", `{"type":"text"}`, &e); w.Code != 400 {
		t.Errorf("PUT of an invalid reply: %d %+v", w.Code, e)
	}
}

func TestListingIsNewestFirstWithACursor(t *testing.T) {
	s := newStack(t, api.Config{})
	for _, scene := range []string{"a", "b", "c"} {
		if w := s.do(t, "POST", "/qrcodes", `{"scene":"`+scene+`","expire_seconds":60}`, nil); w.Code != 201 {
			t.Fatal(w.Code, w.Body)
		}
		time.Sleep(2 * time.Millisecond) // distinct creation times
	}
	type page struct {
		Codes      []codeJSON `json:"codes"`
		NextCursor string     `json:"next_cursor"`
	}
	var p1, p2 page
	s.do(t, "GET", "/qrcodes?limit=2", "", &p1)
	if len(p1.Codes) != 2 || p1.Codes[0].Scene != "c" || p1.Codes[1].Scene != "b" || p1.NextCursor == "" {
		t.Fatalf("first page = %+v", p1)
	}
	s.do(t, "GET", "/qrcodes?limit=2&cursor="+url.QueryEscape(p1.NextCursor), "", &p2)
	if len(p2.Codes) != 1 || p2.Codes[0].Scene != "a" {
		t.Errorf("second page = %+v", p2)
	}
	for _, q := range []string{"limit=0", "limit=101", "limit=x", "cursor=garbage"} {
		if w := s.do(t, "GET", "/qrcodes?"+q, "", nil); w.Code != 400 {
			t.Errorf("%s: %d, want 400", q, w.Code)
		}
	}
}
