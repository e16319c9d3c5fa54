package callback_test

import (
	"bytes"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"wechatqr/shared/wechat/wechattest"
)

// BenchmarkBadSignatureLargeAgainstGoodSmall measures what a forged push costs:
// a 60 KiB body under a wrong signature against a good small push (the riddle's
// SCAN, safe mode, a retry: the cheapest push that is served). Each iteration
// serves one of each through the HTTP front and times them apart; the figures
// are bad-ns/op, good-ns/op and their ratio bad/good, which stays well under 1
// because the signature is checked before the body is read (docs/performance.md).
//
//	go test ./shared/callback -run '^$' -bench BadSignatureLarge
func BenchmarkBadSignatureLargeAgainstGoodSmall(b *testing.B) {
	rig := newBenchRig(b)
	good := newReplayable(benchPushes(b, wechattest.Safe, 1)[0])
	q, err := url.ParseQuery(good.r.URL.RawQuery)
	if err != nil {
		b.Fatal(err)
	}
	q.Set("signature", strings.Repeat("0", 40))
	large := benchPush{query: q.Encode(), body: bytes.Repeat([]byte("<xml><A>x</A></xml>"), 60<<10/19)}
	bad := newReplayable(large)
	if n := len(large.body); n < 60<<10-19 || n > 60<<10 {
		b.Fatalf("the bad body is %d bytes, want 60 KiB", n)
	}
	serve := httpFront.bind(rig.h)
	if w := serve(good); w.Code != http.StatusOK { // the first delivery: later ones are retries
		b.Fatalf("good push: %d %s", w.Code, w.Body)
	}
	if w := serve(bad); w.Code != http.StatusUnauthorized {
		b.Fatalf("bad push: %d %s", w.Code, w.Body)
	}
	var badT, goodT time.Duration
	for b.Loop() {
		t0 := time.Now()
		serve(bad)
		t1 := time.Now()
		serve(good)
		t2 := time.Now()
		badT += t1.Sub(t0)
		goodT += t2.Sub(t1)
	}
	if rig.scans() != 1 {
		b.Fatalf("%d scans recorded, want 1", rig.scans())
	}
	b.ReportMetric(float64(badT.Nanoseconds())/float64(b.N), "bad-ns/op")
	b.ReportMetric(float64(goodT.Nanoseconds())/float64(b.N), "good-ns/op")
	b.ReportMetric(float64(badT)/float64(goodT), "bad/good")
}
