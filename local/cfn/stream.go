package cfn

import (
	"fmt"
	"strconv"
	"time"

	"go.yaml.in/yaml/v3"
)

// StreamEvent is a function's DynamoDB event: the event source mapping SAM creates on a table's
// stream, with Lambda's defaults filled in where the template says nothing.
type StreamEvent struct {
	Event            string // the event's name under Events
	Table            string // logical id of the table (Stream: !GetAtt Table.StreamArn)
	StartingPosition string // LATEST or TRIM_HORIZON
	BatchSize        int    // records per invocation; Lambda's default 100
	// BatchingWindow is how long records are gathered before an invocation with fewer than
	// BatchSize of them (MaximumBatchingWindowInSeconds; 0 invokes as soon as there are any).
	BatchingWindow time.Duration
	// Filters are the FilterCriteria patterns as written (JSON); a record is delivered when any
	// of them matches, every record when there are none.
	Filters []string
	// ReportBatchItemFailures: FunctionResponseTypes holds ReportBatchItemFailures, so the
	// function's batchItemFailures are honoured.
	ReportBatchItemFailures bool
	BisectOnError           bool // BisectBatchOnFunctionError
	// MaxRetries is MaximumRetryAttempts: how often a failed batch is retried; -1 (Lambda's
	// default) retries until the records expire.
	MaxRetries int
	// MaxRecordAge is MaximumRecordAgeInSeconds; 0 (Lambda's -1, its default) keeps records
	// for as long as the stream does.
	MaxRecordAge time.Duration
	// OnFailure is the logical id of the AWS::SQS::Queue that gets the description of records
	// that exhausted their retries (DestinationConfig.OnFailure.Destination: !GetAtt Q.Arn);
	// "" when the template names none.
	OnFailure string
	Enabled   bool // Enabled, true unless the template says false
}

type streamEventProps struct {
	Stream                         *Value `yaml:"Stream"`
	StartingPosition               *Value `yaml:"StartingPosition"`
	BatchSize                      *Value `yaml:"BatchSize"`
	MaximumBatchingWindowInSeconds *Value `yaml:"MaximumBatchingWindowInSeconds"`
	FilterCriteria                 struct {
		Filters []struct {
			Pattern *Value `yaml:"Pattern"`
		} `yaml:"Filters"`
	} `yaml:"FilterCriteria"`
	FunctionResponseTypes      []string `yaml:"FunctionResponseTypes"`
	BisectBatchOnFunctionError *Value   `yaml:"BisectBatchOnFunctionError"`
	MaximumRetryAttempts       *Value   `yaml:"MaximumRetryAttempts"`
	MaximumRecordAgeInSeconds  *Value   `yaml:"MaximumRecordAgeInSeconds"`
	Enabled                    *Value   `yaml:"Enabled"`
	ParallelizationFactor      *Value   `yaml:"ParallelizationFactor"`
	DestinationConfig          struct {
		OnFailure struct {
			Destination *Value `yaml:"Destination"`
		} `yaml:"OnFailure"`
	} `yaml:"DestinationConfig"`
}

// streamEvent reads a DynamoDB event. Everything it reads must be a literal: local runs do not
// evaluate conditions, and a mapping that behaved otherwise than deployed would hide bugs.
func streamEvent(name string, props *yaml.Node) (StreamEvent, error) {
	var p streamEventProps
	if err := props.Decode(&p); err != nil {
		return StreamEvent{}, err
	}
	e := StreamEvent{Event: name, BatchSize: 100, MaxRetries: -1, Enabled: true}
	if p.Stream == nil || p.Stream.Fn != "Fn::GetAtt" {
		return StreamEvent{}, fmt.Errorf("Stream: %v: want !GetAtt Table.StreamArn of this template: %w", p.Stream, ErrUnresolved)
	}
	table, att, ok := splitAtt(p.Stream.Text)
	if !ok || att != "StreamArn" {
		return StreamEvent{}, fmt.Errorf("Stream: %s: want !GetAtt Table.StreamArn", p.Stream)
	}
	e.Table = table

	pos, err := literal("StartingPosition", p.StartingPosition, nil)
	if err != nil {
		return StreamEvent{}, err
	}
	if pos != "LATEST" && pos != "TRIM_HORIZON" {
		return StreamEvent{}, fmt.Errorf("StartingPosition %q: want LATEST or TRIM_HORIZON", pos)
	}
	e.StartingPosition = pos

	ints := []struct {
		name     string
		v        *Value
		min, max int
		dst      *int
	}{
		{"BatchSize", p.BatchSize, 1, 10000, &e.BatchSize},
		{"MaximumRetryAttempts", p.MaximumRetryAttempts, -1, 10000, &e.MaxRetries},
	}
	for _, n := range ints {
		if n.v == nil {
			continue
		}
		if *n.dst, err = boundedInt(n.name, n.v, n.min, n.max); err != nil {
			return StreamEvent{}, err
		}
	}
	if v := p.MaximumBatchingWindowInSeconds; v != nil {
		secs, err := boundedInt("MaximumBatchingWindowInSeconds", v, 0, 300)
		if err != nil {
			return StreamEvent{}, err
		}
		e.BatchingWindow = time.Duration(secs) * time.Second
	}
	if v := p.MaximumRecordAgeInSeconds; v != nil {
		secs, err := boundedInt("MaximumRecordAgeInSeconds", v, -1, 604800)
		if err != nil {
			return StreamEvent{}, err
		}
		if secs != -1 && secs < 60 {
			return StreamEvent{}, fmt.Errorf("MaximumRecordAgeInSeconds %d: want -1 or 60..604800", secs)
		}
		if secs > 0 {
			e.MaxRecordAge = time.Duration(secs) * time.Second
		}
	}
	if v := p.ParallelizationFactor; v != nil {
		// One batch per shard at a time is all the local mapping plays.
		if n, err := boundedInt("ParallelizationFactor", v, 1, 10); err != nil || n != 1 {
			return StreamEvent{}, fmt.Errorf("ParallelizationFactor %s: only 1 is played locally", v)
		}
	}
	bools := []struct {
		name string
		v    *Value
		dst  *bool
	}{
		{"BisectBatchOnFunctionError", p.BisectBatchOnFunctionError, &e.BisectOnError},
		{"Enabled", p.Enabled, &e.Enabled},
	}
	for _, b := range bools {
		if b.v == nil {
			continue
		}
		s, err := literal(b.name, b.v, nil)
		if err != nil {
			return StreamEvent{}, err
		}
		if *b.dst, err = strconv.ParseBool(s); err != nil {
			return StreamEvent{}, fmt.Errorf("%s %q: want true or false", b.name, s)
		}
	}
	for _, t := range p.FunctionResponseTypes {
		if t != "ReportBatchItemFailures" {
			return StreamEvent{}, fmt.Errorf("FunctionResponseTypes: %q: the only type is ReportBatchItemFailures", t)
		}
		e.ReportBatchItemFailures = true
	}
	for i, f := range p.FilterCriteria.Filters {
		s, err := literal("FilterCriteria.Filters["+strconv.Itoa(i)+"].Pattern", f.Pattern, nil)
		if err != nil {
			return StreamEvent{}, err
		}
		if s == "" {
			return StreamEvent{}, fmt.Errorf("FilterCriteria.Filters[%d]: no Pattern", i)
		}
		e.Filters = append(e.Filters, s)
	}
	if d := p.DestinationConfig.OnFailure.Destination; d != nil {
		q, att, ok := splitAtt(d.Text)
		if d.Fn != "Fn::GetAtt" || !ok || att != "Arn" {
			return StreamEvent{}, fmt.Errorf("DestinationConfig.OnFailure.Destination: %s: want !GetAtt Queue.Arn of this template: %w", d, ErrUnresolved)
		}
		e.OnFailure = q
	}
	return e, nil
}

// splitAtt splits a GetAtt's "Resource.Attribute" at its first dot: logical ids have none.
func splitAtt(s string) (string, string, bool) {
	for i := 0; i < len(s); i++ {
		if s[i] == '.' {
			return s[:i], s[i+1:], i > 0 && i < len(s)-1
		}
	}
	return s, "", false
}

func boundedInt(name string, v *Value, min, max int) (int, error) {
	s, err := literal(name, v, nil)
	if err != nil {
		return 0, err
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < min || n > max {
		return 0, fmt.Errorf("%s %q: want a whole number in %d..%d", name, s, min, max)
	}
	return n, nil
}

// checkStreams holds each stream event to the template's resources: the table exists and has a
// stream, the destination is a queue of the template.
func (t *Template) checkStreams() error {
	types := map[string]string{}
	for _, r := range t.resources {
		types[r.LogicalID] = r.Type
	}
	streams := map[string]bool{}
	for _, tb := range t.tables {
		streams[tb.LogicalID] = tb.StreamViewType != ""
	}
	for _, fn := range t.functions {
		for _, e := range fn.Streams {
			if e.OnFailure != "" && types[e.OnFailure] != "AWS::SQS::Queue" {
				return fmt.Errorf("%s: event %s: the on-failure destination %s is not an AWS::SQS::Queue of this template", fn.LogicalID, e.Event, e.OnFailure)
			}
			has, ok := streams[e.Table]
			switch {
			case !ok:
				return fmt.Errorf("%s: event %s: %s is not an AWS::DynamoDB::Table of this template", fn.LogicalID, e.Event, e.Table)
			case !has:
				return fmt.Errorf("%s: event %s: table %s has no StreamSpecification", fn.LogicalID, e.Event, e.Table)
			}
		}
	}
	return nil
}
