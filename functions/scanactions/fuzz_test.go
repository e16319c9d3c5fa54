package main

import (
	"encoding/json"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"wechatqr/shared/actions"
)

// FuzzDecodeRecord feeds arbitrary JSON to the stream record decoding, as
// Lambda's runtime unmarshals it. Properties: no panic (aws-lambda-go's
// attribute accessors panic on the wrong type, so decode checks types first);
// a record decode accepts is one the callback could have written: its key is
// the one its attributes make, and its ID its sequence number.
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
		pk := rec.Change.Keys["pk"].String()
		if pk != "user#"+got.OpenID || got.SK != actions.RecordKey(got.At.Unix(), got.Event, got.Scene) || got.ID != rec.Change.SequenceNumber || got.At.Unix() <= 0 {
			t.Fatalf("accepted %q as %+v", raw, got)
		}
	})
}
