package main

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ssm"

	"wechatqr/functions/internal/boot"
	"wechatqr/local/moto"
)

// TestConsoleAuthReadsTheClientIDFromSSM is the deployed wiring: the template
// passes the parameter's path, the function reads the client id from SSM
// (moto_server here) at the first console request, and config.json carries it.
func TestConsoleAuthReadsTheClientIDFromSSM(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	srv := moto.ForTest(t)
	cfg := aws.Config{Region: "us-east-1", BaseEndpoint: aws.String(srv.Endpoint()),
		Credentials: credentials.NewStaticCredentialsProvider("test", "test", "")}
	if _, err := ssm.NewFromConfig(cfg).PutParameter(ctx, &ssm.PutParameterInput{
		Name: aws.String("/wechat-qr/console/client-id"), Value: aws.String("client-from-ssm"), Type: "String",
	}); err != nil {
		t.Fatal(err)
	}
	env := func(param string) *boot.Env {
		vars := map[string]string{
			"CONSOLE_USER_POOL_ID":        "us-east-1_Pool1",
			"CONSOLE_AUTH_DOMAIN":         "https://wechatqr-1a2b3c4d.auth.us-east-1.amazoncognito.com",
			"CONSOLE_CLIENT_ID_PARAMETER": param,
		}
		return &boot.Env{AWS: cfg, Getenv: func(k string) string { return vars[k] }, Log: slog.New(slog.DiscardHandler)}
	}

	s, err := consoleAuth(env("/wechat-qr/console/client-id"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if got := s.ClientSettings(ctx); got["auth"] != "cognito" || got["client_id"] != "client-from-ssm" {
		t.Errorf("settings %v; want cognito with the parameter's client id", got)
	}

	s, err = consoleAuth(env("/wechat-qr/console/missing"))
	if err != nil {
		t.Fatalf("a missing parameter must not fail the function (its management API still works): %v", err)
	}
	w := httptest.NewRecorder()
	s.Guard(http.NotFoundHandler()).ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/qrcodes", nil))
	if got := s.ClientSettings(ctx); got["auth"] != "unconfigured" || w.Code != http.StatusUnauthorized || !strings.Contains(w.Body.String(), "console_auth_unconfigured") {
		t.Errorf("with the parameter missing: settings %v, %d %s", got, w.Code, w.Body)
	}
}
