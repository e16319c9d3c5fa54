package wechat_test

import (
	"bytes"
	"encoding/xml"
	"errors"
	"strconv"
	"strings"
	"testing"

	"wechatqr/shared/wechat"
)

// envelope is the reply envelope as encoding/xml reads it.
type envelope struct {
	XMLName      xml.Name `xml:"xml"`
	Encrypt      string
	MsgSignature string
	TimeStamp    string
	Nonce        string
}

func parseEnvelope(t *testing.T, b []byte) envelope {
	t.Helper()
	var e envelope
	if err := xml.Unmarshal(b, &e); err != nil {
		t.Fatalf("the envelope is not XML: %v\n%s", err, b)
	}
	return e
}

func TestSealWithRandomMatchesVectorCPrime(t *testing.T) {
	c := mustCipher(t, vAESKey, vAppID)
	reply := wechat.AppendText(nil, vOpenID, "gh_0123456789ab", 1732500001, "Answer: a map")
	got := c.SealWithRandom(nil, random16(vReplyRandom), vToken, reply, vReplyTimestamp, vReplyNonce)

	want := wechat.AppendEnvelope(nil, vReplyEncrypt, vReplyMsgSignature, vReplyTimestamp, vReplyNonce)
	if !bytes.Equal(got, want) {
		t.Fatalf("SealWithRandom =\n%s\nwant\n%s", got, want)
	}
	e := parseEnvelope(t, got)
	if e.Encrypt != vReplyEncrypt || e.MsgSignature != vReplyMsgSignature || e.TimeStamp != "1732500001" || e.Nonce != vReplyNonce {
		t.Errorf("envelope fields %+v", e)
	}
	if err := wechat.VerifyMsgSignature(vToken, e.TimeStamp, e.Nonce, e.Encrypt, e.MsgSignature); err != nil {
		t.Errorf("the envelope does not verify: %v", err)
	}
	if inner, err := c.Decrypt(e.Encrypt); err != nil || string(inner) != vReplyXML {
		t.Errorf("the envelope decrypts to %q, %v", inner, err)
	}
}

func TestSealMatchesWechatpyReply(t *testing.T) {
	c := mustCipher(t, pyAESKey, pyCorpID)
	ts, _ := strconv.ParseInt(pyTimestamp, 10, 64)
	e := parseEnvelope(t, c.SealWithRandom(nil, random16(pyRandom), pyToken, []byte(pyReply), ts, pyNonce))
	if e.Encrypt != pyReplyEnc || e.MsgSignature != pyReplySig {
		t.Errorf("Seal = %+v\nwant Encrypt %s and MsgSignature %s", e, pyReplyEnc, pyReplySig)
	}
}

func TestSealProducesVerifiableEnvelopes(t *testing.T) {
	c := mustCipher(t, vAESKey, vAppID)
	tests := []struct {
		name  string
		reply []byte
		nonce string
	}{
		{"text reply", []byte(vReplyXML), vReplyNonce},
		{"empty reply", nil, "1"},
		{"reply past the stack hashing buffer", wechat.AppendText(nil, vOpenID, "gh", 1, strings.Repeat("答案 ", 400)), "2"},
		{"nonce with ]]>", []byte(vReplyXML), "a]]>b"},
		{"empty nonce", []byte(vReplyXML), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := c.Seal(nil, vToken, tt.reply, vReplyTimestamp, tt.nonce)
			if err != nil {
				t.Fatal(err)
			}
			e := parseEnvelope(t, out)
			if e.Nonce != tt.nonce || e.TimeStamp != "1732500001" {
				t.Errorf("nonce %q and timestamp %q, want %q and 1732500001", e.Nonce, e.TimeStamp, tt.nonce)
			}
			if err := wechat.VerifyMsgSignature(vToken, e.TimeStamp, e.Nonce, e.Encrypt, e.MsgSignature); err != nil {
				t.Errorf("MsgSignature does not verify: %v", err)
			}
			if inner, err := c.Decrypt(e.Encrypt); err != nil || string(inner) != string(tt.reply) {
				t.Errorf("decrypts to %q, %v", inner, err)
			}
		})
	}
}

func TestSealAppendsAndMayReuseTheReplyBuffer(t *testing.T) {
	c := mustCipher(t, vAESKey, vAppID)
	rnd := random16(vReplyRandom)
	want := c.SealWithRandom(nil, rnd, vToken, []byte(vReplyXML), vReplyTimestamp, vReplyNonce)

	t.Run("after a prefix", func(t *testing.T) {
		got := c.SealWithRandom([]byte("prefix|"), rnd, vToken, []byte(vReplyXML), vReplyTimestamp, vReplyNonce)
		if string(got) != "prefix|"+string(want) {
			t.Errorf("got %s", got)
		}
	})
	t.Run("into reply[:0]", func(t *testing.T) {
		for _, capacity := range []int{len(vReplyXML), 4096} {
			reply := append(make([]byte, 0, capacity), vReplyXML...)
			got := c.SealWithRandom(reply[:0], rnd, vToken, reply, vReplyTimestamp, vReplyNonce)
			if !bytes.Equal(got, want) {
				t.Errorf("capacity %d: got\n%s\nwant\n%s", capacity, got, want)
			}
		}
	})
	t.Run("without allocating when dst has room", func(t *testing.T) {
		buf := make([]byte, 0, 4096)
		reply := []byte(vReplyXML)
		allocs := testing.AllocsPerRun(100, func() {
			buf = c.SealWithRandom(buf[:0], rnd, vToken, reply, vReplyTimestamp, vReplyNonce)
		})
		if allocs != 0 {
			t.Errorf("SealWithRandom allocates %v times per call", allocs)
		}
	})
}

func TestOpen(t *testing.T) {
	c := mustCipher(t, vAESKey, vAppID)
	safeBody := []byte(`<xml><ToUserName><![CDATA[gh_0123456789ab]]></ToUserName><Encrypt><![CDATA[` + vEncrypt + `]]></Encrypt></xml>`)
	compatibleBody := []byte(strings.TrimSuffix(vScanXML, "</xml>") + `<Encrypt><![CDATA[` + vEncrypt + `]]></Encrypt></xml>`)
	// A compatible body whose plaintext copy was tampered with: Open must
	// return the decrypted copy.
	tampered := []byte(strings.Replace(string(compatibleBody), "riddle-1", "riddle-2", 1))

	tests := []struct {
		name    string
		cipher  *wechat.Cipher
		body    []byte
		sig     string
		wantErr error
	}{
		{"opens the §10(b) safe-mode push", c, safeBody, vMsgSignature, nil},
		{"opens a compatible-mode push", c, compatibleBody, vMsgSignature, nil},
		{"trusts only the encrypted copy", c, tampered, vMsgSignature, nil},
		{"rejects a wrong msg_signature", c, safeBody, vSignature, wechat.ErrMsgSignature},
		{"rejects a body without Encrypt", c, []byte(vScanXML), vMsgSignature, wechat.ErrMalformed},
		{"rejects a body that is not XML", c, []byte("success"), vMsgSignature, wechat.ErrMalformed},
		{"rejects a push for another AppID", mustCipher(t, vAESKey, "wx0000000000000000"), safeBody, vMsgSignature, wechat.ErrAppID},
		{"rejects a push under another key", mustCipher(t, strings.Repeat("Z", 43), vAppID), safeBody, vMsgSignature, wechat.ErrPadding},
	}
	want := event("SCAN", "riddle-1", vTicket)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := tt.cipher.Open(vToken, vTimestamp, vNonce, tt.sig, tt.body)
			if !errors.Is(err, tt.wantErr) || (err == nil) != (tt.wantErr == nil) {
				t.Fatalf("Open = %+v, %v; want %v", m, err, tt.wantErr)
			}
			if err == nil && m != want {
				t.Errorf("Open = %+v, want %+v", m, want)
			}
			if err != nil && m != (wechat.Message{}) {
				t.Errorf("Open returned %+v with its error", m)
			}
		})
	}
}

func TestOpenWechatpyPush(t *testing.T) {
	// Pretty-printed envelope with an extra AgentID element (WeCom).
	m, err := mustCipher(t, pyAESKey, pyCorpID).Open(pyToken, pyTimestamp, pyNonce, pyPushSig, []byte(pyPushBody))
	if err != nil {
		t.Fatal(err)
	}
	if m.Content != "test" || m.FromUserName != "messense" {
		t.Errorf("Open = %+v, want Content test from messense", m)
	}
}

func TestDecryptWeComEchoStr(t *testing.T) {
	// WeCom's GET (not an Official Account's; §2) carries an encrypted
	// echostr signed with msg_signature. Same cipher, same rules.
	if err := wechat.VerifyMsgSignature(pyToken, pyEchoTimestamp, pyEchoNonce, pyEchoStr, pyEchoSig); err != nil {
		t.Fatal(err)
	}
	if _, err := mustCipher(t, pyAESKey, pyCorpID).Decrypt(pyEchoStr); err != nil {
		t.Errorf("Decrypt(echostr): %v", err)
	}
}
