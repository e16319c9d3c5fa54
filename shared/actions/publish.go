package actions

import (
	"context"
	"errors"
	"log/slog"

	"wechatqr/shared/qr"
)

var errNoAnswer = errors.New("the bus said nothing about it")

// publish puts one event per record on the bus (none when there is no bus),
// skipping the records an earlier delivery published. The bus delivers at
// least once and a crash may repeat an event, so consumers dedupe on its id,
// which is the same for every delivery of the push.
func (a *Actions) publish(ctx context.Context, b *batch, recs []qr.ScanRecord) {
	if a.bus == nil {
		return
	}
	var todo []qr.ScanRecord
	var events []Event
	for _, r := range recs {
		if b.progress[r.PushID].Published || b.stopped(r) {
			continue
		}
		todo = append(todo, r)
		events = append(events, eventOf(r))
	}
	if len(events) == 0 {
		return
	}
	errs := a.bus.Publish(ctx, events)
	var done []qr.ScanRecord
	for i, r := range todo {
		err := errNoAnswer
		if i < len(errs) {
			err = errs[i]
		}
		if err != nil {
			b.fail(r, "publishing the event: "+err.Error())
			continue
		}
		done = append(done, r)
	}
	if len(done) == 0 {
		return
	}
	if err := a.store.MarkPublished(ctx, done); err != nil {
		// The events are out; a redelivery would publish them again, with the
		// same ids. Not worth failing the records for.
		a.log.Warn("marking events published failed", slog.Int("events", len(done)), slog.String("error", err.Error()))
	}
	a.log.Info("events published", slog.Int("events", len(done)))
}
