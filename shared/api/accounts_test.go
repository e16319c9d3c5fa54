package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"wechatqr/local/dynamolocal/dynamotest"
	"wechatqr/shared/accounts"
	"wechatqr/shared/api"
	"wechatqr/shared/callback"
	"wechatqr/shared/caller"
	"wechatqr/shared/dynamo"
	"wechatqr/shared/qr"
	"wechatqr/shared/seal"
	"wechatqr/shared/token"
	"wechatqr/shared/wechat"
	"wechatqr/shared/wechat/wechattest"
)

// The second account of the multi-account tests, a direct one with its own
// secret, Token and key on the emulated WeChat.
const (
	appB    = "wxb0b0b0b0b0b0b0b0"
	secretB = "b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0"
	tokenB  = "tokenOfB"
	keyB    = "bBbBbBbBbBbBbBbBbBbBbBbBbBbBbBbBbBbBbBbBbBb"
)

// accountsStack is the API and the callback of a stack serving two accounts,
// over fresh tables and one emulated WeChat that serves both.
type accountsStack struct {
	api      http.Handler
	net      *wechattest.Network
	callback string // the callback's base URL: /wechat and /wechat/{appid} under it
	store    *dynamo.Store
	client   *dynamodb.Client
	names    map[string]string
	reg      *accounts.Registry
}

func newAccountsStack(t *testing.T) *accountsStack {
	t.Helper()
	net := wechattest.NewNetwork(wechattest.PlatformConfig{})
	if _, err := net.Add(wechattest.PlatformConfig{AppID: appB, AppSecret: secretB, Token: tokenB, EncodingAESKey: keyB}); err != nil {
		t.Fatal(err)
	}
	srv := net.Start()
	t.Cleanup(net.Close)

	client, names := dynamotest.Tables(t, nil)
	store, err := dynamo.New(client, dynamo.Tables{Scenes: names["ScenesTable"], Events: names["EventsTable"]}, dynamo.Options{DefaultAppID: wechattest.DefaultAppID})
	if err != nil {
		t.Fatal(err)
	}
	sealer, err := seal.NewLocal(bytes.Repeat([]byte{1}, 32))
	if err != nil {
		t.Fatal(err)
	}
	accts, err := dynamo.NewAccounts(client, names["AccountsTable"], names["TokensTable"])
	if err != nil {
		t.Fatal(err)
	}
	reg, err := accounts.NewRegistry(accounts.Config{
		Default: accounts.Account{AppID: wechattest.DefaultAppID, Name: "Brand"},
		Store:   accts, Sealer: sealer,
		Checker: accounts.WeChatChecker(srv.URL),
	})
	if err != nil {
		t.Fatal(err)
	}
	tokensOf := func(appID string, secret wechat.ClientOption) (*token.Source, *wechat.Client) {
		tokens, err := dynamo.NewTokens(client, names["TokensTable"], appID)
		if err != nil {
			t.Fatal(err)
		}
		wc, err := wechat.NewClient(srv.URL, appID, "", secret, wechat.WithBackoff(time.Millisecond, 10*time.Millisecond))
		if err != nil {
			t.Fatal(err)
		}
		issuer, err := token.NewIssuer(wc, token.KindStable)
		if err != nil {
			t.Fatal(err)
		}
		return token.NewSource(tokens, issuer, token.Options{}), wc
	}
	cfg := api.Config{ShowQRCodeURL: func(ticket string) string { return srv.URL + wechattest.PathShowQRCode + "?ticket=" + ticket }}
	defTokens, defClient := tokensOf(wechattest.DefaultAppID, wechat.WithSecretFunc(func(context.Context) (string, error) { return wechattest.DefaultAppSecret, nil }))
	def, err := api.New(cfg, store, defClient, defTokens, nil)
	if err != nil {
		t.Fatal(err)
	}
	router, err := api.NewRouter(api.RouterConfig{
		Registry: reg, Default: def,
		Erase: func(ctx context.Context, appID, cursor string, until time.Time) (int, string, error) {
			return store.Account(appID).EraseAccountData(ctx, cursor, until)
		},
		Open: func(_ context.Context, a accounts.Account) (*api.Handler, error) {
			src, wc := tokensOf(a.AppID, wechat.WithSecretFunc(func(ctx context.Context) (string, error) { return reg.AppSecret(ctx, a.AppID) }))
			return api.New(cfg, store.Account(a.AppID), wc, src, nil)
		},
		Health: func(ctx context.Context, appID string) (qr.TokenHealth, error) {
			t, err := dynamo.NewTokens(client, names["TokensTable"], appID)
			if err != nil {
				return qr.TokenHealth{}, err
			}
			return t.Health(ctx)
		},
	})
	if err != nil {
		t.Fatal(err)
	}

	cipher, err := wechat.NewCipher(wechattest.DefaultEncodingAESKey, wechattest.DefaultAppID)
	if err != nil {
		t.Fatal(err)
	}
	shared := callback.Config{Tolerance: callback.DefaultTolerance}
	defCfg := shared
	defCfg.AppID, defCfg.Token, defCfg.Cipher, defCfg.MessageMode = wechattest.DefaultAppID, wechattest.DefaultToken, cipher, callback.Plaintext
	defCB, err := callback.New(defCfg, store, nil)
	if err != nil {
		t.Fatal(err)
	}
	cb, err := callback.NewRouter(callback.RouterConfig{
		Default: defCB, Accounts: reg, Config: shared, Log: slog.New(slog.DiscardHandler),
		Store: func(appID string) callback.Store { return store.Account(appID) },
		// Every push reads the account again, so a removal shows at once.
		Reload: time.Nanosecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	cbs := httptest.NewServer(cb)
	t.Cleanup(cbs.Close)
	return &accountsStack{api: router, net: net, callback: cbs.URL, store: store, client: client, names: names, reg: reg}
}

// as sends one request as the caller c (the zero Caller: an IAM principal).
func (s *accountsStack) as(t *testing.T, c caller.Caller, method, target, body string, out any) *httptest.ResponseRecorder {
	t.Helper()
	if c.Kind == "" {
		c = caller.Caller{Kind: caller.IAM, ID: "arn:aws:iam::123456789012:user/ops"}
	}
	req := httptest.NewRequest(method, target, strings.NewReader(body))
	req = req.WithContext(caller.With(req.Context(), c))
	w := httptest.NewRecorder()
	s.api.ServeHTTP(w, req)
	if out != nil {
		if err := json.Unmarshal(w.Body.Bytes(), out); err != nil {
			t.Fatalf("%s %s: %d %q is not JSON: %v", method, target, w.Code, w.Body, err)
		}
	}
	return w
}

func (s *accountsStack) do(t *testing.T, method, target, body string, out any) *httptest.ResponseRecorder {
	t.Helper()
	return s.as(t, caller.Caller{}, method, target, body, out)
}

func (s *accountsStack) addB(t *testing.T) {
	t.Helper()
	body := `{"appid":"` + appB + `","name":"Shop","app_secret":"` + secretB + `","token":"` + tokenB + `","encoding_aes_key":"` + keyB + `","message_mode":"compatible"}`
	if w := s.do(t, "POST", "/accounts", body, nil); w.Code != http.StatusCreated {
		t.Fatalf("POST /accounts: %d %s", w.Code, w.Body)
	}
}

// count counts the items of a table.
func (s *accountsStack) count(t *testing.T, table string) int {
	t.Helper()
	out, err := s.client.Scan(context.Background(), &dynamodb.ScanInput{TableName: aws.String(s.names[table]), ConsistentRead: aws.Bool(true)})
	if err != nil {
		t.Fatal(err)
	}
	return int(out.Count)
}

func TestTwoAccountsWithTheSameSceneHaveTwoCodesAndTwoCounters(t *testing.T) {
	s := newAccountsStack(t)
	s.addB(t)
	ctx := context.Background()
	var a, b codeJSON
	if w := s.do(t, "POST", "/qrcodes", `{"scene":"poster","permanent":true}`, &a); w.Code != http.StatusCreated {
		t.Fatalf("the default account's code: %d %s", w.Code, w.Body)
	}
	if w := s.do(t, "POST", "/accounts/"+appB+"/qrcodes", `{"scene":"poster","permanent":true,"reply":{"type":"text","content":"hi from B"}}`, &b); w.Code != http.StatusCreated {
		t.Fatalf("account B's code: %d %s", w.Code, w.Body)
	}
	if a.Ticket == b.Ticket {
		t.Fatal("one ticket for two accounts' codes")
	}
	// Each code was created on its own account with that account's own token.
	calls := s.net.CallLog(wechattest.PathQRCodeCreate)
	if len(calls) != 2 || calls[0].AppID != wechattest.DefaultAppID || calls[1].AppID != appB {
		t.Fatalf("qrcode/create calls went to %v, want the default account then B", appIDs(calls))
	}
	for _, c := range s.net.CallLog(wechattest.PathStableToken) {
		var body struct{ AppID string }
		_ = json.Unmarshal(c.Body, &body)
		if body.AppID != c.AppID {
			t.Errorf("a stable_token call for %s was answered by %s", body.AppID, c.AppID)
		}
	}
	// B's follower scans B's code at B's URL: B's reply, B's counter.
	pb := s.net.Platform(appB)
	push, err := pb.Scan(ctx, s.callback+"/wechat/"+appB, "oFollower", b.Ticket, wechattest.Safe)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(push.Reply(), []byte("hi from B")) {
		t.Errorf("B's scan got %q, want B's reply", push.Reply())
	}
	var sa, sb codeJSON
	s.do(t, "GET", "/qrcodes/poster", "", &sa)
	s.do(t, "GET", "/accounts/"+appB+"/qrcodes/poster", "", &sb)
	if sa.Stats == nil || sb.Stats == nil || sa.Stats.Scans != 0 || sb.Stats.Scans != 1 || sb.Stats.Subscribes != 1 {
		t.Errorf("stats: default %+v, B %+v; want 0 and 1 scan", sa.Stats, sb.Stats)
	}
	// The default account under its own AppID is the same data.
	var same codeJSON
	if w := s.do(t, "GET", "/accounts/"+wechattest.DefaultAppID+"/qrcodes/poster", "", &same); w.Code != 200 || same.Ticket != a.Ticket {
		t.Errorf("the default account by its AppID: %d, ticket %q want %q", w.Code, same.Ticket, a.Ticket)
	}
	var totals struct {
		Accounts []struct {
			AppID  string `json:"appid"`
			Totals struct {
				Scans int64 `json:"scans"`
			} `json:"totals"`
		} `json:"accounts"`
	}
	if w := s.do(t, "GET", "/stats/accounts", "", &totals); w.Code != 200 || len(totals.Accounts) != 2 || totals.Accounts[1].AppID != appB || totals.Accounts[1].Totals.Scans != 1 || totals.Accounts[0].Totals.Scans != 0 {
		t.Errorf("GET /stats/accounts: %d %s", w.Code, w.Body)
	}
}

func appIDs(calls []wechattest.NetworkCall) []string {
	out := make([]string, len(calls))
	for i, c := range calls {
		out[i] = c.AppID
	}
	return out
}

func TestAPushForOneAccountAtAnothersURLIsRefusedAndWritesNothing(t *testing.T) {
	s := newAccountsStack(t)
	s.addB(t)
	ctx := context.Background()
	before := s.count(t, "EventsTable") + s.count(t, "ScenesTable")
	def := s.net.Platform(wechattest.DefaultAppID)
	tests := []struct {
		name string
		from *wechattest.Platform
		url  string
		mode wechattest.Mode
		want int
	}{
		{"the default account's signed push at B's URL", def, "/wechat/" + appB, wechattest.Plaintext, http.StatusForbidden},
		{"the default account's sealed push at B's URL", def, "/wechat/" + appB, wechattest.Safe, http.StatusForbidden},
		{"B's sealed push at the default URL", s.net.Platform(appB), "/wechat", wechattest.Safe, http.StatusForbidden},
		{"B's sealed push at the default account's AppID", s.net.Platform(appB), "/wechat/" + wechattest.DefaultAppID, wechattest.Safe, http.StatusForbidden},
		{"a push for an AppID the stack does not serve", def, "/wechat/wx9999999999999999", wechattest.Plaintext, http.StatusNotFound},
		{"a path that is no AppID", def, "/wechat/not-an-appid", wechattest.Plaintext, http.StatusNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			push, err := tt.from.ScanScene(ctx, s.callback+tt.url, "oCross", "poster", tt.mode)
			if err != nil {
				t.Fatal(err)
			}
			if got := push.Deliveries[0].Status; got != tt.want && !(tt.want == http.StatusForbidden && got == http.StatusUnauthorized) {
				t.Errorf("status %d, want %d", got, tt.want)
			}
		})
	}
	if after := s.count(t, "EventsTable") + s.count(t, "ScenesTable"); after != before {
		t.Errorf("refused pushes wrote %d items", after-before)
	}
}

func TestAccountsRefuseBadInputAndWriteNothing(t *testing.T) {
	s := newAccountsStack(t)
	s.addB(t)
	before := s.count(t, "AccountsTable")
	valid := map[string]string{"appid": "wxc1c1c1c1c1c1c1c1", "name": "C", "app_secret": secretB, "token": "tokenC"}
	with := func(k, v string) string {
		m := map[string]string{}
		for kk, vv := range valid {
			m[kk] = vv
		}
		m[k] = v
		b, _ := json.Marshal(m)
		return string(b)
	}
	tests := []struct {
		name, method, target, body string
		status                     int
		code                       string
	}{
		{"an AppID that is not wx and 16 characters", "POST", "/accounts", with("appid", "wx123"), 400, "invalid"},
		{"an unknown field", "POST", "/accounts", `{"appid":"wxc1c1c1c1c1c1c1c1","name":"C","app_secret":"` + secretB + `","token":"tokenC","secret":"x"}`, 400, "invalid"},
		{"a Token of the wrong shape", "POST", "/accounts", with("token", "t!"), 400, "invalid"},
		{"a key of the wrong shape", "POST", "/accounts", with("encoding_aes_key", "short"), 400, "invalid"},
		{"an AppID added twice", "POST", "/accounts", with("appid", appB), 409, "conflict"},
		{"an AppSecret WeChat refuses", "POST", "/accounts", with("appid", "wxc1c1c1c1c1c1c1c1"), 502, "wechat"},
		{"an account's route of an AppID the stack does not serve", "GET", "/accounts/wx9999999999999999/qrcodes", "", 404, "account_not_found"},
		{"a malformed AppID in a route", "GET", "/accounts/wx-9/qrcodes", "", 400, "invalid"},
		{"a change of the default account", "PATCH", "/accounts/" + wechattest.DefaultAppID, `{"name":"x"}`, 409, "conflict"},
		{"removing the default account", "DELETE", "/accounts/" + wechattest.DefaultAppID, "", 409, "conflict"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var e errorJSON
			w := s.do(t, tt.method, tt.target, tt.body, &e)
			if w.Code != tt.status || e.Error != tt.code || e.Message == "" {
				t.Errorf("%d %s, want %d %s", w.Code, w.Body, tt.status, tt.code)
			}
			if strings.Contains(w.Body.String(), secretB) {
				t.Error("the answer quotes the AppSecret")
			}
		})
	}
	if after := s.count(t, "AccountsTable"); after != before {
		t.Errorf("refused requests stored %d accounts", after-before)
	}
}

func TestAConsoleUserReachesOnlyTheAccountsOfTheirGroups(t *testing.T) {
	s := newAccountsStack(t)
	s.addB(t)
	onlyB := caller.Caller{Kind: caller.Console, ID: "bob", Groups: []string{"account-" + appB}}
	admin := caller.Caller{Kind: caller.Console, ID: "ann", Groups: []string{"admins"}}
	nobody := caller.Caller{Kind: caller.Console, ID: "eve"}
	list := func(c caller.Caller) []string {
		var out struct {
			Accounts []struct {
				AppID string `json:"appid"`
			} `json:"accounts"`
		}
		if w := s.as(t, c, "GET", "/accounts", "", &out); w.Code != 200 {
			t.Fatalf("GET /accounts as %s: %d", c.ID, w.Code)
		}
		var ids []string
		for _, a := range out.Accounts {
			ids = append(ids, a.AppID)
		}
		return ids
	}
	if got := list(onlyB); len(got) != 1 || got[0] != appB {
		t.Errorf("bob lists %v, want only %s", got, appB)
	}
	if got := list(admin); len(got) != 2 {
		t.Errorf("an admin lists %v, want both", got)
	}
	if got := list(nobody); len(got) != 0 {
		t.Errorf("a user in no group lists %v, want none", got)
	}
	tests := []struct {
		who            caller.Caller
		method, target string
		body           string
		want           int
	}{
		{onlyB, "GET", "/accounts/" + appB + "/qrcodes", "", 200},
		{onlyB, "GET", "/accounts/" + wechattest.DefaultAppID + "/qrcodes", "", 403},
		{onlyB, "GET", "/qrcodes", "", 403},
		{onlyB, "POST", "/qrcodes", `{"scene":"x","permanent":true}`, 403},
		{onlyB, "GET", "/accounts/" + wechattest.DefaultAppID, "", 403},
		{onlyB, "GET", "/stats/sources", "", 403},
		{onlyB, "POST", "/accounts", `{}`, 403},
		{onlyB, "DELETE", "/accounts/" + appB, "", 403},
		{nobody, "GET", "/accounts/" + appB + "/qrcodes", "", 403},
		{admin, "GET", "/accounts/" + wechattest.DefaultAppID + "/qrcodes", "", 200},
		{admin, "GET", "/qrcodes", "", 200},
	}
	for _, tt := range tests {
		if w := s.as(t, tt.who, tt.method, tt.target, tt.body, nil); w.Code != tt.want {
			t.Errorf("%s: %s %s = %d %s, want %d", tt.who.ID, tt.method, tt.target, w.Code, w.Body, tt.want)
		}
	}
	var totals struct {
		Accounts []struct {
			AppID string `json:"appid"`
		} `json:"accounts"`
	}
	if s.as(t, onlyB, "GET", "/stats/accounts", "", &totals); len(totals.Accounts) != 1 || totals.Accounts[0].AppID != appB {
		t.Errorf("bob's all-accounts totals list %+v, want only B", totals.Accounts)
	}
}

func TestARemovedAccountIsNoLongerServed(t *testing.T) {
	s := newAccountsStack(t)
	s.addB(t)
	ctx := context.Background()
	pb := s.net.Platform(appB)
	url := s.callback + "/wechat/" + appB
	if push, err := pb.ScanScene(ctx, url, "oBefore", "poster", wechattest.Safe); err != nil || push.Deliveries[0].Status != 200 {
		t.Fatalf("a push before the removal: %v %+v", err, push.Deliveries)
	}
	if w := s.do(t, "DELETE", "/accounts/"+appB, "", nil); w.Code != http.StatusNoContent {
		t.Fatalf("DELETE: %d %s", w.Code, w.Body)
	}
	before := s.count(t, "EventsTable")
	if push, err := pb.ScanScene(ctx, url, "oAfter", "poster", wechattest.Safe); err != nil || push.Deliveries[0].Status != 404 {
		t.Errorf("a push after the removal: %v %+v, want 404", err, push.Deliveries)
	}
	if after := s.count(t, "EventsTable"); after != before {
		t.Errorf("a removed account's push wrote %d items", after-before)
	}
	if w := s.do(t, "GET", "/accounts/"+appB+"/qrcodes", "", nil); w.Code != 404 {
		t.Errorf("a removed account's API: %d, want 404", w.Code)
	}
}

func TestAChangedTokenKeepsTheOneBeforeAccepted(t *testing.T) {
	s := newAccountsStack(t)
	s.addB(t)
	if w := s.do(t, "PATCH", "/accounts/"+appB, `{"token":"tokenOfB2"}`, nil); w.Code != 200 {
		t.Fatalf("PATCH: %d %s", w.Code, w.Body)
	}
	pb := s.net.Platform(appB)
	url := s.callback + "/wechat/" + appB
	old := pb.Signer()
	next := old
	next.Token = "tokenOfB2"
	for _, sg := range []wechattest.Signer{old, next} {
		// B's message mode is compatible: sealed pushes only, signed with the Token.
		q, body, err := sg.Push(sg.ScanXML("oRot", "poster", time.Now().Unix(), "T"), wechattest.Safe, time.Now().Unix(), "n"+sg.Token)
		if err != nil {
			t.Fatal(err)
		}
		res, err := http.Post(url+"?"+q.Encode(), "text/xml", bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != 200 {
			t.Errorf("a push signed with %s after the change: %d, want 200", sg.Token, res.StatusCode)
		}
	}
}

func TestErasingARemovedAccountDeletesItsDataAndNoOthers(t *testing.T) {
	s := newAccountsStack(t)
	s.addB(t)
	ctx := context.Background()
	for _, prefix := range []string{"", "/accounts/" + appB} {
		if w := s.do(t, "POST", prefix+"/qrcodes", `{"scene":"poster","permanent":true}`, nil); w.Code != http.StatusCreated {
			t.Fatalf("create: %d %s", w.Code, w.Body)
		}
	}
	if push, err := s.net.Platform(appB).ScanScene(ctx, s.callback+"/wechat/"+appB, "oB", "poster", wechattest.Safe); err != nil || push.Status() != 200 {
		t.Fatalf("B's scan: %v", err)
	}
	if push, err := s.net.Platform(wechattest.DefaultAppID).ScanScene(ctx, s.callback+"/wechat", "oA", "poster", wechattest.Safe); err != nil || push.Status() != 200 {
		t.Fatalf("the default account's scan: %v", err)
	}
	items := func(prefix string) (n int) {
		for _, table := range []string{"ScenesTable", "EventsTable"} {
			out, err := s.client.Scan(ctx, &dynamodb.ScanInput{TableName: aws.String(s.names[table]), ConsistentRead: aws.Bool(true)})
			if err != nil {
				t.Fatal(err)
			}
			for _, it := range out.Items {
				pk := it["pk"].(*types.AttributeValueMemberS).Value
				if strings.HasPrefix(pk, "app#") == (prefix != "") && strings.HasPrefix(pk, prefix) {
					n++
				}
			}
		}
		return n
	}
	ofB, ofDefault := items("app#"+appB+"#"), items("")
	if ofB == 0 || ofDefault == 0 {
		t.Fatalf("before: %d items of B, %d of the default account", ofB, ofDefault)
	}
	for _, bad := range []string{"?erase=maybe", "?erase=true&cursor=nonsense"} {
		if w := s.do(t, "DELETE", "/accounts/"+appB+bad, "", nil); w.Code != 400 {
			t.Errorf("DELETE %s: %d, want 400", bad, w.Code)
		}
	}
	if items("app#"+appB+"#") != ofB {
		t.Fatal("a refused erasure deleted items")
	}
	var out struct {
		Deleted    int    `json:"deleted"`
		NextCursor string `json:"next_cursor"`
	}
	if w := s.do(t, "DELETE", "/accounts/"+appB+"?erase=true", "", &out); w.Code != 200 || out.Deleted != ofB || out.NextCursor != "" {
		t.Fatalf("DELETE ?erase=true: %d %s; want %d items deleted", w.Code, w.Body, ofB)
	}
	if n := items("app#" + appB + "#"); n != 0 {
		t.Errorf("%d items of the erased account left", n)
	}
	if n := items(""); n != ofDefault {
		t.Errorf("the default account has %d items, had %d", n, ofDefault)
	}
	if w := s.do(t, "GET", "/accounts/"+appB, "", nil); w.Code != 404 {
		t.Errorf("the erased account is still served: %d", w.Code)
	}
	if w := s.do(t, "DELETE", "/accounts/"+wechattest.DefaultAppID+"?erase=true", "", nil); w.Code != 409 {
		t.Errorf("erasing the default account: %d, want 409", w.Code)
	}
}

func TestThePlatformRoutesAreRefusedOnAStackThatIsNoPlatformAndToNonAdministrators(t *testing.T) {
	s := newAccountsStack(t)
	for _, c := range []struct {
		name   string
		who    caller.Caller
		path   string
		status int
		says   string
	}{
		{"no platform: start", caller.Caller{}, "/platform/authorizations", 400, "not a third-party platform"},
		{"no platform: complete", caller.Caller{}, "/platform/authorizations/complete", 400, "not a third-party platform"},
		{"a console user who is no administrator", caller.Caller{Kind: caller.Console, ID: "ops", Groups: []string{caller.AccountGroup(appB)}}, "/platform/authorizations", 403, caller.GroupAdmins},
	} {
		t.Run(c.name, func(t *testing.T) {
			before := s.count(t, "AccountsTable")
			w := s.as(t, c.who, "POST", c.path, `{"auth_code":"queryauthcode@@@x"}`, nil)
			if w.Code != c.status || !strings.Contains(w.Body.String(), c.says) {
				t.Fatalf("%d %s; want %d saying %q", w.Code, w.Body, c.status, c.says)
			}
			if after := s.count(t, "AccountsTable"); after != before {
				t.Errorf("%d accounts written by a refused request", after-before)
			}
		})
	}
}
