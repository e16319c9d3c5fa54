package api

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"wechatqr/shared/qr"
	"wechatqr/shared/token"
	"wechatqr/shared/wechat"
)

// statusOf is the one table from error codes to HTTP statuses.
var statusOf = map[string]int{
	qr.EInvalid:     http.StatusBadRequest,
	qr.ENotFound:    http.StatusNotFound,
	qr.EConflict:    http.StatusConflict,
	qr.EQuota:       http.StatusConflict,
	qr.EUnavailable: http.StatusServiceUnavailable,
	qr.EInternal:    http.StatusInternalServerError,
}

type tooLarge struct{ max int64 }

func (e *tooLarge) Error() string { return "body: over " + strconv.FormatInt(e.max, 10) + " bytes" }

// errorJSON is every error's body. WeChat's errcode and errmsg ride along when
// WeChat refused, so an operator can look the code up.
type errorJSON struct {
	Error   string `json:"error"`
	Message string `json:"message"`
	ErrCode *int   `json:"errcode,omitempty"`
	ErrMsg  string `json:"errmsg,omitempty"`
}

// fail answers err. Our own failures are logged with their detail and shown to
// the caller only as "internal error"; the client's errors never carry secrets
// or tokens, so WeChat's errmsg is passed on.
func (h *Handler) fail(w http.ResponseWriter, r *http.Request, err error) {
	var (
		body   errorJSON
		status int
		api    *wechat.APIError
		big    *tooLarge
	)
	switch {
	case errors.As(err, &big):
		status, body = http.StatusRequestEntityTooLarge, errorJSON{Error: "too_large", Message: big.Error()}
	case errors.As(err, &api):
		status = http.StatusBadGateway
		body = errorJSON{Error: "wechat", Message: "WeChat refused the request: " + api.Error(), ErrCode: &api.Code, ErrMsg: api.Message}
		if api.Code == wechat.CodeQRCodeCountLimit {
			status, body.Error = http.StatusConflict, qr.EQuota
			body.Message = "WeChat says the account holds its limit of permanent codes"
		}
	case errors.Is(err, token.ErrUnavailable):
		status, body = http.StatusServiceUnavailable, errorJSON{Error: qr.EUnavailable, Message: "no WeChat access token is available yet; retry shortly"}
	case errors.Is(err, wechat.ErrInvalidRequest):
		status, body = http.StatusBadRequest, errorJSON{Error: qr.EInvalid, Message: err.Error()}
	default:
		var de *qr.Error
		if errors.As(err, &de) {
			status, body = statusOf[de.Code], errorJSON{Error: de.Code, Message: de.Message}
			break
		}
		var he *wechat.HTTPError
		if errors.As(err, &he) || isNetwork(err) {
			status, body = http.StatusBadGateway, errorJSON{Error: "wechat", Message: "WeChat did not answer properly; retry later"}
			break
		}
		status, body = http.StatusServiceUnavailable, errorJSON{Error: qr.EUnavailable, Message: "temporarily unavailable; retry shortly"}
	}
	level := slog.LevelInfo
	if status >= 500 {
		level = slog.LevelError
	}
	h.log.LogAttrs(r.Context(), level, "request failed",
		slog.String("method", r.Method), logPath(r),
		slog.Int("status", status), slog.String("error", err.Error()))
	writeJSON(w, status, body)
}

// isNetwork reports a failure to reach WeChat at all.
func isNetwork(err error) bool {
	var ue *url.Error
	return errors.As(err, &ue) || errors.Is(err, context.DeadlineExceeded)
}

func pathEscape(s string) string { return url.PathEscape(s) }

// logPath is the request's path as logs may show it: a follower's openid only
// as its SHA-256, the way DELETE /users/{openid} logs it.
func logPath(r *http.Request) slog.Attr {
	if openid, ok := strings.CutPrefix(r.URL.Path, "/users/"); ok {
		return slog.Group("", slog.String("path", "/users/{openid}"), slog.String("openid_sha256", openIDHash(openid)))
	}
	return slog.String("path", r.URL.Path)
}
