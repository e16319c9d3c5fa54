package cfn_test

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"wechatqr/local/cfn"
	"wechatqr/local/streams"
)

// These tests hold the scan actions' part of template.yaml to issue 12: the function reads only
// new scan records of the events table's stream, failures are reported per record and bisected,
// retries and record age are bounded, what is given up on lands on an alarmed queue, and the
// function's role grants the stream, the items, the bus and the queue it uses and nothing else.

// scanActions finds the function whose code is functions/scanactions and its DynamoDB event.
func scanActions(t *testing.T, tpl *cfn.Template) (cfn.Function, cfn.StreamEvent) {
	t.Helper()
	for _, fn := range tpl.Functions() {
		if strings.Trim(fn.CodeURI, "/") != "functions/scanactions" {
			continue
		}
		if len(fn.Streams) != 1 {
			t.Fatalf("%s: %d DynamoDB events, want one on the events table's stream", fn.LogicalID, len(fn.Streams))
		}
		return fn, fn.Streams[0]
	}
	t.Fatal("no function with CodeUri functions/scanactions/")
	return cfn.Function{}, cfn.StreamEvent{}
}

func TestRepoTemplateScanActionsMapping(t *testing.T) {
	tpl := loadRepoTemplate(t)
	raw := loadRaw(t)
	fn, ev := scanActions(t, tpl)
	if ev.Table != "EventsTable" {
		t.Errorf("%s reads the stream of %s, want EventsTable (the scan records)", fn.LogicalID, ev.Table)
	}
	for _, tb := range tpl.Tables() {
		if tb.LogicalID == ev.Table && tb.StreamViewType != "NEW_IMAGE" && tb.StreamViewType != "NEW_AND_OLD_IMAGES" {
			t.Errorf("%s: StreamViewType %q: the function needs the new image", tb.LogicalID, tb.StreamViewType)
		}
	}
	checks := []struct {
		name string
		ok   bool
		why  string
	}{
		{"FunctionResponseTypes", ev.ReportBatchItemFailures, "without ReportBatchItemFailures one failed record retries the whole batch, and its follow-ups are claimed again"},
		{"BisectBatchOnFunctionError", ev.BisectOnError, "a record that crashes the function would hold up its whole batch until it expires"},
		{"MaximumRetryAttempts", ev.MaxRetries >= 0 && ev.MaxRetries <= 10, "retries must be bounded (-1 retries a poison record for the stream's 24 hours, blocking its shard)"},
		{"MaximumRecordAgeInSeconds", ev.MaxRecordAge > 0, "records must expire to the DLQ rather than block the shard for a day"},
		{"OnFailure", ev.OnFailure != "", "no on-failure destination: records given up on are lost silently"},
		{"BatchSize", ev.BatchSize >= 1 && ev.BatchSize <= 1000, "a batch larger than the function can act on within its timeout"},
		{"MaximumBatchingWindowInSeconds", ev.BatchingWindow.Seconds() <= 5, "follow-ups must arrive within WeChat's 1-minute window: keep the batching window short"},
		{"StartingPosition", ev.StartingPosition == "LATEST", "TRIM_HORIZON on a first deploy would act on a day of old scans"},
		{"Enabled", ev.Enabled, "the mapping is disabled"},
	}
	for _, c := range checks {
		if !c.ok {
			t.Errorf("%s event %s: %s: %s", fn.LogicalID, ev.Event, c.name, c.why)
		}
	}

	// The filter keeps exactly the records the function acts on.
	f, err := streams.ParseFilter(ev.Filters)
	if err != nil || f.Len() == 0 {
		t.Fatalf("FilterCriteria %v: %v; want a filter keeping new scan records only", ev.Filters, err)
	}
	// A record is a push's claim that carries the event it records (shared/dynamo claimKey).
	record := func(event, sk, recorded string) []byte {
		img := map[string]any{"pk": map[string]string{"S": "user#o1"}, "sk": map[string]string{"S": sk}}
		if recorded != "" {
			img["event"] = map[string]string{"S": recorded}
		}
		b, _ := json.Marshal(map[string]any{
			"eventName": event, "eventSource": "aws:dynamodb",
			"dynamodb": map[string]any{
				"Keys":     map[string]any{"pk": map[string]string{"S": "user#o1"}, "sk": map[string]string{"S": sk}},
				"NewImage": img,
			},
		})
		return b
	}
	for _, c := range []struct {
		event, sk, recorded string
		want                bool
	}{
		{"INSERT", "push#event:1732500000|subscribe|qrscene_riddle-1", "subscribe", true},
		{"INSERT", "push#event:1732500000|SCAN|poster", "SCAN", true},
		{"INSERT", "push#event:1732500000|unsubscribe|", "unsubscribe", true},
		{"MODIFY", "push#event:1732500000|SCAN|poster", "SCAN", false},
		{"REMOVE", "push#event:1732500000|SCAN|poster", "SCAN", false},
		{"INSERT", "push#event:1732500000|SCAN|login:ABC", "", false}, // a log-in's claim
		{"INSERT", "push#event:1732500000|CLICK|menu", "", false},     // a push that records nothing
		{"INSERT", "push#msg:1234567890123456", "", false},
		{"INSERT", "followup#event:1732500000|SCAN|poster#0", "", false},
		{"INSERT", "source", "", false},
	} {
		if got, err := f.Match(record(c.event, c.sk, c.recorded)); err != nil || got != c.want {
			t.Errorf("filter on %s of %s: %v, %v; want %v", c.event, c.sk, got, err, c.want)
		}
	}

	// The queue: encrypted, the longest retention, and an alarm as soon as anything lands.
	q := get(raw.root, "Resources", ev.OnFailure, "Properties")
	if scalar(get(q, "SqsManagedSseEnabled")) != "true" && get(q, "KmsMasterKeyId") == nil {
		t.Errorf("%s: not encrypted (SqsManagedSseEnabled or KmsMasterKeyId)", ev.OnFailure)
	}
	if scalar(get(q, "MessageRetentionPeriod")) != "1209600" {
		t.Errorf("%s: MessageRetentionPeriod %s, want 1209600 (14 days, the most SQS keeps)", ev.OnFailure, describe(get(q, "MessageRetentionPeriod")))
	}
	alarmed := false
	for _, a := range raw.resources("AWS::CloudWatch::Alarm") {
		p := get(a.node, "Properties")
		if scalar(get(p, "Namespace")) != "AWS/SQS" || scalar(get(p, "MetricName")) != "ApproximateNumberOfMessagesVisible" {
			continue
		}
		for _, d := range items(get(p, "Dimensions")) {
			if q, ok := getAtt(get(d, "Value")); ok && q == ev.OnFailure && scalar(get(d, "Name")) == "QueueName" &&
				scalar(get(p, "Threshold")) == "1" && scalar(get(p, "ComparisonOperator")) == "GreaterThanOrEqualToThreshold" {
				alarmed = true
			}
		}
	}
	if !alarmed {
		t.Errorf("no alarm on %s's ApproximateNumberOfMessagesVisible >= 1: failed actions would go unnoticed", ev.OnFailure)
	}
}

func TestRepoTemplateScanActionsLeastPrivilege(t *testing.T) {
	tpl := loadRepoTemplate(t)
	raw := loadRaw(t)
	fn, ev := scanActions(t, tpl)
	props := get(raw.root, "Resources", fn.LogicalID, "Properties")
	role, ok := getAtt(get(props, "Role"))
	if !ok {
		// SAM's DynamoDB event attaches AWSLambdaDynamoDBExecutionRole to a role it makes: every
		// stream of the account.
		t.Fatalf("%s: no Role of its own: SAM would attach AWSLambdaDynamoDBExecutionRole (streams on \"*\")", fn.LogicalID)
	}
	for _, m := range items(get(raw.root, "Resources", role, "Properties", "ManagedPolicyArns")) {
		s := describe(m)
		if !strings.Contains(s, "AWSLambdaBasicExecutionRole") && !strings.Contains(s, "AWSLambdaVPCAccessExecutionRole") {
			t.Errorf("%s: managed policy %s: only logging (and VPC access) may come from a managed policy", role, s)
		}
	}
	// Which actions each resource may get; anything else is more than the function uses.
	allowed := map[string][]string{
		"!GetAtt " + ev.Table + ".StreamArn":    {"dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator", "dynamodb:ListStreams"},
		"!Sub ${" + ev.Table + ".Arn}/stream/*": {"dynamodb:ListStreams"},
		"!GetAtt ScenesTable.Arn":               {"dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:ConditionCheckItem"},
		"!GetAtt EventsTable.Arn":               {"dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:ConditionCheckItem"},
		"!GetAtt TokensTable.Arn":               {"dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"},
		"!Ref WeChatAppSecretSecret":            {"secretsmanager:GetSecretValue"},
		"!GetAtt AccountsTable.Arn":             {"dynamodb:GetItem"},
		"!GetAtt AccountsKey.Arn":               {"kms:Decrypt"},
		"!GetAtt " + ev.OnFailure + ".Arn":      {"sqs:SendMessage"},
		"!Sub arn:${AWS::Partition}:events:${AWS::Region}:${AWS::AccountId}:event-bus/${EventBusName}": {"events:PutEvents"},
	}
	granted := map[string]bool{}
	for _, st := range statements(role, get(raw.root, "Resources", role, "Properties", "Policies")) {
		node, cond := st.node, st.cond
		s := statement{owner: role, sid: st.sid, node: node}
		for _, a := range s.actions() {
			if a == "events:PutEvents" && cond != "PublishScans" {
				t.Errorf("%s: events:PutEvents outside !If [PublishScans, ...]: an empty EventBusName must grant nothing", s)
			}
			for _, res := range items(get(node, "Resource")) {
				r := describe(res)
				if !slices.Contains(allowed[r], a) {
					t.Errorf("%s: %s on %s: not something the scan actions use", s, a, r)
				}
				granted[a] = true
			}
		}
	}
	for _, need := range []string{"dynamodb:GetRecords", "dynamodb:GetShardIterator", "dynamodb:DescribeStream", "dynamodb:ListStreams", "sqs:SendMessage", "events:PutEvents", "secretsmanager:GetSecretValue"} {
		if !granted[need] {
			t.Errorf("%s grants no %s: the mapping or the function would fail", role, need)
		}
	}
	if env, ok := fn.Environment["EVENT_BUS_NAME"]; !ok || describe(yamlOf(env)) != "!Ref EventBusName" {
		t.Errorf("%s: EVENT_BUS_NAME is %v, want !Ref EventBusName", fn.LogicalID, env)
	}
}

// yamlOf writes a cfn.Value back as a node describe understands.
func yamlOf(v cfn.Value) *yaml.Node {
	if v.Fn == "" {
		return &yaml.Node{Kind: yaml.ScalarNode, Value: v.Text}
	}
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!" + strings.TrimPrefix(v.Fn, "Fn::"), Value: v.Text}
}

// samTransform is what `sam package` + CloudFormation's transform do to the template: CodeUri
// becomes an S3 object, and aws-sam-translator (shipped with cfn-lint) expands the serverless
// resources.
const samTransform = `
import json, sys
from samtranslator.translator.transform import transform
from samtranslator.yaml_helper import yaml_parse
class NoManagedPolicies:
    def load(self): return {}
t = yaml_parse(open(sys.argv[1]).read())
for r in t["Resources"].values():
    if r["Type"] == "AWS::Serverless::Function":
        r["Properties"]["CodeUri"] = "s3://bucket/" + r["Properties"]["CodeUri"].strip("/") + ".zip"
json.dump(transform(t, {}, NoManagedPolicies()), sys.stdout, indent=1)
`

// TestRepoTemplateSAMTransform transforms the template as CloudFormation would and checks what
// it receives: the event source mapping with every setting above, the scan actions' role
// without SAM's stream policy, and a result cfn-lint passes.
func TestRepoTemplateSAMTransform(t *testing.T) {
	skipShortCfnLint(t)
	out := samTranslate(t, templatePath)
	var doc struct {
		Resources map[string]struct {
			Type       string
			Properties map[string]json.RawMessage
		}
	}
	if err := json.Unmarshal(out, &doc); err != nil {
		t.Fatal(err)
	}
	var esm map[string]json.RawMessage
	for id, r := range doc.Resources {
		if r.Type == "AWS::Lambda::EventSourceMapping" && strings.Contains(string(r.Properties["EventSourceArn"]), "StreamArn") {
			if esm != nil {
				t.Errorf("a second stream mapping, %s", id)
			}
			esm = r.Properties
		}
	}
	if esm == nil {
		t.Fatal("the transformed template has no AWS::Lambda::EventSourceMapping on a stream")
	}
	want := map[string]string{
		"BisectBatchOnFunctionError": "true",
		"FunctionResponseTypes":      `["ReportBatchItemFailures"]`,
		"StartingPosition":           `"LATEST"`,
	}
	for k, v := range want {
		var a, b any
		_ = json.Unmarshal(esm[k], &a)
		_ = json.Unmarshal([]byte(v), &b)
		if !jsonEqual(a, b) {
			t.Errorf("EventSourceMapping %s = %s, want %s", k, esm[k], v)
		}
	}
	for _, k := range []string{"FilterCriteria", "DestinationConfig", "MaximumRetryAttempts", "MaximumRecordAgeInSeconds", "BatchSize", "MaximumBatchingWindowInSeconds"} {
		if esm[k] == nil {
			t.Errorf("EventSourceMapping has no %s", k)
		}
	}
	for id, r := range doc.Resources {
		if r.Type == "AWS::IAM::Role" && strings.Contains(string(r.Properties["ManagedPolicyArns"]), "AWSLambdaDynamoDBExecutionRole") {
			t.Errorf("role %s gets AWSLambdaDynamoDBExecutionRole: every stream of the account", id)
		}
	}

	// What CloudFormation receives passes the linter too.
	file := filepath.Join(t.TempDir(), "transformed.json")
	if err := os.WriteFile(file, out, 0o644); err != nil {
		t.Fatal(err)
	}
	lint, err := exec.LookPath("cfn-lint")
	if err != nil {
		t.Fatalf("cfn-lint is not on PATH: %v", err)
	}
	if b, err := exec.Command(lint, file).CombinedOutput(); err != nil {
		t.Errorf("cfn-lint on the transformed template: %v\n%s", err, b)
	}
}

func jsonEqual(a, b any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return bytes.Equal(x, y)
}
