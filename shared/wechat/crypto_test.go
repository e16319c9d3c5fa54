package wechat_test

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"strings"
	"testing"

	"wechatqr/shared/wechat"
)

func TestNewCipherRejectsMalformedKeys(t *testing.T) {
	valid := vAESKey
	tests := []struct {
		name string
		key  string
	}{
		{"empty", ""},
		{"42 characters", valid[:42]},
		{"44 characters", valid + "A"},
		{"with the base64 padding added", valid[:42] + "="},
		{"with +", valid[:42] + "+"},
		{"with /", valid[:42] + "/"},
		{"with a space", valid[:42] + " "},
		{"with a non-ASCII letter", valid[:41] + "é"},
		{"43 bytes of URL-safe base64", valid[:42] + "-"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := wechat.NewCipher(tt.key, vAppID)
			if !errors.Is(err, wechat.ErrAESKey) || c != nil {
				t.Fatalf("NewCipher = %v, %v; want nil, ErrAESKey", c, err)
			}
			if tt.key != "" && strings.Contains(err.Error(), tt.key) {
				t.Errorf("the error repeats the key: %q", err)
			}
			if !strings.Contains(err.Error(), "43") {
				t.Errorf("the error %q does not say what a key must be", err)
			}
		})
	}
}

func TestNewCipherRejectsEmptyAppID(t *testing.T) {
	if _, err := wechat.NewCipher(vAESKey, ""); !errors.Is(err, wechat.ErrAppID) {
		t.Errorf("NewCipher with no AppID: %v, want ErrAppID", err)
	}
}

func TestCipherAppID(t *testing.T) {
	if got := mustCipher(t, vAESKey, vAppID).AppID(); got != vAppID {
		t.Errorf("AppID = %q, want %q", got, vAppID)
	}
}

// knownAnswers are the encryption vectors: §10 and the peers'.
var knownAnswers = []struct {
	name       string
	key, appID string
	random     string
	msg        string
	encrypt    string
}{
	{"§10(c) SCAN event", vAESKey, vAppID, vRandom, vScanXML, vEncrypt},
	{"§10(c′) text reply", vAESKey, vAppID, vReplyRandom, vReplyXML, vReplyEncrypt},
	{"§10(e) E0 pad of 20", vAESKey, vAppID, vRandom, "<xml/>", vE0},
	{"WxJava Chinese text", wjAESKey, wjAppID, wjRandom, wjMsg, wjEncrypt},
	{"WxJava video reply", wjAESKey, wjAppID, wjRandom, wjMsg2, wjEncrypt2},
	{"wechatpy WeCom reply", pyAESKey, pyCorpID, pyRandom, pyReply, pyReplyEnc},
	{"chanxuehong text message", cxAESKey, cxAppID, cxRandom, cxMsg, cxEncrypt},
}

func TestEncryptWithRandomMatchesKnownAnswers(t *testing.T) {
	for _, tt := range knownAnswers {
		t.Run(tt.name, func(t *testing.T) {
			c := mustCipher(t, tt.key, tt.appID)
			if got := c.EncryptWithRandom(random16(tt.random), []byte(tt.msg)); got != tt.encrypt {
				t.Errorf("EncryptWithRandom =\n%s\nwant\n%s", got, tt.encrypt)
			}
		})
	}
}

func TestDecryptKnownAnswers(t *testing.T) {
	for _, tt := range knownAnswers {
		t.Run(tt.name, func(t *testing.T) {
			got, err := mustCipher(t, tt.key, tt.appID).Decrypt(tt.encrypt)
			if err != nil {
				t.Fatalf("Decrypt: %v", err)
			}
			if string(got) != tt.msg {
				t.Errorf("Decrypt = %q, want %q", got, tt.msg)
			}
		})
	}
}

func TestDecryptVectorCLayout(t *testing.T) {
	// §10(c) spells out the plaintext: random, length 0x168, the 360-byte
	// msg, the AppID, then 18 bytes of 0x12, 416 bytes in all.
	p := decryptRaw(t, vAESKey, vEncrypt)
	if len(p) != 416 {
		t.Fatalf("plaintext is %d bytes, want 416", len(p))
	}
	if string(p[:16]) != vRandom {
		t.Errorf("random prefix %q, want %q", p[:16], vRandom)
	}
	if n := binary.BigEndian.Uint32(p[16:20]); n != 0x168 {
		t.Errorf("length field %#x, want 0x168", n)
	}
	if string(p[20:380]) != vScanXML || string(p[380:398]) != vAppID {
		t.Errorf("msg or AppID misplaced")
	}
	if !bytes.Equal(p[398:], bytes.Repeat([]byte{0x12}, 18)) {
		t.Errorf("padding %x, want 18 × 0x12", p[398:])
	}
}

func TestEncryptPadsToMultiplesOf32(t *testing.T) {
	c := mustCipher(t, vAESKey, vAppID)
	// 20 + len(msg) + 18 hits every residue mod 32 across 0..64.
	for n := 0; n <= 64; n++ {
		msg := bytes.Repeat([]byte("m"), n)
		enc := c.EncryptWithRandom(random16(vRandom), msg)
		p := decryptRaw(t, vAESKey, enc)
		unpadded := 20 + n + len(vAppID)
		wantPad := 32 - unpadded%32
		if len(p)%32 != 0 || len(p) != unpadded+wantPad {
			t.Fatalf("msg of %d bytes: plaintext %d bytes, want %d", n, len(p), unpadded+wantPad)
		}
		if !bytes.Equal(p[unpadded:], bytes.Repeat([]byte{byte(wantPad)}, wantPad)) {
			t.Fatalf("msg of %d bytes: padding %x, want %d × %#x", n, p[unpadded:], wantPad, wantPad)
		}
		if got, err := c.Decrypt(enc); err != nil || !bytes.Equal(got, msg) {
			t.Fatalf("msg of %d bytes does not round-trip: %q, %v", n, got, err)
		}
	}
}

func TestEncryptUsesFreshRandomBytes(t *testing.T) {
	c := mustCipher(t, vAESKey, vAppID)
	a, err := c.Encrypt([]byte(vScanXML))
	if err != nil {
		t.Fatal(err)
	}
	b, err := c.Encrypt([]byte(vScanXML))
	if err != nil {
		t.Fatal(err)
	}
	if a == b {
		t.Error("two encryptions of one message are identical: the random prefix is not random")
	}
	for _, enc := range []string{a, b} {
		if got, err := c.Decrypt(enc); err != nil || string(got) != vScanXML {
			t.Errorf("Decrypt(Encrypt(msg)) = %q, %v", got, err)
		}
	}
}

func TestDecryptFailureVectors(t *testing.T) {
	c := mustCipher(t, vAESKey, vAppID)
	otherApp := mustCipher(t, vAESKey, "wx0000000000000000")
	otherKey := strings.Repeat("Z", 43)

	tests := []struct {
		name    string
		cipher  *wechat.Cipher
		encrypt string
		want    []error // any of these
	}{
		{"E1: sealed for another AppID", c, otherApp.EncryptWithRandom(random16(vRandom), []byte(vScanXML)), []error{wechat.ErrAppID}},
		{"E2: pad byte 0", c, vE2, []error{wechat.ErrPadding}},
		{"E3: pad byte 33", c, vE3, []error{wechat.ErrPadding}},
		{"E4: length field past the end", c, vE4, []error{wechat.ErrMessageLength}},
		{"E5: truncated by 4 base64 characters", c, vEncrypt[:len(vEncrypt)-4], []error{wechat.ErrCiphertextLength}},
		{"E6: not base64", c, "this is not base64!", []error{wechat.ErrBase64}},
		// A wrong key yields noise: almost always a bad pad, but never a message.
		{"E7: another EncodingAESKey", mustCipher(t, otherKey, vAppID), vEncrypt, []error{wechat.ErrPadding, wechat.ErrMessageLength, wechat.ErrAppID}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			msg, err := tt.cipher.Decrypt(tt.encrypt)
			if msg != nil {
				t.Errorf("Decrypt returned %d bytes of plaintext with the error", len(msg))
			}
			for _, want := range tt.want {
				if errors.Is(err, want) {
					return
				}
			}
			t.Errorf("Decrypt error = %v, want one of %v", err, tt.want)
		})
	}

	// E1's own premise: the message is intact, only the AppID differs.
	if got, err := otherApp.Decrypt(otherApp.EncryptWithRandom(random16(vRandom), []byte(vScanXML))); err != nil || string(got) != vScanXML {
		t.Errorf("E1 does not decrypt under its own AppID: %v", err)
	}
}

func TestDecryptRejectsBrokenFraming(t *testing.T) {
	c := mustCipher(t, vAESKey, vAppID)
	// frame builds random ‖ length ‖ msg ‖ appid and pads to size with pad
	// bytes given explicitly.
	frame := func(length uint32, msg, appID string, pad []byte) []byte {
		p := append([]byte(vRandom), 0, 0, 0, 0)
		binary.BigEndian.PutUint32(p[16:], length)
		p = append(p, msg...)
		p = append(p, appID...)
		return append(p, pad...)
	}
	pad := func(n, value int) []byte { return bytes.Repeat([]byte{byte(value)}, n) }

	tests := []struct {
		name      string
		plaintext []byte
		want      error
	}{
		{"accepts a well-formed frame", frame(6, "<xml/>", vAppID, pad(20, 20)), nil},
		{"accepts a full block of 32 × 0x20", frame(26, strings.Repeat("x", 26), vAppID, pad(32, 32)), nil},
		{"accepts an empty message", frame(0, "", vAppID, pad(26, 26)), nil},
		{"rejects inconsistent pad bytes", frame(6, "<xml/>", vAppID, append(pad(19, 19), 20)), wechat.ErrPadding},
		{"rejects a pad longer than the plaintext", pad(16, 32), wechat.ErrPadding},
		{"rejects a consistent pad of 33", frame(6, "<xml/>", vAppID, pad(52, 33)), wechat.ErrPadding},
		{"rejects a plaintext that is all padding", pad(48, 48), wechat.ErrPadding},
		{"rejects a plaintext shorter than its header", append(make([]byte, 12), pad(20, 20)...), wechat.ErrMessageLength},
		{"rejects a length one past the end", frame(6+18+1, "<xml/>", vAppID, pad(20, 20)), wechat.ErrMessageLength},
		{"rejects a missing AppID", frame(6, "<xml/>", "", pad(6, 6)), wechat.ErrAppID},
		{"rejects a longer AppID", frame(6, "<xml/>", vAppID+"xxxxxxxxxxxxxx", pad(6, 6)), wechat.ErrAppID},
		{"rejects a length that eats the AppID", frame(6+18, "<xml/>", vAppID, pad(20, 20)), wechat.ErrAppID},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if len(tt.plaintext)%16 != 0 {
				t.Fatalf("test plaintext is %d bytes, not a multiple of 16", len(tt.plaintext))
			}
			msg, err := c.Decrypt(encryptRaw(t, vAESKey, tt.plaintext))
			if !errors.Is(err, tt.want) || (tt.want == nil) != (err == nil) {
				t.Fatalf("Decrypt = %q, %v; want %v", msg, err, tt.want)
			}
			if err != nil && msg != nil {
				t.Errorf("plaintext returned with the error")
			}
		})
	}
}

func TestDecryptRejectsMalformedBase64(t *testing.T) {
	c := mustCipher(t, vAESKey, vAppID)
	tests := []struct {
		name    string
		encrypt string
		want    error
	}{
		{"empty", "", wechat.ErrCiphertextLength},
		{"one 3-byte quantum", "AAAA", wechat.ErrCiphertextLength},
		{"15 bytes", base64.StdEncoding.EncodeToString(make([]byte, 15)), wechat.ErrCiphertextLength},
		{"17 bytes", base64.StdEncoding.EncodeToString(make([]byte, 17)), wechat.ErrCiphertextLength},
		{"missing padding", strings.TrimRight(vEncrypt, "="), wechat.ErrBase64},
		{"URL-safe alphabet", strings.NewReplacer("+", "-", "/", "_").Replace(vEncrypt), wechat.ErrBase64},
		{"a line break", vEncrypt[:76] + "\n" + vEncrypt[76:], wechat.ErrBase64},
		{"a CRLF", vEncrypt[:76] + "\r\n" + vEncrypt[76:], wechat.ErrBase64},
		{"line breaks that keep the length a multiple of 4", vEncrypt[:76] + "\r\n\r\n" + vEncrypt[76:], wechat.ErrBase64},
		{"four LFs", vEncrypt[:76] + "\n\n\n\n" + vEncrypt[76:], wechat.ErrBase64},
		{"padding in the middle", "QQ==" + vEncrypt, wechat.ErrBase64},
		{"padding at a 1024-character chunk edge", strings.Repeat("A", 1020) + "QQ==" + strings.Repeat("A", 1024), wechat.ErrBase64},
		{"a space", " " + vEncrypt[1:], wechat.ErrBase64},
		{"trailing garbage", vEncrypt + "!!!!", wechat.ErrBase64},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			msg, err := c.Decrypt(tt.encrypt)
			if !errors.Is(err, tt.want) || msg != nil {
				t.Errorf("Decrypt = %q, %v; want nil, %v", msg, err, tt.want)
			}
		})
	}
}

func TestDecryptLongMessageSpanningChunks(t *testing.T) {
	// Past 1024 base64 characters the decoder works in chunks.
	c := mustCipher(t, vAESKey, vAppID)
	msg := bytes.Repeat([]byte("长消息 long message "), 300)
	enc := c.EncryptWithRandom(random16(vRandom), msg)
	if len(enc) < 3000 {
		t.Fatalf("Encrypt is only %d characters", len(enc))
	}
	got, err := c.Decrypt(enc)
	if err != nil || !bytes.Equal(got, msg) {
		t.Fatalf("Decrypt of a %d-character Encrypt: %v", len(enc), err)
	}
}
