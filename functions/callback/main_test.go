package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"wechatqr/local/cfn"
	"wechatqr/local/dynamolocal"
	"wechatqr/local/rie"
	"wechatqr/local/stack"
	"wechatqr/shared/dynamo"
	"wechatqr/shared/qr"
	"wechatqr/shared/wechat/wechattest"
)

// TestBootstrapAnswersEveryEvent builds the callback as a bootstrap, runs it under
// aws-lambda-rie against DynamoDB Local with the template's tables, and invokes it
// with every file in events/, re-signed with the current time since the window is on.
func TestBootstrapAnswersEveryEvent(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()

	// Plaintext mode serves the plain and the safe-mode files alike.
	fn, store := startCallback(t, ctx, []string{"WECHAT_APP_ID=" + appID, "WECHAT_TOKEN=" + token, "WECHAT_ENCODING_AES_KEY=" + aesKey, "WECHAT_MESSAGE_MODE=plaintext"})

	signer := wechattest.Signer{Token: token, AppID: appID, EncodingAESKey: aesKey}
	for _, s := range sampleEvents(t) {
		t.Run(s.file, func(t *testing.T) {
			raw, err := os.ReadFile(filepath.Join(eventsDir, s.file))
			if err != nil {
				t.Fatal(err)
			}
			// As committed, the event is signed long ago: the window refuses it.
			if res := invoke(t, fn, raw); res.StatusCode != 401 {
				t.Errorf("stale event: status %d %q, want 401", res.StatusCode, res.Body)
			}
			fresh := resign(t, raw, time.Now())
			for delivery := 1; delivery <= 2; delivery++ { // the second is WeChat's retry
				res := invoke(t, fn, fresh)
				if res.StatusCode != 200 {
					t.Fatalf("delivery %d: status %d %q", delivery, res.StatusCode, res.Body)
				}
				body := res.Body
				if res.IsBase64Encoded {
					b, _ := base64.StdEncoding.DecodeString(body)
					body = string(b)
				}
				inner, err := signer.OpenReply([]byte(body))
				if err != nil {
					t.Fatalf("delivery %d: %v", delivery, err)
				}
				if got := string(inner); got != s.want && !strings.Contains(got, "<Content><![CDATA["+s.want+"]]></Content>") {
					t.Errorf("delivery %d: reply %q, want %q", delivery, got, s.want)
				}
			}
		})
	}
	// subscribe-scene, scan and scan-safe each counted once despite their retries.
	st, err := store.SceneStats(ctx, riddle, "", "")
	if err != nil {
		t.Fatal(err)
	}
	if st.Totals.Scans != 3 || st.Totals.Subscribes != 1 || st.Totals.UniqueUsers != 1 {
		t.Errorf("stats = %+v, want 3 scans, 1 subscribe, 1 unique user", st.Totals)
	}
	if logs := fn.Logs(); strings.Contains(logs, aesKey) || strings.Contains(logs, token) || !strings.Contains(logs, `"outcome":"duplicate"`) {
		t.Errorf("function logs leak a secret or miss the retry's outcome:\n%s", logs)
	}
}

// startCallback runs the callback as Lambda would: its bootstrap, built from this
// package, under aws-lambda-rie, against a DynamoDB Local of its own that holds the
// template's tables and the riddle's permanent code. env is the function's WeChat
// configuration; the tables' names and endpoint are added after it. Both stop when t
// ends. The store reads the function's tables, so that a test can see what it counted.
func startCallback(t *testing.T, ctx context.Context, env []string) (*rie.Function, *dynamo.Store) {
	t.Helper()
	rie.SkipShort(t)
	dynamolocal.SkipShort(t)
	db, err := dynamolocal.Start(ctx, dynamolocal.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	client, err := db.Client(ctx)
	if err != nil {
		t.Fatal(err)
	}
	tpl, err := cfn.Load("../../template.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if err := cfn.CreateTables(ctx, client, tpl.Tables(), func(id string) string { return "e2e-" + id }); err != nil {
		t.Fatal(err)
	}
	tables := dynamo.Tables{Scenes: "e2e-ScenesTable", Events: "e2e-EventsTable"}
	store, err := dynamo.New(client, tables, dynamo.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := store.PutCode(ctx, &qr.Code{Scene: riddle, ActionName: "QR_LIMIT_STR_SCENE", Permanent: true, Reply: qr.TextReply(riddleText), CreatedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}

	bootstrap, err := rie.Build(ctx, "wechatqr/functions/callback", t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	fn, err := rie.Start(ctx, rie.Options{
		Name:      "callback",
		Bootstrap: bootstrap,
		Env: slices.Concat(env, []string{
			"SCENES_TABLE=" + tables.Scenes, "EVENTS_TABLE=" + tables.Events,
			"AWS_ENDPOINT_URL_DYNAMODB=" + db.Endpoint(),
		}),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = fn.Close() })
	return fn, store
}

func invoke(t *testing.T, fn *rie.Function, payload []byte) events.APIGatewayV2HTTPResponse {
	t.Helper()
	out, err := fn.Invoke(context.Background(), payload)
	if err != nil {
		t.Fatalf("invoke: %v\n%s", err, fn.Logs())
	}
	var res events.APIGatewayV2HTTPResponse
	if err := json.Unmarshal(out, &res); err != nil {
		t.Fatalf("response %q: %v", out, err)
	}
	return res
}

// resign gives a committed event a fresh timestamp and its signatures.
func resign(t *testing.T, raw []byte, at time.Time) []byte {
	t.Helper()
	var e events.APIGatewayV2HTTPRequest
	if err := json.Unmarshal(raw, &e); err != nil {
		t.Fatal(err)
	}
	if err := stack.Resign(&e, token, at); err != nil {
		t.Fatal(err)
	}
	out, err := json.Marshal(e)
	if err != nil {
		t.Fatal(err)
	}
	return out
}
