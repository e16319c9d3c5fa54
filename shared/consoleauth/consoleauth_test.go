package consoleauth_test

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"

	"wechatqr/shared/caller"
	"wechatqr/shared/consoleauth"
)

type staticVerifier struct{}

func (staticVerifier) Verify(_ context.Context, tok string) (consoleauth.Claims, error) {
	if tok != "good" {
		return consoleauth.Claims{}, consoleauth.ErrInvalidToken
	}
	return consoleauth.Claims{Subject: "sub-1", Username: "alice", Groups: []string{"account-wx5823bf96d3bd56c7"}}, nil
}

// TestGuardLogsRefusalsWithoutOpenIDOrSessionID: the refused request's path is
// logged as its route (the console's scripts put openids and session ids in
// paths); the token is never logged.
func TestGuardLogsRefusalsWithoutOpenIDOrSessionID(t *testing.T) {
	const openid, session = "oKqdL5Vn7Ek3wOq2fG8mZ1xYc9aQ", "abcdefghijklmnopqrstuvwxyz"
	var logs bytes.Buffer
	guard := consoleauth.Guard(staticVerifier{}, slog.New(slog.NewJSONHandler(&logs, nil)))(http.NotFoundHandler())
	for _, c := range []struct{ path, want string }{
		{"/console/api/users/" + openid, `"path":"/console/api/users/{openid}"`},
		{"/console/api/logins/" + session, `"path":"/console/api/logins/{id}"`},
	} {
		logs.Reset()
		r := httptest.NewRequest(http.MethodGet, c.path, nil)
		r.Header.Set("Authorization", "Bearer bad-token-value")
		w := httptest.NewRecorder()
		guard.ServeHTTP(w, r)
		if w.Code != http.StatusUnauthorized {
			t.Fatalf("%d, want 401", w.Code)
		}
		line := logs.String()
		if !strings.Contains(line, c.want) {
			t.Errorf("logged %q, want %s", line, c.want)
		}
		for _, secret := range []string{openid, session, "bad-token-value"} {
			if strings.Contains(line, secret) {
				t.Errorf("logged %q", line)
			}
		}
	}
}

// TestGuardSetsTheCaller: the request it lets through carries the user as its
// caller, for the API's audit lines.
func TestGuardSetsTheCaller(t *testing.T) {
	var got caller.Caller
	guard := consoleauth.Guard(staticVerifier{}, nil)(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
		got = caller.From(r.Context())
	}))
	r := httptest.NewRequest(http.MethodPost, "/console/api/qrcodes", nil)
	r.Header.Set("Authorization", "Bearer good")
	guard.ServeHTTP(httptest.NewRecorder(), r)
	if want := (caller.Caller{Kind: caller.Console, ID: "alice", Subject: "sub-1", Groups: []string{"account-wx5823bf96d3bd56c7"}}); !reflect.DeepEqual(got, want) {
		t.Errorf("caller = %+v, want %+v", got, want)
	}
}
