package callback_test

import (
	"context"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"wechatqr/shared/accounts"
	"wechatqr/shared/callback"
	"wechatqr/shared/qr"
	"wechatqr/shared/wechat/wechattest"
)

// One more account, served by the Router at /wechat/<its AppID>.
const (
	appB   = "wxb0b0b0b0b0b0b0b0"
	tokenB = "tokenOfB"
	keyB   = "bBbBbBbBbBbBbBbBbBbBbBbBbBbBbBbBbBbBbBbBbBb"
)

var signerB = wechattest.Signer{Token: tokenB, AppID: appB, EncodingAESKey: keyB}

// registry is the accounts as the callback reads them, counting the reads.
type registry struct{ reads atomic.Int32 }

func (r *registry) Callback(_ context.Context, appID string, known int64) (accounts.Account, *accounts.CallbackKeys, int64, error) {
	r.reads.Add(1)
	if appID != appB {
		return accounts.Account{}, nil, 0, qr.Errorf(qr.EAccountNotFound, "no account %s", appID)
	}
	a := accounts.Account{AppID: appB, Kind: accounts.Direct, Status: accounts.Active, MessageMode: "safe"}
	if known == 1 {
		return a, nil, 1, nil
	}
	return a, &accounts.CallbackKeys{Token: tokenB, EncodingAESKey: keyB}, 1, nil
}

// A warm push for any account costs the round trips of a single-account push: 2
// on the first delivery, 1 on a retry; the account's keys are read once per
// instance, at its first push (and again after the reload interval).
func TestAnAccountsPushCostsTheRoundTripsOfTheDefaultAccounts(t *testing.T) {
	f := newFixture(t)
	reg := &registry{}
	rt, err := callback.NewRouter(callback.RouterConfig{
		Default: f.h, Accounts: reg, Store: func(appID string) callback.Store { return f.store.Account(appID) },
		Config: callback.Config{Tolerance: callback.DefaultTolerance, Now: func() time.Time { return now }},
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := f.store.Account(appB).PutCode(context.Background(), &qr.Code{Scene: "riddle-1", ActionName: "QR_LIMIT_STR_SCENE", Permanent: true, Reply: qr.TextReply("B's answer"), CreatedAt: now}); err != nil {
		t.Fatal(err)
	}
	f.putCode(t, "riddle-1", qr.TextReply("the default account's answer"))
	send := func(s wechattest.Signer, path, openid string) int {
		t.Helper()
		inner := s.ScanXML(openid, "riddle-1", now.Unix(), "T")
		q, body, err := s.Push(inner, wechattest.Safe, now.Unix(), nonceOf(inner))
		if err != nil {
			t.Fatal(err)
		}
		w := httptest.NewRecorder()
		rt.ServeHTTP(w, s.Request(path, q, body))
		if w.Code != 200 {
			t.Fatalf("%s: %d %s", path, w.Code, w.Body)
		}
		return int(f.trips.reset())
	}
	tests := []struct {
		name     string
		signer   wechattest.Signer
		path     string
		openid   string
		trips    int
		registry int32
	}{
		{"the default account's first delivery", signer, "/wechat", "o1", 2, 0},
		{"the default account's retry", signer, "/wechat", "o1", 1, 0},
		{"the default account by its AppID", signer, "/wechat/" + appID, "o2", 2, 0},
		{"another account's first push on the instance", signerB, "/wechat/" + appB, "o1", 2, 1},
		{"its retry", signerB, "/wechat/" + appB, "o1", 1, 1},
		{"its next push", signerB, "/wechat/" + appB, "o3", 2, 1},
	}
	for _, tt := range tests {
		if got := send(tt.signer, tt.path, tt.openid); got != tt.trips {
			t.Errorf("%s: %d round trips, want %d", tt.name, got, tt.trips)
		}
		if got := reg.reads.Load(); got != tt.registry {
			t.Errorf("%s: %d reads of the account so far, want %d", tt.name, got, tt.registry)
		}
	}
	st, err := f.store.Account(appB).SceneStats(context.Background(), "riddle-1", "", "")
	if err != nil || st.Totals.Scans != 2 {
		t.Errorf("B's scans = %+v, %v; want 2", st.Totals, err)
	}
}
