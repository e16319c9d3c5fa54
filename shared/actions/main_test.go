package actions_test

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	dtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/aws/smithy-go/middleware"

	"wechatqr/local/dynamolocal/dynamotest"
	"wechatqr/local/moto"
	"wechatqr/shared/actions"
	"wechatqr/shared/bus"
	"wechatqr/shared/callback"
	"wechatqr/shared/dynamo"
	"wechatqr/shared/qr"
	"wechatqr/shared/token"
	"wechatqr/shared/wechat"
	"wechatqr/shared/wechat/wechattest"
)

// motoServer is the package's moto_server: EventBridge, and SQS to read what a
// rule on the bus delivered. The first test that needs it starts it.
var motoServer moto.Shared

// busCount names each test's bus and queue.
var busCount atomic.Int64

func TestMain(m *testing.M) {
	code := dynamotest.Main(m)
	_ = motoServer.Close()
	os.Exit(code)
}

// counter counts DynamoDB round trips, as shared/callback's tests do.
type counter struct{ n atomic.Int64 }

func (c *counter) middleware(stack *middleware.Stack) error {
	return stack.Finalize.Add(middleware.FinalizeMiddlewareFunc("countRoundTrips",
		func(ctx context.Context, in middleware.FinalizeInput, next middleware.FinalizeHandler) (middleware.FinalizeOutput, middleware.Metadata, error) {
			c.n.Add(1)
			return next.HandleFinalize(ctx, in)
		}), middleware.After)
}

func (c *counter) reset() int64 { return c.n.Swap(0) }

// fixture is the real path of a scan and its actions, with loopback for the
// network: WeChat's emulator pushes to the callback in process, which writes
// the scan records to DynamoDB Local; the actions read them and call the
// emulator over HTTP and moto's EventBridge, whose rule feeds an SQS queue.
type fixture struct {
	clock    *wechattest.Clock
	platform *wechattest.Platform
	callback string
	client   *dynamodb.Client
	tables   dynamo.Tables
	store    *dynamo.Store
	trips    *counter
	wx       *wechat.Client
	tokens   *token.Source
	queue    string
	sqs      *sqs.Client
	bus      *bus.Bus
	seq      int
}

type option func(*wechattest.PlatformConfig, *[]wechat.ClientOption)

func newFixture(t *testing.T, opts ...option) *fixture {
	t.Helper()
	clock := wechattest.NewClock(time.Now().Truncate(time.Second))
	cfg := wechattest.PlatformConfig{Now: clock.Now}
	// The client's default attempt timeout (2 s): on a loaded machine a shorter one
	// turns slow answers into unanswered sends.
	copts := []wechat.ClientOption{wechat.WithBackoff(time.Millisecond, 10*time.Millisecond)}
	for _, o := range opts {
		o(&cfg, &copts)
	}
	platform, srv := wechattest.NewServer(cfg)
	t.Cleanup(platform.Close)
	_ = srv

	client, names := dynamotest.Tables(t, nil)
	tables := dynamo.Tables{Scenes: names["ScenesTable"], Events: names["EventsTable"]}
	var trips counter
	counted := dynamodb.New(client.Options(), func(o *dynamodb.Options) { o.APIOptions = append(o.APIOptions, trips.middleware) })
	store, err := dynamo.New(counted, tables, dynamo.Options{})
	if err != nil {
		t.Fatal(err)
	}
	tokenStore, err := dynamo.NewTokens(client, names["TokensTable"], wechattest.DefaultAppID)
	if err != nil {
		t.Fatal(err)
	}
	wc, err := wechat.NewClient(platform.URL(), wechattest.DefaultAppID, wechattest.DefaultAppSecret, copts...)
	if err != nil {
		t.Fatal(err)
	}
	issuer, err := token.NewIssuer(wc, token.KindStable)
	if err != nil {
		t.Fatal(err)
	}
	cb, err := callback.New(callback.Config{AppID: wechattest.DefaultAppID, Token: wechattest.DefaultToken, Tolerance: callback.DefaultTolerance, Now: clock.Now}, store, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	cbs := httptest.NewServer(cb)
	t.Cleanup(cbs.Close)

	f := &fixture{clock: clock, platform: platform, callback: cbs.URL + "/wechat", client: client, tables: tables, store: store, trips: &trips, wx: wc,
		tokens: token.NewSource(tokenStore, issuer, token.Options{})}
	f.newBus(t)
	return f
}

// newBus makes a bus of the test's own on moto, with a rule that copies every
// wechatqr event to a queue.
func (f *fixture) newBus(t *testing.T) {
	t.Helper()
	ctx := context.Background()
	acfg := aws.Config{Region: "us-east-1", Credentials: credentials.NewStaticCredentialsProvider("test", "test", ""), BaseEndpoint: aws.String(motoServer.Get(t).Endpoint())}
	eb := eventbridge.NewFromConfig(acfg)
	f.sqs = sqs.NewFromConfig(acfg)
	name := fmt.Sprintf("actions-%d-%d", os.Getpid(), busCount.Add(1))
	if _, err := eb.CreateEventBus(ctx, &eventbridge.CreateEventBusInput{Name: aws.String(name)}); err != nil {
		t.Fatal(err)
	}
	q, err := f.sqs.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(name)})
	if err != nil {
		t.Fatal(err)
	}
	f.queue = *q.QueueUrl
	attrs, err := f.sqs.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: q.QueueUrl, AttributeNames: []sqstypes.QueueAttributeName{"QueueArn"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := eb.PutRule(ctx, &eventbridge.PutRuleInput{Name: aws.String("all"), EventBusName: aws.String(name), EventPattern: aws.String(`{"source":["wechatqr"]}`)}); err != nil {
		t.Fatal(err)
	}
	if _, err := eb.PutTargets(ctx, &eventbridge.PutTargetsInput{Rule: aws.String("all"), EventBusName: aws.String(name), Targets: []ebtypes.Target{{Id: aws.String("q"), Arn: aws.String(attrs.Attributes["QueueArn"])}}}); err != nil {
		t.Fatal(err)
	}
	// moto_server's PutEvents, which delivers to the queue before answering, can
	// take many seconds on a loaded machine.
	if f.bus, err = bus.New(eb, name, bus.WithCallTimeout(time.Minute)); err != nil {
		t.Fatal(err)
	}
}

// published reads every event the rule delivered to the queue.
func (f *fixture) published(t *testing.T) []busEvent {
	t.Helper()
	var out []busEvent
	for {
		res, err := f.sqs.ReceiveMessage(context.Background(), &sqs.ReceiveMessageInput{QueueUrl: &f.queue, MaxNumberOfMessages: 10})
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Messages) == 0 {
			return out
		}
		for _, m := range res.Messages {
			var e busEvent
			if err := json.Unmarshal([]byte(*m.Body), &e); err != nil {
				t.Fatalf("queued %q: %v", *m.Body, err)
			}
			out = append(out, e)
			if _, err := f.sqs.DeleteMessage(context.Background(), &sqs.DeleteMessageInput{QueueUrl: &f.queue, ReceiptHandle: m.ReceiptHandle}); err != nil {
				t.Fatal(err)
			}
		}
	}
}

type busEvent struct {
	Source     string `json:"source"`
	DetailType string `json:"detail-type"`
	Detail     struct {
		ID          string    `json:"id"`
		Scene       string    `json:"scene"`
		OpenID      string    `json:"openid"`
		Event       string    `json:"event"`
		At          time.Time `json:"at"`
		NewFollower bool      `json:"new_follower"`
	} `json:"detail"`
}

// testLog shows the actions' warnings in the test's output.
type testLog struct{ t *testing.T }

func (l testLog) Write(p []byte) (int, error) {
	l.t.Helper()
	l.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

// actions builds the actions under test.
func (f *fixture) actions(t *testing.T, cfg actions.Config) *actions.Actions {
	t.Helper()
	if cfg.Now == nil {
		cfg.Now = f.clock.Now
	}
	a, err := actions.New(cfg, f.store, f.wx, f.tokens, f.bus, slog.New(slog.NewTextHandler(testLog{t}, &slog.HandlerOptions{Level: slog.LevelWarn})))
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// putCode gives scene a permanent code with a tag and follow-ups.
func (f *fixture) putCode(t *testing.T, scene, tag string, followups ...qr.Reply) {
	t.Helper()
	c := &qr.Code{Scene: scene, ActionName: wechat.ActionLimitStrScene, Ticket: "T-" + scene, URL: "http://weixin.qq.com/q/" + scene, Permanent: true, Tag: tag, Followups: followups, CreatedAt: f.clock.Now()}
	if err := f.store.PutCode(context.Background(), c); err != nil {
		t.Fatal(err)
	}
}

// scan has the emulator push openid's scan of scene to the callback, delivered times times.
func (f *fixture) scan(t *testing.T, openid, scene string, times int) {
	t.Helper()
	push, err := f.platform.ScanScene(context.Background(), f.callback, openid, scene, wechattest.Plaintext, wechattest.Repeat(times))
	if err != nil || push.Status() != 200 {
		t.Fatalf("scan %s %s: %d %v", openid, scene, push.Status(), err)
	}
}

// records reads the scan records the callback wrote, oldest first: what the
// events table's stream carries as INSERTs (the same NewImage), each with a
// sequence number of its own.
func (f *fixture) records(t *testing.T) []qr.ScanRecord {
	t.Helper()
	var out []qr.ScanRecord
	in := &dynamodb.ScanInput{TableName: &f.tables.Events, ConsistentRead: aws.Bool(true)}
	for {
		res, err := f.client.Scan(context.Background(), in)
		if err != nil {
			t.Fatal(err)
		}
		for _, it := range res.Items {
			keys := map[string]dtypes.AttributeValue{"pk": it["pk"], "sk": it["sk"]}
			r, err := dynamo.DecodeStreamRecord("INSERT", keys, it)
			if errors.Is(err, dynamo.ErrNotScanRecord) {
				continue
			}
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, r)
		}
		if len(res.LastEvaluatedKey) == 0 {
			break
		}
		in.ExclusiveStartKey = res.LastEvaluatedKey
	}
	slices.SortFunc(out, func(a, b qr.ScanRecord) int {
		return cmp.Or(strings.Compare(a.OpenID, b.OpenID), a.At.Compare(b.At), strings.Compare(a.PushID, b.PushID))
	})
	for i := range out {
		f.seq++
		out[i].ID = fmt.Sprintf("%021d", f.seq)
	}
	return out
}

func (f *fixture) counts(t *testing.T, scene string) qr.ActionCounts {
	t.Helper()
	c, err := f.store.ActionCounts(context.Background(), scene)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// wechatCalls is how many requests the emulator got for the actions' endpoints.
func (f *fixture) wechatCalls() map[string]int {
	m := map[string]int{}
	for _, p := range []string{wechattest.PathTagsCreate, wechattest.PathTagsGet, wechattest.PathBatchTagging, wechattest.PathCustomSend} {
		m[p] = f.platform.Calls(p)
	}
	return m
}
