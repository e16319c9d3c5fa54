package wechat_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"wechatqr/shared/wechat"
	"wechatqr/shared/wechat/wechattest"
)

// apiSleeps records the client's waits between attempts instead of
// sleeping, so that retry tests run in microseconds.
type apiSleeps struct {
	mu sync.Mutex
	d  []time.Duration
}

func (s *apiSleeps) sleep(ctx context.Context, d time.Duration) error {
	s.mu.Lock()
	s.d = append(s.d, d)
	s.mu.Unlock()
	return ctx.Err()
}

func (s *apiSleeps) got() []time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]time.Duration(nil), s.d...)
}

// apiSetup starts an emulated platform and a client of it, as go-github's
// setup does: the platform is mounted under a path prefix, so a client
// that built URLs from anything but its base URL would miss it.
func apiSetup(t *testing.T, cfg wechattest.PlatformConfig, opts ...wechat.ClientOption) (*wechattest.Platform, *wechat.Client, *apiSleeps) {
	t.Helper()
	p := wechattest.NewPlatform(cfg)
	mux := http.NewServeMux()
	mux.Handle("/api/", http.StripPrefix("/api", p))
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		t.Errorf("request outside the base URL: %s %s", r.Method, r.URL.Path)
		http.NotFound(w, r)
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	t.Cleanup(p.Close) // runs first: releases hung requests before srv.Close waits for them
	p.SetBaseURL(srv.URL + "/api")

	sleeps := &apiSleeps{}
	cfg = p.Config()
	opts = append([]wechat.ClientOption{wechat.WithSleep(sleeps.sleep)}, opts...)
	c, err := wechat.NewClient(srv.URL+"/api/", cfg.AppID, cfg.AppSecret, opts...)
	if err != nil {
		t.Fatalf("NewClient: %v", err)
	}
	return p, c, sleeps
}

// apiToken gets a valid access token from the platform through c.
func apiToken(t *testing.T, c *wechat.Client) string {
	t.Helper()
	tok, err := c.Token(context.Background())
	if err != nil {
		t.Fatalf("Token: %v", err)
	}
	return tok.AccessToken
}

func TestTokenFetchesANewValidToken(t *testing.T) {
	p, c, _ := apiSetup(t, wechattest.PlatformConfig{})
	first, err := c.Token(context.Background())
	if err != nil {
		t.Fatalf("Token: %v", err)
	}
	if first.ExpiresIn != 7200 || len(first.AccessToken) < 100 {
		t.Errorf("got %d chars expiring in %d, want a long token for 7200 s", len(first.AccessToken), first.ExpiresIn)
	}
	if code := p.TokenStatus(first.AccessToken); code != 0 {
		t.Errorf("platform says errcode %d for the token it issued", code)
	}
	second := apiToken(t, c)
	if second == first.AccessToken {
		t.Error("a second call returned the same classic token; every call issues a new one")
	}

	log := p.CallLog(wechattest.PathToken)
	if len(log) != 2 {
		t.Fatalf("%d calls to %s, want 2", len(log), wechattest.PathToken)
	}
	want := "grant_type=client_credential&appid=" + wechattest.DefaultAppID + "&secret=" + wechattest.DefaultAppSecret
	if log[0].Method != http.MethodGet || log[0].RawQuery != want || len(log[0].Body) != 0 {
		t.Errorf("sent %s ?%s with %d body bytes, want GET ?%s", log[0].Method, log[0].RawQuery, len(log[0].Body), want)
	}
}

func TestStableTokenSendsJSONAndIsStable(t *testing.T) {
	p, c, _ := apiSetup(t, wechattest.PlatformConfig{})
	ctx := context.Background()
	a, err := c.StableToken(ctx, false)
	if err != nil {
		t.Fatalf("StableToken: %v", err)
	}
	b, err := c.StableToken(ctx, false)
	if err != nil {
		t.Fatalf("StableToken: %v", err)
	}
	if a.AccessToken != b.AccessToken {
		t.Error("normal mode returned a new token while the current one had hours left")
	}
	forced, err := c.StableToken(ctx, true)
	if err != nil {
		t.Fatalf("StableToken(force): %v", err)
	}
	if forced.AccessToken == a.AccessToken {
		t.Error("force_refresh returned the old token")
	}
	if code := p.TokenStatus(a.AccessToken); code != wechat.CodeInvalidCredential {
		t.Errorf("old stable token after a forced refresh: errcode %d, want 40001", code)
	}

	log := p.CallLog(wechattest.PathStableToken)
	if len(log) != 3 {
		t.Fatalf("%d calls, want 3", len(log))
	}
	cfg := p.Config()
	for i, force := range []string{"false", "false", "true"} {
		want := `{"grant_type":"client_credential","appid":"` + cfg.AppID + `","secret":"` + cfg.AppSecret + `","force_refresh":` + force + `}`
		if log[i].Method != http.MethodPost || string(log[i].Body) != want || log[i].RawQuery != "" {
			t.Errorf("call %d: %s ?%q body %s\nwant POST with body %s", i, log[i].Method, log[i].RawQuery, log[i].Body, want)
		}
	}
}

func TestTokenAndSecretlessClient(t *testing.T) {
	c, err := wechat.NewClient("", "", "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Token(context.Background()); !errors.Is(err, wechat.ErrInvalidRequest) {
		t.Errorf("Token without credentials: %v, want ErrInvalidRequest", err)
	}
	if _, err := c.StableToken(context.Background(), false); !errors.Is(err, wechat.ErrInvalidRequest) {
		t.Errorf("StableToken without credentials: %v, want ErrInvalidRequest", err)
	}
}

// The platform's own answers to wrong credentials and spent quotas reach
// the caller as typed errors, after a single call.
func TestPlatformErrorsAreTypedAndNotRetried(t *testing.T) {
	tests := []struct {
		name   string
		cfg    wechattest.PlatformConfig
		appID  string
		secret string
		call   func(*wechat.Client) error
		path   string
		code   int
	}{
		{"wrong appid", wechattest.PlatformConfig{}, "wx0000000000000000", wechattest.DefaultAppSecret,
			func(c *wechat.Client) error { _, err := c.Token(context.Background()); return err }, wechattest.PathToken, 40013},
		{"wrong secret", wechattest.PlatformConfig{}, wechattest.DefaultAppID, "not-the-secret",
			func(c *wechat.Client) error { _, err := c.Token(context.Background()); return err }, wechattest.PathToken, 40125},
		{"wrong secret, stable", wechattest.PlatformConfig{}, wechattest.DefaultAppID, "not-the-secret",
			func(c *wechat.Client) error { _, err := c.StableToken(context.Background(), false); return err }, wechattest.PathStableToken, 40125},
		{"unknown token", wechattest.PlatformConfig{}, wechattest.DefaultAppID, wechattest.DefaultAppSecret,
			func(c *wechat.Client) error {
				_, err := c.CreateQRCode(context.Background(), "88_not-issued", wechat.QRCodeRequest{ExpireSeconds: 60, ActionName: wechat.ActionScene, SceneID: 7})
				return err
			}, wechattest.PathQRCodeCreate, 40014},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := wechattest.NewPlatform(tt.cfg)
			srv := httptest.NewServer(p)
			defer srv.Close()
			c, err := wechat.NewClient(srv.URL, tt.appID, tt.secret, wechat.WithSleep(func(context.Context, time.Duration) error { return nil }))
			if err != nil {
				t.Fatal(err)
			}
			err = tt.call(c)
			var apiErr *wechat.APIError
			if !errors.As(err, &apiErr) || apiErr.Code != tt.code {
				t.Fatalf("err = %v, want *APIError %d", err, tt.code)
			}
			if n := p.Calls(tt.path); n != 1 {
				t.Errorf("%d calls, want 1 (not retried)", n)
			}
		})
	}
}

func TestDailyTokenQuotaIsReportedAndNotRetried(t *testing.T) {
	p, c, _ := apiSetup(t, wechattest.PlatformConfig{Limits: wechattest.Limits{TokenPerDay: 2}})
	apiToken(t, c)
	apiToken(t, c)
	_, err := c.Token(context.Background())
	if !wechat.IsQuotaError(err) {
		t.Fatalf("third token of a 2-a-day account: %v, want a quota error", err)
	}
	if code, _ := wechat.ErrCode(err); code != wechat.CodeDailyQuota {
		t.Errorf("errcode %d, want 45009", code)
	}
	if n := p.Calls(wechattest.PathToken); n != 3 {
		t.Errorf("%d calls, want 3", n)
	}
}

func TestInjectedErrcodes(t *testing.T) {
	qr := wechat.QRCodeRequest{ExpireSeconds: 60, ActionName: wechat.ActionScene, SceneID: 9}
	tests := []struct {
		name      string
		path      string
		faults    int
		code      int
		wantCalls int
		wantErr   bool
		is        func(error) bool
	}{
		{"busy twice then success", wechattest.PathQRCodeCreate, 2, -1, 3, false, nil},
		{"busy on every attempt", wechattest.PathQRCodeCreate, 5, -1, 3, true, wechat.IsBusy},
		{"busy twice then success, token", wechattest.PathToken, 2, -1, 3, false, nil},
		{"busy twice then success, stable token", wechattest.PathStableToken, 2, -1, 3, false, nil},
		{"invalid appid", wechattest.PathToken, 1, 40013, 1, true, nil},
		{"invalid appsecret", wechattest.PathStableToken, 1, 40125, 1, true, nil},
		{"daily quota", wechattest.PathQRCodeCreate, 1, 45009, 1, true, wechat.IsQuotaError},
		{"minute quota", wechattest.PathQRCodeCreate, 1, 45011, 1, true, wechat.IsQuotaError},
		{"permanent cap", wechattest.PathQRCodeCreate, 1, 45029, 1, true, wechat.IsQuotaError},
		{"invalid credential", wechattest.PathQRCodeCreate, 1, 40001, 1, true, wechat.IsTokenError},
		{"invalid access_token", wechattest.PathQRCodeCreate, 1, 40014, 1, true, wechat.IsTokenError},
		{"expired token", wechattest.PathQRCodeCreate, 1, 42001, 1, true, wechat.IsTokenError},
		{"missing token", wechattest.PathQRCodeCreate, 1, 41001, 1, true, wechat.IsTokenError},
		{"ip not whitelisted", wechattest.PathToken, 1, 40164, 1, true, wechat.IsIPNotWhitelisted},
		{"client ip not registered", wechattest.PathStableToken, 1, 61004, 1, true, wechat.IsIPNotWhitelisted},
		{"unauthorized", wechattest.PathQRCodeCreate, 1, 48001, 1, true, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, c, sleeps := apiSetup(t, wechattest.PlatformConfig{})
			tok := apiToken(t, c)
			p.Reset()
			p.FailNext(tt.path, tt.faults, wechattest.ErrCodeFault(tt.code))
			var err error
			switch tt.path {
			case wechattest.PathToken:
				_, err = c.Token(context.Background())
			case wechattest.PathStableToken:
				_, err = c.StableToken(context.Background(), false)
			default:
				_, err = c.CreateQRCode(context.Background(), tok, qr)
			}
			if n := p.Calls(tt.path); n != tt.wantCalls {
				t.Errorf("%d calls, want %d", n, tt.wantCalls)
			}
			if n := len(sleeps.got()); n != tt.wantCalls-1 {
				t.Errorf("%d waits between %d calls", n, tt.wantCalls)
			}
			if !tt.wantErr {
				if err != nil {
					t.Fatalf("err = %v, want success after the retries", err)
				}
				return
			}
			var apiErr *wechat.APIError
			if !errors.As(err, &apiErr) || apiErr.Code != tt.code {
				t.Fatalf("err = %v, want *APIError %d", err, tt.code)
			}
			if want := fmt.Sprintf("wechat: errcode %d: ", tt.code); !strings.HasPrefix(err.Error(), want) {
				t.Errorf("message %q, want it to start %q", err, want)
			}
			if tt.is != nil && !tt.is(err) {
				t.Errorf("the helper for errcode %d does not recognise it", tt.code)
			}
		})
	}
}

func TestHTTPFailures(t *testing.T) {
	qr := wechat.QRCodeRequest{ActionName: wechat.ActionLimitScene, SceneID: 3}
	tests := []struct {
		name      string
		path      string
		faults    []wechattest.Fault
		wantCalls int
		wantErr   error // nil: success
		status    int   // for *HTTPError
	}{
		{"5xx twice then success", wechattest.PathQRCodeCreate,
			[]wechattest.Fault{wechattest.StatusFault(502), wechattest.StatusFault(503)}, 3, nil, 0},
		{"5xx beyond the bound", wechattest.PathQRCodeCreate,
			[]wechattest.Fault{wechattest.StatusFault(500), wechattest.StatusFault(502), wechattest.StatusFault(503), wechattest.StatusFault(504)}, 3, &wechat.HTTPError{}, 503},
		{"5xx on stable token retried", wechattest.PathStableToken,
			[]wechattest.Fault{wechattest.StatusFault(502)}, 2, nil, 0},
		{"5xx on token not retried", wechattest.PathToken,
			[]wechattest.Fault{wechattest.StatusFault(502)}, 1, &wechat.HTTPError{}, 502},
		{"4xx not retried", wechattest.PathQRCodeCreate,
			[]wechattest.Fault{wechattest.StatusFault(404)}, 1, &wechat.HTTPError{}, 404},
		{"200 with HTML", wechattest.PathQRCodeCreate,
			[]wechattest.Fault{{Status: 200, Body: []byte("<html>maintenance</html>")}}, 1, wechat.ErrInvalidResponse, 0},
		{"200 with JSON lacking fields", wechattest.PathQRCodeCreate,
			[]wechattest.Fault{{Status: 200, Body: []byte(`{"errcode":0,"errmsg":"ok"}`), ContentType: "application/json"}}, 1, wechat.ErrInvalidResponse, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, c, _ := apiSetup(t, wechattest.PlatformConfig{})
			tok := apiToken(t, c)
			p.Reset()
			for _, f := range tt.faults {
				p.FailNext(tt.path, 1, f)
			}
			var err error
			switch tt.path {
			case wechattest.PathToken:
				_, err = c.Token(context.Background())
			case wechattest.PathStableToken:
				_, err = c.StableToken(context.Background(), false)
			default:
				_, err = c.CreateQRCode(context.Background(), tok, qr)
			}
			if n := p.Calls(tt.path); n != tt.wantCalls {
				t.Errorf("%d calls, want %d", n, tt.wantCalls)
			}
			switch want := tt.wantErr.(type) {
			case nil:
				if err != nil {
					t.Fatalf("err = %v, want success", err)
				}
			case *wechat.HTTPError:
				var he *wechat.HTTPError
				if !errors.As(err, &he) || he.StatusCode != tt.status {
					t.Fatalf("err = %v, want *HTTPError %d", err, tt.status)
				}
				if strings.Contains(err.Error(), "?") {
					t.Errorf("HTTPError message %q shows a query", err)
				}
				var apiErr *wechat.APIError
				if errors.As(err, &apiErr) {
					t.Error("an HTTP failure is not an *APIError")
				}
			default:
				if !errors.Is(err, want) {
					t.Fatalf("err = %v, want %v", err, want)
				}
			}
		})
	}
}

func TestHungAttemptIsCutAndRetried(t *testing.T) {
	p, c, sleeps := apiSetup(t, wechattest.PlatformConfig{}, wechat.WithAttemptTimeout(50*time.Millisecond))
	tok := apiToken(t, c)
	p.Reset()
	p.FailNext(wechattest.PathQRCodeCreate, 1, wechattest.HangFault(0))
	start := time.Now()
	code, err := c.CreateQRCode(context.Background(), tok, wechat.QRCodeRequest{ExpireSeconds: 60, ActionName: wechat.ActionScene, SceneID: 5})
	if err != nil {
		t.Fatalf("CreateQRCode: %v", err)
	}
	if el := time.Since(start); el > 2*time.Second {
		t.Errorf("took %v; the hung attempt should have been cut after 50ms", el)
	}
	if n := p.Calls(wechattest.PathQRCodeCreate); n != 2 || len(sleeps.got()) != 1 {
		t.Errorf("%d calls and %d waits, want 2 and 1", n, len(sleeps.got()))
	}
	if _, ok := p.Code(code.Ticket); !ok {
		t.Error("the platform does not know the ticket returned")
	}
}

func TestHungTokenCallIsNotRetried(t *testing.T) {
	p, c, _ := apiSetup(t, wechattest.PlatformConfig{}, wechat.WithAttemptTimeout(50*time.Millisecond))
	p.FailNext(wechattest.PathToken, 1, wechattest.HangFault(0))
	_, err := c.Token(context.Background())
	if err == nil {
		t.Fatal("Token succeeded through a hang")
	}
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("err = %v, want a deadline", err)
	}
	var timeout interface{ Timeout() bool }
	if !errors.As(err, &timeout) || !timeout.Timeout() {
		t.Errorf("err = %v does not report a timeout", err)
	}
	if n := p.Calls(wechattest.PathToken); n != 1 {
		t.Errorf("%d calls, want 1: a timed-out token call may have issued a token", n)
	}
}

func TestCallerDeadlineStopsEverything(t *testing.T) {
	p, c, sleeps := apiSetup(t, wechattest.PlatformConfig{}, wechat.WithAttemptTimeout(0))
	tok := apiToken(t, c)
	p.Reset()
	p.FailNext(wechattest.PathQRCodeCreate, 5, wechattest.HangFault(0))
	ctx, cancel := context.WithTimeout(context.Background(), 80*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := c.CreateQRCode(ctx, tok, wechat.QRCodeRequest{ExpireSeconds: 60, ActionName: wechat.ActionScene, SceneID: 5})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want context.DeadlineExceeded", err)
	}
	if el := time.Since(start); el > 2*time.Second {
		t.Errorf("returned after %v, want about 80ms", el)
	}
	if n := p.Calls(wechattest.PathQRCodeCreate); n != 1 || len(sleeps.got()) != 0 {
		t.Errorf("%d calls and %d waits after the deadline, want 1 and 0", n, len(sleeps.got()))
	}
}

func TestCancelDuringBackoffStopsRetrying(t *testing.T) {
	p, c, _ := apiSetup(t, wechattest.PlatformConfig{})
	tok := apiToken(t, c)
	p.Reset()
	p.FailNext(wechattest.PathQRCodeCreate, 3, wechattest.ErrCodeFault(-1))
	ctx, cancel := context.WithCancel(context.Background())
	c2, err := wechat.NewClient(p.URL(), "", "", wechat.WithSleep(func(ctx context.Context, _ time.Duration) error {
		cancel() // the caller gives up while the client waits
		return ctx.Err()
	}))
	if err != nil {
		t.Fatal(err)
	}
	_, err = c2.CreateQRCode(ctx, tok, wechat.QRCodeRequest{ExpireSeconds: 60, ActionName: wechat.ActionScene, SceneID: 5})
	if !wechat.IsBusy(err) || !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want the -1 and context.Canceled", err)
	}
	if n := p.Calls(wechattest.PathQRCodeCreate); n != 1 {
		t.Errorf("%d calls, want 1", n)
	}
}

func TestBackoffGrowsWithJitterUpToTheCap(t *testing.T) {
	p, c, sleeps := apiSetup(t, wechattest.PlatformConfig{},
		wechat.WithMaxRetries(5), wechat.WithBackoff(100*time.Millisecond, 500*time.Millisecond))
	tok := apiToken(t, c)
	p.Reset()
	p.FailNext(wechattest.PathQRCodeCreate, 6, wechattest.ErrCodeFault(-1))
	_, err := c.CreateQRCode(context.Background(), tok, wechat.QRCodeRequest{ExpireSeconds: 60, ActionName: wechat.ActionScene, SceneID: 5})
	if !wechat.IsBusy(err) {
		t.Fatalf("err = %v, want -1 after the retries", err)
	}
	caps := []time.Duration{100, 200, 400, 500, 500}
	got := sleeps.got()
	if len(got) != len(caps) {
		t.Fatalf("waits %v, want %d", got, len(caps))
	}
	for i, d := range got {
		hi := caps[i] * time.Millisecond
		if d < hi/2 || d > hi {
			t.Errorf("wait %d = %v, want in [%v, %v]", i, d, hi/2, hi)
		}
	}
}

func TestMaxRetriesZeroMakesOneAttempt(t *testing.T) {
	p, c, _ := apiSetup(t, wechattest.PlatformConfig{}, wechat.WithMaxRetries(0))
	p.FailNext(wechattest.PathStableToken, 1, wechattest.ErrCodeFault(-1))
	if _, err := c.StableToken(context.Background(), false); !wechat.IsBusy(err) {
		t.Errorf("err = %v, want -1", err)
	}
	if n := p.Calls(wechattest.PathStableToken); n != 1 {
		t.Errorf("%d calls, want 1", n)
	}
}

func TestConnectionRefusedIsRetriedEvenForToken(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	base := srv.URL
	srv.Close() // nothing listens there any more
	var waits int
	c, err := wechat.NewClient(base, wechattest.DefaultAppID, wechattest.DefaultAppSecret,
		wechat.WithSleep(func(context.Context, time.Duration) error { waits++; return nil }))
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Token(context.Background())
	if err == nil {
		t.Fatal("Token reached a closed server")
	}
	if waits != wechat.DefaultMaxRetries {
		t.Errorf("%d waits, want %d: a refused connection proves nothing was issued", waits, wechat.DefaultMaxRetries)
	}
}

// Whatever fails, the secret and the access token stay out of the error
// text, including the URL net/http puts in its *url.Error.
func TestErrorsNeverShowCredentials(t *testing.T) {
	const secret = "s3cr3t+/=value-that-must-not-leak"
	p, srv := wechattest.NewServer(wechattest.PlatformConfig{AppSecret: secret})
	defer p.Close()
	c, err := wechat.NewClient(srv.URL, wechattest.DefaultAppID, secret,
		wechat.WithAttemptTimeout(30*time.Millisecond), wechat.WithSleep(func(context.Context, time.Duration) error { return nil }))
	if err != nil {
		t.Fatal(err)
	}
	tok := apiToken(t, c)
	qr := wechat.QRCodeRequest{ExpireSeconds: 60, ActionName: wechat.ActionScene, SceneID: 5}

	// An echoing gateway, to check that text from the other side is scrubbed too.
	echo := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == wechattest.PathQRCodeCreate {
			fmt.Fprintf(w, `{"errcode":40001,"errmsg":"bad token %s"}`, r.URL.Query().Get("access_token"))
			return
		}
		w.WriteHeader(http.StatusBadGateway)
		fmt.Fprintf(w, "upstream refused %s", r.URL.String())
	}))
	defer echo.Close()
	ce, err := wechat.NewClient(echo.URL, wechattest.DefaultAppID, secret, wechat.WithSleep(func(context.Context, time.Duration) error { return nil }))
	if err != nil {
		t.Fatal(err)
	}
	closed := httptest.NewServer(http.NotFoundHandler())
	closed.Close()
	cc, err := wechat.NewClient(closed.URL, wechattest.DefaultAppID, secret, wechat.WithSleep(func(context.Context, time.Duration) error { return nil }))
	if err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name string
		run  func() error
	}{
		{"token call timed out", func() error {
			p.FailNext(wechattest.PathToken, 1, wechattest.HangFault(0))
			_, err := c.Token(context.Background())
			return err
		}},
		{"qrcode call timed out", func() error {
			p.FailNext(wechattest.PathQRCodeCreate, 3, wechattest.HangFault(0))
			_, err := c.CreateQRCode(context.Background(), tok, qr)
			return err
		}},
		{"caller cancelled", func() error {
			ctx, cancel := context.WithCancel(context.Background())
			cancel()
			_, err := c.CreateQRCode(ctx, tok, qr)
			return err
		}},
		{"connection refused, token", func() error { _, err := cc.Token(context.Background()); return err }},
		{"connection refused, qrcode", func() error { _, err := cc.CreateQRCode(context.Background(), tok, qr); return err }},
		{"gateway echoing the URL", func() error { _, err := ce.Token(context.Background()); return err }},
		{"errmsg echoing the token", func() error { _, err := ce.CreateQRCode(context.Background(), tok, qr); return err }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.run()
			if err == nil {
				t.Fatal("no error")
			}
			var texts []string
			for e := err; e != nil; e = errors.Unwrap(e) {
				texts = append(texts, e.Error(), fmt.Sprintf("%+v", e))
			}
			var he *wechat.HTTPError
			if errors.As(err, &he) {
				texts = append(texts, string(he.Body))
			}
			for _, s := range texts {
				for _, cred := range []string{secret, url.QueryEscape(secret), tok} {
					if strings.Contains(s, cred) {
						t.Fatalf("error text leaks a credential: %s", s)
					}
				}
			}
		})
	}
}

func TestNewClientBaseURL(t *testing.T) {
	tests := []struct {
		base    string
		wantErr bool
	}{
		{"", false},
		{"https://api.weixin.qq.com", false},
		{"https://api.weixin.qq.com/", false},
		{"http://127.0.0.1:8080/wechat/", false},
		{"api.weixin.qq.com", true},
		{"ftp://api.weixin.qq.com", true},
		{"https://api.weixin.qq.com/?x=1", true},
		{"https://user:pw@api.weixin.qq.com", true},
		{"https://", true},
		{"%zz", true},
	}
	for _, tt := range tests {
		_, err := wechat.NewClient(tt.base, "a", "b")
		if (err != nil) != tt.wantErr {
			t.Errorf("NewClient(%q): err = %v, want error %v", tt.base, err, tt.wantErr)
		}
	}
	for _, opt := range []wechat.ClientOption{
		wechat.WithMaxRetries(-1), wechat.WithBackoff(-1, 0), wechat.WithAttemptTimeout(-1), wechat.WithSleep(nil),
	} {
		if _, err := wechat.NewClient("", "a", "b", opt); err == nil {
			t.Error("NewClient accepted an invalid option")
		}
	}
}

func TestClientDoesNotFollowRedirects(t *testing.T) {
	var leaked bool
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { leaked = true }))
	defer other.Close()
	redirect := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, other.URL+r.URL.RequestURI(), http.StatusFound)
	}))
	defer redirect.Close()
	c, err := wechat.NewClient(redirect.URL, "wx1", "secret", wechat.WithHTTPClient(&http.Client{}))
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Token(context.Background())
	var he *wechat.HTTPError
	if !errors.As(err, &he) || he.StatusCode != http.StatusFound {
		t.Errorf("err = %v, want *HTTPError 302", err)
	}
	if leaked {
		t.Error("the client followed the redirect and sent the secret elsewhere")
	}
}

// TestSecretFuncIsAskedAtEachTokenCall: a rotated AppSecret is used from the
// next call on, without a new client, and a failure to get one makes no call.
func TestSecretFuncIsAskedAtEachTokenCall(t *testing.T) {
	p := wechattest.NewPlatform(wechattest.PlatformConfig{})
	srv := httptest.NewServer(p)
	defer srv.Close()
	current, failure := "not-the-secret", error(nil)
	c, err := wechat.NewClient(srv.URL, wechattest.DefaultAppID, "", wechat.WithSecretFunc(func(context.Context) (string, error) {
		return current, failure
	}))
	if err != nil {
		t.Fatal(err)
	}
	var apiErr *wechat.APIError
	_, err = c.StableToken(context.Background(), false)
	if !errors.As(err, &apiErr) || apiErr.Code != 40125 {
		t.Fatalf("the old secret: %v, want 40125", err)
	}
	if strings.Contains(err.Error(), current) {
		t.Errorf("the error quotes the secret: %v", err)
	}
	current = wechattest.DefaultAppSecret
	if _, err := c.StableToken(context.Background(), false); err != nil {
		t.Fatalf("the rotated secret: %v", err)
	}
	if _, err := c.Token(context.Background()); err != nil {
		t.Fatalf("the rotated secret, classic: %v", err)
	}
	failure = errors.New("secrets: unavailable")
	calls := p.Calls(wechattest.PathStableToken)
	if _, err := c.StableToken(context.Background(), false); err == nil || !strings.Contains(err.Error(), "unavailable") {
		t.Errorf("a failed secret read: %v", err)
	}
	if n := p.Calls(wechattest.PathStableToken); n != calls {
		t.Errorf("%d calls made without a secret", n-calls)
	}
}
