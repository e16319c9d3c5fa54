package main

import (
	"context"
	"log/slog"

	"wechatqr/functions/internal/account"
	"wechatqr/functions/internal/boot"
	"wechatqr/shared/accounts"
	"wechatqr/shared/callback"
	"wechatqr/shared/platform"
	"wechatqr/shared/qr"
	"wechatqr/shared/secrets"
	"wechatqr/shared/wechat"
)

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
