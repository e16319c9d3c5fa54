package platform

import (
	"context"
	"fmt"
	"log/slog"

	"wechatqr/shared/wechat"
)

// ReleaseAnswer is what the full-network release test (docs/wechat.md §13.6)
// expects of a text message: a passive reply, or an effect to run once.
type ReleaseAnswer struct {
	// Reply is the passive text reply; "" for none.
	Reply string
	// Once answers a QUERY_AUTH_CODE: message: api_query_auth with the code,
	// then the code and "_from_api" to the sender as a customer-service
	// message. The caller claims the push before running it, so WeChat's
	// retries do not send it twice.
	Once func(ctx context.Context) error
}

// ReleaseTest answers the release test's text messages to the authorizer
// appID, and nothing else (the zero ReleaseAnswer): WeChat sends them from its
// test accounts before a platform may go live, and after, whenever it checks.
func (s *Service) ReleaseTest(appID string, msg *wechat.Message) ReleaseAnswer {
	if msg.Content == wechat.ReleaseTestText {
		return ReleaseAnswer{Reply: wechat.ReleaseTestTextReply}
	}
	code, ok := wechat.ReleaseTestQueryAuthCode(msg.Content)
	if !ok {
		return ReleaseAnswer{}
	}
	to := msg.FromUserName
	return ReleaseAnswer{Once: func(ctx context.Context) error {
		// The test asks for api_query_auth itself, with this code: not the
		// account's stored token. The token it issues is kept as the
		// account's, as an authorization's is (the one before is retired).
		accessToken, err := s.releaseToken(ctx, appID, code)
		if err != nil {
			return err
		}
		client, err := wechat.NewClient(s.cfg.BaseURL, appID, "")
		if err != nil {
			return err
		}
		if err := client.SendCustomMessage(ctx, accessToken, wechat.CustomMessage{ToUser: to, MsgType: wechat.MsgText, Content: wechat.ReleaseTestAPIText(code)}); err != nil {
			return fmt.Errorf("platform: release test: message/custom/send: %w", err)
		}
		s.cfg.Log.LogAttrs(ctx, slog.LevelInfo, "release test answered", slog.String("authorizer", appID))
		return nil
	}}
}

// releaseToken redeems the release test's code for the account's token. The
// authorized push that came before it redeemed the same code already; WeChat
// answers a second api_query_auth with the code (the emulator does; whether
// WeChat does is one of docs/wechat.md §13.9's open points), and when it
// refuses the code as used, the token the first redemption kept is used.
func (s *Service) releaseToken(ctx context.Context, appID, code string) (string, error) {
	auth, err := withComponentToken(ctx, s.cfg.ComponentToken, func(tok string) (wechat.Authorization, error) {
		return s.cfg.Component.QueryAuth(ctx, tok, code)
	})
	switch {
	case err == nil && auth.AuthorizerAppID != appID:
		return "", fmt.Errorf("platform: release test: the code is of another account than %s", appID)
	case err == nil:
		s.keepToken(ctx, auth)
		return auth.AccessToken, nil
	case !wechat.IsAuthCodeError(err) || s.cfg.AuthorizerTokens == nil:
		return "", fmt.Errorf("platform: release test: api_query_auth: %w", err)
	}
	store, serr := s.cfg.AuthorizerTokens(appID)
	if serr != nil {
		return "", serr
	}
	kept, serr := store.Load(ctx)
	if serr != nil || kept.Token == "" || !kept.ExpiresAt.After(s.cfg.Now()) {
		return "", fmt.Errorf("platform: release test: api_query_auth: %w (and no token of %s is kept)", err, appID)
	}
	return kept.Token, nil
}
