// Command scanactions is the Lambda on the events table's stream: for each new
// scan record it tags the follower, sends the scene's follow-up messages and
// publishes the scan on EventBridge (package actions).
package main

import (
	"context"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"

	"wechatqr/functions/internal/account"
	"wechatqr/functions/internal/boot"
	"wechatqr/shared/actions"
	"wechatqr/shared/bus"
	"wechatqr/shared/dynamo"
)

func main() {
	env, err := boot.Load(context.Background())
	if err != nil {
		boot.Fail(nil, err)
	}
	h, err := build(env)
	if err != nil {
		boot.Fail(env.Log, err)
	}
	lambda.Start(h.Handle)
}

func build(env *boot.Env) (*Handler, error) {
	tables, opts, err := dynamo.ConfigFromEnv(env.Getenv)
	if err != nil {
		return nil, err
	}
	tokens, client, err := account.Tokens(env, tables.Tokens)
	if err != nil {
		return nil, err
	}
	defAppID := env.Getenv("WECHAT_APP_ID")
	opts.DefaultAppID = defAppID
	store, err := dynamo.New(env.DynamoDB(), tables, opts)
	if err != nil {
		return nil, err
	}
	// EVENT_BUS_NAME empty: publish nothing (the template's EventBusName "").
	var publisher actions.Publisher
	if name := env.Getenv("EVENT_BUS_NAME"); name != "" {
		if publisher, err = bus.New(eventbridge.NewFromConfig(env.AWS), name); err != nil {
			return nil, err
		}
	}
	def, err := actions.New(actions.Config{}, store, client, tokens, publisher, env.Log)
	if err != nil {
		return nil, err
	}
	// The tokens table too: an authorizer revoked while its records are in
	// flight loses its token item with it.
	reg, err := account.Registry(env, tables.Tokens)
	if err != nil {
		return nil, err
	}
	// Authorizers' tokens, read from the table tokenrefresh keeps.
	plat, err := account.Platform(env, reg, tables.Tokens, false)
	if err != nil {
		return nil, err
	}
	byAccount := &accountActions{env: env, reg: reg, plat: plat, tokens: tables.Tokens, store: store, publisher: publisher,
		defAppID: defAppID, def: def, built: map[string]Actions{}}
	return &Handler{actions: byAccount.of, defaultAppID: defAppID, log: env.Log}, nil
}
