package consoleauth

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"
)

// ParameterReader reads one SSM parameter's value.
type ParameterReader interface {
	Parameter(ctx context.Context, name string) (string, error)
}

// ClientIDFromParameter returns getenv with CONSOLE_CLIENT_ID read from the
// SSM parameter CONSOLE_CLIENT_ID_PARAMETER names, when only the latter is set.
//
// Why a parameter: the app client's callback URL names the HTTP API, whose
// routes name the qrcode function; giving the function the client id in its
// environment would close a dependency cycle the template cannot have. The
// template writes the id to a parameter the function names by a fixed path.
// It is read once, at init, so config.json can carry it; on failure the
// console's data stays refused (the management API is unaffected).
func ClientIDFromParameter(ctx context.Context, getenv func(string) string, params ParameterReader) (func(string) string, error) {
	name := getenv(EnvClientIDParameter)
	if getenv(EnvClientID) != "" || name == "" || params == nil {
		return getenv, nil
	}
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	id, err := params.Parameter(ctx, name)
	if err != nil {
		return getenv, fmt.Errorf("consoleauth: reading the console's app client id from SSM parameter %q: %w", name, err)
	}
	return func(k string) string {
		if k == EnvClientID {
			return id
		}
		return getenv(k)
	}, nil
}

// Setup is what the console's mount needs from sign-in: the auth fields of
// config.json, the extra origins of its CSP's connect-src, and the guard of
// its data requests.
type Setup struct {
	// Mode is "cognito", "none" (CONSOLE_AUTH=none: the local stack) or
	// "unconfigured" (every data request refused).
	Mode       string
	Settings   map[string]any
	ConnectSrc []string
	Guard      func(http.Handler) http.Handler
	// Cognito is the verifier when Mode is "cognito".
	Cognito *Cognito
}

// The variables FromEnv reads; the template sets the first three.
const (
	EnvUserPoolID = "CONSOLE_USER_POOL_ID"
	EnvClientID   = "CONSOLE_CLIENT_ID"
	// EnvClientIDParameter names the SSM parameter holding the client id when
	// CONSOLE_CLIENT_ID is unset: the deployed case (see ClientIDFromParameter).
	EnvClientIDParameter = "CONSOLE_CLIENT_ID_PARAMETER"
	EnvDomain            = "CONSOLE_AUTH_DOMAIN"
	EnvJWKSURL           = "CONSOLE_JWKS_URL" // tests: moto_server's JWKS
	EnvAuth              = "CONSOLE_AUTH"     // "none": no sign-in (the local stack only)
)

// FromEnv builds the console's sign-in from the function's environment. With
// the pool, client and domain set, tokens of that pool are required. With
// CONSOLE_AUTH=none, nothing is checked (only the local stack sets it). With
// neither, the console's data is refused with a message naming what is missing,
// rather than served to anyone: a template that lost its variables must not
// open the console. Only a pool id or domain that cannot be right is an error.
func FromEnv(getenv func(string) string, log *slog.Logger) (Setup, error) {
	if strings.EqualFold(getenv(EnvAuth), "none") {
		return Setup{Mode: "none", Settings: map[string]any{"auth": "none"}}, nil
	}
	pool, client, domain := getenv(EnvUserPoolID), getenv(EnvClientID), getenv(EnvDomain)
	var missing []string
	for _, v := range []struct{ name, val string }{{EnvUserPoolID, pool}, {EnvClientID, client}, {EnvDomain, domain}} {
		if v.val == "" {
			missing = append(missing, v.name)
		}
	}
	if len(missing) > 0 {
		msg := "the console's sign-in is not configured (" + strings.Join(missing, ", ") +
			" unset on the function): deploy with template.yaml, or set CONSOLE_AUTH=none for a local stack"
		return Setup{Mode: "unconfigured", Settings: map[string]any{"auth": "unconfigured", "message": msg}, Guard: Refuse(msg)}, nil
	}
	c, err := NewCognito(CognitoConfig{UserPoolID: pool, ClientID: client, Domain: domain, JWKSURL: getenv(EnvJWKSURL), Log: log})
	if err != nil {
		return Setup{}, err
	}
	return Setup{Mode: "cognito", Settings: c.Settings(), ConnectSrc: c.ConnectSrc(), Guard: Guard(c, log), Cognito: c}, nil
}
