package main

import (
	"encoding/json"
	"fmt"
	"testing"

	"github.com/aws/aws-lambda-go/events"
)

// FuzzDecodeRecord feeds arbitrary JSON to the stream record decoding (the
// conversion to the SDK's attribute values, then dynamo.DecodeStreamRecord),
// as Lambda's runtime unmarshals it. Properties: no panic (aws-lambda-go's
// attribute accessors panic on the wrong type, so the conversion asks each
// value its type first); a record decode accepts is one the callback could
// have written: its key is the one its attributes make, and its ID its
// sequence number.
//
// The seed corpus is testdata/fuzz/FuzzDecodeRecord.
func FuzzDecodeRecord(f *testing.F) {
	f.Fuzz(func(t *testing.T, raw []byte) {
		var rec events.DynamoDBEventRecord
		if json.Unmarshal(raw, &rec) != nil {
			return
		}
		got, err := decode(rec)
		if err != nil {
			return
		}
		// The stored formats, spelled out: pk=user#<openid>, sk=push#event:<at>|<event>|<event key>.
		eventKey := got.Scene
		if got.Event == "subscribe" && got.Scene != "" {
			eventKey = "qrscene_" + got.Scene
		}
		pk, sk := rec.Change.Keys["pk"].String(), rec.Change.Keys["sk"].String()
		if pk != "user#"+got.OpenID || sk != fmt.Sprintf("push#event:%d|%s|%s", got.At.Unix(), got.Event, eventKey) ||
			got.ID != rec.Change.SequenceNumber || got.At.Unix() <= 0 || len(got.PushID) != 32 {
			t.Fatalf("accepted %q as %+v", raw, got)
		}
	})
}
