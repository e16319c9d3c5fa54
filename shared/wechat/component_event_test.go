package wechat_test

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"wechatqr/shared/wechat"
	"wechatqr/shared/wechat/wechattest"
)

// The decrypted samples of docs/wechat.md §13.1, byte for byte (the "…"
// elisions are the docs').
func TestParseComponentEventReadsTheDocumentedSamples(t *testing.T) {
	tests := []struct {
		file string
		want wechat.ComponentEvent
	}{
		{"component_verify_ticket.xml", wechat.ComponentEvent{
			AppID: "wx_component", CreateTime: 1413192605, InfoType: wechat.InfoVerifyTicket,
			ComponentVerifyTicket: "ticket@@@PtNX…",
		}},
		{"authorized.xml", wechat.ComponentEvent{
			AppID: "wx851e238de6d96eaa", CreateTime: 1573485628, InfoType: wechat.InfoAuthorized,
			AuthorizerAppID: "wx570bc396a51b8ff8", AuthorizationCode: "queryauthcode@@@Xl2L…",
			AuthorizationCodeExpiredTime: 1573489228, PreAuthCode: "preauthcode@@@sHSg…",
		}},
		{"unauthorized.xml", wechat.ComponentEvent{
			AppID: "wx_component", CreateTime: 1413192760, InfoType: wechat.InfoUnauthorized,
			AuthorizerAppID: "wx_oa",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			body, err := os.ReadFile(filepath.Join("testdata", "component", tt.file))
			if err != nil {
				t.Fatal(err)
			}
			got, err := wechat.ParseComponentEvent(body)
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("\n got %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestParseComponentEventRefusesWhatItCannotActOn(t *testing.T) {
	const head = `<xml><AppId><![CDATA[wx_component]]></AppId><CreateTime>1413192605</CreateTime>`
	auth := func(infoType, rest string) string {
		return head + `<InfoType><![CDATA[` + infoType + `]]></InfoType>` + rest + `</xml>`
	}
	const appid, code = `<AuthorizerAppid>wx_oa</AuthorizerAppid>`, `<AuthorizationCode>queryauthcode@@@x</AuthorizationCode>`
	tests := []struct {
		name string
		body string
		want error
	}{
		{"not XML", `{"InfoType":"authorized"}`, wechat.ErrMalformed},
		{"another root", `<msg><InfoType>authorized</InfoType></msg>`, wechat.ErrMalformed},
		{"no InfoType", head + `</xml>`, wechat.ErrMalformed},
		{"no AppId", `<xml><CreateTime>1</CreateTime><InfoType>unauthorized</InfoType>` + appid + `</xml>`, wechat.ErrMalformed},
		{"no CreateTime", `<xml><AppId>wx_component</AppId><InfoType>unauthorized</InfoType>` + appid + `</xml>`, wechat.ErrMalformed},
		{"CreateTime not a number", `<xml><AppId>x</AppId><CreateTime>soon</CreateTime><InfoType>unauthorized</InfoType>` + appid + `</xml>`, wechat.ErrMalformed},
		{"ticket push without a ticket", auth(wechat.InfoVerifyTicket, ""), wechat.ErrMalformed},
		{"authorized without an account", auth(wechat.InfoAuthorized, code), wechat.ErrMalformed},
		{"authorized without a code", auth(wechat.InfoAuthorized, appid), wechat.ErrMalformed},
		{"updateauthorized without a code", auth(wechat.InfoUpdateAuthorized, appid), wechat.ErrMalformed},
		{"unauthorized without an account", auth(wechat.InfoUnauthorized, ""), wechat.ErrMalformed},
		{"expiry not Unix seconds", auth(wechat.InfoAuthorized, appid+code+`<AuthorizationCodeExpiredTime>1h</AuthorizationCodeExpiredTime>`), wechat.ErrMalformed},
		{"larger than the cap", auth(wechat.InfoUnauthorized, appid+strings.Repeat(" ", wechat.MaxComponentEventSize)), wechat.ErrMalformed},
		{"unknown InfoType", auth("notify_third_fasteregister", appid), wechat.ErrUnknownInfoType},
		{"InfoType in another case", auth("Authorized", appid+code), wechat.ErrUnknownInfoType},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ev, err := wechat.ParseComponentEvent([]byte(tt.body))
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			if tt.want == wechat.ErrUnknownInfoType && ev.InfoType == "" {
				t.Error("the unknown InfoType is not returned for logging")
			}
		})
	}
	ok := auth(wechat.InfoUpdateAuthorized, appid+code)
	if ev, err := wechat.ParseComponentEvent([]byte(ok)); err != nil || ev.AuthorizationCodeExpiredTime != 0 || ev.PreAuthCode != "" {
		t.Errorf("updateauthorized without the optional fields: %+v, %v", ev, err)
	}
}

// The pushes of §13.1 open with what the package already has: a Verifier
// over the platform's Token and a Cipher whose AppID is the component's
// (the plaintext's trailer), then ParseComponentEvent.
func TestComponentPushesOpenWithTheVerifier(t *testing.T) {
	emu := wechattest.NewComponent(wechattest.ComponentConfig{})
	t.Cleanup(emu.Close)
	cfg := emu.Config()
	open := func(t *testing.T, v *wechat.Verifier, p wechattest.Push) (wechat.ComponentEvent, error) {
		t.Helper()
		q := p.Query
		served, err := v.VerifySignature(q.Get("timestamp"), q.Get("nonce"), q.Get("signature"))
		if err != nil {
			return wechat.ComponentEvent{}, err
		}
		env, err := wechat.ParseMessage(p.Body)
		if err != nil {
			return wechat.ComponentEvent{}, err
		}
		inner, _, err := v.Decrypt(served, q.Get("timestamp"), q.Get("nonce"), q.Get("msg_signature"), env.Encrypt)
		if err != nil {
			return wechat.ComponentEvent{}, err
		}
		return wechat.ParseComponentEvent(inner)
	}
	verifier := func(t *testing.T, appID string) *wechat.Verifier {
		v, err := wechat.NewVerifier(wechat.Keys{Token: cfg.Token, Cipher: mustCipher(t, cfg.EncodingAESKey, appID)})
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	v := verifier(t, cfg.AppID)

	ticketPush, _ := emu.PushTicket(t.Context())
	code := emu.Authorize(testAuthorizer, nil)
	emu.Unauthorize(testAuthorizer)
	pushes := emu.Pushes()
	if len(pushes) != 3 || !slices.Equal(pushes[0].Body, ticketPush.Body) {
		t.Fatalf("%d pushes", len(pushes))
	}
	tests := []struct {
		check func(ev wechat.ComponentEvent) bool
	}{
		{func(ev wechat.ComponentEvent) bool {
			return ev.InfoType == wechat.InfoVerifyTicket && ev.ComponentVerifyTicket == emu.NewestTicket()
		}},
		{func(ev wechat.ComponentEvent) bool {
			return ev.InfoType == wechat.InfoAuthorized && ev.AuthorizerAppID == testAuthorizer && ev.AuthorizationCode == code &&
				ev.AuthorizationCodeExpiredTime == ev.CreateTime+3600 && strings.HasPrefix(ev.PreAuthCode, "preauthcode@@@")
		}},
		{func(ev wechat.ComponentEvent) bool {
			return ev.InfoType == wechat.InfoUnauthorized && ev.AuthorizerAppID == testAuthorizer
		}},
	}
	for i, tt := range tests {
		ev, err := open(t, v, pushes[i])
		if err != nil {
			t.Fatalf("push %d (%s): %v", i, pushes[i].Event, err)
		}
		if ev.AppID != cfg.AppID || !tt.check(ev) {
			t.Errorf("push %d opened to %+v", i, ev)
		}
	}
	// Keyed for another AppID (the authorizer's, say), the same push fails
	// the trailer check.
	if _, err := open(t, verifier(t, testAuthorizer), pushes[0]); !errors.Is(err, wechat.ErrAppID) {
		t.Errorf("opened with the authorizer's AppID: err = %v, want ErrAppID", err)
	}
}

// §13.2's official example of a push to the message URL: its query
// signature is sha1 over the sorted Token, timestamp and nonce.
func TestMessageURLExampleSignature(t *testing.T) {
	const token, ts, nonce, sig = "AAAAA", "1715943329", "1590219412", "cc0c594499c1634947d5b502f158ee518947db27"
	if got := wechat.Sign(token, ts, nonce); got != sig {
		t.Errorf("Sign = %s, want %s", got, sig)
	}
	if err := wechat.VerifySignature(token, ts, nonce, sig); err != nil {
		t.Errorf("VerifySignature: %v", err)
	}
	if err := wechat.VerifySignature("AAAAB", ts, nonce, sig); !errors.Is(err, wechat.ErrSignature) {
		t.Errorf("another Token: err = %v, want ErrSignature", err)
	}
}

// FuzzParseComponentEvent checks that ParseComponentEvent never panics,
// fails only with its two sentinels, and never accepts an event that lacks
// what its InfoType needs. Seeds: the §13.1 samples.
func FuzzParseComponentEvent(f *testing.F) {
	for _, name := range []string{"component_verify_ticket.xml", "authorized.xml", "unauthorized.xml"} {
		body, err := os.ReadFile(filepath.Join("testdata", "component", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(body)
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		ev, err := wechat.ParseComponentEvent(body)
		if err != nil {
			if !errors.Is(err, wechat.ErrMalformed) && !errors.Is(err, wechat.ErrUnknownInfoType) {
				t.Fatalf("error %v wraps neither sentinel", err)
			}
			return
		}
		ok := ev.AppID != "" && ev.CreateTime > 0
		switch ev.InfoType {
		case wechat.InfoVerifyTicket:
			ok = ok && ev.ComponentVerifyTicket != ""
		case wechat.InfoAuthorized, wechat.InfoUpdateAuthorized:
			ok = ok && ev.AuthorizerAppID != "" && ev.AuthorizationCode != ""
		case wechat.InfoUnauthorized:
			ok = ok && ev.AuthorizerAppID != ""
		default:
			ok = false
		}
		if !ok {
			t.Fatalf("accepted an incomplete event %+v from %q", ev, body)
		}
	})
}
