package console

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"testing/fstest"

	"wechatqr/shared/api"
)

const wantCSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data: blob: https://wx.qlogo.cn; " +
	"connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"

func newConsole(t *testing.T, cfg Config) *Handler {
	t.Helper()
	h, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := h.prepare(); err != nil {
		t.Fatal(err)
	}
	return h
}

func get(t *testing.T, h http.Handler, target string, header ...string) *httptest.ResponseRecorder {
	t.Helper()
	r := httptest.NewRequest("GET", target, nil)
	for i := 0; i+1 < len(header); i += 2 {
		r.Header.Set(header[i], header[i+1])
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

func TestEveryAnswerCarriesTheSecurityHeaders(t *testing.T) {
	h := newConsole(t, Config{})
	for _, target := range []string{"/console", "/console/config.json", h.AssetURL("app.js"), "/console/assets/nope.js", "/console/elsewhere",
		ReturnPath + "?auth_code=x&expires_in=600"} {
		w := get(t, h, target)
		for name, want := range map[string]string{
			"Content-Security-Policy": wantCSP, "X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer",
		} {
			if got := w.Header().Get(name); got != want {
				t.Errorf("%s: %s = %q, want %q", target, name, got, want)
			}
		}
	}
}

func TestTheShellHasNoInlineScriptOrStyleAndIsRevalidated(t *testing.T) {
	h := newConsole(t, Config{})
	w := get(t, h, "/console")
	if w.Code != 200 || w.Header().Get("Cache-Control") != "no-cache" || !strings.HasPrefix(w.Header().Get("Content-Type"), "text/html") {
		t.Fatalf("GET /console: %d %v", w.Code, w.Header())
	}
	body := w.Body.String()
	for _, re := range []string{`<script(?:\s[^>]*)?>\s*[^<\s]`, `<style`, `\sstyle=`, `\son[a-z]+=`} {
		if regexp.MustCompile(re).MatchString(body) {
			t.Errorf("the shell matches %s: inline code the CSP would block", re)
		}
	}
	for _, tag := range regexp.MustCompile(`<script[^>]*>`).FindAllString(body, -1) {
		if !strings.Contains(tag, `src="/console/assets/`) {
			t.Errorf("%s: a script without a fingerprinted src", tag)
		}
	}
	for _, u := range h.ShellAssets() {
		if !strings.Contains(body, `"`+u+`"`) {
			t.Errorf("the shell does not link %s", u)
		}
	}
	if w := get(t, h, "/console", "If-None-Match", w.Header().Get("ETag")); w.Code != http.StatusNotModified {
		t.Errorf("revalidating the shell: %d, want 304", w.Code)
	}
}

var fingerprinted = regexp.MustCompile(`^/console/assets/([A-Za-z0-9_./-]+)\.([0-9a-f]{12})(\.[a-z]+)$`)

func TestAssetsAreServedUnderTheirContentHashAndCachedForever(t *testing.T) {
	h := newConsole(t, Config{})
	if len(h.assets) < 10 {
		t.Fatalf("%d assets: the embedded set is missing files", len(h.assets))
	}
	for url, a := range h.assets {
		m := fingerprinted.FindStringSubmatch(url)
		if m == nil {
			t.Errorf("%s is not name.<12 hex>.ext", url)
			continue
		}
		w := get(t, h, url)
		sum := sha256.Sum256(w.Body.Bytes())
		if w.Code != 200 || hex.EncodeToString(sum[:])[:12] != m[2] {
			t.Errorf("%s: %d, and the body's hash is not the one in its name", url, w.Code)
		}
		if cc := w.Header().Get("Cache-Control"); cc != "public, max-age=31536000, immutable" {
			t.Errorf("%s: Cache-Control %q", url, cc)
		}
		if ct := w.Header().Get("Content-Type"); ct != a.ctype || ct == "" {
			t.Errorf("%s: Content-Type %q", url, ct)
		}
		nm := get(t, h, url, "If-None-Match", w.Header().Get("ETag"))
		if nm.Code != http.StatusNotModified || nm.Body.Len() != 0 {
			t.Errorf("%s with If-None-Match: %d and %d bytes, want 304 and none", url, nm.Code, nm.Body.Len())
		}
	}
}

// importURL finds module specifiers: a relative one left behind would be a bug.
var importURL = regexp.MustCompile(`(?:\bfrom\s*|\bimport\s*\(\s*|\bimport\s+)['"]((?:/|\.{1,2}/)[^'"\s]+)['"]`)

func TestModulesImportEachOtherByFingerprintedURLs(t *testing.T) {
	h := newConsole(t, Config{})
	for url, a := range h.assets {
		if a.ctype != contentType(".js") || strings.HasPrefix(a.name, "vendor/") {
			continue
		}
		for _, m := range importURL.FindAllSubmatch(a.body, -1) {
			dep := string(m[1])
			if h.assets[dep] == nil {
				t.Errorf("%s imports %s, which is not served", url, dep)
			}
		}
	}
	// A module's URL changes when a module it imports changes.
	files := fstest.MapFS{
		"app.js": {Data: []byte(`import {x} from './lib.js'; console.log(x)`)}, "lib.js": {Data: []byte(`export const x = 1`)},
		"app.css": {Data: []byte(`body{}`)}, chartCSS: {Data: []byte(`.u{}`)},
	}
	one, err := newHandler(files, Config{})
	if err != nil {
		t.Fatal(err)
	}
	if err := one.prepare(); err != nil {
		t.Fatal(err)
	}
	files["lib.js"] = &fstest.MapFile{Data: []byte(`export const x = 2`)}
	two, err := newHandler(files, Config{})
	if err != nil {
		t.Fatal(err)
	}
	if one.AssetURL("app.js") == two.AssetURL("app.js") || !bytes.Contains(one.entry["app.js"].body, []byte(one.AssetURL("lib.js"))) {
		t.Errorf("app.js %s and %s: an import's change must change the importer's fingerprint", one.AssetURL("app.js"), two.AssetURL("app.js"))
	}
}

func TestAssetsThatCannotBeFingerprintedAreRefused(t *testing.T) {
	base := func() fstest.MapFS {
		return fstest.MapFS{"app.css": {Data: []byte(`body{}`)}, chartCSS: {Data: []byte(`.u{}`)}}
	}
	tests := []struct {
		name, want string
		files      map[string]string
	}{
		{"a missing import", "not among the assets", map[string]string{"app.js": `import './gone.js'`}},
		{"an import cycle", "import cycle", map[string]string{"app.js": `import './a.js'`, "a.js": `import {b} from './b.js'`, "b.js": `export {a} from './a.js'`}},
		{"an import outside", "outside the assets", map[string]string{"app.js": `import('../../etc.js')`}},
		{"no entry module", "lack app.js", map[string]string{"other.js": `export {}`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			files := base()
			for n, s := range tt.files {
				files[n] = &fstest.MapFile{Data: []byte(s)}
			}
			h, err := newHandler(files, Config{})
			if err != nil {
				t.Fatal(err)
			}
			if err := h.prepare(); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want one saying %q", err, tt.want)
			}
			// The console answers so; the API beside it is not the console's to refuse.
			if w := get(t, h, "/console"); w.Code != http.StatusInternalServerError || !strings.Contains(w.Body.String(), tt.want) {
				t.Errorf("GET /console = %d %s, want 500 saying %q", w.Code, w.Body, tt.want)
			}
		})
	}
}

func TestAssetsAreGzippedOnlyForClientsThatAcceptIt(t *testing.T) {
	h := newConsole(t, Config{})
	url := h.AssetURL("app.js")
	plain := get(t, h, url)
	tests := []struct {
		accept string
		gzip   bool
	}{
		{"gzip, deflate, br", true}, {"br;q=1.0, gzip;q=0.8", true}, {"GZIP", true},
		{"", false}, {"identity", false}, {"gzip;q=0", false}, {"br", false},
	}
	for _, tt := range tests {
		w := get(t, h, url, "Accept-Encoding", tt.accept)
		if got := w.Header().Get("Content-Encoding") == "gzip"; got != tt.gzip {
			t.Errorf("Accept-Encoding %q: gzip %v, want %v", tt.accept, got, tt.gzip)
			continue
		}
		if w.Header().Get("Vary") != "Accept-Encoding" {
			t.Errorf("Accept-Encoding %q: no Vary: Accept-Encoding", tt.accept)
		}
		body := w.Body.Bytes()
		if tt.gzip {
			zr, err := gzip.NewReader(bytes.NewReader(body))
			if err != nil {
				t.Fatal(err)
			}
			if body, err = io.ReadAll(zr); err != nil {
				t.Fatal(err)
			}
			if w.Body.Len() >= plain.Body.Len() {
				t.Errorf("gzipped %d bytes, plain %d", w.Body.Len(), plain.Body.Len())
			}
		}
		if !bytes.Equal(body, plain.Body.Bytes()) {
			t.Errorf("Accept-Encoding %q: the body differs from the plain one", tt.accept)
		}
	}
}

func TestUnknownAssetsAndMethodsAreRefused(t *testing.T) {
	h := newConsole(t, Config{})
	good := h.AssetURL("app.js")
	stale := fingerprinted.ReplaceAllString(good, "/console/assets/$1.000000000000$3")
	for _, target := range []string{stale, "/console/assets/app.js", "/console/assets/", "/console/assets/../shell.html", "/console/codes",
		"/console/platform", ReturnPath + "/x"} {
		if w := get(t, h, target); w.Code != http.StatusNotFound {
			t.Errorf("GET %s: %d, want 404", target, w.Code)
		}
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest("POST", "/console", nil))
	if w.Code != http.StatusMethodNotAllowed {
		t.Errorf("POST /console: %d, want 405", w.Code)
	}
}

func TestConfigTellsTheScriptsHowToSignIn(t *testing.T) {
	if w := get(t, newConsole(t, Config{}), "/console/config.json"); w.Body.String() != `{"auth":"none"}` || w.Header().Get("Content-Type") != "application/json" {
		t.Errorf("local config.json = %s %q", w.Body, w.Header().Get("Content-Type"))
	}
	files := fstest.MapFS{
		"app.js": {Data: []byte(`export {}`)}, "auth.js": {Data: []byte(`export async function start() {}`)},
		"app.css": {Data: []byte(`body{}`)}, chartCSS: {Data: []byte(`.u{}`)},
	}
	h, err := newHandler(files, Config{
		Settings:   map[string]string{"auth": "cognito", "client_id": "abc"},
		ConnectSrc: []string{"https://example.auth.us-east-1.amazoncognito.com"},
	})
	if err != nil {
		t.Fatal(err)
	}
	w := get(t, h, "/console/config.json")
	want := `{"auth":"cognito","auth_module":"` + h.AssetURL("auth.js") + `","client_id":"abc"}`
	if w.Body.String() != want {
		t.Errorf("config.json = %s, want %s", w.Body, want)
	}
	if csp := w.Header().Get("Content-Security-Policy"); !strings.Contains(csp, "connect-src 'self' https://example.auth.us-east-1.amazoncognito.com;") {
		t.Errorf("CSP %q lacks the Cognito host", csp)
	}
	if _, err := newHandler(files, Config{ConnectSrc: []string{"https://x; script-src *"}}); err == nil {
		t.Error("a connect-src origin carrying a directive was accepted")
	}
}

func TestConfigSaysWhetherTheStackIsAPlatform(t *testing.T) {
	if w := get(t, newConsole(t, Config{Platform: true}), "/console/config.json"); w.Body.String() != `{"auth":"none","platform":true}` {
		t.Errorf("a local platform's config.json = %s", w.Body)
	}
	h := newConsole(t, Config{Platform: true, Settings: map[string]string{"auth": "cognito", "client_id": "abc"}})
	if w := get(t, h, "/console/config.json"); !strings.Contains(w.Body.String(), `"platform":true`) || !strings.Contains(w.Body.String(), `"client_id":"abc"`) {
		t.Errorf("a deployed platform's config.json = %s", w.Body)
	}
	if w := get(t, newConsole(t, Config{Settings: map[string]string{"auth": "cognito"}}), "/console/config.json"); strings.Contains(w.Body.String(), "platform") {
		t.Errorf("a stack that is no platform: config.json = %s", w.Body)
	}
}

// TestTheReturnPageIsTheShell: WeChat sends the administrator to
// ReturnPath?auth_code=…, the default redirect_uri the API names; the shell
// answers there (no-cache, its scripts by absolute URL), and the query is
// the script's to read, never echoed into the page.
func TestTheReturnPageIsTheShell(t *testing.T) {
	if ReturnPath != api.ReturnPath {
		t.Fatalf("console.ReturnPath %q, api.ReturnPath %q: the API's default redirect_uri is not the page that completes it", ReturnPath, api.ReturnPath)
	}
	h := newConsole(t, Config{})
	shell := get(t, h, "/console").Body.String()
	w := get(t, h, ReturnPath+"?auth_code=queryauthcode%40%40%40%3Cscript%3E&expires_in=600")
	if w.Code != 200 || w.Header().Get("Cache-Control") != "no-cache" || w.Body.String() != shell {
		t.Fatalf("GET %s: %d %v, want the shell", ReturnPath, w.Code, w.Header())
	}
	if strings.Contains(w.Body.String(), "queryauthcode") || strings.Contains(w.Body.String(), "<script>") {
		t.Error("the return page echoes its query")
	}
	for _, u := range h.ShellAssets() {
		if !strings.HasPrefix(u, "/console/assets/") {
			t.Errorf("the shell links %s, which would not resolve under %s", u, ReturnPath)
		}
	}
}

// apiRecorder stands for the QR API: it answers with the path it saw.
type apiRecorder struct{ paths []string }

func (a *apiRecorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	a.paths = append(a.paths, r.Method+" "+r.URL.EscapedPath())
	w.WriteHeader(http.StatusTeapot)
}

func TestMountHandsTheAPIPrefixStrippedAndGuarded(t *testing.T) {
	api := &apiRecorder{}
	var guarded []string
	m, err := Mount(api, Config{Guard: func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			guarded = append(guarded, r.URL.Path)
			if r.Header.Get("Authorization") == "" {
				w.WriteHeader(http.StatusUnauthorized)
				return
			}
			next.ServeHTTP(w, r)
		})
	}})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		method, target string
		auth           bool
		status         int
		apiSaw         string
	}{
		{"GET", "/console/api/qrcodes?include=stats", true, http.StatusTeapot, "GET /qrcodes"},
		{"PUT", "/console/api/qrcodes/%E5%8C%97%E4%BA%AC%2F1/reply", true, http.StatusTeapot, "PUT /qrcodes/%E5%8C%97%E4%BA%AC%2F1/reply"},
		{"POST", "/console/api/batches/parse", true, http.StatusTeapot, "POST /batches/parse"},
		{"GET", "/console/api/qrcodes", false, http.StatusUnauthorized, ""},
		{"GET", "/qrcodes", false, http.StatusTeapot, "GET /qrcodes"}, // the IAM routes, unguarded here
		{"GET", "/console", false, http.StatusOK, ""},
	}
	for _, tt := range tests {
		api.paths, guarded = nil, nil
		r := httptest.NewRequest(tt.method, tt.target, nil)
		if tt.auth {
			r.Header.Set("Authorization", "Bearer x")
		}
		w := httptest.NewRecorder()
		m.ServeHTTP(w, r)
		saw := strings.Join(api.paths, ",")
		if w.Code != tt.status || saw != tt.apiSaw {
			t.Errorf("%s %s: %d, API saw %q; want %d and %q", tt.method, tt.target, w.Code, saw, tt.status, tt.apiSaw)
		}
		if under := strings.HasPrefix(tt.target, APIPrefix+"/"); under != (len(guarded) == 1) {
			t.Errorf("%s %s: guard ran %d times", tt.method, tt.target, len(guarded))
		}
	}
}

// vendored lists each file of assets/vendor and where `make vendor` copies it from.
var vendored = map[string]string{
	"uPlot.esm.js": "uplot/dist/uPlot.esm.js", "uPlot.min.css": "uplot/dist/uPlot.min.css", "uPlot.LICENSE.txt": "uplot/LICENSE",
	"fflate.js": "fflate/esm/browser.js", "fflate.LICENSE.txt": "fflate/LICENSE",
}

func TestVendoredFilesAreThePinnedPackagesBytes(t *testing.T) {
	if testing.Short() {
		t.Skip("needs local/node_modules (`make deps`, npm): skipped under -short (make test-unit); make test runs it")
	}
	modules := filepath.Join("..", "..", "local", "node_modules")
	if _, err := os.Stat(filepath.Join(modules, "uplot", "package.json")); err != nil {
		t.Fatalf("local/node_modules lacks uplot (%v): run make deps", err)
	}
	entries, err := embedded.ReadDir("assets/vendor")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	for name := range vendored {
		if !slices.Contains(names, name) {
			t.Errorf("assets/vendor lacks %s: run make vendor", name)
		}
	}
	for _, name := range names {
		src, ok := vendored[name]
		if !ok {
			t.Errorf("assets/vendor/%s is no pinned package's file", name)
			continue
		}
		want, err := os.ReadFile(filepath.Join(modules, filepath.FromSlash(src)))
		if err != nil {
			t.Fatalf("%v: run make deps", err)
		}
		got, _ := embedded.ReadFile("assets/vendor/" + name)
		if !bytes.Equal(got, want) {
			t.Errorf("assets/vendor/%s differs from local/node_modules/%s: run make vendor", name, src)
		}
	}
}

// staticImports matches the imports a module needs before it runs (not import()).
var staticImports = regexp.MustCompile(`(?:\bfrom\s*|\bimport\s+)['"](/console/assets/[^'"]+)['"]`)

// TestListPageFirstLoadBytes measures what a first visit to the list page
// downloads before any data: the shell, its stylesheets and the module graph of
// app.js (static imports; the chart and ZIP libraries are imported on demand).
// `go test ./shared/console -run FirstLoad -v` prints the figures.
func TestListPageFirstLoadBytes(t *testing.T) {
	h := newConsole(t, Config{})
	seen := map[string]bool{}
	plain, gz := len(h.shell.body), len(h.shell.gzipped())
	var walk func(url string)
	walk = func(url string) {
		if seen[url] {
			return
		}
		seen[url] = true
		a := h.assets[url]
		if a == nil {
			t.Fatalf("%s is linked but not served", url)
		}
		plain += len(a.body)
		if z := a.gzipped(); z != nil {
			gz += len(z)
		} else {
			gz += len(a.body)
		}
		for _, m := range staticImports.FindAllSubmatch(a.body, -1) {
			walk(string(m[1]))
		}
	}
	for _, u := range h.ShellAssets() {
		walk(u)
	}
	t.Logf("list page first load: %d files, %d bytes uncompressed, %d bytes gzipped (config.json and the API's JSON not counted)", len(seen)+1, plain, gz)
	if plain >= 1<<20 {
		t.Errorf("first load %d bytes: over the 1 MB budget", plain)
	}
	for u := range seen {
		if strings.Contains(u, "/vendor/") && !strings.HasSuffix(u, ".css") {
			t.Errorf("the list page loads %s up front: libraries are for the pages that use them", u)
		}
	}
}

// BenchmarkNew is the console's share of a cold start: checking its
// configuration, nothing more.
func BenchmarkNew(b *testing.B) {
	for b.Loop() {
		if _, err := New(Config{}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPrepare is what the first console page request of an instance pays:
// reading, rewriting and hashing every asset (gzip waits for each asset's own
// first request).
func BenchmarkPrepare(b *testing.B) {
	for b.Loop() {
		h, err := New(Config{})
		if err != nil {
			b.Fatal(err)
		}
		if err := h.prepare(); err != nil {
			b.Fatal(err)
		}
	}
}

// TestOnlyConsoleRequestsPrepareTheAssets: the management API's requests, and
// the console's data requests, never wait for the console's assets.
func TestOnlyConsoleRequestsPrepareTheAssets(t *testing.T) {
	api := &apiRecorder{}
	c, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	m := mount(c, api, Config{})
	for _, target := range []string{"/qrcodes", "/console/api/qrcodes", "/users/o1"} {
		m.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, target, nil))
		if c.assets != nil {
			t.Fatalf("GET %s prepared the console's assets", target)
		}
	}
	if w := get(t, m, "/console"); w.Code != http.StatusOK || c.assets == nil {
		t.Errorf("GET /console = %d, assets prepared: %v", w.Code, c.assets != nil)
	}
}

// TestSettingsFuncIsAskedAtEachConfigRequest: a sign-in set up on first use
// answers config.json with what it says now (unconfigured, then configured).
func TestSettingsFuncIsAskedAtEachConfigRequest(t *testing.T) {
	answers := []any{
		map[string]any{"auth": "unconfigured", "message": "not yet"},
		map[string]any{"auth": "cognito", "client_id": "abc"},
	}
	calls := 0
	h := newConsole(t, Config{SettingsFunc: func(context.Context) any { calls++; return answers[calls-1] }})
	auth := h.AssetURL("auth.js")
	if w := get(t, h, "/console/config.json"); w.Body.String() != `{"auth":"unconfigured","auth_module":"`+auth+`","message":"not yet"}` {
		t.Errorf("first config.json = %s", w.Body)
	}
	want := `{"auth":"cognito","auth_module":"` + auth + `","client_id":"abc"}`
	if w := get(t, h, "/console/config.json"); w.Body.String() != want {
		t.Errorf("second config.json = %s, want %s", w.Body, want)
	}
}

// TestCatalogsCoverEveryMessage reads i18n.js and the modules: both languages
// have the same keys, and every t('…') a module calls with a literal key exists.
func TestCatalogsCoverEveryMessage(t *testing.T) {
	src, err := embedded.ReadFile("assets/i18n.js")
	if err != nil {
		t.Fatal(err)
	}
	block := func(name string) map[string]bool {
		start := bytes.Index(src, []byte("const "+name+" = {"))
		end := bytes.Index(src[start:], []byte("\n};"))
		if start < 0 || end < 0 {
			t.Fatalf("no catalog %s in i18n.js", name)
		}
		keys := map[string]bool{}
		for _, m := range regexp.MustCompile(`'([a-zA-Z]+\.[a-zA-Z.]+)':`).FindAllSubmatch(src[start:start+end], -1) {
			keys[string(m[1])] = true
		}
		return keys
	}
	en, zh := block("en"), block("zh")
	for k := range en {
		if !zh[k] {
			t.Errorf("zh-CN lacks %q", k)
		}
	}
	for k := range zh {
		if !en[k] {
			t.Errorf("en lacks %q", k)
		}
	}
	uses := regexp.MustCompile(`\bt\('([a-zA-Z]+(?:\.[a-zA-Z]+)+)'`)
	err = fs.WalkDir(embedded, "assets", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".js") || strings.Contains(p, "/vendor/") {
			return err
		}
		b, err := embedded.ReadFile(p)
		for _, m := range uses.FindAllSubmatch(b, -1) {
			if !en[string(m[1])] {
				t.Errorf("%s uses %q, which no catalog has", p, m[1])
			}
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestTheShellNamesTheFingerprintedAssetsAndNothingElse(t *testing.T) {
	h := newConsole(t, Config{})
	body := get(t, h, "/console").Body.String()
	for _, u := range h.ShellAssets() {
		if !strings.Contains(body, `"`+u+`"`) {
			t.Errorf("the shell does not name %s", u)
		}
	}
	if strings.Contains(body, "{{") {
		t.Errorf("a placeholder is left in the shell:\n%s", body)
	}
	if _, err := renderShell(`/console/assets/app.1.js" onload="x`, "/a.css", "/b.css"); err == nil {
		t.Error("a URL that would break out of its attribute was put in the shell")
	}
}

// TestCatalogKeysAreAllChecked: TestCatalogsCoverEveryMessage reads keys of
// letters and dots only, so a key with a digit or a hyphen ('nav.all-sources',
// 'hint40125') would escape it; none may exist.
func TestCatalogKeysAreAllChecked(t *testing.T) {
	src, err := embedded.ReadFile("assets/i18n.js")
	if err != nil {
		t.Fatal(err)
	}
	checked := regexp.MustCompile(`^[a-zA-Z]+(?:\.[a-zA-Z]+)+$`)
	n := 0
	for _, name := range []string{"en", "zh"} {
		start := bytes.Index(src, []byte("const "+name+" = {"))
		end := bytes.Index(src[start:], []byte("\n};"))
		if start < 0 || end < 0 {
			t.Fatalf("no catalog %s in i18n.js", name)
		}
		for _, m := range regexp.MustCompile(`(?m)(?:^|[{,])\s*'([^']*)':`).FindAllSubmatch(src[start:start+end], -1) {
			n++
			if !checked.Match(m[1]) {
				t.Errorf("catalog %s: the key %q is not letters and dots: the catalogs' test cannot see it", name, m[1])
			}
		}
	}
	if n < 200 {
		t.Errorf("read %d keys: the catalogs' layout changed under this test", n)
	}
}

// TestTheShellLabelsTheAccountSwitcher: the header's switcher is a <select
// id="account"> inside its <label>, hidden until the accounts are read.
func TestTheShellLabelsTheAccountSwitcher(t *testing.T) {
	body := get(t, newConsole(t, Config{}), "/console").Body.String()
	m := regexp.MustCompile(`(?s)<label[^>]*\bid="account-field"[^>]*>(.*?)</label>`).FindStringSubmatch(body)
	if m == nil || !strings.Contains(m[0], " hidden") {
		t.Fatalf("the shell has no hidden <label id=\"account-field\">:\n%s", body)
	}
	if !strings.Contains(m[1], `<select id="account"`) || !strings.Contains(m[1], `id="account-label"`) {
		t.Errorf("the account label holds no <select id=\"account\"> and its text: %s", m[1])
	}
}
