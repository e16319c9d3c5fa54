package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"wechatqr/shared/actions"
	"wechatqr/shared/qr"
)

// errNotScan: a stream record that is not a new scan record (a claim, a
// marker, a deletion). The template's FilterCriteria keep them away; one that
// slips through is ignored, not failed.
var errNotScan = errors.New("not a new scan record")

// decode turns one stream record into the scan record the callback wrote,
// checking that its key and its attributes agree, as they always do when the
// callback wrote it.
func decode(rec events.DynamoDBEventRecord) (actions.Record, error) {
	ch := rec.Change
	if rec.EventName != "INSERT" {
		return actions.Record{}, errNotScan
	}
	sk, ok := str(ch.Keys, "sk")
	if !ok || !strings.HasPrefix(sk, actions.RecordPrefix) {
		return actions.Record{}, errNotScan
	}
	if _, ok := ch.NewImage["event"]; !ok && ch.NewImage != nil {
		return actions.Record{}, errNotScan // the claim of a push that is no scan, follow or leaving (a log-in, a menu click)
	}
	pk, _ := str(ch.Keys, "pk")
	openid, _ := str(ch.NewImage, "openid")
	event, _ := str(ch.NewImage, "event")
	scene, _ := str(ch.NewImage, "scene")
	at, ok := num(ch.NewImage, "at")
	switch {
	case ch.NewImage == nil:
		return actions.Record{}, errors.New("no NewImage: the stream must carry new images")
	case openid == "" || pk != "user#"+openid:
		return actions.Record{}, fmt.Errorf("key %q does not belong to openid %q", pk, openid)
	case event != qr.EventSubscribe && event != qr.EventScan && event != qr.EventUnsubscribe:
		return actions.Record{}, fmt.Errorf("event %q is not one a scan record holds", event)
	case !ok || at <= 0:
		return actions.Record{}, errors.New("no push time (at)")
	case sk != actions.RecordKey(at, event, scene):
		return actions.Record{}, fmt.Errorf("sort key %q does not match the record's attributes", sk)
	}
	return actions.Record{ID: ch.SequenceNumber, SK: sk, Scene: scene, OpenID: openid, Event: event, At: time.Unix(at, 0).UTC()}, nil
}

// str reads a string attribute; a missing one or one of another type is "", false.
func str(m map[string]events.DynamoDBAttributeValue, name string) (string, bool) {
	v, ok := m[name]
	if !ok || v.DataType() != events.DataTypeString {
		return "", false
	}
	return v.String(), true
}

func num(m map[string]events.DynamoDBAttributeValue, name string) (int64, bool) {
	v, ok := m[name]
	if !ok || v.DataType() != events.DataTypeNumber {
		return 0, false
	}
	n, err := strconv.ParseInt(v.Number(), 10, 64)
	return n, err == nil
}

// Handler runs the actions on a batch of stream records.
type Handler struct {
	actions interface {
		Handle(ctx context.Context, recs []actions.Record) []string
	}
	log *slog.Logger
}

// Handle decodes the batch, runs the actions and reports the records that
// failed by sequence number, so that Lambda retries (and bisects) only those.
// A record that cannot be decoded fails with its reason logged: retrying will
// not help, and it ends on the dead-letter queue for a person to look at.
func (h *Handler) Handle(ctx context.Context, ev events.DynamoDBEvent) (events.DynamoDBEventResponse, error) {
	var resp events.DynamoDBEventResponse
	recs := make([]actions.Record, 0, len(ev.Records))
	for _, rec := range ev.Records {
		if rec.Change.SequenceNumber == "" {
			// Nothing to report it by: fail the batch, and Lambda bisects it.
			return resp, fmt.Errorf("a stream record (event %q) has no sequence number", rec.EventID)
		}
		r, err := decode(rec)
		switch {
		case errors.Is(err, errNotScan):
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
