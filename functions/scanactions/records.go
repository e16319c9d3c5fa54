package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/aws/aws-lambda-go/events"

	"wechatqr/shared/dynamo"
	"wechatqr/shared/qr"
)

// decode turns one stream record into the scan record the callback wrote
// (dynamo.DecodeStreamRecord), identified by its sequence number.
func decode(rec events.DynamoDBEventRecord) (qr.ScanRecord, error) {
	keys, err := attributes(rec.Change.Keys)
	if err != nil {
		return qr.ScanRecord{}, fmt.Errorf("keys: %w", err)
	}
	img, err := attributes(rec.Change.NewImage)
	if err != nil {
		return qr.ScanRecord{}, fmt.Errorf("new image: %w", err)
	}
	r, err := dynamo.DecodeStreamRecord(rec.EventName, keys, img)
	if err != nil {
		return qr.ScanRecord{}, err
	}
	r.ID = rec.Change.SequenceNumber
	return r, nil
}

// Handler runs the actions on a batch of stream records.
type Handler struct {
	actions interface {
		Handle(ctx context.Context, recs []qr.ScanRecord) []string
	}
	log *slog.Logger
}

// Handle decodes the batch, runs the actions and reports the records that
// failed by sequence number, so that Lambda retries (and bisects) only those.
// A record that cannot be decoded fails with its reason logged: retrying will
// not help, and it ends on the dead-letter queue for a person to look at.
func (h *Handler) Handle(ctx context.Context, ev events.DynamoDBEvent) (events.DynamoDBEventResponse, error) {
	var resp events.DynamoDBEventResponse
	recs := make([]qr.ScanRecord, 0, len(ev.Records))
	for _, rec := range ev.Records {
		if rec.Change.SequenceNumber == "" {
			// Nothing to report it by: fail the batch, and Lambda bisects it.
			return resp, fmt.Errorf("a stream record (event %q) has no sequence number", rec.EventID)
		}
		r, err := decode(rec)
		switch {
		case errors.Is(err, dynamo.ErrNotScanRecord):
			continue
		case err != nil:
			h.log.Error("undecodable stream record", slog.String("sequence_number", rec.Change.SequenceNumber), slog.String("error", err.Error()))
			resp.BatchItemFailures = append(resp.BatchItemFailures, events.DynamoDBBatchItemFailure{ItemIdentifier: rec.Change.SequenceNumber})
			continue
		}
		recs = append(recs, r)
	}
	for _, id := range h.actions.Handle(ctx, recs) {
		resp.BatchItemFailures = append(resp.BatchItemFailures, events.DynamoDBBatchItemFailure{ItemIdentifier: id})
	}
	return resp, nil
}
