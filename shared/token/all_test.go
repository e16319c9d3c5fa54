package token_test

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/smithy-go/middleware"

	"wechatqr/local/dynamolocal/dynamotest"
	"wechatqr/shared/dynamo"
	"wechatqr/shared/token"
	"wechatqr/shared/wechat"
	"wechatqr/shared/wechat/wechattest"
)

// fleet is n direct accounts on one emulated WeChat, each with its token item
// in one tokens table over DynamoDB Local, as tokenrefresh sees them.
type fleet struct {
	net      *wechattest.Network
	accounts []token.Account
	ops      *opCounter
}

// opCounter counts DynamoDB requests by operation.
type opCounter struct{ get, update, put atomic.Int64 }

func (c *opCounter) middleware(stack *middleware.Stack) error {
	return stack.Initialize.Add(middleware.InitializeMiddlewareFunc("countOps", func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
		switch in.Parameters.(type) {
		case *dynamodb.GetItemInput:
			c.get.Add(1)
		case *dynamodb.UpdateItemInput:
			c.update.Add(1)
		case *dynamodb.PutItemInput:
			c.put.Add(1)
		}
		return next.HandleInitialize(ctx, in)
	}), middleware.After)
}

func newFleet(tb testing.TB, n int, badSecret func(i int) bool) *fleet {
	tb.Helper()
	client, names := dynamotest.Tables(tb, nil, "TokensTable")
	ops := &opCounter{}
	counted := dynamodb.New(client.Options(), func(o *dynamodb.Options) { o.APIOptions = append(o.APIOptions, ops.middleware) })
	net := wechattest.NewNetwork()
	srv := net.Start()
	tb.Cleanup(net.Close)
	f := &fleet{net: net, ops: ops}
	for i := range n {
		appID := fmt.Sprintf("wx%016x", i+1)
		secret := fmt.Sprintf("%032x", i+1)
		if _, err := net.Add(wechattest.PlatformConfig{AppID: appID, AppSecret: secret}); err != nil {
			tb.Fatal(err)
		}
		if badSecret != nil && badSecret(i) {
			secret = strings.Repeat("f", 32) // revoked: WeChat answers 40125
		}
		wc, err := wechat.NewClient(srv.URL, appID, secret, wechat.WithBackoff(time.Millisecond, 5*time.Millisecond))
		if err != nil {
			tb.Fatal(err)
		}
		issuer, err := token.NewIssuer(wc, token.KindStable)
		if err != nil {
			tb.Fatal(err)
		}
		store, err := dynamo.NewTokens(counted, names["TokensTable"], appID)
		if err != nil {
			tb.Fatal(err)
		}
		f.accounts = append(f.accounts, token.Account{AppID: appID, Default: i == 0, Source: token.NewSource(store, issuer, token.Options{}), Health: store})
	}
	return f
}

// tokenCalls counts the stable_token calls each AppID made.
func (f *fleet) tokenCalls() map[string]int {
	out := map[string]int{}
	for _, c := range f.net.CallLog(wechattest.PathStableToken) {
		out[c.AppID]++
	}
	return out
}

func TestRefreshAllFetchesOnceForEveryDueAccountAndAFailureStopsNoOther(t *testing.T) {
	const n = 40
	revoked := func(i int) bool { return i%10 == 7 }
	f := newFleet(t, n, revoked)
	var logs strings.Builder
	sum := token.RefreshAll(context.Background(), f.accounts, token.AllOptions{Concurrency: 8, Log: slog.New(slog.NewJSONHandler(&logs, nil))})
	if sum.Accounts != n || sum.Refreshed != n-4 || sum.Failed != 4 || sum.DefaultErr != nil {
		t.Errorf("summary %+v, want %d refreshed and 4 failed, the default account fine", sum, n-4)
	}
	calls := f.tokenCalls()
	for i, a := range f.accounts {
		if calls[a.AppID] != 1 {
			t.Errorf("%s: %d token calls, want 1", a.AppID, calls[a.AppID])
		}
		h, err := a.Health.(*dynamo.Tokens).Health(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		bad := revoked(i)
		if bad && (!strings.Contains(h.LastError, "40125") || !h.RefreshedAt.IsZero()) || !bad && (h.LastError != "" || h.RefreshedAt.IsZero()) {
			t.Errorf("%s: health %+v, revoked %v", a.AppID, h, bad)
		}
	}
	if strings.Count(logs.String(), `"msg":"token refresh failed"`) != 4 {
		t.Errorf("want one log line per failed account:\n%s", logs.String())
	}
	// A run right after finds every good token fresh, and the revoked accounts
	// still under the lease their failed fetch took (token.DefaultLease): no call
	// at all, so a failing account is not hammered once a second.
	before := len(f.net.CallLog(wechattest.PathStableToken))
	token.RefreshAll(context.Background(), f.accounts, token.AllOptions{})
	if got := len(f.net.CallLog(wechattest.PathStableToken)) - before; got != 0 {
		t.Errorf("a run right after made %d token calls, want none", got)
	}
}

// BenchmarkRefreshAll1000 is tokenrefresh's run with 1,000 accounts all due
// (a first deploy, or every token near its end at once): exactly one token
// call per account is checked, and the wall time and DynamoDB requests per
// account are reported (a GetItem read strongly consistent, 1 read unit; an
// UpdateItem for the lease and a PutItem for the token, 1 write unit each: the
// items are far under 1 KB).
//
//	go test ./shared/token -run '^$' -bench RefreshAll1000 -benchtime 1x
func BenchmarkRefreshAll1000(b *testing.B) {
	const n = 1000
	for b.Loop() {
		b.StopTimer()
		f := newFleet(b, n, nil)
		b.StartTimer()
		start := time.Now()
		sum := token.RefreshAll(context.Background(), f.accounts, token.AllOptions{})
		wall := time.Since(start)
		b.StopTimer()
		if sum.Refreshed != n || sum.Failed != 0 {
			b.Fatalf("summary %+v", sum)
		}
		for appID, c := range f.tokenCalls() {
			if c != 1 {
				b.Fatalf("%s: %d token calls", appID, c)
			}
		}
		b.ReportMetric(float64(wall.Milliseconds()), "ms/run")
		b.ReportMetric(float64(f.ops.get.Load())/n, "reads/account")
		b.ReportMetric(float64(f.ops.update.Load()+f.ops.put.Load())/n, "writes/account")
		// The run after: every token fresh, one read each and no call.
		f.ops.get.Store(0)
		start = time.Now()
		token.RefreshAll(context.Background(), f.accounts, token.AllOptions{})
		b.ReportMetric(float64(time.Since(start).Milliseconds()), "ms/fresh-run")
		b.StartTimer()
	}
}
