package awsjson

import (
	"context"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
)

// Events puts events on Amazon EventBridge (bus.API).
type Events struct{ c *Client }

// NewEvents puts events as cfg's role, at AWS_ENDPOINT_URL_EVENTBRIDGE when
// that is set (New).
func NewEvents(cfg aws.Config, getenv func(string) string) *Events {
	return &Events{New(cfg, getenv, EventBridge)}
}

// Event is one entry of PutEvents.
type Event struct {
	Bus        string
	Source     string
	DetailType string
	Detail     string // a JSON object
	Time       time.Time
}

// PutEventsAnswer is PutEvents' answer: one result per entry, in order.
type PutEventsAnswer struct {
	FailedEntryCount int
	Entries          []PutEventsResult
}

// PutEventsResult is one entry's outcome: an EventID, or an ErrorCode when
// EventBridge refused that entry alone.
type PutEventsResult struct {
	EventID      string
	ErrorCode    string
	ErrorMessage string
}

// PutEvents sends events in one call (10 at most) and returns EventBridge's
// answer.
func (e *Events) PutEvents(ctx context.Context, events []Event) (PutEventsAnswer, error) {
	type entry struct {
		EventBusName string
		Source       string
		DetailType   string
		Detail       string
		Time         float64 // epoch seconds, as the protocol sends timestamps
	}
	in := struct{ Entries []entry }{make([]entry, len(events))}
	for i, x := range events {
		in.Entries[i] = entry{x.Bus, x.Source, x.DetailType, x.Detail, float64(x.Time.UnixMilli()) / 1000}
	}
	var out struct {
		FailedEntryCount int
		Entries          []struct{ EventId, ErrorCode, ErrorMessage string }
	}
	if err := e.c.Call(ctx, "PutEvents", in, &out); err != nil {
		return PutEventsAnswer{}, err
	}
	a := PutEventsAnswer{FailedEntryCount: out.FailedEntryCount, Entries: make([]PutEventsResult, len(out.Entries))}
	for i, r := range out.Entries {
		a.Entries[i] = PutEventsResult{EventID: r.EventId, ErrorCode: r.ErrorCode, ErrorMessage: r.ErrorMessage}
	}
	return a, nil
}
