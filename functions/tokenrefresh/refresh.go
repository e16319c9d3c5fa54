package main

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"wechatqr/functions/internal/account"
	"wechatqr/functions/internal/boot"
	"wechatqr/shared/accounts"
	"wechatqr/shared/dynamo"
	"wechatqr/shared/platform"
	"wechatqr/shared/token"
)

// refresher is one instance's token refresh: the default account's token, the
// stored accounts' and, on a platform, the component's and its authorizers'.
type refresher struct {
	env    *boot.Env
	reg    *accounts.Registry // nil without ACCOUNTS_TABLE
	plat   *platform.Service  // nil unless the stack is a platform
	tokens string             // the tokens table
	def    token.Account
	// built are the stored accounts' token sources, built at their first run
	// on this instance and kept: their holder ids and cached tokens carry over.
	built map[string]token.Account
}

// run is one scheduled run.
func (r *refresher) run(ctx context.Context) error {
	usable, compErr := refreshPlatform(ctx, r.env, r.plat)
	list, listErr := r.due(ctx, usable)
	sum := token.RefreshAll(ctx, list, token.AllOptions{Log: r.env.Log})
	r.env.Log.LogAttrs(ctx, slog.LevelInfo, "token refresh",
		slog.Int("accounts", sum.Accounts), slog.Int("refreshed", sum.Refreshed), slog.Int("failed", sum.Failed))
	if listErr != nil {
		// The default account was still refreshed; the run fails so the alarm fires.
		r.env.Log.Error("token refresh: listing the accounts", slog.String("error", listErr.Error()))
		return listErr
	}
	if sum.DefaultErr != nil {
		// Returned, so the invocation fails and the template's alarm fires. Another
		// account's failure is on its own line and on the Accounts page instead.
		return errors.New("token refresh: the default account's token could not be refreshed")
	}
	if compErr != nil {
		// Every authorizer depends on it: the alarm fires for it too.
		return errors.New("token refresh: the platform's component_access_token could not be refreshed")
	}
	return nil
}

// due lists the accounts whose tokens this run refreshes: the default one and
// every active stored one (authorizers only when authorizers is true).
func (r *refresher) due(ctx context.Context, authorizers bool) ([]token.Account, error) {
	out := []token.Account{r.def}
	if r.reg == nil {
		return out, nil
	}
	all, err := r.reg.List(ctx)
	if err != nil {
		return out, err
	}
	for _, a := range all {
		if a.Default || a.Status != accounts.Active {
			continue
		}
		if a.Kind == accounts.Authorizer && (!authorizers || a.NeedsReauthorization) {
			// Nothing can fetch its token: not a platform (any more), no
			// component token this run, or WeChat refused its refresh
			// token until it authorizes again (on the Accounts page).
			// Asking would only fail, each after waiting on the lease.
			continue
		}
		acct, ok := r.built[a.AppID]
		if !ok {
			src, _, err := account.TokensOf(r.env, r.reg, r.plat, r.tokens, a)
			if err != nil {
				return out, err
			}
			h, err := dynamo.NewTokens(r.env.DynamoDB(), r.tokens, a.AppID)
			if err != nil {
				return out, err
			}
			acct = token.Account{AppID: a.AppID, Source: src, Health: h}
			r.built[a.AppID] = acct
		}
		out = append(out, acct)
	}
	return out, nil
}

// refreshPlatform refreshes the component_access_token when it is due, first,
// so that the authorizers' fetches after it use a fresh one, and asks WeChat
// to push tickets again when they stopped. It reports whether the
// authorizers can be refreshed this run (a platform with a valid component
// token, even one the refresh failed to replace: it has minutes left, in
// which the authorizers' tokens can still be renewed), and the refresh's
// failure, logged.
func refreshPlatform(ctx context.Context, env *boot.Env, plat *platform.Service) (usable bool, err error) {
	if plat == nil {
		return false, nil
	}
	rctx, cancel := context.WithTimeout(ctx, token.DefaultTimeout)
	defer cancel()
	refreshed, err := plat.RefreshComponentToken(rctx)
	if err != nil {
		env.Log.LogAttrs(ctx, slog.LevelError, "component token refresh failed", slog.String("appid", plat.AppID()),
			slog.String("reason", token.Reason(err)), slog.String("error", err.Error()))
	} else if refreshed {
		env.Log.LogAttrs(ctx, slog.LevelInfo, "component token refreshed", slog.String("appid", plat.AppID()))
	}
	if _, werr := plat.WatchTicket(rctx, err); werr != nil {
		env.Log.LogAttrs(ctx, slog.LevelError, "component_verify_ticket watch", slog.String("error", werr.Error()))
	}
	if err == nil {
		return true, nil
	}
	// The failed fetch holds the lease, so this reads the table and, with no
	// valid token there, gives up at the deadline instead of fetching again.
	pctx, cancel := context.WithTimeout(ctx, 500*time.Millisecond)
	defer cancel()
	_, perr := plat.ComponentToken(pctx)
	return perr == nil, err
}
