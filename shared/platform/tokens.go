package platform

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"wechatqr/shared/accounts"
	"wechatqr/shared/qr"
	"wechatqr/shared/token"
	"wechatqr/shared/wechat"
)

// ErrNoTicket means the platform has no component_verify_ticket yet, so no
// component_access_token can be fetched.
var ErrNoTicket = errors.New("platform: no component_verify_ticket has arrived yet: WeChat pushes one every 10 minutes to the authorization-event URL (POST /wechat/component) once that URL is saved in the platform's settings")

// Ticket watch (docs/wechat.md §13.1: a ticket is pushed every 10 minutes).
const (
	// TicketSilence is how long without a new ticket makes the platform ask
	// WeChat to push again: two missed pushes.
	TicketSilence = 20 * time.Minute
	// StartPushEvery bounds api_start_push_ticket to one call in this long
	// across every instance: a push is due within it anyway.
	StartPushEvery = 10 * time.Minute
)

// ComponentIssuer fetches the component_access_token (api_component_token)
// with the newest ticket state keeps. c must hold the component_appsecret:
// only tokenrefresh builds one. Use it under token.NewSource over the
// component AppID's token item, so that one writer fetches it.
func ComponentIssuer(c *wechat.Component, state accounts.Platform) token.Issuer {
	return token.IssuerFunc(func(ctx context.Context, _ bool) (token.Issued, error) {
		t, err := state.Ticket(ctx)
		if err != nil {
			return token.Issued{}, fmt.Errorf("platform: reading the component_verify_ticket: %w", err)
		}
		if t.Value == "" {
			return token.Issued{}, ErrNoTicket
		}
		// Every call issues a new token (the one before lives five more
		// minutes), so force changes nothing.
		tok, err := c.ComponentToken(ctx, t.Value)
		if err != nil {
			return token.Issued{}, fmt.Errorf("platform: api_component_token: %w", err)
		}
		return token.Issued{Token: tok.AccessToken, ExpiresIn: time.Duration(tok.ExpiresIn) * time.Second}, nil
	})
}

// RefreshComponentToken is tokenrefresh's refresh of the
// component_access_token (token.Source.Refresh: a WeChat call only when it
// is due), run before the authorizers' so that theirs use a fresh one.
func (s *Service) RefreshComponentToken(ctx context.Context) (bool, error) {
	r, ok := s.cfg.ComponentToken.(interface {
		Refresh(ctx context.Context) (bool, error)
	})
	if !ok {
		return false, errors.New("platform: the component token cannot be refreshed here (not a *token.Source)")
	}
	return r.Refresh(ctx)
}

// ComponentToken returns the component_access_token as every function reads
// it (memory, else the tokens table; only tokenrefresh's may fetch one).
func (s *Service) ComponentToken(ctx context.Context) (string, error) {
	return s.cfg.ComponentToken.Token(ctx)
}

// AuthorizerIssuer fetches the access token of the authorizer appID
// (api_authorizer_token) with its stored refresh token; authorizers have no
// stable_token (docs/wechat.md §13.5). Use it under token.NewSource over the
// account's token item, so that one writer fetches it: each issue retires the
// token before it and counts against a daily quota.
//
// A refresh token the answer rotates to is stored before the access token is
// handed back. A refresh token WeChat refuses (61023) is recovered once from
// api_get_authorizer_info; when that fails too the account is flagged for
// reauthorization and not asked for again until it authorizes anew. A
// withdrawn authorization (61003) revokes the account: qr.EAccountRevoked,
// then and on every later call, with no WeChat call.
func (s *Service) AuthorizerIssuer(appID string) token.Issuer {
	return token.IssuerFunc(func(ctx context.Context, _ bool) (token.Issued, error) {
		if s.cfg.ReadOnly {
			return token.Issued{}, qr.Errorf(qr.EUnavailable, "only tokenrefresh fetches the tokens of account %s, which authorized this platform: none valid is in the tokens table (is tokenrefresh running? see its log)", appID)
		}
		at, err := s.authorizerToken(ctx, appID)
		if qr.ErrorCode(err) == qr.EConflict {
			// token.Source reads a conflict as a lost race to store the
			// token and fetches again: none of these is that.
			return token.Issued{}, qr.Errorf(qr.EUnavailable, "%s", qr.ErrorMessage(err))
		}
		if err != nil {
			return token.Issued{}, err
		}
		return token.Issued{Token: at.AccessToken, ExpiresIn: time.Duration(at.ExpiresIn) * time.Second}, nil
	})
}

// authorizerToken is AuthorizerIssuer's fetch.
func (s *Service) authorizerToken(ctx context.Context, appID string) (wechat.AuthorizerToken, error) {
	a, err := s.cfg.Accounts.Get(ctx, appID)
	if err != nil {
		return wechat.AuthorizerToken{}, err
	}
	switch {
	case a.Kind != accounts.Authorizer:
		return wechat.AuthorizerToken{}, fmt.Errorf("platform: account %s is not an authorizer: its tokens do not come from the platform", appID)
	case a.Status == accounts.Revoked:
		return wechat.AuthorizerToken{}, revokedError(appID)
	case a.NeedsReauthorization:
		// Asking again would only spend quota on the refusal already seen.
		return wechat.AuthorizerToken{}, reauthorizationError(appID, a.ReauthorizationReason)
	}
	rt, version, err := s.cfg.Accounts.RefreshToken(ctx, appID)
	if err != nil {
		return wechat.AuthorizerToken{}, err
	}
	at, err := s.callAuthorizerToken(ctx, appID, rt)
	if wechat.IsRefreshTokenInvalid(err) {
		at, rt, version, err = s.recoverRefreshToken(ctx, appID, rt, version)
	}
	if err != nil {
		return wechat.AuthorizerToken{}, s.authorizerError(ctx, appID, err)
	}
	if at.RefreshToken != rt {
		if err := s.keepRefreshToken(ctx, appID, at.RefreshToken, version); err != nil {
			return wechat.AuthorizerToken{}, err
		}
	}
	return at, nil
}

// callAuthorizerToken is one api_authorizer_token call, with the component
// token re-read once if it went stale.
func (s *Service) callAuthorizerToken(ctx context.Context, appID, refresh string) (wechat.AuthorizerToken, error) {
	return withComponentToken(ctx, s.cfg.ComponentToken, func(tok string) (wechat.AuthorizerToken, error) {
		return s.cfg.Component.AuthorizerToken(ctx, tok, appID, refresh)
	})
}

// recoverRefreshToken is the answer to 61023 (docs/wechat.md §13.4): the
// account's current refresh token from api_get_authorizer_info, stored, and
// one more api_authorizer_token with it. It returns the answer, the refresh
// token it was made with and that token's version. When WeChat has no
// refresh token that works, the account is flagged for reauthorization.
func (s *Service) recoverRefreshToken(ctx context.Context, appID, refused string, version int64) (wechat.AuthorizerToken, string, int64, error) {
	fail := func(err error) (wechat.AuthorizerToken, string, int64, error) {
		return wechat.AuthorizerToken{}, "", 0, err
	}
	current, err := s.currentRefreshToken(ctx, appID)
	if err != nil {
		return fail(fmt.Errorf("platform: recovering the refresh token of %s: %w", appID, err))
	}
	if current == "" {
		return fail(s.flag(ctx, appID, "WeChat refused the refresh token (errcode 61023) and has no other for the account"))
	}
	// The same token as refused is still tried once more, unstored: WeChat
	// says it is the account's, so the refusal may have been passing.
	if current != refused {
		switch err := s.cfg.Accounts.ReplaceRefreshToken(ctx, appID, current, version); qr.ErrorCode(err) {
		case "":
			// ReplaceRefreshToken moves the version on by one (accounts.Registry).
			version++
		case qr.EConflict:
			// Another writer stored a refresh token since ours was read (a
			// new authorization, or another instance's recovery): use it.
			if current, version, err = s.cfg.Accounts.RefreshToken(ctx, appID); err != nil {
				return fail(err)
			}
		default:
			return fail(err)
		}
	}
	at, err := s.callAuthorizerToken(ctx, appID, current)
	if wechat.IsRefreshTokenInvalid(err) {
		return fail(s.flag(ctx, appID, "WeChat refused the refresh token (errcode 61023), and the one it gave back too"))
	}
	if err != nil {
		return fail(err)
	}
	s.cfg.Log.LogAttrs(ctx, slog.LevelWarn, "refresh token recovered", slog.String("authorizer", appID))
	return at, current, version, nil
}

// flag marks appID for reauthorization with reason (no secret) and returns
// the error that says so.
func (s *Service) flag(ctx context.Context, appID, reason string) error {
	s.cfg.Log.LogAttrs(ctx, slog.LevelError, "authorizer needs reauthorization", slog.String("authorizer", appID), slog.String("reason", reason))
	if err := s.cfg.Accounts.FlagReauthorization(ctx, appID, reason); err != nil {
		return fmt.Errorf("platform: flagging %s for reauthorization: %w", appID, err)
	}
	return reauthorizationError(appID, reason)
}

// reauthorizationError says appID cannot be served until it authorizes the
// platform again. It is qr.EUnavailable: trying later fails alike, but the
// request was not at fault, and the cure is the account administrator's.
func reauthorizationError(appID, reason string) error {
	return qr.Errorf(qr.EUnavailable, "account %s must authorize the platform again: %s", appID, reason)
}

// keepRefreshToken stores the refresh token an answer rotated to over the
// one at version. Losing to another writer is no error: what it stored was
// written after our read, by a new authorization (whose token is the
// newest) or by another fetch (rare under the token lease); should that
// one be the older, the next fetch's 61023 recovers the current one.
func (s *Service) keepRefreshToken(ctx context.Context, appID, rotated string, version int64) error {
	err := s.cfg.Accounts.ReplaceRefreshToken(ctx, appID, rotated, version)
	switch qr.ErrorCode(err) {
	case "":
		return nil
	case qr.EConflict:
		s.cfg.Log.LogAttrs(ctx, slog.LevelWarn, "rotated refresh token not kept: another writer stored one first", slog.String("authorizer", appID))
		return nil
	case qr.EAccountRevoked:
		return err
	}
	return fmt.Errorf("platform: storing the rotated refresh token of %s: %w", appID, err)
}

// authorizerError handles what WeChat's refusal of an authorizer's token
// says about the account: a withdrawn authorization (61003) revokes it.
func (s *Service) authorizerError(ctx context.Context, appID string, err error) error {
	if !wechat.IsAuthorizationRevoked(err) {
		return fmt.Errorf("platform: the access token of %s: %w", appID, err)
	}
	if rerr := s.cfg.Accounts.Revoke(ctx, appID); rerr != nil {
		return fmt.Errorf("platform: revoking %s, which withdrew its authorization (61003): %w", appID, rerr)
	}
	s.cfg.Log.LogAttrs(ctx, slog.LevelWarn, "authorization withdrawn", slog.String("authorizer", appID), slog.Int("errcode", wechat.CodeComponentNotAuthorized))
	return revokedError(appID)
}

func revokedError(appID string) error {
	return qr.Errorf(qr.EAccountRevoked, "account %s withdrew its authorization of the platform; it must authorize it again", appID)
}

// WatchTicket asks WeChat to push component_verify_ticket again
// (api_start_push_ticket) when none has arrived for TicketSilence, or when
// componentErr, the last component_access_token fetch's error, is WeChat's
// refusal of the ticket (61005 / 61006): at most once in StartPushEvery
// across every instance. It reports whether it called. Only tokenrefresh
// calls it: the call takes the component_appsecret.
func (s *Service) WatchTicket(ctx context.Context, componentErr error) (bool, error) {
	t, err := s.cfg.State.Ticket(ctx)
	if err != nil {
		return false, fmt.Errorf("platform: reading the component_verify_ticket: %w", err)
	}
	now := s.cfg.Now()
	last := t.Received
	if last.IsZero() {
		last = t.Created
	}
	var why string
	switch {
	case wechat.IsTicketError(componentErr):
		why = "WeChat refused the ticket"
	case t.Value == "":
		why = "no ticket has arrived yet"
	case now.Sub(last) >= TicketSilence:
		why = "no ticket for " + TicketSilence.String()
	default:
		return false, nil
	}
	ok, err := s.cfg.State.ClaimStartPushTicket(ctx, now, StartPushEvery)
	if err != nil || !ok {
		return false, err
	}
	err = s.cfg.Component.StartPushTicket(ctx)
	attrs := []slog.Attr{slog.String("reason", why)}
	if err != nil {
		attrs = append(attrs, slog.String("error", err.Error()))
	}
	s.cfg.Log.LogAttrs(ctx, slog.LevelWarn, "api_start_push_ticket", attrs...)
	if err != nil {
		return true, fmt.Errorf("platform: api_start_push_ticket: %w", err)
	}
	return true, nil
}

// currentRefreshToken asks WeChat for appID's current refresh token:
// api_get_authorizer_info, one call for the account; when that gives none,
// api_get_authorizer_list, which lists every authorizer's, page by page (a
// walk of 500 a call, too costly to be the first resort when many accounts
// recover at once). "" when WeChat has none.
func (s *Service) currentRefreshToken(ctx context.Context, appID string) (string, error) {
	info, ierr := withComponentToken(ctx, s.cfg.ComponentToken, func(tok string) (wechat.AuthorizerInfo, error) {
		return s.cfg.Component.AuthorizerInfo(ctx, tok, appID)
	})
	if ierr == nil && info.RefreshToken != "" {
		return info.RefreshToken, nil
	}
	for offset := 0; ; offset += wechat.MaxAuthorizerListCount {
		page, err := withComponentToken(ctx, s.cfg.ComponentToken, func(tok string) (wechat.AuthorizerList, error) {
			return s.cfg.Component.AuthorizerList(ctx, tok, offset, wechat.MaxAuthorizerListCount)
		})
		if err != nil {
			return "", errors.Join(ierr, fmt.Errorf("api_get_authorizer_list: %w", err))
		}
		for _, a := range page.Authorizers {
			if a.AppID == appID {
				return a.RefreshToken, nil
			}
		}
		if len(page.Authorizers) == 0 || offset+len(page.Authorizers) >= page.TotalCount {
			return "", ierr
		}
	}
}
