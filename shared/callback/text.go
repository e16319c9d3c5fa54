package callback

import (
	"context"
	"log/slog"
	"time"

	"wechatqr/shared/qr"
	"wechatqr/shared/wechat"
)

// Texts answers users' text messages, which the callback otherwise leaves
// unanswered: the full-network release test of a third-party platform
// (docs/platform.md) is one such answerer.
type Texts interface {
	// Text returns what to do with a text message; the zero TextAnswer leaves
	// it unanswered.
	Text(ctx context.Context, msg *wechat.Message) (TextAnswer, error)
}

// TextAnswer is a text message's passive reply and its effect.
type TextAnswer struct {
	// Reply is the passive reply; nil answers "success".
	Reply *qr.Reply
	// Once, when set, is an effect that must not be repeated (a
	// customer-service message): it runs after the push is claimed, on its
	// first delivery only, never on WeChat's retries.
	Once func(ctx context.Context) error
}

// text answers a text message through Texts, claiming it when its answer has
// an effect.
func (h *Handler) text(ctx context.Context, msg *wechat.Message, signed *qr.SignedBody, res pushResult) (pushResult, error) {
	ans, err := h.cfg.Texts.Text(ctx, msg)
	if err != nil {
		return res, err
	}
	reply := success
	if ans.Reply != nil {
		reply = h.render(msg, ans.Reply)
	}
	if ans.Once == nil && signed == nil {
		// Nothing to run once, and an encrypted push's msg_signature covers its
		// body: no claim needed.
		res.reply, res.outcome = reply, "answered"
		return res, nil
	}
	at := time.Unix(msg.CreateTime, 0).UTC()
	winner, first, err := h.store.Record(ctx, qr.Claim{Key: msg.DedupeKey(), OpenID: msg.FromUserName, Reply: storedReply(msg, reply), At: at, Signed: signed}, nil)
	if err != nil {
		return res, err
	}
	if !first {
		res.reply, res.outcome = answerFrom(msg, winner.Reply), "duplicate"
		return res, nil
	}
	if ans.Once == nil {
		res.reply, res.outcome = reply, "answered"
		return res, nil
	}
	if err := ans.Once(ctx); err != nil {
		// Claimed: WeChat's retries will not run it again. The reply still goes,
		// and the failure is the operator's to see.
		h.log.LogAttrs(ctx, slog.LevelError, "text effect failed", slog.String("error", err.Error()))
	}
	res.reply, res.outcome = reply, "answered"
	return res, nil
}
