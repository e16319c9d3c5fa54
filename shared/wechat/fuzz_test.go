package wechat_test

import (
	"bytes"
	"encoding/base64"
	"errors"
	"strings"
	"testing"
	"unicode/utf8"

	"wechatqr/shared/wechat"
)

// FuzzParseMessage checks that ParseMessage never panics and always gives
// encoding/xml's answer, and that whenever the scanner answers on its own it
// gives that answer too. Seeds: testdata/fuzz/FuzzParseMessage.
func FuzzParseMessage(f *testing.F) {
	for _, s := range wechatSamples {
		f.Add([]byte(s.body))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		want, wantErr := oracle(body)
		got, err := wechat.ParseMessage(body)
		if (err == nil) != (wantErr == nil) || got != want {
			t.Fatalf("ParseMessage(%q)\n = %+v, %v\nencoding/xml gives\n   %+v, %v", body, got, err, want, wantErr)
		}
		if err != nil && !errors.Is(err, wechat.ErrMalformed) {
			t.Fatalf("error %v does not wrap ErrMalformed", err)
		}
		if fast, ok := wechat.ParseFast(body); ok && (wantErr != nil || fast != want) {
			t.Fatalf("the fast path answered %+v for %q; encoding/xml gives %+v, %v", fast, body, want, wantErr)
		}
	})
}

var decryptErrors = []error{wechat.ErrBase64, wechat.ErrCiphertextLength, wechat.ErrPadding, wechat.ErrMessageLength, wechat.ErrAppID}

// FuzzDecrypt checks that Decrypt never panics and fails only with its
// sentinels, that it reads base64 as base64.StdEncoding does (minus CR/LF),
// and that EncryptWithRandom and Seal round-trip any msg. Seeds:
// testdata/fuzz/FuzzDecrypt.
func FuzzDecrypt(f *testing.F) {
	f.Add(vEncrypt, []byte(vRandom), []byte(vScanXML))
	f.Add(vE2, []byte{}, []byte("<xml/>"))
	c := mustCipher(f, vAESKey, vAppID)
	f.Fuzz(func(t *testing.T, encrypt string, random []byte, msg []byte) {
		out, err := c.Decrypt(encrypt)
		if err != nil {
			if out != nil {
				t.Fatalf("Decrypt returned plaintext with %v", err)
			}
			known := false
			for _, e := range decryptErrors {
				known = known || err == e
			}
			if !known {
				t.Fatalf("Decrypt(%q) = %v, not one of the sentinels", encrypt, err)
			}
		}
		_, stdErr := base64.StdEncoding.DecodeString(encrypt)
		isB64Err := errors.Is(err, wechat.ErrBase64)
		if !strings.ContainsAny(encrypt, "\r\n") && isB64Err != (stdErr != nil) {
			t.Fatalf("Decrypt(%q): ErrBase64 is %v but base64.StdEncoding says %v", encrypt, isB64Err, stdErr)
		}

		var rnd [16]byte
		copy(rnd[:], random)
		enc := c.EncryptWithRandom(rnd, msg)
		if ct, err := base64.StdEncoding.DecodeString(enc); err != nil || len(ct)%32 != 0 {
			t.Fatalf("ciphertext of %d bytes is not a multiple of 32 (%v)", len(ct), err)
		}
		if got, err := c.Decrypt(enc); err != nil || !bytes.Equal(got, msg) {
			t.Fatalf("Decrypt(EncryptWithRandom(%q)) = %q, %v", msg, got, err)
		}
		sealed := c.SealWithRandom(nil, rnd, vToken, msg, 1732500001, encrypt)
		e, err := wechat.ParseMessage(sealed)
		if err != nil {
			t.Fatalf("Seal wrote an envelope that does not parse: %v\n%s", err, sealed)
		}
		if got, err := c.Decrypt(e.Encrypt); err != nil || !bytes.Equal(got, msg) {
			t.Fatalf("the sealed reply does not round-trip: %q, %v", got, err)
		}
	})
}

// FuzzAppendText checks that any content makes a reply that parses, and
// that content XML can carry comes back as it went in (CR aside, which XML
// reads as LF).
func FuzzAppendText(f *testing.F) {
	for _, s := range replyContents {
		f.Add(s)
	}
	f.Add("a\x00b\xff]]>\r\n")
	f.Fuzz(func(t *testing.T, content string) {
		b := wechat.AppendText(nil, vOpenID, "gh_0123456789ab", 1732500001, content)
		m, err := oracle(b)
		if err != nil {
			t.Fatalf("AppendText(%q) wrote XML encoding/xml rejects: %v\n%s", content, err, b)
		}
		if got, err := wechat.ParseMessage(b); err != nil || got != m {
			t.Fatalf("ParseMessage = %+v, %v; encoding/xml gives %+v", got, err, m)
		}
		if xmlSafe(content) {
			want := strings.ReplaceAll(strings.ReplaceAll(content, "\r\n", "\n"), "\r", "\n")
			if m.Content != want {
				t.Fatalf("content %q came back as %q", content, m.Content)
			}
		}
	})
}

// xmlSafe reports whether every character of s may appear in XML.
func xmlSafe(s string) bool {
	for i, r := range s {
		if r == utf8.RuneError && !strings.HasPrefix(s[i:], "\uFFFD") {
			return false
		}
		if r < 0x20 && r != '\t' && r != '\n' && r != '\r' || r == 0xFFFE || r == 0xFFFF {
			return false
		}
	}
	return true
}
