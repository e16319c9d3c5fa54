package wechattest

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"time"
	"unicode/utf8"

	"wechatqr/shared/qrimage"
	"wechatqr/shared/wechat"
)

// Code is a QR code with parameters the Platform created.
type Code struct {
	Ticket     string
	URL        string // the text inside the code: http://weixin.qq.com/q/…
	ActionName string
	// Scene is the scene value as events carry it: the scene_id in decimal
	// or the scene_str; "0" for a body without the "scene" wrapper (§8).
	Scene         string
	ExpireSeconds int64 // 0 for permanent codes
	CreatedAt     time.Time
	ExpiresAt     time.Time // zero for permanent codes
}

// Permanent reports whether the code never expires (QR_LIMIT_SCENE and
// QR_LIMIT_STR_SCENE).
func (c Code) Permanent() bool {
	return c.ActionName == wechat.ActionLimitScene || c.ActionName == wechat.ActionLimitStrScene
}

// Expired reports whether a temporary code has expired at now.
func (c Code) Expired(now time.Time) bool { return !c.Permanent() && !now.Before(c.ExpiresAt) }

// defaultExpireSeconds is a temporary code's lifetime when the body has no
// expire_seconds (or 0): 60 s, per the current doc and its sample
// response; older copies say 30 (§8, §11.2).
const defaultExpireSeconds = 60

// Code returns the code with this ticket, expired or not.
func (p *Platform) Code(ticket string) (Code, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	c, ok := p.codes[ticket]
	if !ok {
		return Code{}, false
	}
	return *c, true
}

// Codes returns every code created, oldest first (a re-created permanent
// code appears once).
func (p *Platform) Codes() []Code {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make([]Code, len(p.order))
	for i, t := range p.order {
		out[i] = *p.codes[t]
	}
	return out
}

// PermanentCount is the number of permanent codes the account holds,
// against Limits.PermanentCodes.
func (p *Platform) PermanentCount() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.permanent)
}

// ShowQRCodeURL is the emulator's counterpart of wechat.ShowQRCodeURL: the
// address of the code's image on this Platform.
func (p *Platform) ShowQRCodeURL(ticket string) string {
	return p.URL() + PathShowQRCode + "?ticket=" + url.QueryEscape(ticket)
}

// qrCreateBody is qrcode/create's body with every field optional, so that
// the checks can tell absent from zero.
type qrCreateBody struct {
	ExpireSeconds *int64 `json:"expire_seconds"`
	ActionName    string `json:"action_name"`
	ActionInfo    *struct {
		Scene *struct {
			SceneID  *int64  `json:"scene_id"`
			SceneStr *string `json:"scene_str"`
		} `json:"scene"`
	} `json:"action_info"`
}

// serveCreateQRCode is POST /cgi-bin/qrcode/create?access_token=… (§8).
// Its checks, in order: method (43002), token (41001, 40014, 42001,
// 40001), daily and per-minute quotas (45009, 45011), JSON (47001), \u
// escapes (40033), action_name and action_info (40053), the permanent cap
// (45029).
//
// Choices where §8 is silent or UNCONFIRMED (§11.8):
//   - An unknown action_name answers 40053, the code WeChat uses for a bad
//     action_info; WeChat publishes no code of its own for it.
//   - Any \u escape in the body answers 40033, the answer errmsg describes
//     ("if include \uxxxx will create fail"); WeChat is known to do it on
//     menu/create. A client that writes UTF-8 as is never meets it.
//   - expire_seconds absent or 0 means 60 s; negative or above 2592000
//     answers 40053 rather than being clamped, so that a client's mistake
//     shows.
//   - A temporary scene_id must be 1..4294967295, a permanent one
//     1..100000; scene_str must be 1..64 characters (runes). Otherwise 40053.
//   - An action_info without its "scene" wrapper succeeds with scene "0",
//     as reported (§8); an absent action_info answers 40053.
//   - Re-creating a permanent code with the same action and scene returns
//     the same ticket and url and takes no new slot.
func (p *Platform) serveCreateQRCode(r *http.Request, body []byte) response {
	return p.withAccessToken(r, []string{http.MethodPost}, func(now time.Time) response {
		if code := p.spendQuota("qrcode", now, p.limits.QRCodePerDay, p.limits.QRCodePerMinute); code != 0 {
			return errcodeResponse(code)
		}

		var req qrCreateBody
		if code := decodeBody(body, &req); code != 0 {
			return errcodeResponse(code)
		}
		c, code := parseCodeRequest(req)
		if code != 0 {
			return errcodeResponse(code)
		}

		var key string
		if c.Permanent() {
			key = c.ActionName + "\x00" + c.Scene
			if ticket, ok := p.permanent[key]; ok {
				return codeResponse(p.codes[ticket])
			}
			if p.limits.PermanentCodes >= 0 && len(p.permanent) >= p.limits.PermanentCodes {
				return errcodeResponse(wechat.CodeQRCodeCountLimit)
			}
		} else {
			c.ExpiresAt = now.Add(time.Duration(c.ExpireSeconds) * time.Second)
		}
		c.CreatedAt = now
		c.URL = "http://weixin.qq.com/q/" + randomID(20)
		c.Ticket = newTicket(c.URL)
		for p.codes[c.Ticket] != nil {
			c.Ticket = newTicket(c.URL)
		}
		p.codes[c.Ticket] = c
		p.order = append(p.order, c.Ticket)
		if key != "" {
			p.permanent[key] = c.Ticket
		}
		return codeResponse(c)
	})
}

// parseCodeRequest applies the action_name and action_info rules. The
// returned Code has ActionName, Scene and ExpireSeconds set (ExpiresAt is
// left zero); a non-zero code is the errcode to answer instead.
func parseCodeRequest(req qrCreateBody) (*Code, int) {
	c := &Code{ActionName: req.ActionName}
	var temporary, str bool
	switch req.ActionName {
	case wechat.ActionScene:
		temporary = true
	case wechat.ActionStrScene:
		temporary, str = true, true
	case wechat.ActionLimitScene:
	case wechat.ActionLimitStrScene:
		str = true
	default:
		return nil, wechat.CodeInvalidActionInfo
	}
	if temporary {
		c.ExpireSeconds = defaultExpireSeconds
		if e := req.ExpireSeconds; e != nil && *e != 0 {
			if *e < 0 || *e > wechat.MaxExpireSeconds {
				return nil, wechat.CodeInvalidActionInfo
			}
			c.ExpireSeconds = *e
		}
	}
	if req.ActionInfo == nil {
		return nil, wechat.CodeInvalidActionInfo
	}
	scene := req.ActionInfo.Scene
	switch {
	case scene == nil:
		c.Scene = "0"
	case str:
		if scene.SceneStr == nil || *scene.SceneStr == "" || utf8.RuneCountInString(*scene.SceneStr) > wechat.MaxSceneStrLen {
			return nil, wechat.CodeInvalidActionInfo
		}
		c.Scene = *scene.SceneStr
	default:
		max := int64(math.MaxUint32)
		if !temporary {
			max = wechat.MaxPermanentSceneID
		}
		if scene.SceneID == nil || *scene.SceneID < 1 || *scene.SceneID > max {
			return nil, wechat.CodeInvalidActionInfo
		}
		c.Scene = strconv.FormatInt(*scene.SceneID, 10)
	}
	return c, 0
}

// codeResponse is qrcode/create's answer; permanent codes come back
// without expire_seconds (§8).
func codeResponse(c *Code) response {
	return jsonResponse(struct {
		Ticket        string `json:"ticket"`
		ExpireSeconds int64  `json:"expire_seconds,omitempty"`
		URL           string `json:"url"`
	}{c.Ticket, c.ExpireSeconds, c.URL})
}

// decodeBody decodes a JSON request body into v and returns the errcode
// to answer: 47001 when the body is not JSON or does not fit v, 40033 when
// it holds a \u escape (see serveCreateQRCode), 0 when v is ready.
func decodeBody(body []byte, v any) int {
	if !json.Valid(body) || json.Unmarshal(body, v) != nil {
		return wechat.CodeDataFormat
	}
	if hasUnicodeEscape(body) {
		return wechat.CodeInvalidCharset
	}
	return 0
}

// hasUnicodeEscape reports whether a JSON text holds a \uXXXX escape. In
// valid JSON a backslash occurs only inside strings, each escape taking
// two bytes, so stepping over escape pairs is enough (an escaped backslash
// followed by a 'u' is not an escape).
func hasUnicodeEscape(b []byte) bool {
	for i := 0; i < len(b); i++ {
		if b[i] != '\\' {
			continue
		}
		if i+1 < len(b) && b[i+1] == 'u' {
			return true
		}
		i++
	}
	return false
}

const idChars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

// randomID returns n characters like the tail of WeChat's code urls
// ("kZgfwMTm72WWPkovabbI").
func randomID(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	for i := range b {
		b[i] = idChars[int(b[i])%len(idChars)] // slight bias: harmless for an id
	}
	return string(b)
}

// newTicket builds a ticket shaped like WeChat's: base64 of a short binary
// header followed by the code's url (the §10 ticket decodes that way). For
// a 43-character url the 58 bytes encode with "==" at the end, like the
// doc's sample, and the random header bytes bring '+' and '/' now and
// then, so that callers who forget to escape tickets find out.
func newTicket(codeURL string) string {
	var head [13]byte
	rand.Read(head[:])
	head[0], head[1] = 0x81, 0x01
	b := append(head[:], 0x01, byte(len(codeURL)))
	b = append(b, codeURL...)
	return base64.StdEncoding.EncodeToString(b)
}

// showQRCodeSize is the side of the image showqrcode serves, in pixels:
// the size of WeChat's own images.
const showQRCodeSize = 430

// serveShowQRCode is GET /cgi-bin/showqrcode?ticket=… (§8): the image of a
// live code, 404 for an unknown or expired ticket (the 404 is a community
// report, §11.7; that an expired code gets it too is our reading).
//
// WeChat's sample headers say Content-Type image/jpg; the Platform serves
// PNG bytes and says image/png. Labelling PNG bytes as a JPEG would mislead
// anything that trusts the header, and §8 tells clients to treat the image
// as opaque bytes anyway.
func (p *Platform) serveShowQRCode(r *http.Request) response {
	notFound := response{status: http.StatusNotFound, contentType: "text/html; charset=utf-8", body: []byte("<html><body>404 Not Found</body></html>\n")}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		return response{status: http.StatusMethodNotAllowed, contentType: "text/plain; charset=utf-8", body: []byte("method not allowed\n")}
	}
	p.mu.Lock()
	c, ok := p.codes[r.URL.Query().Get("ticket")]
	live := ok && !c.Expired(p.cfg.Now())
	var content string
	if live {
		content = c.URL
	}
	p.mu.Unlock()
	if !live {
		return notFound
	}
	img, err := qrimage.PNG(content, showQRCodeSize)
	if err != nil {
		return response{status: http.StatusInternalServerError, contentType: "text/plain; charset=utf-8", body: []byte("rendering failed\n")}
	}
	return response{
		status:      http.StatusOK,
		contentType: "image/png",
		header:      map[string]string{"Cache-Control": "max-age=604800"},
		body:        img,
	}
}
