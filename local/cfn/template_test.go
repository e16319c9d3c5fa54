package cfn

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"wechatqr/local/repo"
)

func load(t *testing.T, path string) *Template {
	t.Helper()
	tpl, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	return tpl
}

func key(name string, kt types.KeyType) types.KeySchemaElement {
	return types.KeySchemaElement{AttributeName: aws.String(name), KeyType: kt}
}

func attr(name string, at types.ScalarAttributeType) types.AttributeDefinition {
	return types.AttributeDefinition{AttributeName: aws.String(name), AttributeType: at}
}

func TestTestdataTables(t *testing.T) {
	got := load(t, "testdata/template.yaml").Tables()
	want := []Table{
		{
			LogicalID:   "OrdersTable",
			BillingMode: "PROVISIONED",
			AttributeDefinitions: []types.AttributeDefinition{
				attr("pk", "S"), attr("sk", "S"), attr("customer", "S"), attr("created", "N"), attr("status", "S"),
			},
			KeySchema: []types.KeySchemaElement{key("pk", "HASH"), key("sk", "RANGE")},
			GlobalSecondaryIndexes: []types.GlobalSecondaryIndex{
				{
					IndexName:  aws.String("ByCustomer"),
					KeySchema:  []types.KeySchemaElement{key("customer", "HASH"), key("created", "RANGE")},
					Projection: &types.Projection{ProjectionType: "INCLUDE", NonKeyAttributes: []string{"total"}},
				},
				{
					IndexName:  aws.String("ByCreated"),
					KeySchema:  []types.KeySchemaElement{key("created", "HASH")},
					Projection: &types.Projection{ProjectionType: "ALL"},
				},
			},
			LocalSecondaryIndexes: []types.LocalSecondaryIndex{{
				IndexName:  aws.String("ByStatus"),
				KeySchema:  []types.KeySchemaElement{key("pk", "HASH"), key("status", "RANGE")},
				Projection: &types.Projection{ProjectionType: "KEYS_ONLY"},
			}},
			TTLAttribute:   "gone_at",
			StreamViewType: "NEW_AND_OLD_IMAGES",
		},
		{
			LogicalID:            "SessionsTable",
			BillingMode:          "PAY_PER_REQUEST",
			AttributeDefinitions: []types.AttributeDefinition{attr("id", "S")},
			KeySchema:            []types.KeySchemaElement{key("id", "HASH")},
			TTLAttribute:         "expires_at",
			TTLEnabled:           true,
			PointInTimeRecovery:  true,
		},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Tables():\n got %+v\nwant %+v", got, want)
	}
}

func TestTestdataFunctions(t *testing.T) {
	fns := load(t, "testdata/template.yaml").Functions()
	if len(fns) != 2 {
		t.Fatalf("Functions() = %d functions, want 2", len(fns))
	}
	type summary struct {
		LogicalID, CodeURI, Handler, Runtime string
		Architectures                        []string
		MemorySize                           int
		Timeout                              time.Duration
		Environment                          map[string]string
		Routes                               []Route
	}
	sum := func(f Function) summary {
		env := map[string]string{}
		for k, v := range f.Environment {
			env[k] = v.String()
		}
		delete(env, "URL") // its list form prints over several lines; resolved in TestResolve
		return summary{f.LogicalID, f.CodeURI, f.Handler, f.Runtime, f.Architectures, f.MemorySize, f.Timeout, env, f.Routes}
	}
	tests := []summary{
		{
			LogicalID: "ApiFunction", CodeURI: "functions/api/", Handler: "bootstrap", Runtime: "provided.al2023",
			Architectures: []string{"arm64"}, MemorySize: 128, Timeout: 10 * time.Second,
			Environment: map[string]string{
				"STAGE":          "fixed", // the function's own value beats Globals'
				"WHERE":          "!Sub ${AWS::Region}-${Stage}",
				"ORDERS_TABLE":   "!Ref OrdersTable",
				"SESSIONS_TABLE": "!Ref SessionsTable",
				"ORDERS_ARN":     "!GetAtt OrdersTable.Arn",
				"ORDERS_STREAM":  "!GetAtt OrdersTable.StreamArn",
				"MODE":           "!If [IsProd, live, test]",
				"RETRIES":        "3",
			},
			Routes: []Route{
				{Event: "Public", API: "PublicApi", Method: "GET", Path: "/public"},
				{Event: "Admin", API: "AdminApi", Method: "POST", Path: "/admin/{id}", IAM: true},
				{Event: "AdminHealth", API: "AdminApi", Method: "GET", Path: "/admin/health"},
				{Event: "Implicit", Method: "ANY", Path: "$default", IAM: true},
			},
		},
		{
			LogicalID: "WorkerFunction", CodeURI: "functions/worker/", Handler: "bootstrap", Runtime: "provided.al2023",
			Architectures: []string{"arm64"}, MemorySize: 128, Timeout: 5 * time.Second,
			Environment: map[string]string{"STAGE": "!Ref Stage", "WHERE": "!Sub ${AWS::Region}-${Stage}"},
		},
	}
	for i, want := range tests {
		t.Run(want.LogicalID, func(t *testing.T) {
			if got := sum(fns[i]); !reflect.DeepEqual(got, want) {
				t.Errorf("got  %+v\nwant %+v", got, want)
			}
		})
	}
}

func TestTestdataStreamEvents(t *testing.T) {
	var worker Function
	for _, f := range load(t, "testdata/template.yaml").Functions() {
		if f.LogicalID == "WorkerFunction" {
			worker = f
		}
	}
	want := []StreamEvent{
		{
			Event: "NewOrders", Table: "OrdersTable", StartingPosition: "TRIM_HORIZON", BatchSize: 25,
			BatchingWindow: 2 * time.Second,
			Filters: []string{
				`{"eventName":["INSERT"]}`,
				`{"eventName":["MODIFY"],"dynamodb":{"NewImage":{"status":{"S":["paid"]}}}}`,
			},
			ReportBatchItemFailures: true, BisectOnError: true, MaxRetries: 2,
			MaxRecordAge: 10 * time.Minute, OnFailure: "OrdersDLQ", Enabled: true,
		},
		// Lambda's defaults: 100 records, no window, retries until the record expires.
		{Event: "AllOrders", Table: "OrdersTable", StartingPosition: "LATEST", BatchSize: 100, MaxRetries: -1},
	}
	if !reflect.DeepEqual(worker.Streams, want) {
		t.Errorf("Streams:\n got %+v\nwant %+v", worker.Streams, want)
	}
}

func TestTestdataResources(t *testing.T) {
	got := load(t, "testdata/template.yaml").Resources()
	want := []Resource{
		{"PublicApi", "AWS::Serverless::HttpApi"},
		{"AdminApi", "AWS::Serverless::HttpApi"},
		{"OrdersTable", "AWS::DynamoDB::Table"},
		{"SessionsTable", "AWS::DynamoDB::Table"},
		{"ApiFunction", "AWS::Serverless::Function"},
		{"WorkerFunction", "AWS::Serverless::Function"},
		{"OrdersDLQ", "AWS::SQS::Queue"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Resources():\n got %v\nwant %v", got, want)
	}
}

func TestTestdataParameters(t *testing.T) {
	got := load(t, "testdata/template.yaml").Parameters()
	want := []Parameter{
		{Name: "Stage", Type: "String", Default: "dev", HasDefault: true},
		{Name: "Secret", Type: "String"},
		{Name: "Empty", Type: "String", HasDefault: true},
		{Name: "Zones", Type: "CommaDelimitedList", Default: "a,b", HasDefault: true},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Parameters():\n got %+v\nwant %+v", got, want)
	}
}

func TestResolve(t *testing.T) {
	var api Function
	for _, f := range load(t, "testdata/template.yaml").Functions() {
		if f.LogicalID == "ApiFunction" {
			api = f
		}
	}
	names := map[string]string{
		"OrdersTable":     "t1-OrdersTable",
		"SessionsTable":   "t1-SessionsTable",
		"OrdersTable.Arn": "arn:aws:dynamodb:us-east-1:000000000000:table/t1-OrdersTable",
		"Stage":           "dev",
		"AWS::Region":     "us-east-1",
		"AWS::URLSuffix":  "amazonaws.com",
	}
	lookup := func(n string) (string, bool) { v, ok := names[n]; return v, ok }
	tests := []struct {
		env, want  string
		unresolved bool
	}{
		{env: "STAGE", want: "fixed"},
		{env: "RETRIES", want: "3"},
		{env: "ORDERS_TABLE", want: "t1-OrdersTable"},
		{env: "SESSIONS_TABLE", want: "t1-SessionsTable"}, // the long form {"Ref": ...}
		{env: "ORDERS_ARN", want: names["OrdersTable.Arn"]},
		{env: "WHERE", want: "us-east-1-dev"},
		{env: "URL", want: "https://amazonaws.com/dev"}, // !Sub's list form
		{env: "ORDERS_STREAM", unresolved: true},        // a name lookup does not know
		{env: "MODE", unresolved: true},                 // !If needs ResolveWith's cond
	}
	for _, tt := range tests {
		t.Run(tt.env, func(t *testing.T) {
			v, ok := api.Environment[tt.env]
			if !ok {
				t.Fatalf("no %s in %v", tt.env, api.Environment)
			}
			got, err := v.Resolve(lookup)
			if tt.unresolved {
				if !errors.Is(err, ErrUnresolved) {
					t.Fatalf("Resolve(%s) = %q, %v; want ErrUnresolved", v, got, err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("Resolve(%s) = %q, %v; want %q", v, got, err, tt.want)
			}
		})
	}

	if ref, ok := api.Environment["ORDERS_TABLE"].Ref(); !ok || ref != "OrdersTable" {
		t.Errorf("Ref() = %q, %v; want OrdersTable", ref, ok)
	}
	lit := Value{Text: "a ${!Literal} and ${Stage}", Fn: "Fn::Sub"}
	if got, err := lit.Resolve(lookup); err != nil || got != "a ${Literal} and dev" {
		t.Errorf("Resolve(%s) = %q, %v", lit, got, err)
	}
}

// TestRepoTemplate checks that the project's own template is one local runs can follow. Others
// edit that template, so this checks what must hold of any version, not its current contents.
func TestRepoTemplate(t *testing.T) {
	root, err := repo.Root()
	if err != nil {
		t.Fatal(err)
	}
	tpl := load(t, filepath.Join(root, "template.yaml"))
	tables := tpl.Tables()
	if len(tables) == 0 {
		t.Fatal("no AWS::DynamoDB::Table in template.yaml")
	}
	known := map[string]bool{}
	for _, p := range tpl.Parameters() {
		known[p.Name] = true
	}
	for _, r := range tpl.Resources() {
		known[r.LogicalID] = true
	}
	for _, tb := range tables {
		if tb.BillingMode != "PAY_PER_REQUEST" {
			t.Errorf("%s: BillingMode %q, the design wants on-demand tables", tb.LogicalID, tb.BillingMode)
		}
	}
	if len(tpl.Functions()) == 0 {
		t.Fatal("no AWS::Serverless::Function in template.yaml")
	}
	for _, fn := range tpl.Functions() {
		if fn.CodeURI == "" || fn.Runtime == "" || fn.Timeout == 0 {
			t.Errorf("%s: CodeUri %q, Runtime %q, Timeout %v: want all set (here or in Globals)", fn.LogicalID, fn.CodeURI, fn.Runtime, fn.Timeout)
		}
		for name, v := range fn.Environment {
			if ref, ok := v.Ref(); ok && !known[ref] && !strings.HasPrefix(ref, "AWS::") {
				t.Errorf("%s: %s is %s, which is neither a parameter nor a resource", fn.LogicalID, name, v)
			}
		}
	}
}

// streamTemplate is a template with table T (no stream) and a function whose DynamoDB event has
// props.
func streamTemplate(props string) string {
	return `
Resources:
  T:
    Type: AWS::DynamoDB::Table
    Properties:
      AttributeDefinitions: [{AttributeName: pk, AttributeType: S}]
      KeySchema: [{AttributeName: pk, KeyType: HASH}]
  F:
    Type: AWS::Serverless::Function
    Properties:
      Events:
        E:
          Type: DynamoDB
          Properties:
            ` + props + "\n"
}

func TestLoadErrors(t *testing.T) {
	const table = `
Resources:
  T:
    Type: AWS::DynamoDB::Table
    Properties:
      AttributeDefinitions: [{AttributeName: pk, AttributeType: S}]
      KeySchema: %s
`
	tests := []struct {
		name, yaml, want string
	}{
		{name: "not yaml", yaml: "Resources: [", want: "yaml"},
		{name: "empty", yaml: "", want: "empty template"},
		{name: "no resources", yaml: "Parameters: {}\n", want: "no Resources"},
		{name: "key not defined", yaml: strings.Replace(table, "%s", "[{AttributeName: sk, KeyType: HASH}]", 1), want: `key "sk" is not in AttributeDefinitions`},
		{name: "no hash key", yaml: strings.Replace(table, "%s", "[{AttributeName: pk, KeyType: RANGE}]", 1), want: "want one HASH key"},
		{name: "key from a parameter", yaml: strings.Replace(table, "%s", "[{AttributeName: !Ref Key, KeyType: HASH}]", 1), want: "!Ref Key: a table's shape must be literal"},
		{
			name: "timeout from a parameter",
			yaml: "Resources:\n  F:\n    Type: AWS::Serverless::Function\n    Properties:\n      Timeout: !Ref T\n",
			want: "Timeout: !Ref T",
		},
		{name: "stream of a table without one", yaml: streamTemplate("Stream: !GetAtt T.StreamArn\n            StartingPosition: LATEST"), want: "table T has no StreamSpecification"},
		{name: "stream of no table", yaml: streamTemplate("Stream: !GetAtt U.StreamArn\n            StartingPosition: LATEST"), want: "U is not an AWS::DynamoDB::Table"},
		{name: "stream by ARN", yaml: streamTemplate("Stream: arn:aws:dynamodb:x\n            StartingPosition: LATEST"), want: "want !GetAtt Table.StreamArn"},
		{name: "no starting position", yaml: streamTemplate("Stream: !GetAtt T.StreamArn"), want: "want LATEST or TRIM_HORIZON"},
		{name: "batch size too big", yaml: streamTemplate("Stream: !GetAtt T.StreamArn\n            StartingPosition: LATEST\n            BatchSize: 20000"), want: "BatchSize \"20000\""},
		{name: "record age too short", yaml: streamTemplate("Stream: !GetAtt T.StreamArn\n            StartingPosition: LATEST\n            MaximumRecordAgeInSeconds: 10"), want: "want -1 or 60..604800"},
		{name: "filter from a parameter", yaml: streamTemplate("Stream: !GetAtt T.StreamArn\n            StartingPosition: LATEST\n            FilterCriteria: {Filters: [{Pattern: !Ref P}]}"), want: "Pattern: !Ref P"},
		{name: "destination not a queue", yaml: streamTemplate("Stream: !GetAtt T.StreamArn\n            StartingPosition: LATEST\n            DestinationConfig: {OnFailure: {Destination: !GetAtt T.Arn}}"), want: "T is not an AWS::SQS::Queue"},
		{name: "unknown response type", yaml: streamTemplate("Stream: !GetAtt T.StreamArn\n            StartingPosition: LATEST\n            FunctionResponseTypes: [Everything]"), want: "the only type is ReportBatchItemFailures"},
		{
			// SAM would deploy [arm64, x86_64], which Lambda refuses.
			name: "architectures in Globals and the function",
			yaml: "Globals:\n  Function:\n    Architectures: [arm64]\nResources:\n  F:\n    Type: AWS::Serverless::Function\n    Properties:\n      Architectures: [x86_64]\n",
			want: "Architectures [arm64 x86_64]: SAM appends",
		},
		{
			name: "route on an unknown API",
			yaml: "Resources:\n  F:\n    Type: AWS::Serverless::Function\n    Properties:\n      Events:\n        E:\n          Type: HttpApi\n          Properties: {ApiId: !Ref Nope}\n",
			want: "Nope is not an AWS::Serverless::HttpApi",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "template.yaml")
			if err := os.WriteFile(path, []byte(tt.yaml), 0o644); err != nil {
				t.Fatal(err)
			}
			_, err := Load(path)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Load: %v; want an error containing %q", err, tt.want)
			}
		})
	}
	if _, err := Load(filepath.Join(t.TempDir(), "missing.yaml")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Load(missing) = %v, want ErrNotExist", err)
	}
}

// TestResolveWithConditions: !If resolves as a deploy would, its condition evaluated from the
// parameters (the forms the repository's template uses: Equals, Not, And, Or, Condition), and
// !Ref AWS::NoValue to nothing.
func TestResolveWithConditions(t *testing.T) {
	tpl, err := parse([]byte(`
Parameters:
  AppId: {Type: String, Default: ""}
  Reserved: {Type: Number, Default: 0}
Conditions:
  HasApp: !Not [!Equals [!Ref AppId, ""]]
  Reserves: !Not [!Equals [!Ref Reserved, 0]]
  Both: !And [!Condition HasApp, !Condition Reserves]
  Either: !Or [!Condition HasApp, {"Fn::Equals": [!Ref Reserved, 7]}]
  Loop: !Not [!Condition Loop]
  Odd: !Select [0, [a]]
Resources:
  Secret:
    Type: AWS::SecretsManager::Secret
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: x/
      Environment:
        Variables:
          SECRET: !If [HasApp, !Ref Secret, ""]
          BOTH: !If [Both, yes, no]
          EITHER: !If [Either, !Sub "${AppId}-${Reserved}", !Ref AWS::NoValue]
          NESTED: !If [HasApp, !If [Reserves, r, a], n]
          LOOP: !If [Loop, a, b]
          ODD: !If [Odd, a, b]
          MISSING: !If [Nowhere, a, b]
`))
	if err != nil {
		t.Fatal(err)
	}
	env := tpl.Functions()[0].Environment
	for _, tt := range []struct {
		params map[string]string
		want   map[string]string
	}{
		{map[string]string{"AppId": "", "Reserved": "0"}, map[string]string{"SECRET": "", "BOTH": "no", "EITHER": "", "NESTED": "n"}},
		{map[string]string{"AppId": "wx1", "Reserved": "0"}, map[string]string{"SECRET": "arn:secret", "BOTH": "no", "EITHER": "wx1-0", "NESTED": "a"}},
		{map[string]string{"AppId": "wx1", "Reserved": "5"}, map[string]string{"SECRET": "arn:secret", "BOTH": "yes", "EITHER": "wx1-5", "NESTED": "r"}},
		{map[string]string{"AppId": "", "Reserved": "7"}, map[string]string{"SECRET": "", "BOTH": "no", "EITHER": "-7", "NESTED": "n"}},
	} {
		lookup := func(n string) (string, bool) {
			if n == "Secret" {
				return "arn:secret", true
			}
			v, ok := tt.params[n]
			return v, ok
		}
		cond := func(n string) (bool, error) { return tpl.Condition(n, lookup) }
		for name, want := range tt.want {
			if got, err := env[name].ResolveWith(lookup, cond); err != nil || got != want {
				t.Errorf("%v: %s = %q, %v; want %q", tt.params, name, got, err, want)
			}
		}
		for _, name := range []string{"LOOP", "ODD", "MISSING"} {
			if got, err := env[name].ResolveWith(lookup, cond); !errors.Is(err, ErrUnresolved) {
				t.Errorf("%s = %q, %v; want ErrUnresolved", name, got, err)
			}
		}
		// Without a cond, as before: !If is not evaluated.
		if got, err := env["SECRET"].Resolve(lookup); !errors.Is(err, ErrUnresolved) {
			t.Errorf("Resolve(SECRET) = %q, %v; want ErrUnresolved", got, err)
		}
	}
}
