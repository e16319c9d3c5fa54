// Package redact turns what a request or a record names into what a log line
// may show: no follower's openid, no log-in session's id. A follower a log must
// correlate appears as the SHA-256 of the openid (OpenID), as DELETE
// /users/{openid} answers it. Every logger that writes a path or a scene goes
// through here; docs/operations.md ("What the logs hold") lists the rules.
//
// It imports only the standard library, so the callback, the API, the
// console's guard and the scan actions all use the same rules.
package redact

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
)

// loginPrefix is qr.LoginPrefix, repeated so that this package depends on
// nothing; a test keeps the two equal.
const loginPrefix = "login:"

// consolePrefix is where the console mounts the API (shared/console).
const consolePrefix = "/console/api"

// OpenID names a follower in logs without naming them: the hex SHA-256 of the
// openid.
func OpenID(openid string) string {
	sum := sha256.Sum256([]byte(openid))
	return hex.EncodeToString(sum[:])
}

// Scene is a scene as logs may show it: a log-in session's scene ("login:" and
// the session's id, which lets whoever holds it poll the session) becomes
// "login:{id}"; any other scene is the operator's own label and stays.
func Scene(scene string) string {
	if strings.HasPrefix(scene, loginPrefix) {
		return loginPrefix + "{id}"
	}
	return scene
}

// Path is a request path as logs may show it: the segments that carry a
// follower's openid or a log-in session's id replaced by their route's
// parameter name, under the API's root and under the console's /console/api.
//
//	/users/o6_bmjrPTlm6_2sgVt7hMZOPfL2M        → /users/{openid}
//	/console/api/logins/3k2jx…                 → /console/api/logins/{id}
//	/qrcodes/login:3k2jx…/image                → /qrcodes/login:{id}/image
//	/qrcodes/poster-1/stats                    → /qrcodes/poster-1/stats
//
// It errs on the side of hiding: everything after a users or logins collection
// goes (whatever the case, however many slashes), as does any segment that is
// a log-in scene, so a path no route matches cannot carry one out either.
func Path(path string) string {
	prefix, rest := "", path
	if p, ok := strings.CutPrefix(path, consolePrefix); ok && (p == "" || p[0] == '/') {
		prefix, rest = consolePrefix, p
	}
	segs := strings.Split(rest, "/")
	for i, seg := range segs {
		if seg == "" {
			continue
		}
		switch {
		case strings.EqualFold(seg, "users") && i+1 < len(segs):
			return prefix + strings.Join(segs[:i+1], "/") + "/{openid}"
		case strings.EqualFold(seg, "logins") && i+1 < len(segs):
			return prefix + strings.Join(segs[:i+1], "/") + "/{id}"
		case isLoginScene(seg):
			segs[i] = loginPrefix + "{id}"
		}
	}
	return prefix + strings.Join(segs, "/")
}

// isLoginScene reports a path segment that is a log-in scene, escaped or not
// (':' may come as %3A), whatever its case.
func isLoginScene(seg string) bool {
	s := strings.ToLower(seg)
	return strings.HasPrefix(s, loginPrefix) || strings.HasPrefix(s, "login%3a")
}
