package main

import (
	"context"
	"encoding/json"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"wechatqr/local/moto"
	"wechatqr/local/rie"
	"wechatqr/shared/wechat/wechattest"
)

// TestARotationWalkedThroughOnAWarmInstance runs the built bootstrap under
// aws-lambda-rie with its secret in moto_server (the callback's own, which holds
// no AppSecret, named by WECHAT_CALLBACK_SECRET_ID) and a refresh interval of one
// second, and walks the runbook of docs/operations.md on one warm instance: the new Token and
// key go into the secret with the old ones as previous, the instance takes the
// new values without a restart while it still serves the old ones, and once the
// previous values are removed it refuses them. Refused pushes count nothing.
func TestARotationWalkedThroughOnAWarmInstance(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	const newToken, newKey = "rotated0token", "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"

	srv := moto.ForTest(t)
	sm := secretsmanager.New(secretsmanager.Options{
		Region: rie.Region, BaseEndpoint: aws.String(srv.Endpoint()),
		Credentials: credentials.NewStaticCredentialsProvider("test", "test", ""),
	})
	secret := func(v map[string]string) *string {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		return aws.String(string(b))
	}
	if _, err := sm.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String("wechat-qr/rotation"), SecretString: secret(map[string]string{
		"token": token, "encoding_aes_key": aesKey,
	})}); err != nil {
		t.Fatal(err)
	}
	rotate := func(v map[string]string) {
		t.Helper()
		if _, err := sm.PutSecretValue(ctx, &secretsmanager.PutSecretValueInput{SecretId: aws.String("wechat-qr/rotation"), SecretString: secret(v)}); err != nil {
			t.Fatal(err)
		}
	}

	fn, store := startCallback(t, ctx, []string{
		"WECHAT_APP_ID=" + appID, "WECHAT_CALLBACK_SECRET_ID=wechat-qr/rotation", "AWS_ENDPOINT_URL_SECRETS_MANAGER=" + srv.Endpoint(),
		// The AppSecret's secret, which the callback must never read: there is none.
		"WECHAT_SECRET_ID=no-such-secret",
		"WECHAT_SECRET_REFRESH_SECONDS=1",
		"WECHAT_MESSAGE_MODE=plaintext", // both modes are pushed below
	})

	oldS := wechattest.Signer{Token: token, AppID: appID, EncodingAESKey: aesKey}
	newS := wechattest.Signer{Token: newToken, AppID: appID, EncodingAESKey: newKey}
	accepted, n := 0, 0
	// scan pushes a first delivery of a new SCAN under s and returns the status;
	// a 200 must carry the riddle's answer, opened with s's own values.
	scan := func(s wechattest.Signer, mode wechattest.Mode) int {
		t.Helper()
		n++
		// A nonce per push, as WeChat's: a query is served with one body only.
		res := invoke(t, fn, livePush(t, s, s.ScanXML("user-"+strconv.Itoa(n), riddle, time.Now().Unix(), ticket), mode, nonce+strconv.Itoa(n)))
		if res.StatusCode == 200 {
			accepted++
			inner, err := s.OpenReply([]byte(res.Body))
			if err != nil || !strings.Contains(string(inner), riddleText) {
				t.Fatalf("push %d: reply %q, %v; want the answer under the push's own values", n, inner, err)
			}
		}
		return res.StatusCode
	}
	// until pushes under s until one answers want, for at most 20 s.
	until := func(what string, s wechattest.Signer, want int) {
		t.Helper()
		for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(200 * time.Millisecond) {
			got := scan(s, wechattest.Safe)
			if got == want {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: still %d after 20 s\n%s", what, got, fn.Logs())
			}
		}
	}

	if got := scan(oldS, wechattest.Safe); got != 200 {
		t.Fatalf("before the rotation, the configured values: %d\n%s", got, fn.Logs())
	}
	if got := scan(newS, wechattest.Safe); got != 401 {
		t.Fatalf("before the rotation, the new Token: %d, want 401", got)
	}

	// Step 1 of the runbook: the new values as current, the old as previous.
	rotate(map[string]string{
		"token": newToken, "encoding_aes_key": newKey, "previous_token": token, "previous_encoding_aes_key": aesKey})
	until("the new Token and key reach the warm instance", newS, 200)
	for _, s := range []wechattest.Signer{oldS, newS, {Token: token, AppID: appID, EncodingAESKey: newKey}, {Token: newToken, AppID: appID, EncodingAESKey: aesKey}} {
		for _, mode := range []wechattest.Mode{wechattest.Plaintext, wechattest.Safe} {
			if got := scan(s, mode); got != 200 {
				t.Errorf("during the rotation, %s under Token %q and the key %.4s…: %d, want 200", mode, s.Token, s.EncodingAESKey, got)
			}
		}
	}
	if logs := fn.Logs(); !strings.Contains(logs, `"token":"previous"`) || !strings.Contains(logs, `"aes_key":"previous"`) {
		t.Errorf("no log line says the previous values served:\n%s", logs)
	}

	// Step 4: the previous values removed.
	rotate(map[string]string{"token": newToken, "encoding_aes_key": newKey})
	until("the old Token is refused", oldS, 401)
	stranger := wechattest.Signer{Token: newToken, AppID: appID, EncodingAESKey: aesKey} // the old key alone
	if got := scan(stranger, wechattest.Safe); got != 400 {
		t.Errorf("after the rotation, the old key: %d, want 400", got)
	}
	if got := scan(newS, wechattest.Safe); got != 200 {
		t.Errorf("after the rotation, the new values: %d, want 200", got)
	}

	st, err := store.SceneStats(ctx, riddle, "", "")
	if err != nil {
		t.Fatal(err)
	}
	if st.Totals.Scans != int64(accepted) {
		t.Errorf("%d scans counted, %d pushes accepted of %d: a refused push counted", st.Totals.Scans, accepted, n)
	}
	if logs := fn.Logs(); strings.Contains(logs, newToken) || strings.Contains(logs, newKey) || strings.Contains(logs, aesKey) || strings.Contains(logs, `"`+token+`"`) {
		t.Errorf("the logs quote a secret:\n%s", logs)
	}
}
