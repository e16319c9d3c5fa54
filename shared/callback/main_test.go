package callback_test

import (
	"context"
	"os"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go/middleware"

	"wechatqr/local/dynamolocal"
	"wechatqr/local/dynamolocal/dynamotest"
	"wechatqr/shared/callback"
	"wechatqr/shared/dynamo"
	"wechatqr/shared/inmem"
)

func TestMain(m *testing.M) { os.Exit(dynamotest.Main(m)) }

// counter counts DynamoDB requests sent over the wire, retries included.
type counter struct{ n atomic.Int64 }

func (c *counter) reset() int64 { return c.n.Swap(0) }

func (c *counter) middleware(stack *middleware.Stack) error {
	return stack.Finalize.Add(middleware.FinalizeMiddlewareFunc("countRoundTrips",
		func(ctx context.Context, in middleware.FinalizeInput, next middleware.FinalizeHandler) (middleware.FinalizeOutput, middleware.Metadata, error) {
			c.n.Add(1)
			return next.HandleFinalize(ctx, in)
		}), middleware.After)
}

// tables creates the template's tables under fresh names on srv and returns a
// store over them, the raw client, and the round-trip counter of the store's client.
func tables(t *testing.T, srv *dynamolocal.Server) (*dynamo.Store, *dynamodb.Client, dynamo.Tables, *counter) {
	t.Helper()
	client, tn := dynamotest.Tables(t, srv)
	names := dynamo.Tables{Scenes: tn["ScenesTable"], Events: tn["EventsTable"]}
	var c counter
	counted := dynamodb.New(client.Options(), func(o *dynamodb.Options) {
		o.APIOptions = append(o.APIOptions, c.middleware)
	})
	store, err := dynamo.New(counted, names, dynamo.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return store, client, names, &c
}

// itemCount is how many items the tables hold, read consistently.
func itemCount(t *testing.T, client *dynamodb.Client, names dynamo.Tables) int {
	t.Helper()
	n := 0
	for _, table := range []string{names.Scenes, names.Events} {
		out, err := client.Scan(context.Background(), &dynamodb.ScanInput{TableName: aws.String(table), ConsistentRead: aws.Bool(true)})
		if err != nil {
			t.Fatal(err)
		}
		n += int(out.Count)
	}
	return n
}

// eventCount counts the claims and the records (of scans, follows, leavings) in
// the events table.
func eventCount(t *testing.T, client *dynamodb.Client, names dynamo.Tables) (claims, records int) {
	t.Helper()
	out, err := client.Scan(context.Background(), &dynamodb.ScanInput{TableName: aws.String(names.Events), ConsistentRead: aws.Bool(true)})
	if err != nil {
		t.Fatal(err)
	}
	for _, it := range out.Items {
		// A claim of a scan, a follow or a leaving is also its record.
		if sk := it["sk"].(*types.AttributeValueMemberS).Value; strings.HasPrefix(sk, "push#") {
			claims++
			if _, ok := it["event"]; ok {
				records++
			}
		}
	}
	return claims, records
}

// Both stores serve the callback.
var (
	_ callback.Store = (*dynamo.Store)(nil)
	_ callback.Store = (*inmem.Store)(nil)
)
