package cfn_test

import (
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// The capacity and cost bounds docs/operations.md ("Capacity and cost bounds") promises of a
// deploy: the HTTP API throttles every route, /wechat least; the callback and the token refresh
// keep concurrency of their own; access logs are JSON and carry no path, query string or body;
// every log group has a retention. Each bound is a parameter with a default, checked here.

// numberParam returns a Number parameter's default, failing t when it is missing or not a
// positive whole number.
func numberParam(t *testing.T, raw rawTemplate, name string) int {
	t.Helper()
	p := get(raw.root, "Parameters", name)
	if p == nil {
		t.Fatalf("no %s parameter", name)
	}
	if typ := scalar(get(p, "Type")); typ != "Number" {
		t.Errorf("parameter %s is a %q, want a Number", name, typ)
	}
	n, err := strconv.Atoi(scalar(get(p, "Default")))
	if err != nil {
		t.Fatalf("parameter %s: Default %s is not a whole number: every bound needs a default", name, describe(get(p, "Default")))
	}
	return n
}

// refTo reports whether n is !Ref name.
func refTo(n *yaml.Node, name string) bool {
	r, ok := ref(n)
	return ok && r == name
}

// httpAPI is the template's one AWS::Serverless::HttpApi's Properties.
func httpAPI(t *testing.T, raw rawTemplate) *yaml.Node {
	t.Helper()
	apis := raw.resources("AWS::Serverless::HttpApi")
	if len(apis) != 1 {
		t.Fatalf("%d AWS::Serverless::HttpApi, want the stack's one", len(apis))
	}
	return get(apis[0].node, "Properties")
}

// checkThrottle holds settings (a RouteSettings value) to the rate and burst parameters named.
func checkThrottle(t *testing.T, where string, settings *yaml.Node, rate, burst string) {
	t.Helper()
	if !refTo(get(settings, "ThrottlingRateLimit"), rate) {
		t.Errorf("%s: ThrottlingRateLimit is %s, want !Ref %s", where, describe(get(settings, "ThrottlingRateLimit")), rate)
	}
	if !refTo(get(settings, "ThrottlingBurstLimit"), burst) {
		t.Errorf("%s: ThrottlingBurstLimit is %s, want !Ref %s", where, describe(get(settings, "ThrottlingBurstLimit")), burst)
	}
}

func TestRepoTemplateHttpApiThrottlesEveryRouteByDefault(t *testing.T) {
	raw := loadRaw(t)
	// DefaultRouteSettings covers every route without RouteSettings of its own: the
	// management API, and any route added later, throttled from the start.
	checkThrottle(t, "HttpApi DefaultRouteSettings", get(httpAPI(t, raw), "DefaultRouteSettings"), "ApiThrottleRate", "ApiThrottleBurst")
	if rate, burst := numberParam(t, raw, "ApiThrottleRate"), numberParam(t, raw, "ApiThrottleBurst"); rate < 1 || burst < rate {
		t.Errorf("ApiThrottleRate %d, ApiThrottleBurst %d: want a positive rate and a burst of at least one second's rate", rate, burst)
	}
	// A rate or a burst of 0 refuses every request of the route: the parameters must not allow it.
	for _, route := range []string{"WeChat", "Api", "Console"} {
		for _, p := range []string{route + "ThrottleRate", route + "ThrottleBurst"} {
			if m, err := strconv.Atoi(scalar(get(raw.root, "Parameters", p, "MinValue"))); err != nil || m < 1 {
				t.Errorf("parameter %s: MinValue %s, want at least 1", p, describe(get(raw.root, "Parameters", p, "MinValue")))
			}
		}
	}
}

// routeSettings lists the HttpApi's RouteSettings by route key, checking that each names a
// route the template has (API Gateway refuses a stage whose settings name a missing route).
func routeSettings(t *testing.T, raw rawTemplate) map[string]*yaml.Node {
	t.Helper()
	routes := map[string]bool{}
	for _, fn := range loadRepoTemplate(t).Functions() {
		for _, r := range fn.Routes {
			routes[strings.ToUpper(r.Method)+" "+r.Path] = true
		}
	}
	out := map[string]*yaml.Node{}
	for _, e := range entries(get(httpAPI(t, raw), "RouteSettings")) {
		if !routes[e.key] {
			t.Errorf("HttpApi RouteSettings names %q, which is no route of the template", e.key)
		}
		out[e.key] = e.value
	}
	return out
}

// routesUnder lists the route keys of the template's routes under prefix.
func routesUnder(t *testing.T, prefix string) []string {
	t.Helper()
	var out []string
	for _, fn := range loadRepoTemplate(t).Functions() {
		for _, r := range fn.Routes {
			if underPrefix(r.Path, prefix) {
				out = append(out, strings.ToUpper(r.Method)+" "+r.Path)
			}
		}
	}
	if len(out) == 0 {
		t.Fatalf("no route under %s", prefix)
	}
	return out
}

func TestRepoTemplateWebhookRoutesHaveTheHighestThrottle(t *testing.T) {
	raw := loadRaw(t)
	settings := routeSettings(t, raw)
	for _, key := range routesUnder(t, "/wechat") {
		s, ok := settings[key]
		if !ok {
			t.Errorf("no RouteSettings for %q: WeChat's pushes would get the management API's limits", key)
			continue
		}
		checkThrottle(t, "RouteSettings "+key, s, "WeChatThrottleRate", "WeChatThrottleBurst")
	}
	// A throttled push is lost (docs/operations.md): /wechat's defaults stay above the others'.
	wechat, wechatBurst := numberParam(t, raw, "WeChatThrottleRate"), numberParam(t, raw, "WeChatThrottleBurst")
	for _, other := range []string{"ApiThrottle", "ConsoleThrottle"} {
		if rate, burst := numberParam(t, raw, other+"Rate"), numberParam(t, raw, other+"Burst"); rate >= wechat || burst >= wechatBurst {
			t.Errorf("%sRate/Burst default to %d/%d, not below WeChatThrottleRate/Burst's %d/%d", other, rate, burst, wechat, wechatBurst)
		}
	}
	if wechatBurst < wechat {
		t.Errorf("WeChatThrottleBurst %d is below a second's rate, %d", wechatBurst, wechat)
	}
}

func TestRepoTemplateConsoleRoutesHaveTheirOwnThrottle(t *testing.T) {
	raw := loadRaw(t)
	settings := routeSettings(t, raw)
	for _, key := range routesUnder(t, "/console") {
		s, ok := settings[key]
		if !ok {
			t.Errorf("no RouteSettings for %q: the console would share the management API's limits", key)
			continue
		}
		checkThrottle(t, "RouteSettings "+key, s, "ConsoleThrottleRate", "ConsoleThrottleBurst")
	}
	// The console's first page load is 17 files at once (docs/console.md): a burst below that
	// refuses part of one person's first visit.
	if burst := numberParam(t, raw, "ConsoleThrottleBurst"); burst < 17 {
		t.Errorf("ConsoleThrottleBurst defaults to %d, below one first page load's 17 requests", burst)
	}
}

// TestRepoTemplateCallbackAndTokenRefreshReserveConcurrency: both functions keep concurrency
// of their own (a parameter each, 0 meaning none, never a reservation of 0, which would stop
// the function), and the other two reserve none from the account.
func TestRepoTemplateCallbackAndTokenRefreshReserveConcurrency(t *testing.T) {
	raw := loadRaw(t)
	tests := []struct {
		function, param string
		min             int
	}{
		{"CallbackFunction", "CallbackReservedConcurrency", 10},
		{"TokenRefreshFunction", "TokenRefreshReservedConcurrency", 1},
	}
	for _, tt := range tests {
		t.Run(tt.function, func(t *testing.T) {
			v := get(raw.root, "Resources", tt.function, "Properties", "ReservedConcurrentExecutions")
			then, cond, ok := ifTrue(v)
			if !ok || !refTo(then, tt.param) {
				t.Fatalf("ReservedConcurrentExecutions is %s, want !If [cond, !Ref %s, !Ref AWS::NoValue]", describe(v), tt.param)
			}
			args := v.Content
			if v.Tag != "!If" {
				args = get(v, "Fn::If").Content
			}
			if !refTo(args[2], "AWS::NoValue") {
				t.Errorf("ReservedConcurrentExecutions without a reservation is %s, want !Ref AWS::NoValue", describe(args[2]))
			}
			// The condition must be "the parameter is not 0": !Not [!Equals [!Ref P, 0]].
			if got, want := describe(get(raw.root, "Conditions", cond)), describe(condNode(t, tt.param)); got != want {
				t.Errorf("condition %s is %s, want %s", cond, got, want)
			}
			if n := numberParam(t, raw, tt.param); n < tt.min {
				t.Errorf("%s defaults to %d, want at least %d", tt.param, n, tt.min)
			}
			if m := scalar(get(raw.root, "Parameters", tt.param, "MinValue")); m != "0" {
				t.Errorf("%s: MinValue %q, want 0 (no reservation, for accounts whose limit leaves none)", tt.param, m)
			}
		})
	}
	// At 100 ms a push (docs/operations.md), the callback's reservation carries 10 pushes a
	// second per execution: /wechat's rate must not pass more than that on.
	if rate, reserved := numberParam(t, raw, "WeChatThrottleRate"), numberParam(t, raw, "CallbackReservedConcurrency"); rate > 10*reserved {
		t.Errorf("WeChatThrottleRate %d passes more pushes a second than CallbackReservedConcurrency %d carries at 100 ms each", rate, reserved)
	}
	for _, fn := range []string{"QRCodeFunction", "ScanActionsFunction"} {
		if v := get(raw.root, "Resources", fn, "Properties", "ReservedConcurrentExecutions"); v != nil {
			t.Errorf("%s reserves %s: only the callback and the token refresh take concurrency from the account", fn, describe(v))
		}
	}
}

// condNode is the condition the reservation tests expect, parsed as the template would write it.
func condNode(t *testing.T, param string) *yaml.Node {
	t.Helper()
	var doc yaml.Node
	if err := yaml.Unmarshal([]byte(fmt.Sprintf("!Not [!Equals [!Ref %s, 0]]", param)), &doc); err != nil {
		t.Fatal(err)
	}
	return doc.Content[0]
}

// accessLogVars are the $context variables an access log line may carry: none holds the path,
// the query string, a header or the body. routeKey is the route's template (DELETE
// /users/{openid}), never the openid in it.
var accessLogVars = []string{
	"requestId", "requestTime", "requestTimeEpoch", "identity.sourceIp", "httpMethod", "routeKey",
	"protocol", "status", "responseLength", "responseLatency", "integrationLatency",
	"integrationStatus", "integrationErrorMessage", "error.message", "error.responseType",
}

var contextVar = regexp.MustCompile(`\$context\.[A-Za-z.]+`)

func TestRepoTemplateAccessLogsAreJSONWithoutPathQueryOrBody(t *testing.T) {
	raw := loadRaw(t)
	format := scalar(get(httpAPI(t, raw), "AccessLogSettings", "Format"))
	if format == "" {
		t.Fatal("HttpApi has no AccessLogSettings.Format: no access log")
	}
	// Each value one variable, whole: the line parses as JSON whatever the values are.
	var fields map[string]string
	if err := json.Unmarshal([]byte(format), &fields); err != nil {
		t.Fatalf("the access log Format is not a JSON object of strings: %v\n%s", err, format)
	}
	got := map[string]bool{}
	for k, v := range fields {
		if !contextVar.MatchString(v) || contextVar.FindString(v) != v {
			t.Errorf("access log field %q is %q, want exactly one $context variable", k, v)
			continue
		}
		name := strings.TrimPrefix(v, "$context.")
		if !slices.Contains(accessLogVars, name) {
			t.Errorf("access log field %q logs %s, which is not on the list of variables that carry no path, query string, header or body", k, v)
		}
		got[name] = true
	}
	if strings.Contains(format, "$request.") || strings.Contains(format, "$input.") {
		t.Errorf("the access log Format reads the request itself: %s", format)
	}
	for _, want := range []string{"requestId", "identity.sourceIp", "httpMethod", "routeKey", "status", "responseLength", "integrationLatency"} {
		if !got[want] {
			t.Errorf("the access log has no $context.%s", want)
		}
	}
}

func TestRepoTemplateAccessLogsHaveTheirOwnLogGroupWithRetention(t *testing.T) {
	raw := loadRaw(t)
	group, ok := getAtt(get(httpAPI(t, raw), "AccessLogSettings", "DestinationArn"))
	if !ok {
		t.Fatalf("AccessLogSettings.DestinationArn is %s, want !GetAtt <a log group of the template>.Arn", describe(get(httpAPI(t, raw), "AccessLogSettings", "DestinationArn")))
	}
	checkLogGroup(t, raw, group)
	for _, fn := range raw.resources("AWS::Serverless::Function") {
		if r, _ := ref(get(fn.node, "Properties", "LoggingConfig", "LogGroup")); r == group {
			t.Errorf("%s logs to the access logs' group %s: access logs get a group of their own", fn.id, group)
		}
	}
}

// checkLogGroup holds the resource id to a log group whose retention is LogRetentionDays.
func checkLogGroup(t *testing.T, raw rawTemplate, id string) {
	t.Helper()
	res := get(raw.root, "Resources", id)
	if typ := scalar(get(res, "Type")); typ != "AWS::Logs::LogGroup" {
		t.Errorf("%s is a %q, want an AWS::Logs::LogGroup", id, typ)
		return
	}
	if v := get(res, "Properties", "RetentionInDays"); !refTo(v, "LogRetentionDays") {
		t.Errorf("%s: RetentionInDays is %s, want !Ref LogRetentionDays (without it, logs are kept for ever)", id, describe(v))
	}
}

// TestRepoTemplateEveryFunctionLogsToAGroupWithRetention: each function's LoggingConfig names
// a log group of the template, one per function, with the retention parameter; the Globals'
// JSON log format still applies (the SAM transform merges the two, checked below).
func TestRepoTemplateEveryFunctionLogsToAGroupWithRetention(t *testing.T) {
	raw := loadRaw(t)
	fns := raw.resources("AWS::Serverless::Function")
	if len(fns) == 0 {
		t.Fatal("no function")
	}
	seen := map[string]string{}
	for _, fn := range fns {
		group, ok := ref(get(fn.node, "Properties", "LoggingConfig", "LogGroup"))
		if !ok {
			t.Errorf("%s: LoggingConfig.LogGroup is %s, want !Ref to its log group: Lambda's own group keeps logs for ever", fn.id, describe(get(fn.node, "Properties", "LoggingConfig", "LogGroup")))
			continue
		}
		if other, dup := seen[group]; dup {
			t.Errorf("%s and %s share log group %s", fn.id, other, group)
		}
		seen[group] = fn.id
		checkLogGroup(t, raw, group)
	}
	if f := scalar(get(raw.root, "Globals", "Function", "LoggingConfig", "LogFormat")); f != "JSON" {
		t.Errorf("Globals LoggingConfig.LogFormat is %q, want JSON", f)
	}
}

func TestRepoTemplateLogRetentionIsAParameterOfCloudWatchsValues(t *testing.T) {
	raw := loadRaw(t)
	// The values RetentionInDays accepts (CloudWatch Logs' PutRetentionPolicy).
	cloudWatch := []string{"1", "3", "5", "7", "14", "30", "60", "90", "120", "150", "180", "365", "400", "545", "731", "1096", "1827", "2192", "2557", "2922", "3288", "3653"}
	var allowed []string
	for _, n := range items(get(raw.root, "Parameters", "LogRetentionDays", "AllowedValues")) {
		allowed = append(allowed, n.Value)
	}
	if !slices.Equal(allowed, cloudWatch) {
		t.Errorf("LogRetentionDays allows %v, want CloudWatch's values %v", allowed, cloudWatch)
	}
	if d := numberParam(t, raw, "LogRetentionDays"); !slices.Contains(cloudWatch, strconv.Itoa(d)) || d > 400 {
		t.Errorf("LogRetentionDays defaults to %d, want one of CloudWatch's values, at most ScanRetentionDays' default 400", d)
	}
	for _, g := range raw.resources("AWS::Logs::LogGroup") {
		checkLogGroup(t, raw, g.id)
	}
}

// TestRepoTemplateSAMKeepsTheCapacitySettings: what CloudFormation receives after the SAM
// transform still has each bound (a property the transform dropped would deploy nothing).
func TestRepoTemplateSAMKeepsTheCapacitySettings(t *testing.T) {
	skipShortCfnLint(t)
	doc := parseSAM(t, samTranslate(t, templatePath))
	var stages []samResource
	for _, r := range doc.Resources {
		if r.Type == "AWS::ApiGatewayV2::Stage" {
			stages = append(stages, r)
		}
	}
	if len(stages) != 1 {
		t.Fatalf("the transform makes %d stages, want 1", len(stages))
	}
	p := stages[0].Properties
	checks := map[string]any{
		"DefaultRouteSettings":                    map[string]any{"ThrottlingRateLimit": map[string]any{"Ref": "ApiThrottleRate"}, "ThrottlingBurstLimit": map[string]any{"Ref": "ApiThrottleBurst"}},
		"RouteSettings.POST /wechat":              map[string]any{"ThrottlingRateLimit": map[string]any{"Ref": "WeChatThrottleRate"}, "ThrottlingBurstLimit": map[string]any{"Ref": "WeChatThrottleBurst"}},
		"AccessLogSettings.DestinationArn":        map[string]any{"Fn::GetAtt": []any{"HttpApiAccessLogGroup", "Arn"}},
		"RouteSettings.ANY /console/api/{proxy+}": map[string]any{"ThrottlingRateLimit": map[string]any{"Ref": "ConsoleThrottleRate"}, "ThrottlingBurstLimit": map[string]any{"Ref": "ConsoleThrottleBurst"}},
	}
	for path, want := range checks {
		k, rest, _ := strings.Cut(path, ".")
		got := p[k]
		if rest != "" {
			got = dig(got, rest)
		}
		if !sameJSON(got, want) {
			t.Errorf("the stage's %s is %s, want %s", path, js(got), js(want))
		}
	}
	for _, id := range []string{"CallbackFunction", "QRCodeFunction", "TokenRefreshFunction", "ScanActionsFunction"} {
		lc := dig(doc.Resources[id].Properties, "LoggingConfig")
		if dig(lc, "LogFormat") != "JSON" || dig(lc, "LogGroup") == nil {
			t.Errorf("%s: LoggingConfig after the transform is %s, want the Globals' LogFormat JSON and its own LogGroup", id, js(lc))
		}
	}
	for _, id := range []string{"CallbackFunction", "TokenRefreshFunction"} {
		if doc.Resources[id].Properties["ReservedConcurrentExecutions"] == nil {
			t.Errorf("%s: no ReservedConcurrentExecutions after the transform", id)
		}
	}
}
