package dynamo

import (
	"maps"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"wechatqr/shared/qr"
)

// TestACodeIsStoredUnderItsAttributeNames: the domain types carry no storage
// tags, so the code item spells the names out; these are the names stored
// before, which items written by earlier releases are read by.
func TestACodeIsStoredUnderItsAttributeNames(t *testing.T) {
	created := time.Unix(1732500000, 123).UTC()
	c := &qr.Code{
		Scene: "poster-bj", ActionName: "QR_STR_SCENE", Ticket: "T", URL: "http://weixin.qq.com/q/x", ExpireSeconds: 600,
		CreatedAt: created, ExpiresAt: created.Add(10 * time.Minute).Truncate(time.Second),
		Reply: &qr.Reply{Type: qr.ReplyNews, Articles: []qr.Article{{Title: "Coupon", Description: "10% off", PicURL: "https://p", URL: "https://u"}}},
		Tag:   "北京海报", Followups: []qr.Reply{*qr.TextReply("hello"), {Type: qr.ReplyImage, MediaID: "M"}},
	}
	av, err := attributevalue.MarshalMap((&Store{}).newCodeItem(c))
	if err != nil {
		t.Fatal(err)
	}
	names := func(m map[string]types.AttributeValue) []string { return slices.Sorted(maps.Keys(m)) }
	want := []string{"action_name", "created_at", "created_at_ns", "expire_at", "expire_seconds", "expires_at", "followups", "list_pk", "list_sk", "permanent", "pk", "reply", "scene", "sk", "tag", "ticket", "url"}
	if got := names(av); !slices.Equal(got, want) {
		t.Errorf("code attributes %v, want %v", got, want)
	}
	reply := av["reply"].(*types.AttributeValueMemberM).Value
	if got := names(reply); !slices.Equal(got, []string{"articles", "type"}) {
		t.Errorf("news reply attributes %v, want [articles type]", got)
	}
	article := reply["articles"].(*types.AttributeValueMemberL).Value[0].(*types.AttributeValueMemberM).Value
	if got := names(article); !slices.Equal(got, []string{"description", "pic_url", "title", "url"}) {
		t.Errorf("article attributes %v, want [description pic_url title url]", got)
	}
	followups := av["followups"].(*types.AttributeValueMemberL).Value
	if got := names(followups[0].(*types.AttributeValueMemberM).Value); !slices.Equal(got, []string{"content", "type"}) {
		t.Errorf("text follow-up attributes %v, want [content type]", got)
	}
	if got := names(followups[1].(*types.AttributeValueMemberM).Value); !slices.Equal(got, []string{"media_id", "type"}) {
		t.Errorf("image follow-up attributes %v, want [media_id type]", got)
	}

	// And it reads back as it was.
	var it codeItem
	if err := attributevalue.UnmarshalMap(av, &it); err != nil {
		t.Fatal(err)
	}
	got := it.code()
	if got.Reply.Articles[0] != c.Reply.Articles[0] || got.Reply.Type != c.Reply.Type || !reflect.DeepEqual(got.Followups, c.Followups) ||
		!got.CreatedAt.Equal(c.CreatedAt) || !got.ExpiresAt.Equal(c.ExpiresAt) || got.Tag != c.Tag {
		t.Errorf("read back %+v, want %+v", got, c)
	}
}

// TestExpiryCountsFromTheLaterOfThePushAndTheWrite: an item for a push kept for
// ttl expires ttl after the push, or after the write when the push is older (a
// delayed or replayed delivery still has its retries seen).
func TestExpiryCountsFromTheLaterOfThePushAndTheWrite(t *testing.T) {
	now := time.Unix(1732500000, 0)
	st, err := New(nopAPI{}, Tables{Scenes: "s", Events: "e"}, Options{Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name string
		at   time.Time
		want int64
	}{
		{"a push from a minute ago", now.Add(-time.Minute), now.Add(ClaimTTL).Unix()},
		{"a push from now", now, now.Add(ClaimTTL).Unix()},
		{"a push stamped ahead of the clock", now.Add(time.Minute), now.Add(time.Minute + ClaimTTL).Unix()},
	} {
		if got := st.expireAt(tt.at, ClaimTTL); got != tt.want {
			t.Errorf("%s: expires at %d, want %d", tt.name, got, tt.want)
		}
	}
	if st.claimTTL != ClaimTTL || st.retention != DefaultRetention {
		t.Errorf("claims kept %v, records %v; want %v and %v", st.claimTTL, st.retention, ClaimTTL, DefaultRetention)
	}
	short, err := New(nopAPI{}, Tables{Scenes: "s", Events: "e"}, Options{Retention: 24 * time.Hour})
	if err != nil || short.claimTTL != 24*time.Hour {
		t.Errorf("a day's retention keeps claims %v (%v); want no longer than the retention", short.claimTTL, err)
	}
}

// nopAPI is a DynamoDB that is never called: the tests using it call nothing.
type nopAPI struct{ API }
