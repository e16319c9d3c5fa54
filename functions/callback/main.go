// Command callback is the Lambda behind GET and POST /wechat and
// /wechat/{appid}: the WeChat webhook of every account the stack serves.
package main

import (
	"context"
	"net/http"

	"github.com/aws/aws-lambda-go/lambda"

	"wechatqr/functions/apigw"
	"wechatqr/functions/internal/account"
	"wechatqr/functions/internal/boot"
	"wechatqr/shared/callback"
	"wechatqr/shared/dynamo"
	"wechatqr/shared/secrets"
	"wechatqr/shared/wechat"
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
	lambda.Start(apigw.Handler(h))
}

func build(env *boot.Env) (http.Handler, error) {
	cfg, err := callback.ConfigFromEnv(env.Getenv)
	if err != nil {
		return nil, err
	}
	// The callback's secret (the Token and EncodingAESKey, never the AppSecret):
	// its first read starts here and runs while the rest is built.
	if cfg.Keys, err = boot.Secret(env, secrets.Callback, func(getenv func(string) string) (*wechat.Verifier, error) {
		return callback.VerifierFromEnv(getenv, cfg.AppID)
	}); err != nil {
		return nil, err
	}
	tables, opts, err := dynamo.ConfigFromEnv(env.Getenv)
	if err != nil {
		return nil, err
	}
	opts.DefaultAppID = cfg.AppID
	store, err := dynamo.New(env.DynamoDB(), tables, opts)
	if err != nil {
		return nil, err
	}
	def, err := callback.New(cfg, store, env.Log)
	if err != nil {
		return nil, err
	}
	// The tokens table too: a withdrawn authorization deletes the token with the account's revocation.
	reg, err := account.Registry(env, tables.Tokens)
	if err != nil || reg == nil {
		return def, err
	}
	shared := cfg
	shared.Keys, shared.MessageMode = nil, ""
	routes, err := platformRoutes(env, reg, tables.Tokens, shared)
	if err != nil {
		return nil, err
	}
	return callback.NewRouter(callback.RouterConfig{
		Default: def, Accounts: reg, Config: shared, Log: env.Log, Platform: routes,
		Store: func(appID string) callback.Store { return store.Account(appID) },
	})
}
