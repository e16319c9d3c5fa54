package wechattest_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"testing"
	"time"

	"wechatqr/shared/wechat"
	"wechatqr/shared/wechat/wechattest"
)

func TestFailNextQueuesFaultsPerPath(t *testing.T) {
	p, _ := startPlatform(t, wechattest.PlatformConfig{})
	p.FailNext(wechattest.PathToken, 2, wechattest.ErrCodeFault(-1))
	p.FailNext(wechattest.PathToken, 1, wechattest.Fault{ErrCode: 40164, ErrMsg: "invalid ip 1.2.3.4, not in whitelist"})
	okQuery := tokenQuery("client_credential", wechattest.DefaultAppID, wechattest.DefaultAppSecret)

	wantErrCode(t, stableToken(t, p, false), 0) // another path is unaffected
	a := call(t, p, http.MethodGet, okQuery, "")
	wantErrCode(t, a, -1)
	wantErrCode(t, call(t, p, http.MethodGet, okQuery, ""), -1)
	if a := call(t, p, http.MethodGet, okQuery, ""); a.ErrCode != 40164 || a.ErrMsg != "invalid ip 1.2.3.4, not in whitelist" {
		t.Errorf("custom fault: %s", a.raw)
	}
	classicToken(t, p) // the queue is empty again

	log := p.CallLog(wechattest.PathToken)
	if len(log) != 4 || p.Calls(wechattest.PathToken) != 4 {
		t.Fatalf("%d calls logged, want 4", len(log))
	}
	for i, want := range []struct {
		fault bool
		code  int
	}{{true, -1}, {true, -1}, {true, 40164}, {false, 0}} {
		if log[i].Fault != want.fault || log[i].ErrCode != want.code || log[i].Status != http.StatusOK {
			t.Errorf("call %d: %+v, want fault %v errcode %d", i, log[i], want.fault, want.code)
		}
	}
}

func TestStatusFault(t *testing.T) {
	p, _ := startPlatform(t, wechattest.PlatformConfig{})
	p.FailNext(wechattest.PathStableToken, 1, wechattest.StatusFault(http.StatusBadGateway))
	a := stableToken(t, p, false)
	if a.status != http.StatusBadGateway || string(a.raw) != "Bad Gateway\n" {
		t.Errorf("HTTP %d %q, want 502 Bad Gateway", a.status, a.raw)
	}
	if log := p.CallLog(wechattest.PathStableToken); log[0].Status != http.StatusBadGateway || !log[0].Fault {
		t.Errorf("logged %+v", log[0])
	}
}

func TestHangHoldsUntilTheClientGivesUp(t *testing.T) {
	p, _ := startPlatform(t, wechattest.PlatformConfig{})
	p.FailNext(wechattest.PathToken, 1, wechattest.HangFault(0))
	// start is taken before the deadline is set, so the hang can only look
	// longer than the client's 50 ms, never shorter (a loaded machine may pause
	// between the two lines).
	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, p.URL()+tokenQuery("client_credential", wechattest.DefaultAppID, wechattest.DefaultAppSecret), nil)
	_, err := http.DefaultClient.Do(req)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want the client's deadline", err)
	}
	if el := time.Since(start); el < 50*time.Millisecond || el > 10*time.Second {
		t.Errorf("held for %v", el)
	}
	if p.Calls(wechattest.PathToken) != 1 {
		t.Error("the hung call was not counted")
	}
	if _, ok := p.ClassicToken(); ok {
		t.Error("a hung call issued a token")
	}
}

func TestHangForThenServes(t *testing.T) {
	p, _ := startPlatform(t, wechattest.PlatformConfig{})
	p.FailNext(wechattest.PathToken, 1, wechattest.HangFault(40*time.Millisecond))
	start := time.Now()
	classicToken(t, p)
	if el := time.Since(start); el < 40*time.Millisecond {
		t.Errorf("answered after %v, want ≥ 40ms", el)
	}
}

func TestHangThenErrcode(t *testing.T) {
	p, _ := startPlatform(t, wechattest.PlatformConfig{})
	p.FailNext(wechattest.PathToken, 1, wechattest.Fault{Hang: true, HangFor: 10 * time.Millisecond, ErrCode: -1})
	wantErrCode(t, call(t, p, http.MethodGet, tokenQuery("client_credential", wechattest.DefaultAppID, wechattest.DefaultAppSecret), ""), -1)
}

// Closing the platform releases a held request by dropping its connection:
// the client sees a failure, not an empty 200.
func TestCloseDropsHungRequests(t *testing.T) {
	p, _ := wechattest.NewServer(wechattest.PlatformConfig{})
	p.FailNext(wechattest.PathToken, 1, wechattest.HangFault(0))
	type result struct {
		status string
		err    error
	}
	done := make(chan result, 1)
	go func() {
		resp, err := http.Get(p.URL() + wechattest.PathToken)
		if err != nil {
			done <- result{err: err}
			return
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		done <- result{status: resp.Status}
	}()
	for p.Calls(wechattest.PathToken) == 0 {
		time.Sleep(time.Millisecond)
	}
	p.Close()
	select {
	case r := <-done:
		if r.err == nil {
			t.Errorf("the released request was answered %s, want a dropped connection", r.status)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Close did not release the hung request")
	}
}

func TestResetForgetsFaultsCallsAndQuotas(t *testing.T) {
	p, _ := startPlatform(t, wechattest.PlatformConfig{Limits: wechattest.Limits{TokenPerDay: 1}})
	tok := classicToken(t, p).AccessToken
	wantErrCode(t, call(t, p, http.MethodGet, tokenQuery("client_credential", wechattest.DefaultAppID, wechattest.DefaultAppSecret), ""), wechat.CodeDailyQuota)
	p.FailNext(wechattest.PathToken, 5, wechattest.ErrCodeFault(-1))
	p.Reset()
	if n := p.Calls(wechattest.PathToken); n != 0 {
		t.Errorf("%d calls after Reset", n)
	}
	classicToken(t, p) // no fault, quota available again
	if p.TokenStatus(tok) != 0 {
		t.Error("Reset invalidated tokens")
	}
}

func TestUnknownPathIs404(t *testing.T) {
	p, _ := startPlatform(t, wechattest.PlatformConfig{})
	if a := call(t, p, http.MethodGet, "/cgi-bin/menu/create", ""); a.status != http.StatusNotFound {
		t.Errorf("HTTP %d, want 404", a.status)
	}
}
