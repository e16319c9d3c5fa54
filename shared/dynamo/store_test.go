package dynamo_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"wechatqr/local/dynamolocal"
	"wechatqr/local/dynamolocal/dynamotest"
	"wechatqr/shared/dynamo"
	"wechatqr/shared/storetest"
)

// The DynamoDB store against the suite the in-memory store also passes
// (shared/inmem/inmem_test.go), over DynamoDB Local.
func TestStore(t *testing.T) {
	srv := storeDynamoLocal(t)
	// One set of tables for every subtest: each names its own scenes, followers
	// and sessions, and creating the tables is most of a subtest's time.
	client, names := dynamotest.Tables(t, srv, "ScenesTable", "EventsTable")
	store, err := dynamo.New(client, dynamo.Tables{Scenes: names["ScenesTable"], Events: names["EventsTable"]}, dynamo.Options{})
	if err != nil {
		t.Fatal(err)
	}
	storetest.Run(t, func(*testing.T) storetest.Store { return store })
}

var storeLocal struct {
	once sync.Once
	srv  *dynamolocal.Server
	err  error
}

// storeDynamoLocal is the package's DynamoDB Local: the one dynamotest.Main
// started, if a TestMain did, else one started on first use, so that tests that
// need none (and -short runs) start no Java. It stops with the test binary
// (package proc signals it when its parent exits).
func storeDynamoLocal(t *testing.T) *dynamolocal.Server {
	t.Helper()
	if testing.Short() {
		t.Skip("needs DynamoDB Local (Java); run make test")
	}
	if srv := dynamotest.Server(); srv != nil {
		return srv
	}
	storeLocal.once.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), dynamolocal.StartTimeout)
		defer cancel()
		start := time.Now()
		storeLocal.srv, storeLocal.err = dynamolocal.Start(ctx, dynamolocal.Options{})
		t.Logf("DynamoDB Local started in %v", time.Since(start).Round(time.Millisecond))
	})
	if storeLocal.err != nil {
		t.Fatal("these tests need DynamoDB Local:", storeLocal.err)
	}
	return storeLocal.srv
}
