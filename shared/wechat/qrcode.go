package wechat

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
)

// Action names of qrcode/create (§8).
const (
	ActionScene         = "QR_SCENE"           // temporary, integer scene
	ActionStrScene      = "QR_STR_SCENE"       // temporary, string scene
	ActionLimitScene    = "QR_LIMIT_SCENE"     // permanent, integer scene 1..100000
	ActionLimitStrScene = "QR_LIMIT_STR_SCENE" // permanent, string scene
)

// Limits of qrcode/create (§8).
const (
	MaxExpireSeconds    = 2592000 // 30 days
	MaxPermanentSceneID = 100000
	// MaxSceneStrLen is the longest scene_str, counted in bytes: WeChat says
	// 64 without saying of what (§11.8), and bytes is the reading that can
	// never be too long.
	MaxSceneStrLen = 64
)

// QRCodeRequest is the body of qrcode/create.
type QRCodeRequest struct {
	// ExpireSeconds is the lifetime of a temporary code, 1..MaxExpireSeconds.
	// It is required: WeChat's default when it is absent is 60 s or 30 s
	// depending on the copy of the doc (§8), so 0 is refused rather than
	// silently omitted. It must be 0 for permanent codes.
	ExpireSeconds int64
	ActionName    string // one of the Action constants
	SceneID       uint32 // ActionScene (non-zero) and ActionLimitScene (1..100000)
	SceneStr      string // ActionStrScene and ActionLimitStrScene (1..64 bytes)
}

// QRCode is the answer of qrcode/create.
type QRCode struct {
	// Ticket fetches the image from showqrcode (ShowQRCodeURL).
	Ticket string `json:"ticket"`
	// ExpireSeconds is the code's lifetime; absent (0) for permanent codes.
	ExpireSeconds int64 `json:"expire_seconds"`
	// URL is the text inside the code, http:// as WeChat gives it (§8):
	// render it byte for byte.
	URL string `json:"url"`
}

// Validate checks r against §8's rules, so that the client never sends a
// body WeChat would reject or misread. CreateQRCode calls it.
func (r QRCodeRequest) Validate() error {
	bad := func(format string, a ...any) error {
		return fmt.Errorf("%w: qrcode: "+format, append([]any{ErrInvalidRequest}, a...)...)
	}
	temporary := false
	switch r.ActionName {
	case ActionScene, ActionStrScene:
		temporary = true
		if r.ExpireSeconds < 1 || r.ExpireSeconds > MaxExpireSeconds {
			return bad("expire_seconds %d outside 1..%d", r.ExpireSeconds, MaxExpireSeconds)
		}
	case ActionLimitScene, ActionLimitStrScene:
		if r.ExpireSeconds != 0 {
			return bad("expire_seconds %d given for permanent %s", r.ExpireSeconds, r.ActionName)
		}
	default:
		return bad("unknown action_name %q", r.ActionName)
	}
	switch r.ActionName {
	case ActionScene, ActionLimitScene:
		if r.SceneStr != "" {
			return bad("scene_str given for %s, which takes scene_id", r.ActionName)
		}
		if r.SceneID == 0 {
			return bad("scene_id 0")
		}
		if !temporary && r.SceneID > MaxPermanentSceneID {
			return bad("permanent scene_id %d > %d", r.SceneID, MaxPermanentSceneID)
		}
	default:
		if r.SceneID != 0 {
			return bad("scene_id given for %s, which takes scene_str", r.ActionName)
		}
		if err := checkSceneStr(r.SceneStr); err != nil {
			return bad("%v", err)
		}
	}
	return nil
}

// checkSceneStr refuses what encoding/json would write as a \u escape
// (control characters, U+2028, U+2029, invalid UTF-8 turned into \ufffd),
// since WeChat answers 40033 to \uXXXX in a body (§9), and what is too long.
func checkSceneStr(s string) error {
	if s == "" || len(s) > MaxSceneStrLen {
		return fmt.Errorf("scene_str of %d bytes, want 1..%d", len(s), MaxSceneStrLen)
	}
	for i, r := range s {
		switch {
		case r == '\uFFFD' && !strings.HasPrefix(s[i:], "\uFFFD"):
			return fmt.Errorf("scene_str is not valid UTF-8 at byte %d", i)
		case r < 0x20 || r == '\u2028' || r == '\u2029':
			return fmt.Errorf("scene_str has %U at byte %d, which JSON would escape as \\u", r, i)
		}
	}
	return nil
}

// qrBody is the wire shape of QRCodeRequest, in §8's field order.
type qrBody struct {
	ExpireSeconds int64  `json:"expire_seconds,omitempty"` // Validate keeps it non-zero exactly when temporary
	ActionName    string `json:"action_name"`
	ActionInfo    struct {
		Scene struct {
			SceneID  uint32 `json:"scene_id,omitempty"`
			SceneStr string `json:"scene_str,omitempty"`
		} `json:"scene"`
	} `json:"action_info"`
}

// CreateQRCode creates a QR code with parameters:
// POST /cgi-bin/qrcode/create?access_token=…, with the body of §8, e.g.
//
//	{"expire_seconds":600,"action_name":"QR_STR_SCENE","action_info":{"scene":{"scene_str":"login:9f2c"}}}
//
// written without HTML escaping (a "&" stays "&") and without the trailing
// newline of json.Encoder. An invalid req fails with ErrInvalidRequest
// before any request. Transient failures are retried: a retried temporary
// code is one more code (harmless), and re-creating a permanent scene
// returns the same code without using a new slot.
func (c *Client) CreateQRCode(ctx context.Context, accessToken string, req QRCodeRequest) (QRCode, error) {
	if accessToken == "" {
		return QRCode{}, fmt.Errorf("%w: empty access token", ErrInvalidRequest)
	}
	if err := req.Validate(); err != nil {
		return QRCode{}, err
	}
	var b qrBody
	b.ExpireSeconds = req.ExpireSeconds
	b.ActionName = req.ActionName
	b.ActionInfo.Scene.SceneID = req.SceneID
	b.ActionInfo.Scene.SceneStr = req.SceneStr
	body, err := encodeJSON(b)
	if err != nil {
		return QRCode{}, err
	}
	var code QRCode
	r := request{
		method: http.MethodPost, path: "/cgi-bin/qrcode/create",
		query: "access_token=" + url.QueryEscape(accessToken), body: body,
		retry: retryTransient, token: accessToken,
	}
	if err := c.call(ctx, r, &code); err != nil {
		return QRCode{}, err
	}
	if code.Ticket == "" || code.URL == "" {
		return QRCode{}, fmt.Errorf("%w: no ticket or url in a success answer", ErrInvalidResponse)
	}
	return code, nil
}

// ShowQRCodeURL is the address of a code's image on WeChat's servers. The
// ticket is the credential: no login or token is needed, and it is
// query-escaped because tickets are base64 and may hold '+', '/' and '='.
func ShowQRCodeURL(ticket string) string {
	return "https://mp.weixin.qq.com/cgi-bin/showqrcode?ticket=" + url.QueryEscape(ticket)
}
