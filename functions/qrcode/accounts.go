package main

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"wechatqr/functions/internal/account"
	"wechatqr/functions/internal/boot"
	"wechatqr/shared/accounts"
	"wechatqr/shared/api"
	"wechatqr/shared/dynamo"
	"wechatqr/shared/qr"
)

// accountsAPI serves every account's API (docs/accounts.md): def alone when
// ACCOUNTS_TABLE is unset, else the accounts' router, each stored account with
// its own store namespace, token and WeChat client (an authorizer's guarded by
// its permission sets), and the platform's routes on a platform.
func accountsAPI(env *boot.Env, cfg api.Config, store *dynamo.Store, def *api.Handler, tokensTable string) (http.Handler, error) {
	reg, err := account.Registry(env, tokensTable)
	if err != nil || reg == nil {
		return def, err
	}
	// Authorizers' tokens, read from the table tokenrefresh keeps.
	plat, err := account.Platform(env, reg, tokensTable, false)
	if err != nil {
		return nil, err
	}
	open := func(_ context.Context, acct accounts.Account) (*api.Handler, error) {
		tokens, client, err := account.TokensOf(env, reg, plat, tokensTable, acct)
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
		t, err := dynamo.NewTokens(env.DynamoDB(), tokensTable, appID)
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
	return api.NewRouter(rc)
}
