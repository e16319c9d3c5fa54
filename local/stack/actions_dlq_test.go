package stack_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"wechatqr/local/streams"
	"wechatqr/shared/wechat/wechattest"
)

// TestFailingScanActionsEndOnTheDeadLetterQueue: WeChat answers every
// batchtagging with -1, so the record's tagging fails at every attempt; the
// mapping retries it MaximumRetryAttempts times under aws-lambda-rie and then
// sends its on-failure record to the queue. Meanwhile its follow-up, claimed at
// the first attempt, is sent once, its event published once, and another scene's
// scan behind it on the stream gets its follow-up once, however often it is retried
// with it.
func TestFailingScanActionsEndOnTheDeadLetterQueue(t *testing.T) {
	s, front := startStack(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	for _, body := range []string{
		`{"scene":"poster-dlq","permanent":true,"tag":"DLQ poster","followups":[{"type":"text","content":"hello once"}]}`,
		`{"scene":"poster-ok","permanent":true,"followups":[{"type":"text","content":"fine"}]}`,
	} {
		if res := call(t, "POST", front.URL+"/qrcodes", body, nil); res.StatusCode != 201 {
			t.Fatalf("create: %d", res.StatusCode)
		}
	}
	s.Platform.FailNext(wechattest.PathBatchTagging, 1000, wechattest.ErrCodeFault(-1))
	for _, scan := range [][2]string{{"dlq-follower", "poster-dlq"}, {"ok-follower", "poster-ok"}} {
		if push, err := s.Platform.ScanScene(ctx, front.URL+"/wechat", scan[0], scan[1], wechattest.Plaintext); err != nil || push.Status() != 200 {
			t.Fatalf("scan: %v %d", err, push.Status())
		}
	}
	if err := s.StreamIdle(ctx); err != nil {
		t.Fatal(err)
	}
	dl, err := s.DeadLetters(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// Lambda retries from the failed record on, so the batch given up on starts at it and
	// may hold the records behind it in the same batch (acted on again each time, harmlessly).
	if len(dl) != 1 || dl[0].RequestContext.Condition != streams.ConditionRetriesExhausted || dl[0].BatchInfo.BatchSize < 1 {
		t.Fatalf("dead letters %+v, want one batch, its retries exhausted", dl)
	}
	if n := dl[0].RequestContext.ApproximateInvokeCount; n < 2 {
		t.Errorf("given up after %d invocations, want the template's retries", n)
	}
	texts := func(openid string) []string {
		var out []string
		for _, msg := range s.Platform.Messages(openid) {
			out = append(out, msg.Content)
		}
		return out
	}
	if got := texts("dlq-follower"); !slices.Equal(got, []string{"hello once"}) {
		t.Errorf("the failing record's follower received %q, want its follow-up once", got)
	}
	if got := texts("ok-follower"); !slices.Equal(got, []string{"fine"}) {
		t.Errorf("the next record's follower received %q", got)
	}
	// The API shows what the actions did: the follow-up sent once, no tagging counted.
	var got struct {
		Actions map[string]int64 `json:"actions"`
	}
	if res := call(t, "GET", front.URL+"/qrcodes/poster-dlq", "", &got); res.StatusCode != 200 ||
		got.Actions["followups_sent"] != 1 || got.Actions["tagged"] != 0 || got.Actions["followups_failed"] != 0 {
		t.Errorf("GET /qrcodes/poster-dlq actions = %v, want 1 follow-up sent and nothing tagged", got.Actions)
	}
	events := publishedScans(t, s.PublishedEvents)
	byOpenID := map[string]int{}
	for _, e := range events {
		byOpenID[e.Detail.OpenID]++
	}
	if byOpenID["dlq-follower"] != 1 || byOpenID["ok-follower"] != 1 {
		t.Errorf("published %v, want one event each", byOpenID)
	}
}
