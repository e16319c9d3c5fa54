package actions_test

import (
	"bytes"
	"context"
	"net/http"
	"slices"
	"testing"
	"time"

	"wechatqr/shared/actions"
	"wechatqr/shared/qr"
	"wechatqr/shared/wechat"
	"wechatqr/shared/wechat/wechattest"
)

func shown(f *fixture, openid string) []string {
	var out []string
	for _, m := range f.platform.Messages(openid) {
		out = append(out, m.String())
	}
	return out
}

func TestFollowupFaults(t *testing.T) {
	both := []string{`text "Thanks for scanning the Beijing poster"`, `news "Your coupon" (https://example.com/c?a=1&b=2)`}
	tests := []struct {
		name  string
		fault wechattest.Fault
		// after the first delivery of the record:
		failed bool
		calls  int
		counts qr.ActionCounts
		// after the retry Lambda makes (when failed) or a redelivery:
		finalCalls  int
		finalShown  []string
		finalCounts qr.ActionCounts
	}{
		{"-1 releases the claim and the retry sends", wechattest.ErrCodeFault(-1),
			true, 1, qr.ActionCounts{}, 3, both, qr.ActionCounts{FollowupsSent: 2}},
		{"a 503 releases the claim and the retry sends", wechattest.StatusFault(http.StatusServiceUnavailable),
			true, 1, qr.ActionCounts{}, 3, both, qr.ActionCounts{FollowupsSent: 2}},
		{"40001 refreshes the token and sends again at once", wechattest.ErrCodeFault(wechat.CodeInvalidCredential),
			false, 3, qr.ActionCounts{FollowupsSent: 2}, 3, both, qr.ActionCounts{FollowupsSent: 2}},
		{"45015 counts one failed, skips the rest, retries nothing", wechattest.ErrCodeFault(wechat.CodeOutOfWindow),
			false, 1, qr.ActionCounts{FollowupsFailed: 1, FollowupsSkipped: 1}, 1, nil, qr.ActionCounts{FollowupsFailed: 1, FollowupsSkipped: 1}},
		{"45047 counts one failed, skips the rest, retries nothing", wechattest.ErrCodeFault(wechat.CodeResponseLimit),
			false, 1, qr.ActionCounts{FollowupsFailed: 1, FollowupsSkipped: 1}, 1, nil, qr.ActionCounts{FollowupsFailed: 1, FollowupsSkipped: 1}},
		{"a hung send is never sent twice; the rest waits for the retry", wechattest.HangFault(0),
			true, 1, qr.ActionCounts{FollowupsFailed: 1}, 2, both[1:], qr.ActionCounts{FollowupsSent: 1, FollowupsFailed: 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			f.putCode(t, "poster-bj", "", hello, coupon)
			f.scan(t, "oFaulty", "poster-bj", 1)
			recs := f.records(t)
			a := f.actions(t, actions.Config{})
			f.platform.FailNext(wechattest.PathCustomSend, 1, tt.fault)
			forced := forcedRefreshes(f)

			failed := a.Handle(context.Background(), recs)
			if (len(failed) == 1) != tt.failed {
				t.Errorf("failed records %v, want failed=%v", failed, tt.failed)
			}
			if n := f.platform.Calls(wechattest.PathCustomSend); n != tt.calls {
				t.Errorf("%d custom/send calls, want %d", n, tt.calls)
			}
			if c := f.counts(t, "poster-bj"); c != tt.counts {
				t.Errorf("counts %+v, want %+v", c, tt.counts)
			}
			if tt.fault.ErrCode == wechat.CodeInvalidCredential {
				if n := forcedRefreshes(f) - forced; n != 1 {
					t.Errorf("%d forced token refreshes, want 1", n)
				}
			}

			// Lambda retries the record (or redelivers it): same record, same id.
			if failed := a.Handle(context.Background(), recs); len(failed) != 0 {
				t.Errorf("the retry failed: %v", failed)
			}
			if n := f.platform.Calls(wechattest.PathCustomSend); n != tt.finalCalls {
				t.Errorf("%d custom/send calls in all, want %d", n, tt.finalCalls)
			}
			if got := shown(f, "oFaulty"); !slices.Equal(got, tt.finalShown) {
				t.Errorf("the follower received %q, want %q", got, tt.finalShown)
			}
			if c := f.counts(t, "poster-bj"); c != tt.finalCounts {
				t.Errorf("final counts %+v, want %+v", c, tt.finalCounts)
			}
			if n := len(f.published(t)); n != 1 {
				t.Errorf("%d events published, want 1", n)
			}
		})
	}
}

// forcedRefreshes counts stable_token calls that forced a new token.
func forcedRefreshes(f *fixture) int {
	n := 0
	for _, c := range f.platform.CallLog(wechattest.PathStableToken) {
		if bytes.Contains(c.Body, []byte(`"force_refresh":true`)) {
			n++
		}
	}
	return n
}

func TestHungWeChatCostsOneCallPerBatch(t *testing.T) {
	f := newFixture(t)
	f.putCode(t, "poster-bj", "北京海报", hello, coupon)
	for i := range 5 {
		f.scan(t, openID(i), "poster-bj", 1)
	}
	recs := f.records(t)
	a := f.actions(t, actions.Config{Workers: 1})
	f.platform.FailNext(wechattest.PathCustomSend, 100, wechattest.HangFault(0))
	failed := a.Handle(context.Background(), recs)
	if len(failed) != 5 {
		t.Errorf("%d records failed, want all 5 (their follow-ups and tags wait for the retry)", len(failed))
	}
	if n := f.platform.Calls(wechattest.PathCustomSend); n != 1 {
		t.Errorf("%d custom/send calls, want 1: once WeChat hangs the batch stops calling it", n)
	}
	if n := f.platform.Calls(wechattest.PathBatchTagging) + f.platform.Calls(wechattest.PathTagsCreate) + f.platform.Calls(wechattest.PathTagsGet); n != 0 {
		t.Errorf("%d tag calls after WeChat hung, want 0", n)
	}
	if n := len(f.published(t)); n != 5 {
		t.Errorf("%d events published, want 5: the bus is not WeChat", n)
	}
}

func TestTaggingFaults(t *testing.T) {
	t.Run("a follower at 20 tags is refused alone; the others are tagged", func(t *testing.T) {
		f := newFixture(t, func(c *wechattest.PlatformConfig, _ *[]wechat.ClientOption) { c.Limits.TagsPerUser = 1 })
		f.putCode(t, "poster-bj", "北京海报", hello)
		for i := range 4 {
			f.scan(t, openID(i), "poster-bj", 1)
		}
		tok, err := f.tokens.Token(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		other, err := f.wx.CreateTag(context.Background(), tok, "VIP")
		if err != nil {
			t.Fatal(err)
		}
		f.platform.TagUsers(other.ID, openID(2)) // now at the account's limit of 1
		recs := f.records(t)
		a := f.actions(t, actions.Config{})
		if failed := a.Handle(context.Background(), recs); len(failed) != 0 {
			t.Errorf("failed %v: a refusal is reported, not retried", failed)
		}
		if c := f.counts(t, "poster-bj"); c.Tagged != 3 || c.TagFailed != 1 {
			t.Errorf("counts %+v, want 3 tagged, 1 tag_failed", c)
		}
		calls := f.platform.Calls(wechattest.PathBatchTagging)
		if calls > 2*4-1 {
			t.Errorf("%d batchtagging calls for 4 followers, want at most 7", calls)
		}
		if failed := a.Handle(context.Background(), recs); len(failed) != 0 || f.platform.Calls(wechattest.PathBatchTagging) != calls {
			t.Errorf("a redelivery retried the refused tagging")
		}
	})
	t.Run("a tag made in the console is looked up, not created", func(t *testing.T) {
		f := newFixture(t)
		f.putCode(t, "poster-bj", "北京海报", hello)
		f.scan(t, "oOne", "poster-bj", 1)
		tok, _ := f.tokens.Token(context.Background())
		made, err := f.wx.CreateTag(context.Background(), tok, "北京海报")
		if err != nil {
			t.Fatal(err)
		}
		if failed := f.actions(t, actions.Config{}).Handle(context.Background(), f.records(t)); len(failed) != 0 {
			t.Fatalf("failed %v", failed)
		}
		if n, g := f.platform.Calls(wechattest.PathTagsCreate), f.platform.Calls(wechattest.PathTagsGet); n != 1 || g != 1 {
			t.Errorf("%d tags/create calls and %d tags/get, want the console's create and our one look-up", n, g)
		}
		if got := f.platform.UserTags("oOne"); !slices.Equal(got, []int64{made.ID}) {
			t.Errorf("oOne holds %v, want [%d]", got, made.ID)
		}
	})
	t.Run("-1 on batchtagging fails the record and the retry tags", func(t *testing.T) {
		f := newFixture(t)
		f.putCode(t, "poster-bj", "北京海报")
		f.scan(t, "oOne", "poster-bj", 1)
		recs := f.records(t)
		a := f.actions(t, actions.Config{})
		f.platform.FailNext(wechattest.PathBatchTagging, 10, wechattest.ErrCodeFault(-1))
		if failed := a.Handle(context.Background(), recs); len(failed) != 1 {
			t.Errorf("failed %v, want the record", failed)
		}
		f.platform.Reset()
		if failed := a.Handle(context.Background(), recs); len(failed) != 0 {
			t.Errorf("the retry failed: %v", failed)
		}
		if c := f.counts(t, "poster-bj"); c != (qr.ActionCounts{Tagged: 1}) {
			t.Errorf("counts %+v, want 1 tagged", c)
		}
	})
}

func TestConcurrentTagCreationLooksTheWinnerUp(t *testing.T) {
	f := newFixture(t)
	f.putCode(t, "poster-bj", "北京海报")
	f.scan(t, "oOne", "poster-bj", 1)
	recs := f.records(t)
	a := f.actions(t, actions.Config{})
	// Another instance creates the tag between our look-up and our create:
	// tags/get answers the list without it, and tags/create answers 45157.
	tok, _ := f.tokens.Token(context.Background())
	f.platform.FailNext(wechattest.PathTagsGet, 1, wechattest.Fault{Status: 200, Body: []byte(`{"tags":[]}`), ContentType: "application/json"})
	won, err := f.wx.CreateTag(context.Background(), tok, "北京海报")
	if err != nil {
		t.Fatal(err)
	}
	if failed := a.Handle(context.Background(), recs); len(failed) != 0 {
		t.Fatalf("failed %v", failed)
	}
	if got := f.platform.UserTags("oOne"); !slices.Equal(got, []int64{won.ID}) {
		t.Errorf("oOne holds %v, want the winner's tag [%d]", got, won.ID)
	}
	if n := f.platform.Calls(wechattest.PathTagsGet); n != 2 {
		t.Errorf("%d tags/get calls, want 2 (before the create, and after its 45157)", n)
	}
}

func TestNoWeChatCallStartsNearTheInvocationDeadline(t *testing.T) {
	f := newFixture(t)
	f.putCode(t, "poster-bj", "北京海报", hello)
	f.scan(t, "oOne", "poster-bj", 1)
	recs := f.records(t)
	a := f.actions(t, actions.Config{Reserve: time.Minute})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if failed := a.Handle(ctx, recs); len(failed) != 1 {
		t.Errorf("failed %v, want the record (Lambda retries it with time to spare)", failed)
	}
	if calls := f.wechatCalls(); calls[wechattest.PathCustomSend]+calls[wechattest.PathBatchTagging]+calls[wechattest.PathTagsGet]+calls[wechattest.PathTagsCreate] != 0 {
		t.Errorf("WeChat calls %v with less than the reserve left", calls)
	}
	if failed := a.Handle(context.Background(), recs); len(failed) != 0 {
		t.Errorf("the retry failed: %v", failed)
	}
	if got := shown(f, "oOne"); len(got) != 1 {
		t.Errorf("received %q, want the follow-up once", got)
	}
}
