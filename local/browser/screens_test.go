package browser_test

import (
	"bytes"
	"fmt"
	"image/png"
	"os"
	"path/filepath"
	"testing"

	"github.com/chromedp/chromedp"
)

// TestEveryPageInBothLanguages opens each page of the console in English and
// Chinese, audits it with axe-core and screenshots it: into $SCREENSHOT_DIR
// when set (make screenshots), else into a temporary folder.
func TestEveryPageInBothLanguages(t *testing.T) {
	dir := os.Getenv("SCREENSHOT_DIR")
	if dir == "" {
		dir = t.TempDir()
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	// Something to show: a campaign's codes, with scans (and, once the stream
	// has handled them, the first one's scan actions).
	for i, s := range []string{"海报-北京", "parcel-insert-0001", "store-shanghai"} {
		actions := ""
		if i == 0 { // the code page shows a scene with scan actions
			actions = `,"tag":"北京海报","followups":[{"type":"text","content":"谢谢关注! Your coupon follows."},` +
				`{"type":"news","articles":[{"title":"春季优惠券","url":"https://example.com/coupon"}]}]`
		}
		apiPost(t, "/qrcodes", fmt.Sprintf(`{"scene":%q,"permanent":%v,"reply":{"type":"text","content":"欢迎! Welcome, poster %d"}%s}`, s, i != 1, i, actions))
		for j := 0; j <= 2-i; j++ {
			scan(t, fmt.Sprintf("screens-fan-%d-%d", i, j), s)
		}
	}
	// And one code of the second account, for the pages about every account.
	_, second := twoAccounts(t)
	apiPost(t, "/accounts/"+second.AppID+"/qrcodes", `{"scene":"海报-上海","permanent":true}`)
	scanOf(t, second.AppID, "screens-fan-second", "海报-上海")
	streamIdle(t)
	pages := []struct{ name, hash, ready string }{
		{"codes", "/codes", `document.querySelector('[data-test="code-row"]')`},
		{"code", "/code/海报-北京", `document.querySelector('[data-test="total-scans"]') && document.getElementById('code-image').naturalWidth > 0`},
		{"create", "/create", `document.getElementById('create-form')`},
		{"batch", "/batch", `document.getElementById('batch-form')`},
		{"sources", "/sources", `document.querySelector('[data-test="source-row"]')`},
		{"accounts", "/accounts", `document.querySelector('[data-test="account-row"]')`},
		{"all-sources", "/all-sources", `document.querySelector('[data-test="account-source-row"]') && document.querySelector('#all-sources-chart canvas')`},
	}
	for _, lang := range []string{"en", "zh-CN"} {
		for _, p := range pages {
			t.Run(p.name+"-"+lang, func(t *testing.T) {
				ctx := page(t, p.hash, lang)
				waitFor(t, ctx, p.ready)
				if msg := text(t, ctx, "#app-error, .error:not(:empty)"); msg != "" {
					t.Errorf("the page shows an error: %s", msg)
				}
				audit(t, ctx, p.name+" in "+lang)
				shot, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
				if err != nil {
					t.Fatal(err)
				}
				if img, err := png.Decode(bytes.NewReader(shot)); err != nil || img.Bounds().Dx() < 600 {
					t.Fatalf("the screenshot is not a page-wide PNG: %v", err)
				}
				if err := os.WriteFile(filepath.Join(dir, p.name+"-"+lang+".png"), shot, 0o644); err != nil {
					t.Fatal(err)
				}
			})
		}
	}
}
