package browser_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// BenchmarkBatchOf1000InTheBrowser runs a 1,000-row batch through the batch
// page against the emulator, from the click on Start to the ZIP's link: what a
// campaign with a thousand parcel inserts waits for. It takes about a minute,
// so it is a benchmark, outside `make test`:
//
//	go test ./local/browser -run '^$' -bench BatchOf1000 -benchtime 1x
func BenchmarkBatchOf1000InTheBrowser(b *testing.B) {
	for n := range b.N {
		b.StopTimer()
		var csv strings.Builder
		csv.WriteString("scene,permanent,expire_seconds,reply,tag\n")
		for i := range 1000 {
			fmt.Fprintf(&csv, "parcel-%d-%04d,false,604800,谢谢惠顾 %d,\n", n, i, i)
		}
		file := filepath.Join(b.TempDir(), "parcels.csv")
		if err := os.WriteFile(file, []byte(csv.String()), 0o600); err != nil {
			b.Fatal(err)
		}
		ctx := page(b, "/batch", "")
		do(b, ctx, chromedp.SetUploadFiles(chromedp.ID("batch-file"), []string{file}), chromedp.Click(chromedp.ID("batch-parse")))
		waitFor(b, ctx, `document.getElementById('batch-start') && !document.getElementById('batch-start').disabled`)
		b.StartTimer()
		began := time.Now()
		do(b, ctx, chromedp.Click(chromedp.ID("batch-start")))
		waitLong(b, ctx, `document.getElementById('batch-zip') || document.getElementById('batch-stopped').textContent`, 10*time.Minute)
		b.StopTimer()
		if got := text(b, ctx, "#batch-progress-text"); got != "1,000 / 1,000" {
			b.Fatalf("progress %q, stopped: %q", got, text(b, ctx, "#batch-stopped"))
		}
		b.ReportMetric(time.Since(began).Seconds(), "s/1000codes")
		zip, _, err := chrom.Download(ctx, chromedp.Click(chromedp.ID("batch-zip")), time.Minute)
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(len(zip))/1e6, "MB-zip")
	}
}
