package dynamo

import (
	"os"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"wechatqr/local/dynamolocal/dynamotest"
)

// TestMain stops the package's DynamoDB Local if a test started one: the
// package's pure tests (keys, decoding, items) run without Java.
func TestMain(m *testing.M) { os.Exit(dynamotest.Main(m)) }

// localTables creates the template's tables under names of the test's own on
// the package's DynamoDB Local, started by the first test that asks; under
// -short it skips the test (dynamotest.Server).
func localTables(t *testing.T) (*dynamodb.Client, map[string]string) {
	t.Helper()
	return dynamotest.Tables(t, nil)
}
