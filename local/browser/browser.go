// Package browser drives Debian's headless Chromium over the DevTools protocol
// (chromedp) for the console's end-to-end tests and `make screenshots`: it
// launches the browser, captures downloads, decodes QR codes from screenshots
// and runs the axe-core accessibility audit inside a page.
package browser

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/chromedp"
	"github.com/makiuchi-d/gozxing"
	"github.com/makiuchi-d/gozxing/qrcode"

	"wechatqr/local/repo"
)

// ErrNoChromium means no Chromium is installed; `make test` installs Debian's.
var ErrNoChromium = errors.New("browser: chromium not found on PATH: install it with `apt-get install -y chromium` (make browser does)")

// SkipShort skips t under -short (`make test-unit`): the console's tests need
// Chromium and the local stack; `make test` runs them.
func SkipShort(t testing.TB) {
	t.Helper()
	if testing.Short() {
		t.Skip("needs Chromium and the local stack (DynamoDB Local, aws-lambda-rie, moto_server): skipped under -short (make test-unit); make test runs it")
	}
}

// Browser is one headless Chromium; each Tab is a page of it.
type Browser struct {
	ctx       context.Context // the browser's
	cancel    context.CancelFunc
	Downloads string // where downloads land, by their GUID

	mu   sync.Mutex
	done map[string]chan struct{} // download GUID → closed when complete
}

// Launch starts Chromium headless with an English UI and a window of w×h.
func Launch(ctx context.Context, w, h int) (*Browser, error) {
	bin := ""
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			bin = p
			break
		}
	}
	if bin == "" {
		return nil, ErrNoChromium
	}
	dl, err := os.MkdirTemp("", "console-downloads-")
	if err != nil {
		return nil, err
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(bin),
		chromedp.NoSandbox, // CI runs as root
		chromedp.WindowSize(w, h),
		chromedp.Flag("lang", "en-US"),
		chromedp.Flag("disable-dev-shm-usage", true),
	)
	actx, acancel := chromedp.NewExecAllocator(ctx, opts...)
	bctx, bcancel := chromedp.NewContext(actx)
	b := &Browser{Downloads: dl, done: map[string]chan struct{}{}}
	b.cancel = func() { bcancel(); acancel(); _ = os.RemoveAll(dl) }
	b.ctx = bctx
	// The first call starts the browser.
	events := true
	if _, err := chromedp.CallBrowser(bctx, browser.SetDownloadBehavior, browser.SetDownloadBehaviorParams{
		Behavior: browser.SetDownloadBehaviorBehaviorAllowAndName, DownloadPath: dl, EventsEnabled: &events,
	}); err != nil {
		b.cancel()
		return nil, fmt.Errorf("browser: starting %s: %w", bin, err)
	}
	if err := chromedp.ListenBrowser(bctx, func(ev any) {
		if e, ok := ev.(*browser.EventDownloadProgress); ok && e.State == browser.DownloadProgressStateCompleted {
			b.completed(e.GUID)
		}
	}); err != nil {
		b.cancel()
		return nil, err
	}
	return b, nil
}

func (b *Browser) wait(guid string) chan struct{} {
	b.mu.Lock()
	defer b.mu.Unlock()
	ch, ok := b.done[guid]
	if !ok {
		ch = make(chan struct{})
		b.done[guid] = ch
	}
	return ch
}

func (b *Browser) completed(guid string) {
	ch := b.wait(guid)
	b.mu.Lock()
	defer b.mu.Unlock()
	select {
	case <-ch:
	default:
		close(ch)
	}
}

// Close stops the browser and removes the downloads.
func (b *Browser) Close() { b.cancel() }

// Tab opens a new page; cancel closes it.
func (b *Browser) Tab() (context.Context, context.CancelFunc) {
	return chromedp.NewContext(b.ctx)
}

// Download runs action (a click on a download link) and returns the file it
// downloads, once complete.
func (b *Browser) Download(tab context.Context, action chromedp.Action[chromedp.Void], timeout time.Duration) ([]byte, string, error) {
	began := make(chan *browser.EventDownloadWillBegin, 1)
	lctx, stop := context.WithCancel(b.ctx)
	defer stop()
	if err := chromedp.ListenBrowser(lctx, func(ev any) {
		if e, ok := ev.(*browser.EventDownloadWillBegin); ok {
			select {
			case began <- e:
			default:
			}
		}
	}); err != nil {
		return nil, "", err
	}
	if err := chromedp.Do(tab, action); err != nil {
		return nil, "", err
	}
	t := time.NewTimer(timeout)
	defer t.Stop()
	var ev *browser.EventDownloadWillBegin
	select {
	case ev = <-began:
	case <-t.C:
		return nil, "", errors.New("browser: no download began")
	}
	select {
	case <-b.wait(ev.GUID):
	case <-t.C:
		return nil, "", fmt.Errorf("browser: download %s did not complete", ev.SuggestedFilename)
	}
	data, err := os.ReadFile(filepath.Join(b.Downloads, ev.GUID))
	return data, ev.SuggestedFilename, err
}

// DecodeQR finds and decodes the QR code in an image (a screenshot, with
// whatever surrounds the code), with the normal detector rather than the
// pure-barcode shortcut.
func DecodeQR(img image.Image) (string, error) {
	bmp, err := gozxing.NewBinaryBitmapFromImage(img)
	if err != nil {
		return "", err
	}
	res, err := qrcode.NewQRCodeReader().Decode(bmp, map[gozxing.DecodeHintType]any{gozxing.DecodeHintType_TRY_HARDER: true})
	if err != nil {
		// gozxing's finder-pattern detector misses some clean, exactly scaled codes
		// (a file as the API renders it); those decode as pure barcodes.
		pure, perr := qrcode.NewQRCodeReader().Decode(bmp, map[gozxing.DecodeHintType]any{gozxing.DecodeHintType_PURE_BARCODE: true})
		if perr != nil {
			return "", err
		}
		res = pure
	}
	return res.GetText(), nil
}

// DecodeQRPNG decodes the QR code in PNG bytes.
func DecodeQRPNG(b []byte) (string, error) {
	img, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		return "", err
	}
	return DecodeQR(img)
}

// Violation is one axe-core rule a page breaks.
type Violation struct {
	ID     string   `json:"id"`
	Impact string   `json:"impact"`
	Help   string   `json:"help"`
	Nodes  []string `json:"nodes"`
}

func (v Violation) String() string {
	return fmt.Sprintf("%s (%s): %s at %v", v.ID, v.Impact, v.Help, v.Nodes)
}

var (
	axeOnce sync.Once
	axeSrc  string
	axeErr  error
)

// axeSource is axe-core as pinned in local/package-lock.json (make deps installs it).
func axeSource() (string, error) {
	axeOnce.Do(func() {
		root, err := repo.Root()
		if err != nil {
			axeErr = err
			return
		}
		b, err := os.ReadFile(filepath.Join(root, "local", "node_modules", "axe-core", "axe.min.js"))
		if err != nil {
			axeErr = fmt.Errorf("browser: axe-core is not installed (run make deps): %w", err)
			return
		}
		axeSrc = string(b)
	})
	return axeSrc, axeErr
}

// Audit runs axe-core on the page as it is now and returns every violation.
// The script is evaluated through DevTools, which the page's CSP does not
// govern, so the console needs no exception for it.
func Audit(tab context.Context) ([]Violation, error) {
	src, err := axeSource()
	if err != nil {
		return nil, err
	}
	loaded, err := chromedp.Run(tab, chromedp.Evaluate[bool](src+"\n;typeof axe === 'object'"))
	if err != nil {
		return nil, fmt.Errorf("browser: injecting axe-core: %w", err)
	}
	if !loaded {
		return nil, errors.New("browser: axe-core did not define axe")
	}
	run := `axe.run(document, {resultTypes: ['violations']}).then(r => r.violations.map(v => ({
		id: v.id, impact: v.impact || '', help: v.help, nodes: v.nodes.map(n => n.target.join(' '))})))`
	out, err := chromedp.Run(tab, chromedp.Evaluate[[]Violation](run, chromedp.EvalAwaitPromise))
	if err != nil {
		return nil, fmt.Errorf("browser: running axe: %w", err)
	}
	return out, nil
}

// Serious keeps the violations axe rates serious or critical.
func Serious(vs []Violation) []Violation {
	var out []Violation
	for _, v := range vs {
		if v.Impact == "serious" || v.Impact == "critical" {
			out = append(out, v)
		}
	}
	return out
}
