package api

import (
	"crypto/rand"
	"encoding/base32"
	"net/http"
	"time"

	"wechatqr/shared/qr"
	"wechatqr/shared/wechat"
)

// Log-in code lifetimes, in seconds.
const (
	DefaultLoginExpireSeconds = 180 // long enough to find the phone, short enough to be useless if photographed
	MinLoginExpireSeconds     = 30
	MaxLoginExpireSeconds     = 3600
	// MaxLoginWait bounds GET /logins/{id}?wait=N, in seconds; the template gives the
	// function a timeout above it.
	MaxLoginWait = 20
	loginPoll    = 300 * time.Millisecond
)

// sessionID is 128 random bits as 26 lowercase base32 characters: unguessable,
// and with the "login:" prefix a 32-byte scene_str, inside WeChat's 64.
var sessionID = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

// NewSessionID returns a fresh session id.
func NewSessionID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // never fails (crypto/rand's contract since Go 1.24)
	return sessionID.EncodeToString(b[:])
}

func validSessionID(id string) bool {
	if len(id) != 26 {
		return false
	}
	_, err := sessionID.DecodeString(id)
	return err == nil
}

type loginJSON struct {
	ID        string  `json:"id"`
	Scene     string  `json:"scene,omitempty"`
	Ticket    string  `json:"ticket,omitempty"`
	URL       string  `json:"url,omitempty"`
	ImageURL  string  `json:"image_url,omitempty"`
	ExpiresAt string  `json:"expires_at"`
	Status    string  `json:"status"`
	OpenID    string  `json:"openid,omitempty"`
	ScannedAt *string `json:"scanned_at,omitempty"`
}

// createLogin makes a one-time temporary code for a website's log-in page.
func (h *Handler) createLogin(w http.ResponseWriter, r *http.Request) {
	var body struct {
		ExpireSeconds *int64 `json:"expire_seconds"`
	}
	if r.ContentLength != 0 {
		if err := h.decode(w, r, &body); err != nil {
			h.fail(w, r, err)
			return
		}
	}
	expire := int64(DefaultLoginExpireSeconds)
	if body.ExpireSeconds != nil {
		expire = *body.ExpireSeconds
		if expire < MinLoginExpireSeconds || expire > MaxLoginExpireSeconds {
			h.fail(w, r, qr.Errorf(qr.EInvalid, "expire_seconds: %d to %d for a log-in code", MinLoginExpireSeconds, MaxLoginExpireSeconds))
			return
		}
	}
	id := NewSessionID()
	scene := qr.LoginPrefix + id
	now := h.cfg.Now()
	code, err := h.callWeChat(r.Context(), wechat.QRCodeRequest{ActionName: wechat.ActionStrScene, SceneStr: scene, ExpireSeconds: expire})
	if err != nil {
		h.fail(w, r, err)
		return
	}
	sess := &qr.Session{
		ID: id, Scene: scene, Ticket: code.Ticket, URL: code.URL, Status: qr.SessionPending,
		CreatedAt: now, ExpiresAt: now.Add(time.Duration(expire) * time.Second),
	}
	if err := h.store.CreateSession(r.Context(), sess); err != nil {
		h.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, h.loginView(sess, true))
}

func (h *Handler) loginView(s *qr.Session, withCode bool) loginJSON {
	v := loginJSON{ID: s.ID, ExpiresAt: s.ExpiresAt.UTC().Format(time.RFC3339), Status: s.StatusAt(h.cfg.Now()), OpenID: s.OpenID}
	if withCode {
		v.Scene, v.Ticket, v.URL, v.ImageURL = s.Scene, s.Ticket, s.URL, h.cfg.ShowQRCodeURL(s.Ticket)
	}
	if !s.ScannedAt.IsZero() {
		at := s.ScannedAt.UTC().Format(time.RFC3339)
		v.ScannedAt = &at
	}
	return v
}

// getLogin answers a session's status; with wait=N it holds the request up to N
// seconds until the status is no longer pending, so browsers need not poll hard.
func (h *Handler) getLogin(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if !validSessionID(id) {
		// The id stays out of the message, which is logged: the caller knows it.
		h.fail(w, r, qr.Errorf(qr.ENotFound, "no such log-in session"))
		return
	}
	var wait time.Duration
	if v := r.URL.Query().Get("wait"); v != "" {
		n, err := parseInt(v)
		if err != nil || n > MaxLoginWait {
			h.fail(w, r, qr.Errorf(qr.EInvalid, "wait: a whole number of seconds from 0 to %d", MaxLoginWait))
			return
		}
		wait = time.Duration(n) * time.Second
	}
	deadline := time.Now().Add(wait)
	for {
		s, err := h.store.Session(r.Context(), id)
		if err != nil {
			h.fail(w, r, err)
			return
		}
		if s.StatusAt(h.cfg.Now()) != qr.SessionPending || !time.Now().Add(loginPoll).Before(deadline) {
			writeJSON(w, http.StatusOK, h.loginView(s, false))
			return
		}
		select {
		case <-r.Context().Done():
			return
		case <-time.After(loginPoll):
		}
	}
}
