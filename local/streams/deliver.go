package streams

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"time"
)

// Conditions of an on-failure record: why the mapping gave up on a batch.
const (
	ConditionRetriesExhausted = "RetryAttemptsExhausted"
	ConditionRecordAge        = "RecordAgeExceeded"
)

// FailureRecord is what Lambda sends to a stream mapping's on-failure destination: which
// records it gave up on (shard and sequence numbers; the records themselves stay on the stream
// for 24 hours) and why.
type FailureRecord struct {
	RequestContext struct {
		RequestID              string `json:"requestId"`
		FunctionARN            string `json:"functionArn"`
		Condition              string `json:"condition"`
		ApproximateInvokeCount int    `json:"approximateInvokeCount"`
	} `json:"requestContext"`
	ResponseContext struct {
		StatusCode      int    `json:"statusCode"`
		ExecutedVersion string `json:"executedVersion"`
		FunctionError   string `json:"functionError,omitempty"`
	} `json:"responseContext"`
	Version   string    `json:"version"`
	Timestamp time.Time `json:"timestamp"`
	BatchInfo BatchInfo `json:"DDBStreamBatchInfo"`
}

// BatchInfo locates the records of a FailureRecord on the stream.
type BatchInfo struct {
	ShardID                         string    `json:"shardId"`
	StartSequenceNumber             string    `json:"startSequenceNumber"`
	EndSequenceNumber               string    `json:"endSequenceNumber"`
	ApproximateArrivalOfFirstRecord time.Time `json:"approximateArrivalOfFirstRecord"`
	ApproximateArrivalOfLastRecord  time.Time `json:"approximateArrivalOfLastRecord"`
	BatchSize                       int       `json:"batchSize"`
	StreamARN                       string    `json:"streamArn"`
}

// outcome of one invocation.
type outcome struct {
	ok       int    // records accepted from the start of the batch (the checkpoint)
	fnErr    bool   // the invocation failed as a whole: bisect applies
	fnErrMsg string // for the log
}

// deliver hands batch to the function until every record is accepted or given up on. tries is
// how often these records were invoked before (bisection keeps the count: Lambda does not
// count a split as a retry).
func (r *runner) deliver(shard string, batch []pending, tries int) {
	cfg := r.m.cfg
	log := r.m.log.With("shard", shard)
	for len(batch) > 0 && r.ctx.Err() == nil {
		if cfg.MaxRecordAge > 0 {
			// Records are in stream order, so the too old ones lead.
			n := 0
			for n < len(batch) && time.Since(batch[n].created) > cfg.MaxRecordAge {
				n++
			}
			if n > 0 {
				r.m.count(func(s *Stats) { s.Expired += n })
				r.giveUp(shard, batch[:n], ConditionRecordAge, tries, false)
				batch = batch[n:]
				continue
			}
		}
		payload := eventPayload(batch)
		out, err := r.m.fn.Invoke(r.ctx, payload)
		if r.ctx.Err() != nil {
			return // stopped: the records are read again by whoever reads the stream next
		}
		r.m.count(func(s *Stats) {
			s.Invocations++
			if tries > 0 {
				s.Retries++
			}
		})
		tries++
		res := r.outcome(out, err, batch)
		if res.ok > 0 {
			r.m.count(func(s *Stats) { s.Delivered += res.ok })
			batch = batch[res.ok:]
		}
		if len(batch) == 0 {
			return
		}
		log.Info("records failed", "records", len(batch), "first", batch[0].seq, "function_error", res.fnErrMsg, "tries", tries)
		if res.fnErr && cfg.BisectOnError && len(batch) > 1 {
			half := len(batch) / 2
			r.deliver(shard, batch[:half], tries-1)
			r.deliver(shard, batch[half:], tries-1)
			return
		}
		if cfg.MaxRetries >= 0 && tries > cfg.MaxRetries {
			r.giveUp(shard, batch, ConditionRetriesExhausted, tries, res.fnErr)
			return
		}
		r.sleep(min(cfg.RetryDelay<<min(tries-1, 10), 2*time.Second))
	}
}

// outcome reads an invocation's result as Lambda does: an error fails the whole batch; with
// ReportBatchItemFailures, the lowest failed sequence number is the checkpoint and a response
// that names no record of the batch, or cannot be read, fails the whole batch too.
func (r *runner) outcome(out []byte, err error, batch []pending) outcome {
	if err != nil {
		return outcome{fnErr: true, fnErrMsg: err.Error()}
	}
	if !r.m.cfg.ReportBatchItemFailures {
		return outcome{ok: len(batch)}
	}
	body := bytes.TrimSpace(out)
	if len(body) == 0 || string(body) == "null" {
		return outcome{ok: len(batch)}
	}
	var res struct {
		Failures []struct {
			ID *string `json:"itemIdentifier"`
		} `json:"batchItemFailures"`
	}
	if err := json.Unmarshal(body, &res); err != nil {
		return outcome{fnErrMsg: "unreadable batch response: " + err.Error()}
	}
	first := len(batch)
	for _, f := range res.Failures {
		i := -1
		if f.ID != nil {
			for j, p := range batch {
				if p.seq == *f.ID {
					i = j
					break
				}
			}
		}
		if i < 0 {
			return outcome{fnErrMsg: "batchItemFailures names no record of the batch"}
		}
		first = min(first, i)
	}
	return outcome{ok: first}
}

// giveUp sends the on-failure record for batch.
func (r *runner) giveUp(shard string, batch []pending, condition string, tries int, fnErr bool) {
	r.m.count(func(s *Stats) { s.DeadLettered += len(batch) })
	var rec FailureRecord
	rec.RequestContext.RequestID = requestID()
	rec.RequestContext.FunctionARN = r.m.cfg.FunctionARN
	rec.RequestContext.Condition = condition
	rec.RequestContext.ApproximateInvokeCount = tries
	if tries > 0 {
		rec.ResponseContext.StatusCode = 200
		rec.ResponseContext.ExecutedVersion = "$LATEST"
		if fnErr {
			rec.ResponseContext.FunctionError = "Unhandled"
		}
	}
	rec.Version = "1.0"
	rec.Timestamp = time.Now().UTC()
	rec.BatchInfo = BatchInfo{
		ShardID:                         shard,
		StartSequenceNumber:             batch[0].seq,
		EndSequenceNumber:               batch[len(batch)-1].seq,
		ApproximateArrivalOfFirstRecord: batch[0].created.UTC(),
		ApproximateArrivalOfLastRecord:  batch[len(batch)-1].created.UTC(),
		BatchSize:                       len(batch),
		StreamARN:                       r.m.cfg.StreamARN,
	}
	log := r.m.log.With("shard", shard, "condition", condition, "start", rec.BatchInfo.StartSequenceNumber, "end", rec.BatchInfo.EndSequenceNumber, "records", len(batch))
	if r.m.cfg.OnFailure == nil {
		log.Error("records given up on, and no on-failure destination: dropped")
		return
	}
	body, _ := json.Marshal(rec) // plain structs: no error
	for attempt := 1; ; attempt++ {
		err := r.m.cfg.OnFailure.Send(r.ctx, body)
		if err == nil {
			log.Warn("records given up on: sent to the on-failure destination")
			return
		}
		if r.ctx.Err() != nil || attempt == 5 {
			log.Error("records given up on, and the on-failure destination refused them: dropped", "err", err)
			return
		}
		r.sleep(time.Duration(attempt) * 200 * time.Millisecond)
	}
}

// eventPayload is the events.DynamoDBEvent of the batch, built from the records' JSON as kept.
func eventPayload(batch []pending) []byte {
	var b bytes.Buffer
	b.WriteString(`{"Records":[`)
	for i, p := range batch {
		if i > 0 {
			b.WriteByte(',')
		}
		b.Write(p.rec)
	}
	b.WriteString(`]}`)
	return b.Bytes()
}

func marshal(v any) ([]byte, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("streams: %w", err)
	}
	return b, nil
}

// requestID makes an id shaped like Lambda's, a random UUID.
func requestID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read does not fail
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}
