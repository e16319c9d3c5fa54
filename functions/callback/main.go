// Command callback is the Lambda behind GET and POST /wechat: the WeChat webhook.
package main

import (
	"context"

	"github.com/aws/aws-lambda-go/lambda"

	"wechatqr/functions/apigw"
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

func build(env *boot.Env) (*callback.Handler, error) {
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
	store, err := dynamo.New(env.DynamoDB(), tables, opts)
	if err != nil {
		return nil, err
	}
	return callback.New(cfg, store, env.Log)
}
