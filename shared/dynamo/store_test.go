package dynamo

import (
	"testing"

	"wechatqr/shared/storetest"
)

// The DynamoDB store against the suite the in-memory store also passes
// (shared/inmem/inmem_test.go), over DynamoDB Local.
func TestStore(t *testing.T) {
	// One set of tables for every subtest: each names its own scenes, followers
	// and sessions, and creating the tables is most of a subtest's time.
	client, names := localTables(t)
	store, err := New(client, Tables{Scenes: names["ScenesTable"], Events: names["EventsTable"]}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	storetest.Run(t, func(*testing.T) storetest.Store { return store })
}

// Two accounts over one set of tables, as a multi-account deployment has them;
// one of them is the default account, whose keys are a single-account release's.
func TestAccounts(t *testing.T) {
	client, names := localTables(t)
	store, err := New(client, Tables{Scenes: names["ScenesTable"], Events: names["EventsTable"]}, Options{DefaultAppID: "wxaaaaaaaaaaaaaaaa"})
	if err != nil {
		t.Fatal(err)
	}
	storetest.RunAccounts(t, func(_ *testing.T, appID string) storetest.Store { return store.Account(appID) })
}
