package callback_test

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"wechatqr/shared/dynamo"
	"wechatqr/shared/qr"
	"wechatqr/shared/wechat/wechattest"
)

// TestAReturningFollowerKeepsTheirMarkerAndCountsOnce: a follower's all-time marker
// that would expire before long (or carries no expiry, from before markers expired)
// is rewritten by their next scan with that scan's retention, and they stay one
// unique user.
func TestAReturningFollowerKeepsTheirMarkerAndCountsOnce(t *testing.T) {
	for _, tt := range []struct {
		name   string
		update string // what happens to the marker between the two scans
		values map[string]types.AttributeValue
		renew  bool
	}{
		{"fresh marker: left alone", "", nil, false},
		{"marker about to expire", "SET expire_at = :soon", map[string]types.AttributeValue{":soon": &types.AttributeValueMemberN{Value: strconv.FormatInt(time.Now().Add(10*24*time.Hour).Unix(), 10)}}, true},
		{"marker from before retention", "REMOVE expire_at", nil, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			f.putCode(t, "riddle-1", qr.TextReply("A"))
			marker := map[string]types.AttributeValue{
				"pk": &types.AttributeValueMemberS{Value: "seen#riddle-1#" + openID},
				"sk": &types.AttributeValueMemberS{Value: "all"},
			}
			if w := f.push(t, signer.ScanXML(openID, "riddle-1", now.Unix(), "T"), wechattest.Plaintext); w.Code != 200 {
				t.Fatal(w.Code, w.Body)
			}
			if tt.update != "" {
				if _, err := f.db.UpdateItem(context.Background(), &dynamodb.UpdateItemInput{
					TableName: aws.String(f.names.Scenes), Key: marker,
					UpdateExpression: aws.String(tt.update), ExpressionAttributeValues: tt.values,
				}); err != nil {
					t.Fatal(err)
				}
			}
			before := expireAt(t, f, marker)
			if w := f.push(t, signer.ScanXML(openID, "riddle-1", now.Unix()+60, "T"), wechattest.Plaintext); w.Code != 200 {
				t.Fatal(w.Code, w.Body)
			}
			after := expireAt(t, f, marker)
			full := time.Now().Add(dynamo.DefaultRetention).Unix()
			switch {
			case tt.renew && (after < full-60 || after > full+60):
				t.Errorf("marker expires at %d after the scan, want about %d (renewed)", after, full)
			case !tt.renew && after != before:
				t.Errorf("a fresh marker was rewritten: %d, then %d", before, after)
			}
			st, err := f.store.SceneStats(context.Background(), "riddle-1", "", "")
			if err != nil {
				t.Fatal(err)
			}
			if st.Totals.Scans != 2 || st.Totals.UniqueUsers != 1 {
				t.Errorf("totals %+v, want 2 scans by 1 unique user", st.Totals)
			}
		})
	}
}

func expireAt(t *testing.T, f *fixture, key map[string]types.AttributeValue) int64 {
	t.Helper()
	out, err := f.db.GetItem(context.Background(), &dynamodb.GetItemInput{TableName: aws.String(f.names.Scenes), Key: key, ConsistentRead: aws.Bool(true)})
	if err != nil || out.Item == nil {
		t.Fatalf("marker: %v %v", out, err)
	}
	n, ok := out.Item["expire_at"].(*types.AttributeValueMemberN)
	if !ok {
		return 0
	}
	v, _ := strconv.ParseInt(n.Value, 10, 64)
	return v
}
