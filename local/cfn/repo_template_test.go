package cfn_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"maps"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"wechatqr/local/cfn"
	"wechatqr/shared/seal"
	"wechatqr/shared/secrets"
	"wechatqr/shared/token"
)

// These tests hold the repository's template.yaml to what the docs (docs/operations.md, docs/architecture.md) promise of a
// deploy: the management API behind IAM, the webhook reachable by WeChat, least-privilege
// policies, tables that keep their data, the refresh schedule, and the build settings SAM needs.
// They read the template as it is on disk, whoever last edited it, so each failure names the
// resource to fix. cfn's API covers tables, functions and routes; everything it does not expose
// (policies, Metadata, SSE, schedules) is read from the raw YAML below.

const templatePath = "../../template.yaml"

func loadRepoTemplate(t *testing.T) *cfn.Template {
	t.Helper()
	tpl, err := cfn.Load(templatePath)
	if err != nil {
		t.Fatal(err)
	}
	return tpl
}

// rawTemplate is template.yaml as a YAML tree. yaml.v3 keeps CloudFormation's short-form tags
// (!Ref, !GetAtt, !Sub) on the nodes instead of failing on them; ref and getAtt read both forms.
type rawTemplate struct{ root *yaml.Node }

func loadRaw(t *testing.T) rawTemplate {
	t.Helper()
	b, err := os.ReadFile(templatePath)
	if err != nil {
		t.Fatal(err)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(b, &doc); err != nil {
		t.Fatalf("template.yaml: %v", err)
	}
	if len(doc.Content) != 1 || doc.Content[0].Kind != yaml.MappingNode {
		t.Fatal("template.yaml: not a YAML mapping")
	}
	return rawTemplate{doc.Content[0]}
}

// get follows mapping keys from n; nil when one is missing or n is not a mapping there.
func get(n *yaml.Node, keys ...string) *yaml.Node {
	for _, k := range keys {
		if n == nil {
			return nil
		}
		if n.Kind == yaml.AliasNode {
			n = n.Alias
		}
		if n.Kind != yaml.MappingNode {
			return nil
		}
		var next *yaml.Node
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value == k {
				next = n.Content[i+1]
				break
			}
		}
		n = next
	}
	if n != nil && n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	return n
}

type entry struct {
	key   string
	value *yaml.Node
}

// entries lists a mapping's entries in order.
func entries(n *yaml.Node) []entry {
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	var out []entry
	for i := 0; i+1 < len(n.Content); i += 2 {
		out = append(out, entry{n.Content[i].Value, n.Content[i+1]})
	}
	return out
}

// items lists a value that IAM (and CloudFormation) lets be one item or a list of them.
func items(n *yaml.Node) []*yaml.Node {
	switch {
	case n == nil:
		return nil
	case n.Kind == yaml.SequenceNode:
		return n.Content
	}
	return []*yaml.Node{n}
}

// scalar is a plain scalar's value; "" for anything else, including a tagged !Ref.
func scalar(n *yaml.Node) string {
	if n == nil || n.Kind != yaml.ScalarNode || (strings.HasPrefix(n.Tag, "!") && !strings.HasPrefix(n.Tag, "!!")) {
		return ""
	}
	return n.Value
}

// ref returns what a !Ref (or {Ref: X}) names.
func ref(n *yaml.Node) (string, bool) {
	if n == nil {
		return "", false
	}
	if n.Kind == yaml.ScalarNode && n.Tag == "!Ref" {
		return n.Value, true
	}
	if r := get(n, "Ref"); r != nil && len(n.Content) == 2 {
		return r.Value, true
	}
	return "", false
}

// describe writes a node back as YAML on one line, for failure messages.
func describe(n *yaml.Node) string {
	if n == nil {
		return "(absent)"
	}
	if n.Kind == yaml.ScalarNode {
		if strings.HasPrefix(n.Tag, "!") && !strings.HasPrefix(n.Tag, "!!") {
			return n.Tag + " " + n.Value
		}
		return strconv.Quote(n.Value)
	}
	b, err := yaml.Marshal(n)
	if err != nil {
		return "?"
	}
	return strings.Join(strings.Fields(string(b)), " ")
}

// resource is one entry of Resources.
type resource struct {
	id, typ string
	node    *yaml.Node
}

func (r rawTemplate) resources(typ string) []resource {
	var out []resource
	for _, e := range entries(get(r.root, "Resources")) {
		if t := scalar(get(e.value, "Type")); typ == "" || t == typ {
			out = append(out, resource{e.key, t, e.value})
		}
	}
	return out
}

// statement is one IAM policy statement and where it sits.
type statement struct {
	owner string // the resource whose policy holds it
	sid   string
	node  *yaml.Node
	// cond is the condition of the !If [cond, statement, ...] the statement sits in ("!cond" in
	// its else branch); "" for a statement granted whatever the parameters.
	cond string
}

func (s statement) String() string {
	if s.sid != "" {
		return s.owner + " statement " + s.sid
	}
	return s.owner + " statement " + describe(s.node)
}

func (s statement) actions() []string {
	var out []string
	for _, a := range items(get(s.node, "Action")) {
		out = append(out, a.Value)
	}
	return out
}

func (s statement) allows() bool { return scalar(get(s.node, "Effect")) == "Allow" }

// statements finds every policy statement under a resource, wherever SAM or IAM lets one sit
// (a function's Policies, a role's Policies[].PolicyDocument, a managed policy's document):
// any mapping entry named Statement.
func statements(owner string, n *yaml.Node) []statement {
	var out []statement
	var walk func(n *yaml.Node)
	walk = func(n *yaml.Node) {
		if n == nil {
			return
		}
		if n.Kind == yaml.MappingNode {
			for _, e := range entries(n) {
				if e.key == "Statement" {
					for _, st := range items(e.value) {
						// A statement inside !If [Cond, statement, !Ref AWS::NoValue] counts as
						// granted (the condition may hold), and says under which condition.
						if then, cond, ok := ifTrue(st); ok {
							out = append(out, statement{owner: owner, sid: scalar(get(then, "Sid")), node: then, cond: cond})
							args := st
							if a := get(st, "Fn::If"); a != nil {
								args = a
							}
							if other := args.Content[2]; get(other, "Effect") != nil {
								out = append(out, statement{owner: owner, sid: scalar(get(other, "Sid")), node: other, cond: "!" + cond})
							}
							continue
						}
						out = append(out, statement{owner: owner, sid: scalar(get(st, "Sid")), node: st})
					}
					continue
				}
				walk(e.value)
			}
			return
		}
		for _, c := range n.Content {
			walk(c)
		}
	}
	walk(n)
	return out
}

func (r rawTemplate) statements() []statement {
	var out []statement
	for _, res := range r.resources("") {
		out = append(out, statements(res.id, res.node)...)
	}
	return out
}

// functionStatements are the statements a function runs with: its Policies, or, when it names
// a Role of the template (Role: !GetAtt R.Arn), that role's. Statements inside !If [Cond, st,
// !Ref AWS::NoValue] count as granted (the condition may hold).
func (r rawTemplate) functionStatements(id string) []statement {
	props := get(r.root, "Resources", id, "Properties")
	if role, ok := getAtt(get(props, "Role")); ok {
		return statements(id, get(r.root, "Resources", role, "Properties", "Policies"))
	}
	return statements(id, get(props, "Policies"))
}

// ifTrue reads !If [Cond, then, else] (or {Fn::If: [...]}) and returns then and Cond.
func ifTrue(n *yaml.Node) (*yaml.Node, string, bool) {
	if n == nil {
		return nil, "", false
	}
	args := n
	if n.Kind == yaml.MappingNode {
		args = get(n, "Fn::If")
	} else if n.Tag != "!If" {
		return nil, "", false
	}
	if args == nil || args.Kind != yaml.SequenceNode || len(args.Content) != 3 {
		return nil, "", false
	}
	return args.Content[1], args.Content[0].Value, true
}

// getAtt returns the resource a !GetAtt R.Arn (either form) names.
func getAtt(n *yaml.Node) (string, bool) {
	switch {
	case n == nil:
		return "", false
	case n.Kind == yaml.ScalarNode && n.Tag == "!GetAtt":
		res, _, _ := strings.Cut(n.Value, ".")
		return res, true
	case n.Kind == yaml.SequenceNode && n.Tag == "!GetAtt" && len(n.Content) == 2:
		return n.Content[0].Value, true
	}
	if a := get(n, "Fn::GetAtt"); a != nil && a.Kind == yaml.SequenceNode && len(a.Content) == 2 {
		return a.Content[0].Value, true
	}
	return "", false
}

// underPrefix reports whether path is prefix or lies below it, segment-wise: /qrcodes/{scene}
// is under /qrcodes, /qrcodesx is not.
func underPrefix(path, prefix string) bool {
	return path == prefix || strings.HasPrefix(path, prefix+"/")
}

func TestRepoTemplateManagementRoutesRequireIAM(t *testing.T) {
	tpl := loadRepoTemplate(t)
	// The management API creates codes on the account's behalf and shows its statistics:
	// deployed, every route of it must need a SigV4 signature (docs/operations.md, "IAM").
	// /accounts adds and removes accounts; /platform connects one through the third-party
	// platform (a pre-auth code's pages, and redeeming an authorization code).
	prefixes := []string{"/qrcodes", "/stats", "/logins", "/users", "/accounts", "/platform"}
	found := map[string]int{}
	for _, fn := range tpl.Functions() {
		for _, r := range fn.Routes {
			for _, p := range prefixes {
				if !underPrefix(r.Path, p) {
					continue
				}
				found[p]++
				if !r.IAM {
					t.Errorf("%s: route %s %s (event %s) is not AWS_IAM: anyone on the internet could call it", fn.LogicalID, r.Method, r.Path, r.Event)
				}
			}
		}
	}
	// Without this the check above would pass on a template that lost its API altogether.
	if found["/qrcodes"] == 0 {
		t.Error("no HttpApi route under /qrcodes: the QR management API docs/api.md documents is not deployed")
	}
	if found["/users"] == 0 {
		t.Error("no HttpApi route under /users: DELETE /users/{openid}, which erases a follower, is not deployed")
	}
	routes := map[string]bool{}
	for _, fn := range tpl.Functions() {
		for _, r := range fn.Routes {
			routes[fn.LogicalID+" "+r.Method+" "+r.Path] = true
		}
	}
	for _, want := range []string{"QRCodeFunction POST /platform/authorizations", "QRCodeFunction POST /platform/authorizations/complete"} {
		if !routes[want] {
			t.Errorf("no route %s: the platform's authorizations cannot be started or completed through the API", want)
		}
	}
}

func TestRepoTemplateWebhookIsPublic(t *testing.T) {
	tpl := loadRepoTemplate(t)
	raw := loadRaw(t)
	// WeChat signs its requests with the Token, not SigV4 or a JWT: any authorizer on /wechat
	// turns every push into a 401/403 from API Gateway before the callback sees it.
	defaultAuth := map[string]string{} // HttpApi logical id → its DefaultAuthorizer
	for _, api := range raw.resources("AWS::Serverless::HttpApi") {
		defaultAuth[api.id] = scalar(get(api.node, "Properties", "Auth", "DefaultAuthorizer"))
	}
	globalDefault := scalar(get(raw.root, "Globals", "HttpApi", "Auth", "DefaultAuthorizer"))

	methods := map[string]bool{}
	for _, fn := range raw.resources("AWS::Serverless::Function") {
		for _, ev := range entries(get(fn.node, "Properties", "Events")) {
			if scalar(get(ev.value, "Type")) != "HttpApi" {
				continue
			}
			props := get(ev.value, "Properties")
			path := scalar(get(props, "Path"))
			if !underPrefix(path, "/wechat") {
				continue
			}
			method := strings.ToUpper(scalar(get(props, "Method")))
			methods[method] = true
			auth := scalar(get(props, "Auth", "Authorizer"))
			if auth == "" {
				auth = globalDefault
				if api, ok := ref(get(props, "ApiId")); ok && defaultAuth[api] != "" {
					auth = defaultAuth[api]
				}
			}
			if auth != "" && auth != "NONE" {
				t.Errorf("%s: route %s %s (event %s) has authorizer %q; WeChat cannot sign for it", fn.id, method, path, ev.key, auth)
			}
		}
	}
	for _, m := range []string{"GET", "POST"} {
		if !methods[m] {
			t.Errorf("no %s /wechat route: WeChat needs GET for the URL check and POST for pushes", m)
		}
	}
	// The platform's authorization events come to a URL of their own (docs/platform.md), named
	// so that the /{appid} route does not take them and so that it has its throttle
	// (TestRepoTemplateWebhookRoutesHaveTheHighestThrottle).
	component := false
	for _, fn := range tpl.Functions() {
		for _, r := range fn.Routes {
			if r.Method == "POST" && r.Path == "/wechat/component" {
				component = true
				if fn.LogicalID != "CallbackFunction" {
					t.Errorf("POST /wechat/component is served by %s, want CallbackFunction (it alone reads the platform's Token and key)", fn.LogicalID)
				}
			}
		}
	}
	if !component {
		t.Error("no POST /wechat/component route: the platform's tickets and authorizations would never arrive")
	}
	// cfn's own reading of the routes must agree (it is what the local front serves).
	for _, fn := range tpl.Functions() {
		for _, r := range fn.Routes {
			if underPrefix(r.Path, "/wechat") && r.IAM {
				t.Errorf("%s: cfn reads route %s %s as AWS_IAM", fn.LogicalID, r.Method, r.Path)
			}
		}
	}
}

// broadManagedPolicy matches AWS managed policies that grant far more than a function here
// needs (AmazonDynamoDBFullAccess, SecretsManagerReadWrite, AdministratorAccess, ...).
var broadManagedPolicy = regexp.MustCompile(`FullAccess|ReadWrite|AdministratorAccess|PowerUserAccess`)

func TestRepoTemplateNoWildcardGrants(t *testing.T) {
	raw := loadRaw(t)
	sts := raw.statements()
	if len(sts) == 0 {
		t.Fatal("no IAM statement in template.yaml: the functions could not reach their tables")
	}
	for _, st := range sts {
		if !st.allows() {
			continue
		}
		if get(st.node, "NotAction") != nil || get(st.node, "NotResource") != nil {
			t.Errorf("%s: an Allow with NotAction/NotResource grants everything it does not name", st)
		}
		touchesData := false
		for _, a := range st.actions() {
			svc, _, _ := strings.Cut(strings.ToLower(a), ":")
			switch {
			case a == "*" || strings.EqualFold(a, "dynamodb:*"):
				t.Errorf("%s: Action %q: grant the operations the function uses, by name", st, a)
			case svc == "dynamodb" || svc == "secretsmanager":
				touchesData = true
			}
			if svc == "secretsmanager" && strings.Contains(a, "*") {
				t.Errorf("%s: Action %q: a function reads its secret, it needs secretsmanager:GetSecretValue only", st, a)
			}
		}
		if !touchesData {
			continue
		}
		for _, res := range items(get(st.node, "Resource")) {
			v := scalar(res)
			if v == "*" || strings.HasSuffix(v, ":table/*") || strings.HasSuffix(v, ":secret:*") {
				t.Errorf("%s: Resource %q for %v: name the table (!GetAtt Table.Arn) or the secret (!Ref)", st, v, st.actions())
			}
		}
		if get(st.node, "Resource") == nil {
			t.Errorf("%s: no Resource", st)
		}
	}
	for _, fn := range raw.resources("AWS::Serverless::Function") {
		for _, p := range items(get(fn.node, "Properties", "Policies")) {
			if v := scalar(p); v != "" && broadManagedPolicy.MatchString(v) {
				t.Errorf("%s: managed policy %q grants far more than the function uses", fn.id, v)
			}
		}
	}
}

func TestRepoTemplateTablesKeepTheirData(t *testing.T) {
	tpl := loadRepoTemplate(t)
	raw := loadRaw(t)
	tables := tpl.Tables()
	if len(tables) == 0 {
		t.Fatal("no AWS::DynamoDB::Table in template.yaml")
	}
	for _, tb := range tables {
		props := get(get(raw.root, "Resources", tb.LogicalID), "Properties")
		checks := []struct {
			name string
			ok   bool
			why  string
		}{
			{"BillingMode PAY_PER_REQUEST", tb.BillingMode == "PAY_PER_REQUEST", "BillingMode is " + strconv.Quote(tb.BillingMode) + "; the design wants on-demand tables (no capacity to plan, no throttling at a poster launch)"},
			// The accounts table holds one item per account, each kept until it is removed.
			{"TTL enabled", tb.LogicalID == "AccountsTable" || tb.TTLEnabled && tb.TTLAttribute != "", "TimeToLiveSpecification is not enabled: claims and temporary codes would pile up for ever"},
			{"point-in-time recovery", tb.PointInTimeRecovery, "PointInTimeRecoverySpecification.PointInTimeRecoveryEnabled is not true"},
			{"SSE enabled", scalar(get(props, "SSESpecification", "SSEEnabled")) == "true", "SSESpecification.SSEEnabled is " + describe(get(props, "SSESpecification", "SSEEnabled")) + ", want true"},
		}
		for _, c := range checks {
			if !c.ok {
				t.Errorf("%s: %s: %s", tb.LogicalID, c.name, c.why)
			}
		}
	}
}

// rateExpr reads rate(N unit).
var rateExpr = regexp.MustCompile(`^rate\((\d+) (minute|minutes|hour|hours|day|days)\)$`)

func TestRepoTemplateTokenRefreshIsScheduled(t *testing.T) {
	raw := loadRaw(t)
	var refresher *resource
	for _, fn := range raw.resources("AWS::Serverless::Function") {
		if strings.Trim(scalar(get(fn.node, "Properties", "CodeUri")), "/") == "functions/tokenrefresh" {
			refresher = &fn
		}
	}
	if refresher == nil {
		t.Fatal("no function with CodeUri functions/tokenrefresh/: nothing keeps the shared access token fresh")
	}
	var schedules int
	for _, ev := range entries(get(refresher.node, "Properties", "Events")) {
		typ := scalar(get(ev.value, "Type"))
		if typ != "Schedule" && typ != "ScheduleV2" {
			continue
		}
		schedules++
		props := get(ev.value, "Properties")
		if v := scalar(get(props, "Enabled")); v == "false" {
			t.Errorf("%s: event %s is disabled", refresher.id, ev.key)
		}
		if v := scalar(get(props, "State")); v == "DISABLED" {
			t.Errorf("%s: event %s is DISABLED", refresher.id, ev.key)
		}
		expr := scalar(get(props, "ScheduleExpression"))
		m := rateExpr.FindStringSubmatch(expr)
		if m == nil {
			if !strings.HasPrefix(expr, "cron(") {
				t.Errorf("%s: event %s: ScheduleExpression %q is neither rate(...) nor cron(...)", refresher.id, ev.key, expr)
			}
			continue
		}
		// A refresh replaces the token only in its last token.DefaultMargin: a schedule
		// slower than that can miss the window, and then every function falls back to
		// fetching under a lease.
		n, _ := strconv.Atoi(m[1])
		unit := map[string]time.Duration{"minute": time.Minute, "hour": time.Hour, "day": 24 * time.Hour}[strings.TrimSuffix(m[2], "s")]
		if every := time.Duration(n) * unit; every >= token.DefaultMargin {
			t.Errorf("%s: event %s runs every %v, not within the refresh margin of %v", refresher.id, ev.key, every, token.DefaultMargin)
		}
	}
	if schedules == 0 {
		t.Errorf("%s: no Schedule or ScheduleV2 event: the token would be fetched only when it has run out", refresher.id)
	}
}

func TestRepoTemplateFunctionsBuildForProvidedAL2023OnArm64(t *testing.T) {
	tpl := loadRepoTemplate(t)
	raw := loadRaw(t)
	fns := tpl.Functions()
	if len(fns) == 0 {
		t.Fatal("no AWS::Serverless::Function in template.yaml")
	}
	for _, fn := range fns {
		// BuildMethod cannot sit in Globals: without it on each function, sam build falls
		// back to the makefile builder and fails for want of a build-<LogicalId> target.
		buildMethod := scalar(get(raw.root, "Resources", fn.LogicalID, "Metadata", "BuildMethod"))
		checks := []struct {
			name      string
			got, want string
		}{
			{"Runtime", fn.Runtime, "provided.al2023"},
			{"Handler", fn.Handler, "bootstrap"},
			{"Architectures", strings.Join(fn.Architectures, ","), "arm64"},
			{"Metadata.BuildMethod", buildMethod, "go1.x"},
		}
		for _, c := range checks {
			if c.got != c.want {
				t.Errorf("%s: %s is %q, want %q", fn.LogicalID, c.name, c.got, c.want)
			}
		}
	}
}

// secretReaders are the stack's secrets as the functions read them (shared/secrets): the
// variable naming each, and the keys taken from it.
var secretReaders = []secrets.Secret{secrets.AppSecret, secrets.Callback, secrets.ComponentAppSecret, secrets.ComponentCallback}

// secretRef reads a variable naming a secret: !Ref S, or, for a secret that exists only under a
// condition, !If [Cond, !Ref S, ""] (an empty variable: no secret to read); cond is "" for the
// first form.
func secretRef(v cfn.Value) (id, cond string, ok bool) {
	if id, ok := v.Ref(); ok {
		return id, "", true
	}
	if v.Fn != "Fn::If" || v.Arg == nil || v.Arg.Kind != yaml.SequenceNode || len(v.Arg.Content) != 3 {
		return "", "", false
	}
	var then cfn.Value
	if err := v.Arg.Content[1].Decode(&then); err != nil {
		return "", "", false
	}
	id, isRef := then.Ref()
	if els := v.Arg.Content[2]; !isRef || els.Kind != yaml.ScalarNode || els.Value != "" {
		return "", "", false
	}
	return id, v.Arg.Content[0].Value, true
}

// secretsNamed lists the secrets fn's environment names, by variable: each must be a !Ref to an
// AWS::SecretsManager::Secret of the template, or !If [Cond, !Ref S, ""] when S exists under
// Cond alone.
func secretsNamed(t *testing.T, raw rawTemplate, fn cfn.Function) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, s := range secretReaders {
		v, ok := fn.Environment[s.IDVar]
		if !ok {
			continue
		}
		id, cond, isRef := secretRef(v)
		if !isRef {
			t.Errorf("%s: %s is %s, want !Ref to one of the stack's secrets (or !If [Cond, !Ref S, \"\"])", fn.LogicalID, s.IDVar, v)
			continue
		}
		if typ := scalar(get(raw.root, "Resources", id, "Type")); typ != "AWS::SecretsManager::Secret" {
			t.Errorf("%s: %s refers to %s, a %q, want an AWS::SecretsManager::Secret", fn.LogicalID, s.IDVar, id, typ)
		}
		// A !Ref to a secret that may not exist fails the deploy; an !If whose condition is
		// not the secret's names a secret that is not there, or never names one that is.
		if want := scalar(get(raw.root, "Resources", id, "Condition")); cond != want {
			t.Errorf("%s: %s names %s under condition %q, but the secret exists under %q", fn.LogicalID, s.IDVar, id, cond, want)
		}
		out[s.IDVar] = id
	}
	return out
}

func TestRepoTemplateSecretReadOnlyFromItsOwnSecret(t *testing.T) {
	tpl := loadRepoTemplate(t)
	raw := loadRaw(t)
	for _, fn := range tpl.Functions() {
		named := secretsNamed(t, raw, fn)
		readable := map[string]bool{}
		for _, id := range named {
			readable[id] = true
		}
		granted := map[string]bool{}
		for _, st := range raw.functionStatements(fn.LogicalID) {
			if !st.allows() {
				continue
			}
			for _, a := range st.actions() {
				if !strings.HasPrefix(strings.ToLower(a), "secretsmanager:") {
					continue
				}
				if a != "secretsmanager:GetSecretValue" {
					t.Errorf("%s: %s grants %s; reading a secret needs secretsmanager:GetSecretValue only", fn.LogicalID, st, a)
					continue
				}
				res := items(get(st.node, "Resource"))
				target, ok := "", len(res) == 1
				if ok {
					target, ok = ref(res[0])
				}
				switch {
				case !ok:
					t.Errorf("%s: %s: secretsmanager:GetSecretValue on %s, want exactly one !Ref to a secret", fn.LogicalID, st, describe(get(st.node, "Resource")))
				case !readable[target]:
					t.Errorf("%s: %s grants secretsmanager:GetSecretValue on %s, which no variable of the function names (it reads %v)", fn.LogicalID, st, target, named)
				case st.cond != scalar(get(raw.root, "Resources", target, "Condition")):
					t.Errorf("%s: %s on %s sits under condition %q, the secret exists under %q: the grant must exist exactly when the secret does", fn.LogicalID, st, target, st.cond, scalar(get(raw.root, "Resources", target, "Condition")))
				default:
					granted[target] = true
				}
			}
		}
		for v, id := range named {
			if !granted[id] {
				t.Errorf("%s: reads %s but no statement grants secretsmanager:GetSecretValue on !Ref %s: its cold start would fail", fn.LogicalID, v, id)
			}
		}
	}
}

// secretKeys lists the JSON keys of a secret's SecretString (a !Sub of a JSON object whose
// values are the NoEcho parameters).
func secretKeys(t *testing.T, raw rawTemplate, id string) []string {
	t.Helper()
	n := get(raw.root, "Resources", id, "Properties", "SecretString")
	if n == nil || n.Kind != yaml.ScalarNode {
		t.Fatalf("%s: SecretString is %s, want a !Sub of a JSON object", id, describe(n))
	}
	var doc map[string]string
	if err := json.Unmarshal([]byte(n.Value), &doc); err != nil {
		t.Fatalf("%s: SecretString is not a JSON object of strings: %v", id, err)
	}
	return slices.Sorted(maps.Keys(doc))
}

// TestRepoTemplateEachFunctionReadsOnlyItsSecret: the callback can read the Token and
// EncodingAESKey (the account's, and the platform's on a platform) and not an AppSecret;
// tokenrefresh the AppSecret and the platform's component_appsecret; qrcode and scanactions the
// AppSecret alone (docs/operations.md, "Secrets"). Each secret holds exactly the keys its reader
// takes (shared/secrets), so no role can read what its function never uses; the platform's two
// exist only on a platform (IsPlatform).
func TestRepoTemplateEachFunctionReadsOnlyItsSecret(t *testing.T) {
	tpl := loadRepoTemplate(t)
	raw := loadRaw(t)
	want := map[string][]secrets.Secret{
		"CallbackFunction":     {secrets.Callback, secrets.ComponentCallback},
		"QRCodeFunction":       {secrets.AppSecret},
		"TokenRefreshFunction": {secrets.AppSecret, secrets.ComponentAppSecret},
		"ScanActionsFunction":  {secrets.AppSecret},
	}
	bySecret := map[string]string{} // the reader's IDVar → the template's secret
	for _, fn := range tpl.Functions() {
		readers, ok := want[fn.LogicalID]
		if !ok {
			t.Errorf("%s: a function this test does not know: say which secrets it may read", fn.LogicalID)
			continue
		}
		named := secretsNamed(t, raw, fn)
		var wantVars []string
		for _, r := range readers {
			wantVars = append(wantVars, r.IDVar)
		}
		if got := slices.Sorted(maps.Keys(named)); !slices.Equal(got, slices.Sorted(slices.Values(wantVars))) {
			t.Errorf("%s: its environment names the secrets %v, want %v", fn.LogicalID, named, wantVars)
			continue
		}
		ids := map[string]bool{}
		for _, reader := range readers {
			id := named[reader.IDVar]
			ids[id] = true
			if other, seen := bySecret[reader.IDVar]; seen && other != id {
				t.Errorf("%s reads %s from %s, another function from %s", fn.LogicalID, reader.IDVar, id, other)
			}
			bySecret[reader.IDVar] = id
			if got, keys := secretKeys(t, raw, id), slices.Sorted(slices.Values(reader.Keys())); !slices.Equal(got, keys) {
				t.Errorf("%s (read by %s through %s) holds the keys %v, want exactly %v", id, fn.LogicalID, reader.IDVar, got, keys)
			}
		}
		// The grants name only the function's secrets (TestRepoTemplateSecretReadOnlyFromItsOwnSecret
		// holds every grant to a secret the environment names).
		for _, st := range raw.functionStatements(fn.LogicalID) {
			for _, a := range st.actions() {
				if r, _ := ref(get(st.node, "Resource")); strings.HasPrefix(a, "secretsmanager:") && !ids[r] {
					t.Errorf("%s: %s grants %s on %s; it may read %v only", fn.LogicalID, st, a, r, slices.Sorted(maps.Keys(ids)))
				}
			}
		}
	}
	// Four secrets, one per reader: none read through two variables.
	seen := map[string]string{}
	for v, id := range bySecret {
		if other, dup := seen[id]; dup {
			t.Errorf("%s is read as %s and as %s: each reader has a secret of its own", id, v, other)
		}
		seen[id] = v
	}
	if n := len(raw.resources("AWS::SecretsManager::Secret")); n != 4 {
		t.Errorf("%d secrets in the template, want 4: the callback's, the AppSecret's and the platform's two", n)
	}
	for _, v := range []string{secrets.ComponentCallback.IDVar, secrets.ComponentAppSecret.IDVar} {
		if id := bySecret[v]; scalar(get(raw.root, "Resources", id, "Condition")) != "IsPlatform" {
			t.Errorf("%s (%s) is created whatever ComponentAppId says, want Condition: IsPlatform: a stack that is no platform keeps no platform secret", id, v)
		}
	}
	for _, v := range []string{secrets.Callback.IDVar, secrets.AppSecret.IDVar} {
		if id := bySecret[v]; get(raw.root, "Resources", id, "Condition") != nil {
			t.Errorf("%s (%s) has a Condition: every stack needs it", id, v)
		}
	}
}

// kmsPurposes lists, by KMS action, the purposes (kms:EncryptionContext:purpose) a function may
// use the accounts' key for. A KMS grant with no purpose condition is an error: it would open
// every purpose's blobs (shared/seal).
func kmsPurposes(t *testing.T, raw rawTemplate, fn string) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	for _, st := range raw.functionStatements(fn) {
		if !st.allows() {
			continue
		}
		for _, a := range st.actions() {
			if !strings.HasPrefix(strings.ToLower(a), "kms:") {
				continue
			}
			if strings.Contains(a, "*") {
				t.Errorf("%s: %s grants %s: name the KMS operations", fn, st, a)
			}
			purposes := items(get(st.node, "Condition", "StringEquals", "kms:EncryptionContext:purpose"))
			if len(purposes) == 0 {
				t.Errorf("%s: %s grants %s with no StringEquals on kms:EncryptionContext:purpose: every purpose's blobs", fn, st, a)
			}
			for _, p := range purposes {
				out[a] = append(out[a], scalar(p))
			}
		}
	}
	return out
}

// TestRepoTemplateRefreshTokensAreOpenedByTheTokenRefreshAlone: an authorizer's refresh token
// makes its access tokens for ever, so only tokenrefresh, which calls api_authorizer_token, may
// open one; the callback and qrcode, which redeem authorizations (the push, and POST
// /platform/authorizations/complete), and tokenrefresh, which stores the rotated ones, may seal
// one; scanactions neither (shared/seal, seal.RefreshToken).
func TestRepoTemplateRefreshTokensAreOpenedByTheTokenRefreshAlone(t *testing.T) {
	tpl := loadRepoTemplate(t)
	raw := loadRaw(t)
	const purpose = string(seal.RefreshToken)
	mayEncrypt := map[string]bool{"CallbackFunction": true, "QRCodeFunction": true, "TokenRefreshFunction": true}
	mayDecrypt := map[string]bool{"TokenRefreshFunction": true}
	for _, fn := range tpl.Functions() {
		got := kmsPurposes(t, raw, fn.LogicalID)
		for _, c := range []struct {
			action string
			may    map[string]bool
		}{{"kms:Encrypt", mayEncrypt}, {"kms:Decrypt", mayDecrypt}} {
			has := slices.Contains(got[c.action], purpose)
			switch {
			case has && !c.may[fn.LogicalID]:
				t.Errorf("%s may %s for purpose %s; only %v may", fn.LogicalID, c.action, purpose, slices.Sorted(maps.Keys(c.may)))
			case !has && c.may[fn.LogicalID]:
				t.Errorf("%s may not %s for purpose %s: its part of the platform would fail", fn.LogicalID, c.action, purpose)
			}
		}
		for _, a := range slices.Sorted(maps.Keys(got)) {
			if a != "kms:Encrypt" && a != "kms:Decrypt" {
				t.Errorf("%s grants %s: sealing (shared/seal) needs kms:Encrypt and kms:Decrypt only", fn.LogicalID, a)
			}
		}
	}
	// The callback opens its own keys only: never an AppSecret or a refresh token.
	if got := kmsPurposes(t, raw, "CallbackFunction")["kms:Decrypt"]; !slices.Equal(got, []string{string(seal.Callback)}) {
		t.Errorf("CallbackFunction may kms:Decrypt for purposes %v, want [%s] alone", got, seal.Callback)
	}
}

// skipShortCfnLint skips t under -short (`make test-unit`): cfn-lint and the SAM
// translator it installs are Python; `make test` runs the test.
func skipShortCfnLint(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("needs cfn-lint (`pip install cfn-lint`, with the SAM translator): skipped under -short (make test-unit); make test runs it")
	}
}

// TestRepoTemplatePassesCfnLint runs the linter the template must pass (docs/testing.md, "Tiers"). These
// machines have it; a machine without it must not pass this test silently.
func TestRepoTemplatePassesCfnLint(t *testing.T) {
	skipShortCfnLint(t)
	bin, err := exec.LookPath("cfn-lint")
	if err != nil {
		t.Fatalf("cfn-lint is not on PATH (%v): install it with `pip install cfn-lint` (the template must pass cfn-lint: docs/testing.md), then rerun", err)
	}
	var out bytes.Buffer
	cmd := exec.Command(bin, "template.yaml")
	cmd.Dir = "../.."
	cmd.Stdout, cmd.Stderr = &out, &out
	err = cmd.Run()
	var exit *exec.ExitError
	switch {
	case errors.As(err, &exit):
		// cfn-lint's exit status is a bit set: 2 errors, 4 warnings, 8 informational.
		t.Errorf("cfn-lint template.yaml exited %d:\n%s", exit.ExitCode(), out.String())
	case err != nil:
		t.Fatalf("running cfn-lint: %v\n%s", err, out.String())
	}
}

// TestRepoTemplateChecksCanFail feeds the checks' readers a template with every fault they look
// for, so that a reader that silently finds nothing (a renamed key, a tag it cannot see) shows up
// here rather than as a green run over a bad template.
func TestRepoTemplateChecksCanFail(t *testing.T) {
	const bad = `
Resources:
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      Policies:
        - Statement:
            - Sid: Everything
              Effect: Allow
              Action: dynamodb:*
              Resource: "*"
            - Sid: Secret
              Effect: Allow
              Action: [secretsmanager:GetSecretValue]
              Resource: !Ref Other
            - !If
              - Cond
              - Sid: Conditional
                Effect: Allow
                Action: kms:Decrypt
                Resource: "*"
              - !Ref AWS::NoValue
`
	var doc yaml.Node
	if err := yaml.Unmarshal([]byte(bad), &doc); err != nil {
		t.Fatal(err)
	}
	raw := rawTemplate{doc.Content[0]}
	sts := raw.statements()
	if len(sts) != 3 {
		t.Fatalf("found %d statements, want 3", len(sts))
	}
	if st := sts[2]; st.sid != "Conditional" || st.cond != "Cond" || !st.allows() || !slices.Equal(st.actions(), []string{"kms:Decrypt"}) {
		t.Errorf("the statement inside !If read as %s cond=%q allow=%v %v", st, st.cond, st.allows(), st.actions())
	}
	if got := sts[0].actions(); !slices.Equal(got, []string{"dynamodb:*"}) || !sts[0].allows() || scalar(get(sts[0].node, "Resource")) != "*" {
		t.Errorf("statement 0 read as %v allow=%v resource=%s", got, sts[0].allows(), describe(get(sts[0].node, "Resource")))
	}
	if r, ok := ref(get(sts[1].node, "Resource")); !ok || r != "Other" {
		t.Errorf("!Ref read as %q, %v", r, ok)
	}
	if !underPrefix("/qrcodes/{scene}/stats", "/qrcodes") || underPrefix("/qrcodesx", "/qrcodes") {
		t.Error("underPrefix matches the wrong paths")
	}
}
