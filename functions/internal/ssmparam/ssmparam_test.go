package ssmparam

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ssm"

	"wechatqr/local/moto"
)

// TestParameterReadsWhatTheSDKWrote: over the wire to moto_server, the value
// the SDK's own client put; SSM's refusal typed; no request without credentials.
func TestParameterReadsWhatTheSDKWrote(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	srv := moto.ForTest(t)
	cfg := aws.Config{Region: "us-east-1", Credentials: credentials.NewStaticCredentialsProvider("test", "test", "")}
	sdk := ssm.NewFromConfig(cfg, func(o *ssm.Options) { o.BaseEndpoint = aws.String(srv.Endpoint()) })
	if _, err := sdk.PutParameter(ctx, &ssm.PutParameterInput{
		Name: aws.String("/stack/console/client-id"), Value: aws.String("client-1 ünïcode"), Type: "String",
	}); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"AWS_ENDPOINT_URL_SSM": srv.Endpoint()}
	c := New(cfg, func(k string) string { return env[k] })

	if v, err := c.Parameter(ctx, "/stack/console/client-id"); err != nil || v != "client-1 ünïcode" {
		t.Errorf("Parameter = %q, %v", v, err)
	}
	_, err := c.Parameter(ctx, "/stack/console/missing")
	var e *Error
	if !errors.As(err, &e) || e.Type != "ParameterNotFound" || e.Status != 400 || !strings.Contains(err.Error(), "ParameterNotFound") {
		t.Errorf("a missing parameter: %v, want a typed ParameterNotFound", err)
	}
	cfg.Credentials = nil
	if _, err := New(cfg, func(k string) string { return env[k] }).Parameter(ctx, "/stack/console/client-id"); err == nil || !strings.Contains(err.Error(), "credentials") {
		t.Errorf("without credentials: %v", err)
	}
}

func TestTheEndpointIsTheSDKs(t *testing.T) {
	none := func(string) string { return "" }
	tests := []struct {
		name string
		cfg  aws.Config
		env  func(string) string
		want string
	}{
		{"a region", aws.Config{Region: "ap-east-1"}, none, "https://ssm.ap-east-1.amazonaws.com/"},
		{"a China region", aws.Config{Region: "cn-north-1"}, none, "https://ssm.cn-north-1.amazonaws.com.cn/"},
		{"AWS_ENDPOINT_URL", aws.Config{Region: "us-east-1", BaseEndpoint: aws.String("http://127.0.0.1:5000")}, none, "http://127.0.0.1:5000/"},
		{"AWS_ENDPOINT_URL_SSM wins", aws.Config{Region: "us-east-1", BaseEndpoint: aws.String("http://127.0.0.1:5000")},
			func(k string) string {
				if k == "AWS_ENDPOINT_URL_SSM" {
					return "http://127.0.0.1:6000/"
				}
				return ""
			}, "http://127.0.0.1:6000/"},
	}
	for _, tt := range tests {
		if got := New(tt.cfg, tt.env).endpoint; got != tt.want {
			t.Errorf("%s: endpoint %q, want %q", tt.name, got, tt.want)
		}
	}
}
