package actions_test

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"testing"
	"time"

	"wechatqr/shared/actions"
	"wechatqr/shared/qr"
	"wechatqr/shared/wechat/wechattest"
)

var (
	hello  = qr.Reply{Type: qr.ReplyText, Content: "Thanks for scanning the Beijing poster"}
	coupon = qr.Reply{Type: qr.ReplyNews, Articles: []qr.Article{{Title: "Your coupon", URL: "https://example.com/c?a=1&b=2", PicURL: "https://example.com/c.png"}}}
)

func openID(i int) string { return fmt.Sprintf("oPoster-%02d", i) }

func TestSixtyFollowersTaggedFollowedUpAndPublishedOnce(t *testing.T) {
	f := newFixture(t)
	f.putCode(t, "poster-bj", "北京海报", hello, coupon)
	// Half follow already (SCAN), half follow through the code (subscribe).
	for i := range 30 {
		f.platform.Follow(openID(i))
	}
	for i := range 60 {
		f.scan(t, openID(i), "poster-bj", 2) // each push delivered twice
	}
	recs := f.records(t)
	if len(recs) != 60 {
		t.Fatalf("%d scan records, want 60 (one per push, however often delivered)", len(recs))
	}
	a := f.actions(t, actions.Config{})
	f.trips.reset()
	if failed := a.Handle(context.Background(), recs); len(failed) != 0 {
		t.Fatalf("records failed: %v", failed)
	}
	trips := f.trips.reset()
	calls := f.wechatCalls()

	// The whole stream again, as Lambda redelivers it after a crash, in other batches.
	again := f.records(t)
	for start := 0; start < len(again); start += 25 {
		if failed := a.Handle(context.Background(), again[start:min(start+25, len(again))]); len(failed) != 0 {
			t.Fatalf("redelivery: records failed: %v", failed)
		}
	}
	// And to a cold instance, which knows no tag id.
	if failed := f.actions(t, actions.Config{}).Handle(context.Background(), again); len(failed) != 0 {
		t.Fatalf("cold redelivery: records failed: %v", failed)
	}
	if after := f.wechatCalls(); fmt.Sprint(after) != fmt.Sprint(calls) {
		t.Errorf("redeliveries called WeChat: %v, then %v", calls, after)
	}

	tags := f.platform.Tags()
	var tagID int64 = -1
	for _, tg := range tags {
		if tg.Name == "北京海报" {
			tagID = tg.ID
		}
	}
	if tagID < 0 {
		t.Fatalf("no tag 北京海报 on WeChat: %+v", tags)
	}
	if members := f.platform.TagMembers(tagID); len(members) != 60 {
		t.Errorf("%d followers hold the tag, want 60", len(members))
	}
	for _, c := range f.platform.CallLog(wechattest.PathBatchTagging) {
		var body struct {
			OpenIDList []string `json:"openid_list"`
		}
		if err := json.Unmarshal(c.Body, &body); err != nil || len(body.OpenIDList) > 50 || len(body.OpenIDList) == 0 {
			t.Errorf("a batchtagging call carried %d openids (%v), want 1 to 50", len(body.OpenIDList), err)
		}
	}
	for i := range 60 {
		got := f.platform.Messages(openID(i))
		var shown []string
		for _, m := range got {
			shown = append(shown, m.String())
		}
		want := []string{`text "Thanks for scanning the Beijing poster"`, `news "Your coupon" (https://example.com/c?a=1&b=2)`}
		if !slices.Equal(shown, want) {
			t.Errorf("%s received %q, want %q", openID(i), shown, want)
		}
	}
	events := f.published(t)
	byID := map[string]int{}
	for _, e := range events {
		byID[e.Detail.ID]++
		d := e.Detail
		if e.Source != "wechatqr" || e.DetailType != "Scan" || d.Scene != "poster-bj" || d.At.IsZero() || (d.Event == qr.EventSubscribe) != d.NewFollower {
			t.Errorf("event %+v", e)
		}
	}
	if len(events) != 60 || len(byID) != 60 {
		t.Errorf("%d events with %d distinct ids, want 60 and 60", len(events), len(byID))
	}
	for _, r := range recs {
		if byID[r.PushID] != 1 {
			t.Errorf("push %s of %s published %d times, want 1", r.PushID, r.OpenID, byID[r.PushID])
		}
	}
	if c := f.counts(t, "poster-bj"); c != (qr.ActionCounts{Tagged: 60, FollowupsSent: 120}) {
		t.Errorf("counts = %+v, want 60 tagged and 120 follow-ups sent", c)
	}
	total := 0
	for _, n := range calls {
		total += n
	}
	t.Logf("first delivery of 60 scans: WeChat calls %v = %.0f per 100 scans; DynamoDB round trips %d = %.2f per record",
		calls, float64(total)*100/60, trips, float64(trips)/60)
}

func TestUnsubscribeIsPublishedAndPlainFollowsActOnNothing(t *testing.T) {
	f := newFixture(t)
	f.putCode(t, "poster-bj", "北京海报", hello)
	f.scan(t, "oLeaver", "poster-bj", 1)
	if _, err := f.platform.Unsubscribe(context.Background(), f.callback, "oLeaver", wechattest.Plaintext); err != nil {
		t.Fatal(err)
	}
	// A follow through no code (a search): the callback records it with no scene.
	if _, err := f.platform.Send(context.Background(), f.callback, f.platform.Signer().SubscribeXML("oSearcher", "", f.clock.Now().Unix(), ""), wechattest.Plaintext); err != nil {
		t.Fatal(err)
	}
	recs := f.records(t)
	if len(recs) != 3 {
		t.Fatalf("%d records, want 3", len(recs))
	}
	if failed := f.actions(t, actions.Config{}).Handle(context.Background(), recs); len(failed) != 0 {
		t.Fatalf("failed: %v", failed)
	}
	types := map[string]string{}
	for _, e := range f.published(t) {
		types[e.Detail.OpenID+" "+e.Detail.Event] = e.DetailType
	}
	want := map[string]string{"oLeaver subscribe": "Scan", "oLeaver unsubscribe": "Unsubscribe"}
	if fmt.Sprint(types) != fmt.Sprint(want) {
		t.Errorf("published %v, want %v (nothing for the plain follow)", types, want)
	}
	if n := len(f.platform.Messages("oSearcher")); n != 0 {
		t.Errorf("the plain follower got %d messages", n)
	}
}

func TestLateRecordSkipsItsFollowups(t *testing.T) {
	f := newFixture(t)
	f.putCode(t, "poster-bj", "", hello, coupon)
	f.scan(t, "oLate", "poster-bj", 1)
	recs := f.records(t)
	f.clock.Advance(56 * time.Second) // past the minute, less the margin
	if failed := f.actions(t, actions.Config{}).Handle(context.Background(), recs); len(failed) != 0 {
		t.Fatalf("failed: %v", failed)
	}
	if n := f.platform.Calls(wechattest.PathCustomSend); n != 0 {
		t.Errorf("%d custom/send calls for a late record, want 0", n)
	}
	if c := f.counts(t, "poster-bj"); c != (qr.ActionCounts{FollowupsSkipped: 2}) {
		t.Errorf("counts = %+v, want 2 skipped", c)
	}
	if len(f.published(t)) != 1 {
		t.Errorf("a late record's event must still be published")
	}
}

func TestDynamoDBRoundTripsPerRecord(t *testing.T) {
	f := newFixture(t)
	f.putCode(t, "poster-bj", "北京海报", hello, coupon)
	f.putCode(t, "plain", "")
	a := f.actions(t, actions.Config{})
	warm := func(scene, openid string) []qr.ScanRecord {
		f.scan(t, openid, scene, 1)
		var out []qr.ScanRecord
		for _, r := range f.records(t) {
			if r.OpenID == openid {
				out = append(out, r)
			}
		}
		return out
	}
	// Warm the instance: the tag id is read (and here created) once per process.
	a.Handle(context.Background(), warm("poster-bj", "oWarm"))

	tests := []struct {
		name, scene  string
		first, again int64
	}{
		// Load (one BatchGetItem), the tag marker, two follow-up claims (each a
		// transaction with its counter), the published marker.
		{"tag and two follow-ups", "poster-bj", 5, 1},
		// Load and the published marker.
		{"no actions", "plain", 2, 1},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			recs := warm(tt.scene, fmt.Sprintf("oTrips-%d", i))
			f.trips.reset()
			if failed := a.Handle(context.Background(), recs); len(failed) != 0 {
				t.Fatal(failed)
			}
			if n := f.trips.reset(); n != tt.first {
				t.Errorf("first delivery: %d round trips, want %d", n, tt.first)
			}
			a.Handle(context.Background(), recs)
			if n := f.trips.reset(); n != tt.again {
				t.Errorf("redelivery: %d round trips, want %d (the Load that finds everything done)", n, tt.again)
			}
		})
	}
}

func TestAPushTwiceInOneBatchActsOnce(t *testing.T) {
	f := newFixture(t)
	f.putCode(t, "poster-bj", "北京海报", hello)
	f.scan(t, "oTwice", "poster-bj", 1)
	recs := f.records(t)
	dup := recs[0]
	dup.ID = "later-copy"
	if failed := f.actions(t, actions.Config{}).Handle(context.Background(), append(recs, dup)); len(failed) != 0 {
		t.Fatalf("failed %v", failed)
	}
	if n := len(f.platform.Messages("oTwice")); n != 1 {
		t.Errorf("%d messages, want 1", n)
	}
	if n := len(f.published(t)); n != 1 {
		t.Errorf("%d events, want 1", n)
	}
}
