package wechattest_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"

	"wechatqr/shared/wechat"
	"wechatqr/shared/wechat/wechattest"
)

// A safe-mode round trip: the Signer builds the push WeChat would send, a
// handler answers it with the wechat package, and OpenReply reads the
// sealed answer as WeChat would.
func Example() {
	const token, appID, key = "wechatqr", "wx5823bf96d3bd56c7", "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C"
	platform := wechattest.Signer{Token: token, AppID: appID, EncodingAESKey: key}
	c, err := wechat.NewCipher(key, appID)
	if err != nil {
		panic(err)
	}

	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		if err := wechat.VerifySignature(token, q.Get("timestamp"), q.Get("nonce"), q.Get("signature")); err != nil {
			http.Error(w, "forbidden", http.StatusForbidden)
			return
		}
		body, _ := io.ReadAll(io.LimitReader(r.Body, 64<<10))
		m, err := c.Open(token, q.Get("timestamp"), q.Get("nonce"), q.Get("msg_signature"), body)
		if err != nil {
			http.Error(w, "bad request", http.StatusBadRequest)
			return
		}
		scene, ok := m.Scene()
		if !ok {
			io.WriteString(w, "success")
			return
		}
		ts, _ := strconv.ParseInt(q.Get("timestamp"), 10, 64)
		reply := wechat.AppendText(nil, m.FromUserName, m.ToUserName, ts+1, "Answer to "+scene)
		out, _ := c.Seal(nil, token, reply, ts+1, q.Get("nonce"))
		w.Write(out)
	})

	inner := platform.ScanXML("oKqdL5Vn7Ek3wOq2fG8mZ1xYc9aQ", "riddle-1", 1732500000, "TICKET")
	query, body, err := platform.Push(inner, wechattest.Safe, 1732500000, "468035")
	if err != nil {
		panic(err)
	}
	rec := httptest.NewRecorder()
	handler.ServeHTTP(rec, platform.Request("/wechat", query, body))

	reply, err := platform.OpenReply(rec.Body.Bytes())
	if err != nil {
		panic(err)
	}
	m, _ := wechat.ParseMessage(reply)
	fmt.Println(rec.Code, m.ToUserName, m.Content)
	// Output: 200 oKqdL5Vn7Ek3wOq2fG8mZ1xYc9aQ Answer to riddle-1
}
