package stack_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image"
	_ "image/png"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"wechatqr/local/stack"
	"wechatqr/shared/wechat/wechattest"
)

func startStack(t *testing.T) (*stack.Stack, *httptest.Server) {
	t.Helper()
	stack.SkipShort(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	// Two accounts, as `make run` has them.
	s, err := stack.Start(ctx, stack.Options{BuildDir: t.TempDir(), Accounts: []stack.Account{stack.SecondAccount}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	front := httptest.NewServer(s.Front())
	t.Cleanup(front.Close)
	return s, front
}

func call(t testing.TB, method, url, body string, out any) *http.Response {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			t.Fatalf("%s %s: %d %q: %v", method, url, res.StatusCode, b, err)
		}
	} else {
		res.Body = io.NopCloser(bytes.NewReader(b))
	}
	return res
}

// TestReadmeWalkthrough does what README's quick start tells a newcomer to do,
// through the front over HTTP: create a riddle code, fetch its PNG, have the
// emulator scan it in plaintext and safe mode, read the reply and the counters.
func TestReadmeWalkthrough(t *testing.T) {
	s, front := startStack(t)

	var code struct {
		Scene, Ticket, URL string
		ImageURL           string `json:"image_url"`
	}
	res := call(t, "POST", front.URL+"/qrcodes", `{"scene":"riddle-1","permanent":true,"reply":{"type":"text","content":"Answer: a map"}}`, &code)
	if res.StatusCode != 201 || code.Ticket == "" {
		t.Fatalf("create: %d %+v", res.StatusCode, code)
	}

	res = call(t, "GET", front.URL+"/qrcodes/riddle-1/image?size=300", "", nil)
	if res.StatusCode != 200 || res.Header.Get("Content-Type") != "image/png" {
		t.Fatalf("image: %d %s", res.StatusCode, res.Header.Get("Content-Type"))
	}
	if img, _, err := image.Decode(res.Body); err != nil || img.Bounds().Dx() != 300 {
		t.Errorf("image is not a 300 px PNG: %v", err)
	}
	// The emulator's showqrcode serves the same code by ticket.
	if res := call(t, "GET", code.ImageURL, "", nil); res.StatusCode != 200 {
		t.Errorf("showqrcode at %s: %d", code.ImageURL, res.StatusCode)
	}

	ctx := context.Background()
	for i, mode := range []wechattest.Mode{wechattest.Plaintext, wechattest.Safe} {
		openid := []string{"walkthrough-user-1", "walkthrough-user-2"}[i]
		push, err := s.Platform.ScanScene(ctx, front.URL+"/wechat", openid, "riddle-1", mode)
		if err != nil {
			t.Fatal(err)
		}
		if push.Status() != 200 || !bytes.Contains(push.Reply(), []byte("<Content><![CDATA[Answer: a map]]></Content>")) {
			t.Errorf("%v scan: %d %q", mode, push.Status(), push.Reply())
		}
	}
	var got struct {
		Stats struct{ Scans, Subscribes int64 }
	}
	call(t, "GET", front.URL+"/qrcodes/riddle-1", "", &got)
	if got.Stats.Scans != 2 || got.Stats.Subscribes != 2 {
		t.Errorf("counters = %+v, want 2 scans, 2 subscribes", got.Stats)
	}

	if res := call(t, "GET", front.URL+"/nowhere", "", nil); res.StatusCode != 404 {
		t.Errorf("unknown route: %d, want 404", res.StatusCode)
	}

	var pids []int
	for _, id := range []string{"CallbackFunction", "QRCodeFunction", "TokenRefreshFunction"} {
		fn, ok := s.Function(id)
		if !ok {
			t.Fatalf("%s is not running", id)
		}
		pids = append(pids, fn.PID())
	}
	pids = append(pids, s.DB.PID())
	s.Close()
	for _, pid := range pids {
		if alive(pid) {
			t.Errorf("process %d outlived Close", pid)
		}
	}
}

// alive reports a process that exists and is not a zombie.
func alive(pid int) bool {
	if syscall.Kill(pid, 0) != nil {
		return false
	}
	stat, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	return err == nil && !bytes.Contains(stat, []byte(") Z "))
}

// TestEveryEventFileAnswers invokes every file of events/ against the stack the
// way `make invoke` does: WeChat's pushes re-signed with the local Token and now.
func TestEveryEventFileAnswers(t *testing.T) {
	s, _ := startStack(t)
	byRoute := map[string]string{}
	for _, f := range s.Template.Functions() {
		for _, r := range f.Routes {
			byRoute[r.Method+" "+r.Path] = f.LogicalID
		}
	}
	streamFunction := ""
	for _, f := range s.Template.Functions() {
		if len(f.Streams) > 0 {
			streamFunction = f.LogicalID
		}
	}
	files, err := filepath.Glob("../../events/*.json")
	if err != nil || len(files) == 0 {
		t.Fatal("no events", err)
	}
	// Create the code first, so that the reads find it.
	for i, f := range files {
		if strings.HasSuffix(f, "qrcode-create.json") {
			files[0], files[i] = files[i], files[0]
		}
	}
	for _, file := range files {
		name := filepath.Base(file)
		if name == "env.json" {
			continue
		}
		t.Run(name, func(t *testing.T) {
			raw, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			id, payload := "", raw
			var e events.APIGatewayV2HTTPRequest
			var stream events.DynamoDBEvent
			if err := json.Unmarshal(raw, &stream); err == nil && len(stream.Records) > 0 && stream.Records[0].EventSource == "aws:dynamodb" {
				id = streamFunction
			} else if err := json.Unmarshal(raw, &e); err == nil && e.RouteKey != "" {
				id = byRoute[e.RouteKey]
				if err := stack.Resign(&e, s.Env("CallbackFunction")["WECHAT_TOKEN"], time.Now()); err != nil {
					t.Fatal(err)
				}
				payload, _ = json.Marshal(e)
			} else {
				id = "TokenRefreshFunction" // the scheduled event
			}
			if id == "" {
				t.Fatalf("no function serves %s", e.RouteKey)
			}
			out, err := s.Invoke(context.Background(), id, payload)
			if err != nil {
				t.Fatalf("%s: %v", id, err)
			}
			var res events.APIGatewayV2HTTPResponse
			if json.Unmarshal(out, &res) == nil && res.StatusCode >= 400 {
				t.Errorf("%s answered %d: %s", id, res.StatusCode, res.Body)
			}
			var batch events.DynamoDBEventResponse
			if id == streamFunction && (json.Unmarshal(out, &batch) != nil || len(batch.BatchItemFailures) > 0) {
				t.Errorf("%s failed records of %s: %s", id, name, out)
			}
		})
	}
}

// TestConcurrentScansThroughTheStackCountExactly sends 200 scans of one scene by
// distinct users at once through the front, as a poster in a busy place draws
// them: every counter exact, one scan record each.
func TestConcurrentScansThroughTheStackCountExactly(t *testing.T) {
	s, front := startStack(t)
	var code struct{ Ticket string }
	if res := call(t, "POST", front.URL+"/qrcodes", `{"scene":"hot-poster","permanent":true,"reply":{"type":"text","content":"Hi"}}`, &code); res.StatusCode != 201 {
		t.Fatal(res.StatusCode)
	}
	const n = 200
	ctx := context.Background()
	errs := make(chan error, n)
	sem := make(chan struct{}, 16)
	for i := range n {
		sem <- struct{}{}
		go func() {
			defer func() { <-sem }()
			push, err := s.Platform.Scan(ctx, front.URL+"/wechat", "crowd-"+strconv.Itoa(i), code.Ticket, wechattest.Plaintext)
			if err == nil && push.Status() != 200 {
				err = fmt.Errorf("status %d", push.Status())
			}
			errs <- err
		}()
	}
	for range n {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
	var st struct {
		Totals struct {
			Scans, Subscribes int64
			Unique            int64 `json:"unique_users"`
		}
	}
	call(t, "GET", front.URL+"/qrcodes/hot-poster/stats", "", &st)
	if st.Totals.Scans != n || st.Totals.Subscribes != n || st.Totals.Unique != n {
		t.Errorf("totals = %+v, want %d of each", st.Totals, n)
	}
	out, err := s.Dynamo.Scan(ctx, &dynamodb.ScanInput{
		TableName: aws.String(s.Tables["EventsTable"]),
		// A recorded push's claim is its record: a push# item with an event.
		FilterExpression:          aws.String("begins_with(sk, :push) AND attribute_exists(event)"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":push": &types.AttributeValueMemberS{Value: "push#"}},
		ConsistentRead:            aws.Bool(true),
	})
	if err != nil {
		t.Fatal(err)
	}
	if out.Count != n {
		t.Errorf("%d scan records, want %d", out.Count, n)
	}
}

// TestConsoleThroughTheFront opens the console as `make run` serves it: the
// shell and an asset through the greedy route, the API under /console/api/
// (prefix stripped by the function, no sign-in locally), and a batch parsed.
func TestConsoleThroughTheFront(t *testing.T) {
	_, front := startStack(t)
	res := call(t, "GET", front.URL+"/console", "", nil)
	shell, _ := io.ReadAll(res.Body)
	if res.StatusCode != 200 || !strings.Contains(res.Header.Get("Content-Security-Policy"), "frame-ancestors 'none'") {
		t.Fatalf("GET /console: %d %v", res.StatusCode, res.Header)
	}
	m := regexp.MustCompile(`src="(/console/assets/app\.[0-9a-f]{12}\.js)"`).FindSubmatch(shell)
	if m == nil {
		t.Fatalf("the shell names no fingerprinted app.js:\n%s", shell)
	}
	req, _ := http.NewRequest("GET", front.URL+string(m[1]), nil)
	req.Header.Set("Accept-Encoding", "gzip")
	asset, err := http.DefaultTransport.RoundTrip(req) // the raw answer, not decompressed
	if err != nil {
		t.Fatal(err)
	}
	asset.Body.Close()
	if asset.StatusCode != 200 || asset.Header.Get("Content-Encoding") != "gzip" || !strings.Contains(asset.Header.Get("Cache-Control"), "immutable") {
		t.Errorf("GET %s: %d %v", m[1], asset.StatusCode, asset.Header)
	}
	var cfg map[string]any
	if call(t, "GET", front.URL+"/console/config.json", "", &cfg); cfg["auth"] != "none" {
		t.Errorf("config.json = %v, want auth none locally", cfg)
	}

	var code struct{ Scene string }
	if res := call(t, "POST", front.URL+"/console/api/qrcodes", `{"scene":"北京/海报","permanent":true}`, &code); res.StatusCode != 201 || code.Scene != "北京/海报" {
		t.Fatalf("POST /console/api/qrcodes: %d %+v", res.StatusCode, code)
	}
	var page struct {
		Codes []struct {
			Scene string
			Stats *struct{ Scans int }
		}
	}
	call(t, "GET", front.URL+"/console/api/qrcodes?include=stats&q=海报", "", &page)
	if len(page.Codes) != 1 || page.Codes[0].Stats == nil {
		t.Errorf("list through /console/api: %+v", page)
	}
	if res := call(t, "GET", front.URL+"/console/api/qrcodes/"+url.PathEscape("北京/海报")+"/image?size=200", "", nil); res.StatusCode != 200 || res.Header.Get("Content-Type") != "image/png" {
		t.Errorf("the image through /console/api: %d %s", res.StatusCode, res.Header.Get("Content-Type"))
	}
	var batch struct{ Valid, Invalid int }
	if res := call(t, "POST", front.URL+"/console/api/batches/parse", "scene,reply\na,hi\n,\nb c ,x\n", &batch); res.StatusCode != 200 || batch.Valid != 1 || batch.Invalid != 1 {
		t.Errorf("batch parse through /console/api: %d %+v", res.StatusCode, batch)
	}
}
