package cfn_test

import (
	"slices"
	"strconv"
	"strings"
	"testing"
)

// The console's sign-in as docs/console.md promises it: people created by an admin only, a strong
// password policy, a public app client with the authorization code flow (PKCE) whose callback
// is the console, a hosted sign-in domain, the first admin invited when AdminEmail is set, and
// the qrcode function told where to check tokens, with no Cognito permission at all.

func TestRepoTemplateConsoleUserPoolIsAdminOnlyWithAStrongPasswordPolicy(t *testing.T) {
	raw := loadRaw(t)
	pools := raw.resources("AWS::Cognito::UserPool")
	if len(pools) != 1 {
		t.Fatalf("%d user pools, want the console's one", len(pools))
	}
	p := get(pools[0].node, "Properties")
	if v := scalar(get(p, "AdminCreateUserConfig", "AllowAdminCreateUserOnly")); v != "true" {
		t.Errorf("%s: AllowAdminCreateUserOnly is %q: anyone could sign up to the console", pools[0].id, v)
	}
	pw := get(p, "Policies", "PasswordPolicy")
	if n, _ := strconv.Atoi(scalar(get(pw, "MinimumLength"))); n < 12 {
		t.Errorf("%s: MinimumLength %d, want at least 12", pools[0].id, n)
	}
	for _, k := range []string{"RequireLowercase", "RequireUppercase", "RequireNumbers", "RequireSymbols"} {
		if scalar(get(pw, k)) != "true" {
			t.Errorf("%s: PasswordPolicy.%s is not true", pools[0].id, k)
		}
	}
}

func TestRepoTemplateConsoleClientUsesTheCodeFlowWithoutASecret(t *testing.T) {
	raw := loadRaw(t)
	clients := raw.resources("AWS::Cognito::UserPoolClient")
	if len(clients) != 1 {
		t.Fatalf("%d app clients, want the console's one", len(clients))
	}
	c := clients[0]
	p := get(c.node, "Properties")
	if scalar(get(p, "GenerateSecret")) != "false" {
		t.Errorf("%s: GenerateSecret is not false: a browser cannot keep a client secret", c.id)
	}
	var flows, scopes []string
	for _, n := range items(get(p, "AllowedOAuthFlows")) {
		flows = append(flows, n.Value)
	}
	for _, n := range items(get(p, "AllowedOAuthScopes")) {
		scopes = append(scopes, n.Value)
	}
	if !slices.Equal(flows, []string{"code"}) {
		t.Errorf("%s: AllowedOAuthFlows %v, want only [code] (the implicit flow puts tokens in URLs)", c.id, flows)
	}
	if !slices.Contains(scopes, "openid") || !slices.Contains(scopes, "email") {
		t.Errorf("%s: AllowedOAuthScopes %v, want openid and email", c.id, scopes)
	}
	if scalar(get(p, "AllowedOAuthFlowsUserPoolClient")) != "true" {
		t.Errorf("%s: AllowedOAuthFlowsUserPoolClient is not true: the hosted sign-in would refuse the client", c.id)
	}
	for _, k := range []string{"CallbackURLs", "LogoutURLs"} {
		urls := items(get(p, k))
		if len(urls) != 1 || urls[0].Tag != "!Sub" || !strings.HasSuffix(urls[0].Value, "/console") || !strings.Contains(urls[0].Value, "${HttpApi}") {
			t.Errorf("%s: %s is %s, want the one console URL on the stack's HTTP API", c.id, k, describe(get(p, k)))
		}
	}
	for _, n := range items(get(p, "ExplicitAuthFlows")) {
		if strings.Contains(n.Value, "PASSWORD") {
			t.Errorf("%s: ExplicitAuthFlows has %s: passwords go to the hosted sign-in, never through our pages", c.id, n.Value)
		}
	}
}

func TestRepoTemplateConsoleHasItsDomainAdminInviteAndURL(t *testing.T) {
	raw := loadRaw(t)
	if d := raw.resources("AWS::Cognito::UserPoolDomain"); len(d) != 1 {
		t.Errorf("%d user pool domains, want the console's hosted sign-in", len(d))
	}
	users := raw.resources("AWS::Cognito::UserPoolUser")
	if len(users) != 1 {
		t.Fatalf("%d pool users, want the AdminEmail invitation", len(users))
	}
	if cond := scalar(get(users[0].node, "Condition")); cond == "" {
		t.Errorf("%s has no Condition: an empty AdminEmail would fail the deploy", users[0].id)
	}
	if r, ok := ref(get(users[0].node, "Properties", "Username")); !ok || r != "AdminEmail" {
		t.Errorf("%s: Username is %s, want !Ref AdminEmail", users[0].id, describe(get(users[0].node, "Properties", "Username")))
	}
	for _, param := range []string{"AdminEmail", "ConsoleDomainPrefix"} {
		if get(raw.root, "Parameters", param) == nil {
			t.Errorf("no %s parameter", param)
		}
	}
	out := get(raw.root, "Outputs", "ConsoleURL", "Value")
	if out == nil || !strings.HasSuffix(out.Value, "/console") {
		t.Errorf("output ConsoleURL is %s, want the console's URL", describe(out))
	}
}

func TestRepoTemplateQRCodeFunctionChecksTokensWithoutCognitoPermissions(t *testing.T) {
	raw := loadRaw(t)
	var fn *resource
	for _, r := range raw.resources("AWS::Serverless::Function") {
		if r.id == "QRCodeFunction" {
			fn = &r
		}
	}
	if fn == nil {
		t.Fatal("no QRCodeFunction")
	}
	vars := get(fn.node, "Properties", "Environment", "Variables")
	if r, ok := ref(get(vars, "CONSOLE_USER_POOL_ID")); !ok || r != "ConsoleUserPool" {
		t.Errorf("CONSOLE_USER_POOL_ID is %s, want !Ref ConsoleUserPool", describe(get(vars, "CONSOLE_USER_POOL_ID")))
	}
	if v := get(vars, "CONSOLE_AUTH_DOMAIN"); v == nil || !strings.Contains(v.Value, "${ConsoleUserPoolDomain}") {
		t.Errorf("CONSOLE_AUTH_DOMAIN is %s, want the pool domain's URL", describe(v))
	}
	param := get(vars, "CONSOLE_CLIENT_ID_PARAMETER")
	if param == nil || param.Tag != "!Sub" {
		t.Fatalf("CONSOLE_CLIENT_ID_PARAMETER is %s, want the parameter's path as a !Sub", describe(param))
	}
	// The client id must come by name: a !Ref to the client closes the cycle client → API → function.
	if get(vars, "CONSOLE_CLIENT_ID") != nil {
		t.Error("CONSOLE_CLIENT_ID is set in the template: the app client's callback names the API, a dependency cycle")
	}
	var paramName string
	for _, p := range raw.resources("AWS::SSM::Parameter") {
		if r, ok := ref(get(p.node, "Properties", "Value")); ok && r == "ConsoleUserPoolClient" {
			paramName = get(p.node, "Properties", "Name").Value
		}
	}
	if paramName != param.Value {
		t.Errorf("the function reads parameter %q, the template writes the client id to %q", param.Value, paramName)
	}
	for _, st := range raw.statements() {
		for _, a := range st.actions() {
			if strings.HasPrefix(strings.ToLower(a), "cognito") {
				t.Errorf("%s grants %s: checking tokens needs only the pool's public keys", st, a)
			}
			if strings.HasPrefix(a, "ssm:") {
				res := get(st.node, "Resource")
				if st.owner != "QRCodeFunction" || a != "ssm:GetParameter" || res == nil || !strings.HasSuffix(res.Value, strings.TrimPrefix(paramName, "/")) {
					t.Errorf("%s grants %s on %s: only the qrcode function reads only the client id parameter", st, a, describe(res))
				}
			}
		}
	}
}

// TestRepoTemplateConsoleOffersTOTPMFAOnByDefault: the console's user pool asks for an
// authenticator app's code (TOTP) unless the ConsoleMFA parameter turns it down, and offers no
// other factor (SMS would need an SNS role; docs/console.md, "Signing in (deployed)").
func TestRepoTemplateConsoleOffersTOTPMFAOnByDefault(t *testing.T) {
	raw := loadRaw(t)
	param := get(raw.root, "Parameters", "ConsoleMFA")
	if param == nil {
		t.Fatal("no ConsoleMFA parameter")
	}
	if d := scalar(get(param, "Default")); d != "ON" {
		t.Errorf("ConsoleMFA defaults to %q, want ON", d)
	}
	var allowed []string
	for _, n := range items(get(param, "AllowedValues")) {
		allowed = append(allowed, n.Value)
	}
	if !slices.Equal(allowed, []string{"ON", "OPTIONAL", "OFF"}) {
		t.Errorf("ConsoleMFA allows %v, want [ON OPTIONAL OFF] (Cognito's MfaConfiguration values)", allowed)
	}
	pools := raw.resources("AWS::Cognito::UserPool")
	if len(pools) != 1 {
		t.Fatalf("%d user pools, want the console's one", len(pools))
	}
	p := get(pools[0].node, "Properties")
	if r, ok := ref(get(p, "MfaConfiguration")); !ok || r != "ConsoleMFA" {
		t.Errorf("%s: MfaConfiguration is %s, want !Ref ConsoleMFA", pools[0].id, describe(get(p, "MfaConfiguration")))
	}
	// EnabledMfas names the factors offered; with MFA OFF Cognito takes none, so the template
	// gives it under a condition that must be "ConsoleMFA is OFF".
	enabled := get(p, "EnabledMfas")
	if then, cond, ok := ifTrue(enabled); ok {
		c := get(raw.root, "Conditions", cond, "Fn::Equals")
		if c == nil {
			c = get(raw.root, "Conditions", cond)
		}
		args := items(c)
		if c != nil && c.Tag == "!Equals" {
			args = c.Content
		}
		if len(args) != 2 || args[1].Value != "OFF" {
			t.Errorf("%s: EnabledMfas is under condition %s = %s, want !Equals [!Ref ConsoleMFA, OFF]", pools[0].id, cond, describe(c))
		} else if r, ok := ref(args[0]); !ok || r != "ConsoleMFA" {
			t.Errorf("condition %s compares %s, want !Ref ConsoleMFA", cond, describe(args[0]))
		}
		// !If [ConsoleMFAOff, !Ref AWS::NoValue, [SOFTWARE_TOKEN_MFA]]: the factors are the else branch.
		args = items(get(enabled, "Fn::If"))
		if enabled.Tag == "!If" {
			args = enabled.Content
		}
		if r, _ := ref(then); r != "AWS::NoValue" {
			t.Errorf("%s: EnabledMfas gives %s when MFA is OFF, want !Ref AWS::NoValue", pools[0].id, describe(then))
		}
		enabled = args[2]
	}
	var factors []string
	for _, n := range items(enabled) {
		factors = append(factors, n.Value)
	}
	if !slices.Equal(factors, []string{"SOFTWARE_TOKEN_MFA"}) {
		t.Errorf("%s: EnabledMfas %v, want [SOFTWARE_TOKEN_MFA] (an authenticator app)", pools[0].id, factors)
	}
}
