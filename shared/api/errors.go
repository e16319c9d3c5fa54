package api

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"

	"wechatqr/shared/qr"
	"wechatqr/shared/redact"
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

	qr.EAccountNotFound:   http.StatusNotFound,
	qr.EAccountRevoked:    http.StatusConflict,
	qr.EForbidden:         http.StatusForbidden,
	qr.EPermissionMissing: http.StatusForbidden,
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

// fail answers err. Only a dependency that is down is a 503 (a *qr.Error with
// code qr.EUnavailable, as the store returns for DynamoDB's throttling, 5xx and
// timeouts; WeChat's "system busy", a 5xx or 429 from the way to it, or no answer;
// no access token to be had); WeChat refusing the request is a 502 with its
// errcode. Anything else is our failure: logged with its detail, and shown to the
// caller only as a 500 "internal error". The client's errors never carry secrets
// or tokens, so WeChat's errmsg is passed on.
func (h *Handler) fail(w http.ResponseWriter, r *http.Request, err error) {
	var (
		body   errorJSON
		status int
		api    *wechat.APIError
		big    *tooLarge
		de     *qr.Error
	)
	switch {
	case errors.As(err, &big):
		status, body = http.StatusRequestEntityTooLarge, errorJSON{Error: "too_large", Message: big.Error()}
	case errors.As(err, &api):
		status = http.StatusBadGateway
		body = errorJSON{Error: "wechat", Message: "WeChat refused the request: " + api.Error(), ErrCode: &api.Code, ErrMsg: api.Message}
		switch api.Code {
		case wechat.CodeQRCodeCountLimit:
			status, body.Error = http.StatusConflict, qr.EQuota
			body.Message = "WeChat says the account holds its limit of permanent codes"
		case wechat.CodeSystemBusy:
			status, body.Error = http.StatusServiceUnavailable, qr.EUnavailable
			body.Message = "WeChat is busy (errcode -1); retry shortly"
		}
	case errors.Is(err, token.ErrUnavailable):
		status, body = http.StatusServiceUnavailable, errorJSON{Error: qr.EUnavailable, Message: "no WeChat access token is available yet; retry shortly"}
	case errors.Is(err, wechat.ErrInvalidRequest):
		status, body = http.StatusBadRequest, errorJSON{Error: qr.EInvalid, Message: err.Error()}
	case errors.As(err, &de):
		// Checked before the network errors below: the store's outages carry the
		// SDK's own network errors in their chain.
		status, body = statusOf[de.Code], errorJSON{Error: de.Code, Message: de.Message}
		if status == 0 || de.Code == qr.EInternal {
			status, body = http.StatusInternalServerError, errorJSON{Error: qr.EInternal, Message: "internal error"}
		}
	case wechatDown(err):
		status, body = http.StatusServiceUnavailable, errorJSON{Error: qr.EUnavailable, Message: "WeChat did not answer; retry shortly"}
	case isWeChatHTTP(err) || errors.Is(err, wechat.ErrInvalidResponse):
		status, body = http.StatusBadGateway, errorJSON{Error: "wechat", Message: "WeChat did not answer properly"}
	default:
		status, body = http.StatusInternalServerError, errorJSON{Error: qr.EInternal, Message: "internal error"}
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

// wechatDown reports WeChat, or the way to it, not answering: no connection, no
// answer in time, or an HTTP 5xx or 429 from something in between (WeChat answers
// its own errors with 200), as shared/actions counts WeChat unwell.
func wechatDown(err error) bool {
	var he *wechat.HTTPError
	if errors.As(err, &he) {
		return he.StatusCode >= 500 || he.StatusCode == http.StatusTooManyRequests
	}
	var ue *url.Error
	return errors.As(err, &ue) || errors.Is(err, context.DeadlineExceeded)
}

func isWeChatHTTP(err error) bool {
	var he *wechat.HTTPError
	return errors.As(err, &he)
}

func pathEscape(s string) string { return url.PathEscape(s) }

// logPath is the request's path as logs may show it (redact.Path: no openid,
// no log-in session id); a follower's openid rides along as its SHA-256, the
// way DELETE /users/{openid} logs it, so that an operator can correlate.
func logPath(r *http.Request) slog.Attr {
	if openid := r.PathValue("openid"); openid != "" {
		return slog.Group("", slog.String("path", redact.Path(r.URL.Path)), slog.String("openid_sha256", redact.OpenID(openid)))
	}
	return slog.String("path", redact.Path(r.URL.Path))
}
