package wechattest_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"wechatqr/shared/wechat/wechattest"
)

// epoch is a fixed start for fake clocks: 2026-11-25 10:00 in Beijing,
// far from the midnight at which daily quotas reset.
var epoch = time.Date(2026, 11, 25, 2, 0, 0, 0, time.UTC)

// platformAnswer is any answer of the API endpoints.
type platformAnswer struct {
	ErrCode       int    `json:"errcode"`
	ErrMsg        string `json:"errmsg"`
	AccessToken   string `json:"access_token"`
	ExpiresIn     int64  `json:"expires_in"`
	Ticket        string `json:"ticket"`
	ExpireSeconds *int64 `json:"expire_seconds"`
	URL           string `json:"url"`

	status int
	raw    []byte
}

// startPlatform serves a Platform with a fake clock on loopback.
func startPlatform(t *testing.T, cfg wechattest.PlatformConfig) (*wechattest.Platform, *wechattest.Clock) {
	t.Helper()
	clock := wechattest.NewClock(epoch)
	if cfg.Now == nil {
		cfg.Now = clock.Now
	}
	p, _ := wechattest.NewServer(cfg)
	t.Cleanup(p.Close)
	return p, clock
}

// call sends a raw request to the platform, as any client would, and
// decodes its JSON answer.
func call(t *testing.T, p *wechattest.Platform, method, pathAndQuery, body string) platformAnswer {
	t.Helper()
	return callURL(t, p.URL(), method, pathAndQuery, body)
}

// callURL is call for the emulator at baseURL (a Platform or a Network).
func callURL(t *testing.T, baseURL, method, pathAndQuery, body string) platformAnswer {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, baseURL+pathAndQuery, rd)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, pathAndQuery, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	var a platformAnswer
	if resp.StatusCode == http.StatusOK && strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		if err := json.Unmarshal(raw, &a); err != nil {
			t.Fatalf("%s %s: answer %q is not JSON: %v", method, pathAndQuery, raw, err)
		}
	}
	a.status, a.raw = resp.StatusCode, raw
	return a
}

func tokenQuery(grant, appid, secret string) string {
	q := url.Values{}
	if grant != "-" {
		q.Set("grant_type", grant)
	}
	if appid != "-" {
		q.Set("appid", appid)
	}
	if secret != "-" {
		q.Set("secret", secret)
	}
	return wechattest.PathToken + "?" + q.Encode()
}

// classicToken gets a new classic token or fails the test.
func classicToken(t *testing.T, p *wechattest.Platform) platformAnswer {
	t.Helper()
	a := call(t, p, http.MethodGet, tokenQuery("client_credential", wechattest.DefaultAppID, wechattest.DefaultAppSecret), "")
	if a.ErrCode != 0 || a.AccessToken == "" {
		t.Fatalf("token: %s", a.raw)
	}
	return a
}

func stableBody(force bool) string {
	b, _ := json.Marshal(map[string]any{
		"grant_type": "client_credential", "appid": wechattest.DefaultAppID,
		"secret": wechattest.DefaultAppSecret, "force_refresh": force,
	})
	return string(b)
}

func stableToken(t *testing.T, p *wechattest.Platform, force bool) platformAnswer {
	t.Helper()
	return call(t, p, http.MethodPost, wechattest.PathStableToken, stableBody(force))
}

func createCode(t *testing.T, p *wechattest.Platform, token, body string) platformAnswer {
	t.Helper()
	return call(t, p, http.MethodPost, wechattest.PathQRCodeCreate+"?access_token="+url.QueryEscape(token), body)
}

func wantErrCode(t *testing.T, a platformAnswer, code int) {
	t.Helper()
	if a.status != http.StatusOK || a.ErrCode != code {
		t.Fatalf("HTTP %d %s, want HTTP 200 with errcode %d", a.status, a.raw, code)
	}
	if code != 0 && !bytes.Contains(a.raw, []byte(" rid: ")) {
		t.Errorf("errmsg %q lacks WeChat's rid suffix", a.ErrMsg)
	}
}
