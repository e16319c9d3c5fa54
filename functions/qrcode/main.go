// Command qrcode is the Lambda behind the QR management API (/qrcodes), which the
// template puts behind IAM auth.
package main

import (
	"context"
	"net/url"

	"github.com/aws/aws-lambda-go/lambda"

	"wechatqr/functions/apigw"
	"wechatqr/functions/internal/boot"
	"wechatqr/shared/api"
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

func build(env *boot.Env) (*api.Handler, error) {
	tokens, client, err := env.TokenSource()
	if err != nil {
		return nil, err
	}
	store, err := env.Store()
	if err != nil {
		return nil, err
	}
	cfg := api.Config{}
	if base := env.Getenv("WECHAT_SHOWQRCODE_URL"); base != "" {
		// Locally, image_url points at the emulator's showqrcode.
		cfg.ShowQRCodeURL = func(ticket string) string { return base + "?ticket=" + url.QueryEscape(ticket) }
	}
	return api.New(cfg, store, client, tokens, env.Log)
}
