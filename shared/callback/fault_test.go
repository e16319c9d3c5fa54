package callback_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"wechatqr/local/dynamolocal"
	"wechatqr/shared/callback"
	"wechatqr/shared/dynamo"
	"wechatqr/shared/qr"
	"wechatqr/shared/wechat/wechattest"
)

// These tests break DynamoDB under a push, for real: the server killed and restarted over its
// data files, a connection cut before or after the transaction reached it, a server that never
// answers. docs/architecture.md ("A scan's journey") promises that if DynamoDB is down "the
// answer is 503, nothing is half-written, and WeChat retries", and that a retry counts nothing
// twice. The handler, the store and the SDK are the deployed ones; only the network under them
// misbehaves.

// faultDeadline is the handler's storage deadline in these tests: short, so that a hang shows
// as a 503 quickly, and long enough for DynamoDB Local on a loaded machine.
const faultDeadline = 2 * time.Second

// faultNow is these tests' clock and the pushes' CreateTime: the real time of the run, not the
// fixed past of the other tests, because DynamoDB Local deletes items whose TTL has passed
// within seconds, and a claim that expires under a test would let a retry count twice.
var faultNow = time.Now().Truncate(time.Second)

// faultHandler is a callback over store with a storage deadline, its clock at faultNow.
func faultHandler(t *testing.T, store callback.Store, deadline time.Duration) *callback.Handler {
	t.Helper()
	h, err := callback.New(callback.Config{
		AppID: appID, Token: token, Tolerance: callback.DefaultTolerance, Deadline: deadline,
		Now: func() time.Time { return faultNow },
	}, store, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// seedCode gives scene riddle-1 a permanent code whose reply is the text answer.
func seedCode(t *testing.T, store *dynamo.Store, answer string) {
	t.Helper()
	c := &qr.Code{Scene: "riddle-1", ActionName: "QR_LIMIT_STR_SCENE", Permanent: true, Reply: qr.TextReply(answer), CreatedAt: faultNow}
	if err := store.PutCode(context.Background(), c); err != nil {
		t.Fatal(err)
	}
}

// deliver sends inner as one plaintext delivery WeChat would make, timing the answer.
func deliver(t *testing.T, h http.Handler, inner []byte) (*httptest.ResponseRecorder, time.Duration) {
	t.Helper()
	q, body, err := signer.Push(inner, wechattest.Plaintext, faultNow.Unix(), nonceOf(inner))
	if err != nil {
		t.Fatal(err)
	}
	w := httptest.NewRecorder()
	start := time.Now()
	h.ServeHTTP(w, signer.Request("/wechat", q, body))
	return w, time.Since(start)
}

// wantReply fails unless w is a 200 carrying the text reply content.
func wantReply(t *testing.T, w *httptest.ResponseRecorder, content string) {
	t.Helper()
	if w.Code != http.StatusOK || !strings.Contains(w.Body.String(), "<Content><![CDATA["+content+"]]></Content>") {
		t.Fatalf("got %d %q, want 200 with the reply %q", w.Code, w.Body, content)
	}
}

// census is what the tables hold of pushes: claims, scan records and the scans the scenes'
// counters add up to. Consistency means the three agree: a claim is never written without its
// record and its count, nor a count without its claim. It reads the items raw, by the layout
// package dynamo documents, rather than through the store under test.
type census struct {
	claims, records int
	counted         int64
}

func takeCensus(t *testing.T, client *dynamodb.Client, names dynamo.Tables) census {
	t.Helper()
	var c census
	for _, table := range []string{names.Events, names.Scenes} {
		var start map[string]types.AttributeValue
		for {
			out, err := client.Scan(context.Background(), &dynamodb.ScanInput{
				TableName: aws.String(table), ConsistentRead: aws.Bool(true), ExclusiveStartKey: start,
			})
			if err != nil {
				t.Fatalf("census of %s: %v", table, err)
			}
			for _, it := range out.Items {
				sk, _ := it["sk"].(*types.AttributeValueMemberS)
				switch {
				case sk == nil:
				case strings.HasPrefix(sk.Value, "push#"):
					// A claim of a scan, a follow or a leaving is also its record.
					c.claims++
					if _, ok := it["event"]; ok {
						c.records++
					}
				case sk.Value == "stats" || sk.Value == "total": // a scene's (or a shard's) totals, not its days
					if n, ok := it["scans"].(*types.AttributeValueMemberN); ok {
						v, err := strconv.ParseInt(n.Value, 10, 64)
						if err != nil {
							t.Fatalf("stats item with scans %q", n.Value)
						}
						c.counted += v
					}
				}
			}
			if start = out.LastEvaluatedKey; start == nil {
				break
			}
		}
	}
	return c
}

// wantCensus fails unless the tables hold exactly n pushes, each with its claim, its record
// and its count.
func wantCensus(t *testing.T, client *dynamodb.Client, names dynamo.Tables, n int) {
	t.Helper()
	if got := takeCensus(t, client, names); got != (census{n, n, int64(n)}) {
		t.Fatalf("tables hold %d claims, %d scan records, %d counted scans; want %d of each", got.claims, got.records, got.counted, n)
	}
}

// wholeCensus fails unless every push in the tables is whole, its claim, record and count all
// there or all absent, and returns how many pushes the tables hold.
func wholeCensus(t *testing.T, client *dynamodb.Client, names dynamo.Tables) int {
	t.Helper()
	got := takeCensus(t, client, names)
	if got.claims != got.records || int64(got.claims) != got.counted {
		t.Fatalf("tables hold %d claims, %d scan records, %d counted scans: a push was half-written", got.claims, got.records, got.counted)
	}
	return got.claims
}

// lostAck explains a push answered 200 whose writes a kill then lost. DynamoDB Local
// acknowledges a TransactWriteItems a moment before its data files have it (one in six
// transactions was lost to a SIGKILL sent right after the answer, in a probe on these
// machines; PutItem never was). DynamoDB acknowledges only durable writes, so this is the
// emulator's property, not the handler's; what the handler owes is that the push stays whole.
const lostAck = "DynamoDB Local lost an acknowledged transaction to the SIGKILL (its durability, not the handler's); the push is whole"

// persistent is a DynamoDB Local of a test's own that keeps its data in files, so that it can
// be killed and come back with what it had committed, as a real outage would.
type persistent struct {
	dir  string
	port int
	srv  *dynamolocal.Server
}

func startPersistent(t *testing.T) *persistent {
	t.Helper()
	dynamolocal.SkipShort(t)
	p := &persistent{dir: t.TempDir()}
	p.start(t, 0)
	u, err := url.Parse(p.srv.Endpoint())
	if err != nil {
		t.Fatal(err)
	}
	if p.port, err = strconv.Atoi(u.Port()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.srv.Close() })
	return p
}

func (p *persistent) start(t *testing.T, port int) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	srv, err := dynamolocal.Start(ctx, dynamolocal.Options{Port: port, DataDir: p.dir})
	if err != nil {
		if port == 0 {
			t.Fatal(err)
		}
		return err
	}
	p.srv = srv
	return nil
}

// kill ends the server as a crash would: SIGKILL, no chance to flush or close anything. The
// server is alive when it is called (each start is killed once), so the pid is still its own.
func (p *persistent) kill(t *testing.T) {
	if err := syscall.Kill(p.srv.PID(), syscall.SIGKILL); err != nil && !errors.Is(err, syscall.ESRCH) {
		t.Error(err)
	}
	_ = p.srv.Close() // waits until it is gone
}

// restart brings the server back over the same data, on the same port when it can, so that a
// warm handler whose SDK client still points there (with dead pooled connections) is tested as
// it stands. It reports whether the port is the same; if not, callers build a new store.
func (p *persistent) restart(t *testing.T) (samePort bool) {
	t.Helper()
	err := p.start(t, p.port)
	if err == nil {
		return true
	}
	t.Logf("restarting on port %d: %v; using a fresh port over the same data", p.port, err)
	p.start(t, 0)
	if u, err := url.Parse(p.srv.Endpoint()); err == nil {
		p.port, _ = strconv.Atoi(u.Port())
	}
	return false
}

func (p *persistent) client(t *testing.T) *dynamodb.Client {
	t.Helper()
	c, err := p.srv.Client(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// faultTransport breaks the TransactWriteItems requests that pass through it, the write that
// claims a push and counts it: the next times of them (every one while times < 0); every other
// request goes through untouched.
type faultTransport struct {
	base  http.RoundTripper
	fault func(base http.RoundTripper, r *http.Request) (*http.Response, error)

	mu    sync.Mutex
	times int
	hits  int
}

func newFaultTransport(times int, fault func(http.RoundTripper, *http.Request) (*http.Response, error)) *faultTransport {
	return &faultTransport{base: http.DefaultTransport.(*http.Transport).Clone(), fault: fault, times: times}
}

func (f *faultTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if strings.HasSuffix(r.Header.Get("X-Amz-Target"), ".TransactWriteItems") {
		f.mu.Lock()
		armed := f.times != 0
		if armed {
			f.hits++
			f.times--
		}
		f.mu.Unlock()
		if armed {
			return f.fault(f.base, r)
		}
	}
	return f.base.RoundTrip(r)
}

// disarm lets every later request through and says how many were broken.
func (f *faultTransport) disarm() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.times = 0
	return f.hits
}

// withTransport returns a store over a copy of client whose requests go through rt.
func withTransport(t *testing.T, client *dynamodb.Client, names dynamo.Tables, rt http.RoundTripper) *dynamo.Store {
	t.Helper()
	c := dynamodb.New(client.Options(), func(o *dynamodb.Options) { o.HTTPClient = &http.Client{Transport: rt} })
	store, err := dynamo.New(c, names, dynamo.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return store
}

// The faults, named for what the network did to the transaction.
var (
	// neverSent: the connection failed before a byte left, as a refused dial does.
	neverSent = func(_ http.RoundTripper, r *http.Request) (*http.Response, error) {
		return nil, &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}
	}
	// answerLost: DynamoDB received and committed the transaction, and the connection broke
	// before its answer arrived: the caller cannot know it succeeded.
	answerLost = func(base http.RoundTripper, r *http.Request) (*http.Response, error) {
		res, err := base.RoundTrip(r)
		if err == nil {
			_, _ = io.Copy(io.Discard, res.Body)
			res.Body.Close()
		}
		return nil, &net.OpError{Op: "read", Net: "tcp", Err: syscall.ECONNRESET}
	}
	// hangs: no answer ever comes; only the caller's deadline ends the wait.
	hangs = func(_ http.RoundTripper, r *http.Request) (*http.Response, error) {
		<-r.Context().Done()
		return nil, r.Context().Err()
	}
)

func TestInterruptedTransactionWritesAllOrNothing(t *testing.T) {
	tests := []struct {
		name  string
		times int // how many TransactWriteItems requests break; -1 every one
		fault func(http.RoundTripper, *http.Request) (*http.Response, error)
		// status is the first delivery's answer; written is how many pushes the tables
		// hold after it (the transaction's all, or its nothing).
		status  int
		written int
	}{
		// The SDK retries the refused connection, up to its attempts, then the handler
		// gives up with a 503 and WeChat retries.
		{"connection refused on every attempt", -1, neverSent, http.StatusServiceUnavailable, 0},
		// The SDK retries the reset with the same ClientRequestToken, which DynamoDB
		// answers as the first attempt's success; were it a new request, the claim's
		// condition would fail and Record would still return the first attempt's claim.
		{"answer lost after the commit, once", 1, answerLost, http.StatusOK, 1},
		// Every attempt committed or was refused for the claim, none was answered: the
		// handler cannot know, answers 503, and WeChat's retry finds the claim.
		{"answer lost after the commit, every attempt", -1, answerLost, http.StatusServiceUnavailable, 1},
		{"no answer until the deadline", -1, hangs, http.StatusServiceUnavailable, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, client, names, _ := tables(t, nil)
			ft := newFaultTransport(tt.times, tt.fault)
			store := withTransport(t, client, names, ft)
			seedCode(t, store, "Answer: a map")
			h := faultHandler(t, store, faultDeadline)
			push := signer.SubscribeXML(openID, "riddle-1", faultNow.Unix(), "T")

			w, took := deliver(t, h, push)
			hits := ft.disarm()
			if w.Code != tt.status {
				t.Fatalf("first delivery: %d %q, want %d", w.Code, w.Body, tt.status)
			}
			if hits == 0 {
				t.Fatal("the fault never fired: the push did not reach TransactWriteItems")
			}
			if took > faultDeadline+time.Second {
				t.Errorf("first delivery took %v, over its %v deadline", took, faultDeadline)
			}
			wantCensus(t, client, names, tt.written)

			// WeChat's retry of the same push, with DynamoDB healthy again.
			w, _ = deliver(t, h, push)
			wantReply(t, w, "Answer: a map")
			wantCensus(t, client, names, 1)
		})
	}
}

func TestDynamoDBDownThenRestartedCountsThePushOnce(t *testing.T) {
	db := startPersistent(t)
	store, client, names, _ := tables(t, db.srv)
	seedCode(t, store, "Answer: a map")
	h := faultHandler(t, store, faultDeadline)
	push := signer.SubscribeXML(openID, "riddle-1", faultNow.Unix(), "T")
	// A push answered before the outage, so the warm client holds pooled connections that
	// die with the server.
	wantReply(t, first(deliver(t, h, signer.ScanXML("earlier-user", "riddle-1", faultNow.Unix(), "T"))), "Answer: a map")
	wantCensus(t, client, names, 1)
	time.Sleep(200 * time.Millisecond) // let DynamoDB Local's data files catch up (see lostAck)

	db.kill(t)
	w, took := deliver(t, h, push)
	if w.Code != http.StatusServiceUnavailable {
		t.Fatalf("with DynamoDB down: %d %q, want 503 so that WeChat retries", w.Code, w.Body)
	}
	if took > faultDeadline+time.Second {
		t.Errorf("with DynamoDB down the answer took %v, over the %v deadline", took, faultDeadline)
	}

	if !db.restart(t) {
		client = db.client(t)
		var err error
		if store, err = dynamo.New(client, names, dynamo.Options{}); err != nil {
			t.Fatal(err)
		}
		h = faultHandler(t, store, faultDeadline)
	} else {
		client = db.client(t)
	}
	// The data files kept the earlier push through the crash, whole.
	earlier := wholeCensus(t, client, names)
	if earlier == 0 {
		t.Log("the earlier push: " + lostAck)
	}

	// WeChat's retries: the first counts, the second is a duplicate with the same reply (which
	// also shows that the mapping survived the crash).
	for range 2 {
		wantReply(t, first(deliver(t, h, push)), "Answer: a map")
		wantCensus(t, client, names, earlier+1)
	}
}

func first[A, B any](a A, _ B) A { return a }

// TestDynamoDBKilledMidTransaction kills DynamoDB Local while the push's transaction is on the
// wire, at a few points in its life, restarts it over its data files, and checks that the
// transaction left all of its writes or none: never a claim without its count, which would make
// WeChat's retry answer "duplicate" and the scan go uncounted for ever.
func TestDynamoDBKilledMidTransaction(t *testing.T) {
	db := startPersistent(t)
	// When the kill lands after the request left. A freshly started DynamoDB Local (each kill
	// is followed by a start) took 40 to 160 ms to commit a first transaction on these
	// machines, so: at once (before the commit), two points in that window (either way, and
	// the window moves with the machine's load), and late (after the answer: a committed
	// transaction must survive the crash whole). The test logs which way each went.
	delays := []time.Duration{0, 60 * time.Millisecond, 120 * time.Millisecond, 500 * time.Millisecond}
	for _, delay := range delays {
		// Tables of its own for each kill, so that one kill's count cannot hide another's.
		seed, client, names, _ := tables(t, db.srv)
		seedCode(t, seed, "Answer: a map")
		push := signer.SubscribeXML(openID, "riddle-1", faultNow.Unix(), "T")
		killed := make(chan struct{})
		ft := newFaultTransport(1, func(base http.RoundTripper, r *http.Request) (*http.Response, error) {
			go func() { // one kill; the SDK's retries find the server gone
				defer close(killed)
				time.Sleep(delay)
				db.kill(t)
			}()
			return base.RoundTrip(r)
		})
		h := faultHandler(t, withTransport(t, client, names, ft), faultDeadline)

		w, took := deliver(t, h, push)
		if w.Code != http.StatusOK && w.Code != http.StatusServiceUnavailable {
			t.Errorf("kill after %v: the delivery got %d %q, want 200 or 503", delay, w.Code, w.Body)
		}
		if took > faultDeadline+time.Second {
			t.Errorf("kill after %v: the answer took %v, over the %v deadline", delay, took, faultDeadline)
		}
		select {
		case <-killed:
		case <-time.After(10 * time.Second):
			t.Fatal("the push never reached TransactWriteItems, so nothing killed the server")
		}
		db.restart(t)
		client = db.client(t)

		committed := wholeCensus(t, client, names)
		if committed > 1 {
			t.Fatalf("kill after %v: %d pushes counted for one", delay, committed)
		}
		t.Logf("kill after %v: answered %d, transaction in the data files: %v", delay, w.Code, committed == 1)
		if w.Code == http.StatusOK && committed == 0 {
			t.Logf("kill after %v: %s", delay, lostAck)
		}

		// WeChat retries against the restarted server: counted once, whichever way it went.
		store, err := dynamo.New(client, names, dynamo.Options{})
		if err != nil {
			t.Fatal(err)
		}
		wantReply(t, first(deliver(t, faultHandler(t, store, faultDeadline), push)), "Answer: a map")
		wantCensus(t, client, names, 1)
	}
}

// hungListener accepts connections on loopback and never answers on them, as a DynamoDB
// endpoint behind a black-holed network path does.
func hungListener(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var conns []net.Conn
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			go func() { _, _ = io.Copy(io.Discard, c) }() // read the request, say nothing
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
	return "http://" + ln.Addr().String()
}

func TestHungDynamoDBAnswers503WithinTheDeadline(t *testing.T) {
	const deadline = 300 * time.Millisecond
	tests := []struct {
		name  string
		store func(t *testing.T) (callback.Store, func() int)
	}{
		{"every request hangs", func(t *testing.T) (callback.Store, func() int) {
			c := dynamodb.New(dynamodb.Options{
				Region:       dynamolocal.Region,
				Credentials:  credentials.NewStaticCredentialsProvider("local", "local", ""),
				BaseEndpoint: aws.String(hungListener(t)),
			})
			store, err := dynamo.New(c, dynamo.Tables{Scenes: "scenes", Events: "events"}, dynamo.Options{})
			if err != nil {
				t.Fatal(err)
			}
			return store, func() int { return 0 }
		}},
		{"only the transaction hangs", func(t *testing.T) (callback.Store, func() int) {
			seed, client, names, _ := tables(t, nil)
			seedCode(t, seed, "A")
			ft := newFaultTransport(-1, hangs)
			return withTransport(t, client, names, ft), func() int { return itemCount(t, client, names) }
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			store, items := tt.store(t)
			before := items()
			h := faultHandler(t, store, deadline)
			w, took := deliver(t, h, signer.SubscribeXML(openID, "riddle-1", faultNow.Unix(), "T"))
			if w.Code != http.StatusServiceUnavailable {
				t.Errorf("got %d %q, want 503 so that WeChat retries", w.Code, w.Body)
			}
			// WeChat waits 5 s: the answer must come at the deadline, not when the
			// SDK's own timeouts (none by default) would end it.
			if took < deadline || took > deadline+500*time.Millisecond {
				t.Errorf("answered after %v, want just after the %v deadline", took, deadline)
			}
			if after := items(); after != before {
				t.Errorf("a push that timed out wrote %d items", after-before)
			}
		})
	}
}
