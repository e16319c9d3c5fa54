package streams_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	streamtypes "github.com/aws/aws-sdk-go-v2/service/dynamodbstreams/types"

	"wechatqr/local/dynamolocal/dynamotest"
	"wechatqr/local/moto"
	"wechatqr/local/rie"
	"wechatqr/local/streams"
)

// These tests run the mapping as `make run` does: DynamoDB Local's stream of the template's
// events table, a function built from testdata/consumer under aws-lambda-rie, and moto_server's
// SQS as the on-failure destination.

// scanFilter is the template's FilterCriteria for ScanActionsFunction.
const scanFilter = `{"eventName":["INSERT"],"dynamodb":{"Keys":{"sk":{"S":[{"prefix":"scan#"}]}}}}`

var (
	buildDir  string
	buildOnce sync.Once
	bootstrap string
	buildErr  error
)

func TestMain(m *testing.M) {
	var err error
	if buildDir, err = os.MkdirTemp("", "streams-test-"); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := dynamotest.Main(m)
	os.RemoveAll(buildDir)
	os.Exit(code)
}

// fixture is a stream, the consumer function and what it logged.
type fixture struct {
	t       *testing.T
	ddb     *dynamodb.Client
	table   string
	stream  string
	fn      *rie.Function
	logFile string
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	rie.SkipShort(t)
	buildOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		defer cancel()
		bootstrap, buildErr = rie.Build(ctx, "./local/streams/testdata/consumer", buildDir)
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	ddb, names := dynamotest.Tables(t, nil, "EventsTable")
	f := &fixture{t: t, ddb: ddb, table: names["EventsTable"]}
	f.stream = streamARN(t, f)
	f.logFile = filepath.Join(t.TempDir(), "invocations.jsonl")
	fn, err := rie.Start(context.Background(), rie.Options{Bootstrap: bootstrap, Env: []string{"CONSUMER_LOG=" + f.logFile}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = fn.Close() })
	f.fn = fn
	return f
}

// streamARN is the stream of the fixture's table.
func streamARN(t *testing.T, f *fixture) string {
	t.Helper()
	desc, err := f.ddb.DescribeTable(context.Background(), &dynamodb.DescribeTableInput{TableName: aws.String(f.table)})
	if err != nil {
		t.Fatal(err)
	}
	if desc.Table.LatestStreamArn == nil {
		t.Fatal("the events table has no stream: template.yaml lost its StreamSpecification")
	}
	return *desc.Table.LatestStreamArn
}

// start starts a mapping on the fixture's stream with the template's filter and cfg's other
// settings.
func (f *fixture) start(cfg streams.Config) *streams.Mapping {
	f.t.Helper()
	cfg.StreamARN = f.stream
	cfg.FunctionARN = "arn:aws:lambda:us-east-1:123456789012:function:consumer"
	if cfg.Filters == nil {
		cfg.Filters = []string{scanFilter}
	}
	cfg.PollInterval = 50 * time.Millisecond
	cfg.RetryDelay = 10 * time.Millisecond
	m, err := streams.Start(context.Background(), streams.Client(dynamotest.Server(f.t).Endpoint(), "us-east-1"), f.fn, cfg)
	if err != nil {
		f.t.Fatal(err)
	}
	f.t.Cleanup(m.Close)
	return m
}

// put writes an item; mode tells the consumer how to answer for it.
func (f *fixture) put(pk, sk, mode string) {
	f.t.Helper()
	item := map[string]types.AttributeValue{"pk": &types.AttributeValueMemberS{Value: pk}, "sk": &types.AttributeValueMemberS{Value: sk}}
	if mode != "" {
		item["mode"] = &types.AttributeValueMemberS{Value: mode}
	}
	if _, err := f.ddb.PutItem(context.Background(), &dynamodb.PutItemInput{TableName: aws.String(f.table), Item: item}); err != nil {
		f.t.Fatal(err)
	}
}

func (f *fixture) scan(i int, mode string) string {
	sk := fmt.Sprintf("scan#%010d#SCAN#poster-%d", 1732500000+i, i)
	f.put(fmt.Sprintf("user#o%d", i), sk, mode)
	return sk
}

func idle(t *testing.T, m *streams.Mapping) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := m.Idle(ctx); err != nil {
		t.Fatal(err)
	}
}

// invocations reads the events the consumer got, in order.
func (f *fixture) invocations() []events.DynamoDBEvent {
	f.t.Helper()
	b, err := os.ReadFile(f.logFile)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		f.t.Fatal(err)
	}
	var out []events.DynamoDBEvent
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(nil, 8<<20)
	for sc.Scan() {
		var e events.DynamoDBEvent
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			f.t.Fatalf("the consumer logged %q: %v", sc.Text(), err)
		}
		out = append(out, e)
	}
	return out
}

// sks lists each invocation's records by sort key.
func sks(invs []events.DynamoDBEvent) [][]string {
	var out [][]string
	for _, e := range invs {
		var batch []string
		for _, r := range e.Records {
			batch = append(batch, r.Change.Keys["sk"].String())
		}
		out = append(out, batch)
	}
	return out
}

func TestFilterDeliversOnlyNewScanRecords(t *testing.T) {
	f := newFixture(t)
	m := f.start(streams.Config{})
	before := time.Now().Add(-2 * time.Second)
	f.put("push#m1", "claim", "")                                               // a claim: not a scan record
	sk := f.scan(1, "")                                                         // the one record wanted
	f.put("user#o1", sk, "changed")                                             // a MODIFY of it
	_, err := f.ddb.DeleteItem(context.Background(), &dynamodb.DeleteItemInput{ // a REMOVE
		TableName: aws.String(f.table),
		Key:       map[string]types.AttributeValue{"pk": &types.AttributeValueMemberS{Value: "user#o1"}, "sk": &types.AttributeValueMemberS{Value: sk}},
	})
	if err != nil {
		t.Fatal(err)
	}
	idle(t, m)

	invs := f.invocations()
	if len(invs) != 1 || len(invs[0].Records) != 1 {
		t.Fatalf("invocations %v, want one with the scan's INSERT", sks(invs))
	}
	r := invs[0].Records[0]
	checks := []struct {
		field string
		ok    bool
	}{
		{"eventName INSERT", r.EventName == "INSERT"},
		{"eventSource aws:dynamodb", r.EventSource == "aws:dynamodb"},
		{"eventVersion", r.EventVersion != ""},
		{"eventID", r.EventID != ""},
		{"awsRegion", r.AWSRegion != ""},
		{"eventSourceARN is the stream's", r.EventSourceArn == f.stream},
		{"Keys", r.Change.Keys["pk"].String() == "user#o1" && r.Change.Keys["sk"].String() == sk},
		{"NewImage", r.Change.NewImage["sk"].String() == sk && len(r.Change.OldImage) == 0},
		{"SequenceNumber", r.Change.SequenceNumber != ""},
		{"SizeBytes", r.Change.SizeBytes > 0},
		{"StreamViewType NEW_IMAGE", r.Change.StreamViewType == "NEW_IMAGE"},
		// DynamoDB Local rounds it down to the minute.
		{"ApproximateCreationDateTime", !r.Change.ApproximateCreationDateTime.Before(before.Truncate(time.Minute))},
	}
	for _, c := range checks {
		if !c.ok {
			t.Errorf("%s: record %+v", c.field, r)
		}
	}
	if st := m.Stats(); st.Read != 4 || st.Filtered != 3 || st.Delivered != 1 || st.Invocations != 1 {
		t.Errorf("stats %+v, want 4 read, 3 filtered, 1 delivered in 1 invocation", st)
	}
}

func TestBatchesKeepStreamOrderWithinBatchSize(t *testing.T) {
	f := newFixture(t)
	m := f.start(streams.Config{BatchSize: 4, BatchingWindow: 300 * time.Millisecond})
	var want []string
	for i := range 10 {
		want = append(want, f.scan(i, ""))
	}
	idle(t, m)
	batches := sks(f.invocations())
	var got []string
	for _, b := range batches {
		if len(b) > 4 {
			t.Errorf("a batch of %d records, BatchSize is 4", len(b))
		}
		got = append(got, b...)
	}
	if !slices.Equal(got, want) {
		t.Errorf("delivered %v, want each record once in write order %v", batches, want)
	}
	// The window gathers what is written within it: ten quick writes make few invocations.
	if len(batches) > 5 {
		t.Errorf("%d invocations for 10 records written at once with a 300 ms window", len(batches))
	}
}

func TestPartialFailureRetriesFromTheFirstFailedRecord(t *testing.T) {
	f := newFixture(t)
	m := f.start(streams.Config{BatchSize: 10, BatchingWindow: 500 * time.Millisecond, ReportBatchItemFailures: true, MaxRetries: 3})
	var all []string
	for i := range 5 {
		mode := ""
		if i == 2 {
			mode = "fail-once"
		}
		all = append(all, f.scan(i, mode))
	}
	idle(t, m)
	got := sks(f.invocations())
	want := [][]string{all, all[2:]}
	if !slices.EqualFunc(got, want, slices.Equal) {
		t.Errorf("invocations %v, want %v: the whole batch, then from the failed record on", got, want)
	}
	if st := m.Stats(); st.Delivered != 5 || st.Retries != 1 || st.DeadLettered != 0 {
		t.Errorf("stats %+v", st)
	}
}

func TestWithoutReportBatchItemFailuresAResponseIsSuccess(t *testing.T) {
	f := newFixture(t)
	m := f.start(streams.Config{BatchingWindow: 200 * time.Millisecond, MaxRetries: 3})
	f.scan(0, "fail-always")
	idle(t, m)
	if n := len(f.invocations()); n != 1 {
		t.Errorf("%d invocations: batchItemFailures must be ignored unless FunctionResponseTypes asks for them", n)
	}
}

// startMoto starts moto_server with a dead-letter queue.
func startMoto(t *testing.T) *moto.Queue {
	t.Helper()
	ctx := context.Background()
	srv := moto.ForTest(t)
	q, err := srv.CreateQueue(ctx, "dlq")
	if err != nil {
		t.Fatal(err)
	}
	return q
}

func deadLetters(t *testing.T, q *moto.Queue) []streams.FailureRecord {
	t.Helper()
	bodies, err := q.Drain(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var out []streams.FailureRecord
	for _, b := range bodies {
		var r streams.FailureRecord
		if err := json.Unmarshal([]byte(b), &r); err != nil {
			t.Fatalf("DLQ message %q: %v", b, err)
		}
		out = append(out, r)
	}
	return out
}

func TestBisectIsolatesAPoisonRecordAndDeadLettersIt(t *testing.T) {
	q := startMoto(t)
	f := newFixture(t)
	m := f.start(streams.Config{
		BatchSize: 8, BatchingWindow: 500 * time.Millisecond, ReportBatchItemFailures: true,
		BisectOnError: true, MaxRetries: 2, OnFailure: q,
	})
	var all []string
	for i := range 8 {
		mode := ""
		if i == 5 {
			mode = "poison"
		}
		all = append(all, f.scan(i, mode))
	}
	idle(t, m)

	// Every other record reached the function in an invocation without the poison, which
	// therefore succeeded; the poison was tried alone 1+MaxRetries times.
	invs := sks(f.invocations())
	accepted := map[string]int{}
	alone := 0
	for _, b := range invs {
		if slices.Contains(b, all[5]) {
			if len(b) == 1 {
				alone++
			}
			continue
		}
		for _, sk := range b {
			accepted[sk]++
		}
	}
	for i, sk := range all {
		if i != 5 && accepted[sk] != 1 {
			t.Errorf("record %d accepted %d times, want once; invocations %v", i, accepted[sk], invs)
		}
	}
	if alone != 3 {
		t.Errorf("the poison record was invoked alone %d times, want 1 + MaxRetries = 3; invocations %v", alone, invs)
	}

	dl := deadLetters(t, q)
	if len(dl) != 1 {
		t.Fatalf("%d DLQ messages, want 1: %+v", len(dl), dl)
	}
	d := dl[0]
	poison := f.invocations()
	var seq string
	for _, e := range poison {
		for _, r := range e.Records {
			if r.Change.Keys["sk"].String() == all[5] {
				seq = r.Change.SequenceNumber
			}
		}
	}
	checks := []struct {
		field string
		ok    bool
	}{
		{"condition", d.RequestContext.Condition == streams.ConditionRetriesExhausted},
		{"functionArn", strings.HasSuffix(d.RequestContext.FunctionARN, ":function:consumer")},
		{"approximateInvokeCount", d.RequestContext.ApproximateInvokeCount == 3},
		{"functionError", d.ResponseContext.FunctionError == "Unhandled" && d.ResponseContext.StatusCode == 200},
		{"the poison's sequence number", d.BatchInfo.StartSequenceNumber == seq && d.BatchInfo.EndSequenceNumber == seq},
		{"batchSize", d.BatchInfo.BatchSize == 1},
		{"streamArn", d.BatchInfo.StreamARN == f.stream},
		{"shardId", d.BatchInfo.ShardID != ""},
		{"arrival", !d.BatchInfo.ApproximateArrivalOfFirstRecord.IsZero()},
		{"version", d.Version == "1.0" && !d.Timestamp.IsZero()},
	}
	for _, c := range checks {
		if !c.ok {
			t.Errorf("DLQ message %s: %+v", c.field, d)
		}
	}
	if st := m.Stats(); st.Delivered != 7 || st.DeadLettered != 1 {
		t.Errorf("stats %+v, want 7 delivered, 1 dead-lettered", st)
	}
}

func TestRecordsPastTheirAgeGoToTheDLQ(t *testing.T) {
	q := startMoto(t)
	f := newFixture(t)
	m := f.start(streams.Config{
		BatchingWindow: 300 * time.Millisecond, ReportBatchItemFailures: true, MaxRetries: -1,
		MaxRecordAge: 2 * time.Second, OnFailure: q,
	})
	f.scan(0, "fail-always")
	behind := f.scan(1, "")
	idle(t, m)
	// Retried without a retry limit until it was too old, then given up on for its age; the
	// record behind it waited, and was delivered or expired in turn, never lost.
	invs := sks(f.invocations())
	if len(invs) < 2 {
		t.Errorf("invocations %v, want retries before the record expired", invs)
	}
	dl := deadLetters(t, q)
	if len(dl) == 0 || dl[0].RequestContext.Condition != streams.ConditionRecordAge || dl[0].BatchInfo.ShardID == "" {
		t.Fatalf("DLQ %+v, want a RecordAgeExceeded message", dl)
	}
	st := m.Stats()
	if st.Expired < 1 || st.Delivered+st.Expired != 2 || st.DeadLettered != st.Expired {
		t.Errorf("stats %+v: want the failing record expired and the one behind it delivered or expired", st)
	}
	if st.Delivered == 1 && !slices.Equal(invs[len(invs)-1], []string{behind}) {
		t.Errorf("last invocation %v, want the record behind the expired one", invs[len(invs)-1])
	}
}

func TestLatestSkipsWhatWasWrittenBeforeStart(t *testing.T) {
	f := newFixture(t)
	old := f.scan(0, "")
	m := f.start(streams.Config{})
	fresh := f.scan(1, "")
	idle(t, m)
	got := slices.Concat(sks(f.invocations())...)
	if !slices.Equal(got, []string{fresh}) {
		t.Errorf("delivered %v, want only %s (not %s, written before a LATEST start)", got, fresh, old)
	}
}

func TestRedeliverReplaysTheWholeStreamInOrder(t *testing.T) {
	f := newFixture(t)
	m := f.start(streams.Config{StartingPosition: streamtypes.ShardIteratorTypeTrimHorizon, BatchSize: 2})
	var want []string
	for i := range 5 {
		want = append(want, f.scan(i, ""))
	}
	idle(t, m)
	if err := m.Redeliver(context.Background()); err != nil {
		t.Fatal(err)
	}
	idle(t, m)
	got := slices.Concat(sks(f.invocations())...)
	if !slices.Equal(got, slices.Concat(want, want)) {
		t.Errorf("delivered %v, want the stream twice in order", got)
	}
}

func TestStartRefusesAFilterItCannotPlay(t *testing.T) {
	_, err := streams.Start(context.Background(), nil, nil, streams.Config{StreamARN: "arn:x", Filters: []string{`{"dynamodb":{"SizeBytes":[{"numeric":[">",1]}]}}`}})
	if err == nil || !strings.Contains(err.Error(), `"numeric" is not implemented locally`) {
		t.Errorf("Start = %v, want the filter refused", err)
	}
}
