package wechattest_test

import (
	"testing"

	"wechatqr/shared/wechat"
	"wechatqr/shared/wechat/wechattest"
)

// TestUsingSignsAndSealsWithTheChosenValues builds a safe-mode push under each
// pairing of a rotation's Tokens and keys and checks it against the protocol
// functions directly: the query and msg_signature under the chosen Token, the
// Encrypt under the chosen key. OpenReply of that Signer takes only replies
// under the same pair.
func TestUsingSignsAndSealsWithTheChosenValues(t *testing.T) {
	const newToken, newKey = "rotated0token", "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
	s := wechattest.Signer{Token: newToken, AppID: vAppID, EncodingAESKey: newKey, PreviousToken: vToken, PreviousEncodingAESKey: vAESKey}
	for _, tok := range []wechat.Generation{wechat.Current, wechat.Previous} {
		for _, key := range []wechat.Generation{wechat.Current, wechat.Previous} {
			t.Run(tok.String()+" Token, "+key.String()+" key", func(t *testing.T) {
				wantTok, wantKey := newToken, newKey
				if tok == wechat.Previous {
					wantTok = vToken
				}
				if key == wechat.Previous {
					wantKey = vAESKey
				}
				u := s.Using(tok, key)
				q, body, err := u.Push([]byte(vScanXML), wechattest.Safe, vTimestamp, vNonce)
				if err != nil {
					t.Fatal(err)
				}
				ts := q.Get("timestamp")
				if err := wechat.VerifySignature(wantTok, ts, vNonce, q.Get("signature")); err != nil {
					t.Errorf("signature: %v", err)
				}
				env, err := wechat.ParseMessage(body)
				if err != nil {
					t.Fatal(err)
				}
				if err := wechat.VerifyMsgSignature(wantTok, ts, vNonce, env.Encrypt, q.Get("msg_signature")); err != nil {
					t.Errorf("msg_signature: %v", err)
				}
				c, err := wechat.NewCipher(wantKey, vAppID)
				if err != nil {
					t.Fatal(err)
				}
				if inner, err := c.Decrypt(env.Encrypt); err != nil || string(inner) != vScanXML {
					t.Errorf("Encrypt opens to %q, %v", inner, err)
				}

				reply, err := c.Seal(nil, wantTok, []byte("<xml/>"), vTimestamp, vNonce)
				if err != nil {
					t.Fatal(err)
				}
				if inner, err := u.OpenReply(reply); err != nil || string(inner) != "<xml/>" {
					t.Errorf("OpenReply of its own pair: %q, %v", inner, err)
				}
				other := s.Using(1-tok, 1-key)
				if _, err := other.OpenReply(reply); err == nil {
					t.Error("OpenReply took a reply under the other pair")
				}
			})
		}
	}
}
