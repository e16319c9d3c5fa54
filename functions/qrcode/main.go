// Command qrcode is the Lambda behind the QR management API (/qrcodes, behind
// IAM auth in the template, and refused here without an IAM caller:
// requireIAM) and the console (/console, whose data requests under
// /console/api/ carry a sign-in token instead).
package main

import (
	"context"
	"log/slog"
	"net/http"
	"net/url"
	"time"

	"github.com/aws/aws-lambda-go/lambda"

	"wechatqr/functions/apigw"
	"wechatqr/functions/internal/account"
	"wechatqr/functions/internal/boot"
	"wechatqr/shared/accounts"
	"wechatqr/shared/api"
	"wechatqr/shared/console"
	"wechatqr/shared/dynamo"
	"wechatqr/shared/qr"
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
	var a http.Handler = def
	reg, err := account.Registry(env, tables.Tokens)
	if err != nil {
		return nil, err
	}
	if reg != nil {
		// Authorizers' tokens, read from the table tokenrefresh keeps.
		plat, err := account.Platform(env, reg, tables.Tokens, false)
		if err != nil {
			return nil, err
		}
		// Every other account's API: its own store namespace, token and WeChat client.
		open := func(_ context.Context, acct accounts.Account) (*api.Handler, error) {
			tokens, client, err := account.TokensOf(env, reg, plat, tables.Tokens, acct)
			if err != nil {
				return nil, err
			}
			var wx api.WeChat = client
			if acct.Kind == accounts.Authorizer {
				wx = api.Guard(client, acct.AppID, reg)
			}
			return api.New(cfg, store.Account(acct.AppID), wx, tokens, env.Log.With(slog.String("appid", acct.AppID)))
		}
		health := func(ctx context.Context, appID string) (qr.TokenHealth, error) {
			t, err := dynamo.NewTokens(env.DynamoDB(), tables.Tokens, appID)
			if err != nil {
				return qr.TokenHealth{}, err
			}
			return t.Health(ctx)
		}
		erase := func(ctx context.Context, appID, cursor string, until time.Time) (int, string, error) {
			return store.Account(appID).EraseAccountData(ctx, cursor, until)
		}
		rc := api.RouterConfig{Registry: reg, Default: def, Open: open, Health: health, Erase: erase, Log: env.Log}
		if plat != nil {
			rc.Platform = plat
		}
		if a, err = api.NewRouter(rc); err != nil {
			return nil, err
		}
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
