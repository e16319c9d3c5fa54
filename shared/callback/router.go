package callback

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"wechatqr/shared/accounts"
	"wechatqr/shared/qr"
	"wechatqr/shared/wechat"
)

// Accounts gives the callback a stored account and its keys (an
// *accounts.Registry, which opens only the callback's blob): nil keys when the
// account's version is still known, the one last read.
type Accounts interface {
	Callback(ctx context.Context, appID string, known int64) (accounts.Account, *accounts.CallbackKeys, int64, error)
}

// RouterConfig is what a Router is built from.
type RouterConfig struct {
	// Default serves /wechat and /wechat/<its AppID>: the default account.
	Default *Handler
	// Accounts and Store give every other account its keys and its store
	// (the Store of that account's namespace).
	Accounts Accounts
	Store    func(appID string) Store
	// Config is the settings every account's Handler shares (tolerance, size,
	// deadline, replies); AppID, keys and message mode are each account's.
	Config Config
	// Reload is how long an account's keys and status are used before they
	// are read again; DefaultReload when zero. A push that fails verification
	// reads them again sooner (Keys.Renew), so a rotation is served at once.
	Reload time.Duration
	Log    *slog.Logger
	// Platform serves the third-party platform: nil when the stack is not one
	// (/wechat/component and every authorizer's URL then get 404).
	Platform *PlatformRoutes
}

// PlatformRoutes is what the callback serves for a third-party platform
// (docs/platform.md).
type PlatformRoutes struct {
	// Events serves /wechat/component, the authorization events (NewComponent).
	Events *Handler
	// Keys are the platform's Token and EncodingAESKey with the component
	// AppID as the trailer: every authorizer's pushes are signed and sealed
	// with them (the router checks each push's addressee, ToUserName).
	Keys Keys
	// Texts, when set, answers an authorizer's users' text messages: the
	// release test's.
	Texts func(appID string) Texts
}

// DefaultReload bounds how long a warm instance serves an account after it was
// removed or its keys rotated: one read per account and instance a minute.
const DefaultReload = time.Minute

// renewAfter is how old an account's keys must be before a push that fails
// verification reads them again: a burst of forged pushes costs one read per
// account and instance every renewAfter, not one each.
const renewAfter = 10 * time.Second

// Router serves the callback URLs of every account (docs/api.md, "Callback"):
// /wechat is the default account's, as in a single-account release;
// /wechat/{appid} is any account's, verified with that account's own Token and
// EncodingAESKey and its AppID as the AES trailer, so a push signed or sealed
// for one account is refused at another's URL and writes nothing. An AppID the
// stack does not serve gets 404 and nothing is written.
//
// Each account's Handler is built at its first push on an instance and kept:
// a warm push costs the round trips of a single-account one; a cold instance's
// first push for an account adds one read (the account's item).
type Router struct {
	cfg RouterConfig
	def string // the default account's AppID

	mu       sync.Mutex
	accounts map[string]*accountEntry
}

// NewRouter returns the Router of cfg.
func NewRouter(cfg RouterConfig) (*Router, error) {
	if cfg.Default == nil || cfg.Accounts == nil || cfg.Store == nil {
		return nil, errors.New("callback: the router needs the default account's handler, the accounts and their stores")
	}
	if cfg.Reload <= 0 {
		cfg.Reload = DefaultReload
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.Config.Now == nil {
		cfg.Config.Now = time.Now
	}
	return &Router{cfg: cfg, def: cfg.Default.cfg.AppID, accounts: map[string]*accountEntry{}}, nil
}

func (rt *Router) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	appID, ok := strings.CutPrefix(r.URL.Path, "/wechat/")
	switch {
	case appID == "component" && rt.cfg.Platform != nil:
		rt.cfg.Platform.Events.ServeHTTP(w, r)
		return
	case r.URL.Path == "/wechat" || r.URL.Path == "/wechat/" || ok && appID == rt.def:
		rt.cfg.Default.ServeHTTP(w, r)
		return
	case !ok || !accounts.ValidAppID(appID):
		writeText(w, http.StatusNotFound, "no such callback URL: /wechat, or /wechat/ and an AppID this stack serves")
		return
	}
	h, err := rt.handler(r.Context(), appID)
	switch {
	case qr.ErrorCode(err) == qr.EAccountNotFound:
		rt.cfg.Log.LogAttrs(r.Context(), slog.LevelWarn, "push", slog.String("appid", appID), slog.Int("status", http.StatusNotFound), slog.String("outcome", "rejected"), slog.String("reason", "unknown account"))
		writeText(w, http.StatusNotFound, "this stack serves no account "+appID)
		return
	case err != nil:
		// WeChat retries a 503; the account's keys could not be read.
		rt.cfg.Log.LogAttrs(r.Context(), slog.LevelError, "push", slog.String("appid", appID), slog.Int("status", http.StatusServiceUnavailable), slog.String("outcome", "rejected"), slog.String("error", err.Error()))
		writeText(w, http.StatusServiceUnavailable, "the account's settings could not be read; WeChat retries")
		return
	}
	h.ServeHTTP(w, r)
}

// accountEntry is one account's Handler and the keys it verifies with.
type accountEntry struct {
	h    *Handler
	keys *accountKeys
}

func (rt *Router) handler(ctx context.Context, appID string) (*Handler, error) {
	rt.mu.Lock()
	e, ok := rt.accounts[appID]
	rt.mu.Unlock()
	if ok {
		if err := e.keys.fresh(ctx); err != nil {
			if qr.ErrorCode(err) == qr.EAccountNotFound {
				rt.mu.Lock()
				delete(rt.accounts, appID)
				rt.mu.Unlock()
			}
			return nil, err
		}
		return e.h, nil
	}
	keys := &accountKeys{appID: appID, src: rt.cfg.Accounts, reload: rt.cfg.Reload, now: rt.cfg.Config.Now}
	a, err := keys.load(ctx)
	if err != nil {
		return nil, err
	}
	mode, err := ParseMessageMode(a.MessageMode)
	if err != nil {
		return nil, fmt.Errorf("callback: account %s: %w", appID, err)
	}
	cfg := rt.cfg.Config
	cfg.AppID, cfg.Keys, cfg.MessageMode = appID, keys, mode
	if a.Kind == accounts.Authorizer {
		p := rt.cfg.Platform
		if p == nil {
			return nil, qr.Errorf(qr.EAccountNotFound, "account %s authorized a third-party platform this stack is not configured as", appID)
		}
		// The platform's keys, behind the account's status: a revoked
		// authorizer stops being served as a removed direct account does.
		keys.platform(p.Keys)
		cfg.MessageMode, cfg.ToUserName = Safe, a.UserName
		if p.Texts != nil {
			cfg.Texts = p.Texts(appID)
		}
	}
	h, err := New(cfg, rt.cfg.Store(appID), rt.cfg.Log.With(slog.String("appid", appID)))
	if err != nil {
		return nil, err
	}
	rt.mu.Lock()
	defer rt.mu.Unlock()
	if prior, ok := rt.accounts[appID]; ok { // another request built it meanwhile
		return prior.h, nil
	}
	rt.accounts[appID] = &accountEntry{h: h, keys: keys}
	return h, nil
}

// accountKeys are a stored account's Keys: read from the registry, and read
// again when older than reload (fresh) or, after renewAfter, when a push fails
// verification (Renew).
type accountKeys struct {
	appID  string
	src    Accounts
	reload time.Duration
	now    func() time.Time

	mu      sync.Mutex
	v       *wechat.Verifier
	version int64 // the account's version v was built from
	loaded  time.Time
	// shared, for an authorizer, are the platform's keys, used in place of v.
	shared Keys
}

// platform makes k serve the platform's keys p.
func (k *accountKeys) platform(p Keys) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.shared = p
}

// load reads the account; its keys are opened again only when it changed.
func (k *accountKeys) load(ctx context.Context) (accounts.Account, error) {
	k.mu.Lock()
	known := k.version
	k.mu.Unlock()
	a, keys, version, err := k.src.Callback(ctx, k.appID, known)
	if err != nil {
		return a, err
	}
	if a.Status != accounts.Active {
		return a, qr.Errorf(qr.EAccountNotFound, "account %s is %s", k.appID, a.Status)
	}
	var v *wechat.Verifier
	if keys != nil {
		if v, err = keys.Verifier(k.appID); err != nil {
			return a, err
		}
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	if v != nil {
		k.v, k.version = v, version
	}
	k.loaded = k.now()
	return a, nil
}

// fresh reads the account again when its keys are older than reload: a removed
// account then stops being served, and a rotation reaches this instance.
func (k *accountKeys) fresh(ctx context.Context) error {
	k.mu.Lock()
	stale := k.now().Sub(k.loaded) >= k.reload
	k.mu.Unlock()
	if !stale {
		return nil
	}
	_, err := k.load(ctx)
	return err
}

// Get returns the keys as last read.
func (k *accountKeys) Get(ctx context.Context) (*wechat.Verifier, error) {
	k.mu.Lock()
	v, shared := k.v, k.shared
	k.mu.Unlock()
	if shared != nil {
		return shared.Get(ctx)
	}
	return v, nil
}

// Renew reads the keys again if they are older than renewAfter.
func (k *accountKeys) Renew(ctx context.Context) (*wechat.Verifier, bool) {
	k.mu.Lock()
	old, age, shared := k.v, k.now().Sub(k.loaded), k.shared
	k.mu.Unlock()
	if shared != nil {
		return shared.Renew(ctx)
	}
	if age < renewAfter {
		return nil, false
	}
	if _, err := k.load(ctx); err != nil {
		return nil, false
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.v, k.v != old
}
