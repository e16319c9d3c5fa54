package dynamo

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"wechatqr/shared/qr"
)

// Tokens stores one account's access token in the tokens table (partition key
// "pk" only): one item, pk=token#<appid>, with the token, its expiry, a version
// for compare-and-swap, and the lease on fetching the next one.
type Tokens struct {
	db    API
	table string
	key   map[string]types.AttributeValue
}

// NewTokens returns the token store of appID in table.
func NewTokens(db API, table, appID string) (*Tokens, error) {
	if table == "" || appID == "" {
		return nil, errors.New("dynamo: the tokens table name (TOKENS_TABLE) and the AppID are required")
	}
	return &Tokens{db: db, table: table, key: map[string]types.AttributeValue{
		attrPK: &types.AttributeValueMemberS{Value: tokenPK(appID)},
	}}, nil
}

type tokenItem struct {
	PK        string `dynamodbav:"pk"`
	Token     string `dynamodbav:"token"`
	ExpiresAt int64  `dynamodbav:"expires_at"`
	Version   int64  `dynamodbav:"version"`
	// The lease a caller holds while it asks WeChat for a token (Lease): its
	// holder and its end in Unix milliseconds. Read by no one but the condition.
	LeaseHolder string `dynamodbav:"lease_holder,omitempty"`
	LeaseUntil  int64  `dynamodbav:"lease_until,omitempty"`
	// The token's health (qr.TokenHealth): when it was saved, and the last
	// failure to fetch the next one since, which Save clears.
	RefreshedAt int64  `dynamodbav:"refreshed_at,omitempty"`
	LastError   string `dynamodbav:"last_error,omitempty"`
	LastErrorAt int64  `dynamodbav:"last_error_at,omitempty"`
}

// Load reads the record, strongly consistent: a stale read would hand out a token
// that was just replaced.
func (t *Tokens) Load(ctx context.Context) (qr.AccessToken, error) {
	out, err := t.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: &t.table, Key: t.key, ConsistentRead: aws.Bool(true)})
	if err != nil {
		return qr.AccessToken{}, unavailable("load token", err)
	}
	var it tokenItem
	if err := attributevalue.UnmarshalMap(out.Item, &it); err != nil {
		return qr.AccessToken{}, fmt.Errorf("dynamo: unmarshal token: %w", err)
	}
	if it.Token == "" {
		return qr.AccessToken{Version: it.Version}, nil
	}
	return qr.AccessToken{Token: it.Token, ExpiresAt: time.Unix(it.ExpiresAt, 0), Version: it.Version}, nil
}

// Save replaces the item (dropping any lease) if its version is still prev;
// otherwise it writes nothing and returns an EConflict error.
func (t *Tokens) Save(ctx context.Context, rec qr.AccessToken, prev int64) error {
	item, err := attributevalue.MarshalMap(tokenItem{
		PK: "", Token: rec.Token, ExpiresAt: rec.ExpiresAt.Unix(), Version: rec.Version, RefreshedAt: time.Now().Unix(),
	})
	if err != nil {
		return fmt.Errorf("dynamo: marshal token: %w", err)
	}
	item[attrPK] = t.key[attrPK]
	cond := "attribute_not_exists(#v) OR #v = :prev"
	if prev != 0 {
		cond = "#v = :prev"
	}
	_, err = t.db.PutItem(ctx, &dynamodb.PutItemInput{
		TableName:                 &t.table,
		Item:                      item,
		ConditionExpression:       &cond,
		ExpressionAttributeNames:  map[string]string{"#v": "version"},
		ExpressionAttributeValues: map[string]types.AttributeValue{":prev": number(prev)},
	})
	var ccf *types.ConditionalCheckFailedException
	switch {
	case errors.As(err, &ccf):
		return qr.Errorf(qr.EConflict, "the stored access token changed since it was read")
	case err != nil:
		return unavailable("save token", err)
	}
	return nil
}

// Lease sets the lease to holder if there is none or it has run out, and the
// version is still the one the caller read.
func (t *Tokens) Lease(ctx context.Context, holder string, version int64, now, until time.Time) (bool, error) {
	_, err := t.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:           &t.table,
		Key:                 t.key,
		UpdateExpression:    aws.String("SET #h = :h, #u = :u"),
		ConditionExpression: aws.String("(attribute_not_exists(#u) OR #u < :now) AND (attribute_not_exists(#v) OR #v = :v)"),
		ExpressionAttributeNames: map[string]string{
			"#h": "lease_holder", "#u": "lease_until", "#v": "version",
		},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":h":   &types.AttributeValueMemberS{Value: holder},
			":u":   number(until.UnixMilli()),
			":now": number(now.UnixMilli()),
			":v":   number(version),
		},
	})
	return written(err, "lease token")
}

func number(n int64) types.AttributeValue {
	return &types.AttributeValueMemberN{Value: strconv.FormatInt(n, 10)}
}

// RecordFailure keeps why the last fetch failed and when (reason names
// WeChat's errcode; it never holds a secret), for the Accounts page. It leaves
// the token, its version and the lease as they are.
func (t *Tokens) RecordFailure(ctx context.Context, reason string, at time.Time) error {
	_, err := t.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                 &t.table,
		Key:                       t.key,
		UpdateExpression:          aws.String("SET #e = :e, #at = :at"),
		ExpressionAttributeNames:  map[string]string{"#e": "last_error", "#at": "last_error_at"},
		ExpressionAttributeValues: map[string]types.AttributeValue{":e": &types.AttributeValueMemberS{Value: reason}, ":at": number(at.Unix())},
	})
	if err != nil {
		return unavailable("record token failure", err)
	}
	return nil
}

// Health reads the token's health (eventually consistent: it is for display).
func (t *Tokens) Health(ctx context.Context) (qr.TokenHealth, error) {
	out, err := t.db.GetItem(ctx, &dynamodb.GetItemInput{
		TableName: &t.table, Key: t.key,
		ProjectionExpression:     aws.String("#r, #x, #e, #at"),
		ExpressionAttributeNames: map[string]string{"#r": "refreshed_at", "#x": "expires_at", "#e": "last_error", "#at": "last_error_at"},
	})
	if err != nil {
		return qr.TokenHealth{}, unavailable("read token health", err)
	}
	var it tokenItem
	if err := attributevalue.UnmarshalMap(out.Item, &it); err != nil {
		return qr.TokenHealth{}, fmt.Errorf("dynamo: unmarshal token health: %w", err)
	}
	h := qr.TokenHealth{LastError: it.LastError}
	for _, f := range []struct {
		dst *time.Time
		v   int64
	}{{&h.RefreshedAt, it.RefreshedAt}, {&h.ExpiresAt, it.ExpiresAt}, {&h.LastErrorAt, it.LastErrorAt}} {
		if f.v > 0 {
			*f.dst = time.Unix(f.v, 0).UTC()
		}
	}
	return h, nil
}
