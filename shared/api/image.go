package api

import (
	"errors"
	"net/http"
	"strconv"

	"wechatqr/shared/qr"
	"wechatqr/shared/qrimage"
)

// DefaultImageSize is the side of a rendered code when size is absent, in pixels:
// WeChat's showqrcode serves 430.
const DefaultImageSize = 430

// image renders the scene's code from its url, byte for byte, so nobody needs
// showqrcode (which only serves a ticket until it expires, and is slow from abroad).
func (h *Handler) image(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	size := DefaultImageSize
	if v := q.Get("size"); v != "" {
		n, err := parseInt(v)
		if err != nil || n < qrimage.MinSize || n > qrimage.MaxSize {
			h.fail(w, r, qr.Errorf(qr.EInvalid, "size: a whole number of pixels from %d to %d", qrimage.MinSize, qrimage.MaxSize))
			return
		}
		size = int(n)
	}
	format := q.Get("format")
	if format == "" {
		format = "png"
	}
	if format != "png" && format != "svg" {
		h.fail(w, r, qr.Errorf(qr.EInvalid, "format: png or svg"))
		return
	}
	c, err := h.store.Code(r.Context(), r.PathValue("scene"))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if c.Expired(h.cfg.Now()) {
		h.fail(w, r, qr.Errorf(qr.ENotFound, "the temporary code of scene %q expired at %s; create it again", c.Scene, c.ExpiresAt.Format("2006-01-02T15:04:05Z07:00")))
		return
	}
	var (
		img         []byte
		contentType string
	)
	if format == "svg" {
		img, err = qrimage.SVG(c.URL, size)
		contentType = "image/svg+xml"
	} else {
		img, err = qrimage.PNG(c.URL, size)
		contentType = "image/png"
	}
	if errors.Is(err, qrimage.ErrSize) {
		h.fail(w, r, qr.Errorf(qr.EInvalid, "size: %d pixels is too small for this code's modules", size))
		return
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	w.Header().Set("Content-Type", contentType)
	w.Header().Set("Content-Length", strconv.Itoa(len(img)))
	w.Header().Set("Cache-Control", "private, max-age=300")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(img)
}
