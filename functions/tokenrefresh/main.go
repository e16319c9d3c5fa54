// Command tokenrefresh is the scheduled Lambda that keeps every account's
// access token fresh in the tokens table, so that no other function races
// WeChat for one.
package main

import (
	"context"
	"errors"
	"log/slog"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"

	"wechatqr/functions/internal/account"
	"wechatqr/functions/internal/boot"
	"wechatqr/shared/accounts"
	"wechatqr/shared/dynamo"
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
	// The stored accounts' token sources, built at their first run on this
	// instance and kept: their holder ids and cached tokens carry over.
	built := map[string]token.Account{}
	due := func(ctx context.Context) ([]token.Account, error) {
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
			acct, ok := built[a.AppID]
			if !ok {
				src, _, err := account.TokensOf(env, reg, tables.Tokens, a.AppID)
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
		list, listErr := due(ctx)
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
		return nil
	}, nil
}
