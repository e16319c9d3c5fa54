package main

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"wechatqr/shared/dynamo"
	"wechatqr/shared/qr"
)

// streamRecord is a stream record as Lambda hands it over for a scan record
// the callback wrote (shared/dynamo: pk=user#<openid>, sk=push#event:<at>|<event>|<event key>,
// the event key qrscene_<scene> for a subscribe through a code).
func streamRecord(seq, openid, event, scene string, at int64) string {
	eventKey := scene
	if event == "subscribe" && scene != "" {
		eventKey = "qrscene_" + scene
	}
	sk := "push#event:" + itoa(at) + "|" + event + "|" + eventKey
	img := `{"pk":{"S":"user#` + openid + `"},"sk":{"S":"` + sk + `"},"openid":{"S":"` + openid + `"},"event":{"S":"` + event + `"},"at":{"N":"` + itoa(at) + `"}`
	if scene != "" {
		img += `,"scene":{"S":"` + scene + `"}`
	}
	img += `}`
	return `{"eventID":"e-` + seq + `","eventName":"INSERT","eventVersion":"1.1","eventSource":"aws:dynamodb","awsRegion":"us-east-1",` +
		`"dynamodb":{"ApproximateCreationDateTime":1732500000,"Keys":{"pk":{"S":"user#` + openid + `"},"sk":{"S":"` + sk + `"}},"NewImage":` + img +
		`,"SequenceNumber":"` + seq + `","SizeBytes":180,"StreamViewType":"NEW_IMAGE"},` +
		`"eventSourceARN":"arn:aws:dynamodb:us-east-1:123456789012:table/events/stream/2024-11-25T00:00:00.000"}`
}

func itoa(n int64) string { b, _ := json.Marshal(n); return string(b) }

func record(t *testing.T, raw string) events.DynamoDBEventRecord {
	t.Helper()
	var r events.DynamoDBEventRecord
	if err := json.Unmarshal([]byte(raw), &r); err != nil {
		t.Fatal(err)
	}
	return r
}

func TestDecodeReadsWhatTheCallbackWrote(t *testing.T) {
	got, err := decode(record(t, streamRecord("100", "oUser-1", "subscribe", "poster-bj", 1732500000)))
	// The PushID is the id of the events published for the push: it never changes.
	want := qr.ScanRecord{ID: "100", PushID: "64da5f7ea3023bf13122f7223fea14a8", Scene: "poster-bj", OpenID: "oUser-1", Event: "subscribe", At: time.Unix(1732500000, 0).UTC()}
	if err != nil || got != want {
		t.Fatalf("decode = %+v, %v; want %+v", got, err, want)
	}
	got, err = decode(record(t, streamRecord("101", "oUser-1", "unsubscribe", "", 1732500060)))
	if err != nil || got.Scene != "" || got.Event != "unsubscribe" {
		t.Fatalf("unsubscribe: %+v, %v", got, err)
	}
}

func TestDecodeRefusesRecordsThatDisagreeWithTheirKey(t *testing.T) {
	good := streamRecord("7", "oUser-1", "SCAN", "poster-bj", 1732500000)
	tests := []struct {
		name, from, to string
		notScan        bool
	}{
		{"a claim", `"sk":{"S":"push#event:1732500000|SCAN|poster-bj"}},"NewImage"`, `"sk":{"S":"claim"}},"NewImage"`, true},
		{"a message's claim", `"sk":{"S":"push#event:1732500000|SCAN|poster-bj"}},"NewImage"`, `"sk":{"S":"push#msg:1234567890123456"}},"NewImage"`, true},
		{"a log-in's claim (no event)", `"event":{"S":"SCAN"},`, `"login":{"S":"ABC"},`, true},
		{"a modification", `"eventName":"INSERT"`, `"eventName":"MODIFY"`, true},
		{"a deletion", `"eventName":"INSERT"`, `"eventName":"REMOVE"`, true},
		{"a follow-up claim", `"sk":{"S":"push#event:1732500000|SCAN|poster-bj"}},"NewImage"`, `"sk":{"S":"followup#event:1732500000|SCAN|poster-bj#0"}},"NewImage"`, true},
		{"sk a number", `"sk":{"S":"push#event:1732500000|SCAN|poster-bj"}},"NewImage"`, `"sk":{"N":"1"}},"NewImage"`, true},
		{"another user's key", `"pk":{"S":"user#oUser-1"},"sk":{"S":"push#event:1732500000|SCAN|poster-bj"}},"NewImage"`, `"pk":{"S":"user#oUser-2"},"sk":{"S":"push#event:1732500000|SCAN|poster-bj"}},"NewImage"`, false},
		{"another scene", `"scene":{"S":"poster-bj"}`, `"scene":{"S":"poster-sh"}`, false},
		{"another time", `"at":{"N":"1732500000"}`, `"at":{"N":"1732500001"}`, false},
		{"time a string", `"at":{"N":"1732500000"}`, `"at":{"S":"1732500000"}`, false},
		{"openid a number", `"openid":{"S":"oUser-1"}`, `"openid":{"N":"1"}`, false},
		{"an event no record holds", `"event":{"S":"SCAN"}`, `"event":{"S":"CLICK"}`, false},
		{"no new image", `"NewImage":{"pk"`, `"OldImage":{"pk"`, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			raw := strings.Replace(good, tt.from, tt.to, 1)
			if raw == good {
				t.Fatalf("the case changes nothing")
			}
			_, err := decode(record(t, raw))
			if err == nil || errors.Is(err, dynamo.ErrNotScanRecord) != tt.notScan {
				t.Errorf("decode: %v, want notScan=%v", err, tt.notScan)
			}
		})
	}
}

// fakeActions records the batch and fails the records named.
type fakeActions struct {
	got  []qr.ScanRecord
	fail []string
}

func (f *fakeActions) Handle(_ context.Context, recs []qr.ScanRecord) []string {
	f.got = recs
	return f.fail
}

func TestHandlerReportsFailedAndUndecodableRecordsBySequenceNumber(t *testing.T) {
	raw := `{"Records":[` + streamRecord("1", "oA", "SCAN", "s", 1732500000) + `,` +
		strings.Replace(streamRecord("2", "oB", "SCAN", "s", 1732500000), `"at":{"N"`, `"at":{"S"`, 1) + `,` +
		strings.Replace(streamRecord("3", "oC", "SCAN", "s", 1732500000), `"eventName":"INSERT"`, `"eventName":"REMOVE"`, 1) + `,` +
		streamRecord("4", "oD", "subscribe", "s", 1732500000) + `]}`
	var ev events.DynamoDBEvent
	if err := json.Unmarshal([]byte(raw), &ev); err != nil {
		t.Fatal(err)
	}
	fa := &fakeActions{fail: []string{"4"}}
	h := &Handler{actions: func(context.Context, string) (Actions, error) { return fa, nil }, log: slog.New(slog.DiscardHandler)}
	resp, err := h.Handle(context.Background(), ev)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, f := range resp.BatchItemFailures {
		ids = append(ids, f.ItemIdentifier)
	}
	if !slices.Equal(ids, []string{"2", "4"}) {
		t.Errorf("failures %v, want [2 4]: the undecodable one and the one the actions failed", ids)
	}
	if len(fa.got) != 2 || fa.got[0].OpenID != "oA" || fa.got[1].OpenID != "oD" {
		t.Errorf("the actions got %+v, want oA and oD (the REMOVE is ignored)", fa.got)
	}
	// No sequence number: nothing to report it by, so the batch fails and Lambda bisects.
	ev.Records[0].Change.SequenceNumber = ""
	if _, err := h.Handle(context.Background(), ev); err == nil {
		t.Error("a record without a sequence number must fail the batch")
	}
}

// TestTheSampleEventDecodes: events/scan-actions.json, what `make invoke
// FN=scanactions` sends, is a batch of scan records the decoder accepts.
func TestTheSampleEventDecodes(t *testing.T) {
	raw, err := os.ReadFile("../../events/scan-actions.json")
	if err != nil {
		t.Fatal(err)
	}
	var ev events.DynamoDBEvent
	if err := json.Unmarshal(raw, &ev); err != nil {
		t.Fatal(err)
	}
	if len(ev.Records) == 0 {
		t.Fatal("no records")
	}
	for _, rec := range ev.Records {
		if r, err := decode(rec); err != nil || r.ID != rec.Change.SequenceNumber {
			t.Errorf("record %s: %+v, %v", rec.EventID, r, err)
		}
	}
}
