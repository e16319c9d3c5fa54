package stack

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	streamtypes "github.com/aws/aws-sdk-go-v2/service/dynamodbstreams/types"

	"wechatqr/local/cfn"
	"wechatqr/local/moto"
	"wechatqr/local/rie"
	"wechatqr/local/streams"
)

// EventSource is the source of the events the functions publish (docs/api.md, "Scan actions"); the stack routes
// them from the bus to a queue that PublishedEvents reads.
const EventSource = "wechatqr"

// mappingOf is one running stream mapping and what it feeds.
type mappingOf struct {
	function string // logical id
	event    cfn.StreamEvent
	m        *streams.Mapping
}

// awsParts are the parts that exist only when a function reads a stream: moto_server (EventBridge,
// SQS), the queues, the mappings, and what was read from the queues so far.
type awsParts struct {
	moto      *moto.Server
	queues    map[string]*moto.Queue // on-failure queues by logical id
	published *moto.Queue            // the bus's events, when a bus is named
	mappings  []mappingOf

	mu          sync.Mutex
	events      []json.RawMessage
	deadLetters []streams.FailureRecord
}

// streamFunctions are the functions of fns with an enabled DynamoDB event.
func streamFunctions(fns []cfn.Function) []cfn.Function {
	var out []cfn.Function
	for _, f := range fns {
		if slices.ContainsFunc(f.Streams, func(e cfn.StreamEvent) bool { return e.Enabled }) {
			out = append(out, f)
		}
	}
	return out
}

// startAWS starts moto_server and creates, from the template, the on-failure queues of the
// stream events and, when the EventBusName parameter names a bus, that bus with a rule that
// routes EventSource's events to a queue of the stack's.
func (s *Stack) startAWS(ctx context.Context, fns []cfn.Function, prefix string) error {
	srv, err := moto.Start(ctx)
	if err != nil {
		return fmt.Errorf("stack: %w", err)
	}
	s.aws = &awsParts{moto: srv, queues: map[string]*moto.Queue{}}
	for _, f := range fns {
		for _, e := range f.Streams {
			if e.OnFailure == "" || s.aws.queues[e.OnFailure] != nil {
				continue
			}
			q, err := srv.CreateQueue(ctx, prefix+e.OnFailure)
			if err != nil {
				return fmt.Errorf("stack: %w", err)
			}
			s.aws.queues[e.OnFailure] = q
		}
	}
	if bus := s.parameter("EventBusName"); bus != "" {
		q, err := srv.CreateQueue(ctx, prefix+"published-events")
		if err != nil {
			return fmt.Errorf("stack: %w", err)
		}
		if err := srv.RouteEvents(ctx, bus, EventSource, q); err != nil {
			return fmt.Errorf("stack: %w", err)
		}
		s.aws.published = q
	}
	return nil
}

// parameter is a template parameter's default, "" when it has none.
func (s *Stack) parameter(name string) string {
	for _, p := range s.Template.Parameters() {
		if p.Name == name {
			return p.Default
		}
	}
	return ""
}

// startMappings runs each stream event of the running functions, as Lambda's event source
// mappings do.
func (s *Stack) startMappings(ctx context.Context, logs *slog.Logger) error {
	for id, f := range s.functions {
		for _, e := range f.def.Streams {
			if !e.Enabled {
				continue
			}
			table := s.Tables[e.Table]
			out, err := s.Dynamo.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(table)})
			if err != nil {
				return fmt.Errorf("stack: %s's stream: %w", id, err)
			}
			if out.Table.LatestStreamArn == nil {
				return fmt.Errorf("stack: %s: table %s has no stream", id, table)
			}
			cfg := streams.Config{
				StreamARN:               aws.ToString(out.Table.LatestStreamArn),
				FunctionARN:             "arn:aws:lambda:" + rie.Region + ":123456789012:function:" + id,
				StartingPosition:        streamtypes.ShardIteratorType(e.StartingPosition),
				BatchSize:               e.BatchSize,
				BatchingWindow:          e.BatchingWindow,
				Filters:                 e.Filters,
				ReportBatchItemFailures: e.ReportBatchItemFailures,
				BisectOnError:           e.BisectOnError,
				MaxRetries:              e.MaxRetries,
				MaxRecordAge:            e.MaxRecordAge,
				Logger:                  logs.With("mapping", id+"."+e.Event),
			}
			// As a new mapping does: LATEST reads from now on, TRIM_HORIZON replays what the
			// stream holds (a kept data dir's records too).
			if q := s.aws.queues[e.OnFailure]; q != nil {
				cfg.OnFailure = q
			}
			m, err := streams.Start(ctx, streams.Client(s.DB.Endpoint(), rie.Region), f.fn, cfg)
			if err != nil {
				return fmt.Errorf("stack: %s event %s: %w", id, e.Event, err)
			}
			s.aws.mappings = append(s.aws.mappings, mappingOf{function: id, event: e, m: m})
		}
	}
	return nil
}

// awsEnv is what the functions need to reach moto_server.
func (s *Stack) awsEnv() map[string]string {
	if s.aws == nil {
		return nil
	}
	return map[string]string{
		"AWS_ENDPOINT_URL_EVENTBRIDGE": s.aws.moto.Endpoint(),
		"AWS_ENDPOINT_URL_SQS":         s.aws.moto.Endpoint(),
	}
}

var errNoStreams = errors.New("stack: no function of the stack reads a stream")

// Mapping returns the stream mapping of a function (its first DynamoDB event).
func (s *Stack) Mapping(logicalID string) (*streams.Mapping, bool) {
	if s.aws == nil {
		return nil, false
	}
	for _, m := range s.aws.mappings {
		if m.function == logicalID {
			return m.m, true
		}
	}
	return nil, false
}

// StreamIdle waits until every stream mapping has handled every record written before the
// call: the functions on streams have acted on what the test did so far.
func (s *Stack) StreamIdle(ctx context.Context) error {
	if s.aws == nil || len(s.aws.mappings) == 0 {
		return errNoStreams
	}
	for _, m := range s.aws.mappings {
		if err := m.m.Idle(ctx); err != nil {
			return fmt.Errorf("stack: %s: %w", m.function, err)
		}
	}
	return nil
}

// Redeliver has every stream mapping read its stream again from the oldest record
// (TRIM_HORIZON), as after re-creating the mappings: the functions see every record again.
func (s *Stack) Redeliver(ctx context.Context) error {
	if s.aws == nil || len(s.aws.mappings) == 0 {
		return errNoStreams
	}
	for _, m := range s.aws.mappings {
		if err := m.m.Redeliver(ctx); err != nil {
			return fmt.Errorf("stack: %s: %w", m.function, err)
		}
	}
	return nil
}

// PublishedEvents returns every event published on the bus so far (source EventSource), as
// EventBridge delivered them to the stack's queue: the envelope with its detail.
func (s *Stack) PublishedEvents(ctx context.Context) ([]json.RawMessage, error) {
	if s.aws == nil || s.aws.published == nil {
		return nil, errors.New("stack: no bus: the template's EventBusName is empty or no function reads a stream")
	}
	s.aws.mu.Lock()
	defer s.aws.mu.Unlock()
	bodies, err := s.aws.published.Drain(ctx)
	for _, b := range bodies {
		s.aws.events = append(s.aws.events, json.RawMessage(b))
	}
	return slices.Clone(s.aws.events), err
}

// DeadLetters returns every on-failure record the stream mappings sent so far.
func (s *Stack) DeadLetters(ctx context.Context) ([]streams.FailureRecord, error) {
	if s.aws == nil {
		return nil, errNoStreams
	}
	s.aws.mu.Lock()
	defer s.aws.mu.Unlock()
	var errs []error
	ids := make([]string, 0, len(s.aws.queues))
	for id := range s.aws.queues {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids {
		bodies, err := s.aws.queues[id].Drain(ctx)
		errs = append(errs, err)
		for _, b := range bodies {
			var r streams.FailureRecord
			if err := json.Unmarshal([]byte(b), &r); err != nil {
				errs = append(errs, fmt.Errorf("stack: a message on %s: %w", id, err))
				continue
			}
			s.aws.deadLetters = append(s.aws.deadLetters, r)
		}
	}
	return slices.Clone(s.aws.deadLetters), errors.Join(errs...)
}

// MotoURL is moto_server's endpoint, "" when the stack runs none.
func (s *Stack) MotoURL() string {
	if s.aws == nil {
		return ""
	}
	return s.aws.moto.Endpoint()
}

// closeAWS stops the mappings (no invocation in flight after it) and moto_server.
func (s *Stack) closeAWS() {
	if s.aws == nil {
		return
	}
	for _, m := range s.aws.mappings {
		m.m.Close()
	}
	if s.aws.moto != nil {
		_ = s.aws.moto.Close()
	}
}

// MotoPID is moto_server's process id, 0 when the stack runs none.
func (s *Stack) MotoPID() int {
	if s.aws == nil {
		return 0
	}
	return s.aws.moto.PID()
}
