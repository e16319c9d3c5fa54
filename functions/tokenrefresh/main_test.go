package main

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"wechatqr/local/moto"
	"wechatqr/local/rie"
	"wechatqr/local/stack"
	"wechatqr/shared/dynamo"
	"wechatqr/shared/platform"
	"wechatqr/shared/token"
	"wechatqr/shared/wechat"
	"wechatqr/shared/wechat/wechattest"
)

const id = "TokenRefreshFunction"

// fixture is the local stack with only the refresh running, and what it takes to
// start more instances of the same bootstrap.
type fixture struct {
	s         *stack.Stack
	bootstrap string
	payload   []byte
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	stack.SkipShort(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	build := t.TempDir()
	s, err := stack.Start(ctx, stack.Options{Functions: []string{id}, BuildDir: build})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	payload, err := os.ReadFile("../../events/tokenrefresh.json")
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{s: s, bootstrap: filepath.Join(build, id, "tokenrefresh", "bootstrap"), payload: payload}
}

// instance starts one more cold instance with the stack's environment, changed by env.
func (f *fixture) instance(t *testing.T, env map[string]string) *rie.Function {
	t.Helper()
	base := f.s.Env(id)
	var list []string
	for k, v := range base {
		if _, override := env[k]; !override {
			list = append(list, k+"="+v)
		}
	}
	for k, v := range env {
		if v != "" {
			list = append(list, k+"="+v)
		}
	}
	slices.Sort(list)
	fn, err := rie.Start(context.Background(), rie.Options{Bootstrap: f.bootstrap, Env: list, Name: id})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = fn.Close() })
	return fn
}

func (f *fixture) tokenCalls() int { return f.s.Platform.Calls(wechattest.PathStableToken) }

func TestInstancesRacingOnAnEmptyTableFetchOnce(t *testing.T) {
	f := newFixture(t)
	fns := []*rie.Function{f.instance(t, nil), f.instance(t, nil), f.instance(t, nil)}
	if fn, ok := f.s.Function(id); ok {
		fns = append(fns, fn)
	}
	var wg sync.WaitGroup
	for _, fn := range fns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := fn.Invoke(context.Background(), f.payload); err != nil {
				t.Errorf("invoke: %v\n%s", err, fn.Logs())
			}
		}()
	}
	wg.Wait()
	if n := f.tokenCalls(); n != 1 {
		t.Errorf("%d stable_token calls from %d racing instances, want exactly 1", n, len(fns))
	}
	// The next scheduled run finds the token fresh: no call.
	if _, err := fns[0].Invoke(context.Background(), f.payload); err != nil {
		t.Fatal(err)
	}
	if n := f.tokenCalls(); n != 1 {
		t.Errorf("a run that is not due called WeChat (%d calls)", n)
	}
	tok, _ := f.s.Platform.StableToken()
	for _, fn := range fns {
		if logs := fn.Logs(); tok == "" || strings.Contains(logs, tok) || strings.Contains(logs, f.s.Platform.Config().AppSecret) {
			t.Errorf("a function's logs hold the token or the AppSecret:\n%s", logs)
		}
	}
}

func TestTheSecretComesFromSecretsManager(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	srv := moto.ForTest(t)
	sm := secretsmanager.New(secretsmanager.Options{
		Region: rie.Region, BaseEndpoint: aws.String(srv.Endpoint()),
		Credentials: credentials.NewStaticCredentialsProvider("test", "test", ""),
	})
	cfg := f.s.Platform.Config()
	if _, err := sm.CreateSecret(ctx, &secretsmanager.CreateSecretInput{
		Name:         aws.String("wechat-qr/appsecret"),
		SecretString: aws.String(`{"app_secret":"` + cfg.AppSecret + `"}`),
	}); err != nil {
		t.Fatal(err)
	}
	// The SDK reads the endpoint override from AWS_ENDPOINT_URL_SECRETS_MANAGER
	// (from the service id "Secrets Manager"), with an underscore; a spelling
	// without it is not one it reads.
	fromSecret := map[string]string{
		"WECHAT_SECRET_ID":                 "wechat-qr/appsecret",
		"AWS_ENDPOINT_URL_SECRETS_MANAGER": srv.Endpoint(),
		"WECHAT_APP_SECRET":                "not-the-secret", // the secret must win
		// The callback's secret, which the token source never reads: there is none.
		"WECHAT_CALLBACK_SECRET_ID": "no-such-secret",
	}

	t.Run("a fetch signs with the secret's AppSecret", func(t *testing.T) {
		fn := f.instance(t, fromSecret)
		if _, err := fn.Invoke(ctx, f.payload); err != nil { // empty table: it must fetch
			t.Fatalf("%v\n%s", err, fn.Logs())
		}
		if n := f.tokenCalls(); n != 1 {
			t.Errorf("%d token calls, want 1", n)
		}
		if strings.Contains(fn.Logs(), cfg.AppSecret) {
			t.Error("the AppSecret reached the logs")
		}
	})
	t.Run("an absent secret fails the run that needs it, with a clear error", func(t *testing.T) {
		// The secret is read in the background from init on, and needed only to
		// fetch a token: with the table emptied, this run must fetch.
		table := f.s.Tables["TokensTable"]
		if _, err := f.s.Dynamo.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: &table, Key: map[string]types.AttributeValue{
			"pk": &types.AttributeValueMemberS{Value: "token#" + cfg.AppID},
		}}); err != nil {
			t.Fatal(err)
		}
		calls := f.tokenCalls()
		env := map[string]string{"WECHAT_SECRET_ID": "no-such-secret", "AWS_ENDPOINT_URL_SECRETS_MANAGER": srv.Endpoint()}
		fn := f.instance(t, env)
		_, err := fn.Invoke(ctx, f.payload)
		if n := f.tokenCalls(); n != calls {
			t.Errorf("%d token calls without an AppSecret", n-calls)
		}
		var fe *rie.FunctionError
		if !errors.As(err, &fe) || !strings.Contains(fn.Logs(), `reading WECHAT_SECRET_ID \"no-such-secret\"`) {
			t.Errorf("err = %v; logs:\n%s", err, fn.Logs())
		}
	})
}

// TestAConcurrentWriterWinsCleanly stores a token behind the refresh's back while
// its WeChat call is in flight: the refresh's compare-and-swap loses, the run
// succeeds, and the other writer's token stays.
func TestAConcurrentWriterWinsCleanly(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	table := f.s.Tables["TokensTable"]
	f.s.Platform.FailNext(wechattest.PathStableToken, 1, wechattest.HangFault(300*time.Millisecond))
	done := make(chan error, 1)
	fn, _ := f.s.Function(id)
	go func() { _, err := fn.Invoke(ctx, f.payload); done <- err }()
	time.Sleep(100 * time.Millisecond)
	_, err := f.s.Dynamo.PutItem(ctx, &dynamodb.PutItemInput{TableName: &table, Item: map[string]types.AttributeValue{
		"pk":         &types.AttributeValueMemberS{Value: "token#" + f.s.Platform.Config().AppID},
		"token":      &types.AttributeValueMemberS{Value: "OTHER-WRITER"},
		"expires_at": &types.AttributeValueMemberN{Value: "9999999999"},
		"version":    &types.AttributeValueMemberN{Value: "7"},
	}})
	if err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatalf("the losing run failed: %v\n%s", err, fn.Logs())
	}
	out, err := f.s.Dynamo.GetItem(ctx, &dynamodb.GetItemInput{TableName: &table, ConsistentRead: aws.Bool(true), Key: map[string]types.AttributeValue{
		"pk": &types.AttributeValueMemberS{Value: "token#" + f.s.Platform.Config().AppID},
	}})
	if err != nil {
		t.Fatal(err)
	}
	if got := out.Item["token"].(*types.AttributeValueMemberS).Value; got != "OTHER-WRITER" {
		t.Errorf("stored token %q, want the other writer's", got)
	}
}

// Every account's token is refreshed in one run, each with its own secret, and
// an account whose AppSecret WeChat refuses (revoked: 40125) fails alone: its
// failure is kept for the Accounts page and the run still succeeds for the
// others.
func TestEveryAccountIsRefreshedAndOneFailureStopsNoOther(t *testing.T) {
	stack.SkipShort(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	b := stack.Account{Name: "B", Platform: wechattest.PlatformConfig{AppID: "wxb0b0b0b0b0b0b0b0", AppSecret: "b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0", Token: "tokenB"}}
	c := stack.Account{Name: "C", Platform: wechattest.PlatformConfig{AppID: "wxc0c0c0c0c0c0c0c0", AppSecret: "c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0", Token: "tokenC"}}
	s, err := stack.Start(ctx, stack.Options{Functions: []string{id}, BuildDir: t.TempDir(), Accounts: []stack.Account{b, c}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	// C's AppSecret is reset on WeChat's side after it was added: the stored one is refused.
	s.Network.Remove(c.Platform.AppID)
	revoked := c.Platform
	revoked.AppSecret = "ffffffffffffffffffffffffffffffff"
	if _, err := s.Network.Add(revoked); err != nil {
		t.Fatal(err)
	}
	before := len(s.Network.CallLog(wechattest.PathStableToken))
	payload, err := os.ReadFile("../../events/tokenrefresh.json")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Invoke(ctx, id, payload); err != nil {
		fn, _ := s.Function(id)
		t.Fatalf("the run failed: %v\n%s", err, fn.Logs())
	}
	calls := map[string]int{}
	for _, call := range s.Network.CallLog(wechattest.PathStableToken)[before:] {
		calls[call.AppID]++
	}
	want := map[string]int{wechattest.DefaultAppID: 1, b.Platform.AppID: 1, c.Platform.AppID: 1}
	if len(calls) != len(want) || calls[wechattest.DefaultAppID] != 1 || calls[b.Platform.AppID] != 1 || calls[c.Platform.AppID] != 1 {
		t.Errorf("stable_token calls by account = %v, want exactly one each: %v", calls, want)
	}
	health := func(appID string) map[string]types.AttributeValue {
		out, err := s.Dynamo.GetItem(ctx, &dynamodb.GetItemInput{
			TableName: aws.String(s.Tables["TokensTable"]), ConsistentRead: aws.Bool(true),
			Key: map[string]types.AttributeValue{"pk": &types.AttributeValueMemberS{Value: "token#" + appID}},
		})
		if err != nil {
			t.Fatal(err)
		}
		return out.Item
	}
	for _, ok := range []string{wechattest.DefaultAppID, b.Platform.AppID} {
		if it := health(ok); it["token"] == nil || it["last_error"] != nil {
			t.Errorf("%s: token item %v, want a token and no error", ok, it)
		}
	}
	it := health(c.Platform.AppID)
	if e, _ := it["last_error"].(*types.AttributeValueMemberS); it["token"] != nil || e == nil || !strings.Contains(e.Value, "40125") {
		t.Errorf("the revoked account's token item = %v, want no token and errcode 40125 kept", it)
	}
	fn, _ := s.Function(id)
	logs := fn.Logs()
	if !strings.Contains(logs, `"appid":"`+c.Platform.AppID+`"`) || !strings.Contains(logs, `"failed":1`) {
		t.Errorf("the logs do not name the failed account and count it:\n%s", logs)
	}
	for _, secret := range []string{b.Platform.AppSecret, c.Platform.AppSecret, wechattest.DefaultAppSecret} {
		if strings.Contains(logs, secret) {
			t.Error("the logs hold an AppSecret")
		}
	}
}

// A stack that is a third-party platform refreshes the component token first
// and then every authorizer's token, each with one WeChat call, and a run
// after that finds them all fresh. No secret reaches the function's log.
func TestAPlatformRunRefreshesTheComponentTokenAndEveryAuthorizer(t *testing.T) {
	stack.SkipShort(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	s, err := stack.Start(ctx, stack.Options{Functions: []string{id}, BuildDir: t.TempDir(), Env: map[string]string{
		"WECHAT_COMPONENT_APP_ID":     wechattest.DefaultComponentAppID,
		"WECHAT_COMPONENT_APP_SECRET": wechattest.DefaultComponentAppSecret,
	}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	wc, err := s.Network.AddComponent(wechattest.ComponentConfig{})
	if err != nil {
		t.Fatal(err)
	}
	table := s.Tables["TokensTable"]
	state, err := dynamo.NewPlatform(s.Dynamo, table)
	if err != nil {
		t.Fatal(err)
	}
	// The ticket as the callback keeps it (the emulator has no URL to push to).
	_, _ = wc.PushTicket(ctx)
	if _, err := state.PutTicket(ctx, wc.NewestTicket(), time.Now()); err != nil {
		t.Fatal(err)
	}
	// Three authorizations, redeemed as the callback and the API do.
	reg, err := s.Registry()
	if err != nil {
		t.Fatal(err)
	}
	client, err := wechat.NewComponent(s.PlatformURL(), wechattest.DefaultComponentAppID, wechat.WithSecret(wechattest.DefaultComponentAppSecret))
	if err != nil {
		t.Fatal(err)
	}
	compStore, err := dynamo.NewTokens(s.Dynamo, table, wechattest.DefaultComponentAppID)
	if err != nil {
		t.Fatal(err)
	}
	svc, err := platform.New(platform.Config{Component: client, Accounts: reg, State: state,
		ComponentToken: token.NewSource(compStore, platform.ComponentIssuer(client, state), token.Options{})})
	if err != nil {
		t.Fatal(err)
	}
	authorizers := []string{"wxa0a0a0a0a0a0a0a1", "wxa0a0a0a0a0a0a0a2", "wxa0a0a0a0a0a0a0a3"}
	secrets := []string{wechattest.DefaultComponentAppSecret, wc.NewestTicket()}
	for _, appID := range authorizers {
		if err := svc.Authorized(ctx, appID, wc.Authorize(appID, nil)); err != nil {
			t.Fatal(err)
		}
		rt, _, err := reg.RefreshToken(ctx, appID)
		if err != nil {
			t.Fatal(err)
		}
		secrets = append(secrets, rt)
	}
	// The run must fetch the component token itself: the one above is dropped.
	key := func(appID string) map[string]types.AttributeValue {
		return map[string]types.AttributeValue{"pk": &types.AttributeValueMemberS{Value: "token#" + appID}}
	}
	if _, err := s.Dynamo.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: &table, Key: key(wechattest.DefaultComponentAppID)}); err != nil {
		t.Fatal(err)
	}
	wc.Reset()
	payload, err := os.ReadFile("../../events/tokenrefresh.json")
	if err != nil {
		t.Fatal(err)
	}
	fn, _ := s.Function(id)
	if _, err := s.Invoke(ctx, id, payload); err != nil {
		t.Fatalf("the run failed: %v\n%s", err, fn.Logs())
	}
	if n := wc.Calls(wechattest.PathComponentToken); n != 1 {
		t.Errorf("%d api_component_token calls, want 1", n)
	}
	byAccount := map[string]int{}
	for _, c := range wc.CallLog(wechattest.PathAuthorizerToken) {
		var body struct {
			AppID string `json:"authorizer_appid"`
		}
		_ = json.Unmarshal(c.Body, &body)
		byAccount[body.AppID]++
	}
	stored := func(appID string) string {
		out, err := s.Dynamo.GetItem(ctx, &dynamodb.GetItemInput{TableName: &table, ConsistentRead: aws.Bool(true), Key: key(appID)})
		if err != nil {
			t.Fatal(err)
		}
		v, _ := out.Item["token"].(*types.AttributeValueMemberS)
		if v == nil {
			return ""
		}
		return v.Value
	}
	comp, _ := wc.ComponentToken()
	if got := stored(wechattest.DefaultComponentAppID); got == "" || got != comp {
		t.Errorf("the stored component token is not the one WeChat issued")
	}
	secrets = append(secrets, comp)
	for _, appID := range authorizers {
		if byAccount[appID] != 1 {
			t.Errorf("%s: %d api_authorizer_token calls, want 1", appID, byAccount[appID])
		}
		tok := stored(appID)
		if tok == "" {
			t.Errorf("%s: no token stored", appID)
		}
		secrets = append(secrets, tok)
	}
	if len(byAccount) != len(authorizers) {
		t.Errorf("api_authorizer_token calls by account = %v, want one for each of %v", byAccount, authorizers)
	}
	// The next run: everything fresh, no call.
	if _, err := s.Invoke(ctx, id, payload); err != nil {
		t.Fatalf("the second run failed: %v\n%s", err, fn.Logs())
	}
	if n := wc.Calls(wechattest.PathComponentToken) + wc.Calls(wechattest.PathAuthorizerToken); n != 1+len(authorizers) {
		t.Errorf("a run with nothing due made %d calls", n-1-len(authorizers))
	}
	logs := fn.Logs()
	for _, secret := range secrets {
		if secret != "" && strings.Contains(logs, secret) {
			t.Errorf("the logs hold a secret (%.12s…)", secret)
		}
	}
}
