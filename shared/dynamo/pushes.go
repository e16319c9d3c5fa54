package dynamo

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"wechatqr/shared/qr"
)

// claimItem is a push's claim. For a scan, a follow or a leaving it is also the
// push's record (scene, openid, event), kept for the retention period; a bound
// log-in's claim records nothing but the session it bound, so that erasure finds
// the session, and goes after a day.
type claimItem struct {
	key
	Reply    []byte `dynamodbav:"reply,omitempty"` // what the callback needs to rebuild its answer
	At       int64  `dynamodbav:"at"`
	Scene    string `dynamodbav:"scene,omitempty"`
	OpenID   string `dynamodbav:"openid,omitempty"`
	Event    string `dynamodbav:"event,omitempty"`
	Login    string `dynamodbav:"login,omitempty"`
	ExpireAt int64  `dynamodbav:"expire_at"`
}

type codeItem struct {
	key
	Scene         string      `dynamodbav:"scene"`
	ActionName    string      `dynamodbav:"action_name"`
	Ticket        string      `dynamodbav:"ticket"`
	URL           string      `dynamodbav:"url"`
	Permanent     bool        `dynamodbav:"permanent"`
	Reply         *replyItem  `dynamodbav:"reply,omitempty"`
	Tag           string      `dynamodbav:"tag,omitempty"`
	Followups     []replyItem `dynamodbav:"followups,omitempty"`
	CreatedAt     int64       `dynamodbav:"created_at"`
	CreatedAtNano int64       `dynamodbav:"created_at_ns,omitempty"`
	ExpireSeconds int64       `dynamodbav:"expire_seconds,omitempty"`
	ExpiresAt     int64       `dynamodbav:"expires_at,omitempty"`
	ExpireAt      int64       `dynamodbav:"expire_at,omitempty"` // TTL, temporary codes only
	ListPK        string      `dynamodbav:"list_pk,omitempty"`   // the ByCreated index
	ListSK        string      `dynamodbav:"list_sk,omitempty"`
}

type sourceItem struct {
	key
	Scene    string `dynamodbav:"scene"`
	At       int64  `dynamodbav:"at"`
	ExpireAt int64  `dynamodbav:"expire_at"`
}

func (c codeItem) code() *qr.Code {
	code := &qr.Code{
		Scene:         c.Scene,
		ActionName:    c.ActionName,
		Ticket:        c.Ticket,
		URL:           c.URL,
		Permanent:     c.Permanent,
		Reply:         c.Reply.reply(),
		Tag:           c.Tag,
		Followups:     replies(c.Followups),
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
	av, err := attributevalue.MarshalMap(s.newCodeItem(c))
	if err != nil {
		return fmt.Errorf("dynamo: marshal code: %w", err)
	}
	if _, err := s.db.PutItem(ctx, &dynamodb.PutItemInput{TableName: &s.tables.Scenes, Item: av}); err != nil {
		return unavailable("put code", err)
	}
	return nil
}

// Lookup reads, in one round trip (a BatchGetItem), what handling a push needs:
// the claim of an earlier delivery (strongly consistent: a retry must see it) and,
// for a scan, the scene's mapping, whether it has statistics yet and whether the
// user scanned it before; for unsubscribe, the scene that brought the follower.
func (s *Store) Lookup(ctx context.Context, q qr.Lookup) (qr.PushState, error) {
	events := []map[string]types.AttributeValue{s.at(claimKey(q.OpenID, q.PushKey)).av()}
	if q.Signed != nil {
		// Read with the claim, strongly consistent as it is: the two are written
		// in one transaction, so a claim found has its signature found with it.
		events = append(events, s.at(signatureKey(q.Signed.Signature)).av())
	}
	var scenes []map[string]types.AttributeValue
	switch {
	case q.Event == qr.EventUnsubscribe:
		events = append(events, s.at(sourceKey(q.OpenID)).av())
	case q.Scene != "":
		scenes = append(scenes,
			s.at(codeKey(q.Scene)).av(), s.at(registryKey(q.Scene)).av(),
			s.at(seenKey(q.Scene, q.OpenID, "")).av(), s.at(seenKey(q.Scene, q.OpenID, qr.DayOf(q.At))).av())
	}
	req := map[string]types.KeysAndAttributes{
		s.tables.Events: {Keys: events, ConsistentRead: aws.Bool(true)},
	}
	if len(scenes) > 0 {
		// Eventually consistent: twice the read ceiling of a hot scene's partition at
		// half the cost. A reply changed a moment ago may show a second later; the
		// markers are only hints, checked again by the transaction's conditions.
		req[s.tables.Scenes] = types.KeysAndAttributes{Keys: scenes}
	}
	var st qr.PushState
	err := s.batchRead(ctx, "lookup", req, func(_ string, av map[string]types.AttributeValue) error {
		return s.absorb(&st, q, av)
	})
	return st, err
}

// absorb files one item of a Lookup into st by its key.
func (s *Store) absorb(st *qr.PushState, q qr.Lookup, av map[string]types.AttributeValue) error {
	var k key
	if err := attributevalue.UnmarshalMap(av, &k); err != nil {
		return fmt.Errorf("dynamo: unmarshal key: %w", err)
	}
	switch {
	case k.SK == skBody && strings.HasPrefix(k.PK, s.ns+prefixSig):
		b, ok := av[attrBody].(*types.AttributeValueMemberS)
		st.SignatureReused = q.Signed != nil && (!ok || b.Value != bodyHash(q.Signed))
	case strings.HasPrefix(k.SK, prefixPush):
		var it claimItem
		if err := attributevalue.UnmarshalMap(av, &it); err != nil {
			return fmt.Errorf("dynamo: unmarshal claim: %w", err)
		}
		st.Claim = it.claim(s.ns, q.PushKey)
	case k.SK == skCode:
		var it codeItem
		if err := attributevalue.UnmarshalMap(av, &it); err != nil {
			return fmt.Errorf("dynamo: unmarshal code: %w", err)
		}
		st.Code = it.code()
	case k.SK == skRegistry:
		st.Registered = true
	case k.SK == skSource:
		var it sourceItem
		if err := attributevalue.UnmarshalMap(av, &it); err != nil {
			return fmt.Errorf("dynamo: unmarshal source: %w", err)
		}
		st.Source = it.Scene
	case k.SK == skAll:
		var it markerItem
		if err := attributevalue.UnmarshalMap(av, &it); err != nil {
			return fmt.Errorf("dynamo: unmarshal marker: %w", err)
		}
		st.Seen = true
		if it.ExpireAt != 0 {
			st.SeenUntil = time.Unix(it.ExpireAt, 0).UTC()
		}
	case strings.HasPrefix(k.SK, prefixDay):
		st.SeenToday = true
	}
	return nil
}

func (c claimItem) claim(ns, pushKey string) *qr.Claim {
	return &qr.Claim{Key: pushKey, OpenID: strings.TrimPrefix(c.PK, ns+prefixUser), Reply: c.Reply, At: time.Unix(c.At, 0).UTC()}
}

// Record claims a push and counts it in one transaction, so there is never a
// claim without its counts nor a count without its claim. When another delivery of
// the same push claimed it first, Record writes nothing and returns that claim with
// first == false; its Reply is what the caller must answer.
//
// scan may be nil (a push that only needs its claim). Its Unique, UniqueToday and
// Register are hints from the lookup: the transaction writes their markers with
// conditions, and when a concurrent push got there first, Record retries without
// them, so a user counts once however their scans interleave.
func (s *Store) Record(ctx context.Context, c qr.Claim, scan *qr.Scan) (winner *qr.Claim, first bool, err error) {
	var sc qr.Scan
	if scan != nil {
		sc = *scan
	}
	for attempt := 0; ; attempt++ {
		items, parts, err := s.recordItems(c, scan, sc)
		if err != nil {
			return nil, false, err
		}
		_, err = s.db.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: items})
		if err == nil {
			return &c, true, nil
		}
		var tce *types.TransactionCanceledException
		if !errors.As(err, &tce) {
			return nil, false, unavailable("record", err)
		}
		reasons := tce.CancellationReasons
		failed := func(p int) bool {
			return p >= 0 && p < len(reasons) && aws.ToString(reasons[p].Code) == "ConditionalCheckFailed"
		}
		if failed(parts.signature) {
			return nil, false, qr.ErrSignatureReused
		}
		if failed(0) {
			var it claimItem
			if reasons[0].Item == nil || attributevalue.UnmarshalMap(reasons[0].Item, &it) != nil {
				return nil, false, unavailable("record", errors.New("the claim is taken but was not returned"))
			}
			return it.claim(s.ns, c.Key), false, nil
		}
		retry := false
		if failed(parts.unique) {
			sc.Unique, retry = false, true
		}
		if failed(parts.uniqueToday) {
			sc.UniqueToday, retry = false, true
		}
		if failed(parts.register) {
			sc.Register, retry = false, true
		}
		// A transaction racing another on the same items may be cancelled with
		// TransactionConflict; once the other commits, a retry goes through.
		if attempt == 5 || (!retry && !conflicted(reasons)) {
			return nil, false, unavailable("record", err)
		}
		if !retry {
			if err := sleep(ctx, time.Duration(10<<attempt)*time.Millisecond); err != nil {
				return nil, false, unavailable("record", err)
			}
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

// recordParts are the positions of the conditional markers in a transaction.
type recordParts struct{ unique, uniqueToday, register, signature int }

func (s *Store) recordItems(c qr.Claim, scan *qr.Scan, sc qr.Scan) ([]types.TransactWriteItem, recordParts, error) {
	parts := recordParts{-1, -1, -1, -1}
	var items []types.TransactWriteItem
	var failure error
	put := func(table string, v any, condition string) int {
		av, err := attributevalue.MarshalMap(v)
		if err != nil {
			failure = fmt.Errorf("dynamo: marshal: %w", err)
			return -1
		}
		p := &types.Put{TableName: &table, Item: av}
		if condition != "" {
			p.ConditionExpression = &condition
		}
		items = append(items, types.TransactWriteItem{Put: p})
		return len(items) - 1
	}
	// The claim comes first: Record reads its cancellation reason at index 0. With
	// a scan it is the scan's record too: one item where there were two, which is
	// 2 of the transaction's write units (docs/performance.md, "Request units per push").
	claim := claimItem{key: s.at(claimKey(c.OpenID, c.Key)), Reply: c.Reply, At: c.At.Unix(), ExpireAt: s.expireAt(c.At, s.claimTTL)}
	if scan != nil {
		claim.Scene, claim.OpenID, claim.Event, claim.ExpireAt = sc.Scene, sc.OpenID, sc.Event, s.expireAt(sc.At, s.retention)
	}
	put(s.tables.Events, claim, absent)
	if failure != nil {
		return nil, parts, failure
	}
	items[0].Put.ReturnValuesOnConditionCheckFailure = types.ReturnValuesOnConditionCheckFailureAllOld
	if c.Signed != nil {
		items = append(items, s.signatureItem(c.Signed))
		parts.signature = len(items) - 1
	}
	if scan == nil {
		return items, parts, nil
	}
	// Whatever names the follower expires with the record: a marker never outlives
	// the record erasure finds it from (erase.go).
	kept := s.expireAt(sc.At, s.retention)
	deleteSource := func() {
		items = append(items, types.TransactWriteItem{Delete: &types.Delete{TableName: &s.tables.Events, Key: s.at(sourceKey(sc.OpenID)).av()}})
	}
	day := qr.DayOf(sc.At)
	var delta, dayDelta qr.Counts
	charged := sc.Scene
	switch {
	case sc.Event == qr.EventUnsubscribe:
		// Charged to the scene that brought the follower, which is then forgotten:
		// if they come back through no code, their next leaving is charged to nothing.
		charged, delta.Unsubscribes = sc.Source, 1
		deleteSource()
	case sc.Scene == "":
		deleteSource() // a follow through no code: whatever brought them before did not
	default:
		delta.Scans = 1
		if sc.Event == qr.EventSubscribe {
			delta.Subscribes = 1
			put(s.tables.Events, sourceItem{key: s.at(sourceKey(sc.OpenID)), Scene: sc.Scene, At: sc.At.Unix(), ExpireAt: kept}, "")
		}
		dayDelta = delta
		const fresh = absent
		switch {
		case sc.Unique:
			delta.UniqueUsers = 1
			parts.unique = put(s.tables.Scenes, markerItem{key: s.at(seenKey(sc.Scene, sc.OpenID, "")), ExpireAt: kept}, fresh)
		case sc.SeenUntil.Unix() < kept-int64(s.retention/2/time.Second):
			// The follower is back and their marker has less than half the retention
			// left (or none stored, from before markers expired): rewrite it with this
			// record's expiry, so a follower who keeps scanning counts once. It costs a
			// write once per half retention per follower and scene, and the marker
			// still expires with a record that leads to it.
			put(s.tables.Scenes, markerItem{key: s.at(seenKey(sc.Scene, sc.OpenID, "")), ExpireAt: kept}, "")
		}
		if sc.UniqueToday {
			dayDelta.UniqueUsers = 1
			// Day markers matter only on their day; TTL drops them after a week
			// (or with the record, when the retention is shorter).
			parts.uniqueToday = put(s.tables.Scenes, markerItem{key: s.at(seenKey(sc.Scene, sc.OpenID, day)), ExpireAt: min(kept, s.expireAt(sc.At, dayMarkerTTL))}, fresh)
		}
		if sc.Register {
			parts.register = put(s.tables.Scenes, registryItem{key: s.at(registryKey(sc.Scene)), Scene: sc.Scene, FirstSeen: sc.At.Unix(), ListPK: s.ns + listScenes, ListSK: sc.Scene}, fresh)
		}
	}
	if sc.Event == qr.EventUnsubscribe {
		dayDelta = delta
	}
	if failure != nil {
		return nil, parts, failure
	}
	if charged != "" {
		shard := s.shard(c.Key)
		items = append(items,
			s.addCounts(s.at(statsKey(charged, shard, "")), charged, delta, sc.At),
			s.addCounts(s.at(statsKey(charged, shard, day)), charged, dayDelta, sc.At))
	}
	return items, parts, nil
}

// signatureItem records a plain push's query signature with its body's hash,
// on condition that the signature is new or was recorded with the same body:
// WeChat's retry of the push passes, a forged body under a genuine query fails
// it and the transaction writes nothing. The item is under 1 KB: 2 write units
// in the transaction (docs/performance.md, "Request units per push").
func (s *Store) signatureItem(sb *qr.SignedBody) types.TransactWriteItem {
	k := s.at(signatureKey(sb.Signature))
	item := k.av()
	item[attrBody] = &types.AttributeValueMemberS{Value: bodyHash(sb)}
	item[attrExpireAt] = number(sb.Until.Unix())
	return types.TransactWriteItem{Put: &types.Put{
		TableName:                 &s.tables.Events,
		Item:                      item,
		ConditionExpression:       aws.String(absent + " OR #body = :body"),
		ExpressionAttributeNames:  map[string]string{"#body": attrBody},
		ExpressionAttributeValues: map[string]types.AttributeValue{":body": item[attrBody]},
	}}
}

// bodyHash is how a signature record keeps its body's hash: hex, a string like
// every other attribute of the events table. (Stored as binary, DynamoDB Local's
// stream of the table then gave event names the SDK could not read, and
// TestTheStreamCarriesWhatTheStoreWrote failed.)
func bodyHash(sb *qr.SignedBody) string { return hex.EncodeToString(sb.Body[:]) }

type markerItem struct {
	key
	ExpireAt int64 `dynamodbav:"expire_at"`
}

// dayMarkerTTL keeps a day's unique-user marker past its day, in any time zone.
const dayMarkerTTL = 7 * 24 * time.Hour

type registryItem struct {
	key
	Scene     string `dynamodbav:"scene"`
	FirstSeen int64  `dynamodbav:"first_seen"`
	ListPK    string `dynamodbav:"list_pk"` // the ByCreated index, partition "scene"
	ListSK    string `dynamodbav:"list_sk"`
}

// addCounts adds delta to one counter item: a shard's totals or one of its days.
func (s *Store) addCounts(k key, scene string, delta qr.Counts, at time.Time) types.TransactWriteItem {
	return types.TransactWriteItem{Update: &types.Update{
		TableName:        &s.tables.Scenes,
		Key:              k.av(),
		UpdateExpression: aws.String("SET #scene = :scene, #last = :at ADD #scans :scans, #subs :subs, #uniq :uniq, #unsubs :unsubs"),
		ExpressionAttributeNames: map[string]string{
			"#scene": attrScene, "#last": "last_at", "#scans": "scans", "#subs": "subscribes", "#uniq": "unique_users", "#unsubs": "unsubscribes",
		},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":scene":  &types.AttributeValueMemberS{Value: scene},
			":at":     number(at.Unix()),
			":scans":  number(delta.Scans),
			":subs":   number(delta.Subscribes),
			":uniq":   number(delta.UniqueUsers),
			":unsubs": number(delta.Unsubscribes),
		},
	}}
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
