package stack_test

import (
	"context"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"wechatqr/local/stack"
	"wechatqr/shared/wechat/wechattest"
)

// BenchmarkScanToFollowup measures, through the whole local stack, the time from a scan's push
// being answered by the callback to the follower holding the scene's first follow-up: the scan
// record's way through DynamoDB Local's stream, the mapping (the template's 1 s batching
// window), the scan actions under aws-lambda-rie and the emulator.
//
//	go test ./local/stack -run '^$' -bench ScanToFollowup -benchtime 5x
func BenchmarkScanToFollowup(b *testing.B) {
	ctx := context.Background()
	s, err := stack.Start(ctx, stack.Options{BuildDir: b.TempDir()})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	front := httptest.NewServer(s.Front())
	defer front.Close()
	body := `{"scene":"bench-poster","permanent":true,"reply":{"type":"text","content":"Hi"},"followups":[{"type":"text","content":"one"}]}`
	if res := call(b, "POST", front.URL+"/qrcodes", body, nil); res.StatusCode != 201 {
		b.Fatalf("create: %d", res.StatusCode)
	}
	b.ResetTimer()
	for i := range b.N {
		openid := "bench-" + strconv.Itoa(i)
		push, err := s.Platform.ScanScene(ctx, front.URL+"/wechat", openid, "bench-poster", wechattest.Plaintext)
		if err != nil || push.Status() != 200 {
			b.Fatalf("scan: %v", err)
		}
		deadline := time.Now().Add(30 * time.Second)
		for len(s.Platform.Messages(openid)) == 0 {
			if time.Now().After(deadline) {
				b.Fatal("no follow-up within 30 s")
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
}
