// Command qrcode is the Lambda behind the QR management API (/qrcodes, behind
// IAM auth in the template, and refused here without an IAM caller:
// requireIAM) and the console (/console, whose data requests under
// /console/api/ carry a sign-in token instead).
package main

import (
	"context"
	"net/http"
	"net/url"

	"github.com/aws/aws-lambda-go/lambda"

	"wechatqr/functions/apigw"
	"wechatqr/functions/internal/account"
	"wechatqr/functions/internal/boot"
	"wechatqr/shared/api"
	"wechatqr/shared/console"
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
	lambda.Start(apigw.Handler(h))
}

func build(env *boot.Env) (http.Handler, error) {
	tables, opts, err := dynamo.ConfigFromEnv(env.Getenv)
	if err != nil {
		return nil, err
	}
	tokens, client, err := account.Tokens(env, tables.Tokens)
	if err != nil {
		return nil, err
	}
	opts.DefaultAppID = env.Getenv("WECHAT_APP_ID")
	store, err := dynamo.New(env.DynamoDB(), tables, opts)
	if err != nil {
		return nil, err
	}
	cfg := api.Config{}
	if base := env.Getenv("WECHAT_SHOWQRCODE_URL"); base != "" {
		// Locally, image_url points at the emulator's showqrcode.
		cfg.ShowQRCodeURL = func(ticket string) string { return base + "?ticket=" + url.QueryEscape(ticket) }
	}
	def, err := api.New(cfg, store, client, tokens, env.Log)
	if err != nil {
		return nil, err
	}
	a, err := accountsAPI(env, cfg, store, def, tables.Tokens)
	if err != nil {
		return nil, err
	}
	// Neither the console's assets nor its sign-in's app client id (SSM) are
	// prepared here: the first console request that needs them does it.
	auth, err := consoleAuth(env)
	if err != nil {
		return nil, err
	}
	h, err := console.Mount(a, console.Config{
		SettingsFunc: func(ctx context.Context) any { return auth.ClientSettings(ctx) },
		ConnectSrc:   auth.ConnectSrc, Guard: auth.Guard,
		Platform: env.Getenv("WECHAT_COMPONENT_APP_ID") != "",
	})
	if err != nil {
		return nil, err
	}
	return edge(h, env.Getenv, env.Log), nil
}
