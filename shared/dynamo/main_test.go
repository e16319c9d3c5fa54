package dynamo

import (
	"context"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"wechatqr/local/dynamolocal"
	"wechatqr/local/dynamolocal/dynamotest"
)

// local is the package's DynamoDB Local, started by the first test that needs
// it: the package's pure tests (keys, decoding, items) run without Java.
var local struct {
	once sync.Once
	srv  *dynamolocal.Server
	err  error
}

func TestMain(m *testing.M) {
	code := m.Run()
	if local.srv != nil {
		if err := local.srv.Close(); err != nil {
			fmt.Fprintln(os.Stderr, err)
		}
	}
	os.Exit(code)
}

// localTables starts DynamoDB Local if no test did yet, and creates the
// template's tables under names of the test's own (dynamotest.Tables). Under
// -short it skips the test: the fast tier runs without Java.
func localTables(t *testing.T) (*dynamodb.Client, map[string]string) {
	t.Helper()
	if testing.Short() {
		t.Skip("needs DynamoDB Local (Java); run make test")
	}
	local.once.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		local.srv, local.err = dynamolocal.Start(ctx, dynamolocal.Options{})
	})
	if local.err != nil {
		t.Fatalf("these tests need DynamoDB Local: %v", local.err)
	}
	return dynamotest.Tables(t, local.srv)
}
