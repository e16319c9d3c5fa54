package dynamo

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"wechatqr/shared/accounts"
	"wechatqr/shared/qr"
)

// Accounts keeps the accounts a stack serves besides its default one, in the
// accounts table (partition key "pk" only): pk=account#<appid>, with the
// account's fields and its two sealed credential blobs (package accounts says
// what they hold; this package stores them as they come). Deleting an account
// deletes its token item in the tokens table in the same transaction.
type Accounts struct {
	db     API
	table  string
	tokens string
}

// NewAccounts returns the accounts of table, whose tokens are in tokens; a
// function that deletes no account (the callback) passes "" and reads no token.
func NewAccounts(db API, table, tokens string) (*Accounts, error) {
	if table == "" {
		return nil, errors.New("dynamo: the accounts table name is required (ACCOUNTS_TABLE)")
	}
	return &Accounts{db: db, table: table, tokens: tokens}, nil
}

var _ accounts.Store = (*Accounts)(nil)

type accountItem struct {
	PK          string `dynamodbav:"pk"`
	AppID       string `dynamodbav:"appid"`
	Name        string `dynamodbav:"name"`
	Kind        string `dynamodbav:"kind"`
	Status      string `dynamodbav:"status"`
	UserName    string `dynamodbav:"user_name,omitempty"`
	MessageMode string `dynamodbav:"message_mode,omitempty"`
	CreatedAt   int64  `dynamodbav:"created_at"`
	Callback    []byte `dynamodbav:"callback,omitempty"`
	AppSecret   []byte `dynamodbav:"app_secret,omitempty"`
	Version     int64  `dynamodbav:"version"`

	// An authorizer's (accounts.Account says what each is). An item written
	// before authorizers existed has none of them, and reads as a direct
	// account did.
	HeadImg               string `dynamodbav:"head_img,omitempty"`
	ServiceType           *int   `dynamodbav:"service_type,omitempty"`
	VerifyType            *int   `dynamodbav:"verify_type,omitempty"`
	PrincipalName         string `dynamodbav:"principal_name,omitempty"`
	Permissions           []int  `dynamodbav:"permissions,omitempty"`
	MissingPermissions    []int  `dynamodbav:"missing_permissions,omitempty"`
	NeedsReauthorization  bool   `dynamodbav:"needs_reauthorization,omitempty"`
	ReauthorizationReason string `dynamodbav:"reauthorization_reason,omitempty"`
	AuthorizedAt          int64  `dynamodbav:"authorized_at,omitempty"`
	RefreshToken          []byte `dynamodbav:"refresh_token,omitempty"`
	RefreshVersion        int64  `dynamodbav:"refresh_version,omitempty"`
}

func newAccountItem(it accounts.Item) accountItem {
	a := accountItem{
		PK: accountPK(it.AppID), AppID: it.AppID, Name: it.Name, Kind: string(it.Kind), Status: string(it.Status),
		UserName: it.UserName, MessageMode: it.MessageMode, CreatedAt: it.CreatedAt.Unix(),
		Callback: it.SealedCallback, AppSecret: it.SealedAppSecret, Version: it.Version,
		HeadImg: it.HeadImg, ServiceType: it.ServiceType, VerifyType: it.VerifyType, PrincipalName: it.PrincipalName,
		Permissions: it.Permissions, MissingPermissions: it.MissingPermissions,
		NeedsReauthorization: it.NeedsReauthorization, ReauthorizationReason: it.ReauthorizationReason,
		RefreshToken: it.SealedRefreshToken, RefreshVersion: it.RefreshVersion,
	}
	if !it.AuthorizedAt.IsZero() {
		a.AuthorizedAt = it.AuthorizedAt.Unix()
	}
	return a
}

func (a accountItem) item() accounts.Item {
	it := accounts.Item{
		Account: accounts.Account{
			AppID: a.AppID, Name: a.Name, Kind: accounts.Kind(a.Kind), Status: accounts.Status(a.Status),
			UserName: a.UserName, MessageMode: a.MessageMode, CreatedAt: time.Unix(a.CreatedAt, 0).UTC(),
			HeadImg: a.HeadImg, ServiceType: a.ServiceType, VerifyType: a.VerifyType, PrincipalName: a.PrincipalName,
			Permissions: a.Permissions, MissingPermissions: a.MissingPermissions,
			NeedsReauthorization: a.NeedsReauthorization, ReauthorizationReason: a.ReauthorizationReason,
		},
		SealedCallback: a.Callback, SealedAppSecret: a.AppSecret, Version: a.Version,
		SealedRefreshToken: a.RefreshToken, RefreshVersion: a.RefreshVersion,
	}
	if a.AuthorizedAt != 0 {
		it.AuthorizedAt = time.Unix(a.AuthorizedAt, 0).UTC()
	}
	return it
}

func (a *Accounts) key(appID string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{attrPK: &types.AttributeValueMemberS{Value: accountPK(appID)}}
}

func (a *Accounts) put(ctx context.Context, op string, it accounts.Item, cond string, names map[string]string, values map[string]types.AttributeValue) error {
	av, err := attributevalue.MarshalMap(newAccountItem(it))
	if err != nil {
		return fmt.Errorf("dynamo: marshal account: %w", err)
	}
	_, err = a.db.PutItem(ctx, &dynamodb.PutItemInput{
		TableName: &a.table, Item: av, ConditionExpression: &cond,
		ExpressionAttributeNames: names, ExpressionAttributeValues: values,
	})
	var ccf *types.ConditionalCheckFailedException
	switch {
	case errors.As(err, &ccf):
		return errConflict
	case err != nil:
		return unavailable(op, err)
	}
	return nil
}

var errConflict = errors.New("condition failed")

// CreateAccount stores it unless its AppID is there.
func (a *Accounts) CreateAccount(ctx context.Context, it accounts.Item) error {
	err := a.put(ctx, "create account", it, "attribute_not_exists(#pk)", map[string]string{"#pk": attrPK}, nil)
	if errors.Is(err, errConflict) {
		return qr.Errorf(qr.EConflict, "account %s exists", it.AppID)
	}
	return err
}

// Account reads one, strongly consistent: a change must reach the next read.
func (a *Accounts) Account(ctx context.Context, appID string) (accounts.Item, error) {
	out, err := a.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: &a.table, Key: a.key(appID), ConsistentRead: aws.Bool(true)})
	if err != nil {
		return accounts.Item{}, unavailable("get account", err)
	}
	if out.Item == nil {
		return accounts.Item{}, qr.Errorf(qr.EAccountNotFound, "no account %s in this stack: GET /accounts lists them", appID)
	}
	var it accountItem
	if err := attributevalue.UnmarshalMap(out.Item, &it); err != nil {
		return accounts.Item{}, fmt.Errorf("dynamo: unmarshal account: %w", err)
	}
	return it.item(), nil
}

// Accounts lists every account, by AppID. It scans the table: it holds one
// small item per account (docs/accounts.md, "Scale").
func (a *Accounts) Accounts(ctx context.Context) ([]accounts.Item, error) {
	var out []accounts.Item
	p := dynamodb.NewScanPaginator(a.db, &dynamodb.ScanInput{TableName: &a.table, ConsistentRead: aws.Bool(true)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, unavailable("list accounts", err)
		}
		for _, av := range page.Items {
			var it accountItem
			if err := attributevalue.UnmarshalMap(av, &it); err != nil {
				return nil, fmt.Errorf("dynamo: unmarshal account: %w", err)
			}
			if strings.HasPrefix(it.PK, prefixAccountItem) {
				out = append(out, it.item())
			}
		}
	}
	slices.SortFunc(out, func(x, y accounts.Item) int { return strings.Compare(x.AppID, y.AppID) })
	return out, nil
}

// UpdateAccount replaces it if the stored version is still prev.
func (a *Accounts) UpdateAccount(ctx context.Context, it accounts.Item, prev int64) error {
	err := a.put(ctx, "update account", it, "attribute_exists(#pk) AND #v = :prev",
		map[string]string{"#pk": attrPK, "#v": "version"}, map[string]types.AttributeValue{":prev": number(prev)})
	if errors.Is(err, errConflict) {
		if _, gerr := a.Account(ctx, it.AppID); qr.ErrorCode(gerr) == qr.EAccountNotFound {
			return gerr
		}
		return qr.Errorf(qr.EConflict, "account %s changed since it was read; read it and try again", it.AppID)
	}
	return err
}

// DeleteAccount deletes the account and its token together.
func (a *Accounts) DeleteAccount(ctx context.Context, appID string) error {
	if a.tokens == "" {
		return errors.New("dynamo: deleting an account needs the tokens table (TOKENS_TABLE)")
	}
	_, err := a.db.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: []types.TransactWriteItem{
		{Delete: &types.Delete{TableName: &a.table, Key: a.key(appID)}},
		a.deleteToken(appID),
	}})
	if err != nil {
		return unavailable("delete account", err)
	}
	return nil
}

func (a *Accounts) deleteToken(appID string) types.TransactWriteItem {
	return types.TransactWriteItem{Delete: &types.Delete{TableName: &a.tokens, Key: map[string]types.AttributeValue{
		attrPK: &types.AttributeValueMemberS{Value: tokenPK(appID)},
	}}}
}

// RevokeAccount replaces it if the stored version is still prev and deletes
// its token, in one transaction: a revoked account keeps no token a function
// could still use.
func (a *Accounts) RevokeAccount(ctx context.Context, it accounts.Item, prev int64) error {
	if a.tokens == "" {
		return errors.New("dynamo: revoking an account needs the tokens table (TOKENS_TABLE)")
	}
	av, err := attributevalue.MarshalMap(newAccountItem(it))
	if err != nil {
		return fmt.Errorf("dynamo: marshal account: %w", err)
	}
	_, err = a.db.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: []types.TransactWriteItem{
		{Put: &types.Put{
			TableName: &a.table, Item: av,
			ConditionExpression:       aws.String("attribute_exists(#pk) AND #v = :prev"),
			ExpressionAttributeNames:  map[string]string{"#pk": attrPK, "#v": "version"},
			ExpressionAttributeValues: map[string]types.AttributeValue{":prev": number(prev)},
		}},
		a.deleteToken(it.AppID),
	}})
	var tce *types.TransactionCanceledException
	switch {
	case failedAt(err, 0):
		if _, gerr := a.Account(ctx, it.AppID); qr.ErrorCode(gerr) == qr.EAccountNotFound {
			return gerr
		}
		return qr.Errorf(qr.EConflict, "account %s changed since it was read; read it and try again", it.AppID)
	case errors.As(err, &tce) && conflicted(tce.CancellationReasons):
		// Another transaction held the token item: the caller reads and tries again.
		return qr.Errorf(qr.EConflict, "account %s was being changed; try again", it.AppID)
	case err != nil:
		return unavailable("revoke account", err)
	}
	return nil
}
