// Package consoleauth signs people in to the deployed console: it checks the
// access tokens of the stack's Amazon Cognito user pool on every request the
// console's scripts make under /console/api/, and tells the scripts (through
// /console/config.json) where to sign in.
//
// Why in the function and not with API Gateway's JWT authorizer: the authorizer
// needs the app client's id as its audience, and the app client needs the API's
// URL as its callback, a cycle in the template. So the console's routes are
// public at the gateway, and Guard refuses every data request that lacks a valid
// token of the pool.
package consoleauth

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strings"

	"wechatqr/shared/caller"
	"wechatqr/shared/redact"
)

// Claims is what a verified token says about its holder.
type Claims struct {
	Subject  string // the user's stable id in the pool
	Username string
	// Groups are the user's groups in the pool (cognito:groups): which accounts
	// they see (shared/caller).
	Groups []string
}

// Verifier checks one bearer token.
type Verifier interface {
	Verify(ctx context.Context, token string) (Claims, error)
}

var (
	// ErrNoToken means the request carries no bearer token.
	ErrNoToken = errors.New("consoleauth: no bearer token")
	// ErrInvalidToken means the token is not an access token this console accepts:
	// malformed, badly signed, expired, or from another pool or app client.
	ErrInvalidToken = errors.New("consoleauth: invalid token")
	// ErrKeysUnavailable means the pool's signing keys could not be fetched, so no
	// token can be checked right now.
	ErrKeysUnavailable = errors.New("consoleauth: the pool's signing keys are unavailable")
)

type claimsKey struct{}

// FromContext returns the claims Guard put on an authorized request.
func FromContext(ctx context.Context) (Claims, bool) {
	c, ok := ctx.Value(claimsKey{}).(Claims)
	return c, ok
}

// Guard lets through only the requests whose `Authorization: Bearer` token v
// accepts, with the token's claims on the request's context (and the user as
// the request's caller.Caller). Refusals are 401 (503 when the keys cannot be
// fetched) with the API's error body; the token itself is never echoed or
// logged, and the path is logged redacted (no openid, no log-in session id).
func Guard(v Verifier, log *slog.Logger) func(http.Handler) http.Handler {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			claims, err := verifyRequest(r, v)
			if err != nil {
				status, body := refusal(err)
				log.LogAttrs(r.Context(), slog.LevelInfo, "console request refused",
					slog.String("method", r.Method), slog.String("path", redact.Path(r.URL.Path)),
					slog.Int("status", status), slog.String("reason", body.Error))
				if status == http.StatusUnauthorized {
					w.Header().Set("WWW-Authenticate", `Bearer realm="console"`)
				}
				writeJSON(w, status, body)
				return
			}
			ctx := context.WithValue(r.Context(), claimsKey{}, claims)
			// The API's audit lines name the user through shared/caller.
			ctx = caller.With(ctx, caller.Caller{Kind: caller.Console, ID: claims.Username, Subject: claims.Subject, Groups: claims.Groups})
			next.ServeHTTP(w, r.WithContext(ctx))
		})
	}
}

// Refuse answers every request 401 with message: the console's data when the
// function has no sign-in configured (and CONSOLE_AUTH is not "none").
func Refuse(message string) func(http.Handler) http.Handler {
	return func(http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			writeJSON(w, http.StatusUnauthorized, errorJSON{Error: "console_auth_unconfigured", Message: message})
		})
	}
}

func verifyRequest(r *http.Request, v Verifier) (Claims, error) {
	tok, err := bearer(r.Header.Get("Authorization"))
	if err != nil {
		return Claims{}, err
	}
	return v.Verify(r.Context(), tok)
}

// bearer takes the token out of an Authorization header (the scheme is
// case-insensitive, RFC 6750).
func bearer(h string) (string, error) {
	scheme, tok, ok := strings.Cut(strings.TrimSpace(h), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", ErrNoToken
	}
	tok = strings.TrimSpace(tok)
	if tok == "" {
		return "", ErrNoToken
	}
	return tok, nil
}

type errorJSON struct {
	Error   string `json:"error"`
	Message string `json:"message"`
}

func refusal(err error) (int, errorJSON) {
	switch {
	case errors.Is(err, ErrNoToken):
		return http.StatusUnauthorized, errorJSON{Error: "unauthorized",
			Message: "sign in first: console requests need an Authorization: Bearer access token from the console's sign-in"}
	case errors.Is(err, ErrKeysUnavailable):
		return http.StatusServiceUnavailable, errorJSON{Error: "unavailable",
			Message: "the sign-in keys could not be fetched to check your token; retry shortly"}
	default:
		return http.StatusUnauthorized, errorJSON{Error: "invalid_token",
			Message: "your sign-in is not valid (expired, or not from this console's user pool and app); sign in again"}
	}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, _ := json.Marshal(v)
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(append(b, '\n'))
}
