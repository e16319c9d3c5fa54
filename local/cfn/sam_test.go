package cfn_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"wechatqr/local/cfn"
)

// These tests hold what cfn reads of the serverless resources (Globals merged into each function,
// its HttpApi and DynamoDB events) to what aws-sam-translator, the code behind CloudFormation's
// AWS::Serverless transform, makes of the same template. cfn keeps its own reading rather than
// running the translator at every Load (docs/architecture.md, "Why local/cfn and local/streams
// are our own"); these tests are what keeps the two from drifting apart.

// samDoc is a transformed template: plain CloudFormation.
type samDoc struct {
	Resources map[string]samResource
}

type samResource struct {
	Type       string
	Properties map[string]any
}

// samTranslate runs aws-sam-translator on the template at path (samTransform).
func samTranslate(t *testing.T, path string) []byte {
	t.Helper()
	py, err := exec.LookPath("python3")
	if err != nil {
		t.Fatalf("python3 is not on PATH (%v): the SAM transform needs aws-sam-translator (pip install cfn-lint)", err)
	}
	var out, stderr bytes.Buffer
	cmd := exec.Command(py, "-c", samTransform, path)
	cmd.Env = append(os.Environ(), "AWS_DEFAULT_REGION=us-east-1")
	cmd.Stdout, cmd.Stderr = &out, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("the SAM transform of %s failed: %v\n%s", path, err, stderr.String())
	}
	return out.Bytes()
}

func parseSAM(t *testing.T, b []byte) samDoc {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber() // literals compare as the template wrote them: 3, not 3.0
	var doc samDoc
	if err := dec.Decode(&doc); err != nil {
		t.Fatalf("the SAM transform's output: %v", err)
	}
	return doc
}

func TestFunctionsAgreeWithTheSAMTranslator(t *testing.T) {
	for _, path := range []string{templatePath, "testdata/template.yaml"} {
		t.Run(path, func(t *testing.T) {
			tpl, err := cfn.Load(path)
			if err != nil {
				t.Fatal(err)
			}
			for _, d := range disagreements(tpl, parseSAM(t, samTranslate(t, path))) {
				t.Error(d)
			}
		})
	}
}

// TestSAMComparisonCatchesADisagreement changes the translator's output where each part of the
// comparison looks, so that a comparison that looked nowhere would fail here.
func TestSAMComparisonCatchesADisagreement(t *testing.T) {
	tpl, err := cfn.Load("testdata/template.yaml")
	if err != nil {
		t.Fatal(err)
	}
	out := samTranslate(t, "testdata/template.yaml")
	if d := disagreements(tpl, parseSAM(t, out)); len(d) != 0 {
		t.Fatalf("the unchanged output disagrees: %v", d)
	}
	tests := []struct {
		name   string
		change func(samDoc)
		want   string
	}{
		{"timeout", func(d samDoc) { d.Resources["ApiFunction"].Properties["Timeout"] = json.Number("11") }, "Timeout"},
		{"architectures", func(d samDoc) { d.Resources["WorkerFunction"].Properties["Architectures"] = []any{"x86_64"} }, "Architectures"},
		{"environment", func(d samDoc) {
			env := d.Resources["ApiFunction"].Properties["Environment"].(map[string]any)["Variables"].(map[string]any)
			env["STAGE"] = map[string]any{"Ref": "Stage"}
		}, "STAGE"},
		{"route auth", func(d samDoc) {
			op := d.Resources["AdminApi"].Properties["Body"].(map[string]any)["paths"].(map[string]any)["/admin/{id}"].(map[string]any)["post"].(map[string]any)
			delete(op, "security")
		}, "IAM"},
		{"route missing", func(d samDoc) {
			delete(d.Resources["PublicApi"].Properties["Body"].(map[string]any)["paths"].(map[string]any), "/public")
		}, "/public"},
		{"batch size", func(d samDoc) { d.Resources["WorkerFunctionNewOrders"].Properties["BatchSize"] = json.Number("10") }, "BatchSize"},
		{"default retries", func(d samDoc) {
			d.Resources["WorkerFunctionAllOrders"].Properties["MaximumRetryAttempts"] = json.Number("3")
		}, "MaximumRetryAttempts"},
		{"filter", func(d samDoc) {
			d.Resources["WorkerFunctionNewOrders"].Properties["FilterCriteria"] = map[string]any{"Filters": []any{map[string]any{"Pattern": `{"eventName":["INSERT"]}`}}}
		}, "FilterCriteria"},
		{"extra mapping", func(d samDoc) {
			d.Resources["Another"] = samResource{Type: "AWS::Lambda::EventSourceMapping", Properties: map[string]any{"FunctionName": map[string]any{"Ref": "WorkerFunction"}}}
		}, "event source mappings"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			doc := parseSAM(t, out)
			tt.change(doc)
			d := disagreements(tpl, doc)
			if !slices.ContainsFunc(d, func(s string) bool { return strings.Contains(s, tt.want) }) {
				t.Errorf("disagreements = %q, want one naming %s", d, tt.want)
			}
		})
	}
}

// disagreements lists where tpl's functions, routes and stream events differ from the
// translator's AWS::Lambda::Function, AWS::ApiGatewayV2::Api bodies and
// AWS::Lambda::EventSourceMapping resources, with Lambda's defaults where either leaves a
// setting out.
func disagreements(tpl *cfn.Template, doc samDoc) []string {
	var out []string
	bad := func(format string, args ...any) { out = append(out, fmt.Sprintf(format, args...)) }
	var lambdas, mappings, operations int
	for _, r := range doc.Resources {
		switch r.Type {
		case "AWS::Lambda::Function":
			lambdas++
		case "AWS::Lambda::EventSourceMapping":
			mappings++
		case "AWS::ApiGatewayV2::Api":
			paths, _ := dig(r.Properties, "Body", "paths").(map[string]any)
			for _, p := range paths {
				operations += len(p.(map[string]any))
			}
		}
	}
	var routes, streams int
	for _, fn := range tpl.Functions() {
		routes += len(fn.Routes)
		streams += len(fn.Streams)
		r, ok := doc.Resources[fn.LogicalID]
		if !ok || r.Type != "AWS::Lambda::Function" {
			bad("%s: the translator makes no AWS::Lambda::Function of it", fn.LogicalID)
			continue
		}
		p := r.Properties
		want := map[string]any{
			"Handler":       fn.Handler,
			"Runtime":       fn.Runtime,
			"Architectures": fn.Architectures,
			"MemorySize":    zeroAbsent(fn.MemorySize),
			"Timeout":       zeroAbsent(int(fn.Timeout / time.Second)),
			"Code":          map[string]any{"S3Bucket": "bucket", "S3Key": strings.Trim(fn.CodeURI, "/") + ".zip"}, // samTransform's s3:// URI
		}
		for k, w := range want {
			if !sameJSON(p[k], w) {
				bad("%s: %s: cfn reads %s, the translator gives %s", fn.LogicalID, k, js(w), js(p[k]))
			}
		}
		env, _ := dig(p, "Environment", "Variables").(map[string]any)
		for _, k := range sortedKeys(env, fn.Environment) {
			v, ok := fn.Environment[k]
			if !ok || !sameJSON(env[k], valueJSON(v)) {
				bad("%s: environment %s: cfn reads %s, the translator gives %s", fn.LogicalID, k, js(valueJSON(v)), js(env[k]))
			}
		}
		for _, rt := range fn.Routes {
			checkRoute(fn.LogicalID, rt, doc, bad)
		}
		for _, e := range fn.Streams {
			checkStream(fn.LogicalID, e, doc, bad)
		}
	}
	if n := len(tpl.Functions()); lambdas != n {
		bad("the translator makes %d functions, cfn reads %d", lambdas, n)
	}
	if routes != operations {
		bad("the translator's HTTP APIs have %d operations, cfn reads %d routes", operations, routes)
	}
	if mappings != streams {
		bad("the translator makes %d event source mappings, cfn reads %d DynamoDB events", mappings, streams)
	}
	return out
}

// checkRoute finds rt in its API's OpenAPI body: SAM writes HttpApi events as paths there, not as
// AWS::ApiGatewayV2::Route resources.
func checkRoute(fnID string, rt cfn.Route, doc samDoc, bad func(string, ...any)) {
	api := rt.API
	if api == "" {
		api = "ServerlessHttpApi" // SAM's implicit API
	}
	method := strings.ToLower(rt.Method)
	if rt.Method == "ANY" {
		method = "x-amazon-apigateway-any-method"
	}
	op, ok := dig(doc.Resources[api].Properties, "Body", "paths", rt.Path, method).(map[string]any)
	if !ok {
		bad("%s: route %s %s on %s: not in the translator's API", fnID, rt.Method, rt.Path, api)
		return
	}
	uri, _ := dig(op, "x-amazon-apigateway-integration", "uri", "Fn::Sub").(string)
	if !strings.Contains(uri, "${"+fnID+".Arn}") {
		bad("%s: route %s %s: the translator integrates %q", fnID, rt.Method, rt.Path, uri)
	}
	iam := false
	sec, _ := op["security"].([]any)
	for _, s := range sec {
		if m, ok := s.(map[string]any); ok && m["AWS_IAM"] != nil {
			iam = true
		}
	}
	if iam != rt.IAM {
		bad("%s: route %s %s: cfn reads IAM %v, the translator's security is %s", fnID, rt.Method, rt.Path, rt.IAM, js(sec))
	}
}

// checkStream compares e with the mapping SAM names <function><event>, Lambda's defaults standing
// in for what either leaves out.
func checkStream(fnID string, e cfn.StreamEvent, doc samDoc, bad func(string, ...any)) {
	id := fnID + e.Event
	r, ok := doc.Resources[id]
	if !ok || r.Type != "AWS::Lambda::EventSourceMapping" {
		bad("%s: event %s: the translator makes no AWS::Lambda::EventSourceMapping %s", fnID, e.Event, id)
		return
	}
	p := r.Properties
	defaults := map[string]any{
		"BatchSize": json.Number("100"), "MaximumBatchingWindowInSeconds": json.Number("0"),
		"MaximumRetryAttempts": json.Number("-1"), "MaximumRecordAgeInSeconds": json.Number("-1"),
		"BisectBatchOnFunctionError": false, "Enabled": true,
	}
	got := func(k string) any {
		if v, ok := p[k]; ok {
			return v
		}
		return defaults[k]
	}
	var filters []any
	for _, f := range e.Filters {
		filters = append(filters, map[string]any{"Pattern": f})
	}
	var types []string
	if e.ReportBatchItemFailures {
		types = []string{"ReportBatchItemFailures"}
	}
	age := int(e.MaxRecordAge / time.Second)
	if age == 0 {
		age = -1
	}
	want := map[string]any{
		"FunctionName":                   map[string]any{"Ref": fnID},
		"EventSourceArn":                 map[string]any{"Fn::GetAtt": []string{e.Table, "StreamArn"}},
		"StartingPosition":               e.StartingPosition,
		"BatchSize":                      e.BatchSize,
		"MaximumBatchingWindowInSeconds": int(e.BatchingWindow / time.Second),
		"MaximumRetryAttempts":           e.MaxRetries,
		"MaximumRecordAgeInSeconds":      age,
		"BisectBatchOnFunctionError":     e.BisectOnError,
		"Enabled":                        e.Enabled,
		"FilterCriteria":                 nil,
		"FunctionResponseTypes":          types,
		"DestinationConfig":              nil,
	}
	if filters != nil {
		want["FilterCriteria"] = map[string]any{"Filters": filters}
	}
	if e.OnFailure != "" {
		want["DestinationConfig"] = map[string]any{"OnFailure": map[string]any{"Destination": map[string]any{"Fn::GetAtt": []string{e.OnFailure, "Arn"}}}}
	}
	for _, k := range slices.Sorted(maps.Keys(want)) {
		if !sameJSON(got(k), want[k]) {
			bad("%s: %s: cfn reads %s, the translator gives %s", id, k, js(want[k]), js(got(k)))
		}
	}
}

// valueJSON writes a cfn.Value as the translator's JSON does: a literal as its text, an
// intrinsic as {"Fn": argument}.
func valueJSON(v cfn.Value) any {
	if v.Fn == "" {
		return v.Text
	}
	var arg any = v.Text
	if v.Arg != nil {
		if err := v.Arg.Decode(&arg); err != nil {
			return fmt.Sprintf("undecodable %s: %v", v, err)
		}
	}
	return map[string]any{v.Fn: arg}
}

func zeroAbsent(n int) any {
	if n == 0 {
		return nil
	}
	return n
}

// sameJSON compares two values by their JSON, scalars by their text: the translator keeps a YAML
// literal's type (RETRIES: 3 is a number), cfn keeps every literal as the string CloudFormation
// passes to Lambda.
func sameJSON(a, b any) bool {
	return js(scalarText(a)) == js(scalarText(b))
}

func scalarText(v any) any {
	switch v := v.(type) {
	case json.Number:
		return v.String()
	case int:
		return fmt.Sprint(v)
	case bool:
		return fmt.Sprint(v)
	case []any:
		out := make([]any, len(v))
		for i, e := range v {
			out[i] = scalarText(e)
		}
		return out
	case map[string]any:
		out := map[string]any{}
		for k, e := range v {
			out[k] = scalarText(e)
		}
		return out
	}
	// Typed slices and maps (want's []string) go through JSON to the generic forms above.
	b, err := json.Marshal(v)
	if err != nil || len(b) == 0 || b[0] == '"' || string(b) == "null" {
		return v
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var g any
	if err := dec.Decode(&g); err != nil {
		return v
	}
	return scalarText(g)
}

func js(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprintf("%v", v)
	}
	return string(b)
}

func dig(v any, keys ...string) any {
	for _, k := range keys {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[k]
	}
	return v
}

func sortedKeys(a map[string]any, b map[string]cfn.Value) []string {
	keys := slices.Collect(maps.Keys(a))
	for k := range b {
		if _, ok := a[k]; !ok {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	return keys
}
