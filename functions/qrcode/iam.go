package main

import (
	"encoding/json"
	"log/slog"
	"net/http"
	"strings"

	"wechatqr/functions/apigw"
	"wechatqr/shared/consoleauth"
)

// forbiddenMessage is the 403's message for a request requireIAM refuses.
const forbiddenMessage = "this route needs API Gateway's IAM authorization, and the request came without an IAM caller: " +
	"the route is misconfigured (every route of this function outside /console must be AWS_IAM)"

// edge is h as the gateway's events reach it: behind requireIAM, except on
// the local stack (WECHATQR_LOCAL=1), which has no IAM (make invoke's events,
// written by hand, may carry no caller).
func edge(h http.Handler, getenv func(string) string, log *slog.Logger) http.Handler {
	if consoleauth.Local(getenv) {
		return h
	}
	return requireIAM(h, log)
}

// requireIAM refuses, 403 forbidden, a request outside the console that
// carries no IAM caller in its API Gateway request context, and logs it.
//
// Why: deployed, every route of this function but the console's is AWS_IAM at
// the gateway, so such a request means a route lost its authorizer (a template
// edit, a route added by hand); the management API must not then be open to
// anyone. The console's routes (route key /console, /console/…) are public at
// the gateway and checked by their sign-in (shared/consoleauth). The route key
// is the gateway's, not the caller's: a path cannot pass for the console's.
// The local stack turns this off (consoleauth.Local; docs/operations.md).
func requireIAM(next http.Handler, log *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rc, ok := apigw.RequestContext(r.Context())
		if ok && (consoleRoute(rc.RouteKey) || rc.Authorizer != nil && rc.Authorizer.IAM != nil && rc.Authorizer.IAM.UserARN != "") {
			next.ServeHTTP(w, r)
			return
		}
		// The route key is the template's pattern ("GET /users/{openid}"), never
		// the path, which can carry an openid.
		log.LogAttrs(r.Context(), slog.LevelError, "request without an IAM caller refused: is the route AWS_IAM?",
			slog.String("route_key", rc.RouteKey), slog.String("method", r.Method), slog.Int("status", http.StatusForbidden))
		b, _ := json.Marshal(struct {
			Error   string `json:"error"`
			Message string `json:"message"`
		}{"forbidden", forbiddenMessage})
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		w.WriteHeader(http.StatusForbidden)
		_, _ = w.Write(append(b, '\n'))
	})
}

// consoleRoute reports whether an HTTP API route key ("GET /console/{proxy+}")
// is one of the console's routes.
func consoleRoute(key string) bool {
	_, path, ok := strings.Cut(key, " ")
	return ok && (path == "/console" || strings.HasPrefix(path, "/console/"))
}
