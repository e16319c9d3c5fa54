package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"wechatqr/shared/qr"
	"wechatqr/shared/wechat"
)

// createRequest is the body of POST /qrcodes.
type createRequest struct {
	Scene         json.RawMessage `json:"scene"`
	Permanent     bool            `json:"permanent"`
	ExpireSeconds *int64          `json:"expire_seconds"`
	Reply         *qr.Reply       `json:"reply"`
	Tag           *string         `json:"tag"`
	Followups     *[]qr.Reply     `json:"followups"`
}

// newCode is a validated create request.
type newCode struct {
	scene     string // the EventKey WeChat will push back
	wx        wechat.QRCodeRequest
	permanent bool
	reply     *qr.Reply
	tag       *string     // nil when the request names no tag
	followups *[]qr.Reply // nil when the request names no follow-ups
}

func (h *Handler) create(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	var body createRequest
	if err := h.decode(w, r, &body); err != nil {
		h.fail(w, r, err)
		return
	}
	req, err := validate(body)
	if err != nil {
		h.fail(w, r, err)
		return
	}

	existing, err := h.store.Code(ctx, req.scene)
	if err != nil && qr.ErrorCode(err) != qr.ENotFound {
		h.fail(w, r, err)
		return
	}
	if existing != nil && existing.Expired(h.cfg.Now()) {
		existing = nil // a dead temporary code holds its key no longer
	}
	if existing != nil {
		switch {
		case existing.Permanent != req.permanent:
			h.fail(w, r, qr.Errorf(qr.EConflict, "scene %q is a %s code; a %s code cannot share its EventKey", req.scene, kind(existing.Permanent), kind(req.permanent)))
			return
		case existing.Permanent:
			// Idempotent: the printed code stays the one WeChat already made.
			if req.reply != nil && !reflect.DeepEqual(req.reply, existing.Reply) {
				h.fail(w, r, qr.Errorf(qr.EConflict, "scene %q exists with another reply; change it with PUT /qrcodes/%s/reply", req.scene, pathEscape(req.scene)))
				return
			}
			if !req.sameActions(existing) {
				h.fail(w, r, qr.Errorf(qr.EConflict, "scene %q exists with other actions (tag, followups); change them with PUT /qrcodes/%s/actions", req.scene, pathEscape(req.scene)))
				return
			}
			writeJSON(w, http.StatusOK, h.view(existing))
			return
		}
		if req.reply == nil { // a re-issue keeps the scene's reply and actions
			req.reply = existing.Reply
		}
		if req.tag == nil {
			req.tag = &existing.Tag
		}
		if req.followups == nil {
			req.followups = &existing.Followups
		}
	}
	if req.permanent {
		n, err := h.store.PermanentCount(ctx)
		if err != nil {
			h.fail(w, r, err)
			return
		}
		if n >= h.cfg.MaxPermanent {
			h.fail(w, r, qr.Errorf(qr.EQuota, "the account already holds %d permanent codes, WeChat's limit; use temporary codes", n))
			return
		}
	}

	now := h.cfg.Now()
	res, err := h.callWeChat(ctx, req.wx)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	code := &qr.Code{
		Scene: req.scene, ActionName: req.wx.ActionName, Ticket: res.Ticket, URL: res.URL,
		Permanent: req.permanent, Reply: req.reply, CreatedAt: now,
	}
	if req.tag != nil {
		code.Tag = *req.tag
	}
	if req.followups != nil && len(*req.followups) > 0 {
		code.Followups = *req.followups
	}
	if !req.permanent {
		// One report saw expire_seconds 0 come back while the code kept the
		// requested lifetime (docs/wechat.md §8): trust what we asked for then.
		code.ExpireSeconds = res.ExpireSeconds
		if code.ExpireSeconds <= 0 {
			code.ExpireSeconds = req.wx.ExpireSeconds
		}
		code.ExpiresAt = now.Add(time.Duration(code.ExpireSeconds) * time.Second)
	}
	if err := h.store.CreateCode(ctx, code, h.cfg.MaxPermanent); err != nil {
		if qr.ErrorCode(err) == qr.EConflict && req.permanent {
			// A concurrent request created it first: answer as the idempotent path does.
			if stored, gerr := h.store.Code(ctx, req.scene); gerr == nil && stored.Permanent {
				writeJSON(w, http.StatusOK, h.view(stored))
				return
			}
		}
		h.fail(w, r, err)
		return
	}
	h.audit(r, "code created", createdAttrs(code)...)
	writeJSON(w, http.StatusCreated, h.view(code))
}

func kind(permanent bool) string {
	if permanent {
		return "permanent"
	}
	return "temporary"
}

// decode reads a JSON body strictly: bounded, one object, no unknown fields.
func (h *Handler) decode(w http.ResponseWriter, r *http.Request, v any) error {
	body, err := io.ReadAll(io.LimitReader(r.Body, h.cfg.MaxBody+1))
	if err != nil {
		return qr.Errorf(qr.EInvalid, "body: could not be read")
	}
	if int64(len(body)) > h.cfg.MaxBody {
		return &tooLarge{h.cfg.MaxBody}
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return qr.Errorf(qr.EInvalid, "body: %s", jsonProblem(err))
	}
	if dec.More() {
		return qr.Errorf(qr.EInvalid, "body: one JSON object expected, found more after it")
	}
	return nil
}

// jsonProblem says what is wrong with a body in the caller's terms.
func jsonProblem(err error) string {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		return fmt.Sprintf("not valid JSON at byte %d", syn.Offset)
	case errors.As(err, &typ):
		if typ.Field == "" {
			return "the body must be a JSON object"
		}
		return fmt.Sprintf("%s must be %s, not %s", typ.Field, jsonKind(typ.Type), typ.Value)
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "empty or truncated JSON"
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		return "unknown field " + strings.TrimPrefix(err.Error(), "json: unknown field ")
	}
	return "not valid JSON"
}

// jsonKind names what JSON a Go type takes, in the caller's terms.
func jsonKind(t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "a whole number"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Slice, reflect.Array:
		return "an array"
	}
	return "an object"
}

// validate checks a create request against every platform limit before anything
// is written or sent, naming the field and the limit.
func validate(b createRequest) (newCode, error) {
	var req newCode
	req.permanent = b.Permanent
	raw := bytes.TrimSpace(b.Scene)
	switch {
	case len(raw) == 0 || string(raw) == "null":
		return req, qr.Errorf(qr.EInvalid, "scene: required, a number or a string")
	case raw[0] == '"':
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return req, qr.Errorf(qr.EInvalid, "scene: not a valid JSON string")
		}
		if err := checkSceneStr(s); err != nil {
			return req, err
		}
		req.scene, req.wx.SceneStr = s, s
		req.wx.ActionName = wechat.ActionStrScene
		if b.Permanent {
			req.wx.ActionName = wechat.ActionLimitStrScene
		}
	default:
		id, err := strconv.ParseUint(string(raw), 10, 64)
		switch {
		case err != nil:
			return req, qr.Errorf(qr.EInvalid, "scene: a number must be a whole number without sign, fraction or exponent")
		case b.Permanent && (id < 1 || id > wechat.MaxPermanentSceneID):
			return req, qr.Errorf(qr.EInvalid, "scene: a permanent numeric scene is 1 to %d", wechat.MaxPermanentSceneID)
		case !b.Permanent && (id < 1 || id > 1<<32-1):
			return req, qr.Errorf(qr.EInvalid, "scene: a temporary numeric scene is a non-zero 32-bit unsigned integer (1 to 4294967295)")
		}
		req.scene, req.wx.SceneID = strconv.FormatUint(id, 10), uint32(id)
		req.wx.ActionName = wechat.ActionScene
		if b.Permanent {
			req.wx.ActionName = wechat.ActionLimitScene
		}
	}
	switch {
	case b.Permanent && b.ExpireSeconds != nil:
		return req, qr.Errorf(qr.EInvalid, "expire_seconds: permanent codes never expire; omit it or set permanent to false")
	case !b.Permanent && b.ExpireSeconds == nil:
		req.wx.ExpireSeconds = DefaultExpireSeconds
	case !b.Permanent:
		if *b.ExpireSeconds < 1 || *b.ExpireSeconds > wechat.MaxExpireSeconds {
			return req, qr.Errorf(qr.EInvalid, "expire_seconds: 1 to %d (30 days)", wechat.MaxExpireSeconds)
		}
		req.wx.ExpireSeconds = *b.ExpireSeconds
	}
	if b.Reply != nil {
		if err := b.Reply.Validate(); err != nil {
			return req, err
		}
		req.reply = b.Reply
	}
	if b.Tag != nil {
		if err := qr.ValidateTag(*b.Tag); err != nil {
			return req, err
		}
		req.tag = b.Tag
	}
	if b.Followups != nil {
		if err := qr.ValidateFollowups(*b.Followups); err != nil {
			return req, err
		}
		req.followups = b.Followups
	}
	return req, nil
}

// sameActions reports whether the actions the request names (if any) are the
// ones c has, so that repeating a create is idempotent.
func (req newCode) sameActions(c *qr.Code) bool {
	if req.tag != nil && *req.tag != c.Tag {
		return false
	}
	if req.followups != nil && (len(*req.followups) > 0 || len(c.Followups) > 0) && !reflect.DeepEqual(*req.followups, c.Followups) {
		return false
	}
	return true
}

// checkSceneStr admits the strings that come back unchanged as an EventKey: at
// most 64 bytes (WeChat says 64 without saying of what), valid UTF-8, no control
// or invisible characters, none of XML's <, > and & (WeChat's escaping of them in
// pushes is undocumented), no U+2028/U+2029 (Go's JSON encoder escapes them even
// with HTML escaping off, and WeChat refuses \u escapes), no surrounding spaces,
// and not the prefix reserved for log-in sessions.
func checkSceneStr(s string) error {
	switch {
	case s == "":
		return qr.Errorf(qr.EInvalid, "scene: a string scene needs 1 to %d bytes", wechat.MaxSceneStrLen)
	case len(s) > wechat.MaxSceneStrLen:
		return qr.Errorf(qr.EInvalid, "scene: %d bytes is over WeChat's limit of %d (64 ASCII characters)", len(s), wechat.MaxSceneStrLen)
	case !utf8.ValidString(s):
		return qr.Errorf(qr.EInvalid, "scene: not valid UTF-8")
	case strings.TrimSpace(s) != s:
		return qr.Errorf(qr.EInvalid, "scene: no leading or trailing spaces")
	case strings.HasPrefix(s, qr.LoginPrefix):
		return qr.Errorf(qr.EInvalid, "scene: the prefix %q is reserved for log-in sessions (POST /logins)", qr.LoginPrefix)
	}
	for _, c := range s {
		if unicode.IsControl(c) || c == '\u2028' || c == '\u2029' || c == utf8.RuneError || c == '<' || c == '>' || c == '&' ||
			(!unicode.IsPrint(c) && c != ' ') {
			return qr.Errorf(qr.EInvalid, "scene: the character %q does not survive the EventKey round trip", c)
		}
	}
	return nil
}
