package consoleauth

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"
)

// countingParams is SSM at the unit's edge: it counts reads and fails while
// its value is empty.
type countingParams struct {
	value string
	reads int
}

func (p *countingParams) GetParameter(_ context.Context, in *ssm.GetParameterInput, _ ...func(*ssm.Options)) (*ssm.GetParameterOutput, error) {
	p.reads++
	if p.value == "" {
		return nil, errors.New("ParameterNotFound: " + aws.ToString(in.Name))
	}
	return &ssm.GetParameterOutput{Parameter: &ssmtypes.Parameter{Name: in.Name, Value: aws.String(p.value)}}, nil
}

func deployedEnv(over map[string]string) func(string) string {
	env := map[string]string{
		EnvUserPoolID:        "us-east-1_Pool1",
		EnvDomain:            "https://wechat-qr.auth.us-east-1.amazoncognito.com/",
		EnvClientIDParameter: "/stack/console/client-id",
	}
	for k, v := range over {
		env[k] = v
	}
	return func(k string) string { return env[k] }
}

// guarded is the status and error code of a data request without a token.
func guarded(s Setup) (int, string) {
	w := httptest.NewRecorder()
	s.Guard(http.NotFoundHandler()).ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/qrcodes", nil))
	return w.Code, w.Body.String()
}

func TestTheClientIDIsReadAtTheFirstRequestThatNeedsIt(t *testing.T) {
	p := &countingParams{value: "client1"}
	s, err := FromEnvWithParameter(deployedEnv(nil), p, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if p.reads != 0 {
		t.Fatalf("%d SSM reads while setting up: init must make none", p.reads)
	}
	if len(s.ConnectSrc) != 1 || s.ConnectSrc[0] != "https://wechat-qr.auth.us-east-1.amazoncognito.com" {
		t.Errorf("connect-src %v, want the domain without its slash, known before any read", s.ConnectSrc)
	}
	if got := s.ClientSettings(context.Background()); got["auth"] != "cognito" || got["client_id"] != "client1" {
		t.Errorf("settings %v, want cognito with the parameter's client id", got)
	}
	// Set up, the guard is Cognito's: a request without a token is asked to sign in.
	if code, body := guarded(s); code != http.StatusUnauthorized || !strings.Contains(body, `"unauthorized"`) {
		t.Errorf("a data request without a token: %d %s", code, body)
	}
	if p.reads != 1 {
		t.Errorf("%d SSM reads for config.json and a data request, want 1", p.reads)
	}
}

func TestAFailedReadRefusesTheConsoleDataAndIsRetriedLater(t *testing.T) {
	p := &countingParams{}
	s, err := FromEnvWithParameter(deployedEnv(nil), p, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	now := time.Unix(1_800_000_000, 0)
	s.deferred.now = func() time.Time { return now }

	code, body := guarded(s)
	if code != http.StatusUnauthorized || !strings.Contains(body, "console_auth_unconfigured") || !strings.Contains(body, "could not be set up") {
		t.Errorf("a data request with the parameter unreadable: %d %s", code, body)
	}
	if got := s.ClientSettings(context.Background()); got["auth"] != "unconfigured" {
		t.Errorf("config.json's settings %v, want unconfigured", got)
	}
	if p.reads != 1 {
		t.Errorf("%d reads within %v of a failure, want 1", p.reads, ParameterRetry)
	}

	p.value = "client1" // the operator puts the parameter right
	now = now.Add(ParameterRetry)
	if got := s.ClientSettings(context.Background()); got["auth"] != "cognito" || got["client_id"] != "client1" {
		t.Errorf("after %v: settings %v, want the sign-in set up", ParameterRetry, got)
	}
	if code, body := guarded(s); code != http.StatusUnauthorized || !strings.Contains(body, `"unauthorized"`) {
		t.Errorf("after the retry, a data request without a token: %d %s", code, body)
	}
	if p.reads != 2 {
		t.Errorf("%d reads, want 2", p.reads)
	}
}

func TestFromEnvWithParameterChecksWhatItCanAtInit(t *testing.T) {
	if _, err := FromEnvWithParameter(deployedEnv(map[string]string{EnvUserPoolID: "Pool1"}), &countingParams{}, nil); err == nil || !strings.Contains(err.Error(), "user pool id") {
		t.Errorf("a pool id that is no pool id: err %v", err)
	}
	s, err := FromEnvWithParameter(deployedEnv(map[string]string{EnvDomain: ""}), &countingParams{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	msg, _ := s.Settings["message"].(string)
	if s.Mode != "unconfigured" || !strings.Contains(msg, EnvDomain) || strings.Contains(msg, EnvClientID+",") || strings.Contains(msg, EnvClientID+" ") {
		t.Errorf("no domain: mode %q, message %q; want unconfigured naming only the domain", s.Mode, msg)
	}
	s, err = FromEnvWithParameter(deployedEnv(map[string]string{EnvAuth: "none", EnvLocal: "1"}), &countingParams{}, nil)
	if err != nil || s.Mode != "none" {
		t.Errorf("CONSOLE_AUTH=none on the local stack: mode %q, err %v", s.Mode, err)
	}
	if _, err := FromEnvWithParameter(deployedEnv(map[string]string{EnvAuth: "none"}), &countingParams{}, nil); !errors.Is(err, ErrNoneDeployed) {
		t.Errorf("CONSOLE_AUTH=none without the local flag: err %v, want ErrNoneDeployed", err)
	}
}
