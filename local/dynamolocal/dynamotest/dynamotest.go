// Package dynamotest gives a test package one DynamoDB Local and each test the
// template's tables under names of its own, as net/http/httptest gives servers.
//
//	func TestMain(m *testing.M) { os.Exit(dynamotest.Main(m)) }
//
//	func TestX(t *testing.T) {
//		client, names := dynamotest.Tables(t)        // every table of template.yaml
//		... names["ScenesTable"] ...
//	}
package dynamotest

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"wechatqr/local/cfn"
	"wechatqr/local/dynamolocal"
	"wechatqr/local/repo"
)

var (
	server *dynamolocal.Server
	seq    atomic.Int64
)

// Main starts DynamoDB Local, runs the package's tests and stops it; TestMain
// passes its result to os.Exit. A server that cannot start fails the package
// with its actionable error (java or the npm package missing), never a skip.
func Main(m *testing.M) int {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	var err error
	server, err = dynamolocal.Start(ctx, dynamolocal.Options{})
	cancel()
	if err != nil {
		fmt.Fprintln(os.Stderr, "these tests need DynamoDB Local:", err)
		return 1
	}
	defer server.Close()
	return m.Run()
}

// Server is the package's DynamoDB Local, started by Main.
func Server() *dynamolocal.Server { return server }

// Tables creates the tables of the repository's template.yaml (only those named,
// when ids are given) on srv (Server() when nil) under a prefix no other test
// uses, and returns a client and each table's name by logical id.
func Tables(t testing.TB, srv *dynamolocal.Server, ids ...string) (*dynamodb.Client, map[string]string) {
	t.Helper()
	if srv == nil {
		srv = server
	}
	if srv == nil {
		t.Fatal("dynamotest: no server; call dynamotest.Main from TestMain")
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
