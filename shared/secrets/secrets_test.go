package secrets_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"wechatqr/local/moto"
	"wechatqr/shared/secrets"
)

// newSecretsManager starts a moto_server and returns the SDK's client of it,
// which the tests write secrets with and the functions read them with.
func newSecretsManager(t *testing.T) *secretsmanager.Client {
	return secretsmanager.NewFromConfig(aws.Config{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(moto.ForTest(t).Endpoint()),
		Credentials:  credentials.NewStaticCredentialsProvider("test", "test", ""),
	})
}

func TestEnvReadsTheSecretFromSecretsManager(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	client := newSecretsManager(t)
	put := func(name, value string) {
		t.Helper()
		if _, err := client.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String(name), SecretString: aws.String(value)}); err != nil {
			t.Fatal(err)
		}
	}
	const appSecret, aesKey = "APPSECRET0123456789abcdef01234567", "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C"
	put("callback", `{"token":"wechatqr","encoding_aes_key":"`+aesKey+`","previous_token":"old","previous_encoding_aes_key":""}`)
	put("appsecret", `{"app_secret":"`+appSecret+`"}`)
	// One secret with every key: the layout before the split, still what an upgraded stack's
	// callback may be given.
	put("combined", `{"app_secret":"`+appSecret+`","token":"combined-token","encoding_aes_key":"`+aesKey+`"}`)
	put("plaintext-mode", `{"token":"T","encoding_aes_key":""}`)
	put("not-json", `token=hunter2`)
	put("empty-object", `{}`)
	put("number", `{"token": 42}`)
	put("no-app-secret", `{"token":"T"}`)

	base := map[string]string{"WECHAT_TOKEN": "from-env", "WECHAT_ENCODING_AES_KEY": "env-key", "WECHAT_APP_SECRET": "env-app-secret", "OTHER": "kept"}
	tests := []struct {
		name    string
		which   secrets.Secret
		ids     map[string]string // WECHAT_SECRET_ID, WECHAT_CALLBACK_SECRET_ID
		want    map[string]string
		wantErr string
	}{
		{"no secret id: the environment as is", secrets.Callback, nil, map[string]string{"WECHAT_TOKEN": "from-env", "OTHER": "kept"}, ""},
		{"the callback's secret wins over the environment", secrets.Callback,
			map[string]string{"WECHAT_CALLBACK_SECRET_ID": "callback", "WECHAT_SECRET_ID": "appsecret"}, map[string]string{
				"WECHAT_TOKEN": "wechatqr", "WECHAT_ENCODING_AES_KEY": aesKey, "WECHAT_TOKEN_PREVIOUS": "old",
				"WECHAT_ENCODING_AES_KEY_PREVIOUS": "", "WECHAT_APP_SECRET": "env-app-secret", "OTHER": "kept",
			}, ""},
		{"the AppSecret's secret gives the AppSecret, never the callback's secret", secrets.AppSecret,
			map[string]string{"WECHAT_CALLBACK_SECRET_ID": "callback", "WECHAT_SECRET_ID": "appsecret"},
			map[string]string{"WECHAT_APP_SECRET": appSecret, "WECHAT_TOKEN": "from-env", "OTHER": "kept"}, ""},
		{"the AppSecret is not read from the callback's secret id alone", secrets.AppSecret,
			map[string]string{"WECHAT_CALLBACK_SECRET_ID": "combined"}, map[string]string{"WECHAT_APP_SECRET": "env-app-secret"}, ""},
		{"an upgraded stack's callback reads the one secret of WECHAT_SECRET_ID, its keys only", secrets.Callback,
			map[string]string{"WECHAT_SECRET_ID": "combined"},
			map[string]string{"WECHAT_TOKEN": "combined-token", "WECHAT_ENCODING_AES_KEY": aesKey, "WECHAT_APP_SECRET": "env-app-secret"}, ""},
		{"the AppSecret functions take only the AppSecret from one secret with every key", secrets.AppSecret,
			map[string]string{"WECHAT_SECRET_ID": "combined"},
			map[string]string{"WECHAT_APP_SECRET": appSecret, "WECHAT_TOKEN": "from-env", "WECHAT_ENCODING_AES_KEY": "env-key"}, ""},
		{"an empty key in the secret means plaintext mode", secrets.Callback,
			map[string]string{"WECHAT_CALLBACK_SECRET_ID": "plaintext-mode"}, map[string]string{"WECHAT_ENCODING_AES_KEY": ""}, ""},
		{"absent secret: what to check, and the service's refusal", secrets.Callback,
			map[string]string{"WECHAT_CALLBACK_SECRET_ID": "no-such-secret"}, nil,
			`reading WECHAT_CALLBACK_SECRET_ID "no-such-secret" (check that WECHAT_CALLBACK_SECRET_ID names a secret of this account in AWS_REGION): ` +
				`operation error Secrets Manager: GetSecretValue`},
		{"not JSON", secrets.Callback, map[string]string{"WECHAT_CALLBACK_SECRET_ID": "not-json"}, nil, "is not a JSON object"},
		{"none of the keys", secrets.Callback, map[string]string{"WECHAT_CALLBACK_SECRET_ID": "empty-object"}, nil, "has none of the keys"},
		{"the AppSecret's secret without app_secret", secrets.AppSecret, map[string]string{"WECHAT_SECRET_ID": "no-app-secret"}, nil,
			`has none of the keys "app_secret" (WECHAT_SECRET_ID)`},
		{"a key that is not a string", secrets.Callback, map[string]string{"WECHAT_CALLBACK_SECRET_ID": "number"}, nil, `key "token" must be a string`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := func(k string) string {
				if v, ok := tt.ids[k]; ok {
					return v
				}
				return base[k]
			}
			getenv, err := secrets.Env(ctx, tt.which, env, client)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want one containing %q", err, tt.wantErr)
				}
				if strings.Contains(err.Error(), "hunter2") {
					t.Errorf("the error quotes the secret: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			for k, v := range tt.want {
				if got := getenv(k); got != v {
					t.Errorf("%s = %q, want %q", k, got, v)
				}
			}
		})
	}
}

// TestAFailedReadSaysWhatToCheckWithoutQuotingTheAnswer: each failure names
// what the operator should look at; an answer the SDK cannot decode, which may
// be the secret, is never quoted.
func TestAFailedReadSaysWhatToCheckWithoutQuotingTheAnswer(t *testing.T) {
	tests := []struct {
		name      string
		status    int
		body      string
		creds     aws.CredentialsProvider
		want      string
		wantUndec bool
	}{
		{"an answer that is not JSON", 200, `{"SecretString": hunter2`, nil, "check the Secrets Manager endpoint", true},
		{"a refusal that is not JSON", 400, `hunter2`, nil, "check the Secrets Manager endpoint", true},
		{"access denied", 400, `{"__type":"AccessDeniedException","message":"User is not authorized"}`, nil,
			"may secretsmanager:GetSecretValue on the secret", false},
		{"a key the role may not use", 400, `{"__type":"DecryptionFailure","message":"KMS refused"}`, nil,
			"may kms:Decrypt with the secret's KMS key", false},
		{"no credentials", 200, `{}`, credentials.NewStaticCredentialsProvider("", "", ""),
			"check the function's AWS credentials and its network path", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/x-amz-json-1.1")
				w.WriteHeader(tt.status)
				_, _ = w.Write([]byte(tt.body))
			}))
			defer srv.Close()
			creds := tt.creds
			if creds == nil {
				creds = credentials.NewStaticCredentialsProvider("test", "test", "")
			}
			client := secretsmanager.NewFromConfig(aws.Config{Region: "us-east-1", BaseEndpoint: aws.String(srv.URL), Credentials: creds},
				func(o *secretsmanager.Options) { o.RetryMaxAttempts = 1 })
			env := func(k string) string {
				if k == "WECHAT_SECRET_ID" {
					return "app"
				}
				return ""
			}
			_, err := secrets.Env(context.Background(), secrets.AppSecret, env, client)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want one containing %q", err, tt.want)
			}
			if strings.Contains(err.Error(), "hunter2") {
				t.Errorf("the error quotes the answer: %v", err)
			}
			if got := errors.Is(err, secrets.ErrUndecodable); got != tt.wantUndec {
				t.Errorf("errors.Is(err, ErrUndecodable) = %v, want %v", got, tt.wantUndec)
			}
		})
	}
}
