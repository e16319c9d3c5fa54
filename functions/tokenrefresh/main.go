// Command tokenrefresh is the scheduled Lambda that keeps every account's
// access token fresh in the tokens table, so that no other function races
// WeChat for one.
package main

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"

	"wechatqr/functions/internal/account"
	"wechatqr/functions/internal/boot"
	"wechatqr/shared/accounts"
	"wechatqr/shared/dynamo"
	"wechatqr/shared/platform"
	"wechatqr/shared/token"
)

func main() {
	env, err := boot.Load(context.Background())
	if err != nil {
		boot.Fail(nil, err)
	}
	run, err := build(env)
	if err != nil {
		boot.Fail(env.Log, err)
	}
	lambda.Start(func(ctx context.Context, _ events.EventBridgeEvent) error { return run(ctx) })
}

func build(env *boot.Env) (func(context.Context) error, error) {
	tables, _, err := dynamo.ConfigFromEnv(env.Getenv)
	if err != nil {
		return nil, err
	}
	src, _, err := account.Tokens(env, tables.Tokens)
	if err != nil {
		return nil, err
	}
	cfg, err := token.ConfigFromEnv(env.Getenv)
	if err != nil {
		return nil, err
	}
	health := func(appID string) (*dynamo.Tokens, error) {
		return dynamo.NewTokens(env.DynamoDB(), tables.Tokens, appID)
	}
	defHealth, err := health(cfg.AppID)
	if err != nil {
		return nil, err
	}
	def := token.Account{AppID: cfg.AppID, Default: true, Source: src, Health: defHealth}
	reg, err := account.Registry(env, tables.Tokens)
	if err != nil {
		return nil, err
	}
	// The platform (nil unless WECHAT_COMPONENT_APP_ID is set), with the
	// component_appsecret: this function alone fetches the platform's token.
	plat, err := account.Platform(env, reg, tables.Tokens, true)
	if err != nil {
		return nil, err
	}
	// The stored accounts' token sources, built at their first run on this
	// instance and kept: their holder ids and cached tokens carry over.
	built := map[string]token.Account{}
	due := func(ctx context.Context, authorizers bool) ([]token.Account, error) {
		out := []token.Account{def}
		if reg == nil {
			return out, nil
		}
		all, err := reg.List(ctx)
		if err != nil {
			return out, err
		}
		for _, a := range all {
			if a.Default || a.Status != accounts.Active {
				continue
			}
			if a.Kind == accounts.Authorizer && (!authorizers || a.NeedsReauthorization) {
				// Nothing can fetch its token: not a platform (any more), no
				// component token this run, or WeChat refused its refresh
				// token until it authorizes again (on the Accounts page).
				// Asking would only fail, each after waiting on the lease.
				continue
			}
			acct, ok := built[a.AppID]
			if !ok {
				src, _, err := account.TokensOf(env, reg, plat, tables.Tokens, a)
				if err != nil {
					return out, err
				}
				h, err := health(a.AppID)
				if err != nil {
					return out, err
				}
				acct = token.Account{AppID: a.AppID, Source: src, Health: h}
				built[a.AppID] = acct
			}
			out = append(out, acct)
		}
		return out, nil
	}
	return func(ctx context.Context) error {
		usable, compErr := refreshPlatform(ctx, env, plat)
		list, listErr := due(ctx, usable)
		sum := token.RefreshAll(ctx, list, token.AllOptions{Log: env.Log})
		env.Log.LogAttrs(ctx, slog.LevelInfo, "token refresh",
			slog.Int("accounts", sum.Accounts), slog.Int("refreshed", sum.Refreshed), slog.Int("failed", sum.Failed))
		if listErr != nil {
			// The default account was still refreshed; the run fails so the alarm fires.
			env.Log.Error("token refresh: listing the accounts", slog.String("error", listErr.Error()))
			return listErr
		}
		if sum.DefaultErr != nil {
			// Returned, so the invocation fails and the template's alarm fires. Another
			// account's failure is on its own line and on the Accounts page instead.
			return errors.New("token refresh: the default account's token could not be refreshed")
		}
		if compErr != nil {
			// Every authorizer depends on it: the alarm fires for it too.
			return errors.New("token refresh: the platform's component_access_token could not be refreshed")
		}
		return nil
	}, nil
}

// refreshPlatform refreshes the component_access_token when it is due, first,
// so that the authorizers' fetches after it use a fresh one, and asks WeChat
// to push tickets again when they stopped. It reports whether the
// authorizers can be refreshed this run (a platform with a valid component
// token, even one the refresh failed to replace: it has minutes left, in
// which the authorizers' tokens can still be renewed), and the refresh's
// failure, logged.
func refreshPlatform(ctx context.Context, env *boot.Env, plat *platform.Service) (usable bool, err error) {
	if plat == nil {
		return false, nil
	}
	rctx, cancel := context.WithTimeout(ctx, token.DefaultTimeout)
	defer cancel()
	refreshed, err := plat.RefreshComponentToken(rctx)
	if err != nil {
		env.Log.LogAttrs(ctx, slog.LevelError, "component token refresh failed", slog.String("appid", plat.AppID()),
			slog.String("reason", token.Reason(err)), slog.String("error", err.Error()))
	} else if refreshed {
		env.Log.LogAttrs(ctx, slog.LevelInfo, "component token refreshed", slog.String("appid", plat.AppID()))
	}
	if _, werr := plat.WatchTicket(rctx, err); werr != nil {
		env.Log.LogAttrs(ctx, slog.LevelError, "component_verify_ticket watch", slog.String("error", werr.Error()))
	}
	if err == nil {
		return true, nil
	}
	// The failed fetch holds the lease, so this reads the table and, with no
	// valid token there, gives up at the deadline instead of fetching again.
	pctx, cancel := context.WithTimeout(ctx, 500*time.Millisecond)
	defer cancel()
	_, perr := plat.ComponentToken(pctx)
	return perr == nil, err
}
