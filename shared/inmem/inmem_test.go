package inmem_test

import (
	"testing"

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
