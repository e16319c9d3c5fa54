// Package dynamo stores the domain of package qr in Amazon DynamoDB. It is the only
// package under shared/ that imports the AWS SDK.
//
// Two tables, both declared in template.yaml with a string partition key "pk", a
// string sort key "sk" and TTL on "expire_at":
//
//	scenes  pk=scene#<key>   sk=code    the mapping: ticket, url, reply, expiry (TTL for temporary codes)
//	        pk=scene#<key>   sk=stats   the scene's counters, kept apart so they outlive the code
//	events  pk=push#<key>    sk=claim   one claim per push WeChat delivered (TTL: a day)
//	        pk=scene#<key>   sk=scan#…  one record per first delivery of a scan
//	        pk=user#<openid> sk=unsubscribe#…
package dynamo

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/smithy-go"
)

// API is the part of the DynamoDB client this package uses; *dynamodb.Client
// satisfies it, and tests wrap it to count round trips.
type API interface {
	GetItem(context.Context, *dynamodb.GetItemInput, ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error)
	PutItem(context.Context, *dynamodb.PutItemInput, ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error)
	UpdateItem(context.Context, *dynamodb.UpdateItemInput, ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error)
	BatchGetItem(context.Context, *dynamodb.BatchGetItemInput, ...func(*dynamodb.Options)) (*dynamodb.BatchGetItemOutput, error)
	TransactWriteItems(context.Context, *dynamodb.TransactWriteItemsInput, ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error)
	Query(context.Context, *dynamodb.QueryInput, ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error)
}

var _ API = (*dynamodb.Client)(nil)

// Tables names the tables, as the template passes them to each function.
type Tables struct {
	Scenes string
	Events string
}

// Store implements the callback's persistence on DynamoDB.
type Store struct {
	db       API
	tables   Tables
	claimTTL time.Duration
}

// ClaimTTL is how long a push claim is kept. WeChat retries within about 15 s; a day
// leaves ample room and costs nothing, since TTL deletion is free.
const ClaimTTL = 24 * time.Hour

// New returns a Store over db. It checks only that the table names are set.
func New(db API, tables Tables) (*Store, error) {
	if tables.Scenes == "" || tables.Events == "" {
		return nil, errors.New("dynamo: the scenes and events table names are required (SCENES_TABLE, EVENTS_TABLE)")
	}
	return &Store{db: db, tables: tables, claimTTL: ClaimTTL}, nil
}

// Key prefixes and sort keys of the item kinds above.
const (
	prefixScene = "scene#"
	prefixPush  = "push#"
	prefixUser  = "user#"
	skCode      = "code"
	skStats     = "stats"
	skClaim     = "claim"
)

// unavailable wraps a DynamoDB failure so the caller can answer "try again":
// WeChat retries a push that got no 2xx.
func unavailable(op string, err error) error {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return fmt.Errorf("dynamo: %s: %s: %w", op, ae.ErrorCode(), err)
	}
	return fmt.Errorf("dynamo: %s: %w", op, err)
}
