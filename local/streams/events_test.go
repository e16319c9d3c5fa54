package streams_test

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"wechatqr/local/cfn"
	"wechatqr/local/dynamolocal/dynamotest"
	"wechatqr/local/streams"
	"wechatqr/shared/dynamo"
	"wechatqr/shared/qr"
	"wechatqr/shared/wechat"
)

var update = flag.Bool("update", false, "rewrite events/scan-actions.json")

const eventsFile = "../../events/scan-actions.json"

// recorder is a function that keeps what it is invoked with and accepts everything.
type recorder struct {
	mu       sync.Mutex
	payloads [][]byte
}

func (r *recorder) Invoke(ctx context.Context, payload []byte) ([]byte, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.payloads = append(r.payloads, payload)
	return []byte(`{"batchItemFailures":[]}`), nil
}

// TestEventsFileIsWhatTheMappingBuilds keeps events/scan-actions.json (for `make invoke
// FN=scanactions`) exactly the event the stream mapping builds when the callback's store records
// two scans, a new follower's subscribe and a follower's SCAN, with only the values that change
// from run to run fixed: event ids, sequence numbers, times, the stream's ARN and region.
// `go test ./local/streams -run TestEventsFile -update` rewrites it.
func TestEventsFileIsWhatTheMappingBuilds(t *testing.T) {
	ddb, names := dynamotest.Tables(t, nil, "ScenesTable", "EventsTable")
	// The store's clock stands at the pushes' time, so the records' TTL (and with it
	// the stream's SizeBytes) is the same on every run.
	const signedAt = 1732500000 // the pushes of the callback's events/ files
	clock := func() time.Time { return time.Unix(signedAt, 0) }
	store, err := dynamo.New(ddb, dynamo.Tables{Scenes: names["ScenesTable"], Events: names["EventsTable"]}, dynamo.Options{Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	// The template's own filter, so the sample holds what the deployed mapping delivers.
	tpl, err := cfn.Load("../../template.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var filters []string
	for _, fn := range tpl.Functions() {
		if fn.LogicalID == "ScanActionsFunction" {
			for _, s := range fn.Streams {
				filters = append(filters, s.Filters...)
			}
		}
	}
	if len(filters) == 0 {
		t.Fatal("template.yaml: ScanActionsFunction has no stream filter")
	}
	f := &fixture{t: t, ddb: ddb, table: names["EventsTable"]}
	f.stream = streamARN(t, f)
	fn := &recorder{}
	m, err := streams.Start(context.Background(), streams.Client(dynamotest.Server(t).Endpoint(), "us-east-1"), fn, streams.Config{
		StreamARN: f.stream, Filters: filters, BatchingWindow: time.Second, PollInterval: 50 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(m.Close)

	ctx := context.Background()
	scans := []qr.Scan{
		{Scene: "riddle-1", OpenID: "oKqdL5Vn7Ek3wOq2fG8mZ1xYc9aQ", Event: qr.EventSubscribe, At: time.Unix(signedAt, 0), Unique: true, UniqueToday: true, Register: true},
		{Scene: "riddle-1", OpenID: "oKqdL5Vn7Ek3wOq2fG8mZ1xYc9aR", Event: qr.EventScan, At: time.Unix(signedAt+1, 0), Unique: true, UniqueToday: true},
	}
	for _, sc := range scans {
		msg := wechat.Message{FromUserName: sc.OpenID, CreateTime: sc.At.Unix(), Event: sc.Event, EventKey: sc.Scene}
		if sc.Event == qr.EventSubscribe {
			msg.EventKey = "qrscene_" + sc.Scene
		}
		claim := qr.Claim{Key: msg.DedupeKey(), OpenID: sc.OpenID, At: sc.At}
		if _, _, err := store.Record(ctx, claim, &sc); err != nil {
			t.Fatal(err)
		}
	}
	idle(t, m)
	var got events.DynamoDBEvent
	for _, p := range fn.payloads {
		var e events.DynamoDBEvent
		if err := json.Unmarshal(p, &e); err != nil {
			t.Fatal(err)
		}
		got.Records = append(got.Records, e.Records...)
	}
	if len(got.Records) != 2 {
		t.Fatalf("the mapping delivered %d records, want the 2 scan records", len(got.Records))
	}
	const arn = "arn:aws:dynamodb:us-east-1:123456789012:table/wechat-qr-EventsTable-1XAMPLE/stream/2024-11-25T02:00:00.000"
	for i := range got.Records {
		r := &got.Records[i]
		r.EventID = []string{"c4ca4238a0b923820dcc509a6f75849b", "c81e728d9d4c2f636f067f89cc14862c"}[i]
		r.AWSRegion, r.EventSourceArn = "us-east-1", arn
		r.Change.SequenceNumber = []string{"1405400000000002063282832", "1405500000000002063282833"}[i]
		r.Change.ApproximateCreationDateTime = events.SecondsEpochTime{Time: time.Unix(signedAt+int64(i), 0)}
	}
	var want bytes.Buffer
	enc := json.NewEncoder(&want)
	enc.SetIndent("", "  ")
	if err := enc.Encode(got); err != nil {
		t.Fatal(err)
	}
	if *update {
		if err := os.WriteFile(eventsFile, want.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	file, err := os.ReadFile(eventsFile)
	if err != nil {
		t.Fatalf("%v (run `go test ./local/streams -run TestEventsFile -update`)", err)
	}
	if !bytes.Equal(file, want.Bytes()) {
		t.Errorf("%s differs from what the mapping builds:\n%s\nrun `go test ./local/streams -run TestEventsFile -update`", eventsFile, want.String())
	}
}
