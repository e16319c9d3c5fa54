package dynamo

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodbstreams"
	streamtypes "github.com/aws/aws-sdk-go-v2/service/dynamodbstreams/types"

	"wechatqr/local/cfn"
	"wechatqr/local/dynamolocal/dynamotest"
	"wechatqr/local/repo"
	"wechatqr/local/streams"
	"wechatqr/shared/qr"
)

// TestTheStreamCarriesWhatTheStoreWrote writes through the store what a day of
// pushes and actions writes (a subscribe through a code, a SCAN, a plain
// follow, a leaving, a message, a menu click, a bound log-in, the actions'
// markers, an erasure's marker and deletions), reads the events table's stream
// as Lambda would, and checks each stream record twice: DecodeStreamRecord
// gives back exactly the scan records written, with the push ids of their
// claims, and the template's FilterCriteria for the scan actions keep exactly
// those records and nothing else.
func TestTheStreamCarriesWhatTheStoreWrote(t *testing.T) {
	client, names := localTables(t)
	ctx := context.Background()
	// The real time: items expire by TTL counted from the clock, and DynamoDB
	// Local deletes items whose expiry has passed (a fixed date from 2024 put it
	// in the past, and the stream then carried TTL deletions at random).
	now := time.Now().UTC().Truncate(time.Second)
	st, err := New(client, Tables{Scenes: names["ScenesTable"], Events: names["EventsTable"]}, Options{Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	if err := st.PutCode(ctx, &qr.Code{Scene: "poster-bj", ActionName: "QR_LIMIT_STR_SCENE", Ticket: "T", URL: "http://weixin.qq.com/q/x", Permanent: true, CreatedAt: now}); err != nil {
		t.Fatal(err)
	}

	// The pushes, as the callback records them: the claim under WeChat's dedupe
	// key and, for a scan, a follow or a leaving, the scan.
	at := now.Add(-2 * time.Second)
	push := func(openid string, at time.Time, event, eventKey string) qr.Claim {
		return qr.Claim{Key: fmt.Sprintf("event:%s|%d|%s|%s", openid, at.Unix(), event, eventKey), OpenID: openid, Reply: []byte("<xml/>"), At: at}
	}
	var want []qr.ScanRecord
	for _, p := range []struct {
		claim qr.Claim
		scan  *qr.Scan
	}{
		{push("oA", at, qr.EventSubscribe, "qrscene_poster-bj"), &qr.Scan{Scene: "poster-bj", OpenID: "oA", Event: qr.EventSubscribe, At: at, Unique: true, UniqueToday: true, Register: true}},
		{push("oA", at.Add(time.Second), qr.EventScan, "poster-bj"), &qr.Scan{Scene: "poster-bj", OpenID: "oA", Event: qr.EventScan, At: at.Add(time.Second)}},
		{push("oB", at, qr.EventSubscribe, ""), &qr.Scan{OpenID: "oB", Event: qr.EventSubscribe, At: at}},
		{push("oA", now, qr.EventUnsubscribe, ""), &qr.Scan{OpenID: "oA", Event: qr.EventUnsubscribe, At: now, Source: "poster-bj"}},
		{qr.Claim{Key: "msg:1234567890123456", OpenID: "oC", Reply: []byte("<xml/>"), At: at}, nil},
		{push("oC", at, "CLICK", "menu"), nil},
	} {
		if _, first, err := st.Record(ctx, p.claim, p.scan); err != nil || !first {
			t.Fatalf("record %s: first=%v, %v", p.claim.Key, first, err)
		}
		if p.scan != nil {
			want = append(want, qr.ScanRecord{
				PushID: pushID(claimKey(p.claim.OpenID, p.claim.Key)),
				Scene:  p.scan.Scene, OpenID: p.scan.OpenID, Event: p.scan.Event, At: p.scan.At,
			})
		}
	}
	// A bound log-in: its claim records the session, not a scan.
	if err := st.CreateSession(ctx, &qr.Session{ID: "L1", Scene: qr.LoginPrefix + "L1", Ticket: "T", URL: "u", CreatedAt: now, ExpiresAt: now.Add(5 * time.Minute)}); err != nil {
		t.Fatal(err)
	}
	if outcome, _, err := st.BindSession(ctx, push("oD", at, qr.EventScan, qr.LoginPrefix+"L1"), "L1", "oD", now); err != nil || outcome != qr.LoginBound {
		t.Fatalf("bind: %q, %v", outcome, err)
	}
	// The actions' markers and claims for the subscribe.
	rec := want[0]
	if _, err := st.MarkTagged(ctx, rec, true); err != nil {
		t.Fatal(err)
	}
	if _, err := st.ClaimFollowup(ctx, rec, 0); err != nil {
		t.Fatal(err)
	}
	if err := st.SettleFollowup(ctx, rec, 0, qr.FollowupRefused); err != nil {
		t.Fatal(err)
	}
	if err := st.MarkPublished(ctx, []qr.ScanRecord{rec}); err != nil {
		t.Fatal(err)
	}
	// An erasure: its marker and the deletions.
	if _, err := st.EraseUser(ctx, "oC"); err != nil {
		t.Fatal(err)
	}

	filter := scanActionsFilter(t)
	var got []qr.ScanRecord
	others := map[string]bool{} // what the stream carried besides the records, by kind
	for _, r := range readStream(t, client, names["EventsTable"]) {
		keys, err := attributevalue.FromDynamoDBStreamsMap(r.Dynamodb.Keys)
		if err != nil {
			t.Fatal(err)
		}
		img, err := attributevalue.FromDynamoDBStreamsMap(r.Dynamodb.NewImage)
		if err != nil {
			t.Fatal(err)
		}
		sk, _ := str(keys, attrSK)
		decoded, err := DecodeStreamRecord(string(r.EventName), keys, img)
		if err != nil && !errors.Is(err, ErrNotScanRecord) {
			t.Errorf("%s of %s: %v", r.EventName, sk, err)
		}
		kept, ferr := filter.Match(lambdaRecord(t, r))
		if ferr != nil {
			t.Fatal(ferr)
		}
		if kept != (err == nil) {
			t.Errorf("%s of %s: the template's filter keeps it: %v; the decoder reads a scan record: %v", r.EventName, sk, kept, err == nil)
		}
		if err == nil {
			got = append(got, decoded)
			continue
		}
		kind, _, _ := strings.Cut(strings.TrimPrefix(sk, prefixPush), ":")
		others[string(r.EventName)+" "+kind] = true
	}
	byPush := func(a, b qr.ScanRecord) int { return strings.Compare(a.PushID, b.PushID) }
	slices.SortFunc(got, byPush)
	slices.SortFunc(want, byPush)
	if !slices.Equal(got, want) {
		t.Errorf("decoded from the stream:\n%+v\nwant the records written:\n%+v", got, want)
	}
	// Each kind of item that must not reach the actions did reach the stream, so
	// the checks above saw it refused.
	for _, kind := range []string{"INSERT msg", "INSERT event", "INSERT source", "REMOVE source", "INSERT tagged#event", "INSERT followup#event", "MODIFY followup#event", "INSERT published#event", "INSERT erased", "REMOVE msg"} {
		if !others[kind] {
			t.Errorf("the stream carried no %s item; it carried %v", kind, others)
		}
	}
}

// scanActionsFilter is the template's FilterCriteria of the scan actions' stream mapping.
func scanActionsFilter(t *testing.T) *streams.Filter {
	t.Helper()
	root, err := repo.Root()
	if err != nil {
		t.Fatal(err)
	}
	tpl, err := cfn.Load(filepath.Join(root, "template.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	for _, fn := range tpl.Functions() {
		if strings.Trim(fn.CodeURI, "/") == "functions/scanactions" && len(fn.Streams) == 1 {
			f, err := streams.ParseFilter(fn.Streams[0].Filters)
			if err != nil || f.Len() == 0 {
				t.Fatalf("the scan actions' FilterCriteria %v: %v", fn.Streams[0].Filters, err)
			}
			return f
		}
	}
	t.Fatal("template.yaml: no function on functions/scanactions with one stream event")
	return nil
}

// readStream reads every record of table's stream so far, shard by shard.
func readStream(t *testing.T, client *dynamodb.Client, table string) []streamtypes.Record {
	t.Helper()
	ctx := context.Background()
	desc, err := client.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(table)})
	if err != nil {
		t.Fatal(err)
	}
	if desc.Table.LatestStreamArn == nil {
		t.Fatal("the events table has no stream: template.yaml lost its StreamSpecification")
	}
	sc := streams.Client(dynamotest.Server(t).Endpoint(), "us-east-1")
	ds, err := sc.DescribeStream(ctx, &dynamodbstreams.DescribeStreamInput{StreamArn: desc.Table.LatestStreamArn})
	if err != nil {
		t.Fatal(err)
	}
	var out []streamtypes.Record
	for _, sh := range ds.StreamDescription.Shards {
		it, err := sc.GetShardIterator(ctx, &dynamodbstreams.GetShardIteratorInput{
			StreamArn: desc.Table.LatestStreamArn, ShardId: sh.ShardId, ShardIteratorType: streamtypes.ShardIteratorTypeTrimHorizon,
		})
		if err != nil {
			t.Fatal(err)
		}
		// Everything was written before the first read: an empty page is the end.
		for iter := it.ShardIterator; iter != nil; {
			page, err := sc.GetRecords(ctx, &dynamodbstreams.GetRecordsInput{ShardIterator: iter})
			if err != nil {
				t.Fatal(err)
			}
			if len(page.Records) == 0 {
				break
			}
			out = append(out, page.Records...)
			iter = page.NextShardIterator
		}
	}
	return out
}

// lambdaRecord is the stream record as Lambda's filter sees it: the event
// record's JSON, attribute values in DynamoDB's JSON.
func lambdaRecord(t *testing.T, r streamtypes.Record) []byte {
	t.Helper()
	b, err := json.Marshal(map[string]any{
		"eventName":   string(r.EventName),
		"eventSource": "aws:dynamodb",
		"dynamodb":    map[string]any{"Keys": lambdaImage(r.Dynamodb.Keys), "NewImage": lambdaImage(r.Dynamodb.NewImage)},
	})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func lambdaImage(m map[string]streamtypes.AttributeValue) map[string]any {
	if m == nil {
		return nil
	}
	out := map[string]any{}
	for k, v := range m {
		out[k] = lambdaValue(v)
	}
	return out
}

func lambdaValue(v streamtypes.AttributeValue) any {
	switch v := v.(type) {
	case *streamtypes.AttributeValueMemberS:
		return map[string]any{"S": v.Value}
	case *streamtypes.AttributeValueMemberN:
		return map[string]any{"N": v.Value}
	case *streamtypes.AttributeValueMemberB:
		return map[string]any{"B": base64.StdEncoding.EncodeToString(v.Value)}
	case *streamtypes.AttributeValueMemberBOOL:
		return map[string]any{"BOOL": v.Value}
	case *streamtypes.AttributeValueMemberNULL:
		return map[string]any{"NULL": true}
	case *streamtypes.AttributeValueMemberM:
		return map[string]any{"M": lambdaImage(v.Value)}
	case *streamtypes.AttributeValueMemberL:
		l := make([]any, len(v.Value))
		for i, e := range v.Value {
			l[i] = lambdaValue(e)
		}
		return map[string]any{"L": l}
	case *streamtypes.AttributeValueMemberSS:
		return map[string]any{"SS": v.Value}
	case *streamtypes.AttributeValueMemberNS:
		return map[string]any{"NS": v.Value}
	}
	panic(fmt.Sprintf("an attribute of type %T: the store writes none", v))
}
