// Package dynamotest gives a test package one DynamoDB Local and each test the
// template's tables under names of its own, as net/http/httptest gives servers.
//
//	func TestMain(m *testing.M) { os.Exit(dynamotest.Main(m)) }
//
//	func TestX(t *testing.T) {
//		client, names := dynamotest.Tables(t, nil)   // every table of template.yaml
//		... names["ScenesTable"] ...
//	}
//
// The server starts when the first test asks for it, not in TestMain: a package's
// pure-logic tests run without Java. Under -short (`make test-unit`) every test that
// asks for DynamoDB Local is skipped instead; `make test` runs them.
package dynamotest

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"wechatqr/local/cfn"
	"wechatqr/local/dynamolocal"
	"wechatqr/local/repo"
)

var (
	mainCalled bool
	once       sync.Once
	server     *dynamolocal.Server
	startErr   error
	seq        atomic.Int64
)

// Main runs the package's tests and stops the package's DynamoDB Local if one of
// them started it; TestMain passes its result to os.Exit.
func Main(m *testing.M) int {
	mainCalled = true
	code := m.Run()
	if server != nil {
		_ = server.Close()
	}
	return code
}

// Server is the package's DynamoDB Local, started by the first test that asks.
// Under -short it skips t. A server that cannot start fails every test that
// asks for it with its actionable error (java or the npm package missing), never
// a skip: `make test` must not pass without it.
func Server(t testing.TB) *dynamolocal.Server {
	t.Helper()
	dynamolocal.SkipShort(t)
	if !mainCalled {
		t.Fatal("dynamotest: call dynamotest.Main from TestMain, which stops the server the tests start")
	}
	once.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		server, startErr = dynamolocal.Start(ctx, dynamolocal.Options{})
	})
	if startErr != nil {
		t.Fatal("these tests need DynamoDB Local:", startErr)
	}
	return server
}

// Start starts a DynamoDB Local of t's own with opts and stops it when t ends,
// for a test that stops, restarts or breaks its server. Under -short it skips t.
func Start(t testing.TB, opts dynamolocal.Options) *dynamolocal.Server {
	t.Helper()
	dynamolocal.SkipShort(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	srv, err := dynamolocal.Start(ctx, opts)
	if err != nil {
		t.Fatal("this test needs DynamoDB Local:", err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	return srv
}

// Tables creates the tables of the repository's template.yaml (only those named,
// when ids are given) on srv (Server(t) when nil) under a prefix no other test
// uses, and returns a client and each table's name by logical id.
//
// The tables have no TTL: DynamoDB Local deletes an item whose TTL attribute
// has passed within seconds, and most tests run on a fixed clock in the past
// (pushes signed in November 2024), so their claims and signature records
// would vanish at random in the middle of a test. What TTL each item gets is
// tested by reading the attribute; the local stack, on the real clock, keeps
// the template's TTL (cfn.CreateTables).
func Tables(t testing.TB, srv *dynamolocal.Server, ids ...string) (*dynamodb.Client, map[string]string) {
	t.Helper()
	if srv == nil {
		srv = Server(t)
	}
	ctx := context.Background()
	client, err := srv.Client(ctx)
	if err != nil {
		t.Fatal(err)
	}
	root, err := repo.Root()
	if err != nil {
		t.Fatal(err)
	}
	tpl, err := cfn.Load(filepath.Join(root, "template.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	prefix := fmt.Sprintf("t%d-", seq.Add(1))
	names := map[string]string{}
	var tables []cfn.Table
	for _, tb := range tpl.Tables() {
		if len(ids) == 0 || slices.Contains(ids, tb.LogicalID) {
			tb.TTLAttribute = ""
			tables = append(tables, tb)
			names[tb.LogicalID] = prefix + tb.LogicalID
		}
	}
	if len(tables) == 0 || (len(ids) > 0 && len(tables) != len(ids)) {
		t.Fatalf("dynamotest: template.yaml lacks some of the tables %v", ids)
	}
	if err := cfn.CreateTables(ctx, client, tables, func(id string) string { return names[id] }); err != nil {
		t.Fatal(err)
	}
	return client, names
}
