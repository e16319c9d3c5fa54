package api

import (
	"log/slog"
	"net/http"

	"wechatqr/shared/qr"
	"wechatqr/shared/redact"
)

// MaxOpenIDBytes bounds an openid in a path. WeChat's are 28 characters of
// letters, digits, '-' and '_'; the bound leaves room without letting a path
// carry anything else.
const MaxOpenIDBytes = 64

func validOpenID(s string) bool {
	if s == "" || len(s) > MaxOpenIDBytes {
		return false
	}
	for _, c := range []byte(s) {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '-', c == '_':
		default:
			return false
		}
	}
	return true
}

// openIDHash names a follower in logs and answers without naming them.
func openIDHash(openid string) string { return redact.OpenID(openid) }

type erasedJSON struct {
	OpenIDSHA256 string    `json:"openid_sha256"`
	Deleted      qr.Erased `json:"deleted"`
	Total        int       `json:"total"`
	// ErasedMarker: the erased-follower marker is written (always, also when
	// nothing was deleted), so the follower's pushes up to now act no more.
	ErasedMarker bool   `json:"erased_marker"`
	Message      string `json:"message"`
}

// eraseUser deletes everything that names a follower (DELETE /users/{openid}),
// for a deletion request under PIPL or GDPR. It is idempotent: a second call
// finds nothing and answers zero counts, 200.
func (h *Handler) eraseUser(w http.ResponseWriter, r *http.Request) {
	openid := r.PathValue("openid")
	if !validOpenID(openid) {
		h.fail(w, r, qr.Errorf(qr.EInvalid, "openid: 1 to %d letters, digits, '-' or '_' (a WeChat openid is 28 of them)", MaxOpenIDBytes))
		return
	}
	erased, err := h.store.EraseUser(r.Context(), openid)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	v := erasedJSON{OpenIDSHA256: openIDHash(openid), Deleted: erased, ErasedMarker: true, Message: "deleted every item that named the follower; counters are unchanged"}
	for _, n := range erased {
		v.Total += n
	}
	if v.Total == 0 {
		v.Message = "nothing stored names this follower (never seen, erased before, or expired); nothing deleted"
	}
	attrs := []slog.Attr{slog.String("openid_sha256", v.OpenIDSHA256), slog.Int("total", v.Total)}
	for kind, n := range erased {
		attrs = append(attrs, slog.Int(kind, n))
	}
	h.audit(r, "follower erased", attrs...)
	writeJSON(w, http.StatusOK, v)
}
