package inmem_test

import (
	"context"
	"testing"

	"wechatqr/shared/accounts"
	"wechatqr/shared/inmem"
	"wechatqr/shared/storetest"
)

// The in-memory store keeps the promises the DynamoDB store keeps: the same
// suite runs against both (shared/dynamo/store_test.go).
func TestStore(t *testing.T) {
	storetest.Run(t, func(*testing.T) storetest.Store { return inmem.New() })
}

func TestAccounts(t *testing.T) {
	store := inmem.New()
	storetest.RunAccounts(t, func(_ *testing.T, appID string) storetest.Store { return store.Account(appID) })
}

func TestAuthorizers(t *testing.T) {
	store := inmem.NewAccounts()
	storetest.RunAuthorizers(t, func(*testing.T) storetest.AccountStore {
		return storetest.AccountStore{
			Store: store,
			PutToken: func(_ context.Context, appID string) error {
				store.PutToken(appID)
				return nil
			},
			HasToken: func(_ context.Context, appID string) (bool, error) { return store.HasToken(appID), nil },
		}
	})
}

func TestPlatform(t *testing.T) {
	storetest.RunPlatform(t, func(*testing.T) accounts.Platform { return inmem.NewPlatform() })
}
