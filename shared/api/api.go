// Package api is the QR management API: create parametric codes on WeChat, store
// each scene's mapping and reply, render the code image, and read a scene's
// counters. It is an http.Handler; the template puts it behind IAM auth.
package api

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"wechatqr/shared/qr"
	"wechatqr/shared/redact"
	"wechatqr/shared/wechat"
)

// Store is what the API needs from storage.
type Store interface {
	Code(ctx context.Context, scene string) (*qr.Code, error)
	CreateCode(ctx context.Context, c *qr.Code, maxPermanent int64) error
	PermanentCount(ctx context.Context) (int64, error)
	SetReply(ctx context.Context, scene string, reply *qr.Reply) (*qr.Code, error)
	// SetActions replaces a scene's tag ("" for none) and follow-ups.
	SetActions(ctx context.Context, scene, tag string, followups []qr.Reply) (*qr.Code, error)
	// ActionCounts is what the scene's actions did (zero before any).
	ActionCounts(ctx context.Context, scene string) (qr.ActionCounts, error)
	ListCodes(ctx context.Context, cursor string, limit int) ([]*qr.Code, string, error)
	// SceneStats returns a scene's totals and its days in [from, to] (none when from is "").
	SceneStats(ctx context.Context, scene, from, to string) (qr.Stats, error)
	// Scenes lists every scene with statistics.
	Scenes(ctx context.Context) ([]string, error)
	CreateSession(ctx context.Context, s *qr.Session) error
	Session(ctx context.Context, id string) (*qr.Session, error)
	// EraseUser deletes every item naming openid, counters excepted, by kind.
	EraseUser(ctx context.Context, openid string) (qr.Erased, error)
}

// WeChat creates codes.
type WeChat interface {
	CreateQRCode(ctx context.Context, accessToken string, req wechat.QRCodeRequest) (wechat.QRCode, error)
}

// Tokens hands out the account's access token (a *token.Source).
type Tokens interface {
	Token(ctx context.Context) (string, error)
	Invalidate(ctx context.Context, failed string) (string, error)
}

// Config tunes the API.
type Config struct {
	// ShowQRCodeURL turns a ticket into the image address WeChat serves
	// (wechat.ShowQRCodeURL by default; the emulator's when run locally).
	ShowQRCodeURL func(ticket string) string
	// MaxPermanent is the account's permanent-code limit (qr.MaxPermanentCodes).
	MaxPermanent int64
	// MaxBody bounds request bodies (DefaultMaxBody).
	MaxBody int64
	Now     func() time.Time
}

// Defaults.
const (
	DefaultMaxBody = 16 << 10
	// DefaultExpireSeconds is the lifetime of a temporary code created without
	// expire_seconds: WeChat's own documented default (docs/wechat.md §8). We
	// always send it explicitly, since older copies of the doc say 30 s.
	DefaultExpireSeconds = 60
)

// Handler serves the QR management routes.
type Handler struct {
	store  Store
	wx     WeChat
	tokens Tokens
	cfg    Config
	log    *slog.Logger
	mux    *http.ServeMux
}

// New returns the API handler.
func New(cfg Config, store Store, wx WeChat, tokens Tokens, log *slog.Logger) (*Handler, error) {
	if store == nil || wx == nil || tokens == nil {
		return nil, errors.New("api: a store, a WeChat client and a token source are required")
	}
	if cfg.ShowQRCodeURL == nil {
		cfg.ShowQRCodeURL = wechat.ShowQRCodeURL
	}
	if cfg.MaxPermanent <= 0 {
		cfg.MaxPermanent = qr.MaxPermanentCodes
	}
	if cfg.MaxBody <= 0 {
		cfg.MaxBody = DefaultMaxBody
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	h := &Handler{store: store, wx: wx, tokens: tokens, cfg: cfg, log: log, mux: http.NewServeMux()}
	h.mux.HandleFunc("POST /qrcodes", h.create)
	h.mux.HandleFunc("GET /qrcodes", h.list)
	h.mux.HandleFunc("GET /qrcodes/{scene}", h.get)
	h.mux.HandleFunc("PUT /qrcodes/{scene}/reply", h.setReply)
	h.mux.HandleFunc("PUT /qrcodes/{scene}/actions", h.setActions)
	h.mux.HandleFunc("GET /qrcodes/{scene}/image", h.image)
	h.mux.HandleFunc("GET /qrcodes/{scene}/stats", h.stats)
	h.mux.HandleFunc("GET /stats/sources", h.sources)
	h.mux.HandleFunc("POST /batches/parse", h.parseBatch)
	h.mux.HandleFunc("POST /logins", h.createLogin)
	h.mux.HandleFunc("GET /logins/{id}", h.getLogin)
	h.mux.HandleFunc("DELETE /users/{openid}", h.eraseUser)
	h.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		// An openid or a session id in the path stays out of errors and logs.
		h.fail(w, r, qr.Errorf(qr.ENotFound, "no route %s %s", r.Method, redact.Path(r.URL.Path)))
	})
	return h, nil
}

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) { h.mux.ServeHTTP(w, r) }

// codeJSON is a code as the API shows it.
type codeJSON struct {
	Scene         string           `json:"scene"`
	ActionName    string           `json:"action_name"`
	Permanent     bool             `json:"permanent"`
	Ticket        string           `json:"ticket"`
	URL           string           `json:"url"`
	ImageURL      string           `json:"image_url"`
	ExpireSeconds int64            `json:"expire_seconds"`
	ExpiresAt     *string          `json:"expires_at"`
	Expired       bool             `json:"expired"`
	CreatedAt     string           `json:"created_at"`
	Reply         *qr.Reply        `json:"reply"`
	Tag           string           `json:"tag"`
	Followups     []qr.Reply       `json:"followups"`
	Stats         *qr.Counts       `json:"stats,omitempty"`
	Actions       *qr.ActionCounts `json:"actions,omitempty"`
	Today         *qr.Counts       `json:"today,omitempty"` // GET /qrcodes?include=stats: today's counts (China time)
}

func (h *Handler) view(c *qr.Code) codeJSON {
	v := codeJSON{
		Scene: c.Scene, ActionName: c.ActionName, Permanent: c.Permanent,
		Ticket: c.Ticket, URL: c.URL, ImageURL: h.cfg.ShowQRCodeURL(c.Ticket),
		ExpireSeconds: c.ExpireSeconds, Expired: c.Expired(h.cfg.Now()),
		CreatedAt: c.CreatedAt.UTC().Format(time.RFC3339), Reply: c.Reply,
		Tag: c.Tag, Followups: c.Followups,
	}
	if v.Followups == nil {
		v.Followups = []qr.Reply{}
	}
	if !c.ExpiresAt.IsZero() {
		s := c.ExpiresAt.UTC().Format(time.RFC3339)
		v.ExpiresAt = &s
	}
	return v
}

func (h *Handler) get(w http.ResponseWriter, r *http.Request) {
	scene := r.PathValue("scene")
	c, err := h.store.Code(r.Context(), scene)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	st, err := h.store.SceneStats(r.Context(), scene, "", "")
	if err != nil {
		h.fail(w, r, err)
		return
	}
	ac, err := h.store.ActionCounts(r.Context(), scene)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	v := h.view(c)
	v.Stats, v.Actions = &st.Totals, &ac
	writeJSON(w, http.StatusOK, v)
}

// actionsRequest is the body of PUT /qrcodes/{scene}/actions: both fields are
// replaced, and a field left out is cleared.
type actionsRequest struct {
	Tag       string     `json:"tag"`
	Followups []qr.Reply `json:"followups"`
}

func (h *Handler) setActions(w http.ResponseWriter, r *http.Request) {
	var body actionsRequest
	if err := h.decode(w, r, &body); err != nil {
		h.fail(w, r, err)
		return
	}
	if body.Tag != "" {
		if err := qr.ValidateTag(body.Tag); err != nil {
			h.fail(w, r, err)
			return
		}
	}
	if err := qr.ValidateFollowups(body.Followups); err != nil {
		h.fail(w, r, err)
		return
	}
	c, err := h.store.SetActions(r.Context(), r.PathValue("scene"), body.Tag, body.Followups)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.audit(r, "actions set", slog.String("scene", c.Scene), slog.String("tag", c.Tag), slog.Int("followups", len(c.Followups)))
	writeJSON(w, http.StatusOK, h.view(c))
}

func (h *Handler) setReply(w http.ResponseWriter, r *http.Request) {
	var reply qr.Reply
	if err := h.decode(w, r, &reply); err != nil {
		h.fail(w, r, err)
		return
	}
	if err := reply.Validate(); err != nil {
		h.fail(w, r, err)
		return
	}
	c, err := h.store.SetReply(r.Context(), r.PathValue("scene"), &reply)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.audit(r, "reply set", slog.String("scene", c.Scene), slog.String("reply_type", reply.Type))
	writeJSON(w, http.StatusOK, h.view(c))
}

// Paging bounds of GET /qrcodes.
const (
	DefaultPageSize = 20
	MaxPageSize     = 100
)

// Search bounds of GET /qrcodes?q=: codes examined per request before the page
// is answered short, with a cursor to go on from.
const maxSearched = 2000

// list answers a page of codes, newest first. q keeps the codes whose scene
// contains it (case ignored); include=stats adds each code's totals and today's
// counts, which is what the console's list shows.
func (h *Handler) list(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	limit := DefaultPageSize
	if v := q.Get("limit"); v != "" {
		n, err := parseInt(v)
		if err != nil || n < 1 || n > MaxPageSize {
			h.fail(w, r, qr.Errorf(qr.EInvalid, "limit: a whole number from 1 to %d", MaxPageSize))
			return
		}
		limit = int(n)
	}
	withStats := false
	switch v := q.Get("include"); v {
	case "":
	case "stats":
		withStats = true
	default:
		h.fail(w, r, qr.Errorf(qr.EInvalid, "include: only stats is known, not %q", v))
		return
	}
	search := strings.ToLower(q.Get("q"))
	if len(search) > wechat.MaxSceneStrLen*4 {
		h.fail(w, r, qr.Errorf(qr.EInvalid, "q: at most %d bytes", wechat.MaxSceneStrLen*4))
		return
	}
	codes, next, err := h.listCodes(r.Context(), q.Get("cursor"), limit, search)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	page := struct {
		Codes      []codeJSON `json:"codes"`
		NextCursor string     `json:"next_cursor,omitempty"`
	}{Codes: make([]codeJSON, 0, len(codes)), NextCursor: next}
	for _, c := range codes {
		page.Codes = append(page.Codes, h.view(c))
	}
	if withStats {
		if err := h.addStats(r.Context(), page.Codes); err != nil {
			h.fail(w, r, err)
			return
		}
	}
	writeJSON(w, http.StatusOK, page)
}

// listCodes reads a page, keeping only the scenes that contain search. Each
// store page asks for no more codes than the answer still lacks, so the store's
// cursor never skips a match; after maxSearched codes the page is answered short.
func (h *Handler) listCodes(ctx context.Context, cursor string, limit int, search string) ([]*qr.Code, string, error) {
	if search == "" {
		return h.store.ListCodes(ctx, cursor, limit)
	}
	var out []*qr.Code
	for searched := 0; len(out) < limit && searched < maxSearched; {
		codes, next, err := h.store.ListCodes(ctx, cursor, limit-len(out))
		if err != nil {
			return nil, "", err
		}
		searched += len(codes)
		for _, c := range codes {
			if strings.Contains(strings.ToLower(c.Scene), search) {
				out = append(out, c)
			}
		}
		if cursor = next; cursor == "" || len(codes) == 0 {
			break
		}
	}
	return out, cursor, nil
}

// addStats fills each code's totals and today's counts (China time), reading
// the scenes a few at a time.
func (h *Handler) addStats(ctx context.Context, codes []codeJSON) error {
	today := qr.DayOf(h.cfg.Now())
	errs := make([]error, len(codes))
	sem := make(chan struct{}, sourcesFanOut)
	var wg sync.WaitGroup
	for i := range codes {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			st, err := h.store.SceneStats(ctx, codes[i].Scene, today, today)
			if err != nil {
				errs[i] = err
				return
			}
			var day qr.Counts
			for _, d := range st.Days {
				day.Add(d.Counts)
			}
			codes[i].Stats, codes[i].Today = &st.Totals, &day
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// callWeChat creates a code with the shared token, refreshing it once on a token
// error (another instance may already have; the source knows).
func (h *Handler) callWeChat(ctx context.Context, req wechat.QRCodeRequest) (wechat.QRCode, error) {
	tok, err := h.tokens.Token(ctx)
	if err != nil {
		return wechat.QRCode{}, err
	}
	code, err := h.wx.CreateQRCode(ctx, tok, req)
	if wechat.IsTokenError(err) {
		h.log.Warn("access token rejected; refreshing once", slog.String("error", err.Error()))
		if tok, err = h.tokens.Invalidate(ctx, tok); err != nil {
			return wechat.QRCode{}, err
		}
		code, err = h.wx.CreateQRCode(ctx, tok, req)
	}
	return code, err
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
}

func parseInt(s string) (int64, error) {
	var n int64
	if s == "" || len(s) > 12 {
		return 0, errors.New("not a number")
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return 0, errors.New("not a number")
		}
		n = n*10 + int64(c-'0')
	}
	return n, nil
}
