package wechat_test

import (
	"crypto/sha1"
	"encoding/hex"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"wechatqr/shared/wechat"
)

func TestSignMatchesPublishedVectors(t *testing.T) {
	tests := []struct {
		name  string
		parts []string
		want  string
	}{
		{"§10(a) URL verification", []string{vToken, vTimestamp, vNonce}, vSignature},
		{"§10(b) msg_signature over Encrypt", []string{vToken, vTimestamp, vNonce, vEncrypt}, vMsgSignature},
		{"§10(c′) reply MsgSignature", []string{vToken, "1732500001", vReplyNonce, vReplyEncrypt}, vReplyMsgSignature},
		{"official GET example", []string{"AAAAA", "1714036504", "1514711492"}, "f464b24fc39322e44b38aa78f5edd27bd1441696"},
		{"official encryption doc", []string{"AAAAA", "1714037059", "486452656"}, "899cf89e464efb63f54ddac96b0a0a235f53aa78"},
		{"official safe-mode URL", []string{"AAAAA", "1714112445", "415670741"}, "6c5c811b55cc85e0e1b54100749188c20beb3f5d"},
		{"wechatpy reply", []string{pyToken, pyTimestamp, pyNonce, pyReplyEnc}, pyReplySig},
		{"wechatpy push", []string{pyToken, pyTimestamp, pyNonce, extractEncrypt(pyPushBody)}, pyPushSig},
		{"wechatpy WeCom echostr", []string{pyToken, pyEchoTimestamp, pyEchoNonce, pyEchoStr}, pyEchoSig},
		{"argument order does not matter", []string{vNonce, vToken, vTimestamp}, vSignature},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := wechat.Sign(tt.parts...); got != tt.want {
				t.Errorf("Sign = %s, want %s", got, tt.want)
			}
		})
	}
}

// extractEncrypt pulls the Encrypt text out of a body without the package's
// parser, so that the signature vectors do not depend on it.
func extractEncrypt(body string) string {
	_, rest, _ := strings.Cut(body, "<Encrypt><![CDATA[")
	enc, _, _ := strings.Cut(rest, "]]>")
	return enc
}

func TestSignSortsBytewiseAndKeepsCallerSlice(t *testing.T) {
	// Byte order puts upper case before lower case and "10" before "9":
	// the order of sort.Strings, not of any locale or numeric sort.
	parts := []string{"b", "9", "a", "10", "B"}
	orig := slices.Clone(parts)
	sum := sha1.Sum([]byte("109Bab"))
	want := hex.EncodeToString(sum[:])

	if got := wechat.Sign(parts...); got != want {
		t.Errorf("Sign = %s, want %s (sha1 of %q)", got, want, "109Bab")
	}
	if !slices.Equal(parts, orig) {
		t.Errorf("Sign reordered the caller's slice: %q, was %q", parts, orig)
	}
}

func TestSignHashesLongInputs(t *testing.T) {
	// Inputs past the stack buffer take the streaming path; the result must
	// be the same as hashing the sorted concatenation.
	long := strings.Repeat("x", 5000)
	for _, parts := range [][]string{
		{"tok", "1", "n", long},
		{long, "zzz", "a"},
		{"b", long + "y", long},
	} {
		sorted := slices.Clone(parts)
		slices.Sort(sorted)
		sum := sha1.Sum([]byte(strings.Join(sorted, "")))
		if got, want := wechat.Sign(parts...), hex.EncodeToString(sum[:]); got != want {
			t.Errorf("Sign(%d parts of total %d bytes) = %s, want %s", len(parts), len(strings.Join(parts, "")), got, want)
		}
	}
}

func TestVerifySignature(t *testing.T) {
	tests := []struct {
		name                  string
		token, ts, nonce, sig string
		wantErr               error
	}{
		{"accepts the §10(a) vector", vToken, vTimestamp, vNonce, vSignature, nil},
		{"accepts the official example", "AAAAA", "1714036504", "1514711492", "f464b24fc39322e44b38aa78f5edd27bd1441696", nil},
		{"rejects another token", "wechatqr2", vTimestamp, vNonce, vSignature, wechat.ErrSignature},
		{"rejects another timestamp", vToken, "1732500001", vNonce, vSignature, wechat.ErrSignature},
		{"rejects another nonce", vToken, vTimestamp, "468036", vSignature, wechat.ErrSignature},
		{"rejects upper-case hex", vToken, vTimestamp, vNonce, strings.ToUpper(vSignature), wechat.ErrSignature},
		{"rejects a truncated signature", vToken, vTimestamp, vNonce, vSignature[:39], wechat.ErrSignature},
		{"rejects a signature with a suffix", vToken, vTimestamp, vNonce, vSignature + "0", wechat.ErrSignature},
		{"rejects an empty signature", vToken, vTimestamp, vNonce, "", wechat.ErrSignature},
		{"rejects the msg_signature in its place", vToken, vTimestamp, vNonce, vMsgSignature, wechat.ErrSignature},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := wechat.VerifySignature(tt.token, tt.ts, tt.nonce, tt.sig)
			if err != tt.wantErr {
				t.Errorf("VerifySignature = %v, want %v", err, tt.wantErr)
			}
		})
	}
}

func TestVerifyMsgSignature(t *testing.T) {
	otherToken := wechat.Sign("another-token", vTimestamp, vNonce, vEncrypt) // E8
	tests := []struct {
		name    string
		token   string
		encrypt string
		sig     string
		wantErr error
	}{
		{"accepts the §10(b) vector", vToken, vEncrypt, vMsgSignature, nil},
		{"E8: rejects a msg_signature made with another Token", vToken, vEncrypt, otherToken, wechat.ErrMsgSignature},
		{"rejects a changed Encrypt", vToken, vEncrypt[:len(vEncrypt)-4] + "AAA=", vMsgSignature, wechat.ErrMsgSignature},
		{"rejects the URL signature in its place", vToken, vEncrypt, vSignature, wechat.ErrMsgSignature},
		{"rejects an empty msg_signature", vToken, vEncrypt, "", wechat.ErrMsgSignature},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := wechat.VerifyMsgSignature(tt.token, vTimestamp, vNonce, tt.encrypt, tt.sig)
			if err != tt.wantErr {
				t.Errorf("VerifyMsgSignature = %v, want %v", err, tt.wantErr)
			}
		})
	}
	if errors.Is(wechat.ErrMsgSignature, wechat.ErrSignature) || errors.Is(wechat.ErrSignature, wechat.ErrMsgSignature) {
		t.Error("ErrSignature and ErrMsgSignature must be distinct")
	}
}

func TestCheckTimestamp(t *testing.T) {
	now := time.Unix(1732500000, 700_000_000) // sub-second part must not matter
	tests := []struct {
		name      string
		ts        string
		tolerance time.Duration
		wantErr   error
		wantText  string
	}{
		{"accepts now", "1732500000", 300 * time.Second, nil, ""},
		{"accepts the edge of the window in the past", "1732499700", 300 * time.Second, nil, ""},
		{"accepts the edge of the window in the future", "1732500300", 300 * time.Second, nil, ""},
		{"rejects one second too old", "1732499699", 300 * time.Second, wechat.ErrTimestampOutOfWindow, "301s in the past"},
		{"rejects the future", "1732500412", 300 * time.Second, wechat.ErrTimestampOutOfWindow, "412s in the future"},
		{"rejects 0 (1970)", "0", 300 * time.Second, wechat.ErrTimestampOutOfWindow, "1732500000s in the past"},
		{"rejects milliseconds", "1732500000000", 300 * time.Second, wechat.ErrTimestampOutOfWindow, "in the future"},
		{"zero tolerance disables the window", "0", 0, nil, ""},
		{"negative tolerance disables the window", "99999999999", -time.Second, nil, ""},
		{"rejects text even without a window", "abc", 0, wechat.ErrTimestampInvalid, ""},
		{"rejects empty", "", 300 * time.Second, wechat.ErrTimestampInvalid, ""},
		{"rejects a sign", "+1732500000", 300 * time.Second, wechat.ErrTimestampInvalid, ""},
		{"rejects a negative number", "-1", 0, wechat.ErrTimestampInvalid, ""},
		{"rejects spaces", " 1732500000", 300 * time.Second, wechat.ErrTimestampInvalid, ""},
		{"rejects a decimal point", "1732500000.5", 300 * time.Second, wechat.ErrTimestampInvalid, ""},
		{"rejects overflow", "99999999999999999999", 0, wechat.ErrTimestampInvalid, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := wechat.CheckTimestamp(tt.ts, now, tt.tolerance)
			if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil) != (err == nil) {
				t.Fatalf("CheckTimestamp(%q) = %v, want %v", tt.ts, err, tt.wantErr)
			}
			if tt.wantText != "" && !strings.Contains(err.Error(), tt.wantText) {
				t.Errorf("error %q does not say %q", err, tt.wantText)
			}
		})
	}
}
