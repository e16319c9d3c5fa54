package wechattest_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"wechatqr/shared/wechat"
	"wechatqr/shared/wechat/wechattest"
)

// accountConfig is the i-th test account (i ≥ 1): an AppID and a secret in
// WeChat's formats, and callback settings of its own, on clock.
func accountConfig(i int, clock *wechattest.Clock) wechattest.PlatformConfig {
	key := bytes.Repeat([]byte{byte(i)}, 32)
	return wechattest.PlatformConfig{
		AppID:          fmt.Sprintf("wx%016x", i),
		AppSecret:      fmt.Sprintf("%032x", 0xa0+i),
		Token:          fmt.Sprintf("token%d", i),
		EncodingAESKey: base64.StdEncoding.EncodeToString(key)[:43],
		Now:            clock.Now,
	}
}

// startNetwork serves a Network of n accounts (accountConfig 1..n) on one
// fake clock.
func startNetwork(t *testing.T, n int) (*wechattest.Network, []*wechattest.Platform) {
	t.Helper()
	clock := wechattest.NewClock(epoch)
	cfgs := make([]wechattest.PlatformConfig, n)
	for i := range cfgs {
		cfgs[i] = accountConfig(i+1, clock)
	}
	return serveNetwork(t, cfgs...)
}

func serveNetwork(t *testing.T, cfgs ...wechattest.PlatformConfig) (*wechattest.Network, []*wechattest.Platform) {
	t.Helper()
	net := wechattest.NewNetwork(cfgs...)
	net.Start()
	t.Cleanup(net.Close)
	ps := make([]*wechattest.Platform, len(cfgs))
	for i, cfg := range cfgs {
		if ps[i] = net.Platform(cfg.AppID); ps[i] == nil {
			t.Fatalf("account %s is not on the network", cfg.AppID)
		}
	}
	return net, ps
}

// clientOf is a wechat.Client of account p, against the Network.
func clientOf(t *testing.T, net *wechattest.Network, p *wechattest.Platform) *wechat.Client {
	t.Helper()
	cfg := p.Config()
	c, err := wechat.NewClient(net.URL(), cfg.AppID, cfg.AppSecret, wechat.WithMaxRetries(0))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func stableBodyFor(appid, secret string) string {
	b, _ := json.Marshal(map[string]any{"grant_type": "client_credential", "appid": appid, "secret": secret})
	return string(b)
}

// lastCall is the Network's latest record of path.
func lastCall(t *testing.T, net *wechattest.Network, path string) wechattest.NetworkCall {
	t.Helper()
	log := net.CallLog(path)
	if len(log) == 0 {
		t.Fatalf("the network has no call of %s", path)
	}
	return log[len(log)-1]
}

func TestNetworkIssuesTokensOnlyForTheAccountsOwnSecret(t *testing.T) {
	net, ps := startNetwork(t, 2)
	a, b := ps[0].Config(), ps[1].Config()
	const unknownAppID = "wx00000000000000ff"

	endpoints := []struct {
		name string
		send func(appid, secret string) platformAnswer
	}{
		{"token", func(appid, secret string) platformAnswer {
			return callURL(t, net.URL(), http.MethodGet, tokenQuery("client_credential", appid, secret), "")
		}},
		{"stable_token", func(appid, secret string) platformAnswer {
			return callURL(t, net.URL(), http.MethodPost, wechattest.PathStableToken, stableBodyFor(appid, secret))
		}},
	}
	tests := []struct {
		name          string
		appid, secret string
		want          int
		routedTo      string // the AppID of the account that answers, "" for none
	}{
		{"A with its own secret", a.AppID, a.AppSecret, 0, a.AppID},
		{"B with its own secret", b.AppID, b.AppSecret, 0, b.AppID},
		{"B with A's secret is B's wrong secret", b.AppID, a.AppSecret, wechat.CodeInvalidAppSecret, b.AppID},
		{"A with B's secret is A's wrong secret", a.AppID, b.AppSecret, wechat.CodeInvalidAppSecret, a.AppID},
		{"unknown appid", unknownAppID, a.AppSecret, wechat.CodeInvalidAppID, ""},
		{"no appid", "", a.AppSecret, wechat.CodeAppIDMissing, ""},
	}
	for _, ep := range endpoints {
		for _, tt := range tests {
			t.Run(ep.name+"/"+tt.name, func(t *testing.T) {
				got := ep.send(tt.appid, tt.secret)
				wantErrCode(t, got, tt.want)
				path := wechattest.PathToken
				if ep.name == "stable_token" {
					path = wechattest.PathStableToken
				}
				rec := lastCall(t, net, path)
				if rec.AppID != tt.routedTo || rec.ErrCode != tt.want {
					t.Errorf("network logged AppID %q errcode %d, want %q %d", rec.AppID, rec.ErrCode, tt.routedTo, tt.want)
				}
				if tt.want != 0 {
					return
				}
				for _, p := range ps {
					want := wechat.CodeInvalidAccessToken
					if p.Config().AppID == tt.routedTo {
						want = 0
					}
					if s := p.TokenStatus(got.AccessToken); s != want {
						t.Errorf("account %s: the token's status is %d, want %d", p.Config().AppID, s, want)
					}
				}
			})
		}
	}
}

func TestNetworkTokenNotClientNamesTheAccount(t *testing.T) {
	net, ps := startNetwork(t, 2)
	a, b := ps[0], ps[1]
	ctx := context.Background()
	clientA, clientB := clientOf(t, net, a), clientOf(t, net, b)

	tokA, err := clientA.Token(ctx)
	if err != nil {
		t.Fatal(err)
	}
	tokB, err := clientB.StableToken(ctx, false)
	if err != nil {
		t.Fatal(err)
	}
	req := wechat.QRCodeRequest{ActionName: wechat.ActionLimitStrScene, SceneStr: "door-1"}
	codeA, err := clientA.CreateQRCode(ctx, tokA.AccessToken, req)
	if err != nil {
		t.Fatal(err)
	}
	// B's client with A's token still acts on A: the token is the account.
	codeA2, err := clientB.CreateQRCode(ctx, tokA.AccessToken, wechat.QRCodeRequest{ActionName: wechat.ActionLimitStrScene, SceneStr: "door-2"})
	if err != nil {
		t.Fatal(err)
	}
	codeB, err := clientB.CreateQRCode(ctx, tokB.AccessToken, req)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := clientA.CreateTag(ctx, tokA.AccessToken, "riddlers"); err != nil {
		t.Fatal(err)
	}

	for _, tt := range []struct {
		ticket   string
		owner    *wechattest.Platform
		stranger *wechattest.Platform
	}{
		{codeA.Ticket, a, b},
		{codeA2.Ticket, a, b},
		{codeB.Ticket, b, a},
	} {
		if _, ok := tt.owner.Code(tt.ticket); !ok {
			t.Errorf("code %s is not in account %s", tt.ticket, tt.owner.Config().AppID)
		}
		if _, ok := tt.stranger.Code(tt.ticket); ok {
			t.Errorf("code %s is in account %s too", tt.ticket, tt.stranger.Config().AppID)
		}
	}
	if got := len(a.Tags()); got != 2 { // 星标组 and riddlers
		t.Errorf("account A has %d tags, want 2", got)
	}
	if got := len(b.Tags()); got != 1 {
		t.Errorf("account B has %d tags, want only 星标组", got)
	}

	// Each account's log holds only its own tokens: a token of A was never
	// used on B.
	for _, p := range ps {
		own := p.IssuedTokens()
		for _, path := range []string{wechattest.PathQRCodeCreate, wechattest.PathTagsCreate} {
			for _, c := range p.CallLog(path) {
				if tok := c.Query.Get("access_token"); !slices.Contains(own, tok) {
					t.Errorf("account %s got a call of %s with a token it did not issue", p.Config().AppID, path)
				}
			}
		}
	}
	wantRoutes := []string{a.Config().AppID, a.Config().AppID, b.Config().AppID}
	var got []string
	for _, c := range net.CallLog(wechattest.PathQRCodeCreate) {
		got = append(got, c.AppID)
	}
	if !slices.Equal(got, wantRoutes) {
		t.Errorf("qrcode/create calls went to %q, want %q", got, wantRoutes)
	}
}

func TestNetworkShowQRCodeServesTheTicketsAccount(t *testing.T) {
	net, ps := startNetwork(t, 2)
	ctx := context.Background()
	tickets := make([]string, len(ps))
	for i, p := range ps {
		c := clientOf(t, net, p)
		tok, err := c.Token(ctx)
		if err != nil {
			t.Fatal(err)
		}
		code, err := c.CreateQRCode(ctx, tok.AccessToken, wechat.QRCodeRequest{ActionName: wechat.ActionScene, SceneID: 7, ExpireSeconds: 600})
		if err != nil {
			t.Fatal(err)
		}
		tickets[i] = code.Ticket
	}

	tests := []struct {
		name       string
		url        string
		wantStatus int
		routedTo   string
	}{
		{"A's ticket", ps[0].ShowQRCodeURL(tickets[0]), http.StatusOK, ps[0].Config().AppID},
		{"B's ticket", ps[1].ShowQRCodeURL(tickets[1]), http.StatusOK, ps[1].Config().AppID},
		{"B's ticket at A's address is still B's", ps[0].ShowQRCodeURL(tickets[1]), http.StatusOK, ps[1].Config().AppID},
		{"unknown ticket", ps[0].ShowQRCodeURL("gQH47joAAAAAAAAAASxodHRwOi8vd2VpeGluLnFxLmNvbS9xL2tabmw="), http.StatusNotFound, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !strings.HasPrefix(tt.url, net.URL()+wechattest.PathShowQRCode+"?") {
				t.Fatalf("ShowQRCodeURL %s is not on the network %s", tt.url, net.URL())
			}
			resp, err := http.Get(tt.url)
			if err != nil {
				t.Fatal(err)
			}
			body, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != tt.wantStatus {
				t.Fatalf("HTTP %d, want %d", resp.StatusCode, tt.wantStatus)
			}
			if tt.wantStatus == http.StatusOK && !bytes.HasPrefix(body, []byte("\x89PNG\r\n\x1a\n")) {
				t.Errorf("the answer is not a PNG image: %q…", body[:min(len(body), 16)])
			}
			if rec := lastCall(t, net, wechattest.PathShowQRCode); rec.AppID != tt.routedTo {
				t.Errorf("showqrcode went to %q, want %q", rec.AppID, tt.routedTo)
			}
		})
	}
}

func TestNetworkQuotasArePerAccount(t *testing.T) {
	clock := wechattest.NewClock(epoch)
	cfgs := []wechattest.PlatformConfig{accountConfig(1, clock), accountConfig(2, clock)}
	for i := range cfgs {
		cfgs[i].Limits = wechattest.Limits{TokenPerDay: 2, QRCodePerDay: 3}
	}
	net, ps := serveNetwork(t, cfgs...)
	ctx := context.Background()
	a, b := clientOf(t, net, ps[0]), clientOf(t, net, ps[1])

	var tokA wechat.AccessToken
	for range 2 {
		var err error
		if tokA, err = a.Token(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := a.Token(ctx); !wechat.IsQuotaError(err) {
		t.Fatalf("A's third token of the day: %v, want 45009", err)
	}
	req := wechat.QRCodeRequest{ActionName: wechat.ActionScene, SceneID: 1, ExpireSeconds: 60}
	for range 3 {
		if _, err := a.CreateQRCode(ctx, tokA.AccessToken, req); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := a.CreateQRCode(ctx, tokA.AccessToken, req); !wechat.IsQuotaError(err) {
		t.Fatalf("A's fourth code of the day: %v, want 45009", err)
	}

	// B's day is untouched by A's.
	var tokB wechat.AccessToken
	for range 2 {
		var err error
		if tokB, err = b.Token(ctx); err != nil {
			t.Fatalf("B's token after A used its quota: %v", err)
		}
	}
	for range 3 {
		if _, err := b.CreateQRCode(ctx, tokB.AccessToken, req); err != nil {
			t.Fatalf("B's code after A used its quota: %v", err)
		}
	}
	if got := len(ps[1].Codes()); got != 3 {
		t.Errorf("B has %d codes, want 3", got)
	}
}

func TestNetworkAnswersCallsOfNoAccountAsAPlatformWould(t *testing.T) {
	net, ps := startNetwork(t, 2)
	ctx := context.Background()
	if _, err := clientOf(t, net, ps[0]).Token(ctx); err != nil {
		t.Fatal(err)
	}
	// A lone Platform to compare with: nothing below is its own either.
	lone, _ := startPlatform(t, wechattest.PlatformConfig{})
	const unknownToken = "88_notATokenAnyAccountIssued"

	tests := []struct {
		name         string
		method, path string
		body         string
		wantStatus   int
		wantErrCode  int
	}{
		{"token for an unknown appid", http.MethodGet, tokenQuery("client_credential", "wx00000000000000ff", wechattest.DefaultAppSecret), "", 200, wechat.CodeInvalidAppID},
		{"token without an appid", http.MethodGet, tokenQuery("client_credential", "-", wechattest.DefaultAppSecret), "", 200, wechat.CodeAppIDMissing},
		{"token with a bad grant_type", http.MethodGet, tokenQuery("password", "wx00000000000000ff", "x"), "", 200, wechat.CodeInvalidGrantType},
		{"stable_token for an unknown appid", http.MethodPost, wechattest.PathStableToken, stableBodyFor("wx00000000000000ff", "x"), 200, wechat.CodeInvalidAppID},
		{"stable_token with a body that is not JSON", http.MethodPost, wechattest.PathStableToken, "appid=" + ps[0].Config().AppID, 200, wechat.CodeDataFormat},
		{"stable_token by GET", http.MethodGet, wechattest.PathStableToken, "", 200, wechat.CodeRequirePOST},
		{"qrcode/create with an unknown token", http.MethodPost, wechattest.PathQRCodeCreate + "?access_token=" + unknownToken, `{"action_name":"QR_LIMIT_SCENE","action_info":{"scene":{"scene_id":1}}}`, 200, wechat.CodeInvalidAccessToken},
		{"qrcode/create without a token", http.MethodPost, wechattest.PathQRCodeCreate, `{}`, 200, wechat.CodeAccessTokenMissing},
		{"tags/get with an unknown token", http.MethodGet, wechattest.PathTagsGet + "?access_token=" + unknownToken, "", 200, wechat.CodeInvalidAccessToken},
		{"custom/send with an unknown token", http.MethodPost, wechattest.PathCustomSend + "?access_token=" + unknownToken, `{}`, 200, wechat.CodeInvalidAccessToken},
		{"showqrcode of an unknown ticket", http.MethodGet, wechattest.PathShowQRCode + "?ticket=gQH47joAAAAAAAAAAQ%3D%3D", "", 404, 0},
		{"showqrcode without a ticket", http.MethodGet, wechattest.PathShowQRCode, "", 404, 0},
		{"an unknown path", http.MethodGet, "/cgi-bin/menu/get?access_token=" + unknownToken, "", 404, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path, _, _ := strings.Cut(tt.path, "?")
			before := make([]int, len(ps))
			for i, p := range ps {
				before[i] = p.Calls(path)
			}
			got := callURL(t, net.URL(), tt.method, tt.path, tt.body)
			want := call(t, lone, tt.method, tt.path, tt.body)
			if got.status != tt.wantStatus || got.ErrCode != tt.wantErrCode {
				t.Errorf("network: HTTP %d %s, want HTTP %d errcode %d", got.status, got.raw, tt.wantStatus, tt.wantErrCode)
			}
			if got.status != want.status || got.ErrCode != want.ErrCode {
				t.Errorf("network: HTTP %d errcode %d; a lone Platform: HTTP %d errcode %d", got.status, got.ErrCode, want.status, want.ErrCode)
			}
			if rec := lastCall(t, net, path); rec.AppID != "" || rec.Status != tt.wantStatus || rec.ErrCode != tt.wantErrCode {
				t.Errorf("network logged AppID %q HTTP %d errcode %d, want no account, %d %d", rec.AppID, rec.Status, rec.ErrCode, tt.wantStatus, tt.wantErrCode)
			}
			for i, p := range ps {
				if n := p.Calls(path); n != before[i] {
					t.Errorf("account %s saw the call", p.Config().AppID)
				}
			}
		})
	}
}

func TestNetworkAddRefusesADuplicateAppID(t *testing.T) {
	clock := wechattest.NewClock(epoch)
	tests := []struct {
		name        string
		first, dupe wechattest.PlatformConfig
	}{
		{"same AppID, another secret", accountConfig(1, clock), func() wechattest.PlatformConfig {
			c := accountConfig(1, clock)
			c.AppSecret = strings.Repeat("0", 32)
			return c
		}()},
		{"empty AppIDs both take the default", wechattest.PlatformConfig{}, wechattest.PlatformConfig{Token: "another"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			net := wechattest.NewNetwork()
			defer net.Close()
			first, err := net.Add(tt.first)
			if err != nil {
				t.Fatal(err)
			}
			appID := first.Config().AppID
			p, err := net.Add(tt.dupe)
			if !errors.Is(err, wechattest.ErrDuplicateAppID) || p != nil {
				t.Fatalf("second Add: %v, %v; want nil and ErrDuplicateAppID", p, err)
			}
			if !strings.Contains(err.Error(), appID) {
				t.Errorf("error %q does not name the AppID %s", err, appID)
			}
			if net.Platform(appID) != first {
				t.Error("the duplicate replaced the first account")
			}
			if got := net.AppIDs(); !slices.Equal(got, []string{appID}) {
				t.Errorf("AppIDs() = %q, want [%s]", got, appID)
			}

			// NewNetwork keeps the first of two configs with one AppID.
			n2 := wechattest.NewNetwork(tt.first, tt.dupe)
			defer n2.Close()
			if got := n2.Platform(appID).Config(); got.AppSecret != first.Config().AppSecret || got.Token != first.Config().Token {
				t.Errorf("NewNetwork kept %+v, want the first config", got)
			}
		})
	}
}

func TestNetworkRemoveMakesTheAccountUnknown(t *testing.T) {
	net, ps := startNetwork(t, 2)
	a, b := ps[0], ps[1]
	ctx := context.Background()
	tokA, err := clientOf(t, net, a).Token(ctx)
	if err != nil {
		t.Fatal(err)
	}
	cfgA := a.Config()

	net.Remove(cfgA.AppID)
	net.Remove("wx00000000000000ff") // unknown: nothing happens

	if net.Platform(cfgA.AppID) != nil {
		t.Error("Platform still returns the removed account")
	}
	if got := net.AppIDs(); !slices.Equal(got, []string{b.Config().AppID}) {
		t.Errorf("AppIDs() = %q, want only B", got)
	}
	_, err = clientOf(t, net, a).Token(ctx)
	if code, _ := wechat.ErrCode(err); code != wechat.CodeInvalidAppID {
		t.Errorf("token for the removed appid: %v, want 40013", err)
	}
	create := func(tok string) platformAnswer {
		return callURL(t, net.URL(), http.MethodPost, wechattest.PathQRCodeCreate+"?access_token="+url.QueryEscape(tok),
			`{"action_name":"QR_LIMIT_SCENE","action_info":{"scene":{"scene_id":1}}}`)
	}
	wantErrCode(t, create(tokA.AccessToken), wechat.CodeInvalidAccessToken)
	if rec := lastCall(t, net, wechattest.PathQRCodeCreate); rec.AppID != "" {
		t.Errorf("the removed account's token went to %q", rec.AppID)
	}
	if a.Calls(wechattest.PathQRCodeCreate) != 0 {
		t.Error("the removed account still got a call")
	}
	if _, err := clientOf(t, net, b).Token(ctx); err != nil {
		t.Errorf("B after A's removal: %v", err)
	}

	// Added again, the AppID is a new account: the old token is not its own.
	if _, err := net.Add(cfgA); err != nil {
		t.Fatal(err)
	}
	wantErrCode(t, create(tokA.AccessToken), wechat.CodeInvalidAccessToken)
	if _, err := clientOf(t, net, net.Platform(cfgA.AppID)).Token(ctx); err != nil {
		t.Errorf("token of the re-added account: %v", err)
	}
}

func TestNetworkAccountsServeAtTheNetworkURL(t *testing.T) {
	clock := wechattest.NewClock(epoch)
	cfg := accountConfig(1, clock)
	cfg.BaseURL = "http://elsewhere.example"
	net := wechattest.NewNetwork(cfg)
	defer net.Close()
	before := net.Platform(cfg.AppID)
	srv := net.Start()
	after, err := net.Add(accountConfig(2, clock))
	if err != nil {
		t.Fatal(err)
	}
	if net.URL() != srv.URL {
		t.Errorf("URL() = %s, want the server's %s", net.URL(), srv.URL)
	}
	if again := net.Start(); again != srv {
		t.Error("a second Start made another server")
	}
	for name, p := range map[string]*wechattest.Platform{"added before Start": before, "added after Start": after} {
		if p.URL() != srv.URL {
			t.Errorf("account %s: URL() = %s, want the network's %s", name, p.URL(), srv.URL)
		}
	}
}

func TestNetworkAccountsPushWithTheirOwnCredentials(t *testing.T) {
	net, ps := startNetwork(t, 2)
	ctx := context.Background()
	a, b := ps[0], ps[1]
	tok, err := clientOf(t, net, a).Token(ctx)
	if err != nil {
		t.Fatal(err)
	}
	code, err := clientOf(t, net, a).CreateQRCode(ctx, tok.AccessToken, wechat.QRCodeRequest{ActionName: wechat.ActionLimitScene, SceneID: 3})
	if err != nil {
		t.Fatal(err)
	}
	// A's callback accepts only pushes signed with A's Token.
	callback := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		if wechat.VerifySignature(a.Config().Token, q.Get("timestamp"), q.Get("nonce"), q.Get("signature")) != nil {
			http.Error(w, "forbidden", http.StatusForbidden)
			return
		}
		io.WriteString(w, "success")
	}))
	defer callback.Close()

	push, err := a.Scan(ctx, callback.URL, "oUser1", code.Ticket, wechattest.Plaintext)
	if err != nil || push.Status() != http.StatusOK {
		t.Errorf("A's scan of its code: HTTP %d, %v; want 200", push.Status(), err)
	}
	if _, err := b.Scan(ctx, callback.URL, "oUser1", code.Ticket, wechattest.Plaintext); !errors.Is(err, wechattest.ErrUnknownTicket) {
		t.Errorf("B's scan of A's code: %v, want ErrUnknownTicket", err)
	}
	if push, _ := b.Subscribe(ctx, callback.URL, "oUser2", wechattest.Plaintext); push.Status() != http.StatusForbidden {
		t.Errorf("B's push at A's callback: HTTP %d, want 403 (signed with B's Token)", push.Status())
	}
	if !a.Following("oUser1") || b.Following("oUser1") {
		t.Error("the scan's follow landed in the wrong account")
	}
}

func TestNetworkKeepsAccountsApartUnderConcurrentUse(t *testing.T) {
	const accounts, workers, rounds = 6, 4, 5
	net, ps := startNetwork(t, accounts)
	ctx := context.Background()

	var wg sync.WaitGroup
	errs := make(chan error, accounts*workers*rounds+1)
	for _, p := range ps {
		client := clientOf(t, net, p)
		for w := range workers {
			wg.Go(func() {
				for r := range rounds {
					// Stable tokens: concurrent classic fetches retire each
					// other's tokens, which is not what this test is about.
					tok, err := client.StableToken(ctx, false)
					if err == nil {
						_, err = client.CreateQRCode(ctx, tok.AccessToken, wechat.QRCodeRequest{
							ActionName: wechat.ActionStrScene, SceneStr: fmt.Sprintf("w%d-r%d", w, r), ExpireSeconds: 60,
						})
					}
					if err == nil {
						_, err = client.Tags(ctx, tok.AccessToken)
					}
					if err != nil {
						errs <- fmt.Errorf("account %s: %w", client.AppID(), err)
						return
					}
				}
			})
		}
	}
	// Meanwhile an account comes and goes, and the records are read.
	wg.Go(func() {
		extra := accountConfig(accounts+1, wechattest.NewClock(epoch))
		for range rounds {
			if _, err := net.Add(extra); err != nil {
				errs <- err
				return
			}
			net.AppIDs()
			net.CallLog(wechattest.PathQRCodeCreate)
			net.Remove(extra.AppID)
		}
	})
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}

	for _, p := range ps {
		if got := len(p.Codes()); got != workers*rounds {
			t.Errorf("account %s has %d codes, want %d", p.Config().AppID, got, workers*rounds)
		}
		own := p.IssuedTokens()
		for _, c := range p.CallLog(wechattest.PathQRCodeCreate) {
			if !slices.Contains(own, c.Query.Get("access_token")) {
				t.Errorf("account %s got a call with a token it did not issue", p.Config().AppID)
			}
		}
	}
	log := net.CallLog(wechattest.PathQRCodeCreate)
	if len(log) != accounts*workers*rounds {
		t.Errorf("the network logged %d qrcode/create calls, want %d", len(log), accounts*workers*rounds)
	}
	for _, c := range log {
		p := net.Platform(c.AppID)
		if p == nil || p.TokenStatus(c.Query.Get("access_token")) != 0 {
			t.Errorf("a call went to %q, which did not issue its token", c.AppID)
		}
	}
}

// Two accounts behind one base URL: each client gets its own account's
// token, and each token acts on its own account only.
func ExampleNetwork() {
	net := wechattest.NewNetwork(
		wechattest.PlatformConfig{AppID: "wx0000000000000001", AppSecret: "00000000000000000000000000000001"},
		wechattest.PlatformConfig{AppID: "wx0000000000000002", AppSecret: "00000000000000000000000000000002"},
	)
	net.Start()
	defer net.Close()
	ctx := context.Background()

	for _, appID := range net.AppIDs() {
		client, err := wechat.NewClient(net.URL(), appID, net.Platform(appID).Config().AppSecret)
		if err != nil {
			fmt.Println(err)
			return
		}
		tok, err := client.Token(ctx)
		if err != nil {
			fmt.Println(err)
			return
		}
		if _, err := client.CreateQRCode(ctx, tok.AccessToken, wechat.QRCodeRequest{ActionName: wechat.ActionLimitScene, SceneID: 1}); err != nil {
			fmt.Println(err)
			return
		}
	}
	// A token no account issued is refused, as by a single account.
	stranger, _ := wechat.NewClient(net.URL(), "", "")
	_, err := stranger.CreateQRCode(ctx, "88_forged", wechat.QRCodeRequest{ActionName: wechat.ActionLimitScene, SceneID: 1})
	code, _ := wechat.ErrCode(err)
	fmt.Println("forged token:", code)

	for _, c := range net.CallLog(wechattest.PathQRCodeCreate) {
		fmt.Printf("%q errcode %d\n", c.AppID, c.ErrCode)
	}
	fmt.Println(len(net.Platform("wx0000000000000001").Codes()), len(net.Platform("wx0000000000000002").Codes()))
	// Output:
	// forged token: 40014
	// "wx0000000000000001" errcode 0
	// "wx0000000000000002" errcode 0
	// "" errcode 40014
	// 1 1
}

func TestNetworkCloseReleasesRequestsHeldByAnAccountsHang(t *testing.T) {
	clock := wechattest.NewClock(epoch)
	net := wechattest.NewNetwork(accountConfig(1, clock))
	net.Start()
	p := net.Platform(accountConfig(1, clock).AppID)
	p.FailNext(wechattest.PathToken, 1, wechattest.HangFault(0))

	client := clientOf(t, net, p)
	done := make(chan error, 1)
	go func() {
		_, err := client.Token(context.Background())
		done <- err
	}()
	for p.Calls(wechattest.PathToken) == 0 || net.Calls(wechattest.PathToken) == 0 {
		time.Sleep(time.Millisecond) // until the request is held
	}
	closed := make(chan struct{})
	go func() {
		net.Close()
		close(closed)
	}()
	select {
	case <-closed:
	case <-time.After(5 * time.Second):
		t.Fatal("Close did not return while a request was held")
	}
	if err := <-done; err == nil {
		t.Error("the held token call succeeded; want the connection dropped")
	}
}
