package bus_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge/types"

	"wechatqr/shared/actions"
	"wechatqr/shared/bus"
)

// partialAPI answers PutEvents as EventBridge does when it refuses some entries:
// the call succeeds, FailedEntryCount says how many failed, and each failed
// entry has an ErrorCode in its place. It refuses the entries whose id is in
// refuse, and fails whole calls numbered in down.
type partialAPI struct {
	calls  [][]types.PutEventsRequestEntry
	refuse map[string]bool
	down   map[int]bool
}

func (p *partialAPI) PutEvents(_ context.Context, in *eventbridge.PutEventsInput, _ ...func(*eventbridge.Options)) (*eventbridge.PutEventsOutput, error) {
	p.calls = append(p.calls, in.Entries)
	if p.down[len(p.calls)] {
		return nil, errors.New("connection reset")
	}
	out := &eventbridge.PutEventsOutput{}
	for i, e := range in.Entries {
		var d struct{ ID string }
		_ = json.Unmarshal([]byte(aws.ToString(e.Detail)), &d)
		if p.refuse[d.ID] {
			out.FailedEntryCount++
			out.Entries = append(out.Entries, types.PutEventsResultEntry{ErrorCode: aws.String("ThrottlingException"), ErrorMessage: aws.String("slow down")})
			continue
		}
		out.Entries = append(out.Entries, types.PutEventsResultEntry{EventId: aws.String(fmt.Sprint(i))})
	}
	return out, nil
}

func TestPublishChunksByTenAndFailsOnlyRefusedEntries(t *testing.T) {
	api := &partialAPI{refuse: map[string]bool{"e13": true}, down: map[int]bool{3: true}}
	b, err := bus.New(api, "scans")
	if err != nil {
		t.Fatal(err)
	}
	var events []actions.Event
	for i := range 23 {
		events = append(events, actions.Event{DetailType: actions.TypeScan, ID: fmt.Sprintf("e%d", i), AppID: "wx5823bf96d3bd56c7", Scene: "s", OpenID: "o", Event: "SCAN", At: time.Unix(1732500000, 0).UTC()})
	}
	errs := b.Publish(context.Background(), events)
	if len(api.calls) != 3 || len(api.calls[0]) != 10 || len(api.calls[1]) != 10 || len(api.calls[2]) != 3 {
		t.Fatalf("calls of %d entries, want 10, 10, 3", len(api.calls))
	}
	for i, err := range errs {
		want := i == 13 || i >= 20
		if (err != nil) != want {
			t.Errorf("event %d: error %v, want failed=%v", i, err, want)
		}
	}
	e := api.calls[0][0]
	if aws.ToString(e.Source) != "wechatqr" || aws.ToString(e.DetailType) != "Scan" || aws.ToString(e.EventBusName) != "scans" ||
		e.Time == nil || !e.Time.Equal(events[0].At) ||
		aws.ToString(e.Detail) != `{"id":"e0","appid":"wx5823bf96d3bd56c7","scene":"s","openid":"o","event":"SCAN","at":"2024-11-25T02:00:00Z","new_follower":false}` {
		t.Errorf("entry %+v", e)
	}
}
