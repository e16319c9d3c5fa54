package api_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"wechatqr/functions/apigw"
	"wechatqr/shared/api"
	"wechatqr/shared/console"
	"wechatqr/shared/consoleauth"
	"wechatqr/shared/redact"
)

type auditLine struct {
	Msg          string `json:"msg"`
	Action       string `json:"action"`
	Route        string `json:"route"`
	Scene        string `json:"scene"`
	OpenIDSHA256 string `json:"openid_sha256"`
	Caller       struct {
		Kind    string `json:"kind"`
		ID      string `json:"id"`
		Subject string `json:"subject"`
		Account string `json:"account"`
	} `json:"caller"`
}

// audits are the "msg":"audit" lines logged so far.
func (s *stack) audits(t *testing.T) []auditLine {
	t.Helper()
	var out []auditLine
	for _, raw := range strings.Split(strings.TrimSpace(s.logs.String()), "\n") {
		var l auditLine
		if err := json.Unmarshal([]byte(raw), &l); err != nil {
			t.Fatalf("a log line that is not JSON: %q", raw)
		}
		if l.Msg == "audit" {
			out = append(out, l)
		}
	}
	return out
}

// TestAuditNamesTheIAMPrincipalOfASignedEvent plays the files of events/ that
// change something through the Lambda adapter, as API Gateway hands them to the
// function after checking their SigV4 signature: each change logs one audit
// line naming the principal of requestContext.authorizer.iam, and the erased
// follower only by the SHA-256 of the openid.
func TestAuditNamesTheIAMPrincipalOfASignedEvent(t *testing.T) {
	s := newStack(t, api.Config{})
	handle := apigw.Handler(s.api)
	files := []struct{ file, action, route string }{
		{"qrcode-create.json", "code created", "POST /qrcodes"},
		{"qrcode-set-reply.json", "reply set", "PUT /qrcodes/{scene}/reply"},
		{"qrcode-set-actions.json", "actions set", "PUT /qrcodes/{scene}/actions"},
		{"qrcode-get.json", "", ""}, // a read: no audit line
		{"user-erase.json", "follower erased", "DELETE /users/{openid}"},
	}
	var principal events.APIGatewayV2HTTPRequestContextAuthorizerIAMDescription
	var openid string
	for _, f := range files {
		raw, err := os.ReadFile(filepath.Join("../../events", f.file))
		if err != nil {
			t.Fatal(err)
		}
		var e events.APIGatewayV2HTTPRequest
		if err := json.Unmarshal(raw, &e); err != nil {
			t.Fatal(err)
		}
		if e.RequestContext.Authorizer == nil || e.RequestContext.Authorizer.IAM == nil {
			t.Fatalf("%s carries no IAM identity", f.file)
		}
		principal = *e.RequestContext.Authorizer.IAM
		if o := e.PathParameters["openid"]; o != "" {
			openid = o
		}
		res, err := handle(context.Background(), e)
		if err != nil || res.StatusCode/100 != 2 {
			t.Fatalf("%s: %v %d %s", f.file, err, res.StatusCode, res.Body)
		}
	}
	got := s.audits(t)
	want := files[:0:0]
	for _, f := range files {
		if f.action != "" {
			want = append(want, f)
		}
	}
	if len(got) != len(want) {
		t.Fatalf("%d audit lines, want %d:\n%s", len(got), len(want), s.logs.String())
	}
	for i, w := range want {
		g := got[i]
		if g.Action != w.action || g.Route != w.route || g.Caller.Kind != "iam" ||
			g.Caller.ID != principal.UserARN || g.Caller.Account != principal.AccountID || g.Caller.Subject != principal.UserID {
			t.Errorf("audit line %d = %+v, want %s %s by %s", i, g, w.action, w.route, principal.UserARN)
		}
	}
	if last := got[len(got)-1]; openid == "" || last.OpenIDSHA256 != redact.OpenID(openid) {
		t.Errorf("the erasure names the follower as %q, want the SHA-256 of the event's openid", last.OpenIDSHA256)
	}
	if strings.Contains(s.logs.String(), openid) {
		t.Errorf("the logs hold the erased openid:\n%s", s.logs.String())
	}
}

type oneUser struct{}

func (oneUser) Verify(_ context.Context, tok string) (consoleauth.Claims, error) {
	if tok != "good" {
		return consoleauth.Claims{}, consoleauth.ErrInvalidToken
	}
	return consoleauth.Claims{Subject: "0b5e1c2a-sub", Username: "alice@example.com"}, nil
}

// TestAuditNamesTheConsoleUser: a change made through the console names the
// Cognito user the guard verified; one refused by the guard changes nothing
// and leaves no audit line.
func TestAuditNamesTheConsoleUser(t *testing.T) {
	s := newStack(t, api.Config{})
	h, err := console.Mount(s.api, console.Config{Guard: consoleauth.Guard(oneUser{}, nil)})
	if err != nil {
		t.Fatal(err)
	}
	for _, tok := range []string{"bad", "good"} {
		r := httptest.NewRequest(http.MethodPost, "/console/api/qrcodes", strings.NewReader(`{"scene":"console-made","permanent":true}`))
		r.Header.Set("Authorization", "Bearer "+tok)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if want := map[string]int{"bad": 401, "good": 201}[tok]; w.Code != want {
			t.Fatalf("token %s: %d, want %d: %s", tok, w.Code, want, w.Body)
		}
	}
	got := s.audits(t)
	if len(got) != 1 {
		t.Fatalf("%d audit lines, want 1", len(got))
	}
	if g := got[0]; g.Action != "code created" || g.Scene != "console-made" || g.Route != "POST /qrcodes" ||
		g.Caller.Kind != "console" || g.Caller.ID != "alice@example.com" || g.Caller.Subject != "0b5e1c2a-sub" {
		t.Errorf("audit line = %+v, want the code created by alice@example.com", g)
	}
}

// TestAuditWithoutCallerSaysAnonymousLocal: with neither the gateway's IAM nor
// a sign-in (the local stack), the line says so rather than naming no one.
// A change that fails leaves no audit line.
func TestAuditWithoutCallerSaysAnonymousLocal(t *testing.T) {
	s := newStack(t, api.Config{})
	if w := s.do(t, "PUT", "/qrcodes/nowhere/reply", `{"type":"text","content":"x"}`, nil); w.Code != 404 {
		t.Fatalf("PUT reply of no code: %d", w.Code)
	}
	if w := s.do(t, "POST", "/qrcodes", `{"scene":"local-made","permanent":true}`, nil); w.Code != 201 {
		t.Fatalf("create: %d", w.Code)
	}
	got := s.audits(t)
	if len(got) != 1 || got[0].Caller.Kind != "anonymous" || got[0].Caller.ID != "anonymous (local)" || got[0].Scene != "local-made" {
		t.Errorf("audit lines = %+v, want one by anonymous (local)", got)
	}
}

// TestFailedRequestsLogNoOpenIDOrSessionID: the "request failed" lines of paths
// that carry a follower's openid or a session id show the route's parameter.
func TestFailedRequestsLogNoOpenIDOrSessionID(t *testing.T) {
	s := newStack(t, api.Config{})
	const openid, session = "oKqdL5Vn7Ek3wOq2fG8mZ1xYc9aQ", "abcdefghijklmnopqrstuvwxyz"
	for _, c := range []struct {
		method, target string
		status         int
		path           string
	}{
		{"GET", "/users/" + openid, 404, `"path":"/users/{openid}"`},
		{"DELETE", "/users/" + openid + "%21", 400, `"path":"/users/{openid}"`},
		{"GET", "/logins/" + session, 404, `"path":"/logins/{id}"`},
		{"GET", "/logins/" + session + "x", 404, `"path":"/logins/{id}"`},
		{"GET", "/qrcodes/login:" + session, 404, `"path":"/qrcodes/login:{id}"`},
	} {
		before := len(s.logs.String())
		if w := s.do(t, c.method, c.target, "", nil); w.Code != c.status {
			t.Errorf("%s %s: %d, want %d", c.method, redact.Path(c.target), w.Code, c.status)
		}
		line := s.logs.String()[before:]
		if !strings.Contains(line, c.path) {
			t.Errorf("%s %s logged %q, want %s", c.method, redact.Path(c.target), line, c.path)
		}
		if strings.Contains(line, openid) || strings.Contains(line, session) {
			t.Errorf("%s %s logged %q", c.method, redact.Path(c.target), line)
		}
	}
}
