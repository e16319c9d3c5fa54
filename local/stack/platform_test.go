package stack_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"wechatqr/local/stack"
	"wechatqr/shared/wechat"
	"wechatqr/shared/wechat/wechattest"
)

// TestTheStackAsAThirdPartyPlatform runs the platform through the real parts
// (every function's bootstrap under aws-lambda-rie, DynamoDB Local, the
// emulated Open Platform): the ticket and the platform's token; an account
// connected through the API, pushed and redirected at once; its code created
// and scanned, the reply sealed with the platform's key; a second account that
// granted no set 3, refused a code before WeChat is asked; the full-network
// release test; a withdrawal, after which the account answers 409 and WeChat
// is not called. Then no log line holds the platform's credentials, a ticket,
// an authorization code or any token.
func TestTheStackAsAThirdPartyPlatform(t *testing.T) {
	stack.SkipShort(t)
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	secret := make([]byte, 16)
	_, _ = rand.Read(secret)
	component := wechattest.ComponentConfig{
		AppID: "wx5e5e5e5e5e5e5e5e", AppSecret: hex.EncodeToString(secret),
		Token: randomText(32), EncodingAESKey: randomText(43),
	}
	var logs syncBuffer
	s, err := stack.Start(ctx, stack.Options{BuildDir: t.TempDir(), Component: &component, Logs: &logs})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	srv := httptest.NewServer(s.Front())
	t.Cleanup(srv.Close)
	front := srv.URL
	if err := s.ConnectPlatform(ctx, front); err != nil {
		t.Fatal(err)
	}
	if n := s.Component.Calls(wechattest.PathComponentToken); n != 1 {
		t.Errorf("%d api_component_token calls after the first ticket and refresh; want 1", n)
	}

	// An account connects: the push and the redirect both arrive, one redemption.
	const shop, blog = "wx6f6f6f6f6f6f6f6f", "wx7a7a7a7a7a7a7a7a"
	a, err := s.Authorize(ctx, front, shop, nil)
	if err != nil {
		t.Fatal(err)
	}
	if a.Kind != "authorizer" || a.Status != "active" || a.UserName == "" || !slices.Contains(a.Permissions, 3) {
		t.Fatalf("the connected account: %+v", a)
	}
	if n := s.Component.Calls(wechattest.PathQueryAuth); n != 1 {
		t.Errorf("%d api_query_auth calls for one authorization pushed and redirected; want 1", n)
	}
	var listed struct {
		Accounts []struct{ AppID, Kind string } `json:"accounts"`
	}
	if res := call(t, "GET", front+"/accounts", "", &listed); res.StatusCode != 200 || !slices.ContainsFunc(listed.Accounts, func(x struct{ AppID, Kind string }) bool {
		return x.AppID == shop && x.Kind == "authorizer"
	}) {
		t.Fatalf("GET /accounts: %d %+v", res.StatusCode, listed)
	}

	// Its code, created with its token and scanned through its callback URL.
	if res := call(t, "POST", front+"/accounts/"+shop+"/qrcodes", `{"scene":"shop-poster","permanent":true,"reply":{"type":"text","content":"Welcome to the shop"}}`, nil); res.StatusCode != 201 {
		t.Fatalf("an authorizer's code: %d", res.StatusCode)
	}
	p := s.Network.Platform(shop)
	push, err := p.ScanScene(ctx, front+"/wechat/"+shop, "oShopFan000000000000000000001", "shop-poster", wechattest.Safe)
	if err != nil || push.Status() != 200 || !strings.Contains(string(push.Reply()), "Welcome to the shop") {
		t.Fatalf("a scan of the authorizer's code: %v %d %q", err, push.Status(), push.Reply())
	}

	// An account that granted no set 3: its code is refused before WeChat is asked.
	if _, err := s.Authorize(ctx, front, blog, []int{1, 2}); err != nil {
		t.Fatal(err)
	}
	res := call(t, "POST", front+"/accounts/"+blog+"/qrcodes", `{"scene":"blog-poster","permanent":true}`, nil)
	body := readAll(t, res)
	if res.StatusCode != 403 || !strings.Contains(body, "permission_missing") || !strings.Contains(body, "permission set 3") {
		t.Errorf("a code of an account without set 3: %d %s; want 403 permission_missing naming set 3", res.StatusCode, body)
	}
	if n := s.Network.Platform(blog).Calls("/cgi-bin/qrcode/create"); n != 0 {
		t.Errorf("WeChat was asked %d times for a code the account may not create", n)
	}

	// The full-network release test, on one of WeChat's test accounts.
	test := wechattest.ReleaseTestAccounts[2].AppID
	text, err := s.Component.SendReleaseTestText(ctx, test)
	if err != nil || !strings.Contains(string(text.Reply()), wechat.ReleaseTestTextReply) {
		t.Fatalf("the release test's text: %v %d %q", err, text.Status(), text.Reply())
	}
	code, q, err := s.Component.SendReleaseTestQueryAuthCode(ctx, test)
	if err != nil || q.Status() != 200 || len(q.Reply()) > 0 && string(q.Reply()) != "success" {
		t.Fatalf("the release test's QUERY_AUTH_CODE: %v %d %q", err, q.Status(), q.Reply())
	}
	if got := s.Component.ReleaseTestMessages(test); len(got) != 1 || got[0].Content != wechat.ReleaseTestAPIText(code) {
		t.Errorf("the release test's user received %+v; want %q", got, wechat.ReleaseTestAPIText(code))
	}

	// The shop withdraws: revoked, its changes refused without WeChat, its data readable.
	issued := append(p.IssuedTokens(), s.Network.Platform(blog).IssuedTokens()...)
	reg, err := s.Registry()
	if err != nil {
		t.Fatal(err)
	}
	refresh, _, err := reg.RefreshToken(ctx, shop)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Component.Unauthorize(shop); err != nil {
		t.Fatal(err)
	}
	s.Component.WaitPushes()
	creates := p.Calls("/cgi-bin/qrcode/create")
	if res := call(t, "POST", front+"/accounts/"+shop+"/qrcodes", `{"scene":"shop-2","permanent":true}`, nil); res.StatusCode != 409 || !strings.Contains(readAll(t, res), "account_revoked") {
		t.Errorf("a revoked account's new code: %d; want 409 account_revoked", res.StatusCode)
	}
	if n := p.Calls("/cgi-bin/qrcode/create") - creates; n != 0 {
		t.Errorf("WeChat was asked %d times for a revoked account", n)
	}
	if res := call(t, "GET", front+"/accounts/"+shop+"/qrcodes/shop-poster", "", nil); res.StatusCode != 200 {
		t.Errorf("a revoked account's code is not readable: %d", res.StatusCode)
	}

	tok, _ := s.Component.ComponentToken()
	secrets := map[string]string{
		"component AppSecret": component.AppSecret, "component Token": component.Token,
		"component EncodingAESKey": component.EncodingAESKey, "ticket": s.Component.NewestTicket(),
		"component token": tok, "refresh token": refresh, "release-test code": code,
	}
	for i, tok := range issued {
		secrets["authorizer token "+string(rune('A'+i))] = tok
	}
	sources := map[string]string{"stack": logs.String()}
	for _, f := range s.Template.Functions() {
		if fn, ok := s.Function(f.LogicalID); ok {
			sources[f.LogicalID] = fn.Logs()
		}
	}
	for src, out := range sources {
		for _, line := range strings.Split(out, "\n") {
			for what, secret := range secrets {
				if secret != "" && strings.Contains(line, secret) {
					t.Errorf("%s logged the %s: %s", src, what, line)
				}
			}
		}
	}
}

// readAll is a response's body as text.
func readAll(t *testing.T, res *http.Response) string {
	t.Helper()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
