package callback

import (
	"errors"
	"log/slog"
	"net/http"

	"wechatqr/shared/qr"
	"wechatqr/shared/wechat"
)

// rejection is a refusal with the status and message the caller gets.
type rejection struct {
	status  int
	message string
}

func (e *rejection) Error() string { return e.message }

func reject(status int, message string) error { return &rejection{status, message} }

// statusOf maps an error to what the caller sees. Protocol failures name what was
// wrong (WeChat shows nothing to the user either way, but an operator reading the
// access log can act). Our own failures are never a 2xx, so that WeChat retries
// the push: a 503 when storage is down (throttled, failing, out of reach: the
// store's qr.EUnavailable), a 500 for anything else (a missing table, a bug).
func statusOf(err error) (int, string) {
	var rej *rejection
	switch {
	case errors.As(err, &rej):
		return rej.status, rej.message
	case errors.Is(err, wechat.ErrTimestampInvalid):
		return http.StatusBadRequest, "timestamp is not a Unix time in seconds"
	case errors.Is(err, wechat.ErrTimestampOutOfWindow):
		return http.StatusUnauthorized, "timestamp is outside the accepted window; check the server clock"
	case errors.Is(err, wechat.ErrSignature):
		return http.StatusUnauthorized, "signature does not match: check that the Token configured here equals the account's"
	case errors.Is(err, wechat.ErrMsgSignature):
		return http.StatusUnauthorized, "msg_signature does not match the Encrypt element"
	case errors.Is(err, wechat.ErrAppID):
		return http.StatusForbidden, "the encrypted message is for another AppID"
	case errors.Is(err, wechat.ErrBase64):
		return http.StatusBadRequest, "Encrypt is not valid base64"
	case errors.Is(err, wechat.ErrCiphertextLength):
		return http.StatusBadRequest, "Encrypt has a ciphertext length that is not a multiple of the AES block"
	case errors.Is(err, wechat.ErrPadding):
		return http.StatusBadRequest, "Encrypt does not decrypt: bad padding (is the EncodingAESKey the account's?)"
	case errors.Is(err, wechat.ErrMessageLength):
		return http.StatusBadRequest, "Encrypt decrypts to a message with a bad length field"
	case errors.Is(err, qr.ErrSignatureReused):
		return http.StatusForbidden, "the query signature was already served with another body"
	case qr.ErrorCode(err) == qr.EUnavailable:
		return http.StatusServiceUnavailable, "temporarily unavailable; WeChat will retry"
	default:
		return http.StatusInternalServerError, "internal error; WeChat will retry"
	}
}

// reject answers err and logs it as one line: a warning for a refused request, an
// error for our own failure. Only the message we chose is logged for protocol
// failures; a storage error's text carries no secrets, only table and operation.
func (h *Handler) reject(w http.ResponseWriter, r *http.Request, kind string, err error, attrs ...slog.Attr) {
	status, message := statusOf(err)
	attrs = append(attrs, slog.Int("status", status), slog.String("outcome", "rejected"))
	level := slog.LevelWarn
	if status >= 500 {
		level = slog.LevelError
		attrs = append(attrs, slog.String("error", err.Error()))
	} else {
		attrs = append(attrs, slog.String("reason", message))
	}
	h.log.LogAttrs(r.Context(), level, kind, attrs...)
	writeText(w, status, message)
}

func writeText(w http.ResponseWriter, status int, text string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(text))
}
