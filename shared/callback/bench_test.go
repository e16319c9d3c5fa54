package callback_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"wechatqr/functions/apigw"
	"wechatqr/shared/callback"
	"wechatqr/shared/inmem"
	"wechatqr/shared/qr"
	"wechatqr/shared/wechat"
	"wechatqr/shared/wechat/wechattest"
)

// These benchmarks measure the callback's compute for one push: a SCAN of the
// riddle example's code (scene "riddle-1", text reply "Answer: a map"), signed and
// in safe mode encrypted as WeChat does, from what the function receives to the
// reply bytes. Storage is the in-memory store (package inmem, same semantics as
// the DynamoDB one), so DynamoDB's round trips and their marshalling are not in
// the figures; the in-memory store's own map work is. They do not touch the
// DynamoDB Local that TestMain starts.
//
//   - BenchmarkPush: from the events.APIGatewayV2HTTPRequest value through
//     apigw.Handler to the response event (the Lambda path minus JSON).
//   - BenchmarkPushJSON: from the event's JSON bytes, unmarshalled and the
//     response marshalled as aws-lambda-go's runtime does around the handler.
//   - BenchmarkPushHTTP: the handler served an *http.Request into an
//     httptest.ResponseRecorder, the way local/peerbench serves silenceper/wechat,
//     so that the two compare like with like (go run ./local/benchcmp).
//
// Each has plaintext and safe mode, and two cases:
//
//   - first: every timed iteration is a first delivery, which looks up the scene,
//     renders the reply and claims the push in the store. Each iteration takes the
//     next of benchPool distinct pushes, built before the timer (they differ only
//     in CreateTime, so their dedupe keys differ); after benchPool deliveries the
//     timer stops and the store is replaced by a fresh one. The store therefore
//     holds at most benchPool claims, and the amortised growth of its maps is in
//     the figures. At the end the benchmark checks that every delivery was counted.
//   - retry: one push delivered before the timer, then again every iteration: the
//     lookup finds the claim and the stored reply is answered (in safe mode sealed
//     again, with a fresh random prefix and nonce). The scan count must stay 1.
//
// The handler's logger discards (callback.New with a nil logger): the one JSON
// line per push that production writes is not measured.

// The account of the protocol's known-answer vectors (docs/wechat.md §10).
// Named apart from callback_test.go's constants so the two files do not depend
// on each other.
const (
	benchToken  = "wechatqr"
	benchAppID  = "wx5823bf96d3bd56c7"
	benchAESKey = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C"
	benchOpenID = "oKqdL5Vn7Ek3wOq2fG8mZ1xYc9aQ"
	benchTicket = "gQHk7zwAAAAAAAAAAS5odHRwOi8vd2VpeGluLnFxLmNvbS9xLzAyS0FU"
	benchScene  = "riddle-1"
	benchAnswer = "Answer: a map"
	benchNonce  = "468035"
	// benchPool is how many distinct pushes the first-delivery benchmarks cycle
	// through between store resets: enough to make the reset (and the stopped
	// timer's cost) negligible, few enough to build in milliseconds.
	benchPool = 1024
)

// benchNow is both the signing time of every push and the handler's clock, so the
// timestamp window always passes.
var benchNow = time.Unix(1732500000, 0)

// benchPush is one signed push as WeChat sends it: raw query and body.
type benchPush struct {
	query string
	body  []byte
}

// benchPushes builds n distinct SCAN pushes in mode. local/peerbench builds the
// same ones with the same code and seed, so both modules serve byte-identical
// requests; the BenchmarkPushHTTP benchmarks of both log the digest of what they
// serve and benchcmp refuses to compare when the digests differ.
func benchPushes(tb testing.TB, mode wechattest.Mode, n int) []benchPush {
	tb.Helper()
	s := wechattest.Signer{
		Token: benchToken, AppID: benchAppID, EncodingAESKey: benchAESKey,
		// Deterministic random prefixes: the same bytes in both modules.
		Rand: rand.NewChaCha8([32]byte{'w', 'e', 'c', 'h', 'a', 't', 'q', 'r'}),
	}
	pushes := make([]benchPush, n)
	for i := range pushes {
		// Push i happened i seconds before the first: a distinct dedupe key each.
		inner := s.ScanXML(benchOpenID, benchScene, benchNow.Unix()-int64(i), benchTicket)
		q, body, err := s.Push(inner, mode, benchNow.Unix(), benchNonce)
		if err != nil {
			tb.Fatal(err)
		}
		pushes[i] = benchPush{query: q.Encode(), body: body}
	}
	return pushes
}

// benchRig is a handler over a fresh in-memory store holding the riddle's code.
type benchRig struct {
	store *inmem.Store
	h     *callback.Handler
}

func newBenchRig(tb testing.TB) benchRig {
	tb.Helper()
	store := inmem.New()
	err := store.PutCode(context.Background(), &qr.Code{
		Scene: benchScene, ActionName: "QR_LIMIT_STR_SCENE", Permanent: true,
		Reply: qr.TextReply(benchAnswer), CreatedAt: benchNow,
	})
	if err != nil {
		tb.Fatal(err)
	}
	cipher, err := wechat.NewCipher(benchAESKey, benchAppID)
	if err != nil {
		tb.Fatal(err)
	}
	h, err := callback.New(callback.Config{
		AppID: benchAppID, Token: benchToken, Cipher: cipher, MessageMode: callback.Plaintext, // both modes are benchmarked
		Tolerance: callback.DefaultTolerance,
		Now:       func() time.Time { return benchNow },
	}, store, nil)
	if err != nil {
		tb.Fatal(err)
	}
	return benchRig{store: store, h: h}
}

// scans is how many deliveries the store recorded as first ones.
func (r benchRig) scans() int { return len(r.store.Scans()) }

// front is how a push reaches the handler: In is what the function is handed
// (built before the timer), Out what it hands back.
type front[In, Out any] struct {
	build func(tb testing.TB, p benchPush) In
	// bind returns the function serving one push; called once per handler, so
	// that wiring (apigw.Handler's closure) is not measured.
	bind   func(h http.Handler) func(In) Out
	status func(Out) int
	body   func(Out) []byte // outside the timer only
}

// lambdaEvent is the HTTP API payload 2.0 event API Gateway builds for the push,
// with the headers and request context it really sends. The body goes as text,
// not base64, as it does for text/xml.
func lambdaEvent(p benchPush) events.APIGatewayV2HTTPRequest {
	return events.APIGatewayV2HTTPRequest{
		Version:        "2.0",
		RouteKey:       "POST /wechat",
		RawPath:        "/wechat",
		RawQueryString: p.query,
		Headers: map[string]string{
			"accept":          "*/*",
			"content-length":  strconv.Itoa(len(p.body)),
			"content-type":    "text/xml",
			"host":            "abc123.execute-api.us-east-1.amazonaws.com",
			"pragma":          "no-cache",
			"user-agent":      "Mozilla/4.0",
			"x-forwarded-for": "101.226.103.0",
		},
		QueryStringParameters: queryParams(p.query),
		Body:                  string(p.body),
		RequestContext: events.APIGatewayV2HTTPRequestContext{
			RouteKey:     "POST /wechat",
			AccountID:    "123456789012",
			Stage:        "$default",
			RequestID:    "JKJaXmPLvHcESHA=",
			APIID:        "abc123",
			DomainName:   "abc123.execute-api.us-east-1.amazonaws.com",
			DomainPrefix: "abc123",
			Time:         benchNow.UTC().Format("02/Jan/2006:15:04:05 -0700"),
			TimeEpoch:    benchNow.UnixMilli(),
			HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{
				Method: http.MethodPost, Path: "/wechat", Protocol: "HTTP/1.1",
				SourceIP: "101.226.103.0", UserAgent: "Mozilla/4.0",
			},
		},
	}
}

// queryParams is the event's queryStringParameters: API Gateway sends them
// beside rawQueryString (repeated keys joined by commas; ours has none).
func queryParams(raw string) map[string]string {
	q, _ := url.ParseQuery(raw)
	m := make(map[string]string, len(q))
	for k := range q {
		m[k] = q.Get(k)
	}
	return m
}

var eventFront = front[events.APIGatewayV2HTTPRequest, events.APIGatewayV2HTTPResponse]{
	build: func(_ testing.TB, p benchPush) events.APIGatewayV2HTTPRequest { return lambdaEvent(p) },
	bind: func(h http.Handler) func(events.APIGatewayV2HTTPRequest) events.APIGatewayV2HTTPResponse {
		fn := apigw.Handler(h)
		return func(e events.APIGatewayV2HTTPRequest) events.APIGatewayV2HTTPResponse {
			res, _ := fn(context.Background(), e) // apigw.Handler never fails; errors are 4xx/5xx
			return res
		}
	},
	status: func(r events.APIGatewayV2HTTPResponse) int { return r.StatusCode },
	body:   func(r events.APIGatewayV2HTTPResponse) []byte { return []byte(r.Body) },
}

// jsonOut is the response event and the JSON bytes Lambda's runtime sends back.
type jsonOut struct {
	res events.APIGatewayV2HTTPResponse
	out []byte
}

var jsonFront = front[[]byte, jsonOut]{
	build: func(tb testing.TB, p benchPush) []byte {
		b, err := json.Marshal(eventFront.build(tb, p))
		if err != nil {
			tb.Fatal(err)
		}
		return b
	},
	bind: func(h http.Handler) func([]byte) jsonOut {
		fn := apigw.Handler(h)
		return func(payload []byte) jsonOut {
			// What aws-lambda-go does for a func(ctx, Event) (Response, error).
			var e events.APIGatewayV2HTTPRequest
			if err := json.Unmarshal(payload, &e); err != nil {
				return jsonOut{}
			}
			res, _ := fn(context.Background(), e)
			out, err := json.Marshal(res)
			if err != nil {
				return jsonOut{}
			}
			return jsonOut{res, out}
		}
	},
	status: func(r jsonOut) int { return r.res.StatusCode },
	body:   func(r jsonOut) []byte { return []byte(r.res.Body) },
}

// replayable is an *http.Request whose body can be read again: the request is
// built once, before the timer, and each serve only rewinds its body. Neither
// our handler nor silenceper's caches anything in the request (both re-parse
// r.URL.Query()), so replaying it costs the same as a fresh one minus building it.
type replayable struct {
	r    *http.Request
	body []byte
	rd   bytes.Reader
}

func newReplayable(p benchPush) *replayable {
	rp := &replayable{body: p.body}
	rp.r = httptest.NewRequest(http.MethodPost, "/wechat?"+p.query, nil)
	rp.r.Header.Set("Content-Type", "text/xml")
	rp.r.ContentLength = int64(len(p.body))
	rp.r.Body = io.NopCloser(&rp.rd)
	return rp
}

func (rp *replayable) next() *http.Request {
	rp.rd.Reset(rp.body)
	return rp.r
}

var httpFront = front[*replayable, *httptest.ResponseRecorder]{
	build: func(_ testing.TB, p benchPush) *replayable { return newReplayable(p) },
	bind: func(h http.Handler) func(*replayable) *httptest.ResponseRecorder {
		return func(rp *replayable) *httptest.ResponseRecorder {
			w := httptest.NewRecorder() // silenceper's benchmark pays for one too
			h.ServeHTTP(w, rp.next())
			return w
		}
	},
	status: func(w *httptest.ResponseRecorder) int { return w.Code },
	body:   func(w *httptest.ResponseRecorder) []byte { return w.Body.Bytes() },
}

var benchModes = []wechattest.Mode{wechattest.Plaintext, wechattest.Safe}

func BenchmarkPush(b *testing.B) { benchFront(b, eventFront) }

func BenchmarkPushJSON(b *testing.B) { benchFront(b, jsonFront) }

func BenchmarkPushHTTP(b *testing.B) {
	for _, mode := range benchModes {
		b.Run(mode.String(), func(b *testing.B) {
			b.Run("first", func(b *testing.B) {
				// benchcmp matches this line against local/peerbench's.
				b.Logf("%s: requests sha256 %x", b.Name(), requestsDigest(benchPushes(b, mode, benchPool)))
				benchDeliveries(b, httpFront, mode, true)
			})
			b.Run("retry", func(b *testing.B) { benchDeliveries(b, httpFront, mode, false) })
		})
	}
}

// requestsDigest covers everything a handler reads of the pushes: target and
// body. local/peerbench computes it the same way.
func requestsDigest(pushes []benchPush) []byte {
	h := sha256.New()
	for _, p := range pushes {
		io.WriteString(h, "POST /wechat?"+p.query+"\n")
		h.Write(p.body)
		h.Write([]byte{0})
	}
	return h.Sum(nil)
}

func benchFront[In, Out any](b *testing.B, f front[In, Out]) {
	for _, mode := range benchModes {
		b.Run(mode.String(), func(b *testing.B) {
			b.Run("first", func(b *testing.B) { benchDeliveries(b, f, mode, true) })
			b.Run("retry", func(b *testing.B) { benchDeliveries(b, f, mode, false) })
		})
	}
}

func benchDeliveries[In, Out any](b *testing.B, f front[In, Out], mode wechattest.Mode, first bool) {
	n := 1
	if first {
		n = benchPool
	}
	pushes := benchPushes(b, mode, n)
	ins := make([]In, len(pushes))
	for i, p := range pushes {
		ins[i] = f.build(b, p)
	}

	// One delivery before the timer proves the timed ones are not an error path.
	// For retry it is also the first delivery whose claim every iteration finds.
	rig := newBenchRig(b)
	serve := f.bind(rig.h)
	out := serve(ins[0])
	checkBenchReply(b, mode, f.status(out), f.body(out))
	if first {
		rig = newBenchRig(b) // push 0 must be a first delivery again
		serve = f.bind(rig.h)
	} else {
		out = serve(ins[0])
		checkBenchReply(b, mode, f.status(out), f.body(out))
	}

	b.ReportAllocs()
	delivered := 0 // into the current store
	for b.Loop() {
		if first && delivered == len(ins) {
			b.StopTimer()
			checkFirsts(b, rig, delivered)
			rig = newBenchRig(b)
			serve = f.bind(rig.h)
			delivered = 0
			b.StartTimer()
		}
		in := ins[0]
		if first {
			in = ins[delivered]
		}
		if out := serve(in); f.status(out) != http.StatusOK {
			b.Fatalf("delivery %d: status %d: %s", delivered, f.status(out), f.body(out))
		}
		delivered++
	}
	if first {
		checkFirsts(b, rig, delivered)
	} else if got := rig.scans(); got != 1 {
		b.Fatalf("retries counted %d scans, want 1: they were not all answered from the claim", got)
	}
}

// checkFirsts fails unless each of the deliveries into rig was counted as a first.
func checkFirsts(b *testing.B, rig benchRig, delivered int) {
	b.Helper()
	if got := rig.scans(); got != delivered {
		b.Fatalf("%d deliveries counted %d scans: not every one was a first delivery", delivered, got)
	}
}

// checkBenchReply fails unless the response is 200 with the riddle's answer, in
// safe mode sealed so that WeChat can open it.
func checkBenchReply(tb testing.TB, mode wechattest.Mode, status int, body []byte) {
	tb.Helper()
	if status != http.StatusOK {
		tb.Fatalf("status %d: %s", status, body)
	}
	inner := body
	if mode != wechattest.Plaintext {
		if !bytes.Contains(body, []byte("<MsgSignature>")) {
			tb.Fatalf("safe mode answered an unsealed reply: %s", body)
		}
		s := wechattest.Signer{Token: benchToken, AppID: benchAppID, EncodingAESKey: benchAESKey}
		var err error
		if inner, err = s.OpenReply(body); err != nil {
			tb.Fatalf("opening the reply: %v", err)
		}
	}
	if !bytes.Contains(inner, []byte("<Content><![CDATA["+benchAnswer+"]]></Content>")) ||
		!bytes.Contains(inner, []byte("<ToUserName><![CDATA["+benchOpenID+"]]></ToUserName>")) {
		tb.Fatalf("reply is not the riddle's answer to the user: %s", inner)
	}
}
