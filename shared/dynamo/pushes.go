package dynamo

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"wechatqr/shared/qr"
)

type key struct {
	PK string `dynamodbav:"pk"`
	SK string `dynamodbav:"sk"`
}

func (k key) av() map[string]types.AttributeValue {
	return map[string]types.AttributeValue{
		"pk": &types.AttributeValueMemberS{Value: k.PK},
		"sk": &types.AttributeValueMemberS{Value: k.SK},
	}
}

type claimItem struct {
	key
	Reply    []byte `dynamodbav:"reply"`
	At       int64  `dynamodbav:"at"`
	ExpireAt int64  `dynamodbav:"expire_at"`
}

type codeItem struct {
	key
	Scene         string    `dynamodbav:"scene"`
	ActionName    string    `dynamodbav:"action_name"`
	Ticket        string    `dynamodbav:"ticket"`
	URL           string    `dynamodbav:"url"`
	Permanent     bool      `dynamodbav:"permanent"`
	Reply         *qr.Reply `dynamodbav:"reply,omitempty"`
	CreatedAt     int64     `dynamodbav:"created_at"`
	CreatedAtNano int64     `dynamodbav:"created_at_ns,omitempty"`
	ExpireSeconds int64     `dynamodbav:"expire_seconds,omitempty"`
	ExpiresAt     int64     `dynamodbav:"expires_at,omitempty"`
	ExpireAt      int64     `dynamodbav:"expire_at,omitempty"` // TTL, temporary codes only
	ListPK        string    `dynamodbav:"list_pk,omitempty"`   // the ByCreated index
	ListSK        string    `dynamodbav:"list_sk,omitempty"`
}

type scanItem struct {
	key
	Scene  string `dynamodbav:"scene,omitempty"`
	OpenID string `dynamodbav:"openid"`
	Event  string `dynamodbav:"event"`
	At     int64  `dynamodbav:"at"`
}

func codeKey(scene string) key  { return key{prefixScene + scene, skCode} }
func statsKey(scene string) key { return key{prefixScene + scene, skStats} }
func claimKey(push string) key  { return key{prefixPush + push, skClaim} }

// scanKey orders a scene's records by time; the openid and event make two scans in
// one second distinct, exactly as the push's dedupe key does.
func scanKey(s qr.Scan) key {
	at := fmt.Sprintf("%010d", s.At.Unix())
	if s.Scene == "" {
		return key{prefixUser + s.OpenID, s.Event + "#" + at}
	}
	return key{prefixScene + s.Scene, "scan#" + at + "#" + s.OpenID + "#" + s.Event}
}

func (c codeItem) code() *qr.Code {
	code := &qr.Code{
		Scene:         c.Scene,
		ActionName:    c.ActionName,
		Ticket:        c.Ticket,
		URL:           c.URL,
		Permanent:     c.Permanent,
		Reply:         c.Reply,
		CreatedAt:     time.Unix(c.CreatedAt, 0).UTC(),
		ExpireSeconds: c.ExpireSeconds,
	}
	if c.CreatedAtNano != 0 {
		code.CreatedAt = time.Unix(0, c.CreatedAtNano).UTC()
	}
	if c.ExpiresAt != 0 {
		code.ExpiresAt = time.Unix(c.ExpiresAt, 0).UTC()
	}
	return code
}

// PutCode stores a scene's mapping unconditionally, replacing any earlier one.
// The API creates codes with CreateCode; this is for seeding and tests.
func (s *Store) PutCode(ctx context.Context, c *qr.Code) error {
	av, err := attributevalue.MarshalMap(newCodeItem(c))
	if err != nil {
		return fmt.Errorf("dynamo: marshal code: %w", err)
	}
	if _, err := s.db.PutItem(ctx, &dynamodb.PutItemInput{TableName: &s.tables.Scenes, Item: av}); err != nil {
		return unavailable("put code", err)
	}
	return nil
}

// Lookup reads, in one round trip, the mapping of scene (nil when there is none or
// scene is empty) and the claim of an earlier delivery of the push (nil when this is
// the first delivery).
func (s *Store) Lookup(ctx context.Context, pushKey, scene string) (*qr.Code, *qr.Claim, error) {
	claimK := claimKey(pushKey)
	req := map[string]types.KeysAndAttributes{
		s.tables.Events: {Keys: []map[string]types.AttributeValue{claimK.av()}, ConsistentRead: aws.Bool(true)},
	}
	if scene != "" {
		// Strongly consistent too: an operator who just changed a reply expects the
		// next scan to show it.
		req[s.tables.Scenes] = types.KeysAndAttributes{Keys: []map[string]types.AttributeValue{codeKey(scene).av()}, ConsistentRead: aws.Bool(true)}
	}
	var (
		code  *qr.Code
		claim *qr.Claim
	)
	// BatchGetItem may leave keys unprocessed under throttling; retry those a few
	// times, then give up so WeChat's own retry takes over.
	for attempt := 0; len(req) > 0; attempt++ {
		if attempt == 4 {
			return nil, nil, unavailable("lookup", errors.New("keys left unprocessed after retries"))
		}
		if attempt > 0 {
			if err := sleep(ctx, time.Duration(attempt)*20*time.Millisecond); err != nil {
				return nil, nil, unavailable("lookup", err)
			}
		}
		out, err := s.db.BatchGetItem(ctx, &dynamodb.BatchGetItemInput{RequestItems: req})
		if err != nil {
			return nil, nil, unavailable("lookup", err)
		}
		for table, items := range out.Responses {
			for _, av := range items {
				switch table {
				case s.tables.Events:
					var it claimItem
					if err := attributevalue.UnmarshalMap(av, &it); err != nil {
						return nil, nil, fmt.Errorf("dynamo: unmarshal claim: %w", err)
					}
					claim = it.claim(pushKey)
				case s.tables.Scenes:
					var it codeItem
					if err := attributevalue.UnmarshalMap(av, &it); err != nil {
						return nil, nil, fmt.Errorf("dynamo: unmarshal code: %w", err)
					}
					code = it.code()
				}
			}
		}
		req = out.UnprocessedKeys
	}
	return code, claim, nil
}

func (c claimItem) claim(pushKey string) *qr.Claim {
	return &qr.Claim{Key: pushKey, Reply: c.Reply, At: time.Unix(c.At, 0).UTC()}
}

// Record claims a push and counts its scan in one transaction, so there is never a
// claim without its count nor a count without its claim. When another delivery of
// the same push claimed it first, Record writes nothing and returns that claim with
// first == false; its Reply is what the caller must answer.
func (s *Store) Record(ctx context.Context, c qr.Claim, scan *qr.Scan) (winner *qr.Claim, first bool, err error) {
	items, err := s.recordItems(c, scan)
	if err != nil {
		return nil, false, err
	}
	in := &dynamodb.TransactWriteItemsInput{TransactItems: items}
	// A transaction racing another on the same items may be cancelled with
	// TransactionConflict instead of a failed condition; once the other commits, a
	// retry sees its claim.
	for attempt := 0; ; attempt++ {
		_, err = s.db.TransactWriteItems(ctx, in)
		if err == nil {
			return &c, true, nil
		}
		var tce *types.TransactionCanceledException
		if !errors.As(err, &tce) {
			return nil, false, unavailable("record", err)
		}
		reasons := tce.CancellationReasons
		if len(reasons) > 0 && aws.ToString(reasons[0].Code) == "ConditionalCheckFailed" {
			var it claimItem
			if err := attributevalue.UnmarshalMap(reasons[0].Item, &it); err != nil || reasons[0].Item == nil {
				return nil, false, unavailable("record", fmt.Errorf("claim taken but not returned: %v", err))
			}
			return it.claim(c.Key), false, nil
		}
		if attempt == 3 || !conflicted(reasons) {
			return nil, false, unavailable("record", err)
		}
		if err := sleep(ctx, time.Duration(10<<attempt)*time.Millisecond); err != nil {
			return nil, false, unavailable("record", err)
		}
	}
}

func conflicted(reasons []types.CancellationReason) bool {
	for _, r := range reasons {
		if aws.ToString(r.Code) == "TransactionConflict" {
			return true
		}
	}
	return false
}

func (s *Store) recordItems(c qr.Claim, scan *qr.Scan) ([]types.TransactWriteItem, error) {
	claim, err := attributevalue.MarshalMap(claimItem{
		key:      claimKey(c.Key),
		Reply:    c.Reply,
		At:       c.At.Unix(),
		ExpireAt: c.At.Add(s.claimTTL).Unix(),
	})
	if err != nil {
		return nil, fmt.Errorf("dynamo: marshal claim: %w", err)
	}
	items := []types.TransactWriteItem{{Put: &types.Put{
		TableName:                           &s.tables.Events,
		Item:                                claim,
		ConditionExpression:                 aws.String("attribute_not_exists(pk)"),
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
	}}}
	if scan == nil {
		return items, nil
	}
	record, err := attributevalue.MarshalMap(scanItem{
		key:    scanKey(*scan),
		Scene:  scan.Scene,
		OpenID: scan.OpenID,
		Event:  scan.Event,
		At:     scan.At.Unix(),
	})
	if err != nil {
		return nil, fmt.Errorf("dynamo: marshal scan: %w", err)
	}
	items = append(items, types.TransactWriteItem{Put: &types.Put{TableName: &s.tables.Events, Item: record}})
	if scan.Scene != "" {
		subscribes := "0"
		if scan.Event == qr.EventSubscribe {
			subscribes = "1"
		}
		items = append(items, types.TransactWriteItem{Update: &types.Update{
			TableName:        &s.tables.Scenes,
			Key:              statsKey(scan.Scene).av(),
			UpdateExpression: aws.String("SET #scene = :scene, #last = :at ADD #scans :one, #subscribes :sub"),
			ExpressionAttributeNames: map[string]string{
				"#scene": "scene", "#last": "last_scan_at", "#scans": "scans", "#subscribes": "subscribes",
			},
			ExpressionAttributeValues: map[string]types.AttributeValue{
				":scene": &types.AttributeValueMemberS{Value: scan.Scene},
				":at":    &types.AttributeValueMemberN{Value: strconv.FormatInt(scan.At.Unix(), 10)},
				":one":   &types.AttributeValueMemberN{Value: "1"},
				":sub":   &types.AttributeValueMemberN{Value: subscribes},
			},
		}})
	}
	return items, nil
}

// SceneStats reads a scene's counters; a scene never scanned has zero counts.
func (s *Store) SceneStats(ctx context.Context, scene string) (qr.Stats, error) {
	out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{
		TableName: &s.tables.Scenes, Key: statsKey(scene).av(), ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return qr.Stats{}, unavailable("stats", err)
	}
	var it struct {
		Scans      int64 `dynamodbav:"scans"`
		Subscribes int64 `dynamodbav:"subscribes"`
		LastScanAt int64 `dynamodbav:"last_scan_at"`
	}
	if err := attributevalue.UnmarshalMap(out.Item, &it); err != nil {
		return qr.Stats{}, fmt.Errorf("dynamo: unmarshal stats: %w", err)
	}
	st := qr.Stats{Scans: it.Scans, Subscribes: it.Subscribes}
	if it.LastScanAt != 0 {
		st.LastScanAt = time.Unix(it.LastScanAt, 0).UTC()
	}
	return st, nil
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
