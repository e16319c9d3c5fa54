package callback_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"wechatqr/local/dynamolocal/dynamotest"
	"wechatqr/shared/callback"
	"wechatqr/shared/dynamo"
	"wechatqr/shared/qr"
	"wechatqr/shared/wechat/wechattest"
)

// BenchmarkPushDynamoDBClient is BenchmarkPushHTTP's first delivery in
// plaintext with the DynamoDB store instead of the in-memory one, and the
// network taken out: the answers of DynamoDB Local to one first delivery
// (BatchGetItem, TransactWriteItems) are recorded, then replayed to every
// iteration's requests. What it adds to BenchmarkPushHTTP/plaintext/first is
// the store's marshalling and the SDK client's work per push: building,
// serialising and signing two requests and deserialising two answers: what the
// SDK's DynamoDB client (go.mod's) costs a warm push, and how one release of it
// compares with another (docs/performance.md).
func BenchmarkPushDynamoDBClient(b *testing.B) {
	pushes := benchPushes(b, wechattest.Plaintext, benchPool)
	client, tn := dynamotest.Tables(b, nil)
	tp := &tape{real: http.DefaultTransport, record: true}
	taped := dynamodb.New(client.Options(), func(o *dynamodb.Options) { o.HTTPClient = &http.Client{Transport: tp} })
	store, err := dynamo.New(taped, dynamo.Tables{Scenes: tn["ScenesTable"], Events: tn["EventsTable"]}, dynamo.Options{Now: func() time.Time { return benchNow }})
	if err != nil {
		b.Fatal(err)
	}
	if err := store.PutCode(context.Background(), &qr.Code{
		Scene: benchScene, ActionName: "QR_LIMIT_STR_SCENE", Permanent: true,
		Reply: qr.TextReply(benchAnswer), CreatedAt: benchNow,
	}); err != nil {
		b.Fatal(err)
	}
	h, err := callback.New(callback.Config{
		AppID: benchAppID, Token: benchToken,
		Tolerance: callback.DefaultTolerance,
		Now:       func() time.Time { return benchNow },
	}, store, nil)
	if err != nil {
		b.Fatal(err)
	}
	serve := func(p benchPush) {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, newReplayable(p).next())
		checkBenchReply(b, wechattest.Plaintext, w.Code, w.Body.Bytes())
	}

	tp.answers = nil // the PutCode
	serve(pushes[0])
	if got := tp.targets(); got != "DynamoDB_20120810.BatchGetItem DynamoDB_20120810.TransactWriteItems" {
		b.Fatalf("a first delivery sent %s", got)
	}
	tp.record = false
	ins := make([]*replayable, len(pushes))
	for i, p := range pushes {
		ins[i] = newReplayable(p)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, ins[i%len(ins)].next())
		if w.Code != http.StatusOK {
			b.Fatalf("push %d: %d %s", i, w.Code, w.Body)
		}
	}
}

// tape records a client's exchanges with the server, then answers each
// request with the recorded answer to the request of its place in the cycle.
type tape struct {
	real    http.RoundTripper
	record  bool
	answers []answer
	next    int
}

type answer struct {
	target string
	status int
	header http.Header
	body   []byte
}

func (tp *tape) RoundTrip(r *http.Request) (*http.Response, error) {
	target := r.Header.Get("X-Amz-Target")
	if tp.record {
		resp, err := tp.real.RoundTrip(r)
		if err != nil {
			return nil, err
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			return nil, err
		}
		tp.answers = append(tp.answers, answer{target, resp.StatusCode, resp.Header.Clone(), body})
		resp.Body = io.NopCloser(bytes.NewReader(body))
		return resp, nil
	}
	if r.Body != nil {
		_, _ = io.Copy(io.Discard, r.Body)
		r.Body.Close()
	}
	a := tp.answers[tp.next%len(tp.answers)]
	tp.next++
	if a.target != target {
		return nil, fmt.Errorf("tape: %s where the recording has %s", target, a.target)
	}
	return &http.Response{
		StatusCode: a.status, Header: a.header.Clone(), Request: r,
		Body: io.NopCloser(bytes.NewReader(a.body)), ContentLength: int64(len(a.body)),
	}, nil
}

func (tp *tape) targets() string {
	var s []byte
	for i, a := range tp.answers {
		if i > 0 {
			s = append(s, ' ')
		}
		s = append(s, a.target...)
	}
	return string(s)
}
