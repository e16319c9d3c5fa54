package actions

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"sync"

	"wechatqr/shared/qr"
	"wechatqr/shared/wechat"
)

// followups sends each scan's follow-ups, records at once (Workers at a time),
// each record's messages in order.
func (a *Actions) followups(ctx context.Context, b *batch, recs []qr.ScanRecord) {
	work := make(chan qr.ScanRecord)
	var wg sync.WaitGroup
	for range a.cfg.Workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for r := range work {
				a.sendFollowups(ctx, b, r)
			}
		}()
	}
	for _, r := range recs {
		if c := b.codes[r.Scene]; kindOf(r) == kindScan && c != nil && len(c.Followups) > 0 {
			work <- r
		}
	}
	close(work)
	wg.Wait()
}

// sendFollowups sends r's follow-ups that no earlier delivery claimed. Each is
// claimed before it is sent, so a message is sent at most once however often
// the record comes back; a claim is released only when WeChat cannot have shown
// the message, and then the record fails, so that the retry sends it, and the
// messages after it wait for it (they must arrive in order).
func (a *Actions) sendFollowups(ctx context.Context, b *batch, r qr.ScanRecord) {
	code := b.codes[r.Scene]
	done := b.progress[r.PushID].Followups
	deadline := r.At.Add(a.cfg.Window - a.cfg.Margin)
	skipRest := "" // why the remaining messages are skipped
	for i, f := range code.Followups[:min(len(code.Followups), qr.MaxFollowups)] {
		if done[i] {
			continue
		}
		log := a.log.With(slog.String("id", r.PushID), slog.String("scene", r.Scene), slog.Int("followup", i))
		if skipRest == "" && a.cfg.Now().After(deadline) {
			skipRest = "the scan's one-minute window has passed"
		}
		if skipRest != "" {
			if err := a.store.SkipFollowup(ctx, r, i); err != nil {
				a.refused(b, r, "skipping a follow-up", err)
				return
			}
			log.Info("follow-up skipped", slog.String("reason", skipRest))
			continue
		}
		if why := a.halt(ctx, b); why != "" {
			b.fail(r, why+"; follow-ups wait for the retry")
			return
		}
		claimed, err := a.store.ClaimFollowup(ctx, r, i)
		if err != nil {
			a.refused(b, r, "claiming a follow-up", err)
			return
		}
		if !claimed {
			continue // a concurrent delivery of the record has it
		}
		err = a.call(ctx, func(tok string) error { return a.wx.SendCustomMessage(ctx, tok, message(r.OpenID, f)) })
		if err == nil {
			log.Info("follow-up sent")
			continue
		}
		outcome := classify(err)
		if unwell(err) {
			b.down.Store(true)
		}
		if serr := a.store.SettleFollowup(ctx, r, i, outcome); errors.Is(serr, qr.ErrFollowerErased) {
			// The erasure deleted the claim while the message was on its way; the
			// record stops here (no retry, no tag, no event).
			log.Info("the follower was erased during the send; nothing more done", slog.String("error", err.Error()))
			b.stop(r)
			return
		} else if serr != nil {
			// The claim stays: the message is not sent again, and its count says
			// "sent". Rare (DynamoDB failed right after answering), and logged.
			log.Error("settling a follow-up failed; it stays counted as sent", slog.String("outcome", outcome.String()), slog.String("error", serr.Error()))
		}
		switch {
		case outcome == qr.FollowupReleased:
			log.Warn("follow-up not sent; released for the retry", slog.String("error", err.Error()))
			b.fail(r, "follow-up "+itoa(i)+": "+err.Error())
			return
		case wechat.IsOutOfWindow(err) || wechat.IsResponseLimit(err):
			// The window is closed or full: the messages after this one would be
			// refused the same way, so they are skipped without a call.
			log.Warn("follow-up refused: the window is closed or full", slog.String("error", err.Error()))
			skipRest = "WeChat refused the one before: " + err.Error()
		case outcome == qr.FollowupUnknown:
			log.Error("follow-up unanswered; it may have been shown, so it is not sent again", slog.String("error", err.Error()))
			b.fail(r, "WeChat did not answer a follow-up; the rest wait for the retry")
			return
		default:
			log.Warn("follow-up refused", slog.String("error", err.Error()))
		}
	}
}

// refused handles a write of r's that the store refused: the follower was
// erased meanwhile (r stops, nothing to retry) or the write failed (r is retried).
func (a *Actions) refused(b *batch, r qr.ScanRecord, what string, err error) {
	if errors.Is(err, qr.ErrFollowerErased) {
		a.log.Info("the follower was erased while the record was in flight; nothing more done", slog.String("id", r.PushID), slog.String("step", what))
		b.stop(r)
		return
	}
	b.fail(r, what+": "+err.Error())
}

// classify says what a failed send leaves behind.
func classify(err error) qr.FollowupOutcome {
	var he *wechat.HTTPError
	switch {
	case wechat.IsBusy(err), wechat.IsTokenError(err), errors.As(err, &he) && he.StatusCode >= 500, neverSent(err):
		return qr.FollowupReleased
	case isAPIError(err), errors.Is(err, wechat.ErrInvalidRequest):
		return qr.FollowupRefused
	}
	// A timeout, a cut connection, an answer that made no sense: the request
	// may have reached WeChat.
	return qr.FollowupUnknown
}

func isAPIError(err error) bool { _, ok := wechat.ErrCode(err); return ok }

// neverSent reports a failure before the request left: no token to send it
// with, or a connection that was never made.
func neverSent(err error) bool {
	var op *net.OpError
	if errors.As(err, &op) && op.Op == "dial" {
		return true
	}
	return errors.Is(err, errNoToken)
}

// message turns a scene's follow-up into a customer-service message to openid.
func message(openid string, f qr.Reply) wechat.CustomMessage {
	switch f.Type {
	case qr.ReplyImage:
		return wechat.ImageMessage(openid, f.MediaID)
	case qr.ReplyNews:
		var a wechat.Article
		if len(f.Articles) > 0 {
			x := f.Articles[0]
			a = wechat.Article{Title: x.Title, Description: x.Description, PicURL: x.PicURL, URL: x.URL}
		}
		return wechat.NewsMessage(openid, a)
	}
	return wechat.TextMessage(openid, f.Content)
}

func itoa(i int) string { return string(rune('0' + i)) }
