package wechat_test

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"testing"

	"wechatqr/shared/wechat"
)

// The values of a rotation: the vectors' Token and key are the previous ones,
// these the new ones.
const (
	newToken       = "rotated0token"
	newAESKey      = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
	strangerToken  = "neverconfigured"
	strangerAESKey = "ZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZ"
)

func rotating(t *testing.T) *wechat.Verifier {
	t.Helper()
	v, err := wechat.NewVerifier(wechat.Keys{
		Token: newToken, Cipher: mustCipher(t, newAESKey, vAppID),
		PreviousToken: vToken, PreviousCipher: mustCipher(t, vAESKey, vAppID),
	})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestVerifierAcceptsTheSignatureOfEitherToken(t *testing.T) {
	v := rotating(t)
	single, err := wechat.NewVerifier(wechat.Keys{Token: newToken})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		v     *wechat.Verifier
		token string
		want  wechat.Generation
		err   error
	}{
		{"the current Token", v, newToken, wechat.Current, nil},
		{"the previous Token", v, vToken, wechat.Previous, nil},
		{"an unknown Token", v, strangerToken, 0, wechat.ErrSignature},
		{"the previous Token once it is removed", single, vToken, 0, wechat.ErrSignature},
		{"an empty Token never matches an unset previous one", single, "", 0, wechat.ErrSignature},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := tt.v.VerifySignature(vTimestamp, vNonce, wechat.Sign(tt.token, vTimestamp, vNonce))
			if !errors.Is(err, tt.err) || err == nil && s.Token != tt.want {
				t.Errorf("VerifySignature = %+v, %v; want token %v, %v", s, err, tt.want, tt.err)
			}
		})
	}
	// The vector's own signature, made with the previous Token.
	if s, err := v.VerifySignature(vTimestamp, vNonce, vSignature); err != nil || s.Token != wechat.Previous {
		t.Errorf("vector (a): %+v, %v", s, err)
	}
}

func TestVerifierDecryptsWithEitherKeyAndSaysWhich(t *testing.T) {
	v := rotating(t)
	sealFor := func(key, appID string) string {
		return mustCipher(t, key, appID).EncryptWithRandom(random16(vRandom), []byte(vScanXML))
	}
	tests := []struct {
		name    string
		token   string // signs the query and msg_signature
		sigTok  string // signs msg_signature when it differs
		encrypt string
		wantKey wechat.Generation
		err     error
	}{
		{"current Token, current key", newToken, "", sealFor(newAESKey, vAppID), wechat.Current, nil},
		{"current Token, previous key", newToken, "", vEncrypt, wechat.Previous, nil},
		{"previous Token, previous key (vector c)", vToken, "", vEncrypt, wechat.Previous, nil},
		{"previous Token, current key", vToken, "", sealFor(newAESKey, vAppID), wechat.Current, nil},
		// Refused exactly as without a rotation: the current key's error.
		{"an unknown key", newToken, "", sealFor(strangerAESKey, vAppID), 0, wechat.ErrPadding},
		{"the current key, another AppID", newToken, "", sealFor(newAESKey, "wx0000000000000000"), 0, wechat.ErrAppID},
		{"the previous key, another AppID", newToken, "", sealFor(vAESKey, "wx0000000000000000"), 0, wechat.ErrPadding},
		{"msg_signature under the other Token than the query's", newToken, vToken, vEncrypt, 0, wechat.ErrMsgSignature},
		{"msg_signature under an unknown Token", newToken, strangerToken, vEncrypt, 0, wechat.ErrMsgSignature},
		{"not base64", newToken, "", "!!!!", 0, wechat.ErrBase64},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := v.VerifySignature(vTimestamp, vNonce, wechat.Sign(tt.token, vTimestamp, vNonce))
			if err != nil {
				t.Fatal(err)
			}
			sigTok := tt.token
			if tt.sigTok != "" {
				sigTok = tt.sigTok
			}
			msg, s, err := v.Decrypt(s, vTimestamp, vNonce, wechat.Sign(sigTok, vTimestamp, vNonce, tt.encrypt), tt.encrypt)
			if tt.err != nil {
				if !errors.Is(err, tt.err) || msg != nil {
					t.Fatalf("Decrypt = %q, %v; want %v", msg, err, tt.err)
				}
				return
			}
			if err != nil || string(msg) != vScanXML || s.AESKey != tt.wantKey {
				t.Fatalf("Decrypt = %q, %+v, %v; want the scan under the %v key", msg, s, err, tt.wantKey)
			}
		})
	}
}

// TestVerifierNeverTrustsAWrongKey seals many messages under random keys that
// are neither the current nor the previous one: none may open, although a
// wrong key gives a valid-looking pad about once in 256 tries.
func TestVerifierNeverTrustsAWrongKey(t *testing.T) {
	v := rotating(t)
	s := wechat.Served{Token: wechat.Current}
	for i := range 2000 {
		raw := make([]byte, 32)
		if _, err := rand.Read(raw); err != nil {
			t.Fatal(err)
		}
		key := base64.StdEncoding.EncodeToString(raw)[:43]
		c, err := wechat.NewCipher(key, vAppID)
		if err != nil {
			continue // a key with '+' or '/' is not an EncodingAESKey
		}
		enc := c.EncryptWithRandom(random16(vRandom), []byte("<xml/>"))
		if msg, _, err := v.Decrypt(s, vTimestamp, vNonce, wechat.Sign(newToken, vTimestamp, vNonce, enc), enc); err == nil {
			t.Fatalf("try %d: a stranger's key opened %q", i, msg)
		}
	}
}

func TestVerifierSealsWithWhatServed(t *testing.T) {
	v := rotating(t)
	reply := []byte(vReplyXML)
	tests := []struct {
		served     wechat.Served
		token, key string
	}{
		{wechat.Served{}, newToken, newAESKey},
		{wechat.Served{Token: wechat.Previous, AESKey: wechat.Previous}, vToken, vAESKey},
		{wechat.Served{Token: wechat.Current, AESKey: wechat.Previous}, newToken, vAESKey},
		{wechat.Served{Token: wechat.Previous, AESKey: wechat.Current}, vToken, newAESKey},
	}
	for _, tt := range tests {
		t.Run(tt.served.Token.String()+" Token, "+tt.served.AESKey.String()+" key", func(t *testing.T) {
			out, err := v.Seal(nil, tt.served, reply, vReplyTimestamp, vReplyNonce)
			if err != nil {
				t.Fatal(err)
			}
			e := parseEnvelope(t, out)
			if err := wechat.VerifyMsgSignature(tt.token, e.TimeStamp, e.Nonce, e.Encrypt, e.MsgSignature); err != nil {
				t.Errorf("MsgSignature: %v", err)
			}
			if inner, err := mustCipher(t, tt.key, vAppID).Decrypt(e.Encrypt); err != nil || string(inner) != vReplyXML {
				t.Errorf("the reply opens to %q, %v", inner, err)
			}
		})
	}
}

func TestNewVerifier(t *testing.T) {
	if _, err := wechat.NewVerifier(wechat.Keys{}); err == nil {
		t.Error("no Token: accepted")
	}
	_, err := wechat.NewVerifier(wechat.Keys{Token: newToken, Cipher: mustCipher(t, newAESKey, vAppID), PreviousCipher: mustCipher(t, vAESKey, "wx0000000000000000")})
	if !errors.Is(err, wechat.ErrAppID) {
		t.Errorf("keys for two AppIDs: %v", err)
	}
	plain, err := wechat.NewVerifier(wechat.Keys{Token: newToken})
	if err != nil || plain.CanDecrypt() {
		t.Fatalf("plaintext only: %v, CanDecrypt %v", err, plain.CanDecrypt())
	}
	if _, err := plain.Seal(nil, wechat.Served{}, []byte(vReplyXML), 1, "n"); !errors.Is(err, wechat.ErrAESKey) {
		t.Errorf("Seal without a key: %v", err)
	}
	if _, _, err := plain.Decrypt(wechat.Served{}, vTimestamp, vNonce, wechat.Sign(newToken, vTimestamp, vNonce, vEncrypt), vEncrypt); !errors.Is(err, wechat.ErrAESKey) {
		t.Errorf("Decrypt without a key: %v", err)
	}
}
