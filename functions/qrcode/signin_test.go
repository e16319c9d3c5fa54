package boot

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

	"wechatqr/local/moto"
)

// TestConsoleAuthReadsTheClientIDFromSSM is the deployed wiring: the template
// passes the parameter's path, the function reads the client id from SSM
// (moto_server here) and config.json carries it.
func TestConsoleAuthReadsTheClientIDFromSSM(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	srv, err := moto.Start(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	cfg := aws.Config{Region: "us-east-1", BaseEndpoint: aws.String(srv.Endpoint()),
		Credentials: credentials.NewStaticCredentialsProvider("test", "test", "")}
	if _, err := ssm.NewFromConfig(cfg).PutParameter(ctx, &ssm.PutParameterInput{
		Name: aws.String("/wechat-qr/console/client-id"), Value: aws.String("client-from-ssm"), Type: "String",
	}); err != nil {
		t.Fatal(err)
	}
	env := func(param string) *Env {
		vars := map[string]string{
			"CONSOLE_USER_POOL_ID":        "us-east-1_Pool1",
			"CONSOLE_AUTH_DOMAIN":         "https://wechatqr-1a2b3c4d.auth.us-east-1.amazoncognito.com",
			"CONSOLE_CLIENT_ID_PARAMETER": param,
		}
		return &Env{AWS: cfg, Getenv: func(k string) string { return vars[k] }, Log: slog.New(slog.DiscardHandler)}
	}

	s, err := env("/wechat-qr/console/client-id").ConsoleAuth(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if s.Cognito != nil {
		defer s.Cognito.Close()
	}
	if s.Mode != "cognito" || s.Settings["client_id"] != "client-from-ssm" {
		t.Errorf("mode %q, settings %v; want cognito with the parameter's client id", s.Mode, s.Settings)
	}

	s, err = env("/wechat-qr/console/missing").ConsoleAuth(ctx)
	if err != nil {
		t.Fatalf("a missing parameter must not fail the function (its management API still works): %v", err)
	}
	w := httptest.NewRecorder()
	s.Guard(http.NotFoundHandler()).ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/qrcodes", nil))
	if s.Mode != "unconfigured" || w.Code != http.StatusUnauthorized || !strings.Contains(w.Body.String(), "console_auth_unconfigured") {
		t.Errorf("with the parameter missing: mode %q, %d %s", s.Mode, w.Code, w.Body)
	}
}
