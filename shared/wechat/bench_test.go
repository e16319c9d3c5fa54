package wechat_test

import (
	"encoding/xml"
	"testing"

	"wechatqr/shared/wechat"
)

// The benchmarks measure what the callback does per push. Compare the
// ParseMessage sub-benchmarks for the scanner's gain over encoding/xml.

func BenchmarkParseMessage(b *testing.B) {
	body := []byte(vScanXML)
	b.Run("fast", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(body)))
		for b.Loop() {
			if _, err := wechat.ParseMessage(body); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("encoding-xml", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(body)))
		for b.Loop() {
			var m oracleMessage
			if err := xml.Unmarshal(body, &m); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkVerifySignature(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if err := wechat.VerifySignature(vToken, vTimestamp, vNonce, vSignature); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecrypt(b *testing.B) {
	c := mustCipher(b, vAESKey, vAppID)
	b.ReportAllocs()
	b.SetBytes(int64(len(vEncrypt)))
	for b.Loop() {
		if _, err := c.Decrypt(vEncrypt); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkSealText(b *testing.B) {
	c := mustCipher(b, vAESKey, vAppID)
	var reply, out []byte
	b.ReportAllocs()
	for b.Loop() {
		reply = wechat.AppendText(reply[:0], vOpenID, "gh_0123456789ab", 1732500001, "Answer: a map")
		var err error
		if out, err = c.Seal(out[:0], vToken, reply, 1732500001, vReplyNonce); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSafeModePush is the whole encrypted round: verify the query
// signature, open the §10(b) push, find the scene, build and seal the reply.
func BenchmarkSafeModePush(b *testing.B) {
	c := mustCipher(b, vAESKey, vAppID)
	body := []byte(`<xml><ToUserName><![CDATA[gh_0123456789ab]]></ToUserName><Encrypt><![CDATA[` + vEncrypt + `]]></Encrypt></xml>`)
	var reply, out []byte
	b.ReportAllocs()
	for b.Loop() {
		if err := wechat.VerifySignature(vToken, vTimestamp, vNonce, vSignature); err != nil {
			b.Fatal(err)
		}
		m, err := c.Open(vToken, vTimestamp, vNonce, vMsgSignature, body)
		if err != nil {
			b.Fatal(err)
		}
		scene, _ := m.Scene()
		reply = wechat.AppendText(reply[:0], m.FromUserName, m.ToUserName, 1732500001, "Answer to "+scene)
		if out, err = c.Seal(out[:0], vToken, reply, 1732500001, vNonce); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPlaintextPush is the same round in plaintext mode.
func BenchmarkPlaintextPush(b *testing.B) {
	body := []byte(vScanXML)
	var reply []byte
	b.ReportAllocs()
	for b.Loop() {
		if err := wechat.VerifySignature(vToken, vTimestamp, vNonce, vSignature); err != nil {
			b.Fatal(err)
		}
		m, err := wechat.ParseMessage(body)
		if err != nil {
			b.Fatal(err)
		}
		scene, _ := m.Scene()
		reply = wechat.AppendText(reply[:0], m.FromUserName, m.ToUserName, 1732500001, "Answer to "+scene)
	}
}
