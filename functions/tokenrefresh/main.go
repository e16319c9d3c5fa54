// Command tokenrefresh is the scheduled Lambda that keeps every account's
// access token fresh in the tokens table, so that no other function races
// WeChat for one.
package main

import (
	"context"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"

	"wechatqr/functions/internal/account"
	"wechatqr/functions/internal/boot"
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
	defHealth, err := dynamo.NewTokens(env.DynamoDB(), tables.Tokens, cfg.AppID)
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
	return (&refresher{env: env, reg: reg, plat: plat, tokens: tables.Tokens, def: def, built: map[string]token.Account{}}).run, nil
}
