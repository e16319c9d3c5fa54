package dynamo

import (
	"context"
	"fmt"
	"hash/fnv"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"wechatqr/shared/qr"
)

// shard picks the counter shard of a push: a hash of its key, so every delivery
// of one push lands on the same shard and pushes spread evenly.
func (s *Store) shard(pushKey string) int {
	h := fnv.New32a()
	_, _ = h.Write([]byte(pushKey))
	return int(h.Sum32() % uint32(s.shards))
}

type countsItem struct {
	key
	Scans        int64 `dynamodbav:"scans"`
	Subscribes   int64 `dynamodbav:"subscribes"`
	UniqueUsers  int64 `dynamodbav:"unique_users"`
	Unsubscribes int64 `dynamodbav:"unsubscribes"`
	LastAt       int64 `dynamodbav:"last_at,omitempty"` // the last counted push's time (addCounts)
}

func (c countsItem) counts() qr.Counts {
	return qr.Counts{Scans: c.Scans, Subscribes: c.Subscribes, UniqueUsers: c.UniqueUsers, Unsubscribes: c.Unsubscribes}
}

// SceneStats sums a scene's shards: its totals (one BatchGetItem) and, when from
// and to are days (YYYY-MM-DD, inclusive), its days in that period (one Query per
// shard, in parallel). A scene never scanned has zero counts.
func (s *Store) SceneStats(ctx context.Context, scene, from, to string) (qr.Stats, error) {
	st := qr.Stats{Scene: scene, Days: []qr.Day{}}
	keys := make([]map[string]types.AttributeValue, 0, s.shards)
	for i := range s.shards {
		keys = append(keys, s.at(statsKey(scene, i, "")).av())
	}
	items, err := s.batchGet(ctx, s.tables.Scenes, keys)
	if err != nil {
		return st, err
	}
	for _, av := range items {
		var c countsItem
		if err := attributevalue.UnmarshalMap(av, &c); err != nil {
			return st, fmt.Errorf("dynamo: unmarshal counts: %w", err)
		}
		st.Totals.Add(c.counts())
	}
	if from == "" {
		return st, nil
	}
	days := map[string]*qr.Counts{}
	var mu sync.Mutex
	errs := make([]error, s.shards)
	var wg sync.WaitGroup
	for i := range s.shards {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = s.queryDays(ctx, s.at(statsKey(scene, i, "")).PK, from, to, func(day string, c qr.Counts) {
				mu.Lock()
				defer mu.Unlock()
				if days[day] == nil {
					days[day] = &qr.Counts{}
				}
				days[day].Add(c)
			})
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return st, err
		}
	}
	for day, c := range days {
		st.Days = append(st.Days, qr.Day{Date: day, Counts: *c})
	}
	slices.SortFunc(st.Days, func(a, b qr.Day) int { return strings.Compare(a.Date, b.Date) })
	return st, nil
}

// queryDays reads one shard's day items in [from, to].
func (s *Store) queryDays(ctx context.Context, pk, from, to string, add func(string, qr.Counts)) error {
	in := &dynamodb.QueryInput{
		TableName:                &s.tables.Scenes,
		KeyConditionExpression:   aws.String("#pk = :pk AND #sk BETWEEN :from AND :to"),
		ExpressionAttributeNames: map[string]string{"#pk": attrPK, "#sk": attrSK},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":pk":   &types.AttributeValueMemberS{Value: pk},
			":from": &types.AttributeValueMemberS{Value: prefixDay + from},
			":to":   &types.AttributeValueMemberS{Value: prefixDay + to},
		},
	}
	for {
		out, err := s.db.Query(ctx, in)
		if err != nil {
			return unavailable("query days", err)
		}
		for _, av := range out.Items {
			var c countsItem
			if err := attributevalue.UnmarshalMap(av, &c); err != nil {
				return fmt.Errorf("dynamo: unmarshal counts: %w", err)
			}
			add(strings.TrimPrefix(c.SK, prefixDay), c.counts())
		}
		if len(out.LastEvaluatedKey) == 0 {
			return nil
		}
		in.ExclusiveStartKey = out.LastEvaluatedKey
	}
}

// batchGet reads keys of one table, eventually consistent, in pages of 100.
func (s *Store) batchGet(ctx context.Context, table string, keys []map[string]types.AttributeValue) ([]map[string]types.AttributeValue, error) {
	var items []map[string]types.AttributeValue
	for len(keys) > 0 {
		n := min(len(keys), 100)
		err := s.batchRead(ctx, "batch get", map[string]types.KeysAndAttributes{table: {Keys: keys[:n]}},
			func(_ string, av map[string]types.AttributeValue) error {
				items = append(items, av)
				return nil
			})
		if err != nil {
			return nil, err
		}
		keys = keys[n:]
	}
	return items, nil
}

// batchRead sends one BatchGetItem and hands each item returned to each. DynamoDB
// may leave keys unprocessed under throttling; those are retried a few times with
// a short backoff, then it gives up so that the caller's caller (WeChat's retry, an
// API client) tries again later.
func (s *Store) batchRead(ctx context.Context, op string, req map[string]types.KeysAndAttributes, each func(table string, av map[string]types.AttributeValue) error) error {
	for attempt := 0; len(req) > 0; attempt++ {
		if attempt == 4 {
			return unavailable(op, errUnprocessed)
		}
		if attempt > 0 {
			if err := sleep(ctx, time.Duration(attempt)*20*time.Millisecond); err != nil {
				return unavailable(op, err)
			}
		}
		out, err := s.db.BatchGetItem(ctx, &dynamodb.BatchGetItemInput{RequestItems: req})
		if err != nil {
			return unavailable(op, err)
		}
		for table, items := range out.Responses {
			for _, av := range items {
				if err := each(table, av); err != nil {
					return err
				}
			}
		}
		req = out.UnprocessedKeys
	}
	return nil
}

// Scenes lists every scene with statistics, in scene order, from the registry.
func (s *Store) Scenes(ctx context.Context) ([]string, error) {
	in := &dynamodb.QueryInput{
		TableName:                 &s.tables.Scenes,
		IndexName:                 aws.String(indexByCreated),
		KeyConditionExpression:    aws.String("#lp = :lp"),
		ExpressionAttributeNames:  map[string]string{"#lp": "list_pk"},
		ExpressionAttributeValues: map[string]types.AttributeValue{":lp": &types.AttributeValueMemberS{Value: s.ns + listScenes}},
	}
	var scenes []string
	for {
		out, err := s.db.Query(ctx, in)
		if err != nil {
			return nil, unavailable("list scenes", err)
		}
		for _, av := range out.Items {
			var it registryItem
			if err := attributevalue.UnmarshalMap(av, &it); err != nil {
				return nil, fmt.Errorf("dynamo: unmarshal registry: %w", err)
			}
			scenes = append(scenes, it.Scene)
		}
		if len(out.LastEvaluatedKey) == 0 {
			return scenes, nil
		}
		in.ExclusiveStartKey = out.LastEvaluatedKey
	}
}
