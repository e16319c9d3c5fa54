package stack_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"wechatqr/local/stack"
	"wechatqr/shared/redact"
	"wechatqr/shared/wechat/wechattest"
)

// syncBuffer is the stack's log sink: every server and function writes to it
// from its own goroutine.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// randomText is n characters of [a-zA-Z0-9]: credentials no log could hold by
// chance (the emulator's defaults, like the Token "wechatqr", are words the
// logs hold for other reasons).
func randomText(n int) string {
	const chars = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	b := make([]byte, n)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = chars[int(b[i])%len(chars)]
	}
	return string(b)
}

// TestNoLogLineNamesAFollowerOrASecret runs what the deployed stack sees in a
// day through the real parts (every function's bootstrap under aws-lambda-rie,
// DynamoDB Local, moto_server, the emulator): codes created by an IAM caller and
// through the console, with a tag and follow-ups; subscribes and scans in
// plaintext and safe mode; a log-in session scanned and polled; follow-ups and
// tagging sent by the scan actions; requests that fail with an openid or a
// session id in the path; a token refresh; two erasures. Then it searches every
// line the stack printed, function by function and the stack's own, for every
// openid, session id and access token the emulator issued, and the AppSecret,
// Token and EncodingAESKey. It also checks that the search saw each function's
// JSON lines, and that every change left an audit line naming its caller.
func TestNoLogLineNamesAFollowerOrASecret(t *testing.T) {
	stack.SkipShort(t)
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	secretBytes := make([]byte, 16)
	_, _ = rand.Read(secretBytes)
	platform := wechattest.PlatformConfig{
		AppSecret:      hex.EncodeToString(secretBytes),
		Token:          randomText(32),
		EncodingAESKey: randomText(43),
	}
	_, _ = rand.Read(secretBytes)
	second := stack.Account{Name: "Privacy B", Platform: wechattest.PlatformConfig{
		AppID: "wxb1b1b1b1b1b1b1b1", AppSecret: hex.EncodeToString(secretBytes),
		Token: randomText(32), EncodingAESKey: randomText(43),
	}}
	var logs syncBuffer
	s, err := stack.Start(ctx, stack.Options{BuildDir: t.TempDir(), Platform: platform, Accounts: []stack.Account{second}, Logs: &logs})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	srv := httptest.NewServer(s.Front())
	t.Cleanup(srv.Close)
	front := srv.URL

	// openids as WeChat's look: 28 characters.
	follower, other, loginUser := "o"+randomText(27), "o"+randomText(27), "o"+randomText(27)
	openids := []string{follower, other, loginUser}

	// Changes: one by an IAM caller (the front signs /qrcodes as the template's
	// AWS_IAM routes are), the others through the console (no sign-in locally).
	for _, c := range []struct{ method, path, body string }{
		{"POST", "/qrcodes", `{"scene":"privacy-poster","permanent":true,"reply":{"type":"text","content":"hello"},"tag":"Privacy","followups":[{"type":"text","content":"thanks for coming"}]}`},
		{"POST", "/console/api/qrcodes", `{"scene":"privacy-console","permanent":true}`},
		{"PUT", "/qrcodes/privacy-console/reply", `{"type":"text","content":"console reply"}`},
		{"PUT", "/console/api/qrcodes/privacy-console/actions", `{"tag":"Console","followups":[{"type":"text","content":"later"}]}`},
	} {
		if res := call(t, c.method, front+c.path, c.body, nil); res.StatusCode/100 != 2 {
			b, _ := io.ReadAll(res.Body)
			t.Fatalf("%s %s: %d %s", c.method, c.path, res.StatusCode, b)
		}
	}

	// The second account's Token rotated through the API (the audit names the
	// fields, never their values).
	rotated := randomText(32)
	if res := call(t, "PATCH", front+"/accounts/"+second.Platform.AppID, `{"token":"`+rotated+`"}`, nil); res.StatusCode != 200 {
		t.Fatalf("PATCH /accounts/%s: %d", second.Platform.AppID, res.StatusCode)
	}

	// Follows and scans, plaintext and safe, in both accounts.
	for _, scan := range []struct {
		openid, scene string
		mode          wechattest.Mode
	}{
		{follower, "privacy-poster", wechattest.Plaintext},
		{follower, "privacy-poster", wechattest.Safe},
		{other, "privacy-console", wechattest.Safe},
		{other, "privacy-poster", wechattest.Compatible},
	} {
		push, err := s.Platform.ScanScene(ctx, front+"/wechat", scan.openid, scan.scene, scan.mode)
		if err != nil || push.Status() != 200 {
			t.Fatalf("scan of %s: %v %d", scan.scene, err, push.Status())
		}
	}

	b := s.Network.Platform(second.Platform.AppID)
	// Signed with the Token before the rotation, still accepted as the previous one.
	if push, err := b.ScanScene(ctx, front+"/wechat/"+second.Platform.AppID, follower, "privacy-b", wechattest.Safe); err != nil || push.Status() != 200 {
		t.Fatalf("scan in the second account: %v %d", err, push.Status())
	}

	// A log-in session: created, scanned, polled, and polled through the console.
	var login struct{ ID, Scene, Status string }
	if res := call(t, "POST", front+"/logins", `{"expire_seconds":120}`, &login); res.StatusCode != 201 || login.ID == "" {
		t.Fatalf("POST /logins: %d %+v", res.StatusCode, login)
	}
	if push, err := s.Platform.ScanScene(ctx, front+"/wechat", loginUser, login.Scene, wechattest.Safe); err != nil || push.Status() != 200 {
		t.Fatalf("log-in scan: %v %d", err, push.Status())
	}
	for _, path := range []string{"/logins/" + login.ID + "?wait=5", "/console/api/logins/" + login.ID} {
		var got struct{ Status, OpenID string }
		if res := call(t, "GET", front+path, "", &got); res.StatusCode != 200 || got.OpenID != loginUser {
			t.Fatalf("GET %s: %d %+v", path, res.StatusCode, got)
		}
	}
	// Requests that fail, with an openid or a session id in the path: their
	// "request failed" lines carry the path.
	unknownSession := strings.Repeat("a", 26)
	for _, c := range []struct {
		method, path string
		status       int
	}{
		{"GET", "/console/api/logins/" + unknownSession, 404},
		{"GET", "/console/api/users/" + follower, 404},
		{"GET", "/console/api/qrcodes/" + url.PathEscape(login.Scene), 404},
		{"DELETE", "/console/api/users/" + follower + "!", 400},
	} {
		if res := call(t, c.method, front+c.path, "", nil); res.StatusCode != c.status {
			t.Errorf("%s %s: %d, want %d", c.method, redact.Path(c.path), res.StatusCode, c.status)
		}
	}

	// The scan actions tag and send the follow-ups.
	if err := s.StreamIdle(ctx); err != nil {
		t.Fatal(err)
	}
	if len(s.Platform.Messages(follower)) == 0 {
		t.Fatal("the scan actions sent the follower no follow-up")
	}
	// A token refresh, as the schedule runs it.
	refresh, err := os.ReadFile("../../events/tokenrefresh.json")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Invoke(ctx, "TokenRefreshFunction", refresh); err != nil {
		t.Fatal(err)
	}
	// The erasures: one by IAM, one through the console.
	for _, path := range []string{"/users/" + follower, "/console/api/users/" + other} {
		if res := call(t, "DELETE", front+path, "", nil); res.StatusCode != 200 {
			t.Fatalf("DELETE %s: %d", redact.Path(path), res.StatusCode)
		}
	}
	if err := s.StreamIdle(ctx); err != nil {
		t.Fatal(err)
	}

	secrets := map[string]string{
		"AppSecret": platform.AppSecret, "Token": platform.Token, "EncodingAESKey": platform.EncodingAESKey,
		"second AppSecret": second.Platform.AppSecret, "second Token": second.Platform.Token,
		"second EncodingAESKey": second.Platform.EncodingAESKey, "second Token rotated": rotated,
		"log-in session id": login.ID, "unknown session id": unknownSession,
	}
	for i, o := range openids {
		secrets["openid "+string(rune('A'+i))] = o
	}
	tokens := append(s.Platform.IssuedTokens(), b.IssuedTokens()...)
	if len(tokens) == 0 {
		t.Fatal("the emulator issued no access token: the scenario did not reach WeChat")
	}
	for i, tok := range tokens {
		secrets["access token "+string(rune('A'+i))] = tok
	}

	// Every function's own output, and everything the stack printed (its stream
	// mappings, DynamoDB Local, the emulators), which holds the functions' too.
	sources := map[string]string{"stack": logs.String()}
	for _, f := range s.Template.Functions() {
		fn, ok := s.Function(f.LogicalID)
		if !ok {
			t.Fatalf("%s is not running", f.LogicalID)
		}
		out := fn.Logs()
		// The search must see the function's log lines at all.
		if n := strings.Count(out, `"msg":`); n == 0 {
			t.Errorf("%s printed no JSON log line: the search would see nothing", f.LogicalID)
		} else {
			t.Logf("%s: %d log lines searched", f.LogicalID, n)
		}
		sources[f.LogicalID] = out
	}
	for src, out := range sources {
		for _, line := range strings.Split(out, "\n") {
			for what, secret := range secrets {
				if strings.Contains(line, secret) {
					t.Errorf("%s logged the %s: %s", src, what, line)
				}
			}
		}
	}

	// The audit: one line per change, naming the caller; the follower only hashed.
	audits := auditLines(t, sources["QRCodeFunction"])
	want := []struct{ action, route, callerKind, callerID string }{
		{"create account", "POST /accounts", "iam", "arn:aws:sts::123456789012:assumed-role/operator/local"},
		{"code created", "POST /qrcodes", "iam", "arn:aws:sts::123456789012:assumed-role/operator/local"},
		{"code created", "POST /qrcodes", "anonymous", "anonymous (local)"},
		{"reply set", "PUT /qrcodes/{scene}/reply", "iam", "arn:aws:sts::123456789012:assumed-role/operator/local"},
		{"actions set", "PUT /qrcodes/{scene}/actions", "anonymous", "anonymous (local)"},
		{"change account", "PATCH /accounts/{appid}", "iam", "arn:aws:sts::123456789012:assumed-role/operator/local"},
		{"follower erased", "DELETE /users/{openid}", "iam", "arn:aws:sts::123456789012:assumed-role/operator/local"},
		{"follower erased", "DELETE /users/{openid}", "anonymous", "anonymous (local)"},
	}
	if len(audits) != len(want) {
		t.Errorf("%d audit lines, want %d: %+v", len(audits), len(want), audits)
	}
	for i := range min(len(audits), len(want)) {
		a, w := audits[i], want[i]
		if a.Action != w.action || a.Route != w.route || a.Caller.Kind != w.callerKind || a.Caller.ID != w.callerID {
			t.Errorf("audit %d = %+v, want %+v", i, a, w)
		}
	}
	if len(audits) == len(want) {
		for i, o := range []string{follower, other} {
			if a := audits[len(want)-2+i]; a.OpenIDSHA256 != redact.OpenID(o) {
				t.Errorf("erasure %d names the follower as %q, want the SHA-256 of the openid", i, a.OpenIDSHA256)
			}
		}
	}
}

type auditLine struct {
	Action       string `json:"action"`
	Route        string `json:"route"`
	OpenIDSHA256 string `json:"openid_sha256"`
	Caller       struct {
		Kind string `json:"kind"`
		ID   string `json:"id"`
	} `json:"caller"`
}

// auditLines are the "msg":"audit" lines of out, in order.
func auditLines(t *testing.T, out string) []auditLine {
	t.Helper()
	var lines []auditLine
	for _, raw := range strings.Split(out, "\n") {
		i := strings.Index(raw, "{")
		if i < 0 || !strings.Contains(raw, `"msg":"audit"`) {
			continue
		}
		var l auditLine
		if err := json.Unmarshal([]byte(raw[i:]), &l); err != nil {
			t.Errorf("an audit line that is not JSON: %q: %v", raw, err)
			continue
		}
		lines = append(lines, l)
	}
	return lines
}
