package main

import (
	"context"
	"log/slog"
	"sync"

	"wechatqr/functions/internal/account"
	"wechatqr/functions/internal/boot"
	"wechatqr/shared/accounts"
	"wechatqr/shared/actions"
	"wechatqr/shared/dynamo"
	"wechatqr/shared/platform"
	"wechatqr/shared/qr"
)

// accountActions are every account's scan actions: the default account's,
// and each stored account's, built at its first record on this instance and
// kept.
type accountActions struct {
	env       *boot.Env
	reg       *accounts.Registry // nil without ACCOUNTS_TABLE
	plat      *platform.Service  // nil unless the stack is a platform
	tokens    string             // the tokens table
	store     *dynamo.Store
	publisher actions.Publisher
	defAppID  string
	def       Actions

	mu    sync.Mutex
	built map[string]Actions
}

// of returns appID's actions.
func (x *accountActions) of(ctx context.Context, appID string) (Actions, error) {
	if appID == x.defAppID {
		return x.def, nil
	}
	if x.reg == nil {
		return nil, qr.Errorf(qr.EAccountNotFound, "no account %s: ACCOUNTS_TABLE is unset", appID)
	}
	// Each batch asks the registry, so a removed account's records stop at once.
	acct, err := x.reg.Get(ctx, appID)
	if err != nil {
		return nil, err
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	if a, ok := x.built[appID]; ok {
		return a, nil
	}
	tokens, client, err := account.TokensOf(x.env, x.reg, x.plat, x.tokens, acct)
	if err != nil {
		return nil, err
	}
	var wx actions.WeChat = client
	if acct.Kind == accounts.Authorizer {
		// Its tags and follow-ups need the permission sets it granted.
		wx = actions.Guard(client, accounts.Grants{Registry: x.reg, AppID: appID})
	}
	a, err := actions.New(actions.Config{}, x.store.Account(appID), wx, tokens, x.publisher, x.env.Log.With(slog.String("appid", appID)))
	if err != nil {
		return nil, err
	}
	x.built[appID] = a
	return a, nil
}
