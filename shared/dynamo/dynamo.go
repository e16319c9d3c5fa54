// Package dynamo stores the domain of package qr in Amazon DynamoDB: the codes,
// the pushes and their claims, the counters, the progress of the scan actions
// and the account's access token; and it reads the scan records back from the
// events table's stream (DecodeStreamRecord). It is the one home of the stored
// formats: every key is built in keys.go. With secrets (Secrets Manager) and bus
// (EventBridge), it is one of the three packages under shared/ that import the
// AWS SDK; it imports no service package.
//
// Three tables, declared in template.yaml. Scenes and events have a string
// partition key "pk", a string sort key "sk" and TTL on "expire_at"; tokens has
// "pk" only:
//
//	scenes  pk=scene#<scene>            sk=code      the mapping: ticket, url, reply, expiry (TTL for temporary codes)
//	        pk=scene#<scene>            sk=registry  the scene has statistics (listed by the ByCreated index)
//	        pk=stats#<scene>#<shard>    sk=total     a shard of the scene's counters, apart so they outlive the code
//	        pk=stats#<scene>#<shard>    sk=day#<d>   a shard of one day's counters (days in UTC+8)
//	        pk=seen#<scene>#<openid>    sk=all|day#<d>  the user scanned the scene (ever, that day)
//	        pk=login#<id>               sk=session   a scan-to-log-in session (TTL)
//	        pk=account#quota            sk=permanent the account's permanent-code count
//	        pk=actions#<scene>#<shard>  sk=total     a shard of the scene's action counters (see actions.go)
//	        pk=tag#<name>               sk=id        a WeChat tag's id
//	events  pk=user#<openid>            sk=push#<push>  a push's claim; for a scan, follow or leaving
//	                                                 (sk=push#event:…, with attribute event) also its record,
//	                                                 which the stream carries to the scan actions
//	        pk=user#<openid>            sk=source    the scene whose subscribe brought the follower
//	        pk=user#<openid>            sk=tagged#…|followup#…|published#…  a push's action markers and claims (TTL)
//	        pk=erased#<sha256(openid)>  sk=erased    the follower was erased: their pushes up to erased_at act no more (TTL, 48 h)
//	        pk=sig#<signature>          sk=body      a plain push's query signature and its body's SHA-256,
//	                                                 so the signature serves no other body (TTL: past the window)
//	tokens  pk=token#<appid>                         the access token, its version and the lease on fetching the next
//	                                                 (the platform's component_access_token too, under the component AppID)
//	        pk=platform#ticket                       the newest component_verify_ticket and its CreateTime (platform.go)
//	        pk=platform#start-push-ticket            the last claim of api_start_push_ticket (platform.go)
//
// Counters are sharded in their partition key: a hot scene's writes spread over
// Options.Shards partitions instead of one (see docs/architecture.md, "Scaling").
//
// Everything that names a follower lives in the follower's partition of the events
// table, or is found from it (the seen markers from the scenes of the records, a
// log-in session from its claim), and expires by TTL within the retention period:
// erasing a follower is a bounded set of Queries, never a table Scan (erase.go).
// Counters hold aggregates only and stay.
package dynamo

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/smithy-go"

	"wechatqr/shared/qr"
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
	DeleteItem(context.Context, *dynamodb.DeleteItemInput, ...func(*dynamodb.Options)) (*dynamodb.DeleteItemOutput, error)
	BatchWriteItem(context.Context, *dynamodb.BatchWriteItemInput, ...func(*dynamodb.Options)) (*dynamodb.BatchWriteItemOutput, error)
	Scan(context.Context, *dynamodb.ScanInput, ...func(*dynamodb.Options)) (*dynamodb.ScanOutput, error)
}

var _ API = (*dynamodb.Client)(nil)

// Tables names the tables, as the template passes them to each function.
type Tables struct {
	Scenes string
	Events string
	Tokens string // NewTokens's; a Store does not use it
}

// Options tune a Store.
type Options struct {
	// Shards is how many partitions each scene's counters spread over (writes are
	// charged to one by the push's hash; reads sum them all). Raise it for hotter
	// scenes; never lower it, or the counts of the dropped shards stop being read.
	Shards int
	// Retention is how long anything naming a follower is kept (SCAN_RETENTION_DAYS);
	// zero means DefaultRetention.
	Retention time.Duration
	// Now is the clock the expiry times count from; nil means time.Now. Tests set
	// it to write the same items on every run.
	Now func() time.Time
	// DefaultAppID is the default account's AppID (WECHAT_APP_ID): its items keep
	// the keys a single-account release wrote, so Account(DefaultAppID) is the
	// Store itself.
	DefaultAppID string
}

// DefaultRetention is ScanRetentionDays' default: 400 days, a year of campaigns
// with room to compare one year's with the next.
const DefaultRetention = 400 * 24 * time.Hour

// DefaultShards gives a scene about 10 × 250 = 2,500 counted scans a second: a
// partition takes 1,000 write units a second, and a scan updates two items of its
// shard (totals and day) at 2 units each inside a transaction.
const DefaultShards = 10

// MaxShards bounds Options.Shards; reading a scene's totals is one BatchGetItem
// of Shards keys, which takes at most 100.
const MaxShards = 100

// Store implements the callback's and the API's persistence on DynamoDB.
type Store struct {
	db        API
	tables    Tables
	shards    int
	claimTTL  time.Duration // a claim that records nothing: a bound log-in
	retention time.Duration // records, sources, markers
	now       func() time.Time
	// defaultAppID is Options.DefaultAppID; ns is the prefix of every partition key
	// (and index partition) of the account this Store serves: "" for the default
	// account, accountNS(appid) for the others.
	defaultAppID string
	ns           string
}

// Account returns the Store of the account appID: the same tables and options,
// every key in that account's own namespace (keys.go, accountNS), so that
// nothing one account writes can be read or counted through another. The
// default account's Store is s itself, over the keys an earlier release wrote.
// appID must be a well-formed AppID (qr.ValidAppID); the caller checks it, as it
// names the account in its route.
func (s *Store) Account(appID string) *Store {
	ns := ""
	if appID != "" && appID != s.defaultAppID {
		ns = accountNS(appID)
	}
	if ns == s.ns {
		return s
	}
	c := *s
	c.ns = ns
	return &c
}

// AppID is the account the Store serves.
func (s *Store) AppID() string {
	if s.ns == "" {
		return s.defaultAppID
	}
	return appIDOfNS(s.ns)
}

// at moves k into the Store's account.
func (s *Store) at(k key) key {
	k.PK = s.ns + k.PK
	return k
}

// expireAt is when an item written now for something that happened at at may go:
// ttl after the later of the two. Counting from the write keeps a claim for a push
// whose CreateTime is old (a replayed or delayed push) long enough to see its
// retries; DynamoDB deletes expired items within minutes, locally within seconds.
func (s *Store) expireAt(at time.Time, ttl time.Duration) int64 {
	if now := s.now(); now.After(at) {
		at = now
	}
	return at.Add(ttl).Unix()
}

// ClaimTTL is how long a claim that records nothing else (a bound log-in's) is
// kept. WeChat retries within about 15 s; a day leaves ample room and costs
// nothing, since TTL deletion is free. A claim that is also a scan's record is
// kept for the retention.
const ClaimTTL = 24 * time.Hour

// New returns a Store over db. It checks only its arguments.
func New(db API, tables Tables, opts Options) (*Store, error) {
	if tables.Scenes == "" || tables.Events == "" {
		return nil, errors.New("dynamo: the scenes and events table names are required (SCENES_TABLE, EVENTS_TABLE)")
	}
	if opts.Shards == 0 {
		opts.Shards = DefaultShards
	}
	if opts.Shards < 1 || opts.Shards > MaxShards {
		return nil, fmt.Errorf("dynamo: %d counter shards; 1 to %d", opts.Shards, MaxShards)
	}
	if opts.Retention == 0 {
		opts.Retention = DefaultRetention
	}
	if opts.Retention < 24*time.Hour {
		return nil, fmt.Errorf("dynamo: a retention of %v; at least a day (SCAN_RETENTION_DAYS ≥ 1)", opts.Retention)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Store{db: db, tables: tables, shards: opts.Shards, claimTTL: min(ClaimTTL, opts.Retention), retention: opts.Retention, now: opts.Now, defaultAppID: opts.DefaultAppID}, nil
}

// unavailable wraps a DynamoDB failure for the log. A failure that is DynamoDB's
// (an outage, see outage) also carries a *qr.Error with code qr.EUnavailable, so
// that the API answers 503 and the callback asks WeChat to retry; any other
// failure (a missing table, a denied action, a request DynamoDB finds invalid) is
// ours to fix, and stays an unclassified error: an internal error.
func unavailable(op string, err error) error {
	if outage(err) {
		return fmt.Errorf("dynamo: %s: %w: %w", op, qr.Errorf(qr.EUnavailable, "the database is unavailable; retry shortly"), err)
	}
	var ae smithy.APIError
	if errors.As(err, &ae) {
		if ae.ErrorCode() == "ResourceNotFoundException" {
			// The newcomer's usual mistake: say what to do, in the log line.
			return fmt.Errorf("dynamo: %s: a table does not exist: check SCENES_TABLE, EVENTS_TABLE and TOKENS_TABLE (deployed, the template sets them; locally, `make run` creates the tables from template.yaml): %w", op, err)
		}
		return fmt.Errorf("dynamo: %s: %s: %w", op, ae.ErrorCode(), err)
	}
	return fmt.Errorf("dynamo: %s: %w", op, err)
}
