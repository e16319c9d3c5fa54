package callback_test

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	"wechatqr/shared/callback"
	"wechatqr/shared/inmem"
	"wechatqr/shared/qr"
	"wechatqr/shared/wechat"
	"wechatqr/shared/wechat/wechattest"
)

// FuzzPush serves arbitrary bodies under a genuine query, plain and encrypted,
// to a plaintext-mode and a safe-mode account (the in-memory store), and
// arbitrary queries with a spied body. It holds what the handler promises
// whatever comes: no panic; a refused query (bad signature, no timestamp, a
// plain push in safe mode) leaves the body unread; a plain push in safe mode is
// a 403; a body not served by its signature before is never a 5xx; and a query
// served with one body answers any other with 403 or success, writing nothing.
func FuzzPush(f *testing.F) {
	s := wechattest.Signer{Token: benchToken, AppID: benchAppID, EncodingAESKey: benchAESKey}
	f.Add([]byte(s.ScanXML(benchOpenID, benchScene, benchNow.Unix(), benchTicket)), "468035", "")
	f.Add([]byte(s.SubscribeXML(benchOpenID, "", benchNow.Unix(), "")), "1", "aes")
	f.Add([]byte("<xml><Encrypt><![CDATA[AAAA]]></Encrypt></xml>"), "2", "aes")
	f.Add([]byte("<xml><MsgType>event</MsgType><Event>SCAN</Event><EventKey>login:x</EventKey></xml>"), "3", "raw")
	f.Add([]byte{}, "", "rot13")
	f.Fuzz(func(t *testing.T, body []byte, nonce, encryptType string) {
		for _, mode := range []callback.MessageMode{callback.Plaintext, callback.Safe} {
			store := inmem.New()
			if err := store.PutCode(context.Background(), &qr.Code{Scene: benchScene, Reply: qr.TextReply(benchAnswer), CreatedAt: benchNow}); err != nil {
				t.Fatal(err)
			}
			cipher, err := wechat.NewCipher(benchAESKey, benchAppID)
			if err != nil {
				t.Fatal(err)
			}
			h, err := callback.New(callback.Config{
				AppID: benchAppID, Token: benchToken, Cipher: cipher, MessageMode: mode,
				Tolerance: callback.DefaultTolerance, Now: func() time.Time { return benchNow },
			}, store, nil)
			if err != nil {
				t.Fatal(err)
			}
			ts := "1732500000"
			q := url.Values{"timestamp": {ts}, "nonce": {nonce}, "signature": {wechat.Sign(benchToken, ts, nonce)}}
			if encryptType != "" {
				q.Set("encrypt_type", encryptType)
				q.Set("msg_signature", wechat.Sign(benchToken, ts, nonce, string(body)))
			}
			serve := func(q url.Values, body []byte) (*httptest.ResponseRecorder, bool) {
				spy := &readSpy{r: bytes.NewReader(body)}
				w := httptest.NewRecorder()
				h.ServeHTTP(w, httptest.NewRequest(http.MethodPost, "/wechat?"+q.Encode(), spy))
				return w, spy.read
			}

			bad := url.Values{}
			for k, v := range q {
				bad[k] = v
			}
			bad.Set("signature", "0000000000000000000000000000000000000000")
			if w, read := serve(bad, body); read || w.Code != http.StatusUnauthorized && w.Code != http.StatusBadRequest {
				t.Fatalf("%s mode, bad signature: %d %q, body read: %v", mode, w.Code, w.Body, read)
			}
			w, read := serve(q, body)
			plain := encryptType == "" || encryptType == "raw"
			switch {
			case nonce == "":
				if w.Code != http.StatusBadRequest || read {
					t.Fatalf("no nonce: %d, body read: %v", w.Code, read)
				}
				continue
			case mode == callback.Safe && plain:
				if w.Code != http.StatusForbidden || read {
					t.Fatalf("plain push in safe mode: %d %q, body read: %v", w.Code, w.Body, read)
				}
			case w.Code >= 500:
				t.Fatalf("%s mode, encrypt_type %q: %d %q", mode, encryptType, w.Code, w.Body)
			}
			if w.Code != http.StatusOK || !plain {
				continue
			}
			// The query has served body; any other body under it writes nothing.
			before := len(store.Scans())
			other := append([]byte("<xml><FromUserName>oOther</FromUserName><CreateTime>1</CreateTime><MsgType>event</MsgType><Event>subscribe</Event></xml>"), body...)
			if w2, _ := serve(q, other); w2.Code != http.StatusForbidden && w2.Body.String() != "success" && w2.Code != http.StatusBadRequest {
				t.Fatalf("another body under a served query: %d %q", w2.Code, w2.Body)
			}
			if len(store.Scans()) != before {
				t.Fatal("another body under a served query was recorded")
			}
		}
	})
}
