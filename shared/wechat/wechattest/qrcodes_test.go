package wechattest_test

import (
	"bytes"
	"encoding/base64"
	"image"
	"image/png"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/makiuchi-d/gozxing"
	gzqr "github.com/makiuchi-d/gozxing/qrcode"

	"wechatqr/shared/wechat"
	"wechatqr/shared/wechat/wechattest"
)

func TestCreateQRCodeBodyRules(t *testing.T) {
	long := strings.Repeat("谜", 64) // 64 characters, 192 bytes
	tests := []struct {
		name   string
		body   string
		code   int
		scene  string // on success
		expire int64  // on success; 0 for permanent
	}{
		{"temporary integer", `{"expire_seconds":600,"action_name":"QR_SCENE","action_info":{"scene":{"scene_id":42}}}`, 0, "42", 600},
		{"temporary string", `{"expire_seconds":600,"action_name":"QR_STR_SCENE","action_info":{"scene":{"scene_str":"login:9f2c"}}}`, 0, "login:9f2c", 600},
		{"permanent integer", `{"action_name":"QR_LIMIT_SCENE","action_info":{"scene":{"scene_id":100000}}}`, 0, "100000", 0},
		{"permanent string", `{"action_name":"QR_LIMIT_STR_SCENE","action_info":{"scene":{"scene_str":"riddle-1"}}}`, 0, "riddle-1", 0},
		{"expire_seconds omitted: 60", `{"action_name":"QR_SCENE","action_info":{"scene":{"scene_id":1}}}`, 0, "1", 60},
		{"expire_seconds 0: 60", `{"expire_seconds":0,"action_name":"QR_SCENE","action_info":{"scene":{"scene_id":1}}}`, 0, "1", 60},
		{"expire_seconds 30 days", `{"expire_seconds":2592000,"action_name":"QR_SCENE","action_info":{"scene":{"scene_id":1}}}`, 0, "1", 2592000},
		{"expire_seconds beyond 30 days", `{"expire_seconds":2592001,"action_name":"QR_SCENE","action_info":{"scene":{"scene_id":1}}}`, wechat.CodeInvalidActionInfo, "", 0},
		{"negative expire_seconds", `{"expire_seconds":-5,"action_name":"QR_SCENE","action_info":{"scene":{"scene_id":1}}}`, wechat.CodeInvalidActionInfo, "", 0},
		{"expire_seconds ignored for permanent", `{"expire_seconds":60,"action_name":"QR_LIMIT_SCENE","action_info":{"scene":{"scene_id":5}}}`, 0, "5", 0},
		{"temporary scene_id 0", `{"expire_seconds":60,"action_name":"QR_SCENE","action_info":{"scene":{"scene_id":0}}}`, wechat.CodeInvalidActionInfo, "", 0},
		{"temporary scene_id max uint32", `{"expire_seconds":60,"action_name":"QR_SCENE","action_info":{"scene":{"scene_id":4294967295}}}`, 0, "4294967295", 60},
		{"temporary scene_id beyond 32 bits", `{"expire_seconds":60,"action_name":"QR_SCENE","action_info":{"scene":{"scene_id":4294967296}}}`, wechat.CodeInvalidActionInfo, "", 0},
		{"negative scene_id", `{"expire_seconds":60,"action_name":"QR_SCENE","action_info":{"scene":{"scene_id":-1}}}`, wechat.CodeInvalidActionInfo, "", 0},
		{"permanent scene_id 0", `{"action_name":"QR_LIMIT_SCENE","action_info":{"scene":{"scene_id":0}}}`, wechat.CodeInvalidActionInfo, "", 0},
		{"permanent scene_id 100001", `{"action_name":"QR_LIMIT_SCENE","action_info":{"scene":{"scene_id":100001}}}`, wechat.CodeInvalidActionInfo, "", 0},
		{"scene_str of 64 characters", `{"action_name":"QR_LIMIT_STR_SCENE","action_info":{"scene":{"scene_str":"` + long + `"}}}`, 0, long, 0},
		{"scene_str of 65 characters", `{"action_name":"QR_LIMIT_STR_SCENE","action_info":{"scene":{"scene_str":"` + long + `x"}}}`, wechat.CodeInvalidActionInfo, "", 0},
		{"empty scene_str", `{"expire_seconds":60,"action_name":"QR_STR_SCENE","action_info":{"scene":{"scene_str":""}}}`, wechat.CodeInvalidActionInfo, "", 0},
		{"string action with scene_id", `{"expire_seconds":60,"action_name":"QR_STR_SCENE","action_info":{"scene":{"scene_id":3}}}`, wechat.CodeInvalidActionInfo, "", 0},
		{"unknown action_name", `{"expire_seconds":60,"action_name":"QR_CARD","action_info":{"scene":{"scene_id":3}}}`, wechat.CodeInvalidActionInfo, "", 0},
		{"action_name case matters", `{"expire_seconds":60,"action_name":"qr_scene","action_info":{"scene":{"scene_id":3}}}`, wechat.CodeInvalidActionInfo, "", 0},
		{"no scene wrapper: scene 0", `{"expire_seconds":60,"action_name":"QR_SCENE","action_info":{"scene_id":123}}`, 0, "0", 60},
		{"no action_info", `{"expire_seconds":60,"action_name":"QR_SCENE"}`, wechat.CodeInvalidActionInfo, "", 0},
		{"not JSON", `action_name=QR_SCENE`, wechat.CodeDataFormat, "", 0},
		{"truncated JSON", `{"action_name":"QR_SCENE"`, wechat.CodeDataFormat, "", 0},
		{"scene_id as a string", `{"expire_seconds":60,"action_name":"QR_SCENE","action_info":{"scene":{"scene_id":"42"}}}`, wechat.CodeDataFormat, "", 0},
		{"\\u0026 escape", `{"action_name":"QR_LIMIT_STR_SCENE","action_info":{"scene":{"scene_str":"a\u0026b"}}}`, wechat.CodeInvalidCharset, "", 0},
		{"\\u4e2d escape", `{"action_name":"QR_LIMIT_STR_SCENE","action_info":{"scene":{"scene_str":"\u4e2d"}}}`, wechat.CodeInvalidCharset, "", 0},
		{"escaped backslash before u is not an escape", `{"action_name":"QR_LIMIT_STR_SCENE","action_info":{"scene":{"scene_str":"a\\u0026"}}}`, 0, `a\u0026`, 0},
		{"raw & < >", `{"action_name":"QR_LIMIT_STR_SCENE","action_info":{"scene":{"scene_str":"a&b<c>"}}}`, 0, "a&b<c>", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, clock := startPlatform(t, wechattest.PlatformConfig{})
			tok := classicToken(t, p).AccessToken
			a := createCode(t, p, tok, tt.body)
			wantErrCode(t, a, tt.code)
			if tt.code != 0 {
				if a.Ticket != "" || len(p.Codes()) != 0 {
					t.Error("a refused request created a code")
				}
				return
			}
			c, ok := p.Code(a.Ticket)
			if !ok || c.Scene != tt.scene || c.URL != a.URL || c.CreatedAt != clock.Now() {
				t.Fatalf("stored %+v, want scene %q", c, tt.scene)
			}
			if tt.expire == 0 {
				if a.ExpireSeconds != nil || bytes.Contains(a.raw, []byte("expire_seconds")) {
					t.Errorf("permanent answer %s has expire_seconds", a.raw)
				}
				if !c.Permanent() || !c.ExpiresAt.IsZero() {
					t.Errorf("stored %+v is not permanent", c)
				}
				return
			}
			if a.ExpireSeconds == nil || *a.ExpireSeconds != tt.expire {
				t.Errorf("answer %s, want expire_seconds %d", a.raw, tt.expire)
			}
			if c.Permanent() || !c.ExpiresAt.Equal(clock.Now().Add(time.Duration(tt.expire)*time.Second)) {
				t.Errorf("stored %+v, want expiry in %d s", c, tt.expire)
			}
		})
	}
}

func TestCreateQRCodeAnswerShape(t *testing.T) {
	p, _ := startPlatform(t, wechattest.PlatformConfig{})
	tok := classicToken(t, p).AccessToken
	for i := range 10 {
		a := createCode(t, p, tok, `{"expire_seconds":60,"action_name":"QR_SCENE","action_info":{"scene":{"scene_id":`+strconv.Itoa(i+1)+`}}}`)
		wantErrCode(t, a, 0)
		if !strings.HasPrefix(a.URL, "http://weixin.qq.com/q/") {
			t.Errorf("url %q, want http://weixin.qq.com/q/… (http, as WeChat gives it)", a.URL)
		}
		if !strings.HasSuffix(a.Ticket, "==") {
			t.Errorf("ticket %q does not end in ==", a.Ticket)
		}
		raw, err := base64.StdEncoding.DecodeString(a.Ticket)
		if err != nil || !bytes.Contains(raw, []byte(a.URL)) {
			t.Errorf("ticket %q is not base64 holding the url (%v)", a.Ticket, err)
		}
		if want := `{"ticket":"` + a.Ticket + `","expire_seconds":60,"url":"` + a.URL + `"}`; string(a.raw) != want {
			t.Errorf("answer %s, want %s", a.raw, want)
		}
	}
}

func TestPermanentCodesAreCapped(t *testing.T) {
	p, _ := startPlatform(t, wechattest.PlatformConfig{Limits: wechattest.Limits{PermanentCodes: 3}})
	tok := classicToken(t, p).AccessToken
	perm := func(scene string) string {
		if _, err := strconv.Atoi(scene); err == nil {
			return `{"action_name":"QR_LIMIT_SCENE","action_info":{"scene":{"scene_id":` + scene + `}}}`
		}
		return `{"action_name":"QR_LIMIT_STR_SCENE","action_info":{"scene":{"scene_str":"` + scene + `"}}}`
	}
	first := createCode(t, p, tok, perm("1"))
	wantErrCode(t, first, 0)
	wantErrCode(t, createCode(t, p, tok, perm("2")), 0)
	wantErrCode(t, createCode(t, p, tok, perm("1")+" "), 0) // the same scene again
	wantErrCode(t, createCode(t, p, tok, perm("riddle")), 0)
	if n := p.PermanentCount(); n != 3 {
		t.Fatalf("PermanentCount = %d, want 3", n)
	}
	a := createCode(t, p, tok, perm("3"))
	wantErrCode(t, a, wechat.CodeQRCodeCountLimit)
	if !strings.HasPrefix(a.ErrMsg, "qrcode count out of limit") {
		t.Errorf("errmsg %q", a.ErrMsg)
	}
	// Re-creating an existing permanent scene takes no slot and returns the same code.
	again := createCode(t, p, tok, perm("1"))
	wantErrCode(t, again, 0)
	if again.Ticket != first.Ticket || again.URL != first.URL {
		t.Error("re-creating permanent scene 1 gave a different code")
	}
	// Temporary codes are not counted against the cap.
	wantErrCode(t, createCode(t, p, tok, `{"expire_seconds":60,"action_name":"QR_SCENE","action_info":{"scene":{"scene_id":3}}}`), 0)
	if n := len(p.Codes()); n != 4 {
		t.Errorf("%d codes listed, want 4 (3 permanent, 1 temporary)", n)
	}
}

func TestQRCodeQuotas(t *testing.T) {
	const body = `{"expire_seconds":60,"action_name":"QR_SCENE","action_info":{"scene":{"scene_id":1}}}`
	t.Run("daily", func(t *testing.T) {
		p, clock := startPlatform(t, wechattest.PlatformConfig{Limits: wechattest.Limits{QRCodePerDay: 2}})
		tok := stableToken(t, p, false).AccessToken // stable tokens work as well as classic ones
		wantErrCode(t, createCode(t, p, tok, body), 0)
		wantErrCode(t, createCode(t, p, tok, body), 0)
		wantErrCode(t, createCode(t, p, tok, body), wechat.CodeDailyQuota)
		clock.Advance(24 * time.Hour)
		tok = stableToken(t, p, false).AccessToken
		wantErrCode(t, createCode(t, p, tok, body), 0)
	})
	t.Run("per minute", func(t *testing.T) {
		p, clock := startPlatform(t, wechattest.PlatformConfig{Limits: wechattest.Limits{QRCodePerMinute: 2}})
		tok := classicToken(t, p).AccessToken
		wantErrCode(t, createCode(t, p, tok, body), 0)
		wantErrCode(t, createCode(t, p, tok, body), 0)
		a := createCode(t, p, tok, body)
		wantErrCode(t, a, wechat.CodeMinuteQuota)
		clock.Advance(time.Minute)
		wantErrCode(t, createCode(t, p, tok, body), 0)
	})
	t.Run("no minute limit by default", func(t *testing.T) {
		p, _ := startPlatform(t, wechattest.PlatformConfig{})
		tok := classicToken(t, p).AccessToken
		for range 50 {
			wantErrCode(t, createCode(t, p, tok, body), 0)
		}
	})
}

// decodePNG reads the code in a PNG back with gozxing (PURE_BARCODE: see
// the qrimage tests for why).
func decodePNG(t *testing.T, b []byte) string {
	t.Helper()
	img, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("not a PNG: %v", err)
	}
	return decodeImage(t, img)
}

func decodeImage(t *testing.T, img image.Image) string {
	t.Helper()
	bmp, err := gozxing.NewBinaryBitmapFromImage(img)
	if err != nil {
		t.Fatal(err)
	}
	res, err := gzqr.NewQRCodeReader().Decode(bmp, map[gozxing.DecodeHintType]any{gozxing.DecodeHintType_PURE_BARCODE: true})
	if err != nil {
		t.Fatalf("decoding the image: %v", err)
	}
	return res.GetText()
}

func TestShowQRCode(t *testing.T) {
	p, clock := startPlatform(t, wechattest.PlatformConfig{})
	tok := classicToken(t, p).AccessToken
	temp := createCode(t, p, tok, `{"expire_seconds":60,"action_name":"QR_STR_SCENE","action_info":{"scene":{"scene_str":"login:1"}}}`)
	perm := createCode(t, p, tok, `{"action_name":"QR_LIMIT_STR_SCENE","action_info":{"scene":{"scene_str":"riddle-1"}}}`)

	get := func(u string) (*http.Response, []byte) {
		t.Helper()
		resp, err := http.Get(u)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		return resp, b
	}
	for _, c := range []platformAnswer{temp, perm} {
		u := p.ShowQRCodeURL(c.Ticket)
		if !strings.HasPrefix(u, p.URL()+wechattest.PathShowQRCode+"?ticket=") || !strings.HasSuffix(u, "%3D%3D") {
			t.Errorf("ShowQRCodeURL = %q, want the ticket query-escaped", u)
		}
		resp, b := get(u)
		if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "image/png" {
			t.Fatalf("HTTP %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
		}
		if got := decodePNG(t, b); got != c.URL {
			t.Errorf("image holds %q, want %q", got, c.URL)
		}
	}
	if resp, _ := get(p.URL() + wechattest.PathShowQRCode + "?ticket=" + url.QueryEscape("gQH47joAAAAAAAAAAS5odHRwOi8vd2VpeGluLnFxLmNvbS9xL3g==")); resp.StatusCode != http.StatusNotFound {
		t.Errorf("unknown ticket: HTTP %d, want 404", resp.StatusCode)
	}
	if resp, _ := get(p.URL() + wechattest.PathShowQRCode); resp.StatusCode != http.StatusNotFound {
		t.Errorf("no ticket: HTTP %d, want 404", resp.StatusCode)
	}
	clock.Advance(60 * time.Second)
	if resp, _ := get(p.ShowQRCodeURL(temp.Ticket)); resp.StatusCode != http.StatusNotFound {
		t.Errorf("expired code: HTTP %d, want 404", resp.StatusCode)
	}
	if resp, _ := get(p.ShowQRCodeURL(perm.Ticket)); resp.StatusCode != http.StatusOK {
		t.Errorf("permanent code after a minute: HTTP %d, want 200", resp.StatusCode)
	}
	if c, ok := p.Code(temp.Ticket); !ok || !c.Expired(clock.Now()) {
		t.Error("Code does not report the expired code as expired")
	}
}

// A ticket holding '+' must be escaped: unescaped, '+' reads as a space
// and the ticket is not found.
//
// Tickets are random, so the test makes codes until one holds a '+'. Each
// ticket has at least 12 base64 characters drawn uniformly from the random
// header, so a ticket lacks '+' with probability at most (63/64)^12 ≈ 0.83,
// and 200 tickets all lack it with probability below 10^-16: reaching the end
// of the loop means tickets lost their '+' (a changed encoding), a failure.
func TestShowQRCodeNeedsTheTicketEscaped(t *testing.T) {
	p, _ := startPlatform(t, wechattest.PlatformConfig{})
	tok := classicToken(t, p).AccessToken
	for i := range 200 {
		a := createCode(t, p, tok, `{"expire_seconds":60,"action_name":"QR_SCENE","action_info":{"scene":{"scene_id":`+strconv.Itoa(i+1)+`}}}`)
		if !strings.Contains(a.Ticket, "+") {
			continue
		}
		resp, err := http.Get(p.URL() + wechattest.PathShowQRCode + "?ticket=" + a.Ticket)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusNotFound {
			t.Errorf("unescaped ticket %q: HTTP %d, want 404", a.Ticket, resp.StatusCode)
		}
		return
	}
	t.Fatal("no ticket with '+' in 200 codes: tickets are no longer base64 of random bytes, or lost '+' from their alphabet")
}
