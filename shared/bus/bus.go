// Package bus publishes the scan events of package actions on Amazon EventBridge.
package bus

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge/types"

	"wechatqr/shared/actions"
)

// API is the part of the SDK's EventBridge client used here.
type API interface {
	PutEvents(context.Context, *eventbridge.PutEventsInput, ...func(*eventbridge.Options)) (*eventbridge.PutEventsOutput, error)
}

// MaxEntries is how many entries one PutEvents call takes.
const MaxEntries = 10

// DefaultCallTimeout bounds one PutEvents call, the SDK's retries included: the
// SDK sets no timeout of its own, and a hung endpoint must fail its records, not
// the whole invocation. EventBridge answers in tens of milliseconds.
const DefaultCallTimeout = 10 * time.Second

// Bus publishes to one event bus.
type Bus struct {
	api     API
	name    string
	timeout time.Duration
}

// Option changes a Bus.
type Option func(*Bus)

// WithCallTimeout replaces DefaultCallTimeout (moto_server on a loaded machine
// can take seconds).
func WithCallTimeout(d time.Duration) Option { return func(b *Bus) { b.timeout = d } }

var _ actions.Publisher = (*Bus)(nil)

// New returns a publisher to the bus named name ("default" for the account's).
func New(api API, name string, opts ...Option) (*Bus, error) {
	if api == nil || name == "" {
		return nil, errors.New("bus: a client and a bus name are required")
	}
	b := &Bus{api: api, name: name, timeout: DefaultCallTimeout}
	for _, o := range opts {
		o(b)
	}
	if b.timeout <= 0 {
		return nil, errors.New("bus: the call timeout must be positive")
	}
	return b, nil
}

// Publish puts events on the bus, MaxEntries a call, and returns one error per
// event: the call's, or the entry's own when EventBridge refused it alone.
func (b *Bus) Publish(ctx context.Context, events []actions.Event) []error {
	errs := make([]error, len(events))
	for start := 0; start < len(events); start += MaxEntries {
		chunk := events[start:min(start+MaxEntries, len(events))]
		entries := make([]types.PutEventsRequestEntry, len(chunk))
		for i, e := range chunk {
			detail, err := json.Marshal(e)
			if err != nil {
				return fill(errs[start:], fmt.Errorf("bus: encoding an event: %w", err), errs)
			}
			entries[i] = types.PutEventsRequestEntry{
				EventBusName: aws.String(b.name), Source: aws.String(actions.Source), DetailType: aws.String(e.DetailType),
				Detail: aws.String(string(detail)), Time: aws.Time(e.At),
			}
		}
		cctx, cancel := context.WithTimeout(ctx, b.timeout)
		out, err := b.api.PutEvents(cctx, &eventbridge.PutEventsInput{Entries: entries})
		cancel()
		if err != nil {
			for i := range chunk {
				errs[start+i] = fmt.Errorf("bus: PutEvents: %w", err)
			}
			continue
		}
		// Entries answer in order; a refused one has an ErrorCode and no EventId.
		for i := range chunk {
			switch {
			case i >= len(out.Entries):
				errs[start+i] = errors.New("bus: PutEvents answered fewer entries than it was sent")
			case aws.ToString(out.Entries[i].ErrorCode) != "":
				errs[start+i] = fmt.Errorf("bus: entry refused: %s: %s", aws.ToString(out.Entries[i].ErrorCode), aws.ToString(out.Entries[i].ErrorMessage))
			case aws.ToString(out.Entries[i].EventId) == "":
				errs[start+i] = errors.New("bus: entry got no event id")
			}
		}
		if out.FailedEntryCount > 0 {
			n := 0
			for i := range chunk {
				if errs[start+i] != nil {
					n++
				}
			}
			if n == 0 { // counted failures we could not place: fail the chunk rather than lose one
				for i := range chunk {
					errs[start+i] = fmt.Errorf("bus: %d entries failed", out.FailedEntryCount)
				}
			}
		}
	}
	return errs
}

// fill sets every entry of rest (the events not yet published) to err and returns all.
func fill(rest []error, err error, all []error) []error {
	for i := range rest {
		rest[i] = err
	}
	return all
}
