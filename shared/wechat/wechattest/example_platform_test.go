package wechattest_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"

	"wechatqr/shared/wechat"
	"wechatqr/shared/wechat/wechattest"
)

// The emulator in place of api.weixin.qq.com: a wechat.Client gets a token
// and creates a code, then a simulated user scans it and the account's
// callback answers.
func ExamplePlatform() {
	p, srv := wechattest.NewServer(wechattest.PlatformConfig{})
	defer p.Close()
	cfg := p.Config()

	client, err := wechat.NewClient(srv.URL, cfg.AppID, cfg.AppSecret)
	if err != nil {
		fmt.Println(err)
		return
	}
	ctx := context.Background()
	tok, err := client.Token(ctx)
	if err != nil {
		fmt.Println(err)
		return
	}
	code, err := client.CreateQRCode(ctx, tok.AccessToken, wechat.QRCodeRequest{
		ActionName: wechat.ActionLimitStrScene, SceneStr: "riddle-1",
	})
	if err != nil {
		fmt.Println(err)
		return
	}

	// The account's callback: verify, parse, answer the scene.
	callback := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		if wechat.VerifySignature(cfg.Token, q.Get("timestamp"), q.Get("nonce"), q.Get("signature")) != nil {
			http.Error(w, "forbidden", http.StatusForbidden)
			return
		}
		body, _ := io.ReadAll(io.LimitReader(r.Body, 64<<10))
		m, err := wechat.ParseMessage(body)
		if err != nil {
			http.Error(w, "bad request", http.StatusBadRequest)
			return
		}
		scene, _ := m.Scene()
		ts, _ := strconv.ParseInt(q.Get("timestamp"), 10, 64)
		w.Write(wechat.AppendText(nil, m.FromUserName, m.ToUserName, ts, m.Event+" "+scene))
	}))
	defer callback.Close()

	for range 2 {
		push, err := p.Scan(ctx, callback.URL, "oUser1", code.Ticket, wechattest.Plaintext)
		if err != nil {
			fmt.Println(err)
			return
		}
		reply, _ := wechat.ParseMessage(push.Reply())
		fmt.Println(push.Status(), reply.Content)
	}

	// Faults are injected per endpoint.
	p.FailNext(wechattest.PathQRCodeCreate, 1, wechattest.ErrCodeFault(wechat.CodeQRCodeCountLimit))
	_, err = client.CreateQRCode(ctx, tok.AccessToken, wechat.QRCodeRequest{ActionName: wechat.ActionLimitScene, SceneID: 2})
	var apiErr *wechat.APIError
	fmt.Println(errors.As(err, &apiErr), apiErr.Code, wechat.IsQuotaError(err))
	// Output:
	// 200 subscribe riddle-1
	// 200 SCAN riddle-1
	// true 45029 true
}
