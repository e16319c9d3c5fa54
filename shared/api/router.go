package api

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"wechatqr/shared/accounts"
	"wechatqr/shared/caller"
	"wechatqr/shared/qr"
)

// Registry is what the Router needs of the stack's accounts (an
// *accounts.Registry).
type Registry interface {
	DefaultAppID() string
	List(ctx context.Context) ([]accounts.Account, error)
	Get(ctx context.Context, appID string) (accounts.Account, error)
	Create(ctx context.Context, n accounts.NewAccount) (accounts.Account, error)
	Update(ctx context.Context, appID string, p accounts.Patch) (accounts.Account, error)
	Delete(ctx context.Context, appID string) error
}

// Opener builds the API of one stored account: its store, its token and its
// WeChat calls. The Router calls it once per account and instance.
type Opener func(ctx context.Context, a accounts.Account) (*Handler, error)

// Router serves every account's API (docs/api.md, "Accounts"): the routes of
// today for the default account, /accounts and /accounts/{appid} for the
// registry, and every route of today again under /accounts/{appid}/ for that
// account. For the default account both spellings reach one Handler.
//
// Who may see which account is the caller's (shared/caller): an IAM principal
// and the local stack see all; a console user sees the accounts of their
// Cognito groups (admins: every account and the registry; account-<appid>: that
// account only). The check is made here, on every request, before any account
// is opened: a typed URL reaches nothing the user may not see.
type Router struct {
	reg    Registry
	def    *Handler
	open   Opener
	health Health
	erase  func(ctx context.Context, appID, cursor string, until time.Time) (int, string, error)
	// platform starts and completes authorizations; nil when the stack is not
	// a third-party platform.
	platform Platform
	log      *slog.Logger
	mux      *http.ServeMux

	mu    sync.Mutex
	cache map[string]*Handler
}

// Health reads an account's token health (a *dynamo.Tokens's Health).
type Health func(ctx context.Context, appID string) (qr.TokenHealth, error)

// RouterConfig is what a Router is built from.
type RouterConfig struct {
	Registry Registry
	// Default is the default account's Handler; Open builds the others'.
	Default *Handler
	Open    Opener
	// Health shows each account's token in GET /accounts; nil shows none.
	Health Health
	// Erase deletes a removed account's data, scanning from cursor until the
	// deadline (a *dynamo.Store's EraseAccountData, of the account's Store);
	// nil refuses DELETE /accounts/{appid}?erase=true.
	Erase func(ctx context.Context, appID, cursor string, until time.Time) (deleted int, next string, err error)
	// Platform serves /platform/authorizations; nil refuses it (the stack is
	// not a third-party platform).
	Platform Platform
	Log      *slog.Logger
}

// eraseBudget is how long one DELETE /accounts/{appid}?erase=true works before
// it answers with a cursor to go on from: inside the qrcode function's 25 s.
const eraseBudget = 15 * time.Second

// NewRouter returns the Router of cfg.
func NewRouter(cfg RouterConfig) (*Router, error) {
	if cfg.Registry == nil || cfg.Default == nil || cfg.Open == nil {
		return nil, errors.New("api: a registry, the default account's handler and an opener are required")
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	rt := &Router{reg: cfg.Registry, def: cfg.Default, open: cfg.Open, health: cfg.Health, erase: cfg.Erase, platform: cfg.Platform, log: cfg.Log, mux: http.NewServeMux(), cache: map[string]*Handler{}}
	rt.mux.HandleFunc("GET /accounts", rt.list)
	rt.mux.HandleFunc("POST /accounts", rt.create)
	rt.mux.HandleFunc("GET /accounts/{appid}", rt.get)
	rt.mux.HandleFunc("PATCH /accounts/{appid}", rt.update)
	rt.mux.HandleFunc("DELETE /accounts/{appid}", rt.remove)
	rt.mux.HandleFunc("/accounts/{appid}/", rt.account)
	rt.mux.HandleFunc("GET /stats/accounts", rt.accountTotals)
	rt.mux.HandleFunc("POST /platform/authorizations", rt.startAuthorization)
	rt.mux.HandleFunc("POST /platform/authorizations/complete", rt.completeAuthorization)
	rt.mux.HandleFunc("/", rt.defaultAccount)
	return rt, nil
}

// defaultAccount serves the routes of today: the default account's, to those
// who may see it.
func (rt *Router) defaultAccount(w http.ResponseWriter, r *http.Request) {
	if appID := rt.reg.DefaultAppID(); !MaySee(caller.From(r.Context()), appID) {
		rt.def.fail(w, r, qr.Errorf(qr.EForbidden, "you may not see account %s, whose routes these are: name your account's, /accounts/{appid}/…", appID))
		return
	}
	rt.def.ServeHTTP(w, r)
}

func (rt *Router) ServeHTTP(w http.ResponseWriter, r *http.Request) { rt.mux.ServeHTTP(w, r) }

// MaySee reports whether c may see and use account appID.
func MaySee(c caller.Caller, appID string) bool {
	if c.Kind != caller.Console {
		return true
	}
	return c.InGroup(caller.GroupAdmins) || c.InGroup(caller.AccountGroup(appID))
}

// mayManage reports whether c may add, change and remove accounts.
func mayManage(c caller.Caller) bool {
	return c.Kind != caller.Console || c.InGroup(caller.GroupAdmins)
}

// visible checks that the caller may see appID, and that the stack serves it.
func (rt *Router) visible(r *http.Request, appID string) (accounts.Account, error) {
	if err := accounts.CheckAppID(appID); err != nil {
		return accounts.Account{}, err
	}
	if !MaySee(caller.From(r.Context()), appID) {
		return accounts.Account{}, qr.Errorf(qr.EForbidden, "you may not see account %s: an administrator adds you to the console group %s", appID, caller.AccountGroup(appID))
	}
	return rt.reg.Get(r.Context(), appID)
}

func (rt *Router) manager(r *http.Request) error {
	if !mayManage(caller.From(r.Context())) {
		return qr.Errorf(qr.EForbidden, "only the console group %s adds, changes and removes accounts", caller.GroupAdmins)
	}
	return nil
}

func (rt *Router) list(w http.ResponseWriter, r *http.Request) {
	all, err := rt.reg.List(r.Context())
	if err != nil {
		rt.def.fail(w, r, err)
		return
	}
	c := caller.From(r.Context())
	out := []accountJSON{}
	for _, a := range all {
		if MaySee(c, a.AppID) {
			out = append(out, accountJSON{Account: a})
		}
	}
	if rt.health != nil {
		errs := make([]error, len(out))
		var wg sync.WaitGroup
		sem := make(chan struct{}, accountTotalsFanOut)
		for i := range out {
			wg.Go(func() {
				sem <- struct{}{}
				defer func() { <-sem }()
				h, err := rt.health(r.Context(), out[i].AppID)
				out[i].Token, errs[i] = &h, err
			})
		}
		wg.Wait()
		if err := errors.Join(errs...); err != nil {
			rt.def.fail(w, r, err)
			return
		}
	}
	writeJSON(w, http.StatusOK, struct {
		Accounts []accountJSON `json:"accounts"`
	}{out})
}

// accountJSON is an account in GET /accounts: with its token's health.
type accountJSON struct {
	accounts.Account
	Token *qr.TokenHealth `json:"token,omitempty"`
}

func (rt *Router) get(w http.ResponseWriter, r *http.Request) {
	a, err := rt.visible(r, r.PathValue("appid"))
	if err != nil {
		rt.def.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, a)
}

func (rt *Router) create(w http.ResponseWriter, r *http.Request) {
	if err := rt.manager(r); err != nil {
		rt.def.fail(w, r, err)
		return
	}
	var n accounts.NewAccount
	if err := rt.def.decode(w, r, &n); err != nil {
		rt.def.fail(w, r, err)
		return
	}
	a, err := rt.reg.Create(r.Context(), n)
	if err != nil {
		rt.def.fail(w, r, err)
		return
	}
	rt.def.audit(r, "create account", slog.String("appid", a.AppID), slog.String("kind", string(a.Kind)))
	writeJSON(w, http.StatusCreated, a)
}

func (rt *Router) update(w http.ResponseWriter, r *http.Request) {
	appID := r.PathValue("appid")
	if err := rt.manager(r); err != nil {
		rt.def.fail(w, r, err)
		return
	}
	if err := accounts.CheckAppID(appID); err != nil {
		rt.def.fail(w, r, err)
		return
	}
	var p accounts.Patch
	if err := rt.def.decode(w, r, &p); err != nil {
		rt.def.fail(w, r, err)
		return
	}
	a, err := rt.reg.Update(r.Context(), appID, p)
	if err != nil {
		rt.def.fail(w, r, err)
		return
	}
	rt.forget(appID)
	rt.def.audit(r, "change account", append([]slog.Attr{slog.String("appid", appID)}, patchAttrs(p)...)...)
	writeJSON(w, http.StatusOK, a)
}

// patchAttrs names the fields a change set, never their values.
func patchAttrs(p accounts.Patch) []slog.Attr {
	var changed []string
	for _, f := range []struct {
		name string
		set  bool
	}{{"name", p.Name != nil}, {"app_secret", p.AppSecret != nil}, {"token", p.Token != nil}, {"encoding_aes_key", p.EncodingAESKey != nil}, {"message_mode", p.MessageMode != nil}} {
		if f.set {
			changed = append(changed, f.name)
		}
	}
	return []slog.Attr{slog.String("changed", strings.Join(changed, ","))}
}

func (rt *Router) remove(w http.ResponseWriter, r *http.Request) {
	appID := r.PathValue("appid")
	if err := rt.manager(r); err != nil {
		rt.def.fail(w, r, err)
		return
	}
	q := r.URL.Query()
	erase := false
	switch v := q.Get("erase"); v {
	case "", "false":
	case "true":
		erase = true
	default:
		rt.def.fail(w, r, qr.Errorf(qr.EInvalid, "erase: true or false"))
		return
	}
	if !erase {
		if err := rt.reg.Delete(r.Context(), appID); err != nil {
			rt.def.fail(w, r, err)
			return
		}
		rt.forget(appID)
		rt.def.audit(r, "remove account", slog.String("appid", appID))
		w.WriteHeader(http.StatusNoContent)
		return
	}
	rt.eraseAccount(w, r, appID, q.Get("cursor"))
}

// eraseAccount removes the account, if the stack still serves it, and deletes
// its data (Erase): as much as eraseBudget allows, answering with a cursor to
// call again with until the answer has none. An account removed earlier
// without erase=true can be erased this way too.
func (rt *Router) eraseAccount(w http.ResponseWriter, r *http.Request, appID, cursor string) {
	if err := accounts.CheckAppID(appID); err != nil {
		rt.def.fail(w, r, err)
		return
	}
	if rt.erase == nil {
		rt.def.fail(w, r, qr.Errorf(qr.EInvalid, "erase: this stack cannot erase an account's data at once; it ages out by retention"))
		return
	}
	if err := rt.reg.Delete(r.Context(), appID); err != nil && qr.ErrorCode(err) != qr.EAccountNotFound {
		rt.def.fail(w, r, err)
		return
	}
	rt.forget(appID)
	deleted, next, err := rt.erase(r.Context(), appID, cursor, time.Now().Add(eraseBudget))
	if err != nil {
		rt.def.fail(w, r, err)
		return
	}
	rt.def.audit(r, "erase account", slog.String("appid", appID), slog.Int("deleted", deleted), slog.Bool("done", next == ""))
	message := "the account is removed and its data erased"
	if next != "" {
		message = "the account is removed and part of its data erased: call again with cursor=next_cursor to finish"
	}
	writeJSON(w, http.StatusOK, struct {
		AppID      string `json:"appid"`
		Deleted    int    `json:"deleted"`
		NextCursor string `json:"next_cursor,omitempty"`
		Message    string `json:"message"`
	}{appID, deleted, next, message})
}

// account serves /accounts/{appid}/<route of today> with that account's Handler.
func (rt *Router) account(w http.ResponseWriter, r *http.Request) {
	appID := r.PathValue("appid")
	a, err := rt.visible(r, appID)
	if err != nil {
		rt.def.fail(w, r, err)
		return
	}
	if a.Status == accounts.Revoked && r.Method != http.MethodGet && r.Method != http.MethodHead && r.Method != http.MethodDelete {
		// Its data stays readable and erasable until retention takes it; no
		// change, which could call WeChat with a token it no longer has.
		rt.def.fail(w, r, qr.Errorf(qr.EAccountRevoked, "account %s withdrew its authorization of this platform: its data can be read and erased, not changed, until it authorizes again", appID))
		return
	}
	h, err := rt.handler(r.Context(), a)
	if err != nil {
		rt.def.fail(w, r, err)
		return
	}
	http.StripPrefix("/accounts/"+appID, h).ServeHTTP(w, r)
}

// handler returns a's Handler, opened once per instance.
func (rt *Router) handler(ctx context.Context, a accounts.Account) (*Handler, error) {
	if a.Default || a.AppID == rt.reg.DefaultAppID() {
		return rt.def, nil
	}
	rt.mu.Lock()
	defer rt.mu.Unlock()
	if h, ok := rt.cache[a.AppID]; ok {
		return h, nil
	}
	h, err := rt.open(ctx, a)
	if err != nil {
		return nil, err
	}
	rt.cache[a.AppID] = h
	return h, nil
}

func (rt *Router) forget(appID string) {
	rt.mu.Lock()
	delete(rt.cache, appID)
	rt.mu.Unlock()
}

// accountTotalsFanOut bounds how many accounts' totals are read at once.
const accountTotalsFanOut = 4

// accountTotal is one account's line of GET /stats/accounts.
type accountTotal struct {
	AppID  string    `json:"appid"`
	Name   string    `json:"name"`
	Totals qr.Counts `json:"totals"`
	Period qr.Counts `json:"period"`
}

// accountTotals answers GET /stats/accounts?from&to: each visible account's
// totals, all time and over the period, as its /stats/sources would sum them.
func (rt *Router) accountTotals(w http.ResponseWriter, r *http.Request) {
	from, to, err := rt.def.period(r)
	if err != nil {
		rt.def.fail(w, r, err)
		return
	}
	all, err := rt.reg.List(r.Context())
	if err != nil {
		rt.def.fail(w, r, err)
		return
	}
	c := caller.From(r.Context())
	var shown []accounts.Account
	for _, a := range all {
		if MaySee(c, a.AppID) {
			shown = append(shown, a)
		}
	}
	lines := make([]accountTotal, len(shown))
	errs := make([]error, len(shown))
	sem := make(chan struct{}, accountTotalsFanOut)
	var wg sync.WaitGroup
	for i, a := range shown {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			h, err := rt.handler(r.Context(), a)
			if err != nil {
				errs[i] = err
				return
			}
			lines[i] = accountTotal{AppID: a.AppID, Name: a.Name}
			lines[i].Totals, lines[i].Period, errs[i] = h.totals(r.Context(), from, to)
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		rt.def.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, struct {
		From     string         `json:"from"`
		To       string         `json:"to"`
		Accounts []accountTotal `json:"accounts"`
	}{from, to, append([]accountTotal{}, lines...)})
}
