package actions_test

import (
	"context"
	"log/slog"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	dtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"wechatqr/shared/actions"
	"wechatqr/shared/dynamo"
	"wechatqr/shared/qr"
)

// partition is how many items the follower's partition of the events table holds.
func (f *fixture) partition(t *testing.T, openid string) int {
	t.Helper()
	out, err := f.client.Query(context.Background(), &dynamodb.QueryInput{
		TableName:                 &f.tables.Events,
		KeyConditionExpression:    aws.String("pk = :pk"),
		ExpressionAttributeValues: map[string]dtypes.AttributeValue{":pk": &dtypes.AttributeValueMemberS{Value: "user#" + openid}},
		ConsistentRead:            aws.Bool(true),
	})
	if err != nil {
		t.Fatal(err)
	}
	return len(out.Items)
}

// tagged reports whether openid holds the WeChat tag named name.
func (f *fixture) tagged(openid, name string) bool {
	for _, tg := range f.platform.Tags() {
		if tg.Name == name {
			return slices.Contains(f.platform.TagMembers(tg.ID), openid)
		}
	}
	return false
}

// eventsOf counts the published events naming openid.
func eventsOf(events []busEvent, openid string) int {
	n := 0
	for _, e := range events {
		if e.Detail.OpenID == openid {
			n++
		}
	}
	return n
}

func (f *fixture) erase(t *testing.T, openid string) {
	t.Helper()
	if _, err := f.store.EraseUser(context.Background(), openid); err != nil {
		t.Fatal(err)
	}
}

// TestAnErasedFollowersRecordsDoNothing: the records of a follower's pushes still
// on the stream when the follower is erased (DELETE /users/{openid}) tag no one,
// send nothing, publish nothing and write nothing back into the partition the
// erasure emptied, however often they are delivered; the follower's push after
// the erasure (they scanned again) is a new interaction and acts in full.
func TestAnErasedFollowersRecordsDoNothing(t *testing.T) {
	f := newFixture(t)
	f.putCode(t, "poster-bj", "北京海报", hello, coupon)
	f.scan(t, "oGone", "poster-bj", 1)
	f.scan(t, "oStay", "poster-bj", 1)
	old := f.records(t)
	f.erase(t, "oGone")

	a := f.actions(t, actions.Config{})
	for range 2 { // the delivery, and the stream's redelivery
		if failed := a.Handle(context.Background(), old); len(failed) != 0 {
			t.Fatalf("records failed: %v", failed)
		}
	}
	if n := len(f.platform.Messages("oGone")); n != 0 {
		t.Errorf("the erased follower got %d follow-ups", n)
	}
	if f.tagged("oGone", "北京海报") {
		t.Error("the erased follower was tagged")
	}
	events := f.published(t)
	if n := eventsOf(events, "oGone"); n != 0 {
		t.Errorf("%d events of the erased follower", n)
	}
	if n := f.partition(t, "oGone"); n != 0 {
		t.Errorf("the erased follower's partition holds %d items again", n)
	}
	// The other follower of the same batch is served as ever.
	if n := len(f.platform.Messages("oStay")); n != 2 || !f.tagged("oStay", "北京海报") || eventsOf(events, "oStay") != 1 {
		t.Errorf("the other follower: %d messages, tagged %v, %d events; want 2, true, 1", n, f.tagged("oStay", "北京海报"), eventsOf(events, "oStay"))
	}
	if c := f.counts(t, "poster-bj"); c != (qr.ActionCounts{Tagged: 1, FollowupsSent: 2}) {
		t.Errorf("counts = %+v, want the other follower's only", c)
	}

	// They come back: a SCAN pushed after the erasure (the WeChat clock past the
	// erasure's, which is the store's real one).
	f.clock.Set(time.Now().Add(2 * time.Second).Truncate(time.Second))
	f.scan(t, "oGone", "poster-bj", 1)
	var again []qr.ScanRecord
	for _, r := range f.records(t) {
		if r.OpenID == "oGone" {
			again = append(again, r)
		}
	}
	if len(again) != 1 {
		t.Fatalf("%d records of the returning follower, want 1", len(again))
	}
	// Delivered with the old records once more: the old still do nothing.
	if failed := a.Handle(context.Background(), append(old, again...)); len(failed) != 0 {
		t.Fatalf("records failed: %v", failed)
	}
	if n := len(f.platform.Messages("oGone")); n != 2 || !f.tagged("oGone", "北京海报") {
		t.Errorf("the returning follower: %d messages, tagged %v; want 2 and tagged", n, f.tagged("oGone", "北京海报"))
	}
	if events := f.published(t); eventsOf(events, "oGone") != 1 || events[0].Detail.ID != again[0].PushID {
		t.Errorf("events after the return: %+v, want the new push's only", events)
	}
	if c := f.counts(t, "poster-bj"); c != (qr.ActionCounts{Tagged: 2, FollowupsSent: 4}) {
		t.Errorf("counts = %+v, want both followers' new pushes", c)
	}
}

// erasingStore erases a follower right after the actions' Load: the erasure
// lands while the batch is in flight, past the check Load made.
type erasingStore struct {
	*dynamo.Store
	openid string
}

func (s erasingStore) Load(ctx context.Context, scenes []string, recs []qr.ScanRecord) (map[string]*qr.Code, map[string]qr.ActionProgress, error) {
	codes, progress, err := s.Store.Load(ctx, scenes, recs)
	if err != nil {
		return nil, nil, err
	}
	if _, err := s.EraseUser(ctx, s.openid); err != nil {
		return nil, nil, err
	}
	return codes, progress, nil
}

// TestAnErasureLandingMidBatchStopsTheRecord: every write of the actions in the
// follower's partition is conditional on the erased-follower marker, so a record
// whose Load came before the erasure is refused at its first write after it and
// does nothing more; it is not failed (there is nothing to retry), and the other
// records of its batch act as ever.
func TestAnErasureLandingMidBatchStopsTheRecord(t *testing.T) {
	tests := []struct {
		name      string
		followups []qr.Reply
	}{
		// The first follow-up's claim is refused: nothing is sent, tagged or published.
		{"follow-ups and a tag", []qr.Reply{hello, coupon}},
		// The tag marker is refused: the event is not published. The batchtagging
		// call itself started before any write could say so (docs/operations.md).
		{"a tag only", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			f.putCode(t, "poster-bj", "北京海报", tt.followups...)
			f.scan(t, "oGone", "poster-bj", 1)
			f.scan(t, "oStay", "poster-bj", 1)
			recs := f.records(t)
			a, err := actions.New(actions.Config{Now: f.clock.Now}, erasingStore{f.store, "oGone"}, f.wx, f.tokens, f.bus, slog.New(slog.NewTextHandler(testLog{t}, &slog.HandlerOptions{Level: slog.LevelWarn})))
			if err != nil {
				t.Fatal(err)
			}
			if failed := a.Handle(context.Background(), recs); len(failed) != 0 {
				t.Fatalf("records failed: %v", failed)
			}
			events := f.published(t)
			if n := len(f.platform.Messages("oGone")); n != 0 {
				t.Errorf("the erased follower got %d follow-ups", n)
			}
			if len(tt.followups) > 0 && f.tagged("oGone", "北京海报") {
				t.Error("the erased follower was tagged after the refused claim")
			}
			if n := eventsOf(events, "oGone"); n != 0 {
				t.Errorf("%d events of the erased follower", n)
			}
			if n := f.partition(t, "oGone"); n != 0 {
				t.Errorf("the erased follower's partition holds %d items again", n)
			}
			if eventsOf(events, "oStay") != 1 || len(f.platform.Messages("oStay")) != len(tt.followups) || !f.tagged("oStay", "北京海报") {
				t.Errorf("the other follower: %d events, %d messages, tagged %v", eventsOf(events, "oStay"), len(f.platform.Messages("oStay")), f.tagged("oStay", "北京海报"))
			}
			want := qr.ActionCounts{Tagged: 1, FollowupsSent: int64(len(tt.followups))}
			if c := f.counts(t, "poster-bj"); c != want {
				t.Errorf("counts = %+v, want %+v (the other follower's only)", c, want)
			}
			// The other follower's markers were written: a redelivery publishes nothing.
			if failed := f.actions(t, actions.Config{}).Handle(context.Background(), recs); len(failed) != 0 {
				t.Fatalf("redelivery: %v", failed)
			}
			if events := f.published(t); len(events) != 0 {
				t.Errorf("the redelivery published %+v", events)
			}
		})
	}
}
