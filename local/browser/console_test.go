package browser_test

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"wechatqr/local/browser"
	"wechatqr/shared/wechat/wechattest"
)

// code is what GET /qrcodes/{scene} answers, as far as these tests read it.
type code struct {
	Scene string `json:"scene"`
	URL   string `json:"url"`
	Reply struct {
		Content string `json:"content"`
	} `json:"reply"`
	Tag       string `json:"tag"`
	Followups []struct {
		Type    string `json:"type"`
		Content string `json:"content"`
	} `json:"followups"`
}

func scan(t testing.TB, openid, scene string) string {
	t.Helper()
	return scanOf(t, "", openid, scene)
}

// scanOf scans a code of the account appid ("" for the default) through the
// emulator, which pushes to that account's callback URL.
func scanOf(t testing.TB, appid, openid, scene string) string {
	t.Helper()
	console(t)
	p, callback := st.Platform, front.URL+"/wechat"
	if appid != "" {
		if p = st.Network.Platform(appid); p == nil {
			t.Fatalf("the emulator has no account %s", appid)
		}
		callback += "/" + appid
	}
	push, err := p.ScanScene(context.Background(), callback, openid, scene, wechattest.Plaintext)
	if err != nil {
		t.Fatal(err)
	}
	if push.Status() != 200 {
		t.Fatalf("scan of %s by %s: %d %s", scene, openid, push.Status(), push.Reply())
	}
	return string(push.Reply())
}

// imageQR screenshots the code page's <img> once it has loaded and decodes it.
func imageQR(t *testing.T, ctx context.Context) string {
	t.Helper()
	waitFor(t, ctx, `(() => { const i = document.getElementById('code-image'); return i && i.complete && i.naturalWidth > 0; })()`)
	shot, err := chromedp.Run(ctx, chromedp.Screenshot(chromedp.ID("code-image")))
	if err != nil {
		t.Fatal(err)
	}
	got, err := browser.DecodeQRPNG(shot)
	if err != nil {
		// go test -artifacts keeps the screenshot for a look at what failed.
		name := filepath.Join(t.ArtifactDir(), "code-image.png")
		if werr := os.WriteFile(name, shot, 0o644); werr != nil {
			t.Log(werr)
		}
		t.Fatalf("no QR code in the screenshot of #code-image (saved as %s): %v", name, err)
	}
	return got
}

func TestCreateThroughTheFormThenItIsListedAndItsQRDecodes(t *testing.T) {
	const scene = "poster-browser-1"
	ctx := page(t, "/create", "")
	audit(t, ctx, "create page")
	do(t, ctx,
		chromedp.SendKeys(chromedp.ID("create-scene"), scene),
		chromedp.Click(chromedp.ID("create-permanent")),
	)
	set(t, ctx, "create-reply-type", "text")
	do(t, ctx, chromedp.SendKeys(chromedp.ID("create-reply-content"), "欢迎来到北京 poster 1"))
	// A tag of 11 Chinese characters is 33 bytes: refused before submit, beside the field.
	set(t, ctx, "create-actions-tag", "一二三四五六七八九十一")
	do(t, ctx, chromedp.Click(chromedp.ID("create-actions-add")))
	do(t, ctx, chromedp.SendKeys(chromedp.ID("create-actions-followup-0-content"), "第二条消息"))
	do(t, ctx, chromedp.Click(chromedp.ID("create-submit")))
	if got := text(t, ctx, "#create-actions-tag-error"); !strings.Contains(got, "33 bytes") {
		t.Errorf("a 33-byte tag: the field says %q", got)
	}
	if res, err := http.Get(front.URL + "/qrcodes/" + scene); err != nil || res.StatusCode != http.StatusNotFound {
		t.Fatalf("a refused form created the code: %v %v", res, err)
	} else {
		res.Body.Close()
	}
	set(t, ctx, "create-actions-tag", "北京海报")
	do(t, ctx, chromedp.Click(chromedp.ID("create-submit")))
	waitFor(t, ctx, `document.getElementById('create-result-link') || document.getElementById('create-error').textContent`)
	if msg := text(t, ctx, "#create-error"); msg != "" {
		t.Fatalf("the API refused the form: %s", msg)
	}
	var want code
	apiGet(t, "/qrcodes/"+scene, &want)
	if want.Reply.Content != "欢迎来到北京 poster 1" {
		t.Errorf("stored reply %q", want.Reply.Content)
	}
	if want.Tag != "北京海报" || len(want.Followups) != 1 || want.Followups[0].Content != "第二条消息" {
		t.Errorf("stored tag %q and follow-ups %+v", want.Tag, want.Followups)
	}

	list := page(t, "/codes?q="+scene, "")
	row := `[data-test="code-row"][data-scene="` + scene + `"]`
	waitFor(t, list, `document.querySelector('`+row+`')`)
	if got := text(t, list, row+` [data-test="reply"]`); !strings.Contains(got, "欢迎来到北京") {
		t.Errorf("the list's reply summary is %q", got)
	}
	if got := text(t, list, row+` [data-test="kind"]`); got == "" {
		t.Error("the list shows no kind")
	}
	if got := text(t, list, row+` [data-test="tag"]`); got != "北京海报" {
		t.Errorf("the list labels the scene with the tag %q", got)
	}
	audit(t, list, "codes page")

	do(t, list, chromedp.Click(chromedp.CSS(row+` [data-test="code-link"]`)))
	waitFor(t, list, `document.getElementById('code-scene') && document.getElementById('code-scene').textContent === '`+scene+`'`)
	if got := imageQR(t, list); got != want.URL {
		t.Errorf("the QR on the code's page says %q, want the code's url %q", got, want.URL)
	}
}

func TestScansChangeTheTotalsAndChartAndAnEditedReplyIsAnswered(t *testing.T) {
	const scene = "scan-browser-1"
	apiPost(t, "/qrcodes", `{"scene":"`+scene+`","permanent":true,"reply":{"type":"text","content":"first answer"}}`)

	ctx := page(t, "/code/"+scene, "")
	total := func(k string) string { return text(t, ctx, `[data-test="total-`+k+`"]`) }
	waitFor(t, ctx, `document.querySelector('[data-test="total-scans"]')`)
	if total("scans") != "0" || total("subscribes") != "0" {
		t.Fatalf("before any scan: scans %q, subscribes %q", total("scans"), total("subscribes"))
	}
	if n := eval[int](t, ctx, `document.querySelectorAll('[data-test="day-row"]').length`); n != 0 {
		t.Errorf("%d day rows before any scan", n)
	}

	for i := range 3 {
		if reply := scan(t, fmt.Sprintf("browser-fan-%d", i), scene); !strings.Contains(reply, "first answer") {
			t.Fatalf("scan %d answered %q", i, reply)
		}
	}
	do(t, ctx, chromedp.Reload())
	waitFor(t, ctx, `document.querySelector('[data-test="total-scans"]') && document.querySelector('[data-test="total-scans"]').textContent === '3'`)
	if total("subscribes") != "3" || total("unique") != "3" || total("net") != "3" {
		t.Errorf("after 3 new followers: subscribes %q unique %q net %q", total("subscribes"), total("unique"), total("net"))
	}
	// The chart's data: one day (today in China time) with 3 scans and 3 subscribes.
	today := time.Now().In(time.FixedZone("CST", 8*3600)).Format("2006-01-02")
	cells := eval[[]string](t, ctx, `Array.from(document.querySelectorAll('[data-test="day-row"][data-date="`+today+`"] td')).map(c => c.textContent)`)
	if len(cells) != 3 || cells[0] != "3" || cells[1] != "3" || cells[2] != "0" {
		t.Errorf("today's row of the chart data is %v, want [3 3 0]", cells)
	}
	if n := eval[int](t, ctx, `document.querySelectorAll('#chart canvas').length`); n == 0 {
		t.Error("no chart drawn")
	}
	audit(t, ctx, "code page")

	// Edit the reply in place, then the next scan gets it.
	set(t, ctx, "reply-content", "")
	do(t, ctx, chromedp.SendKeys(chromedp.ID("reply-content"), "第二个答案: a map"))
	do(t, ctx, chromedp.Click(chromedp.ID("reply-save")))
	waitFor(t, ctx, `document.getElementById('reply-saved').textContent !== '' || document.getElementById('reply-error').textContent !== ''`)
	if msg := text(t, ctx, "#reply-error"); msg != "" {
		t.Fatalf("saving the reply: %s", msg)
	}
	if reply := scan(t, "browser-fan-0", scene); !strings.Contains(reply, "第二个答案: a map") {
		t.Errorf("after the edit, a scan answered %q", reply)
	}
	do(t, ctx, chromedp.Reload())
	waitFor(t, ctx, `document.querySelector('[data-test="total-scans"]') && document.querySelector('[data-test="total-scans"]').textContent === '4'`)
	if total("subscribes") != "3" {
		t.Errorf("a follower's second scan counted as a subscribe: %q", total("subscribes"))
	}

	// Scan actions: a tag and two follow-ups set on the page, then a new
	// follower's scan gets both, in order, and the page counts them.
	streamIdle(t) // the earlier scans are handled before the scene has actions
	set(t, ctx, "actions-tag", "北京海报")
	do(t, ctx, chromedp.Click(chromedp.ID("actions-add")), chromedp.Click(chromedp.ID("actions-add")))
	do(t, ctx, chromedp.SendKeys(chromedp.ID("actions-followup-0-content"), "谢谢关注! Your coupon follows."))
	set(t, ctx, "actions-followup-1-type", "news")
	do(t, ctx, chromedp.SendKeys(chromedp.ID("actions-followup-1-title"), "春季优惠券"),
		chromedp.SendKeys(chromedp.ID("actions-followup-1-url"), "https://example.com/coupon"))
	// A refusal the page cannot foresee (a message type it does not offer) is
	// the API's own message, beside the field it names.
	eval[bool](t, ctx, `document.getElementById('actions-followup-1-type').add(new Option('video', 'video')) || true`)
	set(t, ctx, "actions-followup-1-type", "video")
	do(t, ctx, chromedp.Click(chromedp.ID("actions-save")))
	waitFor(t, ctx, `document.getElementById('actions-followup-1-type-error').textContent !== ''`)
	if got := text(t, ctx, "#actions-followup-1-type-error"); !strings.HasPrefix(got, `followups[1].type: "video" is not one of`) {
		t.Errorf("the API's refusal shows as %q", got)
	}
	set(t, ctx, "actions-followup-1-type", "news")
	do(t, ctx, chromedp.Click(chromedp.ID("actions-save")))
	waitFor(t, ctx, `document.getElementById('actions-saved').textContent !== '' || document.querySelector('#actions-form .error:not(:empty)')`)
	if msg := text(t, ctx, "#actions-form .error:not(:empty)"); msg != "" {
		t.Fatalf("saving the actions: %s", msg)
	}
	if got := text(t, ctx, "#code-tag"); got != "北京海报" {
		t.Errorf("after saving, the facts show the tag %q", got)
	}
	scan(t, "browser-fan-actions", scene)
	streamIdle(t)
	var got []string
	for _, m := range st.Platform.Messages("browser-fan-actions") {
		got = append(got, m.String())
	}
	if want := []string{`text "谢谢关注! Your coupon follows."`, `news "春季优惠券" (https://example.com/coupon)`}; strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("the follower received %q, want %q", got, want)
	}
	do(t, ctx, chromedp.Reload())
	waitFor(t, ctx, `document.querySelector('[data-test="action-followups-sent"]')`)
	for k, want := range map[string]string{"tagged": "1", "tag-failed": "0", "followups-sent": "2", "followups-skipped": "0", "followups-failed": "0"} {
		if got := text(t, ctx, `[data-test="action-`+k+`"]`); got != want {
			t.Errorf("after the scan, the page counts %s = %q, want %q", k, got, want)
		}
	}
	if got := eval[[]string](t, ctx, `[0, 1].map(i => document.getElementById('actions-followup-' + i + '-type').value)`); strings.Join(got, ",") != "text,news" {
		t.Errorf("after a reload the follow-ups' editors are %v", got)
	}
	audit(t, ctx, "code page with scan actions")
}

// streamIdle waits until the local stack's stream mappings (the scan actions)
// have handled every record written so far.
func streamIdle(t testing.TB) {
	t.Helper()
	console(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := st.StreamIdle(ctx); err != nil {
		t.Fatal(err)
	}
}

func TestABatchOf50BecomesAZipOfDecodableCodes(t *testing.T) {
	var b strings.Builder
	b.WriteString("scene,permanent,expire_seconds,reply,tag\n")
	for i := range 50 {
		tag := ""
		if i%10 == 9 {
			tag = "批量海报"
		}
		fmt.Fprintf(&b, "batch-browser-%03d,false,3600,答案 %d,%s\n", i, i, tag)
	}
	file := filepath.Join(t.TempDir(), "posters.csv")
	if err := os.WriteFile(file, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx := page(t, "/batch", "")
	began := time.Now()
	runBatch(t, ctx, file)
	t.Logf("50 codes created and zipped in the browser in %s", time.Since(began).Round(10*time.Millisecond))
	if msg := text(t, ctx, "#batch-stopped"); msg != "" {
		t.Fatalf("the batch stopped: %s", msg)
	}
	if got := text(t, ctx, "#batch-progress-text"); got != "50 / 50" {
		t.Errorf("progress reads %q", got)
	}
	if n := eval[int](t, ctx, `document.querySelectorAll('[data-test="batch-failure"]').length`); n != 0 {
		t.Errorf("%d failures listed", n)
	}
	audit(t, ctx, "batch page, done")

	data, name, err := chrom.Download(ctx, chromedp.Click(chromedp.ID("batch-zip")), time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(name, ".zip") {
		t.Errorf("downloaded as %q", name)
	}
	files, rows := unzipBatch(t, data)
	if len(rows) != 51 {
		t.Fatalf("manifest.csv: %d rows", len(rows))
	}
	if strings.Join(rows[0][:5], ",") != "scene,action_name,ticket,url,expires_at" {
		t.Errorf("manifest header %v", rows[0])
	}
	seen := map[string]bool{}
	for _, r := range rows[1:] {
		scene, url, file := r[0], r[3], r[5]
		seen[scene] = true
		if r[1] != "QR_STR_SCENE" || r[2] == "" || r[4] == "" {
			t.Errorf("%s: manifest row %v", scene, r)
		}
		got, err := browser.DecodeQRPNG(files[file])
		if err != nil {
			t.Errorf("%s: %s does not decode: %v", scene, file, err)
			continue
		}
		if got != url {
			t.Errorf("%s: the image says %q, the manifest %q", scene, got, url)
		}
	}
	if len(seen) != 50 || len(files) != 51 {
		t.Errorf("%d scenes in the manifest, %d files in the ZIP; want 50 and 51", len(seen), len(files))
	}
	var c code
	apiGet(t, "/qrcodes/batch-browser-049", &c)
	if c.Reply.Content != "答案 49" || c.Tag != "批量海报" {
		t.Errorf("batch-browser-049's reply is %q and its tag %q", c.Reply.Content, c.Tag)
	}
}

var cjk = regexp.MustCompile(`\p{Han}`)

func TestLanguagesSwitchAndStay(t *testing.T) {
	ctx := page(t, "/codes", "en")
	if got := text(t, ctx, "#nav-codes"); got == "" || cjk.MatchString(got) {
		t.Fatalf("in English the Codes link reads %q", got)
	}
	english := text(t, ctx, "#page-title")
	set(t, ctx, "lang", "zh-CN")
	waitFor(t, ctx, `document.documentElement.lang === 'zh-CN'`)
	if got := text(t, ctx, "#nav-codes"); !cjk.MatchString(got) {
		t.Errorf("in Chinese the Codes link reads %q", got)
	}
	if got := text(t, ctx, "#page-title"); got == english || !cjk.MatchString(got) {
		t.Errorf("the title stayed %q", got)
	}
	// The choice outlives a reload.
	do(t, ctx, chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS("#page-title")))
	waitFor(t, ctx, `document.getElementById('page-title').textContent !== ''`)
	if lang := eval[string](t, ctx, `document.documentElement.lang`); lang != "zh-CN" {
		t.Errorf("after a reload the page is in %q", lang)
	}
	if v := eval[string](t, ctx, `document.getElementById('lang').value`); v != "zh-CN" {
		t.Errorf("the language picker shows %q", v)
	}
	audit(t, ctx, "codes page in Chinese")
}

// TestAHostileReplyExecutesNothing stores a reply, tag and follow-ups that would run script if any
// page rendered it as markup, then opens every page that shows it. The CSP
// would block the inline script, so the test also fails on a CSP report and on
// any element the payload would have created.
func TestAHostileReplyExecutesNothing(t *testing.T) {
	const scene = "hostile-1"
	payload := `<script>window.__pwned = 1</script><img src=x onerror="window.__pwned = 2"><b>bold</b>`
	const tag = `<img src=x onerror=__pwned=3>` // 29 bytes: a tag's limit is 30
	title := `<img src=x onerror="window.__pwned = 4"><b>t</b>`
	apiPost(t, "/qrcodes", `{"scene":"`+scene+`","permanent":true,"reply":{"type":"text","content":`+strconv.Quote(payload)+`},`+
		`"tag":`+strconv.Quote(tag)+`,"followups":[{"type":"text","content":`+strconv.Quote(payload)+`},`+
		`{"type":"news","articles":[{"title":`+strconv.Quote(title)+`,"url":"https://example.com/"}]}]}`)
	for _, hash := range []string{"/codes?q=" + scene, "/code/" + scene} {
		ctx := page(t, hash, "")
		switch {
		case strings.HasPrefix(hash, "/codes"):
			waitFor(t, ctx, `document.querySelector('[data-test="code-row"][data-scene="`+scene+`"]')`)
			if got := text(t, ctx, `[data-test="code-row"][data-scene="`+scene+`"] [data-test="reply"]`); !strings.Contains(got, "<script>") {
				t.Errorf("the list shows the reply as %q, not as its text", got)
			}
			if got := text(t, ctx, `[data-test="code-row"][data-scene="`+scene+`"] [data-test="tag"]`); got != tag {
				t.Errorf("the list shows the tag as %q, not as its text", got)
			}
		default:
			waitFor(t, ctx, `document.getElementById('reply-content')`)
			if got := eval[string](t, ctx, `document.getElementById('reply-content').value`); got != payload {
				t.Errorf("the reply editor holds %q", got)
			}
			for id, want := range map[string]string{"actions-tag": tag, "actions-followup-0-content": payload, "actions-followup-1-title": title} {
				if got := eval[string](t, ctx, `document.getElementById('`+id+`').value`); got != want {
					t.Errorf("#%s holds %q, want %q", id, got, want)
				}
			}
			if got := text(t, ctx, "#code-tag"); got != tag {
				t.Errorf("the facts show the tag as %q, not as its text", got)
			}
		}
		time.Sleep(300 * time.Millisecond) // an onerror would have fired by now
		if v := eval[string](t, ctx, `String(window.__pwned)`); v != "undefined" {
			t.Errorf("%s: the payload ran (window.__pwned = %s)", hash, v)
		}
		if n := eval[int](t, ctx, `document.querySelectorAll('#main script, #main img[src="x"], #main b').length`); n != 0 {
			t.Errorf("%s: the payload became %d elements", hash, n)
		}
		if v := eval[[]string](t, ctx, `window.__csp || []`); len(v) != 0 {
			t.Errorf("%s: CSP violations %v: something tried to run", hash, v)
		}
	}
}
