package dynamo

import (
	"context"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"wechatqr/local/dynamolocal/dynamotest"
	"wechatqr/shared/accounts"
	"wechatqr/shared/qr"
	"wechatqr/shared/storetest"
)

// Authorizer accounts over DynamoDB Local, against the suite the in-memory
// store also passes (shared/inmem/inmem_test.go).
func TestAuthorizers(t *testing.T) {
	// One set of tables for every subtest: each uses AppIDs of its own.
	client, names := localTables(t)
	store, err := NewAccounts(client, names["AccountsTable"], names["TokensTable"])
	if err != nil {
		t.Fatal(err)
	}
	storetest.RunAuthorizers(t, func(*testing.T) storetest.AccountStore {
		return storetest.AccountStore{
			Store: store,
			PutToken: func(ctx context.Context, appID string) error {
				tokens, err := NewTokens(client, names["TokensTable"], appID)
				if err != nil {
					return err
				}
				return tokens.Save(ctx, qr.AccessToken{Token: "T", ExpiresAt: time.Now().Add(time.Hour), Version: 1}, 0)
			},
			HasToken: func(ctx context.Context, appID string) (bool, error) {
				out, err := client.GetItem(ctx, &dynamodb.GetItemInput{
					TableName: aws.String(names["TokensTable"]), Key: platformKey(tokenPK(appID)), ConsistentRead: aws.Bool(true),
				})
				if err != nil {
					return false, err
				}
				return out.Item != nil, nil
			},
		}
	})
}

// The platform's state over DynamoDB Local. Its items have fixed keys, so
// every subtest has a tokens table of its own.
func TestPlatform(t *testing.T) {
	storetest.RunPlatform(t, func(t *testing.T) accounts.Platform {
		client, names := dynamotest.Tables(t, nil, "TokensTable")
		p, err := NewPlatform(client, names["TokensTable"])
		if err != nil {
			t.Fatal(err)
		}
		return p
	})
}
