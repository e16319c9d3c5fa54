// Package console is the web console at /console: a page shell and its
// JavaScript modules, embedded in the binary, fingerprinted so browsers cache
// them for good, gzip-compressed on first request, and served under a strict
// Content-Security-Policy. Mount puts it in front of the QR management API,
// which the console's scripts reach under /console/api/.
//
// The assets are prepared (imports rewritten, fingerprints taken) at the first
// request for a console page, not when the handler is built: that costs about
// 6 ms of CPU (BenchmarkPrepare), which the function's cold start would pay
// for every API request the console never sees.
package console

import (
	"context"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync"
)

//go:embed assets
var embedded embed.FS

//go:embed shell.html
var shellHTML string

// chartCSS is uPlot's stylesheet, linked by the shell.
const chartCSS = "vendor/uPlot.min.css"

// APIPrefix is where the console's scripts reach the QR management API.
const APIPrefix = "/console/api"

// ReturnPath is the console's page WeChat sends an administrator back to
// after authorizing the stack's third-party platform (api.ReturnPath, the
// default redirect_uri): it serves the shell, and app.js completes the
// authorization from the auth_code in its query.
const ReturnPath = "/console/platform/return"

// AvatarOrigin is the one origin beyond the console's own that images come
// from: WeChat's avatars of authorized accounts (head_img), which WeChat gives
// as http://wx.qlogo.cn/… and the console loads as https://wx.qlogo.cn/…
// (the same files; http would be mixed content on the console's https page).
const AvatarOrigin = "https://wx.qlogo.cn"

// Config tunes the console.
type Config struct {
	// Settings is what GET /console/config.json answers, for the scripts to read
	// how to sign in. nil answers {"auth":"none"} (the local stack).
	Settings any
	// SettingsFunc, when set, is asked for the settings at each config.json
	// request instead of Settings: a sign-in whose app client id is read on
	// first use (consoleauth), which may fail and be retried later.
	SettingsFunc func(ctx context.Context) any
	// ConnectSrc lists origins beyond 'self' the scripts may call (the Cognito
	// hosts when signing in is configured), for the CSP's connect-src.
	ConnectSrc []string
	// Guard wraps the API under /console/api/ (a sign-in check when deployed);
	// nil lets every request through (the local stack).
	Guard func(http.Handler) http.Handler
	// Platform says the stack is a WeChat third-party platform: config.json
	// carries "platform": true, and the Accounts page offers to connect an
	// official account through it.
	Platform bool
}

// Handler serves the console's shell, assets and config.json.
type Handler struct {
	root     fs.FS
	settings func(ctx context.Context) any // config.json's settings, asked at each request
	platform bool
	csp      string

	once   sync.Once
	err    error             // preparing the assets failed (a broken build)
	assets map[string]*asset // by URL
	entry  map[string]*asset // by name, for the shell
	shell  *asset
}

// New builds the console from the embedded assets. It checks cfg; the assets
// themselves are prepared at the first request that serves one.
func New(cfg Config) (*Handler, error) {
	root, err := fs.Sub(embedded, "assets")
	if err != nil {
		return nil, err
	}
	return newHandler(root, cfg)
}

func newHandler(root fs.FS, cfg Config) (*Handler, error) {
	h := &Handler{root: root, settings: cfg.SettingsFunc, platform: cfg.Platform}
	if h.settings == nil {
		// Checked now, so that settings that are no JSON object fail the build.
		if _, err := clientConfig(cfg.Settings, "", false); err != nil {
			return nil, err
		}
		settings := cfg.Settings
		h.settings = func(context.Context) any { return settings }
	}
	connect := "'self'"
	for _, o := range cfg.ConnectSrc {
		if o == "" || strings.ContainsAny(o, " ;,'\"") {
			return nil, fmt.Errorf("console: connect-src origin %q is not a plain origin", o)
		}
		connect += " " + o
	}
	h.csp = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data: blob: " + AvatarOrigin + "; " +
		"connect-src " + connect + "; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
	return h, nil
}

// prepare reads, rewrites and fingerprints the assets and renders the shell,
// once per instance. Its error is kept: the embedded files do not change.
func (h *Handler) prepare() error {
	h.once.Do(func() { h.err = h.load() })
	return h.err
}

func (h *Handler) load() error {
	byName, err := loadAssets(h.root)
	if err != nil {
		return err
	}
	for _, need := range []string{"app.js", "app.css", chartCSS} {
		if byName[need] == nil {
			return fmt.Errorf("console: the assets lack %s", need)
		}
	}
	shell, err := renderShell(byName["app.js"].url, byName["app.css"].url, byName[chartCSS].url)
	if err != nil {
		return err
	}
	h.assets = make(map[string]*asset, len(byName))
	for _, a := range byName {
		h.assets[a.url] = a
	}
	h.entry = byName
	h.shell = newAsset("index.html", shell)
	h.shell.ctype = "text/html; charset=utf-8"
	return nil
}

// shellURL is what a fingerprinted URL may hold: an asset's path, nothing an
// HTML attribute would need to escape.
var shellURL = regexp.MustCompile(`^/[A-Za-z0-9._/-]+$`)

// renderShell fills shell.html's three placeholders. Not html/template: its
// package initialisers and reflection would be linked into the function for
// three attribute values, which are checked to need no escaping instead.
func renderShell(appJS, appCSS, chartCSS string) ([]byte, error) {
	for _, u := range []string{appJS, appCSS, chartCSS} {
		if !shellURL.MatchString(u) {
			return nil, fmt.Errorf("console: shell: asset URL %q holds characters an attribute would need escaped", u)
		}
	}
	out := strings.NewReplacer("{{.AppJS}}", appJS, "{{.AppCSS}}", appCSS, "{{.ChartCSS}}", chartCSS).Replace(shellHTML)
	if strings.Contains(out, "{{") {
		return nil, errors.New("console: shell.html has a placeholder other than {{.AppJS}}, {{.AppCSS}} and {{.ChartCSS}}")
	}
	return []byte(out), nil
}

// clientConfig is config.json: the settings as a JSON object, plus, when
// signing in is configured, "auth_module", the fingerprinted URL of auth.js that
// app.js imports (app.js cannot name it statically: the local console has no
// sign-in and need not load it), and "platform": true on a third-party
// platform's stack.
func clientConfig(settings any, authModule string, platform bool) ([]byte, error) {
	if settings == nil {
		if platform {
			return []byte(`{"auth":"none","platform":true}`), nil
		}
		return []byte(`{"auth":"none"}`), nil
	}
	b, err := json.Marshal(settings)
	if err != nil {
		return nil, fmt.Errorf("console: settings: %w", err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("console: settings must be a JSON object: %w", err)
	}
	if a, _ := m["auth"].(string); a != "" && a != "none" && authModule != "" {
		m["auth_module"] = authModule
	}
	if platform {
		m["platform"] = true
	}
	return json.Marshal(m)
}

// AssetURL returns the fingerprinted URL of an asset by its name under assets/
// ("app.js"), or "" when there is none (or the assets could not be prepared).
func (h *Handler) AssetURL(name string) string {
	if h.prepare() != nil {
		return ""
	}
	if a := h.entry[name]; a != nil {
		return a.url
	}
	return ""
}

// ShellAssets lists the URLs the shell itself links (its first-load set, before
// any module imports); nil when the assets could not be prepared.
func (h *Handler) ShellAssets() []string {
	if h.prepare() != nil {
		return nil
	}
	return []string{h.entry["app.css"].url, h.entry[chartCSS].url, h.entry["app.js"].url}
}

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		h.plain(w, http.StatusMethodNotAllowed, "method not allowed")
		return
	}
	if err := h.prepare(); err != nil {
		// Only a broken build gets here; the API under /console/api/ is unaffected.
		h.plain(w, http.StatusInternalServerError, "the console could not be prepared: "+err.Error())
		return
	}
	switch p := r.URL.Path; {
	case p == "/console", p == ReturnPath:
		// The shell names the current fingerprints, so it is revalidated on every load.
		// WeChat sends the administrator who authorized the platform to
		// ReturnPath?auth_code=…: the same shell, whose script completes it.
		h.send(w, r, h.shell, "no-cache")
	case p == "/console/":
		http.Redirect(w, r, "/console", http.StatusMovedPermanently)
	case p == "/console/config.json":
		var authModule string
		if a := h.entry["auth.js"]; a != nil {
			authModule = a.url
		}
		config, err := clientConfig(h.settings(r.Context()), authModule, h.platform)
		if err != nil {
			h.plain(w, http.StatusInternalServerError, err.Error())
			return
		}
		h.headers(w)
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-cache")
		w.Header().Set("Content-Length", strconv.Itoa(len(config)))
		if r.Method == http.MethodGet {
			_, _ = w.Write(config)
		}
	case strings.HasPrefix(p, AssetPrefix):
		a := h.assets[p]
		if a == nil {
			h.plain(w, http.StatusNotFound, "no such asset (an old page? reload it)")
			return
		}
		h.send(w, r, a, "public, max-age=31536000, immutable")
	default:
		h.plain(w, http.StatusNotFound, "not found")
	}
}

// headers are on every console answer.
func (h *Handler) headers(w http.ResponseWriter) {
	hd := w.Header()
	hd.Set("Content-Security-Policy", h.csp)
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("Referrer-Policy", "no-referrer")
	hd.Set("X-Frame-Options", "DENY") // for browsers older than frame-ancestors
}

func (h *Handler) send(w http.ResponseWriter, r *http.Request, a *asset, cacheControl string) {
	h.headers(w)
	hd := w.Header()
	hd.Set("Cache-Control", cacheControl)
	hd.Set("ETag", a.etag)
	hd.Set("Vary", "Accept-Encoding")
	if match := r.Header.Get("If-None-Match"); match != "" && etagMatches(match, a.etag) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	body := a.body
	if acceptsGzip(r.Header.Get("Accept-Encoding")) {
		if gz := a.gzipped(); gz != nil {
			body = gz
			hd.Set("Content-Encoding", "gzip")
		}
	}
	hd.Set("Content-Type", a.ctype)
	hd.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodGet {
		_, _ = w.Write(body)
	}
}

func (h *Handler) plain(w http.ResponseWriter, status int, msg string) {
	h.headers(w)
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(msg + "\n"))
}

func etagMatches(header, etag string) bool {
	for _, t := range strings.Split(header, ",") {
		t = strings.TrimPrefix(strings.TrimSpace(t), "W/")
		if t == etag || t == "*" {
			return true
		}
	}
	return false
}

// acceptsGzip reads Accept-Encoding, honouring an explicit q=0.
func acceptsGzip(header string) bool {
	for _, part := range strings.Split(header, ",") {
		coding, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		if !strings.EqualFold(strings.TrimSpace(coding), "gzip") {
			continue
		}
		params = strings.ReplaceAll(params, " ", "")
		return !(params == "q=0" || params == "q=0.0" || params == "q=0.00" || params == "q=0.000")
	}
	return false
}

// Mount returns the one handler of the qrcode function: the console under
// /console, the API under /console/api/ (prefix stripped, behind cfg.Guard) for
// the console's scripts, and the API itself everywhere else (the IAM routes).
func Mount(api http.Handler, cfg Config) (http.Handler, error) {
	if api == nil {
		return nil, errors.New("console: Mount needs the API handler")
	}
	c, err := New(cfg)
	if err != nil {
		return nil, err
	}
	return mount(c, api, cfg), nil
}

func mount(c *Handler, api http.Handler, cfg Config) http.Handler {
	var inner http.Handler = http.StripPrefix(APIPrefix, api)
	if cfg.Guard != nil {
		inner = cfg.Guard(inner)
	}
	mux := http.NewServeMux()
	mux.Handle("/console", c)
	mux.Handle("/console/", c)
	mux.Handle(APIPrefix+"/", inner)
	mux.Handle("/", api)
	return mux
}
