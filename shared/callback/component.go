package callback

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"wechatqr/shared/wechat"
)

// Platform is what the third-party platform's authorization events change (a
// *platform.Service): the ticket WeChat pushes every ten minutes, and the
// accounts that authorize the platform or stop doing so.
type Platform interface {
	// Ticket keeps ticket unless a newer one (by created) is kept already.
	Ticket(ctx context.Context, ticket string, created time.Time) error
	// Authorized completes the authorization of appID from its code: an
	// authorized or updateauthorized event, which the redirect may complete
	// too; either way there is one account.
	Authorized(ctx context.Context, appID, code string) error
	// Unauthorized revokes appID.
	Unauthorized(ctx context.Context, appID string) error
}

// NewComponent returns the Handler of the platform's authorization-event URL
// (POST /wechat/component, docs/platform.md): pushes signed and sealed with the
// platform's Token and EncodingAESKey, the component AppID as their trailer
// (cfg.AppID), always encrypted (a plain push is refused, as in safe mode),
// and answered "success". They carry no follower and are not claimed: every
// change they make is idempotent (the newest ticket wins; an authorization
// ends in one account however often it arrives; revoking twice is revoking).
func NewComponent(cfg Config, p Platform, log *slog.Logger) (*Handler, error) {
	if p == nil {
		return nil, errors.New("callback: the component URL needs the platform")
	}
	cfg.MessageMode = Safe
	h, err := newHandler(cfg, nil, log)
	if err != nil {
		return nil, err
	}
	h.platform = p
	return h, nil
}

// componentEvent handles a decrypted authorization event.
func (h *Handler) componentEvent(ctx context.Context, inner []byte) (pushResult, error) {
	ev, err := wechat.ParseComponentEvent(inner)
	switch {
	case errors.Is(err, wechat.ErrUnknownInfoType):
		// Events of platforms that manage mini programs, and whatever WeChat
		// adds: acknowledged, so that they are not retried.
		return pushResult{event: ev.InfoType, reply: success, outcome: "ignored"}, nil
	case err != nil:
		return pushResult{}, reject(http.StatusBadRequest, "the decrypted message is not an authorization event")
	}
	res := pushResult{event: ev.InfoType, reply: success, outcome: "handled"}
	if ev.AppID != h.cfg.AppID {
		// The trailer named this platform; an inner AppId of another is a
		// forgery or a misrouted push, and changes nothing.
		return res, reject(http.StatusForbidden, "the event is for another component AppID")
	}
	switch ev.InfoType {
	case wechat.InfoVerifyTicket:
		err = h.platform.Ticket(ctx, ev.ComponentVerifyTicket, time.Unix(ev.CreateTime, 0))
	case wechat.InfoAuthorized, wechat.InfoUpdateAuthorized:
		err = h.platform.Authorized(ctx, ev.AuthorizerAppID, ev.AuthorizationCode)
	case wechat.InfoUnauthorized:
		err = h.platform.Unauthorized(ctx, ev.AuthorizerAppID)
	default:
		res.outcome = "ignored"
	}
	if err != nil {
		return res, fmt.Errorf("callback: %s of %q: %w", ev.InfoType, ev.AuthorizerAppID, err)
	}
	if ev.AuthorizerAppID != "" {
		// An account's AppID is public, not personal: logged to follow its
		// authorization. The code and the ticket are credentials: never.
		h.log.LogAttrs(ctx, slog.LevelInfo, "authorization event", slog.String("info_type", ev.InfoType), slog.String("authorizer", ev.AuthorizerAppID))
	}
	return res, nil
}
