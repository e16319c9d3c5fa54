package cfn

import (
	"path/filepath"
	"slices"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"wechatqr/local/dynamolocal"
	"wechatqr/local/repo"
)

// TestCreateTables creates the tables of both templates in a real DynamoDB Local. A missing Java
// or npm package fails here with the message that says how to install it.
func TestCreateTables(t *testing.T) {
	dynamolocal.SkipShort(t)
	ctx := t.Context()
	srv, err := dynamolocal.Start(ctx, dynamolocal.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	client, err := srv.Client(ctx)
	if err != nil {
		t.Fatal(err)
	}
	root, err := repo.Root()
	if err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name, path, prefix string
	}{
		{name: "testdata", path: "testdata/template.yaml", prefix: "td-"},
		{name: "template.yaml", path: filepath.Join(root, "template.yaml"), prefix: "repo-"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tables := load(t, tt.path).Tables()
			name := func(id string) string { return tt.prefix + id }
			if err := CreateTables(ctx, client, tables, name); err != nil {
				t.Fatal(err)
			}
			// Again, as `make run` does on a kept data dir: the tables are there already.
			if err := CreateTables(ctx, client, tables, name); err != nil {
				t.Fatalf("second CreateTables: %v", err)
			}
			for _, tb := range tables {
				out, err := client.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(name(tb.LogicalID))})
				if err != nil {
					t.Fatal(err)
				}
				d := out.Table
				if d.TableStatus != types.TableStatusActive {
					t.Errorf("%s: status %s", tb.LogicalID, d.TableStatus)
				}
				if !slices.EqualFunc(d.KeySchema, tb.KeySchema, sameKey) {
					t.Errorf("%s: key schema %v, want %v", tb.LogicalID, d.KeySchema, tb.KeySchema)
				}
				if len(d.GlobalSecondaryIndexes) != len(tb.GlobalSecondaryIndexes) || len(d.LocalSecondaryIndexes) != len(tb.LocalSecondaryIndexes) {
					t.Errorf("%s: %d GSIs and %d LSIs, want %d and %d", tb.LogicalID,
						len(d.GlobalSecondaryIndexes), len(d.LocalSecondaryIndexes), len(tb.GlobalSecondaryIndexes), len(tb.LocalSecondaryIndexes))
				}
				if stream := d.StreamSpecification != nil && aws.ToBool(d.StreamSpecification.StreamEnabled); stream != (tb.StreamViewType != "") {
					t.Errorf("%s: stream enabled %v, want %v", tb.LogicalID, stream, tb.StreamViewType != "")
				}

				ttl, err := client.DescribeTimeToLive(ctx, &dynamodb.DescribeTimeToLiveInput{TableName: aws.String(name(tb.LogicalID))})
				if err != nil {
					t.Fatal(err)
				}
				status, attr := ttl.TimeToLiveDescription.TimeToLiveStatus, aws.ToString(ttl.TimeToLiveDescription.AttributeName)
				if tb.TTLEnabled {
					if status != types.TimeToLiveStatusEnabled || attr != tb.TTLAttribute {
						t.Errorf("%s: TTL %s on %q, want ENABLED on %q", tb.LogicalID, status, attr, tb.TTLAttribute)
					}
				} else if status != types.TimeToLiveStatusDisabled {
					t.Errorf("%s: TTL %s, want DISABLED", tb.LogicalID, status)
				}
			}
		})
	}
}

// TestCreateTablesEnablesTheStreamOfAKeptTable: a data dir kept from before the template had
// a stream (PERSIST=1) gets the stream, or the local mapping would have nothing to read.
func TestCreateTablesEnablesTheStreamOfAKeptTable(t *testing.T) {
	dynamolocal.SkipShort(t)
	ctx := t.Context()
	srv, err := dynamolocal.Start(ctx, dynamolocal.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	client, err := srv.Client(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var orders Table
	for _, tb := range load(t, "testdata/template.yaml").Tables() {
		if tb.LogicalID == "OrdersTable" {
			orders = tb
		}
	}
	old := orders
	old.StreamViewType = ""
	if err := CreateTables(ctx, client, []Table{old}, nil); err != nil {
		t.Fatal(err)
	}
	if err := CreateTables(ctx, client, []Table{orders}, nil); err != nil {
		t.Fatal(err)
	}
	out, err := client.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String("OrdersTable")})
	if err != nil {
		t.Fatal(err)
	}
	if s := out.Table.StreamSpecification; s == nil || !aws.ToBool(s.StreamEnabled) || s.StreamViewType != orders.StreamViewType || out.Table.LatestStreamArn == nil {
		t.Errorf("stream %+v, want %s enabled", s, orders.StreamViewType)
	}
}

func sameKey(a, b types.KeySchemaElement) bool {
	return aws.ToString(a.AttributeName) == aws.ToString(b.AttributeName) && a.KeyType == b.KeyType
}
