package dynamo

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"wechatqr/shared/accounts"
	"wechatqr/shared/qr"
)

// Platform keeps the third-party platform's own state in the tokens table
// (partition key "pk" only), one item each: the newest component_verify_ticket
// (pk=platform#ticket) and the last claim of api_start_push_ticket
// (pk=platform#start-push-ticket). Both are written only under a condition, so
// that concurrent callbacks and refreshes agree without a lock.
//
// The platform's component_access_token needs nothing here: it is an access
// token with one writer like an account's, kept by NewTokens(db, table,
// componentAppID) as item token#<component AppID>.
type Platform struct {
	db    API
	table string
	now   func() time.Time
}

var _ accounts.Platform = (*Platform)(nil)

// NewPlatform returns the platform's state in the tokens table.
func NewPlatform(db API, tokensTable string) (*Platform, error) {
	if tokensTable == "" {
		return nil, errors.New("dynamo: the tokens table name is required (TOKENS_TABLE)")
	}
	return &Platform{db: db, table: tokensTable, now: time.Now}, nil
}

func platformKey(pk string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{attrPK: &types.AttributeValueMemberS{Value: pk}}
}

// PutTicket stores ticket unless the stored one was created at or after
// created: the condition, not a read before the write, decides, so two pushes
// stored at once keep the newer.
func (p *Platform) PutTicket(ctx context.Context, ticket string, created time.Time) (bool, error) {
	if ticket == "" {
		return false, qr.Errorf(qr.EInvalid, "an empty component_verify_ticket")
	}
	_, err := p.db.PutItem(ctx, &dynamodb.PutItemInput{
		TableName: &p.table,
		Item: map[string]types.AttributeValue{
			attrPK:            &types.AttributeValueMemberS{Value: platformTicketPK},
			attrTicket:        &types.AttributeValueMemberS{Value: ticket},
			attrTicketCreated: number(created.Unix()),
			attrReceived:      number(p.now().Unix()),
		},
		ConditionExpression:       aws.String("attribute_not_exists(#c) OR #c < :c"),
		ExpressionAttributeNames:  map[string]string{"#c": attrTicketCreated},
		ExpressionAttributeValues: map[string]types.AttributeValue{":c": number(created.Unix())},
	})
	return written(err, "put ticket")
}

// Ticket reads the ticket, strongly consistent: a token fetched with a ticket
// one push older than the newest can be refused (61006).
func (p *Platform) Ticket(ctx context.Context) (accounts.Ticket, error) {
	out, err := p.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: &p.table, Key: platformKey(platformTicketPK), ConsistentRead: aws.Bool(true)})
	if err != nil {
		return accounts.Ticket{}, unavailable("get ticket", err)
	}
	if out.Item == nil {
		return accounts.Ticket{}, nil
	}
	v, ok := out.Item[attrTicket].(*types.AttributeValueMemberS)
	if !ok {
		return accounts.Ticket{}, fmt.Errorf("dynamo: the platform's ticket item has no %s", attrTicket)
	}
	t := accounts.Ticket{Value: v.Value}
	for _, f := range []struct {
		attr string
		dst  *time.Time
	}{{attrTicketCreated, &t.Created}, {attrReceived, &t.Received}} {
		n, err := unixAttr(out.Item, f.attr)
		if err != nil {
			return accounts.Ticket{}, err
		}
		*f.dst = time.Unix(n, 0).UTC()
	}
	return t, nil
}

// ClaimStartPushTicket sets the claim to now if it is absent or at least
// every old.
func (p *Platform) ClaimStartPushTicket(ctx context.Context, now time.Time, every time.Duration) (bool, error) {
	_, err := p.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                 &p.table,
		Key:                       platformKey(platformStartPushPK),
		UpdateExpression:          aws.String("SET #at = :now"),
		ConditionExpression:       aws.String("attribute_not_exists(#at) OR #at <= :cutoff"),
		ExpressionAttributeNames:  map[string]string{"#at": attrClaimedAt},
		ExpressionAttributeValues: map[string]types.AttributeValue{":now": number(now.UnixMilli()), ":cutoff": number(now.Add(-every).UnixMilli())},
	})
	return written(err, "claim start_push_ticket")
}

// unixAttr reads an integer attribute.
func unixAttr(item map[string]types.AttributeValue, attr string) (int64, error) {
	v, ok := item[attr].(*types.AttributeValueMemberN)
	if !ok {
		return 0, fmt.Errorf("dynamo: the platform's item has no number %s", attr)
	}
	n, err := strconv.ParseInt(v.Value, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("dynamo: the platform's %s: %w", attr, err)
	}
	return n, nil
}

// ClaimAuthCode puts the code's claim unless it exists, to expire (by the
// table's TTL) at until.
func (p *Platform) ClaimAuthCode(ctx context.Context, code string, until time.Time) (bool, error) {
	if code == "" {
		return false, qr.Errorf(qr.EInvalid, "an empty authorization code")
	}
	_, err := p.db.PutItem(ctx, &dynamodb.PutItemInput{
		TableName: &p.table,
		Item: map[string]types.AttributeValue{
			attrPK:       &types.AttributeValueMemberS{Value: authCodePK(code)},
			attrExpireAt: number(until.Unix()),
		},
		ConditionExpression:      aws.String("attribute_not_exists(#pk)"),
		ExpressionAttributeNames: map[string]string{"#pk": attrPK},
	})
	return written(err, "claim authorization code")
}

// AuthCodeRedeemed sets the account on the code's claim, which must exist.
func (p *Platform) AuthCodeRedeemed(ctx context.Context, code, appID string) error {
	_, err := p.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                 &p.table,
		Key:                       platformKey(authCodePK(code)),
		UpdateExpression:          aws.String("SET #a = :a"),
		ConditionExpression:       aws.String("attribute_exists(#pk)"),
		ExpressionAttributeNames:  map[string]string{"#a": attrRedeemedFor, "#pk": attrPK},
		ExpressionAttributeValues: map[string]types.AttributeValue{":a": &types.AttributeValueMemberS{Value: appID}},
	})
	var ccf *types.ConditionalCheckFailedException
	switch {
	case errors.As(err, &ccf):
		return qr.Errorf(qr.ENotFound, "no claim of that authorization code")
	case err != nil:
		return unavailable("note authorization code", err)
	}
	return nil
}

// AuthCodeAccount reads the account on the code's claim, strongly consistent:
// a caller polls it while the redeemer works.
func (p *Platform) AuthCodeAccount(ctx context.Context, code string) (string, error) {
	out, err := p.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: &p.table, Key: platformKey(authCodePK(code)), ConsistentRead: aws.Bool(true)})
	if err != nil {
		return "", unavailable("get authorization code", err)
	}
	if v, ok := out.Item[attrRedeemedFor].(*types.AttributeValueMemberS); ok {
		return v.Value, nil
	}
	return "", nil
}

// ReleaseAuthCode deletes the code's claim unless an account is noted on it.
func (p *Platform) ReleaseAuthCode(ctx context.Context, code string) error {
	_, err := p.db.DeleteItem(ctx, &dynamodb.DeleteItemInput{
		TableName:                &p.table,
		Key:                      platformKey(authCodePK(code)),
		ConditionExpression:      aws.String("attribute_not_exists(#a)"),
		ExpressionAttributeNames: map[string]string{"#a": attrRedeemedFor},
	})
	var ccf *types.ConditionalCheckFailedException
	switch {
	case errors.As(err, &ccf):
		return nil // redeemed meanwhile: the claim stays
	case err != nil:
		return unavailable("release authorization code", err)
	}
	return nil
}

// written reads a conditional write's error: true when the item was written,
// false when its condition failed (another writer came first), and op's
// unavailable error for anything else.
func written(err error, op string) (bool, error) {
	var ccf *types.ConditionalCheckFailedException
	switch {
	case err == nil:
		return true, nil
	case errors.As(err, &ccf):
		return false, nil
	}
	return false, unavailable(op, err)
}
