package callback_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"wechatqr/shared/accounts"
	"wechatqr/shared/callback"
	"wechatqr/shared/qr"
	"wechatqr/shared/wechat"
	"wechatqr/shared/wechat/wechattest"
)

// BenchmarkPushRouted measures what serving many accounts adds to a warm push:
// the same retried SCAN in safe mode (verified, looked up, its stored reply
// sealed again), served by the default account's Handler directly, as a
// single-account release served it ("direct"), through the Router at /wechat
// ("default"), through the Router at /wechat/<appid> for a stored account
// whose keys the instance has read already ("account"), and for an account
// that authorized the stack's third-party platform ("authorizer"). The in-memory store,
// as BenchmarkPush: the figures are compute only. Compare the three as ratios.
//
//	go test ./shared/callback -run '^$' -bench PushRouted -count 5
func BenchmarkPushRouted(b *testing.B) {
	rig := newBenchRig(b)
	if err := rig.store.Account(appB).PutCode(context.Background(), &qr.Code{
		Scene: benchScene, ActionName: "QR_LIMIT_STR_SCENE", Permanent: true,
		Reply: qr.TextReply(benchAnswer), CreatedAt: benchNow,
	}); err != nil {
		b.Fatal(err)
	}
	if err := rig.store.Account(appC).PutCode(context.Background(), &qr.Code{
		Scene: benchScene, ActionName: "QR_LIMIT_STR_SCENE", Permanent: true,
		Reply: qr.TextReply(benchAnswer), CreatedAt: benchNow,
	}); err != nil {
		b.Fatal(err)
	}
	cipher, err := wechat.NewCipher(platformSigner.EncodingAESKey, platformSigner.AppID)
	if err != nil {
		b.Fatal(err)
	}
	pv, err := wechat.NewVerifier(wechat.Keys{Token: platformSigner.Token, Cipher: cipher})
	if err != nil {
		b.Fatal(err)
	}
	rt, err := callback.NewRouter(callback.RouterConfig{
		Default: rig.h, Accounts: &platformRegistry{status: accounts.Active},
		Store:    func(appID string) callback.Store { return rig.store.Account(appID) },
		Config:   callback.Config{Tolerance: callback.DefaultTolerance, Now: func() time.Time { return benchNow }},
		Reload:   time.Hour, // a warm instance: the account's keys are read once
		Platform: &callback.PlatformRoutes{Keys: callback.StaticKeys{V: pv}},
	})
	if err != nil {
		b.Fatal(err)
	}
	signerB := wechattest.Signer{Token: tokenB, AppID: appB, EncodingAESKey: keyB}
	cases := []struct {
		name   string
		h      http.Handler
		path   string
		signer wechattest.Signer
	}{
		{"direct", rig.h, "/wechat", wechattest.Signer{Token: benchToken, AppID: benchAppID, EncodingAESKey: benchAESKey}},
		{"default", rt, "/wechat", wechattest.Signer{Token: benchToken, AppID: benchAppID, EncodingAESKey: benchAESKey}},
		{"account", rt, "/wechat/" + appB, signerB},
		// An account that authorized the stack as a third-party platform: the
		// platform's keys, its addressee checked.
		{"authorizer", rt, "/wechat/" + appC, platformSigner},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			inner := c.signer.ScanXML(benchOpenID, benchScene, benchNow.Unix(), benchTicket)
			q, body, err := c.signer.Push(inner, wechattest.Safe, benchNow.Unix(), benchNonce)
			if err != nil {
				b.Fatal(err)
			}
			rp := newReplayable(benchPush{query: q.Encode(), body: body})
			rp.r.URL.Path = c.path
			serve := httpFront.bind(c.h)
			if w := serve(rp); w.Code != http.StatusOK { // the first delivery, before the timer
				b.Fatalf("%d %s", w.Code, w.Body)
			}
			b.ReportAllocs()
			for b.Loop() {
				if w := serve(rp); w.Code != http.StatusOK {
					b.Fatalf("%d %s", w.Code, w.Body)
				}
			}
		})
	}
}
