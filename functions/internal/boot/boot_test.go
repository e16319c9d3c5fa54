package boot

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/aws/aws-sdk-go-v2/service/ssm"

	"wechatqr/shared/secrets"
)

// lambdaEnv gives the test the environment Lambda gives a function (a region,
// the role's credentials), with no shared config files, no instance metadata
// probe and none of the caller's AWS settings; over adds to it or, with "",
// removes from it.
func lambdaEnv(t *testing.T, over map[string]string) {
	t.Helper()
	for _, kv := range os.Environ() {
		if k, _, _ := strings.Cut(kv, "="); strings.HasPrefix(k, "AWS_") || strings.HasPrefix(k, "WECHAT_") {
			t.Setenv(k, "")
		}
	}
	env := map[string]string{
		"AWS_REGION":                  "us-east-1",
		"AWS_ACCESS_KEY_ID":           "test",
		"AWS_SECRET_ACCESS_KEY":       "test",
		"AWS_CONFIG_FILE":             os.DevNull,
		"AWS_SHARED_CREDENTIALS_FILE": os.DevNull,
		"AWS_EC2_METADATA_DISABLED":   "true",
	}
	for k, v := range over {
		env[k] = v
	}
	for k, v := range env {
		t.Setenv(k, v)
	}
}

// recorder is an AWS endpoint that records the operations called on it
// (X-Amz-Target) and answers each with answer.
type recorder struct {
	*httptest.Server
	mu      sync.Mutex
	targets []string
}

func newRecorder(t *testing.T, answer string) *recorder {
	r := &recorder{}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		r.mu.Lock()
		r.targets = append(r.targets, req.Header.Get("X-Amz-Target"))
		r.mu.Unlock()
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		_, _ = w.Write([]byte(answer))
	}))
	t.Cleanup(r.Close)
	return r
}

func (r *recorder) called() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.targets...)
}

// TestEachServiceIsCalledAtItsEndpointOverride: the configuration Load builds
// sends each service the functions call to AWS_ENDPOINT_URL_<SERVICE> (how the
// local stack points them at DynamoDB Local and moto_server), else to
// AWS_ENDPOINT_URL.
func TestEachServiceIsCalledAtItsEndpointOverride(t *testing.T) {
	tests := []struct {
		name   string
		env    string // the override's variable
		answer string
		call   func(context.Context, *Env) error
		target string
	}{
		{"DynamoDB", "AWS_ENDPOINT_URL_DYNAMODB", `{"TableNames":[]}`, func(ctx context.Context, e *Env) error {
			_, err := e.DynamoDB().ListTables(ctx, &dynamodb.ListTablesInput{})
			return err
		}, "DynamoDB_20120810.ListTables"},
		{"Secrets Manager, through Secret", "AWS_ENDPOINT_URL_SECRETS_MANAGER", `{"SecretString":"{\"token\":\"from-the-secret\"}"}`,
			func(ctx context.Context, e *Env) error {
				live, err := Secret(e, secrets.Callback, func(getenv func(string) string) (string, error) { return getenv("WECHAT_TOKEN"), nil })
				if err != nil {
					return err
				}
				v, err := live.Get(ctx)
				if err == nil && v != "from-the-secret" {
					t.Errorf("the secret's token = %q", v)
				}
				return err
			}, "secretsmanager.GetSecretValue"},
		{"EventBridge", "AWS_ENDPOINT_URL_EVENTBRIDGE", `{"FailedEntryCount":0,"Entries":[{"EventId":"1"}]}`, func(ctx context.Context, e *Env) error {
			_, err := eventbridge.NewFromConfig(e.AWS).PutEvents(ctx, &eventbridge.PutEventsInput{Entries: []ebtypes.PutEventsRequestEntry{
				{Source: aws.String("wechatqr"), DetailType: aws.String("Scan"), Detail: aws.String("{}")},
			}})
			return err
		}, "AWSEvents.PutEvents"},
		{"SSM", "AWS_ENDPOINT_URL_SSM", `{"Parameter":{"Value":"client-1"}}`, func(ctx context.Context, e *Env) error {
			_, err := ssm.NewFromConfig(e.AWS).GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String("/stack/console/client-id")})
			return err
		}, "AmazonSSM.GetParameter"},
		{"SSM at AWS_ENDPOINT_URL, without its own override", "AWS_ENDPOINT_URL", `{"Parameter":{"Value":"client-1"}}`, func(ctx context.Context, e *Env) error {
			_, err := ssm.NewFromConfig(e.AWS).GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String("/stack/console/client-id")})
			return err
		}, "AmazonSSM.GetParameter"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			override, elsewhere := newRecorder(t, tt.answer), newRecorder(t, "{}")
			env := map[string]string{"WECHAT_SECRET_ID": "app", "AWS_ENDPOINT_URL": elsewhere.URL}
			env[tt.env] = override.URL
			lambdaEnv(t, env)
			e, err := Load(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if err := tt.call(context.Background(), e); err != nil {
				t.Fatal(err)
			}
			if got := override.called(); len(got) != 1 || got[0] != tt.target {
				t.Errorf("%s got %v, want one %s", tt.env, got, tt.target)
			}
			if got := elsewhere.called(); tt.env != "AWS_ENDPOINT_URL" && len(got) != 0 {
				t.Errorf("AWS_ENDPOINT_URL got %v, want nothing: %s wins", got, tt.env)
			}
		})
	}
}

// TestLoadNeedsNoCredentials: without credentials (sam local invoke on a
// machine with none), init succeeds and a call fails with the SDK's own error
// about credentials, before anything is sent.
func TestLoadNeedsNoCredentials(t *testing.T) {
	endpoint := newRecorder(t, `{"TableNames":[]}`)
	lambdaEnv(t, map[string]string{"AWS_ACCESS_KEY_ID": "", "AWS_SECRET_ACCESS_KEY": "", "AWS_ENDPOINT_URL_DYNAMODB": endpoint.URL})
	e, err := Load(context.Background())
	if err != nil {
		t.Fatalf("Load without credentials: %v", err)
	}
	_, err = e.DynamoDB().ListTables(context.Background(), &dynamodb.ListTablesInput{})
	if err == nil || !strings.Contains(err.Error(), "credentials") {
		t.Errorf("a call without credentials: %v, want the SDK's error about credentials", err)
	}
	if got := endpoint.called(); len(got) != 0 {
		t.Errorf("DynamoDB got %v without credentials", got)
	}
}
