package wechattest_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"time"

	"wechatqr/shared/wechat"
	"wechatqr/shared/wechat/wechattest"
)

// After a scan: tag the follower and send follow-ups within the scan's
// window of three messages in one minute, then read what the follower
// received. The clock is the Platform's, so the window can be crossed
// without waiting.
func ExamplePlatform_Messages() {
	clock := wechattest.NewClock(time.Date(2026, 12, 1, 2, 0, 0, 0, time.UTC))
	p, srv := wechattest.NewServer(wechattest.PlatformConfig{Now: clock.Now})
	defer p.Close()
	cfg := p.Config()
	client, _ := wechat.NewClient(srv.URL, cfg.AppID, cfg.AppSecret)
	ctx := context.Background()
	tok, _ := client.Token(ctx)

	callback := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte("success"))
	}))
	defer callback.Close()
	const follower = "oKqdL5Vn7Ek3wOq2fG8mZ1xYc9aQ"
	if _, err := p.ScanScene(ctx, callback.URL, follower, "poster-beijing", wechattest.Plaintext); err != nil {
		fmt.Println(err)
		return
	}

	tag, _ := client.CreateTag(ctx, tok.AccessToken, "北京海报")
	fmt.Println(client.BatchTag(ctx, tok.AccessToken, tag.ID, []string{follower}), p.UserTags(follower))

	for _, m := range []wechat.CustomMessage{
		wechat.TextMessage(follower, "Welcome!"),
		wechat.NewsMessage(follower, wechat.Article{Title: "Your coupon", URL: "https://example.com/c?id=1&s=2"}),
	} {
		clock.Advance(10 * time.Second)
		fmt.Println(client.SendCustomMessage(ctx, tok.AccessToken, m))
	}
	clock.Advance(time.Minute)
	err := client.SendCustomMessage(ctx, tok.AccessToken, wechat.TextMessage(follower, "too late"))
	fmt.Println(wechat.IsOutOfWindow(err))

	for _, m := range p.Messages(follower) {
		fmt.Println(m.At.Format("15:04:05"), m)
	}
	// Output:
	// <nil> [100]
	// <nil>
	// <nil>
	// true
	// 02:00:10 text "Welcome!"
	// 02:00:20 news "Your coupon" (https://example.com/c?id=1&s=2)
}
