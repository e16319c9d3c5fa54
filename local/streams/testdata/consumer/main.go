// Command consumer is the stream function the streams tests run under aws-lambda-rie. It
// appends every event it gets, as one JSON line, to the file named by CONSUMER_LOG, and its
// answer depends on each record's NewImage "mode": "poison" fails the whole invocation,
// "fail-once" is reported in batchItemFailures the first time it is seen, "fail-always" every
// time.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"os"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
)

var seen = map[string]bool{} // eventIDs reported once; the runtime lives across invocations

func handle(ctx context.Context, raw json.RawMessage) (events.DynamoDBEventResponse, error) {
	var res events.DynamoDBEventResponse
	f, err := os.OpenFile(os.Getenv("CONSUMER_LOG"), os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return res, err
	}
	_, err = f.Write(append(append([]byte(nil), raw...), '\n'))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return res, err
	}
	var e events.DynamoDBEvent
	if err := json.Unmarshal(raw, &e); err != nil {
		return res, err
	}
	for _, r := range e.Records {
		mode := ""
		if v, ok := r.Change.NewImage["mode"]; ok {
			mode = v.String()
		}
		switch mode {
		case "poison":
			return events.DynamoDBEventResponse{}, errors.New("consumer: poison record " + r.Change.SequenceNumber)
		case "fail-always":
			res.BatchItemFailures = append(res.BatchItemFailures, events.DynamoDBBatchItemFailure{ItemIdentifier: r.Change.SequenceNumber})
		case "fail-once":
			if !seen[r.EventID] {
				seen[r.EventID] = true
				res.BatchItemFailures = append(res.BatchItemFailures, events.DynamoDBBatchItemFailure{ItemIdentifier: r.Change.SequenceNumber})
			}
		}
	}
	return res, nil
}

func main() {
	lambda.Start(handle)
}
