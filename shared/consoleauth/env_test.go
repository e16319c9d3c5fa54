package consoleauth_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"

	"wechatqr/local/moto"
	"wechatqr/shared/consoleauth"
)

func TestFromEnvChoosesTheSignIn(t *testing.T) {
	full := map[string]string{
		consoleauth.EnvUserPoolID: "us-east-1_Pool1",
		consoleauth.EnvClientID:   "client1",
		consoleauth.EnvDomain:     "https://wechat-qr.auth.us-east-1.amazoncognito.com",
	}
	with := func(over map[string]string) map[string]string {
		m := map[string]string{}
		for k, v := range full {
			m[k] = v
		}
		for k, v := range over {
			if v == "-" {
				delete(m, k)
				continue
			}
			m[k] = v
		}
		return m
	}
	tests := []struct {
		name    string
		env     map[string]string
		mode    string
		wantErr string
		refuses string // a word of the 401 message of an unconfigured console
	}{
		{"the template's three variables: Cognito", full, "cognito", "", ""},
		{"CONSOLE_AUTH=none wins on the local stack", with(map[string]string{consoleauth.EnvAuth: "none", consoleauth.EnvLocal: "1"}), "none", "", ""},
		{"CONSOLE_AUTH=none, any case, on the local stack", map[string]string{consoleauth.EnvAuth: "None", consoleauth.EnvLocal: "1"}, "none", "", ""},
		{"CONSOLE_AUTH=none deployed (no local flag) is an init error", with(map[string]string{consoleauth.EnvAuth: "none"}), "", "only the local stack may do", ""},
		{"CONSOLE_AUTH=NONE deployed is an init error too", map[string]string{consoleauth.EnvAuth: "NONE"}, "", "WECHATQR_LOCAL=1", ""},
		{"CONSOLE_AUTH=none with the flag other than 1", with(map[string]string{consoleauth.EnvAuth: "none", consoleauth.EnvLocal: "true"}), "", "only the local stack may do", ""},
		{"nothing set: the console's data is refused", map[string]string{}, "unconfigured", "", "CONSOLE_USER_POOL_ID"},
		{"no client id: refused, naming it", with(map[string]string{consoleauth.EnvClientID: "-"}), "unconfigured", "", "CONSOLE_CLIENT_ID"},
		{"a pool id that is no pool id", with(map[string]string{consoleauth.EnvUserPoolID: "Pool1"}), "", "user pool id", ""},
		{"a domain that is no URL", with(map[string]string{consoleauth.EnvDomain: "wechat-qr"}), "", "sign-in domain", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := consoleauth.FromEnv(func(k string) string { return tt.env[k] }, nil)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err %v, want one saying %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if s.Mode != tt.mode {
				t.Fatalf("mode %q, want %q", s.Mode, tt.mode)
			}
			if s.Cognito != nil {
				defer s.Cognito.Close()
			}
			switch tt.mode {
			case "none":
				if s.Guard != nil || s.Settings["auth"] != "none" {
					t.Errorf("no sign-in, yet guard=%v settings=%v", s.Guard != nil, s.Settings)
				}
			case "cognito":
				if s.Settings["auth"] != "cognito" || s.Settings["client_id"] != "client1" ||
					s.Settings["domain"] != full[consoleauth.EnvDomain] || len(s.ConnectSrc) != 1 || s.ConnectSrc[0] != full[consoleauth.EnvDomain] {
					t.Errorf("settings %v, connect-src %v", s.Settings, s.ConnectSrc)
				}
				if w := do(s.Guard(http.NotFoundHandler()), ""); w.Code != http.StatusUnauthorized {
					t.Errorf("a request without a token: %d", w.Code)
				}
			case "unconfigured":
				w := do(s.Guard(http.NotFoundHandler()), "Bearer whatever")
				var body struct{ Error, Message string }
				_ = json.Unmarshal(w.Body.Bytes(), &body)
				if w.Code != http.StatusUnauthorized || body.Error != "console_auth_unconfigured" || !strings.Contains(body.Message, tt.refuses) {
					t.Errorf("%d %+v, want 401 naming %s", w.Code, body, tt.refuses)
				}
			}
		})
	}
}

func TestClientIDFromParameterFillsTheClientID(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	params := ssm.NewFromConfig(aws.Config{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(moto.ForTest(t).Endpoint()),
		Credentials:  credentials.NewStaticCredentialsProvider("test", "test", ""),
	})
	if _, err := params.PutParameter(ctx, &ssm.PutParameterInput{
		Name: aws.String("/stack/console/client-id"), Value: aws.String("abc123"), Type: ssmtypes.ParameterTypeString,
	}); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{consoleauth.EnvClientIDParameter: "/stack/console/client-id"}
	getenv := func(k string) string { return env[k] }
	got, err := consoleauth.ClientIDFromParameter(ctx, getenv, params)
	if err != nil || got(consoleauth.EnvClientID) != "abc123" || got(consoleauth.EnvClientIDParameter) != "/stack/console/client-id" {
		t.Fatalf("client id %q, err %v", got(consoleauth.EnvClientID), err)
	}
	env[consoleauth.EnvClientIDParameter] = "/stack/console/missing"
	if _, err := consoleauth.ClientIDFromParameter(ctx, getenv, params); err == nil ||
		!strings.Contains(err.Error(), "/stack/console/missing") || !strings.Contains(err.Error(), "ParameterNotFound") {
		t.Errorf("a missing parameter: err %v, want one naming it and SSM's refusal", err)
	}
	env[consoleauth.EnvClientID] = "set"
	got, err = consoleauth.ClientIDFromParameter(context.Background(), getenv, nil)
	if err != nil || got(consoleauth.EnvClientID) != "set" {
		t.Errorf("an explicit CONSOLE_CLIENT_ID was replaced: %q %v", got(consoleauth.EnvClientID), err)
	}
}
