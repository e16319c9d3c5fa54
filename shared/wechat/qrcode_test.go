package wechat_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"

	"wechatqr/shared/wechat"
	"wechatqr/shared/wechat/wechattest"
)

func TestCreateQRCodeSendsSection8Bodies(t *testing.T) {
	tests := []struct {
		name      string
		req       wechat.QRCodeRequest
		body      string
		scene     string
		permanent bool
	}{
		{
			"temporary integer scene",
			wechat.QRCodeRequest{ExpireSeconds: 600, ActionName: wechat.ActionScene, SceneID: 42},
			`{"expire_seconds":600,"action_name":"QR_SCENE","action_info":{"scene":{"scene_id":42}}}`, "42", false,
		},
		{
			"temporary string scene",
			wechat.QRCodeRequest{ExpireSeconds: 600, ActionName: wechat.ActionStrScene, SceneStr: "login:9f2c"},
			`{"expire_seconds":600,"action_name":"QR_STR_SCENE","action_info":{"scene":{"scene_str":"login:9f2c"}}}`, "login:9f2c", false,
		},
		{
			"permanent integer scene",
			wechat.QRCodeRequest{ActionName: wechat.ActionLimitScene, SceneID: 100000},
			`{"action_name":"QR_LIMIT_SCENE","action_info":{"scene":{"scene_id":100000}}}`, "100000", true,
		},
		{
			"permanent string scene",
			wechat.QRCodeRequest{ActionName: wechat.ActionLimitStrScene, SceneStr: "riddle-1"},
			`{"action_name":"QR_LIMIT_STR_SCENE","action_info":{"scene":{"scene_str":"riddle-1"}}}`, "riddle-1", true,
		},
		{
			"html characters stay unescaped",
			wechat.QRCodeRequest{ExpireSeconds: 2592000, ActionName: wechat.ActionStrScene, SceneStr: "a&b<c>d"},
			`{"expire_seconds":2592000,"action_name":"QR_STR_SCENE","action_info":{"scene":{"scene_str":"a&b<c>d"}}}`, "a&b<c>d", false,
		},
		{
			"64-byte scene and non-ASCII text",
			wechat.QRCodeRequest{ExpireSeconds: 1, ActionName: wechat.ActionStrScene, SceneStr: "谜语-" + strings.Repeat("x", 57)},
			`{"expire_seconds":1,"action_name":"QR_STR_SCENE","action_info":{"scene":{"scene_str":"谜语-` + strings.Repeat("x", 57) + `"}}}`, "谜语-" + strings.Repeat("x", 57), false,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, c, _ := apiSetup(t, wechattest.PlatformConfig{})
			tok := apiToken(t, c)
			code, err := c.CreateQRCode(context.Background(), tok, tt.req)
			if err != nil {
				t.Fatalf("CreateQRCode: %v", err)
			}
			log := p.CallLog(wechattest.PathQRCodeCreate)
			if len(log) != 1 {
				t.Fatalf("%d calls, want 1", len(log))
			}
			if got := string(log[0].Body); got != tt.body {
				t.Errorf("body\n got %s\nwant %s", got, tt.body)
			}
			if got := log[0].Query.Get("access_token"); got != tok {
				t.Errorf("access_token query %q, want the token", got)
			}
			if !strings.HasPrefix(code.URL, "http://weixin.qq.com/q/") || code.Ticket == "" {
				t.Errorf("answer %+v", code)
			}
			if want := int64(0); tt.permanent && code.ExpireSeconds != want {
				t.Errorf("permanent code came back with expire_seconds %d", code.ExpireSeconds)
			}
			if !tt.permanent && code.ExpireSeconds != tt.req.ExpireSeconds {
				t.Errorf("expire_seconds %d, want %d", code.ExpireSeconds, tt.req.ExpireSeconds)
			}
			stored, ok := p.Code(code.Ticket)
			if !ok || stored.Scene != tt.scene || stored.URL != code.URL || stored.Permanent() != tt.permanent {
				t.Errorf("platform holds %+v (found %v), want scene %q", stored, ok, tt.scene)
			}
		})
	}
}

func TestCreateQRCodeRefusesInvalidRequestsWithoutSending(t *testing.T) {
	tests := []struct {
		name string
		req  wechat.QRCodeRequest
	}{
		{"unknown action", wechat.QRCodeRequest{ExpireSeconds: 60, ActionName: "QR_CARD", SceneID: 1}},
		{"temporary without expire_seconds", wechat.QRCodeRequest{ActionName: wechat.ActionScene, SceneID: 1}},
		{"expire_seconds above 30 days", wechat.QRCodeRequest{ExpireSeconds: 2592001, ActionName: wechat.ActionScene, SceneID: 1}},
		{"negative expire_seconds", wechat.QRCodeRequest{ExpireSeconds: -1, ActionName: wechat.ActionStrScene, SceneStr: "a"}},
		{"expire_seconds on a permanent code", wechat.QRCodeRequest{ExpireSeconds: 60, ActionName: wechat.ActionLimitScene, SceneID: 1}},
		{"temporary scene_id 0", wechat.QRCodeRequest{ExpireSeconds: 60, ActionName: wechat.ActionScene}},
		{"permanent scene_id 0", wechat.QRCodeRequest{ActionName: wechat.ActionLimitScene}},
		{"permanent scene_id above 100000", wechat.QRCodeRequest{ActionName: wechat.ActionLimitScene, SceneID: 100001}},
		{"scene_str on an integer action", wechat.QRCodeRequest{ExpireSeconds: 60, ActionName: wechat.ActionScene, SceneID: 1, SceneStr: "x"}},
		{"scene_id on a string action", wechat.QRCodeRequest{ActionName: wechat.ActionLimitStrScene, SceneID: 1, SceneStr: "x"}},
		{"empty scene_str", wechat.QRCodeRequest{ActionName: wechat.ActionLimitStrScene}},
		{"65-byte scene_str", wechat.QRCodeRequest{ActionName: wechat.ActionLimitStrScene, SceneStr: strings.Repeat("a", 65)}},
		{"scene_str over 64 bytes in 22 characters", wechat.QRCodeRequest{ActionName: wechat.ActionLimitStrScene, SceneStr: strings.Repeat("谜", 22)}},
		{"U+2028 in scene_str", wechat.QRCodeRequest{ActionName: wechat.ActionLimitStrScene, SceneStr: "a\u2028b"}},
		{"control character in scene_str", wechat.QRCodeRequest{ActionName: wechat.ActionLimitStrScene, SceneStr: "a\nb"}},
		{"invalid UTF-8 in scene_str", wechat.QRCodeRequest{ActionName: wechat.ActionLimitStrScene, SceneStr: "a\xffb"}},
	}
	p, c, _ := apiSetup(t, wechattest.PlatformConfig{})
	tok := apiToken(t, c)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := c.CreateQRCode(context.Background(), tok, tt.req)
			if !errors.Is(err, wechat.ErrInvalidRequest) {
				t.Errorf("err = %v, want ErrInvalidRequest", err)
			}
		})
	}
	if _, err := c.CreateQRCode(context.Background(), "", wechat.QRCodeRequest{ExpireSeconds: 60, ActionName: wechat.ActionScene, SceneID: 1}); !errors.Is(err, wechat.ErrInvalidRequest) {
		t.Errorf("empty token: err = %v, want ErrInvalidRequest", err)
	}
	if n := p.Calls(wechattest.PathQRCodeCreate); n != 0 {
		t.Errorf("%d requests reached the platform, want none", n)
	}
	// A real U+FFFD is valid UTF-8 and is sent as is.
	if _, err := c.CreateQRCode(context.Background(), tok, wechat.QRCodeRequest{ActionName: wechat.ActionLimitStrScene, SceneStr: "a\uFFFDb"}); err != nil {
		t.Errorf("U+FFFD: %v", err)
	}
}

func TestShowQRCodeURLEscapesTheTicket(t *testing.T) {
	tests := []struct{ ticket, want string }{
		{"gQH47jo+ab/c==", "https://mp.weixin.qq.com/cgi-bin/showqrcode?ticket=gQH47jo%2Bab%2Fc%3D%3D"},
		{"plain", "https://mp.weixin.qq.com/cgi-bin/showqrcode?ticket=plain"},
	}
	for _, tt := range tests {
		if got := wechat.ShowQRCodeURL(tt.ticket); got != tt.want {
			t.Errorf("ShowQRCodeURL(%q) = %q, want %q", tt.ticket, got, tt.want)
		}
	}
}

// The image the emulator serves for a ticket the client got back holds
// the code's url (the emulator's own tests decode it; here the round trip
// through the real escaping matters).
func TestShowQRCodeRoundTripThroughTheEmulator(t *testing.T) {
	p, c, _ := apiSetup(t, wechattest.PlatformConfig{})
	tok := apiToken(t, c)
	for i := range 20 { // enough tickets that some hold '+' or '/'
		code, err := c.CreateQRCode(context.Background(), tok, wechat.QRCodeRequest{ExpireSeconds: 60, ActionName: wechat.ActionScene, SceneID: uint32(i + 1)})
		if err != nil {
			t.Fatal(err)
		}
		u := strings.Replace(wechat.ShowQRCodeURL(code.Ticket), "https://mp.weixin.qq.com", p.URL(), 1)
		resp, err := http.Get(u)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("ticket %q: HTTP %d", code.Ticket, resp.StatusCode)
		}
	}
}
