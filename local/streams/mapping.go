// Package streams plays Lambda's event source mapping for a DynamoDB stream, locally: it reads
// the stream of a table on DynamoDB Local shard by shard (following the shards' lineage), keeps
// the records the template's FilterCriteria let through, gathers them into batches by BatchSize
// and batching window, and invokes the function with the events.DynamoDBEvent Lambda would
// build. It honours partial batch responses, bisects a failing batch, retries up to
// MaximumRetryAttempts, drops records older than MaximumRecordAgeInSeconds, and sends what it
// gives up on to the on-failure destination with the record Lambda sends. Each shard is read in
// order with one batch in flight, as Lambda does with a ParallelizationFactor of 1.
package streams

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodbstreams"
	"github.com/aws/aws-sdk-go-v2/service/dynamodbstreams/types"
)

// Invoker runs one synchronous invocation of the function (a *rie.Function is one). An error is
// a failed invocation: the function returned an error, crashed or timed out.
type Invoker interface {
	Invoke(ctx context.Context, payload []byte) ([]byte, error)
}

// Destination takes the on-failure records (JSON) of batches the mapping gave up on; an SQS
// queue when deployed (DestinationConfig.OnFailure).
type Destination interface {
	Send(ctx context.Context, body []byte) error
}

// API is the part of the DynamoDB Streams client the mapping uses.
type API interface {
	DescribeStream(ctx context.Context, in *dynamodbstreams.DescribeStreamInput, opts ...func(*dynamodbstreams.Options)) (*dynamodbstreams.DescribeStreamOutput, error)
	GetShardIterator(ctx context.Context, in *dynamodbstreams.GetShardIteratorInput, opts ...func(*dynamodbstreams.Options)) (*dynamodbstreams.GetShardIteratorOutput, error)
	GetRecords(ctx context.Context, in *dynamodbstreams.GetRecordsInput, opts ...func(*dynamodbstreams.Options)) (*dynamodbstreams.GetRecordsOutput, error)
}

var _ API = (*dynamodbstreams.Client)(nil)

// Client returns a DynamoDB Streams client for DynamoDB Local at endpoint (it serves both APIs
// on one port), signing with dummy credentials.
func Client(endpoint, region string) *dynamodbstreams.Client {
	return dynamodbstreams.New(dynamodbstreams.Options{
		Region:       region,
		Credentials:  credentials.NewStaticCredentialsProvider("local", "local", ""),
		BaseEndpoint: aws.String(endpoint),
	})
}

// Config is one event source mapping: what the template's DynamoDB event says (local/cfn's
// StreamEvent), where the stream and the function are, and the local pacing.
type Config struct {
	StreamARN   string
	FunctionARN string // named in on-failure records
	// StartingPosition is LATEST (the default) or TRIM_HORIZON.
	StartingPosition types.ShardIteratorType
	BatchSize        int           // records per invocation; 0 means Lambda's default, 100
	BatchingWindow   time.Duration // 0 invokes as soon as records are read
	// Filters are FilterCriteria patterns; see ParseFilter for the grammar played.
	Filters                 []string
	ReportBatchItemFailures bool
	BisectOnError           bool
	// MaxRetries is MaximumRetryAttempts; -1 retries until the records expire (and, without
	// MaxRecordAge, for ever, as Lambda would for the stream's 24 hours).
	MaxRetries int
	// MaxRecordAge drops records older than this (by ApproximateCreationDateTime) to the
	// on-failure destination before an invocation; 0 means no limit.
	MaxRecordAge time.Duration
	// OnFailure gets what the mapping gives up on; nil drops it, logged, as Lambda does
	// without a destination.
	OnFailure Destination
	// PollInterval is the pause between GetRecords calls that found nothing; 0 means 250 ms
	// (Lambda polls each shard four times a second).
	PollInterval time.Duration
	// RetryDelay is the pause before the first retry of a failed batch, doubled for each
	// further one up to 2 s; 0 means 100 ms.
	RetryDelay time.Duration
	// Logger gets what the mapping does and why it gives up; nil discards.
	Logger *slog.Logger
}

// Stats counts what the mapping did since Start (Redeliver does not reset them).
type Stats struct {
	Read         int // records read from the stream
	Filtered     int // records the filter dropped
	Invocations  int // invocations of the function, retries included
	Retries      int // invocations that retried records already sent
	Delivered    int // records the function accepted
	DeadLettered int // records given up on: sent to OnFailure (or dropped without one)
	Expired      int // of those, records dropped for their age
}

// Mapping is a running event source mapping.
type Mapping struct {
	cfg    Config
	api    API
	fn     Invoker
	filter *Filter
	log    *slog.Logger

	mu     sync.Mutex
	stats  Stats
	run    *runner
	closed bool
}

// Start checks cfg, reads the stream's shards and takes their iterators, then polls until
// Close: a record written after Start returns is delivered even with LATEST. ctx bounds the
// start only.
func Start(ctx context.Context, api API, fn Invoker, cfg Config) (*Mapping, error) {
	if cfg.StreamARN == "" {
		return nil, errors.New("streams: Config.StreamARN is empty")
	}
	switch cfg.StartingPosition {
	case "":
		cfg.StartingPosition = types.ShardIteratorTypeLatest
	case types.ShardIteratorTypeLatest, types.ShardIteratorTypeTrimHorizon:
	default:
		return nil, fmt.Errorf("streams: StartingPosition %q: want LATEST or TRIM_HORIZON", cfg.StartingPosition)
	}
	if cfg.BatchSize == 0 {
		cfg.BatchSize = 100
	}
	if cfg.BatchSize < 0 || cfg.MaxRetries < -1 || cfg.BatchingWindow < 0 || cfg.MaxRecordAge < 0 {
		return nil, fmt.Errorf("streams: BatchSize %d, MaxRetries %d, BatchingWindow %v, MaxRecordAge %v: out of range",
			cfg.BatchSize, cfg.MaxRetries, cfg.BatchingWindow, cfg.MaxRecordAge)
	}
	if cfg.PollInterval == 0 {
		cfg.PollInterval = 250 * time.Millisecond
	}
	if cfg.RetryDelay == 0 {
		cfg.RetryDelay = 100 * time.Millisecond
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	filter, err := ParseFilter(cfg.Filters)
	if err != nil {
		return nil, err
	}
	m := &Mapping{cfg: cfg, api: api, fn: fn, filter: filter, log: cfg.Logger.With("stream", cfg.StreamARN)}
	r, err := m.startRunner(ctx, cfg.StartingPosition)
	if err != nil {
		return nil, err
	}
	m.run = r
	return m, nil
}

// Stats returns the counts so far.
func (m *Mapping) Stats() Stats {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.stats
}

func (m *Mapping) count(f func(*Stats)) {
	m.mu.Lock()
	f(&m.stats)
	m.mu.Unlock()
}

// Idle waits until every record written to the stream before the call has been handled:
// delivered, filtered out or given up on. It is how a test waits for the stream instead of
// sleeping.
func (m *Mapping) Idle(ctx context.Context) error {
	m.mu.Lock()
	r := m.run
	m.mu.Unlock()
	if r == nil {
		return errors.New("streams: mapping closed")
	}
	since := time.Now()
	r.kick()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		if r.idleSince(since) {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("streams: waiting for the stream: %w", ctx.Err())
		case <-r.done:
			return errors.New("streams: mapping stopped")
		case <-tick.C:
		}
	}
}

// Redeliver stops reading and starts again from the oldest record of every shard
// (TRIM_HORIZON), so that the function sees the whole stream again, as after re-creating the
// mapping. It returns once the new readers hold their iterators.
func (m *Mapping) Redeliver(ctx context.Context) error {
	m.mu.Lock()
	old, closed := m.run, m.closed
	m.run = nil
	m.mu.Unlock()
	if closed {
		return errors.New("streams: mapping closed")
	}
	if old != nil {
		old.stop()
	}
	r, err := m.startRunner(ctx, types.ShardIteratorTypeTrimHorizon)
	m.mu.Lock()
	defer m.mu.Unlock()
	if err != nil {
		return err
	}
	if m.closed { // closed meanwhile
		r.stop()
		return errors.New("streams: mapping closed")
	}
	m.run = r
	return nil
}

// Close stops polling and returns once no invocation is in flight from the mapping.
func (m *Mapping) Close() {
	m.mu.Lock()
	r := m.run
	m.run, m.closed = nil, true
	m.mu.Unlock()
	if r != nil {
		r.stop()
	}
}

// runner reads every shard of the stream from one starting point; Redeliver replaces it.
type runner struct {
	m      *Mapping
	ctx    context.Context
	cancel context.CancelFunc
	done   chan struct{} // closed when the runner and its shard readers have returned
	wg     sync.WaitGroup
	kicks  chan struct{}

	mu          sync.Mutex
	shards      map[string]*shardState
	describedAt time.Time // start of the last complete DescribeStream
}

type shardState struct {
	parent    string
	started   bool
	ended     bool
	endedAt   time.Time
	idleSince time.Time // start of the last poll that found nothing with nothing pending
}

// startRunner lists the shards and takes the iterators of those to read first, synchronously,
// then reads in the background.
func (m *Mapping) startRunner(ctx context.Context, pos types.ShardIteratorType) (*runner, error) {
	life, cancel := context.WithCancel(context.Background())
	r := &runner{m: m, ctx: life, cancel: cancel, done: make(chan struct{}), kicks: make(chan struct{}, 1), shards: map[string]*shardState{}}
	at := time.Now()
	shards, err := r.describe(ctx)
	if err != nil {
		cancel()
		return nil, err
	}
	type first struct {
		id   string
		iter *string
	}
	var firsts []first
	for _, s := range shards {
		id := aws.ToString(s.ShardId)
		st := &shardState{parent: aws.ToString(s.ParentShardId)}
		r.shards[id] = st
		closed := s.SequenceNumberRange != nil && s.SequenceNumberRange.EndingSequenceNumber != nil
		switch {
		case pos == types.ShardIteratorTypeLatest && closed:
			// LATEST reads what is written from now on: closed shards get nothing new.
			st.started, st.ended = true, true
		case pos == types.ShardIteratorTypeLatest || st.parent == "" || !contains(shards, st.parent):
			iter, err := r.iterator(ctx, id, pos, "")
			if err != nil {
				cancel()
				return nil, err
			}
			st.started = true
			firsts = append(firsts, first{id, iter})
		}
		// Otherwise a child waits for its parent to be read to the end.
	}
	r.describedAt = at
	for _, f := range firsts {
		r.wg.Add(1)
		go r.readShard(f.id, f.iter, pos)
	}
	r.wg.Add(1)
	go r.watch()
	go func() {
		r.wg.Wait()
		close(r.done)
	}()
	return r, nil
}

func contains(shards []types.Shard, id string) bool {
	for _, s := range shards {
		if aws.ToString(s.ShardId) == id {
			return true
		}
	}
	return false
}

func (r *runner) stop() {
	r.cancel()
	<-r.done
}

// kick asks the watcher to list the shards now.
func (r *runner) kick() {
	select {
	case r.kicks <- struct{}{}:
	default:
	}
}

func (r *runner) describe(ctx context.Context) ([]types.Shard, error) {
	var shards []types.Shard
	var start *string
	for {
		out, err := r.m.api.DescribeStream(ctx, &dynamodbstreams.DescribeStreamInput{StreamArn: aws.String(r.m.cfg.StreamARN), ExclusiveStartShardId: start})
		if err != nil {
			return nil, fmt.Errorf("streams: DescribeStream %s: %w", r.m.cfg.StreamARN, err)
		}
		if out.StreamDescription == nil {
			return nil, fmt.Errorf("streams: DescribeStream %s: no description", r.m.cfg.StreamARN)
		}
		shards = append(shards, out.StreamDescription.Shards...)
		if start = out.StreamDescription.LastEvaluatedShardId; start == nil {
			return shards, nil
		}
	}
}

func (r *runner) iterator(ctx context.Context, shard string, pos types.ShardIteratorType, after string) (*string, error) {
	in := &dynamodbstreams.GetShardIteratorInput{StreamArn: aws.String(r.m.cfg.StreamARN), ShardId: aws.String(shard), ShardIteratorType: pos}
	if after != "" {
		in.ShardIteratorType, in.SequenceNumber = types.ShardIteratorTypeAfterSequenceNumber, aws.String(after)
	}
	out, err := r.m.api.GetShardIterator(ctx, in)
	if err != nil {
		return nil, fmt.Errorf("streams: GetShardIterator %s %s: %w", shard, in.ShardIteratorType, err)
	}
	return out.ShardIterator, nil
}

// watch lists the shards every few seconds, or when kicked, and starts reading a new shard once
// its parent has been read to the end (TRIM_HORIZON: a new shard is read from its start).
func (r *runner) watch() {
	defer r.wg.Done()
	tick := time.NewTicker(5 * time.Second)
	defer tick.Stop()
	for {
		select {
		case <-r.ctx.Done():
			return
		case <-tick.C:
		case <-r.kicks:
		}
		at := time.Now()
		shards, err := r.describe(r.ctx)
		if err != nil {
			if r.ctx.Err() == nil {
				r.m.log.Warn("listing the stream's shards failed; trying again", "err", err)
			}
			continue
		}
		r.mu.Lock()
		var ready []string
		for _, s := range shards {
			id := aws.ToString(s.ShardId)
			st, ok := r.shards[id]
			if !ok {
				st = &shardState{parent: aws.ToString(s.ParentShardId)}
				r.shards[id] = st
			}
			if st.started {
				continue
			}
			if p, ok := r.shards[st.parent]; ok && !p.ended && contains(shards, st.parent) {
				continue
			}
			st.started = true
			ready = append(ready, id)
		}
		r.describedAt = at
		r.mu.Unlock()
		for _, id := range ready {
			iter, err := r.iterator(r.ctx, id, types.ShardIteratorTypeTrimHorizon, "")
			if err != nil {
				r.m.log.Warn("a new shard's iterator failed; trying again", "shard", id, "err", err)
				r.mu.Lock()
				r.shards[id].started = false
				r.mu.Unlock()
				continue
			}
			r.wg.Add(1)
			go r.readShard(id, iter, types.ShardIteratorTypeTrimHorizon)
		}
	}
}

// idleSince reports whether every shard has been polled empty, with nothing pending, after t,
// and the shards were listed after t and after the last shard ended.
func (r *runner) idleSince(t time.Time) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.describedAt.After(t) {
		return false
	}
	for _, st := range r.shards {
		switch {
		case st.ended:
			if st.endedAt.After(r.describedAt) {
				return false
			}
		case !st.started, !st.idleSince.After(t):
			return false
		}
	}
	return true
}

func (r *runner) setIdle(shard string, since time.Time) {
	r.mu.Lock()
	r.shards[shard].idleSince = since
	r.mu.Unlock()
}

// pending is a record read and kept by the filter, waiting for its batch.
type pending struct {
	rec     []byte // the record's JSON as Lambda sends it
	seq     string
	created time.Time // ApproximateCreationDateTime, or when it was read if later
}

// readShard reads one shard in order, from iter (taken at pos), until it ends or the runner
// stops.
func (r *runner) readShard(shard string, iter *string, pos types.ShardIteratorType) {
	defer r.wg.Done()
	cfg := r.m.cfg
	log := r.m.log.With("shard", shard)
	var buf []pending
	var windowStart time.Time
	lastSeq := ""
	for r.ctx.Err() == nil {
		pollStart := time.Now()
		got := 0
		if iter != nil && len(buf) < cfg.BatchSize {
			out, err := r.m.api.GetRecords(r.ctx, &dynamodbstreams.GetRecordsInput{ShardIterator: iter, Limit: aws.Int32(1000)})
			var expired *types.ExpiredIteratorException
			var trimmed *types.TrimmedDataAccessException
			switch {
			case r.ctx.Err() != nil:
				return
			case errors.As(err, &expired), errors.As(err, &trimmed):
				// Iterators last 15 minutes: take a new one where this one stood. DynamoDB
				// Local has also been seen to refuse a LATEST iterator of an empty shard as
				// trimmed; with nothing read yet, the shard's oldest record is where LATEST
				// stood.
				if trimmed != nil && lastSeq == "" {
					pos = types.ShardIteratorTypeTrimHorizon
				}
				log.Warn("taking a new iterator", "err", err, "after", lastSeq)
				next, err := r.iterator(r.ctx, shard, pos, lastSeq)
				if err != nil {
					log.Warn("renewing an expired iterator failed", "err", err)
					r.sleep(cfg.PollInterval)
					continue
				}
				iter = next
				continue
			case err != nil:
				log.Warn("GetRecords failed; trying again", "err", err)
				r.sleep(cfg.PollInterval)
				continue
			}
			iter, got = out.NextShardIterator, len(out.Records)
			r.m.count(func(s *Stats) { s.Read += got })
			for _, rec := range out.Records {
				p, keep, err := r.keep(rec)
				lastSeq = p.seq
				if err != nil {
					log.Error("a stream record cannot be passed on; dropped", "err", err)
					continue
				}
				if !keep {
					r.m.count(func(s *Stats) { s.Filtered++ })
					continue
				}
				if len(buf) == 0 {
					windowStart = time.Now()
				}
				buf = append(buf, p)
			}
		}
		ended := iter == nil
		if len(buf) > 0 && (len(buf) >= cfg.BatchSize || ended || time.Since(windowStart) >= cfg.BatchingWindow) {
			n := min(len(buf), cfg.BatchSize)
			r.deliver(shard, buf[:n], 0)
			buf = buf[n:]
			continue
		}
		if ended && len(buf) == 0 {
			r.mu.Lock()
			st := r.shards[shard]
			st.ended, st.endedAt = true, time.Now()
			r.mu.Unlock()
			r.kick() // its children can start now
			return
		}
		if got == 0 && len(buf) == 0 {
			r.setIdle(shard, pollStart)
		} else {
			r.setIdle(shard, time.Time{})
		}
		switch {
		case got >= 1000:
			// A full page: more is waiting.
		case len(buf) > 0:
			r.sleep(min(cfg.PollInterval, cfg.BatchingWindow-time.Since(windowStart)))
		default:
			r.sleep(cfg.PollInterval)
		}
	}
}

// keep builds the record's event JSON and applies the filter to it.
func (r *runner) keep(rec types.Record) (pending, bool, error) {
	// DynamoDB Local rounds ApproximateCreationDateTime down to the minute, which would age
	// a record by up to a minute at once: its age counts from when it was read, if later. (So
	// a redelivered record's age starts again.)
	p := pending{created: time.Now()}
	if rec.Dynamodb != nil {
		p.seq = aws.ToString(rec.Dynamodb.SequenceNumber)
		if t := rec.Dynamodb.ApproximateCreationDateTime; t != nil && t.After(p.created) {
			p.created = *t
		}
	}
	er, err := eventRecord(rec, r.m.cfg.StreamARN)
	if err != nil {
		return p, false, err
	}
	if p.rec, err = marshal(er); err != nil {
		return p, false, err
	}
	ok, err := r.m.filter.Match(p.rec)
	return p, ok, err
}

func (r *runner) sleep(d time.Duration) {
	if d <= 0 {
		return
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-r.ctx.Done():
	case <-t.C:
	}
}
