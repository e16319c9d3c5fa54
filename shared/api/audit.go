package api

import (
	"log/slog"
	"net/http"

	"wechatqr/shared/caller"
	"wechatqr/shared/qr"
)

// audit logs one line for a change that was made: "msg":"audit", the change
// (action), the route's pattern (never the path, which may name a follower),
// the caller (caller.From: the IAM principal, the console user, or "anonymous
// (local)") and what changed, given by attrs. A follower appears only as
// openid_sha256. Changes that fail are not audited: they changed nothing, and
// the "request failed" line says why.
//
// What is a change: creating a code (one by one or a batch through the
// console, which creates each row with POST /qrcodes), setting a code's reply or
// actions, erasing a follower. A log-in session (POST /logins) is not: it
// changes no configuration, a website's log-in page makes one per visitor, and
// its temporary code expires by itself.
func (h *Handler) audit(r *http.Request, action string, attrs ...slog.Attr) {
	base := []slog.Attr{
		slog.String("action", action),
		slog.String("route", r.Pattern),
		slog.Any("caller", caller.From(r.Context())),
	}
	h.log.LogAttrs(r.Context(), slog.LevelInfo, "audit", append(base, attrs...)...)
}

// createdAttrs are what an audit line says of a new code: its scene, kind and
// which of the optional fields it was given.
func createdAttrs(c *qr.Code) []slog.Attr {
	attrs := []slog.Attr{
		slog.String("scene", c.Scene),
		slog.String("action_name", c.ActionName),
		slog.Bool("permanent", c.Permanent),
	}
	if !c.Permanent {
		attrs = append(attrs, slog.Int64("expire_seconds", c.ExpireSeconds))
	}
	if c.Reply != nil {
		attrs = append(attrs, slog.String("reply_type", c.Reply.Type))
	}
	if c.Tag != "" {
		attrs = append(attrs, slog.String("tag", c.Tag))
	}
	if len(c.Followups) > 0 {
		attrs = append(attrs, slog.Int("followups", len(c.Followups)))
	}
	return attrs
}
