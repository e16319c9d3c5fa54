package streams

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodbstreams"
	"github.com/aws/aws-sdk-go-v2/service/dynamodbstreams/types"
)

// DynamoDB Local keeps one shard per stream for as long as a test runs, so shard lineage (a
// shard closes, its children carry on) is played here by a stream of fixed shards at the API's
// edge.

// fixedStream serves shards with fixed records; a shard with an end is closed.
type fixedStream struct {
	shards []types.Shard
	recs   map[string][]types.Record
}

func (s *fixedStream) DescribeStream(ctx context.Context, in *dynamodbstreams.DescribeStreamInput, _ ...func(*dynamodbstreams.Options)) (*dynamodbstreams.DescribeStreamOutput, error) {
	return &dynamodbstreams.DescribeStreamOutput{StreamDescription: &types.StreamDescription{StreamArn: in.StreamArn, Shards: s.shards}}, nil
}

// Iterators are "shard/position": the index of the next record.
func (s *fixedStream) GetShardIterator(ctx context.Context, in *dynamodbstreams.GetShardIteratorInput, _ ...func(*dynamodbstreams.Options)) (*dynamodbstreams.GetShardIteratorOutput, error) {
	id := aws.ToString(in.ShardId)
	pos := 0
	switch in.ShardIteratorType {
	case types.ShardIteratorTypeLatest:
		pos = len(s.recs[id])
	case types.ShardIteratorTypeAfterSequenceNumber:
		for i, r := range s.recs[id] {
			if aws.ToString(r.Dynamodb.SequenceNumber) == aws.ToString(in.SequenceNumber) {
				pos = i + 1
			}
		}
	}
	return &dynamodbstreams.GetShardIteratorOutput{ShardIterator: aws.String(fmt.Sprintf("%s/%d", id, pos))}, nil
}

func (s *fixedStream) GetRecords(ctx context.Context, in *dynamodbstreams.GetRecordsInput, _ ...func(*dynamodbstreams.Options)) (*dynamodbstreams.GetRecordsOutput, error) {
	id, p, _ := strings.Cut(aws.ToString(in.ShardIterator), "/")
	pos, _ := strconv.Atoi(p)
	recs := s.recs[id][pos:]
	out := &dynamodbstreams.GetRecordsOutput{Records: recs, NextShardIterator: aws.String(fmt.Sprintf("%s/%d", id, pos+len(recs)))}
	for _, sh := range s.shards {
		if aws.ToString(sh.ShardId) == id && sh.SequenceNumberRange.EndingSequenceNumber != nil {
			out.NextShardIterator = nil // a closed shard read to its end
		}
	}
	return out, nil
}

func record(seq int) types.Record {
	now := time.Now()
	return types.Record{
		EventID: aws.String("e" + strconv.Itoa(seq)), EventName: types.OperationTypeInsert, EventSource: aws.String("aws:dynamodb"),
		Dynamodb: &types.StreamRecord{
			SequenceNumber: aws.String(fmt.Sprintf("%03d", seq)), ApproximateCreationDateTime: &now,
			Keys: map[string]types.AttributeValue{"sk": &types.AttributeValueMemberS{Value: "scan#" + strconv.Itoa(seq)}},
		},
	}
}

// orderKeeper records the sequence numbers it is invoked with.
type orderKeeper struct {
	mu   sync.Mutex
	seqs []string
}

func (o *orderKeeper) Invoke(ctx context.Context, payload []byte) ([]byte, error) {
	var e events.DynamoDBEvent
	if err := json.Unmarshal(payload, &e); err != nil {
		return nil, err
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	for _, r := range e.Records {
		o.seqs = append(o.seqs, r.Change.SequenceNumber)
	}
	return nil, nil
}

func TestShardLineageIsReadParentFirst(t *testing.T) {
	shard := func(id, parent string, closed bool) types.Shard {
		s := types.Shard{ShardId: aws.String(id), SequenceNumberRange: &types.SequenceNumberRange{StartingSequenceNumber: aws.String("000")}}
		if parent != "" {
			s.ParentShardId = aws.String(parent)
		}
		if closed {
			s.SequenceNumberRange.EndingSequenceNumber = aws.String("999")
		}
		return s
	}
	// The child is listed first: the order of DescribeStream must not decide the reading order.
	stream := &fixedStream{
		shards: []types.Shard{shard("child", "parent", false), shard("parent", "", true)},
		recs: map[string][]types.Record{
			"parent": {record(1), record(2), record(3)},
			"child":  {record(4), record(5)},
		},
	}
	fn := &orderKeeper{}
	m, err := Start(context.Background(), stream, fn, Config{StreamARN: "arn:stream", StartingPosition: types.ShardIteratorTypeTrimHorizon, BatchSize: 2, PollInterval: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := m.Idle(ctx); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(fn.seqs, ","); got != "001,002,003,004,005" {
		t.Errorf("delivered %s, want the parent's records, then the child's", got)
	}

	// LATEST starts at the open shard's end and ignores the closed one.
	fn2 := &orderKeeper{}
	m2, err := Start(context.Background(), stream, fn2, Config{StreamARN: "arn:stream", PollInterval: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer m2.Close()
	if err := m2.Idle(ctx); err != nil {
		t.Fatal(err)
	}
	if len(fn2.seqs) != 0 {
		t.Errorf("LATEST delivered %v, want nothing written before the start", fn2.seqs)
	}
}
