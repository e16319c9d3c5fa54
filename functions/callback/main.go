// Command callback is the Lambda behind GET and POST /wechat and
// /wechat/{appid}: the WeChat webhook of every account the stack serves.
package main

import (
	"context"
	"log/slog"
	"net/http"

	"github.com/aws/aws-lambda-go/lambda"

	"wechatqr/functions/apigw"
	"wechatqr/functions/internal/account"
	"wechatqr/functions/internal/boot"
	"wechatqr/shared/accounts"
	"wechatqr/shared/callback"
	"wechatqr/shared/dynamo"
	"wechatqr/shared/platform"
	"wechatqr/shared/qr"
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
	reg, err := account.Registry(env, "")
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

// platformRoutes serves the stack's third-party platform (docs/platform.md):
// its authorization events and its authorizers' pushes, opened with the
// platform's Token and key (WECHAT_COMPONENT_CALLBACK_SECRET_ID; never its
// AppSecret: the callback only reads the platform's token from the table).
// nil when the stack is not a platform.
func platformRoutes(env *boot.Env, reg *accounts.Registry, tokensTable string, cfg callback.Config) (*callback.PlatformRoutes, error) {
	plat, err := account.Platform(env, reg, tokensTable, false)
	if err != nil || plat == nil {
		return nil, err
	}
	keys, err := boot.Secret(env, secrets.ComponentCallback, func(getenv func(string) string) (*wechat.Verifier, error) {
		return callback.ComponentVerifierFromEnv(getenv, plat.AppID())
	})
	if err != nil {
		return nil, err
	}
	cfg.AppID, cfg.Keys = plat.AppID(), keys
	events, err := callback.NewComponent(cfg, plat, env.Log.With(slog.String("component", plat.AppID())))
	if err != nil {
		return nil, err
	}
	return &callback.PlatformRoutes{
		Events: events, Keys: keys,
		Texts: func(appID string) callback.Texts { return releaseTest{plat: plat, appID: appID} },
	}, nil
}

// releaseTest adapts the platform's answers to the full-network release test
// to the callback's Texts.
type releaseTest struct {
	plat  *platform.Service
	appID string
}

func (r releaseTest) Text(_ context.Context, msg *wechat.Message) (callback.TextAnswer, error) {
	ans := r.plat.ReleaseTest(r.appID, msg)
	out := callback.TextAnswer{Once: ans.Once}
	if ans.Reply != "" {
		out.Reply = qr.TextReply(ans.Reply)
	}
	return out, nil
}
