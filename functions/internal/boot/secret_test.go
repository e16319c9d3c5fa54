package boot

import (
	"context"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"wechatqr/local/moto"
	"wechatqr/shared/secrets"
)

// TestEachValueComesFromItsOwnSecret: with the stack's two secrets in moto_server, the
// callback's values come from WECHAT_CALLBACK_SECRET_ID's secret and the AppSecret from
// WECHAT_SECRET_ID's, and neither reader sees a value of the other secret (each secret holds
// a decoy of the other's keys, which must not be taken).
func TestEachValueComesFromItsOwnSecret(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	srv := moto.ForTest(t)
	lambdaEnv(t, map[string]string{
		"AWS_ENDPOINT_URL_SECRETS_MANAGER": srv.Endpoint(),
		"WECHAT_CALLBACK_SECRET_ID":        "wechat-qr/callback",
		"WECHAT_SECRET_ID":                 "wechat-qr/appsecret",
	})
	e, err := Load(ctx)
	if err != nil {
		t.Fatal(err)
	}
	sm := secretsmanager.NewFromConfig(e.AWS)
	for name, value := range map[string]string{
		"wechat-qr/callback":  `{"token":"callback-token","encoding_aes_key":"","app_secret":"decoy-in-the-callbacks-secret"}`,
		"wechat-qr/appsecret": `{"app_secret":"the-app-secret","token":"decoy-in-the-appsecrets-secret"}`,
	} {
		if _, err := sm.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String(name), SecretString: aws.String(value)}); err != nil {
			t.Fatal(err)
		}
	}
	type seen struct{ token, appSecret string }
	read := func(getenv func(string) string) (seen, error) {
		return seen{getenv("WECHAT_TOKEN"), getenv("WECHAT_APP_SECRET")}, nil
	}
	tests := []struct {
		name  string
		which secrets.Secret
		want  seen
	}{
		{"the callback: the Token, no AppSecret", secrets.Callback, seen{token: "callback-token"}},
		{"the token source: the AppSecret, no Token", secrets.AppSecret, seen{appSecret: "the-app-secret"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			live, err := Secret(e, tt.which, read)
			if err != nil {
				t.Fatal(err)
			}
			got, err := live.Get(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("read %+v, want %+v", got, tt.want)
			}
		})
	}
}
