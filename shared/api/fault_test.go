package api_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"wechatqr/shared/api"
	"wechatqr/shared/dynamo"
	"wechatqr/shared/token"
	"wechatqr/shared/wechat"
	"wechatqr/shared/wechat/wechattest"
)

// These tests make WeChat misbehave under POST /qrcodes through the emulator's fault injection
// and check docs/api.md's promises ("Errors"): transient failures are retried a bounded number of times and,
// when they outlast the retries, are a 503 "unavailable" (WeChat busy, a 5xx, no answer); a
// rejected token is refreshed once (never a storm of refreshes); every other refusal is a 502
// carrying WeChat's errcode; and a failed create stores nothing.

// quickAttempt bounds each WeChat call in the hang tests. The deployed client allows 2 s per
// attempt (wechat.DefaultAttemptTimeout), 3 attempts: about 6 s before a 503, inside the
// qrcode function's 15 s timeout; the tests shrink it so they run in a second.
const quickAttempt = 200 * time.Millisecond

// withClient returns the API of s with a WeChat client of its own, built with opts, over the
// same tables and emulator: for the behaviour that depends on the client's timeouts.
func withClient(t *testing.T, s *stack, opts ...wechat.ClientOption) http.Handler {
	t.Helper()
	// newStack names every table with one prefix; the tokens table is the template's too.
	prefix := strings.TrimSuffix(s.tables.Scenes, "ScenesTable")
	tokens, err := dynamo.NewTokens(s.client, prefix+"TokensTable", wechattest.DefaultAppID)
	if err != nil {
		t.Fatal(err)
	}
	opts = append([]wechat.ClientOption{wechat.WithBackoff(time.Millisecond, 10*time.Millisecond)}, opts...)
	wc, err := wechat.NewClient(s.platform.URL(), wechattest.DefaultAppID, wechattest.DefaultAppSecret, opts...)
	if err != nil {
		t.Fatal(err)
	}
	issuer, err := token.NewIssuer(wc, token.KindStable)
	if err != nil {
		t.Fatal(err)
	}
	h, err := api.New(api.Config{ShowQRCodeURL: s.platform.ShowQRCodeURL}, s.store, wc, token.NewSource(tokens, issuer, token.Options{}), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// forcedRefreshes counts the stable_token calls that asked for a new token.
func forcedRefreshes(t *testing.T, p *wechattest.Platform) int {
	t.Helper()
	n := 0
	for _, c := range p.CallLog(wechattest.PathStableToken) {
		var body struct {
			ForceRefresh bool `json:"force_refresh"`
		}
		if err := json.Unmarshal(c.Body, &body); err != nil {
			t.Fatalf("stable_token body %q: %v", c.Body, err)
		}
		if body.ForceRefresh {
			n++
		}
	}
	return n
}

func TestWeChatFaultsUnderCreate(t *testing.T) {
	const body = `{"scene":"poster-1","expire_seconds":600,"reply":{"type":"text","content":"hi"}}`
	tests := []struct {
		name  string
		fault wechattest.Fault
		times int // how many qrcode/create calls fail
		fast  bool
		// What the caller sees and what WeChat saw.
		status  int
		error   string // the error body's "error"
		errcode int    // WeChat's errcode in the error body; 0 for none
		creates int    // qrcode/create calls
		refresh int    // forced stable_token refreshes
		within  time.Duration
	}{
		// -1 is "system busy": retried with backoff, and the third attempt succeeds.
		{name: "busy twice, then success", fault: wechattest.ErrCodeFault(wechat.CodeSystemBusy), times: 2,
			status: http.StatusCreated, creates: 3, within: time.Second},
		{name: "HTTP 503 on every attempt", fault: wechattest.StatusFault(http.StatusServiceUnavailable), times: 10,
			status: http.StatusServiceUnavailable, error: "unavailable", creates: 3, within: time.Second},
		{name: "busy on every attempt", fault: wechattest.ErrCodeFault(wechat.CodeSystemBusy), times: 10,
			status: http.StatusServiceUnavailable, error: "unavailable", errcode: wechat.CodeSystemBusy, creates: 3, within: time.Second},
		// A hang is cut by the attempt timeout and retried; three hangs end the request.
		{name: "hang on every attempt", fault: wechattest.HangFault(0), times: 10, fast: true,
			status: http.StatusServiceUnavailable, error: "unavailable", creates: 3, within: 3*quickAttempt + time.Second},
		{name: "one hang, then success", fault: wechattest.HangFault(0), times: 1, fast: true,
			status: http.StatusCreated, creates: 2, within: quickAttempt + time.Second},
		// A token WeChat rejects is refreshed once and the call retried once: the retry's
		// rejection is final, however many more the caller might have made.
		{name: "40001 on every call", fault: wechattest.ErrCodeFault(wechat.CodeInvalidCredential), times: 10,
			status: http.StatusBadGateway, error: "wechat", errcode: wechat.CodeInvalidCredential, creates: 2, refresh: 1, within: time.Second},
		{name: "42001 once, then success", fault: wechattest.ErrCodeFault(wechat.CodeAccessTokenExpired), times: 1,
			status: http.StatusCreated, creates: 2, refresh: 1, within: time.Second},
		// The daily quota stays spent: not retried, and WeChat's errcode reaches the caller.
		{name: "45009 daily quota", fault: wechattest.ErrCodeFault(wechat.CodeDailyQuota), times: 10,
			status: http.StatusBadGateway, error: "wechat", errcode: wechat.CodeDailyQuota, creates: 1, within: time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newStack(t, api.Config{})
			h := s.api
			if tt.fast {
				h = withClient(t, s, wechat.WithAttemptTimeout(quickAttempt))
			}
			s.platform.FailNext(wechattest.PathQRCodeCreate, tt.times, tt.fault)

			w := httptest.NewRecorder()
			start := time.Now()
			h.ServeHTTP(w, httptest.NewRequest("POST", "/qrcodes", strings.NewReader(body)))
			took := time.Since(start)

			if w.Code != tt.status {
				t.Fatalf("got %d %s, want %d", w.Code, w.Body, tt.status)
			}
			if took > tt.within {
				t.Errorf("answered after %v, want within %v", took, tt.within)
			}
			if n := s.platform.Calls(wechattest.PathQRCodeCreate); n != tt.creates {
				t.Errorf("WeChat got %d qrcode/create calls, want %d", n, tt.creates)
			}
			if n := forcedRefreshes(t, s.platform); n != tt.refresh {
				t.Errorf("%d forced token refreshes, want %d", n, tt.refresh)
			}
			// Besides the one refresh, only the first fetch of the token: no storm.
			if n := s.platform.Calls(wechattest.PathStableToken); n != 1+tt.refresh {
				t.Errorf("%d stable_token calls, want %d", n, 1+tt.refresh)
			}

			if tt.status == http.StatusCreated {
				var got codeJSON
				if err := json.Unmarshal(w.Body.Bytes(), &got); err != nil || got.Scene != "poster-1" || got.Ticket == "" {
					t.Fatalf("answer %s: %v", w.Body, err)
				}
				if _, ok := s.platform.Code(got.Ticket); !ok {
					t.Errorf("the ticket answered, %q, is not one WeChat issued", got.Ticket)
				}
				return
			}
			var e errorJSON
			if err := json.Unmarshal(w.Body.Bytes(), &e); err != nil {
				t.Fatalf("error body %s is not JSON: %v", w.Body, err)
			}
			if e.Error != tt.error {
				t.Errorf("error %q, want %q: %s", e.Error, tt.error, w.Body)
			}
			switch {
			case tt.errcode == 0 && e.ErrCode != nil:
				t.Errorf("errcode %d in %s, want none", *e.ErrCode, w.Body)
			case tt.errcode != 0 && (e.ErrCode == nil || *e.ErrCode != tt.errcode):
				t.Errorf("errcode in %s, want %d", w.Body, tt.errcode)
			}
			if n := s.items(t); n != 0 {
				t.Errorf("a failed create left %d items in the scenes table", n)
			}
			if _, err := s.store.Code(context.Background(), "poster-1"); err == nil {
				t.Error("a failed create stored the scene's mapping")
			}
		})
	}
}
