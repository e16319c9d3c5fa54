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

// Actions runs one account's actions on its records (an *actions.Actions).
type Actions interface {
	Handle(ctx context.Context, recs []qr.ScanRecord) []string
}

// Handler runs the actions on a batch of stream records.
type Handler struct {
	// actions returns the actions of account appID: its store, its token, its
	// WeChat calls. A qr.EAccountNotFound error means the account was removed:
	// its records are dropped, as its data ages out.
	actions func(ctx context.Context, appID string) (Actions, error)
	// defaultAppID names the records of the default account, whose keys name none.
	defaultAppID string
	log          *slog.Logger
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
	for _, id := range h.handle(ctx, recs) {
		resp.BatchItemFailures = append(resp.BatchItemFailures, events.DynamoDBBatchItemFailure{ItemIdentifier: id})
	}
	return resp, nil
}

// handle runs each account's records through that account's actions, in the
// order the accounts first appear, and returns the ids of the records that failed.
func (h *Handler) handle(ctx context.Context, recs []qr.ScanRecord) []string {
	var order []string
	byAccount := map[string][]qr.ScanRecord{}
	for _, r := range recs {
		if r.AppID == "" {
			r.AppID = h.defaultAppID
		}
		if _, ok := byAccount[r.AppID]; !ok {
			order = append(order, r.AppID)
		}
		byAccount[r.AppID] = append(byAccount[r.AppID], r)
	}
	var failed []string
	for _, appID := range order {
		group := byAccount[appID]
		a, err := h.actions(ctx, appID)
		switch {
		case qr.ErrorCode(err) == qr.EAccountNotFound:
			h.log.Warn("scan records of a removed account dropped", slog.String("appid", appID), slog.Int("records", len(group)))
			continue
		case err != nil:
			h.log.Error("the account's actions could not be built", slog.String("appid", appID), slog.String("error", err.Error()))
			for _, r := range group {
				failed = append(failed, r.ID)
			}
			continue
		}
		failed = append(failed, a.Handle(ctx, group)...)
	}
	return failed
}
