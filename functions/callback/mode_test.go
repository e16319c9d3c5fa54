package main

import (
	"context"
	"encoding/json"
	"strconv"
	"strings"
	"testing"
	"time"

	"wechatqr/shared/dynamo"
	"wechatqr/shared/qr"
	"wechatqr/shared/wechat"
	"wechatqr/shared/wechat/wechattest"
)

// livePush is the event API Gateway hands the function for inner, pushed in mode
// and signed now (the window is on).
func livePush(t *testing.T, s wechattest.Signer, inner []byte, mode wechattest.Mode, nonce string) []byte {
	t.Helper()
	q, body, err := s.Push(inner, mode, time.Now().Unix(), nonce)
	if err != nil {
		t.Fatal(err)
	}
	e := apiEvent("POST", q)
	e.Body = string(body)
	b, err := json.Marshal(e)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// wantNothingRecorded checks that the push inner left no claim and counted no scan.
func wantNothingRecorded(t *testing.T, ctx context.Context, store *dynamo.Store, inner []byte) {
	t.Helper()
	wantUnclaimed(t, ctx, store, inner)
	wantTotals(t, ctx, store, qr.Counts{})
}

// wantUnclaimed checks that the push inner left no claim.
func wantUnclaimed(t *testing.T, ctx context.Context, store *dynamo.Store, inner []byte) {
	t.Helper()
	msg, err := wechat.ParseMessage(inner)
	if err != nil {
		t.Fatal(err)
	}
	st, err := store.Lookup(ctx, qr.Lookup{PushKey: msg.DedupeKey(), OpenID: msg.FromUserName, Event: msg.Event})
	if err != nil {
		t.Fatal(err)
	}
	if st.Claim != nil {
		t.Errorf("the refused push %s was claimed", msg.DedupeKey())
	}
}

// wantTotals checks the riddle's all-time counts.
func wantTotals(t *testing.T, ctx context.Context, store *dynamo.Store, want qr.Counts) {
	t.Helper()
	stats, err := store.SceneStats(ctx, riddle, "", "")
	if err != nil {
		t.Fatal(err)
	}
	if stats.Totals != want {
		t.Errorf("counts %+v, want %+v", stats.Totals, want)
	}
}

// TestBootstrapRefusesTheDowngrade reproduces the downgrade against the built
// bootstrap under aws-lambda-rie: an account with an EncodingAESKey and no
// WECHAT_MESSAGE_MODE is in safe mode, so a plain push under a genuine query
// signature (which covers no body) is refused with 403 and writes nothing; the
// URL check, plain as WeChat sends it, still passes, and the safe push is served.
func TestBootstrapRefusesTheDowngrade(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	fn, store := startCallback(t, ctx, []string{"WECHAT_APP_ID=" + appID, "WECHAT_TOKEN=" + token, "WECHAT_ENCODING_AES_KEY=" + aesKey})
	signer := wechattest.Signer{Token: token, AppID: appID, EncodingAESKey: aesKey}

	forged := signer.SubscribeXML("oForgedFollower000000000000", riddle, time.Now().Unix(), ticket)
	for i := range 3 { // the reported attack: three forged subscribes
		res := invoke(t, fn, livePush(t, signer, forged, wechattest.Plaintext, "77"+strconv.Itoa(i)))
		if res.StatusCode != 403 {
			t.Errorf("plain push to a safe-mode account: status %d %q, want 403", res.StatusCode, res.Body)
		}
	}
	wantNothingRecorded(t, ctx, store, forged)

	verify, err := json.Marshal(apiEvent("GET", signer.Verification("echo-42", time.Now().Unix(), "1")))
	if err != nil {
		t.Fatal(err)
	}
	if res := invoke(t, fn, verify); res.StatusCode != 200 || res.Body != "echo-42" {
		t.Errorf("URL check in safe mode: %d %q, want 200 echo-42", res.StatusCode, res.Body)
	}
	res := invoke(t, fn, livePush(t, signer, signer.ScanXML(openID, riddle, time.Now().Unix(), ticket), wechattest.Safe, "9"))
	if res.StatusCode != 200 {
		t.Fatalf("safe push: status %d %q", res.StatusCode, res.Body)
	}
	if inner, err := signer.OpenReply([]byte(res.Body)); err != nil || !strings.Contains(string(inner), riddleText) {
		t.Errorf("safe push: reply %q, %v", inner, err)
	}
}

// TestBootstrapServesASignatureWithOneBody reproduces the reuse against the
// built bootstrap under aws-lambda-rie, in plaintext mode: a genuine query
// carrying a forged body is refused with 403 and writes nothing, while WeChat's
// retry of the genuine body gets the same reply.
func TestBootstrapServesASignatureWithOneBody(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	fn, store := startCallback(t, ctx, []string{"WECHAT_APP_ID=" + appID, "WECHAT_TOKEN=" + token, "WECHAT_MESSAGE_MODE=plaintext"})
	signer := wechattest.Signer{Token: token, AppID: appID}

	at := time.Now().Unix()
	q, body, err := signer.Push(signer.ScanXML(openID, riddle, at, ticket), wechattest.Plaintext, at, "5150")
	if err != nil {
		t.Fatal(err)
	}
	event := func(body []byte) []byte {
		e := apiEvent("POST", q)
		e.Body = string(body)
		b, err := json.Marshal(e)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	var replies []string
	for delivery := 1; delivery <= 2; delivery++ { // the second is WeChat's retry
		res := invoke(t, fn, event(body))
		if res.StatusCode != 200 || !strings.Contains(res.Body, riddleText) {
			t.Fatalf("delivery %d: %d %q", delivery, res.StatusCode, res.Body)
		}
		replies = append(replies, res.Body[:strings.Index(res.Body, "<CreateTime>")]+res.Body[strings.Index(res.Body, "</CreateTime>"):])
	}
	if replies[0] != replies[1] {
		t.Errorf("the retry's reply %q differs from the first's %q", replies[1], replies[0])
	}

	forged := signer.SubscribeXML("oForgedFollower000000000000", riddle, at, ticket)
	_, fbody, err := signer.Push(forged, wechattest.Plaintext, at, "5150")
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if res := invoke(t, fn, event(fbody)); res.StatusCode != 403 {
			t.Errorf("a forged body under the genuine query: %d %q, want 403", res.StatusCode, res.Body)
		}
	}
	wantUnclaimed(t, ctx, store, forged)
	wantTotals(t, ctx, store, qr.Counts{Scans: 1, UniqueUsers: 1}) // the genuine scan alone
}
