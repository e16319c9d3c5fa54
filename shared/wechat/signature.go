package wechat

import (
	"crypto/sha1"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"slices"
	"strconv"
	"time"
)

// sigLen is the length of a signature: SHA1 in lowercase hex.
const sigLen = 2 * sha1.Size

// Sign returns the lowercase hex SHA1 of parts sorted byte-wise
// (the order of sort.Strings) and concatenated with no separator. This is
// WeChat's rule for both signature (Token, timestamp, nonce) and msg_signature
// (Token, timestamp, nonce, Encrypt). The caller's slice is not modified.
func Sign(parts ...string) string {
	var arr [4]string
	var sorted []string
	if len(parts) <= len(arr) {
		sorted = append(arr[:0], parts...)
	} else {
		sorted = slices.Clone(parts)
	}
	var sig [sigLen]byte
	signTo(&sig, sorted, nil)
	return string(sig[:])
}

// VerifySignature checks the signature query parameter that WeChat sends on
// every request (the GET check and every POST, in every mode). It returns nil
// or ErrSignature.
func VerifySignature(token, timestamp, nonce, signature string) error {
	var want [sigLen]byte
	signTo(&want, []string{token, timestamp, nonce}, nil)
	if !equalSig(&want, signature) {
		return ErrSignature
	}
	return nil
}

// VerifyMsgSignature checks msg_signature over the Encrypt text exactly as it
// appeared in the body (compatible and safe modes). It returns nil or
// ErrMsgSignature.
func VerifyMsgSignature(token, timestamp, nonce, encrypt, msgSignature string) error {
	var want [sigLen]byte
	signTo(&want, []string{token, timestamp, nonce, encrypt}, nil)
	if !equalSig(&want, msgSignature) {
		return ErrMsgSignature
	}
	return nil
}

// CheckTimestamp rejects a request timestamp (decimal Unix seconds) that is
// more than tolerance away from now, in either direction. The protocol sets
// no window, so this is the caller's own replay guard (stripe uses 300s).
// WeChat's retries span about 15 seconds and may repeat the first timestamp,
// so keep the tolerance well above that. A tolerance <= 0 disables the window but still rejects a timestamp that is
// not a number (ErrTimestampInvalid). Only ASCII digits are accepted: no sign,
// no spaces.
func CheckTimestamp(timestamp string, now time.Time, tolerance time.Duration) error {
	ts, ok := parseUnixSeconds(timestamp)
	if !ok {
		return ErrTimestampInvalid
	}
	if tolerance <= 0 {
		return nil
	}
	// Whole seconds on both sides: the timestamp has no finer resolution, so
	// comparing against now's nanoseconds would reject a request that is
	// exactly at the edge of the window.
	off := now.Unix() - ts // cannot overflow: ts >= 0 and now.Unix() is far from the limits
	abs := off
	if abs < 0 {
		abs = -abs
	}
	if abs <= int64(tolerance/time.Second) {
		return nil
	}
	if off < 0 {
		return fmt.Errorf("%w: %ds in the future", ErrTimestampOutOfWindow, abs)
	}
	return fmt.Errorf("%w: %ds in the past", ErrTimestampOutOfWindow, abs)
}

func parseUnixSeconds(s string) (int64, bool) {
	if s == "" || len(s) > 19 {
		return 0, false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
	}
	v, err := strconv.ParseInt(s, 10, 64)
	return v, err == nil
}

// equalSig compares a computed signature with a received one in constant
// time. The received value is copied to a fixed array first so that the
// comparison allocates nothing.
func equalSig(want *[sigLen]byte, got string) bool {
	if len(got) != sigLen {
		return false
	}
	var g [sigLen]byte
	copy(g[:], got)
	return subtle.ConstantTimeCompare(want[:], g[:]) == 1
}

// signTo writes Sign(parts..., string(extra)) into dst, sorting parts in
// place. extra, when non-nil, is one more part given as bytes, so that Seal
// can sign the base64 text it has just written into its output buffer
// without copying it into a string. Typical inputs (Token, timestamp, nonce
// and an Encrypt of a few hundred bytes) are hashed from a stack buffer, with
// no allocation.
func signTo(dst *[sigLen]byte, sorted []string, extra []byte) {
	slices.Sort(sorted)

	// extra goes before the first part that sorts after it; ties do not
	// matter because equal parts concatenate to the same bytes.
	at := len(sorted)
	total := len(extra)
	for i, p := range sorted {
		total += len(p)
		if extra != nil && at == len(sorted) && string(extra) < p {
			at = i
		}
	}

	var sum [sha1.Size]byte
	var buf [1024]byte
	if total <= len(buf) {
		b := buf[:0]
		for i, p := range sorted {
			if i == at {
				b = append(b, extra...)
			}
			b = append(b, p...)
		}
		if at == len(sorted) {
			b = append(b, extra...)
		}
		sum = sha1.Sum(b)
	} else {
		// Rare (an Encrypt of a reply longer than about 700 bytes): stream
		// into a digest. The conversions copy; they keep parts from escaping.
		h := sha1.New()
		for i, p := range sorted {
			if i == at {
				h.Write(extra)
			}
			h.Write([]byte(p))
		}
		if at == len(sorted) {
			h.Write(extra)
		}
		h.Sum(sum[:0])
	}
	hex.Encode(dst[:], sum[:])
}
