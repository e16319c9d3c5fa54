package dynamo

import (
	"context"
	"errors"
	"testing"
	"time"

	"wechatqr/shared/qr"
)

// TestTheErasedMarkerHoldsOffThePushesBeforeIt: after an erasure, Load reports
// the follower's pushes up to the erasure (same second included) Erased and their
// writes are refused with qr.ErrFollowerErased, writing nothing; the follower's
// pushes after it, and other followers', are served as ever. MarkPublished, which
// writes for many followers at once, writes exactly the allowed markers.
func TestTheErasedMarkerHoldsOffThePushesBeforeIt(t *testing.T) {
	client, names := localTables(t)
	ctx := context.Background()
	// Now, not a fixed date: DynamoDB Local applies TTL, and would delete a
	// marker whose expiry (MarkerTTL on) is long past.
	now := time.Now().Truncate(time.Second).UTC()
	st, err := New(client, Tables{Scenes: names["ScenesTable"], Events: names["EventsTable"]}, Options{Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	rec := func(openid string, at time.Time) qr.ScanRecord {
		r := qr.ScanRecord{Scene: "poster-bj", OpenID: openid, Event: qr.EventScan, At: at}
		r.PushID = pushID(recordKey(openid, at, r.Event, r.Scene))
		return r
	}
	before := rec("oGone", now.Add(-10*time.Second))
	sameSecond := rec("oGone", now)
	after := rec("oGone", now.Add(time.Second))
	other := rec("oStay", now.Add(-10*time.Second))
	all := []qr.ScanRecord{after, before, other, sameSecond} // the newest of oGone first

	if _, err := st.EraseUser(ctx, "oGone"); err != nil {
		t.Fatal(err)
	}
	if err := st.MarkPublished(ctx, all); err != nil {
		t.Fatal(err)
	}
	_, progress, err := st.Load(ctx, []string{"poster-bj"}, all)
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name      string
		r         qr.ScanRecord
		erased    bool
		published bool
	}{
		{"a push before the erasure", before, true, false},
		{"a push in the erasure's second", sameSecond, true, false},
		{"a push after the erasure", after, false, true},
		{"another follower's push", other, false, true},
	} {
		if p := progress[tt.r.PushID]; p.Erased != tt.erased || p.Published != tt.published {
			t.Errorf("%s: erased %v, published %v; want %v, %v", tt.name, p.Erased, p.Published, tt.erased, tt.published)
		}
	}

	for _, tt := range []struct {
		name  string
		write func(qr.ScanRecord) error
	}{
		{"MarkTagged", func(r qr.ScanRecord) error { _, err := st.MarkTagged(ctx, r, true); return err }},
		{"ClaimFollowup", func(r qr.ScanRecord) error { _, err := st.ClaimFollowup(ctx, r, 0); return err }},
		{"SkipFollowup", func(r qr.ScanRecord) error { return st.SkipFollowup(ctx, r, 1) }},
		{"SettleFollowup", func(r qr.ScanRecord) error { return st.SettleFollowup(ctx, r, 0, qr.FollowupRefused) }},
	} {
		if err := tt.write(before); !errors.Is(err, qr.ErrFollowerErased) {
			t.Errorf("%s of an erased push: %v, want qr.ErrFollowerErased", tt.name, err)
		}
		if err := tt.write(after); err != nil {
			t.Errorf("%s of a push after the erasure: %v", tt.name, err)
		}
	}
	_, progress, err = st.Load(ctx, nil, []qr.ScanRecord{before, after})
	if err != nil {
		t.Fatal(err)
	}
	if p := progress[before.PushID]; p.Tagged || p.Published || p.Followups != [qr.MaxFollowups]bool{} {
		t.Errorf("the erased push's markers were written: %+v", p)
	}
	if p := progress[after.PushID]; !p.Tagged || !p.Followups[0] || !p.Followups[1] {
		t.Errorf("the later push's markers are missing: %+v", p)
	}
	c, err := st.ActionCounts(ctx, "poster-bj")
	if err != nil {
		t.Fatal(err)
	}
	if c != (qr.ActionCounts{Tagged: 1, FollowupsSkipped: 1, FollowupsFailed: 1}) {
		t.Errorf("counts %+v: the refused writes counted", c)
	}
}

// TestMarkPublishedFillsTransactions: more records than one transaction holds,
// one follower with more pushes than fit beside its check, all written.
func TestMarkPublishedFillsTransactions(t *testing.T) {
	client, names := localTables(t)
	ctx := context.Background()
	st, err := New(client, Tables{Scenes: names["ScenesTable"], Events: names["EventsTable"]}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	var recs []qr.ScanRecord
	at := time.Unix(1732500000, 0).UTC()
	for i := range 150 {
		openid := "oMany"
		if i%3 == 0 {
			openid = "oSome-" + string(rune('a'+i%26))
		}
		r := qr.ScanRecord{Scene: "s", OpenID: openid, Event: qr.EventScan, At: at.Add(time.Duration(i) * time.Second)}
		r.PushID = pushID(recordKey(openid, r.At, r.Event, r.Scene))
		recs = append(recs, r)
	}
	if err := st.MarkPublished(ctx, recs); err != nil {
		t.Fatal(err)
	}
	for start := 0; start < len(recs); start += 15 {
		_, progress, err := st.Load(ctx, nil, recs[start:min(start+15, len(recs))])
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range recs[start:min(start+15, len(recs))] {
			if !progress[r.PushID].Published {
				t.Errorf("%s's push at %v: not marked published", r.OpenID, r.At)
			}
		}
	}
}
