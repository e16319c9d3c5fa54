package browser_test

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"wechatqr/local/browser"
	"wechatqr/shared/wechat"
	"wechatqr/shared/wechat/wechattest"
)

// TestWeChatsDailyQuotaStopsABatchAndARerunMakesTheRest: WeChat answers
// qrcode/create with 45009 after five codes. The batch page stops (no create
// beyond those already in flight, at most the page's concurrency of 4), says
// the daily quota is used up, lists the rows it did not make, and offers the
// ZIP of the five it made, which exist. Once the quota resets, the same CSV
// makes the rest; the five permanent codes come back without a WeChat call.
func TestWeChatsDailyQuotaStopsABatchAndARerunMakesTheRest(t *testing.T) {
	console(t)
	const rows, allowed, concurrency = 12, 5, 4
	var b strings.Builder
	b.WriteString("scene,permanent,expire_seconds,reply,tag\n")
	for i := range rows {
		fmt.Fprintf(&b, "batch-quota-%02d,true,,配额 %d,\n", i, i)
	}
	file := filepath.Join(t.TempDir(), "quota.csv")
	if err := os.WriteFile(file, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	// Faults are taken in arrival order: five requests served as usual, then
	// WeChat's answer for a used-up day to every create after them.
	before := len(st.Platform.CallLog(wechattest.PathQRCodeCreate))
	st.Platform.FailNext(wechattest.PathQRCodeCreate, allowed, wechattest.Fault{})
	st.Platform.FailNext(wechattest.PathQRCodeCreate, 10*rows, wechattest.ErrCodeFault(wechat.CodeDailyQuota))
	t.Cleanup(st.Platform.Reset) // no fault outlives the test

	ctx := page(t, "/batch", "")
	runBatch(t, ctx, file)

	calls := st.Platform.CallLog(wechattest.PathQRCodeCreate)[before:]
	var ok, refused int
	for _, c := range calls {
		switch c.ErrCode {
		case 0:
			ok++
		case wechat.CodeDailyQuota:
			refused++
		default:
			t.Errorf("qrcode/create answered %d %d", c.Status, c.ErrCode)
		}
	}
	t.Logf("first run: %d creates reached WeChat, %d made, %d refused with 45009", len(calls), ok, refused)
	if ok != allowed || refused < 1 || refused > concurrency {
		t.Errorf("%d creates made and %d refused; want %d made and 1 to %d refused (those in flight when the first refusal came)", ok, refused, allowed, concurrency)
	}
	stopped := text(t, ctx, "#batch-stopped")
	for _, want := range []string{"daily quota", "45009", "stopped", strconv.Itoa(allowed) + " codes made before that are kept"} {
		if !strings.Contains(stopped, want) {
			t.Errorf("the stop message %q does not say %q", stopped, want)
		}
	}
	if got := text(t, ctx, "#batch-progress-text"); got != fmt.Sprintf("%d / %d", allowed, rows) {
		t.Errorf("progress reads %q", got)
	}
	if n := eval[int](t, ctx, `document.querySelectorAll('[data-test="batch-failure"]').length`); n != 0 {
		t.Errorf("%d failures listed; the quota is not a row's failure", n)
	}
	unmade := eval[[]string](t, ctx, `[...document.querySelectorAll('[data-test="batch-unmade"]')].map(li => li.textContent)`)
	if len(unmade) != rows-allowed {
		t.Errorf("%d rows listed as not created, want %d: %q", len(unmade), rows-allowed, unmade)
	}
	if h := text(t, ctx, "#batch-unmade-h"); !strings.Contains(h, "Not created ("+strconv.Itoa(rows-allowed)+")") {
		t.Errorf("the list of rows not created is headed %q", h)
	}
	audit(t, ctx, "batch page, stopped by the quota")

	// The ZIP holds what was made; the rows listed as not made are the rest.
	data, _, err := chrom.Download(ctx, chromedp.Click(chromedp.ID("batch-zip")), time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	files, manifest := unzipBatch(t, data)
	if len(manifest) != allowed+1 || len(files) != allowed+1 {
		t.Fatalf("%d manifest rows and %d files in the ZIP; want %d and %d", len(manifest)-1, len(files), allowed, allowed+1)
	}
	made := map[string]string{} // scene → url
	for _, r := range manifest[1:] {
		scene, url := r[0], r[3]
		made[scene] = url
		if got, err := browser.DecodeQRPNG(files[r[5]]); err != nil || got != url {
			t.Errorf("%s: the image %s decodes to %q (%v), the manifest says %q", scene, r[5], got, err, url)
		}
		var c code
		apiGet(t, "/qrcodes/"+scene, &c)
		if c.URL != url {
			t.Errorf("%s: the API has url %q, the manifest %q", scene, c.URL, url)
		}
	}
	for i := range rows {
		scene := fmt.Sprintf("batch-quota-%02d", i)
		line := fmt.Sprintf("Line %d (%s)", i+2, scene)
		listed := slices.Contains(unmade, line)
		if _, ok := made[scene]; ok == listed {
			t.Errorf("%s: in the ZIP %t, listed as not created %t: want exactly one", scene, ok, listed)
		}
		if listed {
			if status := apiStatus(t, "/qrcodes/"+scene); status != http.StatusNotFound {
				t.Errorf("%s is listed as not created, but GET answers %d", scene, status)
			}
		}
	}

	// A new day: the quota is back. The same file makes the other seven and
	// asks WeChat for nothing else.
	st.Platform.Reset()
	ctx = page(t, "/batch", "")
	runBatch(t, ctx, file)
	if msg := text(t, ctx, "#batch-stopped"); msg != "" {
		t.Fatalf("the second run stopped: %s", msg)
	}
	if got := text(t, ctx, "#batch-progress-text"); got != fmt.Sprintf("%d / %d", rows, rows) {
		t.Errorf("second run: progress reads %q", got)
	}
	if n := eval[int](t, ctx, `document.querySelectorAll('[data-test="batch-failure"], [data-test="batch-unmade"]').length`); n != 0 {
		t.Errorf("second run: %d rows listed as failed or not created", n)
	}
	if n := st.Platform.Calls(wechattest.PathQRCodeCreate); n != rows-allowed {
		t.Errorf("second run: %d creates reached WeChat, want %d (the permanent codes made before come back as they are)", n, rows-allowed)
	}
	for i := range rows {
		scene := fmt.Sprintf("batch-quota-%02d", i)
		var c code
		apiGet(t, "/qrcodes/"+scene, &c)
		if url, ok := made[scene]; ok && c.URL != url {
			t.Errorf("%s: made in the first run with url %q, now %q", scene, url, c.URL)
		}
		if c.Reply.Content != fmt.Sprintf("配额 %d", i) {
			t.Errorf("%s: reply %q", scene, c.Reply.Content)
		}
	}
}
