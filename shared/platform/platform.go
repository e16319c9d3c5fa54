// Package platform runs the stack as a WeChat third-party platform
// (docs/platform.md; the protocol in docs/wechat.md §13): it keeps the
// component_verify_ticket WeChat pushes, turns authorizations into accounts
// (whether they arrive as a push, through the administrator's redirect, or
// both), and hands out the platform's and its authorizers' tokens, each with
// one writer.
//
// The Service is built once per function at init, over the component API
// client, the accounts registry, the platform's own state and the
// component_access_token as the tokens table shares it. Only tokenrefresh
// holds the component_appsecret: every other function reads the component
// token from the table and never asks WeChat for one.
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

// Registry is the accounts the platform's authorizations make (an
// *accounts.Registry).
type Registry interface {
	Get(ctx context.Context, appID string) (accounts.Account, error)
	Authorize(ctx context.Context, in accounts.Authorized) (accounts.Account, error)
	Revoke(ctx context.Context, appID string) error
	RefreshToken(ctx context.Context, appID string) (string, int64, error)
	ReplaceRefreshToken(ctx context.Context, appID, newToken string, version int64) error
	MarkPermissionMissing(ctx context.Context, appID string, set int) error
	FlagReauthorization(ctx context.Context, appID, reason string) error
}

// Tokens is a token as the functions share it through the tokens table (a
// *token.Source).
type Tokens interface {
	Token(ctx context.Context) (string, error)
	Invalidate(ctx context.Context, failed string) (string, error)
}

// Config is what a Service is built from.
type Config struct {
	Component *wechat.Component
	Accounts  Registry
	State     accounts.Platform
	// ComponentToken is the component_access_token (token#<component AppID>).
	ComponentToken Tokens
	// AuthorizerTokens is an authorizer's token item, where an authorization
	// leaves the token api_query_auth issued with it (nil: not kept).
	AuthorizerTokens func(appID string) (token.Store, error)
	// ReadOnly keeps this function from fetching an authorizer's token: it
	// reads them from the tokens table only. Every function but tokenrefresh
	// is built so, and may not open a refresh token (template.yaml grants
	// kms:Decrypt for them to tokenrefresh alone).
	ReadOnly bool
	// BaseURL is WeChat's API for the authorizers' own calls ("" for WeChat's).
	BaseURL string
	// Wait bounds how long a request that lost the claim of an authorization
	// code waits for the one that won (DefaultWait when zero).
	Wait time.Duration
	Now  func() time.Time
	Log  *slog.Logger
}

// DefaultWait is how long Complete waits for an authorization another request
// is redeeming (the push usually arrives as the administrator is redirected).
const DefaultWait = 5 * time.Second

// codeLife is how long an authorization code redeems (docs/wechat.md §13.3:
// an hour, as the authorized push states): its claim is kept as long.
const codeLife = time.Hour

// Service is the platform. It is safe for concurrent use.
type Service struct {
	cfg Config
}

// New returns the Service of cfg.
func New(cfg Config) (*Service, error) {
	if cfg.Component == nil || cfg.Accounts == nil || cfg.State == nil || cfg.ComponentToken == nil {
		return nil, errors.New("platform: the component client, the accounts, the platform's state and its token are required")
	}
	if cfg.Wait <= 0 {
		cfg.Wait = DefaultWait
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	return &Service{cfg: cfg}, nil
}

// AppID is the component AppID.
func (s *Service) AppID() string { return s.cfg.Component.AppID() }

// Ticket keeps a pushed component_verify_ticket unless a newer one is kept.
func (s *Service) Ticket(ctx context.Context, ticket string, created time.Time) error {
	stored, err := s.cfg.State.PutTicket(ctx, ticket, created)
	if err != nil {
		return err
	}
	// Never the ticket: with the component_appsecret it makes tokens.
	s.cfg.Log.LogAttrs(ctx, slog.LevelInfo, "component_verify_ticket", slog.Bool("stored", stored), slog.Time("created", created))
	return nil
}

// Authorized completes an authorization pushed to the authorization-event
// URL. When the redirect is redeeming the same code, it leaves the account to
// it: both paths make one account.
func (s *Service) Authorized(ctx context.Context, appID, code string) error {
	_, err := s.redeem(ctx, code, appID, false)
	return err
}

// Complete completes an authorization from the code the administrator's
// redirect carries (POST /platform/authorizations/complete): the account,
// made now or by the push of the same authorization.
func (s *Service) Complete(ctx context.Context, code string) (accounts.Account, error) {
	if code == "" {
		return accounts.Account{}, qr.Errorf(qr.EInvalid, "auth_code is required: the code WeChat's redirect carries")
	}
	return s.redeem(ctx, code, "", true)
}

// Unauthorized revokes an account that withdrew its authorization. Its data
// ages out by retention; an AppID the stack never knew is not an error.
func (s *Service) Unauthorized(ctx context.Context, appID string) error {
	err := s.cfg.Accounts.Revoke(ctx, appID)
	if qr.ErrorCode(err) == qr.EAccountNotFound {
		return nil
	}
	return err
}

// redeem turns an authorization code into the account, once per code: the
// claim decides which of the push and the redirect calls api_query_auth
// (each call issues the account a token that retires the one before). The
// loser either returns at once (the push: the account is the redirect's to
// make) or waits for the winner's account (the redirect, which must show it).
func (s *Service) redeem(ctx context.Context, code, appID string, wait bool) (accounts.Account, error) {
	first, err := s.cfg.State.ClaimAuthCode(ctx, code, s.cfg.Now().Add(codeLife))
	if err != nil {
		return accounts.Account{}, err
	}
	if !first {
		if !wait {
			return accounts.Account{}, nil
		}
		return s.awaitRedeemed(ctx, code)
	}
	a, err := s.redeemClaimed(ctx, code, appID)
	if err != nil {
		// Given up, so that WeChat's retry of the push, or the redirect, can
		// redeem it: a failure here must not lose the authorization.
		if rerr := s.cfg.State.ReleaseAuthCode(context.WithoutCancel(ctx), code); rerr != nil {
			s.cfg.Log.LogAttrs(ctx, slog.LevelWarn, "authorization code not released", slog.String("error", rerr.Error()))
		}
		return accounts.Account{}, err
	}
	if err := s.cfg.State.AuthCodeRedeemed(ctx, code, a.AppID); err != nil {
		// The account is made; only a concurrent redirect waits in vain.
		s.cfg.Log.LogAttrs(ctx, slog.LevelWarn, "authorization", slog.String("authorizer", a.AppID), slog.String("error", err.Error()))
	}
	s.cfg.Log.LogAttrs(ctx, slog.LevelInfo, "authorization", slog.String("authorizer", a.AppID), slog.Any("permissions", a.Permissions))
	return a, nil
}

// redeemClaimed redeems a code this caller claimed: api_query_auth, the
// account's details, the account stored, the token it issued kept.
func (s *Service) redeemClaimed(ctx context.Context, code, appID string) (accounts.Account, error) {
	auth, err := withComponentToken(ctx, s.cfg.ComponentToken, func(tok string) (wechat.Authorization, error) {
		return s.cfg.Component.QueryAuth(ctx, tok, code)
	})
	if err != nil {
		return accounts.Account{}, authError(err)
	}
	if appID != "" && auth.AuthorizerAppID != appID {
		return accounts.Account{}, qr.Errorf(qr.EInvalid, "the authorization code is of another account than the event names")
	}
	info, err := withComponentToken(ctx, s.cfg.ComponentToken, func(tok string) (wechat.AuthorizerInfo, error) {
		return s.cfg.Component.AuthorizerInfo(ctx, tok, auth.AuthorizerAppID)
	})
	if err != nil {
		return accounts.Account{}, authError(err)
	}
	a, err := s.cfg.Accounts.Authorize(ctx, accounts.Authorized{
		AppID: auth.AuthorizerAppID, RefreshToken: auth.RefreshToken, FuncInfo: auth.FuncInfo,
		NickName: info.NickName, HeadImg: info.HeadImg, UserName: info.UserName, PrincipalName: info.PrincipalName,
		ServiceType: info.ServiceType, VerifyType: info.VerifyType,
	})
	if err != nil {
		return accounts.Account{}, err
	}
	s.keepToken(ctx, auth)
	return a, nil
}

// awaitRedeemed waits for the account a code's winning redeemer makes.
func (s *Service) awaitRedeemed(ctx context.Context, code string) (accounts.Account, error) {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.Wait)
	defer cancel()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		appID, err := s.cfg.State.AuthCodeAccount(ctx, code)
		if err == nil && appID != "" {
			return s.cfg.Accounts.Get(ctx, appID)
		}
		select {
		case <-ctx.Done():
			return accounts.Account{}, qr.Errorf(qr.EConflict, "this authorization is being completed by another request (WeChat's push); the account shows on the Accounts page in a moment")
		case <-tick.C:
		}
	}
}

// keepToken stores the token api_query_auth issued as the account's, when
// the account's token item holds none newer: WeChat retired the one before it.
func (s *Service) keepToken(ctx context.Context, auth wechat.Authorization) {
	if s.cfg.AuthorizerTokens == nil || auth.AccessToken == "" {
		return
	}
	store, err := s.cfg.AuthorizerTokens(auth.AuthorizerAppID)
	if err == nil {
		var prev qr.AccessToken
		if prev, err = store.Load(ctx); err == nil {
			rec := qr.AccessToken{Token: auth.AccessToken, ExpiresAt: s.cfg.Now().Add(time.Duration(auth.ExpiresIn) * time.Second), Version: prev.Version + 1}
			err = store.Save(ctx, rec, prev.Version)
		}
	}
	if err != nil {
		// The account's Source fetches one when it needs it.
		s.cfg.Log.LogAttrs(ctx, slog.LevelWarn, "authorization token not kept", slog.String("authorizer", auth.AuthorizerAppID), slog.String("error", err.Error()))
	}
}

// withComponentToken calls f with the component_access_token, and once more
// with a new one read from the table when WeChat says the first is no longer
// valid (tokenrefresh replaced it meanwhile).
func withComponentToken[T any](ctx context.Context, src Tokens, f func(tok string) (T, error)) (T, error) {
	tok, err := src.Token(ctx)
	if err != nil {
		var zero T
		return zero, fmt.Errorf("platform: the component_access_token: %w", err)
	}
	v, err := f(tok)
	if !staleToken(err) {
		return v, err
	}
	if tok, err = src.Invalidate(ctx, tok); err != nil {
		var zero T
		return zero, fmt.Errorf("platform: the component_access_token: %w", err)
	}
	return f(tok)
}

// staleToken reports WeChat's refusal of a token that is not (or no longer) valid.
func staleToken(err error) bool {
	var api *wechat.APIError
	return errors.As(err, &api) && (api.Code == wechat.CodeInvalidCredential || api.Code == wechat.CodeAccessTokenExpired)
}

// authError classifies a failed redemption for the caller: a code WeChat
// refuses is the administrator's to redo.
func authError(err error) error {
	if wechat.IsAuthCodeError(err) {
		return qr.Errorf(qr.EInvalid, "WeChat refused the authorization code (invalid or expired): start the authorization again")
	}
	return err
}

// StartAuthorization returns the pages where an administrator authorizes the
// platform (docs/wechat.md §13.3: the PC page and the mobile link), each with
// a fresh pre-auth code, and when that code expires. WeChat sends the
// administrator back to redirectURI with the authorization code.
func (s *Service) StartAuthorization(ctx context.Context, redirectURI string) (page, mobile string, expires time.Time, err error) {
	pre, err := withComponentToken(ctx, s.cfg.ComponentToken, func(tok string) (wechat.PreAuthCode, error) {
		return s.cfg.Component.CreatePreAuthCode(ctx, tok)
	})
	if err != nil {
		return "", "", time.Time{}, err
	}
	expires = s.cfg.Now().Add(time.Duration(pre.ExpiresIn) * time.Second)
	return s.cfg.Component.LoginPageURL(pre.Code, redirectURI), s.cfg.Component.MobileAuthURL(pre.Code, redirectURI), expires, nil
}
