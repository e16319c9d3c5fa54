package redact_test

import (
	"strings"
	"testing"

	"wechatqr/shared/qr"
	"wechatqr/shared/redact"
)

const (
	openid  = "o6_bmjrPTlm6_2sgVt7hMZOPfL2M"
	session = "abcdefghijklmnopqrstuvwxyz"
)

func TestPathHidesOpenIDsAndSessionIDs(t *testing.T) {
	tests := []struct{ path, want string }{
		{"/users/" + openid, "/users/{openid}"},
		{"/console/api/users/" + openid, "/console/api/users/{openid}"},
		{"/logins/" + session, "/logins/{id}"},
		{"/console/api/logins/" + session, "/console/api/logins/{id}"},
		{"/qrcodes/login:" + session + "/image", "/qrcodes/login:{id}/image"},
		{"/qrcodes/login%3A" + session, "/qrcodes/login:{id}"},
		{"/console/api/qrcodes/LOGIN:" + session + "/stats", "/console/api/qrcodes/login:{id}/stats"},
		// Paths no route matches still hide what they carry.
		{"/users//" + openid, "/users/{openid}"},
		{"//USERS/" + openid + "/more", "//USERS/{openid}"},
		{"/users/" + openid + "/x/y", "/users/{openid}"},
		{"/logins/" + session + "/extra", "/logins/{id}"},
		// What is no one's stays.
		{"/qrcodes/poster-1/stats", "/qrcodes/poster-1/stats"},
		{"/qrcodes", "/qrcodes"},
		{"/users", "/users"},
		{"/console/api", "/console/api"},
		{"/console/apix/users/" + openid, "/console/apix/users/{openid}"},
		{"/", "/"},
		{"", ""},
	}
	for _, tt := range tests {
		got := redact.Path(tt.path)
		if got != tt.want {
			t.Errorf("Path(%q) = %q, want %q", tt.path, got, tt.want)
		}
		if strings.Contains(got, openid) || strings.Contains(got, session) {
			t.Errorf("Path(%q) = %q still names someone", tt.path, got)
		}
	}
}

func TestSceneHidesOnlyLogInScenes(t *testing.T) {
	if got := redact.Scene(qr.LoginPrefix + session); got != qr.LoginPrefix+"{id}" {
		t.Errorf("a log-in scene: %q", got)
	}
	if got := redact.Scene("北京/海报"); got != "北京/海报" {
		t.Errorf("an operator's scene changed: %q", got)
	}
}

func TestOpenIDIsItsSHA256(t *testing.T) {
	// As `printf %s o6_bmjrPTlm6_2sgVt7hMZOPfL2M | sha256sum` prints it.
	const want = "30cfe5391ab1a8553e177f063046d4fe8b268f98bc17e32e4c4461bebe281707"
	if got := redact.OpenID(openid); got != want {
		t.Fatalf("OpenID = %q, want %q", got, want)
	}
}

// FuzzPath: whatever the path, nothing but the parameter's name follows a
// users or logins collection.
func FuzzPath(f *testing.F) {
	for _, s := range []string{"/users/" + openid, "/console/api/logins/" + session, "/qrcodes/login:" + session, "//users//x", "/a/b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, path string) {
		got := redact.Path(path)
		for _, coll := range []string{"/users/", "/logins/"} {
			if i := strings.Index(asciiLower(got), coll); i >= 0 {
				rest := got[i+len(coll):]
				if rest != "{openid}" && rest != "{id}" {
					t.Fatalf("Path(%q) = %q keeps %q after %s", path, got, rest, coll)
				}
			}
		}
	})
}

func TestLoginPrefixIsTheDomains(t *testing.T) {
	// redact repeats qr.LoginPrefix to import nothing; a log-in scene is hidden
	// only while the two agree.
	if got := redact.Scene(qr.LoginPrefix + "x"); !strings.HasPrefix(got, qr.LoginPrefix) || strings.HasSuffix(got, "x") {
		t.Errorf("Scene(%q) = %q", qr.LoginPrefix+"x", got)
	}
}

// asciiLower lowers A-Z only, keeping byte offsets (strings.ToLower turns an
// invalid byte into three).
func asciiLower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}
