// Package caller carries who made a request from the edge that knows it to the
// handlers that record it: the API Gateway adapter (functions/apigw) puts the
// IAM principal of a SigV4-signed request on the request's context, the
// console's guard (shared/consoleauth) the Cognito user it verified, and the
// API's audit lines (shared/api) read it back. It knows no Lambda or Cognito
// types, so the handlers that read it stay free of both.
package caller

import (
	"context"
	"log/slog"
)

// Kind says how a caller was identified.
type Kind string

const (
	// IAM: API Gateway verified a SigV4 signature (the /qrcodes API's routes).
	IAM Kind = "iam"
	// Console: the console's guard verified a Cognito access token.
	Console Kind = "console"
	// Anonymous: nothing identified the caller. Deployed, every route that
	// changes something is behind IAM or the console's sign-in, so this is
	// the local stack (`make run`, no gateway, CONSOLE_AUTH=none).
	Anonymous Kind = "anonymous"
)

// Caller is who made a request.
type Caller struct {
	Kind Kind
	// ID names the caller: the IAM principal's ARN (for an assumed role,
	// arn:aws:sts::<account>:assumed-role/<role>/<session>), or the console
	// user's username in the pool.
	ID string
	// Subject is the console user's stable id in the pool (the token's sub);
	// for IAM, the principal's unique id (AROA…:session or AIDA…).
	Subject string
	// Account is the AWS account of an IAM principal.
	Account string
	// Groups are the console user's Cognito groups (the token's cognito:groups):
	// GroupAdmins, AccountGroup(appid), or others the stack does not read.
	Groups []string
}

// The console's groups (docs/console.md, "Who sees which account").
const (
	// GroupAdmins sees and manages every account.
	GroupAdmins = "admins"
	// groupAccountPrefix + AppID sees that account only.
	groupAccountPrefix = "account-"
)

// AccountGroup is the group whose members see account appID.
func AccountGroup(appID string) string { return groupAccountPrefix + appID }

// InGroup reports whether c is in group g.
func (c Caller) InGroup(g string) bool {
	for _, have := range c.Groups {
		if have == g {
			return true
		}
	}
	return false
}

type key struct{}

// With returns ctx carrying c.
func With(ctx context.Context, c Caller) context.Context {
	return context.WithValue(ctx, key{}, c)
}

// From returns the caller ctx carries, or the anonymous caller.
func From(ctx context.Context) Caller {
	if c, ok := ctx.Value(key{}).(Caller); ok && c.Kind != "" {
		return c
	}
	return Caller{Kind: Anonymous, ID: "anonymous (local)"}
}

// LogValue makes a Caller log as a group: kind, id, and the rest when known.
func (c Caller) LogValue() slog.Value {
	attrs := []slog.Attr{slog.String("kind", string(c.Kind)), slog.String("id", c.ID)}
	if c.Subject != "" {
		attrs = append(attrs, slog.String("subject", c.Subject))
	}
	if c.Account != "" {
		attrs = append(attrs, slog.String("account", c.Account))
	}
	return slog.GroupValue(attrs...)
}
