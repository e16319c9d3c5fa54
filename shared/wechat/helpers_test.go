package wechat_test

import (
	"crypto/aes"
	"crypto/cipher"
	"encoding/base64"
	"testing"

	"wechatqr/shared/wechat"
)

func mustCipher(t testing.TB, encodingAESKey, appID string) *wechat.Cipher {
	t.Helper()
	c, err := wechat.NewCipher(encodingAESKey, appID)
	if err != nil {
		t.Fatalf("NewCipher: %v", err)
	}
	return c
}

// aesKey decodes an EncodingAESKey the way §1 says, independently of
// NewCipher, so that tests can build ciphertexts the package never would.
func aesKey(t testing.TB, encodingAESKey string) []byte {
	t.Helper()
	key, err := base64.StdEncoding.DecodeString(encodingAESKey + "=")
	if err != nil || len(key) != 32 {
		t.Fatalf("decoding EncodingAESKey: %v (%d bytes)", err, len(key))
	}
	return key
}

// encryptRaw encrypts an arbitrary plaintext (a multiple of 16 bytes) with
// AES-256-CBC, IV = key[:16], and returns it as base64: a way to hand the
// decryptor plaintexts with broken padding or framing.
func encryptRaw(t testing.TB, encodingAESKey string, plaintext []byte) string {
	t.Helper()
	key := aesKey(t, encodingAESKey)
	block, err := aes.NewCipher(key)
	if err != nil {
		t.Fatal(err)
	}
	out := make([]byte, len(plaintext))
	cipher.NewCBCEncrypter(block, key[:16]).CryptBlocks(out, plaintext)
	return base64.StdEncoding.EncodeToString(out)
}

// decryptRaw is the inverse of encryptRaw: it returns the padded plaintext
// so that tests can look at the padding the package wrote.
func decryptRaw(t testing.TB, encodingAESKey, encrypt string) []byte {
	t.Helper()
	key := aesKey(t, encodingAESKey)
	block, err := aes.NewCipher(key)
	if err != nil {
		t.Fatal(err)
	}
	ct, err := base64.StdEncoding.DecodeString(encrypt)
	if err != nil {
		t.Fatalf("decoding Encrypt: %v", err)
	}
	if len(ct) == 0 || len(ct)%16 != 0 {
		t.Fatalf("ciphertext length %d", len(ct))
	}
	cipher.NewCBCDecrypter(block, key[:16]).CryptBlocks(ct, ct)
	return ct
}
