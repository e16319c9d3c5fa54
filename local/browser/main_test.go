package browser_test

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	cdppage "github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"wechatqr/local/browser"
	"wechatqr/local/stack"
)

// The console's tests run one local stack (DynamoDB Local, the WeChat emulator,
// every function under aws-lambda-rie, the front on a loopback port) and one
// headless Chromium for the whole package: each test works on scenes of its own.
// The first test that needs them starts them (console); TestMain stops them.
var (
	st    *stack.Stack
	front *httptest.Server
	chrom *browser.Browser

	consoleOnce sync.Once
	consoleErr  error
	// platformErr is why the stack could not be connected as a third-party
	// platform (ConnectPlatform): the platform's tests fail with it, the
	// others run.
	platformErr error
	stops       []func() // what start started, to stop in reverse order
)

func TestMain(m *testing.M) {
	flag.Parse()
	code := m.Run()
	for i := len(stops) - 1; i >= 0; i-- {
		stops[i]()
	}
	os.Exit(code)
}

// console gives t the package's stack and browser, started on the first call.
// Under -short it skips t; a start that fails fails every test that asks.
func console(t testing.TB) {
	t.Helper()
	browser.SkipShort(t)
	consoleOnce.Do(func() { consoleErr = start() })
	if consoleErr != nil {
		t.Fatal(consoleErr)
	}
}

func start() error {
	began := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	build, err := os.MkdirTemp("", "console-browser-build-")
	if err != nil {
		return err
	}
	stops = append(stops, func() { os.RemoveAll(build) })
	// Two accounts: the default one and a second direct one, as `make run` has
	// them; and, as `make run` too, the stack is a third-party platform
	// (platform_test.go connects accounts through it).
	if st, err = stack.Start(ctx, stack.Options{BuildDir: build, Accounts: []stack.Account{stack.SecondAccount},
		Component: &stack.LocalComponent}); err != nil {
		return fmt.Errorf("starting the local stack: %w", err)
	}
	stops = append(stops, st.Close)
	front = httptest.NewServer(st.Front())
	stops = append(stops, front.Close)
	if err := st.ConnectPlatform(ctx, front.URL); err != nil {
		platformErr = fmt.Errorf("connecting the stack's platform: %w", err)
	}
	if chrom, err = browser.Launch(context.Background(), 1280, 1000); err != nil {
		return err
	}
	stops = append(stops, chrom.Close)
	// Usable: the list page has drawn its table (or its empty state).
	tab, closeTab := chrom.Tab()
	err = chromedp.Do(tab, chromedp.Navigate(front.URL+"/console"), chromedp.WaitVisible(chromedp.CSS("#codes-table, #codes-empty")))
	closeTab()
	if err != nil {
		return fmt.Errorf("the console did not load: %w", err)
	}
	if testing.Verbose() {
		fmt.Printf("stack started and the console usable in a browser after %s\n", time.Since(began).Round(100*time.Millisecond))
	}
	return nil
}

// page opens the console at hash (e.g. "/create") in a new tab, in English
// unless lang says otherwise, and waits for the page to have rendered.
func page(t testing.TB, hash, lang string) context.Context {
	t.Helper()
	console(t)
	tab, cancel := chrom.Tab()
	t.Cleanup(cancel)
	ctx, stop := context.WithTimeout(tab, 15*time.Minute)
	t.Cleanup(stop)
	if lang == "" {
		lang = "en"
	}
	// Every page records CSP violations from its first script on: a test that
	// expects nothing to run checks window.__csp is empty.
	if _, err := chromedp.Call(ctx, cdppage.AddScriptToEvaluateOnNewDocument, cdppage.AddScriptToEvaluateOnNewDocumentParams{
		Source: `window.__csp = []; document.addEventListener('securitypolicyviolation', e => window.__csp.push(e.violatedDirective + ' ' + e.blockedURI));`,
	}); err != nil {
		t.Fatal(err)
	}
	// The console keeps the reader's choice in localStorage; set it before the scripts run.
	do(t, ctx,
		chromedp.Navigate(front.URL+"/console/config.json"),
		chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`localStorage.setItem('wechatqr.console.lang', %q)`, lang)),
		chromedp.Navigate(front.URL+"/console#"+hash),
		chromedp.WaitVisible(chromedp.CSS("#page-title")),
	)
	waitFor(t, ctx, `document.getElementById('page-title').textContent !== ''`)
	return ctx
}

func do(t testing.TB, ctx context.Context, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	if err := chromedp.Do(ctx, actions...); err != nil {
		t.Fatal(err)
	}
}

func eval[T any](t testing.TB, ctx context.Context, js string) T {
	t.Helper()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](js, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("%s: %v", js, err)
	}
	return v
}

// waitFor polls a JavaScript condition until it holds.
func waitFor(t testing.TB, ctx context.Context, cond string) {
	t.Helper()
	waitLong(t, ctx, cond, 45*time.Second)
}

func waitLong(t testing.TB, ctx context.Context, cond string, limit time.Duration) {
	t.Helper()
	// Polled from Go rather than awaited in the page: a navigation (a sign-in
	// redirect, a reload) destroys the page's promises with its document.
	deadline := time.Now().Add(limit)
	js := `(() => { try { return !!(` + cond + `); } catch (_) { return false; } })()`
	var last error
	for time.Now().Before(deadline) && ctx.Err() == nil {
		ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](js))
		if err == nil && ok {
			return
		}
		last = err
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("waiting for %s: timed out (%v); the page shows: %q", cond, last, mainText(ctx))
}

// mainText is what the page shows, for failure messages.
func mainText(ctx context.Context) string {
	s, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`location.hash + ': ' + ((document.getElementById('main') || {}).innerText || '').slice(0, 600)`))
	return s
}

// set gives a form control a value as a person would leave it: the value,
// then the input and change events the page listens for.
func set(t testing.TB, ctx context.Context, id, value string) {
	t.Helper()
	v, _ := json.Marshal(value)
	eval[bool](t, ctx, fmt.Sprintf(`(() => { const e = document.getElementById(%q); e.value = %s;
		e.dispatchEvent(new Event('input', {bubbles: true})); e.dispatchEvent(new Event('change', {bubbles: true})); return true; })()`, id, v))
}

func text(t testing.TB, ctx context.Context, css string) string {
	t.Helper()
	sel, _ := json.Marshal(css)
	return eval[string](t, ctx, fmt.Sprintf(`(document.querySelector(%s) || {}).textContent || ''`, sel))
}

// apiGet reads the QR API directly, for what the page should show.
func apiGet(t testing.TB, path string, out any) {
	t.Helper()
	console(t)
	res, err := http.Get(front.URL + path)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode != 200 {
		t.Fatalf("GET %s: %d %s", path, res.StatusCode, b)
	}
	if err := json.Unmarshal(b, out); err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
}

func apiPost(t testing.TB, path, body string) {
	t.Helper()
	console(t)
	res, err := http.Post(front.URL+path, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode != 201 {
		b, _ := io.ReadAll(res.Body)
		t.Fatalf("POST %s: %d %s", path, res.StatusCode, b)
	}
}

// audit fails the test on any serious or critical axe-core violation of the page as it is.
func audit(t testing.TB, ctx context.Context, what string) {
	t.Helper()
	vs, err := browser.Audit(ctx)
	if err != nil {
		t.Fatal(err)
	}
	serious := browser.Serious(vs)
	for _, v := range serious {
		t.Errorf("%s: accessibility: %s", what, v)
	}
	if len(vs) > len(serious) {
		t.Logf("%s: %d minor or moderate axe findings: %v", what, len(vs)-len(serious), vs)
	}
}

// runBatch uploads the CSV file on the batch page ctx shows, checks it, starts
// the batch and waits until it has finished: its ZIP is offered, or it stopped
// with nothing made.
func runBatch(t testing.TB, ctx context.Context, file string) {
	t.Helper()
	do(t, ctx, chromedp.SetUploadFiles(chromedp.ID("batch-file"), []string{file}), chromedp.Click(chromedp.ID("batch-parse")))
	waitFor(t, ctx, `(document.getElementById('batch-start') && !document.getElementById('batch-start').disabled) || document.getElementById('batch-parse-error').textContent`)
	if msg := text(t, ctx, "#batch-parse-error"); msg != "" {
		t.Fatalf("parsing the CSV: %s", msg)
	}
	do(t, ctx, chromedp.Click(chromedp.ID("batch-start")))
	waitFor(t, ctx, `document.getElementById('batch-zip') || document.getElementById('batch-done').textContent`)
}

// unzipBatch reads a batch's ZIP: every file by name, and manifest.csv's rows
// (header first).
func unzipBatch(t testing.TB, data []byte) (map[string][]byte, [][]string) {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatalf("the download is not a ZIP: %v", err)
	}
	files := map[string][]byte{}
	for _, f := range zr.File {
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		files[f.Name], _ = io.ReadAll(rc)
		rc.Close()
	}
	// A UTF-8 byte order mark lets Excel open the Chinese cells right.
	rows, err := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(files["manifest.csv"], []byte("\ufeff")))).ReadAll()
	if err != nil || len(rows) == 0 {
		t.Fatalf("manifest.csv: %d rows, %v", len(rows), err)
	}
	return files, rows
}

// apiStatus is the status GET path answers.
func apiStatus(t testing.TB, path string) int {
	t.Helper()
	console(t)
	res, err := http.Get(front.URL + path)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	return res.StatusCode
}
