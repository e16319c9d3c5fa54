package consoleauth

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/ssm"
)

// ParameterReader is the part of the SDK's SSM client used here: GetParameter
// of a String parameter (the template's), read without decryption.
type ParameterReader interface {
	GetParameter(context.Context, *ssm.GetParameterInput, ...func(*ssm.Options)) (*ssm.GetParameterOutput, error)
}

// ClientIDFromParameter returns getenv with CONSOLE_CLIENT_ID read from the
// SSM parameter CONSOLE_CLIENT_ID_PARAMETER names, when only the latter is set.
//
// Why a parameter: the app client's callback URL names the HTTP API, whose
// routes name the qrcode function; giving the function the client id in its
// environment would close a dependency cycle the template cannot have. The
// template writes the id to a parameter the function names by a fixed path.
// FromEnvWithParameter reads it at the first request that needs it.
func ClientIDFromParameter(ctx context.Context, getenv func(string) string, params ParameterReader) (func(string) string, error) {
	name := getenv(EnvClientIDParameter)
	if getenv(EnvClientID) != "" || name == "" || params == nil {
		return getenv, nil
	}
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	out, err := params.GetParameter(ctx, &ssm.GetParameterInput{Name: &name})
	if err != nil {
		return getenv, fmt.Errorf("consoleauth: reading the console's app client id from SSM parameter %q: %w", name, err)
	}
	if out.Parameter == nil || out.Parameter.Value == nil {
		return getenv, fmt.Errorf("consoleauth: SSM parameter %q: an answer without the parameter's value", name)
	}
	id := *out.Parameter.Value
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
	// Cognito is the verifier when Mode is "cognito" (nil until set up, for a
	// sign-in set up on first use).
	Cognito *Cognito

	deferred *deferred // FromEnvWithParameter's, until it has set up
}

// ClientSettings is what config.json says about signing in now: Settings, or,
// for a sign-in set up on first use (FromEnvWithParameter), the settings it
// has once set up, which this call may do, or the unconfigured console's.
func (s Setup) ClientSettings(ctx context.Context) map[string]any {
	if s.deferred == nil {
		return s.Settings
	}
	return s.deferred.get(ctx).Settings
}

// Close stops the verifier's background key refresh, if it has one.
func (s Setup) Close() {
	if s.deferred != nil {
		s = s.deferred.current()
	}
	if s.Cognito != nil {
		s.Cognito.Close()
	}
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
	// EnvLocal is the local stack's flag: "1" says the function runs under
	// local/stack (make run, make invoke), never in Lambda. CONSOLE_AUTH=none is
	// refused without it. Why a flag of its own: aws-lambda-rie sets
	// AWS_LAMBDA_FUNCTION_NAME and the rest of Lambda's environment too, so
	// nothing Lambda sets tells the two apart; the template never sets this
	// (local/cfn's TestRepoTemplateSetsNoLocalFlag).
	EnvLocal = "WECHATQR_LOCAL"
)

// ErrNoneDeployed is FromEnv's error for CONSOLE_AUTH=none outside the local
// stack: a deployed console must not be open to anyone.
var ErrNoneDeployed = errors.New("consoleauth: CONSOLE_AUTH=none turns the console's sign-in off, " +
	"which only the local stack may do (it sets " + EnvLocal + "=1; Lambda and the template never do): " +
	"unset CONSOLE_AUTH on a deployed function")

// Local reports whether getenv says the function runs under the local stack
// (EnvLocal is "1").
func Local(getenv func(string) string) bool { return getenv(EnvLocal) == "1" }

// FromEnv builds the console's sign-in from the function's environment. With
// the pool, client and domain set, tokens of that pool are required. With
// CONSOLE_AUTH=none, nothing is checked: only the local stack sets it, with
// WECHATQR_LOCAL=1, and without that flag it is ErrNoneDeployed. With neither,
// the console's data is refused with a message naming what is missing, rather
// than served to anyone: a template that lost its variables must not open the
// console. Only a pool id or domain that cannot be right is an error.
func FromEnv(getenv func(string) string, log *slog.Logger) (Setup, error) {
	if strings.EqualFold(getenv(EnvAuth), "none") {
		if !Local(getenv) {
			return Setup{}, ErrNoneDeployed
		}
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

// ParameterRetry is how long a failed read of the app client id's parameter
// stands before a console request tries it again.
const ParameterRetry = 30 * time.Second

// FromEnvWithParameter is FromEnv for the deployed function, which finds the
// app client id in the SSM parameter CONSOLE_CLIENT_ID_PARAMETER names
// (ClientIDFromParameter says why). The parameter is read at the first request
// that needs the sign-in, config.json or a data request under /console/api/,
// not here: a cold start of the management API, which never needs it, must
// not wait on SSM (up to 3 s). The pool id and the domain are checked now.
//
// A failed read is logged and answered as an unconfigured console (config.json
// says so, data requests are refused with that message); the first request
// after ParameterRetry reads again, so a parameter put right later, or SSM
// back, takes effect without a new instance. The management API is unaffected.
// Without the parameter to read (CONSOLE_CLIENT_ID set, CONSOLE_AUTH=none, no
// parameter named), it is FromEnv.
func FromEnvWithParameter(getenv func(string) string, params ParameterReader, log *slog.Logger) (Setup, error) {
	name := getenv(EnvClientIDParameter)
	if name == "" || params == nil || getenv(EnvClientID) != "" || strings.EqualFold(getenv(EnvAuth), "none") {
		return FromEnv(getenv, log)
	}
	pool, domain := getenv(EnvUserPoolID), getenv(EnvDomain)
	if pool == "" || domain == "" {
		// FromEnv names what is missing; the client id is not, being the parameter's.
		return FromEnv(func(k string) string {
			if k == EnvClientID {
				return "(in " + name + ")"
			}
			return getenv(k)
		}, log)
	}
	if _, err := checkPoolAndDomain(pool, domain); err != nil {
		return Setup{}, err
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	d := &deferred{getenv: getenv, params: params, log: log, now: time.Now, retry: ParameterRetry}
	return d.setup(strings.TrimSuffix(domain, "/")), nil
}

// deferredMessage is what an unconfigured console says when the parameter
// could not be read; the reason is in the function's log, not in answers.
const deferredMessage = "the console's sign-in could not be set up (its app client id was not readable); an operator should check the function's logs"

// deferred is a sign-in whose app client id is read on first use.
type deferred struct {
	getenv func(string) string
	params ParameterReader
	log    *slog.Logger
	now    func() time.Time
	retry  time.Duration

	mu     sync.Mutex // held across the read: one read at a time
	done   *Setup     // set up; kept for the instance's life
	failed time.Time  // the last failed read, zero when none
}

// setup is the Setup that defers to d: the CSP's origin is known now (the
// domain), the settings and the guard ask d at each request.
func (d *deferred) setup(domain string) Setup {
	unconfigured := Refuse(deferredMessage)
	return Setup{
		Mode:       "cognito",
		ConnectSrc: []string{domain},
		Guard: func(next http.Handler) http.Handler {
			refuse := unconfigured(next)
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				s := d.get(r.Context())
				if s.Mode != "cognito" {
					refuse.ServeHTTP(w, r)
					return
				}
				s.Guard(next).ServeHTTP(w, r)
			})
		},
		deferred: d,
	}
}

// get returns the sign-in, reading the parameter unless it has been read or
// a read failed less than d.retry ago; the unconfigured console's Setup while
// it cannot be read.
func (d *deferred) get(ctx context.Context) Setup {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.done != nil {
		return *d.done
	}
	unconfigured := Setup{Mode: "unconfigured", Settings: map[string]any{"auth": "unconfigured", "message": deferredMessage}, Guard: Refuse(deferredMessage)}
	if !d.failed.IsZero() && d.now().Sub(d.failed) < d.retry {
		return unconfigured
	}
	// The request's cancellation does not end the read: its result serves the next ones.
	getenv, err := ClientIDFromParameter(context.WithoutCancel(ctx), d.getenv, d.params)
	var s Setup
	if err == nil {
		s, err = FromEnv(getenv, d.log)
		if err == nil && s.Mode != "cognito" {
			err = fmt.Errorf("consoleauth: the parameter %q holds no app client id", d.getenv(EnvClientIDParameter))
		}
	}
	if err != nil {
		d.failed = d.now()
		d.log.LogAttrs(ctx, slog.LevelError, "console sign-in unavailable", slog.String("error", err.Error()),
			slog.String("retry_after", d.retry.String()))
		return unconfigured
	}
	d.done = &s
	return s
}

// current is the sign-in if it is set up, without reading.
func (d *deferred) current() Setup {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.done != nil {
		return *d.done
	}
	return Setup{}
}
