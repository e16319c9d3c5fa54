package dynamo

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"wechatqr/shared/qr"
)

// erasePage bounds the items one page of the follower's partition brings, so a
// follower with years of scans is erased in steps of bounded memory.
const erasePage = 100

// EraseUser deletes every item that names openid, in every table, and counts them
// by kind. The follower's partition of the events table holds their claims,
// records and source (and whatever later kinds file under user#<openid>); the
// seen markers are found from the scenes those items name, a bound log-in session
// from its claim. Counters hold aggregates only and are left alone.
//
// Each page deletes the markers and sessions it points to before the items that
// point to them, so a failure part-way leaves nothing unfindable: calling again
// finishes the job. A follower with nothing stored gets zero counts.
//
// Erasure stays erased: before anything is deleted, and again once all is, it
// writes the follower's erased-follower marker (markErased), which the scan
// actions read and make every write of theirs conditional on, so a record of the
// follower still on the stream creates nothing again, tags nothing, sends nothing.
func (s *Store) EraseUser(ctx context.Context, openid string) (qr.Erased, error) {
	if err := s.markErased(ctx, openid); err != nil {
		return nil, err
	}
	erased, err := s.erasePartition(ctx, openid)
	if err != nil {
		return nil, err
	}
	// Again, with the time the deletion ended: a push made while it ran may
	// have been deleted with the rest, and its record must not act either.
	if err := s.markErased(ctx, openid); err != nil {
		return nil, err
	}
	return erased, nil
}

// markErased writes (or moves forward) openid's erased-follower marker: the
// follower's pushes made up to now (by their CreateTime, in whole seconds, one
// in this very second included) are erased, and their records do nothing. It
// holds the SHA-256 of the openid (its key), the cutoff and its expiry. It is
// kept MarkerTTL, as long as the actions keep their own markers and claims, and
// for the same reason: after that the stream cannot deliver a record of a push
// made before the erasure. A push after the cutoff is the follower's new
// interaction (they scanned again) and acts as any other.
func (s *Store) markErased(ctx context.Context, openid string) error {
	now := s.now()
	item := s.at(erasedKey(openid)).av()
	item[attrErasedAt] = number(now.Unix())
	item[attrExpireAt] = number(now.Add(MarkerTTL).Unix())
	if _, err := s.db.PutItem(ctx, &dynamodb.PutItemInput{TableName: &s.tables.Events, Item: item}); err != nil {
		return unavailable("erase: mark the follower erased", err)
	}
	return nil
}

// erasePartition deletes the follower's partition of the events table and what
// its items point to, counting by kind.
func (s *Store) erasePartition(ctx context.Context, openid string) (qr.Erased, error) {
	erased := qr.Erased{qr.ErasedScanRecords: 0, qr.ErasedClaims: 0, qr.ErasedSources: 0, qr.ErasedMarkers: 0, qr.ErasedSessions: 0}
	scenes := map[string]bool{}
	in := &dynamodb.QueryInput{
		TableName:                 &s.tables.Events,
		KeyConditionExpression:    aws.String("#pk = :pk"),
		ExpressionAttributeNames:  map[string]string{"#pk": attrPK},
		ExpressionAttributeValues: map[string]types.AttributeValue{":pk": &types.AttributeValueMemberS{Value: s.ns + userPK(openid)}},
		ConsistentRead:            aws.Bool(true),
		Limit:                     aws.Int32(erasePage),
	}
	for {
		out, err := s.db.Query(ctx, in)
		if err != nil {
			return nil, unavailable("erase: query the follower's items", err)
		}
		keys := make([]key, 0, len(out.Items))
		kinds := make([]string, 0, len(out.Items))
		for _, av := range out.Items {
			var it userItem
			if err := attributevalue.UnmarshalMap(av, &it); err != nil {
				return nil, fmt.Errorf("dynamo: unmarshal the follower's item: %w", err)
			}
			if it.Scene != "" && !scenes[it.Scene] {
				n, err := s.eraseMarkers(ctx, it.Scene, openid)
				if err != nil {
					return nil, err
				}
				scenes[it.Scene] = true
				erased[qr.ErasedMarkers] += n
			}
			if it.Login != "" {
				gone, err := s.eraseSession(ctx, it.Login, openid)
				if err != nil {
					return nil, err
				}
				if gone {
					erased[qr.ErasedSessions]++
				}
			}
			keys = append(keys, it.key)
			kinds = append(kinds, kindOf(it))
		}
		if err := s.batchDelete(ctx, s.tables.Events, keys); err != nil {
			return nil, err
		}
		for _, k := range kinds {
			erased[k]++
		}
		if len(out.LastEvaluatedKey) == 0 {
			return erased, nil
		}
		in.ExclusiveStartKey = out.LastEvaluatedKey
	}
}

// userItem is what EraseUser reads of an item in a follower's partition: its key
// and what it points to elsewhere.
type userItem struct {
	key
	Scene string `dynamodbav:"scene"` // a record's or a source's scene: the markers
	Event string `dynamodbav:"event"` // set on records
	Login string `dynamodbav:"login"` // a bound log-in's session
}

// kindOf names what an item of a follower's partition is, for EraseUser's answer.
func kindOf(it userItem) string {
	switch {
	case strings.HasPrefix(it.SK, prefixPush) && it.Event != "":
		return qr.ErasedScanRecords
	case strings.HasPrefix(it.SK, prefixPush):
		return qr.ErasedClaims
	case it.SK == skSource:
		return qr.ErasedSources
	case strings.HasPrefix(it.SK, prefixOldRecord):
		return qr.ErasedScanRecords // a record written before claims became records
	}
	kind, _, _ := strings.Cut(it.SK, "#") // a kind filed here by a later feature
	return kind
}

// eraseMarkers deletes openid's seen markers of scene (all time and every day).
func (s *Store) eraseMarkers(ctx context.Context, scene, openid string) (int, error) {
	in := &dynamodb.QueryInput{
		TableName:                 &s.tables.Scenes,
		KeyConditionExpression:    aws.String("#pk = :pk"),
		ProjectionExpression:      aws.String("#pk, #sk"),
		ExpressionAttributeNames:  map[string]string{"#pk": attrPK, "#sk": attrSK},
		ExpressionAttributeValues: map[string]types.AttributeValue{":pk": &types.AttributeValueMemberS{Value: s.at(seenKey(scene, openid, "")).PK}},
		ConsistentRead:            aws.Bool(true),
	}
	n := 0
	for {
		out, err := s.db.Query(ctx, in)
		if err != nil {
			return n, unavailable("erase: query markers", err)
		}
		keys := make([]key, 0, len(out.Items))
		for _, av := range out.Items {
			var k key
			if err := attributevalue.UnmarshalMap(av, &k); err != nil {
				return n, fmt.Errorf("dynamo: unmarshal marker key: %w", err)
			}
			keys = append(keys, k)
		}
		if err := s.batchDelete(ctx, s.tables.Scenes, keys); err != nil {
			return n, err
		}
		n += len(keys)
		if len(out.LastEvaluatedKey) == 0 {
			return n, nil
		}
		in.ExclusiveStartKey = out.LastEvaluatedKey
	}
}

// eraseSession deletes log-in session id if openid bound it; it reports whether
// there was one to delete (TTL removes sessions within two hours of their start).
func (s *Store) eraseSession(ctx context.Context, id, openid string) (bool, error) {
	_, err := s.db.DeleteItem(ctx, &dynamodb.DeleteItemInput{
		TableName:                 &s.tables.Scenes,
		Key:                       s.at(sessionKey(id)).av(),
		ConditionExpression:       aws.String("#o = :o"),
		ExpressionAttributeNames:  map[string]string{"#o": attrOpenID},
		ExpressionAttributeValues: map[string]types.AttributeValue{":o": &types.AttributeValueMemberS{Value: openid}},
	})
	var ccf *types.ConditionalCheckFailedException
	if errors.As(err, &ccf) {
		return false, nil // gone already, or never bound to this follower
	}
	if err != nil {
		return false, unavailable("erase: delete session", err)
	}
	return true, nil
}

// batchDelete deletes keys of one table, 25 to a BatchWriteItem, retrying what
// DynamoDB leaves unprocessed under throttling a few times with a short backoff.
func (s *Store) batchDelete(ctx context.Context, table string, keys []key) error {
	for len(keys) > 0 {
		n := min(len(keys), 25)
		reqs := make([]types.WriteRequest, 0, n)
		for _, k := range keys[:n] {
			reqs = append(reqs, types.WriteRequest{DeleteRequest: &types.DeleteRequest{Key: k.av()}})
		}
		pending := map[string][]types.WriteRequest{table: reqs}
		for attempt := 0; len(pending) > 0; attempt++ {
			if attempt == 5 {
				return unavailable("erase: batch delete", errUnprocessed)
			}
			if attempt > 0 {
				if err := sleep(ctx, time.Duration(20<<attempt)*time.Millisecond); err != nil {
					return unavailable("erase: batch delete", err)
				}
			}
			out, err := s.db.BatchWriteItem(ctx, &dynamodb.BatchWriteItemInput{RequestItems: pending})
			if err != nil {
				return unavailable("erase: batch delete", err)
			}
			pending = out.UnprocessedItems
		}
		keys = keys[n:]
	}
	return nil
}

// EraseAccountData deletes the items of the Store's account, a stored account
// removed from the stack: everything under its key space in the scenes and
// events tables, counters included. No index finds an account's items, so it
// scans both tables, a page at a time, until the deadline; cursor continues an
// earlier call (""at first), and the answer's next cursor is "" when the whole
// of both tables was read. A call that ends part-way deleted what it found:
// calling again with next finishes the job. The default account's data is the
// stack's and is refused.
//
// It costs a scan of both tables (1 read unit per 4 KB read, all accounts'
// items included): removal is rare, and an account's data ages out by
// retention without it.
func (s *Store) EraseAccountData(ctx context.Context, cursor string, until time.Time) (deleted int, next string, err error) {
	if s.ns == "" {
		return 0, "", errors.New("dynamo: the default account's data is erased follower by follower, never as a whole")
	}
	tables := []string{s.tables.Scenes, s.tables.Events}
	table, start, err := decodeEraseCursor(cursor, len(tables))
	if err != nil {
		return 0, "", err
	}
	for ; table < len(tables); table, start = table+1, nil {
		for {
			out, err := s.db.Scan(ctx, &dynamodb.ScanInput{
				TableName:                 &tables[table],
				FilterExpression:          aws.String("begins_with(#pk, :ns)"),
				ProjectionExpression:      aws.String("#pk, #sk"),
				ExpressionAttributeNames:  map[string]string{"#pk": attrPK, "#sk": attrSK},
				ExpressionAttributeValues: map[string]types.AttributeValue{":ns": &types.AttributeValueMemberS{Value: s.ns}},
				ExclusiveStartKey:         start,
				Limit:                     aws.Int32(eraseScanPage),
			})
			if err != nil {
				return deleted, "", unavailable("scan for the account's items", err)
			}
			keys := make([]key, 0, len(out.Items))
			for _, av := range out.Items {
				var k key
				if err := attributevalue.UnmarshalMap(av, &k); err != nil {
					return deleted, "", fmt.Errorf("dynamo: unmarshal key: %w", err)
				}
				keys = append(keys, k)
			}
			if err := s.batchDelete(ctx, tables[table], keys); err != nil {
				return deleted, "", err
			}
			deleted += len(keys)
			if len(out.LastEvaluatedKey) == 0 {
				break
			}
			start = out.LastEvaluatedKey
			if time.Now().After(until) {
				return deleted, encodeEraseCursor(table, start), nil
			}
		}
	}
	return deleted, "", nil
}

// eraseScanPage bounds the items one page of EraseAccountData's scan reads, so
// that each page's deletions finish well inside the deadline (a variable for
// the tests of its cursor).
var eraseScanPage int32 = 500

// An erase cursor is the table's index and the scan's last key, in the form
// the codes' cursors take (encodeCursor).
func encodeEraseCursor(table int, last map[string]types.AttributeValue) string {
	last = maps.Clone(last)
	last["table"] = &types.AttributeValueMemberS{Value: strconv.Itoa(table)}
	return encodeCursor(last)
}

func decodeEraseCursor(c string, tables int) (int, map[string]types.AttributeValue, error) {
	if c == "" {
		return 0, nil, nil
	}
	invalid := qr.Errorf(qr.EInvalid, "cursor: not a cursor this API returned")
	m, err := decodeKeyCursor(c)
	if err != nil {
		return 0, nil, invalid
	}
	t, ok := m["table"].(*types.AttributeValueMemberS)
	if !ok {
		return 0, nil, invalid
	}
	table, err := strconv.Atoi(t.Value)
	if err != nil || table < 0 || table >= tables {
		return 0, nil, invalid
	}
	delete(m, "table")
	if _, ok := m[attrPK]; !ok {
		return 0, nil, invalid
	}
	return table, m, nil
}
