package awsjson_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/aws/aws-sdk-go-v2/service/ssm"

	"wechatqr/local/moto"
	"wechatqr/shared/awsjson"
	"wechatqr/shared/bus"
	"wechatqr/shared/consoleauth"
	"wechatqr/shared/secrets"
)

// The readers are what the packages that use them take.
var (
	_ secrets.API                 = (*awsjson.Secrets)(nil)
	_ consoleauth.ParameterReader = (*awsjson.Parameters)(nil)
	_ bus.API                     = (*awsjson.Events)(nil)
)

var noEnv = func(string) string { return "" }

func motoConfig(t *testing.T) aws.Config {
	return aws.Config{
		Region:       "us-east-1",
		Credentials:  credentials.NewStaticCredentialsProvider("test", "test", ""),
		BaseEndpoint: aws.String(moto.ForTest(t).Endpoint()),
	}
}

// TestReadsWhatTheSDKWrote: over the wire to moto_server, the values the SDK's
// own clients stored; the services' refusals typed; no request without
// credentials.
func TestReadsWhatTheSDKWrote(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cfg := motoConfig(t)
	if _, err := ssm.NewFromConfig(cfg).PutParameter(ctx, &ssm.PutParameterInput{
		Name: aws.String("/stack/console/client-id"), Value: aws.String("client-1 ünïcode"), Type: "String",
	}); err != nil {
		t.Fatal(err)
	}
	const secret = `{"token":"wechatqr \"quoted\" ünïcode"}`
	if _, err := secretsmanager.NewFromConfig(cfg).CreateSecret(ctx, &secretsmanager.CreateSecretInput{
		Name: aws.String("wechatqr/app"), SecretString: aws.String(secret),
	}); err != nil {
		t.Fatal(err)
	}
	params, secretsRead := awsjson.NewParameters(cfg, noEnv), awsjson.NewSecrets(cfg, noEnv)

	if v, err := params.Parameter(ctx, "/stack/console/client-id"); err != nil || v != "client-1 ünïcode" {
		t.Errorf("Parameter = %q, %v", v, err)
	}
	if v, err := secretsRead.SecretString(ctx, "wechatqr/app"); err != nil || v != secret {
		t.Errorf("SecretString = %q, %v", v, err)
	}

	refusals := []struct {
		name     string
		call     func() error
		wantType string
	}{
		{"a missing parameter", func() error { _, err := params.Parameter(ctx, "/stack/missing"); return err }, "ParameterNotFound"},
		{"a missing secret", func() error { _, err := secretsRead.SecretString(ctx, "missing"); return err }, "ResourceNotFoundException"},
	}
	for _, r := range refusals {
		err := r.call()
		var e *awsjson.Error
		if !errors.As(err, &e) || e.Type != r.wantType || e.Status/100 != 4 || !strings.Contains(err.Error(), r.wantType) {
			t.Errorf("%s: %v, want a typed %s", r.name, err, r.wantType)
		}
	}

	cfg.Credentials = nil
	if _, err := awsjson.NewSecrets(cfg, noEnv).SecretString(ctx, "wechatqr/app"); err == nil || !strings.Contains(err.Error(), "credentials") {
		t.Errorf("without credentials: %v", err)
	}
}

// TestPutEventsReachesTheBusRules: the events put arrive, as sent, where a rule
// on the bus sends them (an SQS queue in moto_server).
func TestPutEventsReachesTheBusRules(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cfg := motoConfig(t)
	eb, q := eventbridge.NewFromConfig(cfg), sqs.NewFromConfig(cfg)
	if _, err := eb.CreateEventBus(ctx, &eventbridge.CreateEventBusInput{Name: aws.String("scans")}); err != nil {
		t.Fatal(err)
	}
	queue, err := q.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("scans")})
	if err != nil {
		t.Fatal(err)
	}
	attrs, err := q.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: queue.QueueUrl, AttributeNames: []sqstypes.QueueAttributeName{"QueueArn"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := eb.PutRule(ctx, &eventbridge.PutRuleInput{Name: aws.String("all"), EventBusName: aws.String("scans"), EventPattern: aws.String(`{"source":["wechatqr"]}`)}); err != nil {
		t.Fatal(err)
	}
	if _, err := eb.PutTargets(ctx, &eventbridge.PutTargetsInput{Rule: aws.String("all"), EventBusName: aws.String("scans"),
		Targets: []ebtypes.Target{{Id: aws.String("q"), Arn: aws.String(attrs.Attributes["QueueArn"])}}}); err != nil {
		t.Fatal(err)
	}

	at := time.Date(2026, 12, 1, 8, 30, 15, 0, time.UTC)
	events := []awsjson.Event{
		{Bus: "scans", Source: "wechatqr", DetailType: "Scan", Detail: `{"id":"a","scene":"海报"}`, Time: at},
		{Bus: "scans", Source: "wechatqr", DetailType: "Unsubscribe", Detail: `{"id":"b"}`, Time: at.Add(time.Second)},
	}
	answer, err := awsjson.NewEvents(cfg, noEnv).PutEvents(ctx, events)
	if err != nil {
		t.Fatal(err)
	}
	if answer.FailedEntryCount != 0 || len(answer.Entries) != 2 || answer.Entries[0].EventID == "" || answer.Entries[1].EventID == "" {
		t.Fatalf("answer %+v, want two event ids", answer)
	}

	type delivered struct {
		DetailType string          `json:"detail-type"`
		Source     string          `json:"source"`
		Time       time.Time       `json:"time"`
		Detail     json.RawMessage `json:"detail"`
	}
	got := map[string]delivered{}
	for deadline := time.Now().Add(time.Minute); len(got) < 2 && time.Now().Before(deadline); {
		res, err := q.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: queue.QueueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1})
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range res.Messages {
			var e delivered
			if err := json.Unmarshal([]byte(*m.Body), &e); err != nil {
				t.Fatalf("a message that is not an event: %s", *m.Body)
			}
			got[e.DetailType] = e
		}
	}
	for _, want := range events {
		e, ok := got[want.DetailType]
		if !ok {
			t.Errorf("%s: never delivered", want.DetailType)
			continue
		}
		var wantDetail, gotDetail any
		_ = json.Unmarshal([]byte(want.Detail), &wantDetail)
		_ = json.Unmarshal(e.Detail, &gotDetail)
		if e.Source != want.Source || !e.Time.Equal(want.Time) || !equalJSON(wantDetail, gotDetail) {
			t.Errorf("%s delivered as %+v (detail %s), want %+v", want.DetailType, e, e.Detail, want)
		}
	}
}

func equalJSON(a, b any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return string(x) == string(y)
}

// TestRetriesAsTheSDKWould: server errors and throttling are tried again, up
// to the SDK's standard 3 attempts; a refusal is not; every attempt is signed.
func TestRetriesAsTheSDKWould(t *testing.T) {
	tests := []struct {
		name      string
		answers   []int // status per attempt; 200 answers the parameter
		errType   string
		wantCalls int32
		wantErr   bool
	}{
		{"a 500 then success", []int{500, 200}, "InternalServerError", 2, false},
		{"throttled then success", []int{400, 200}, "ThrottlingException", 2, false},
		{"503 every time: three attempts", []int{503, 503, 503, 503}, "ServiceUnavailable", 3, true},
		{"a refusal is final", []int{400, 200}, "AccessDeniedException", 1, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var calls atomic.Int32
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				n := calls.Add(1)
				if !strings.HasPrefix(r.Header.Get("Authorization"), "AWS4-HMAC-SHA256 Credential=test/") || r.Header.Get("X-Amz-Target") != "AmazonSSM.GetParameter" {
					t.Errorf("attempt %d: Authorization %q, target %q", n, r.Header.Get("Authorization"), r.Header.Get("X-Amz-Target"))
				}
				status := tt.answers[n-1]
				w.WriteHeader(status)
				if status == 200 {
					_, _ = w.Write([]byte(`{"Parameter":{"Value":"v"}}`))
					return
				}
				_, _ = w.Write([]byte(`{"__type":"com.amazonaws.ssm#` + tt.errType + `","message":"no"}`))
			}))
			defer srv.Close()
			cfg := aws.Config{Region: "us-east-1", Credentials: credentials.NewStaticCredentialsProvider("test", "test", ""), BaseEndpoint: aws.String(srv.URL)}
			v, err := awsjson.NewParameters(cfg, noEnv).Parameter(context.Background(), "p")
			if calls.Load() != tt.wantCalls || (err != nil) != tt.wantErr || (err == nil && v != "v") {
				t.Errorf("%d calls, %q, %v; want %d calls, error %v", calls.Load(), v, err, tt.wantCalls, tt.wantErr)
			}
			if tt.wantErr && !strings.Contains(err.Error(), tt.errType) {
				t.Errorf("error %v does not name %s", err, tt.errType)
			}
		})
	}
}

// TestAnAnswerIsNeverQuoted: an answer that is not the operation's JSON is
// refused without quoting it (it may be a secret).
func TestAnAnswerIsNeverQuoted(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte(`{"SecretString": hunter2`))
	}))
	defer srv.Close()
	cfg := aws.Config{Region: "us-east-1", Credentials: credentials.NewStaticCredentialsProvider("test", "test", ""), BaseEndpoint: aws.String(srv.URL)}
	_, err := awsjson.NewSecrets(cfg, noEnv).SecretString(context.Background(), "s")
	if err == nil || strings.Contains(err.Error(), "hunter2") {
		t.Errorf("err = %v, want a refusal that does not quote the answer", err)
	}
}

func TestTheEndpointIsTheSDKs(t *testing.T) {
	env := func(vars map[string]string) func(string) string { return func(k string) string { return vars[k] } }
	local := aws.String("http://127.0.0.1:5000")
	tests := []struct {
		name string
		svc  awsjson.Service
		cfg  aws.Config
		env  func(string) string
		want string
	}{
		{"a region", awsjson.SSM, aws.Config{Region: "ap-east-1"}, noEnv, "https://ssm.ap-east-1.amazonaws.com/"},
		{"a China region", awsjson.SecretsManager, aws.Config{Region: "cn-north-1"}, noEnv, "https://secretsmanager.cn-north-1.amazonaws.com.cn/"},
		{"EventBridge's host", awsjson.EventBridge, aws.Config{Region: "eu-west-1"}, noEnv, "https://events.eu-west-1.amazonaws.com/"},
		{"AWS_ENDPOINT_URL", awsjson.SSM, aws.Config{Region: "us-east-1", BaseEndpoint: local}, noEnv, "http://127.0.0.1:5000/"},
		{"AWS_ENDPOINT_URL_SSM wins", awsjson.SSM, aws.Config{Region: "us-east-1", BaseEndpoint: local},
			env(map[string]string{"AWS_ENDPOINT_URL_SSM": "http://127.0.0.1:6000/"}), "http://127.0.0.1:6000/"},
		{"AWS_ENDPOINT_URL_SECRETS_MANAGER", awsjson.SecretsManager, aws.Config{Region: "us-east-1"},
			env(map[string]string{"AWS_ENDPOINT_URL_SECRETS_MANAGER": "http://127.0.0.1:7000"}), "http://127.0.0.1:7000/"},
		{"AWS_ENDPOINT_URL_EVENTBRIDGE", awsjson.EventBridge, aws.Config{Region: "us-east-1"},
			env(map[string]string{"AWS_ENDPOINT_URL_EVENTBRIDGE": "http://127.0.0.1:8000"}), "http://127.0.0.1:8000/"},
	}
	for _, tt := range tests {
		if got := awsjson.New(tt.cfg, tt.env, tt.svc).Endpoint(); got != tt.want {
			t.Errorf("%s: endpoint %q, want %q", tt.name, got, tt.want)
		}
	}
}
