package stack_test

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"wechatqr/local/stack"
	"wechatqr/shared/wechat/wechattest"
)

// TestScanActionsThroughTheStack is issue 12's path end to end as `make run` runs it: a scan
// through the callback writes a scan record, the stack's stream mapping hands it to the scan
// actions function under aws-lambda-rie, which tags the follower and sends the follow-ups on the
// emulator and publishes the scan to moto_server's EventBridge; a redelivery of the whole stream
// repeats nothing; Close leaves no process behind.
func TestScanActionsThroughTheStack(t *testing.T) {
	s, front := startStack(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	body := `{"scene":"poster-1","permanent":true,"reply":{"type":"text","content":"Welcome"},` +
		`"tag":"Beijing poster","followups":[{"type":"text","content":"one"},{"type":"text","content":"two"}]}`
	if res := call(t, "POST", front.URL+"/qrcodes", body, nil); res.StatusCode != 201 {
		t.Fatalf("create: %d", res.StatusCode)
	}
	const openid = "stack-follower-1"
	push, err := s.Platform.ScanScene(ctx, front.URL+"/wechat", openid, "poster-1", wechattest.Plaintext)
	if err != nil || push.Status() != 200 {
		t.Fatalf("scan: %v %d", err, push.Status())
	}
	if err := s.StreamIdle(ctx); err != nil {
		t.Fatal(err)
	}
	texts := func() []string {
		var out []string
		for _, m := range s.Platform.Messages(openid) {
			out = append(out, m.Content)
		}
		return out
	}
	if got := texts(); !slices.Equal(got, []string{"one", "two"}) {
		t.Errorf("the follower received %q, want the two follow-ups in order", got)
	}
	tagged := false
	for _, tag := range s.Platform.Tags() {
		if tag.Name == "Beijing poster" && slices.Contains(s.Platform.TagMembers(tag.ID), openid) {
			tagged = true
		}
	}
	if !tagged {
		t.Errorf("the follower is not tagged: tags %+v", s.Platform.Tags())
	}
	events := publishedScans(t, s.PublishedEvents)
	if len(events) != 1 || events[0].Detail.OpenID != openid || events[0].Detail.Scene != "poster-1" || events[0].DetailType != "Scan" || events[0].Detail.AppID != wechattest.DefaultAppID {
		t.Errorf("published %+v, want one Scan of poster-1 by %s in %s", events, openid, wechattest.DefaultAppID)
	}

	// The second account's code of the same scene, scanned by a follower of the same
	// openid: its own tag and follow-ups, sent with its own token, and its own event.
	b := s.Network.Platform(stack.SecondAccount.Platform.AppID)
	bodyB := strings.NewReplacer("Beijing poster", "Shanghai poster", `"one"`, `"B one"`, `"two"`, `"B two"`).Replace(body)
	if res := call(t, "POST", front.URL+"/accounts/"+b.Config().AppID+"/qrcodes", bodyB, nil); res.StatusCode != 201 {
		t.Fatalf("create in the second account: %d", res.StatusCode)
	}
	if push, err := b.ScanScene(ctx, front.URL+"/wechat/"+b.Config().AppID, openid, "poster-1", wechattest.Plaintext); err != nil || push.Status() != 200 {
		t.Fatalf("scan in the second account: %v %d", err, push.Status())
	}
	if err := s.StreamIdle(ctx); err != nil {
		t.Fatal(err)
	}
	var textsB []string
	for _, m := range b.Messages(openid) {
		textsB = append(textsB, m.Content)
	}
	if got := texts(); !slices.Equal(textsB, []string{"B one", "B two"}) || !slices.Equal(got, []string{"one", "two"}) {
		t.Errorf("the second account's follower received %q and the default's %q, want each account's own follow-ups", textsB, got)
	}
	taggedIn := func(p *wechattest.Platform, name string) bool {
		for _, tag := range p.Tags() {
			if tag.Name == name && slices.Contains(p.TagMembers(tag.ID), openid) {
				return true
			}
		}
		return false
	}
	if !taggedIn(b, "Shanghai poster") || taggedIn(s.Platform, "Shanghai poster") || taggedIn(b, "Beijing poster") {
		t.Errorf("the second account's tags %+v and the default's %+v: want each account's own", b.Tags(), s.Platform.Tags())
	}
	for _, c := range s.Network.CallLog(wechattest.PathCustomSend) {
		if c.AppID == "" {
			t.Errorf("a follow-up was sent with a token no account issued: %s", c.RawQuery)
		}
	}
	events = publishedScans(t, s.PublishedEvents)
	if len(events) != 2 || events[1].Detail.AppID != b.Config().AppID || events[1].Detail.ID == events[0].Detail.ID {
		t.Errorf("published %+v, want a second event, of the second account", events)
	}
	const defaultSent = 2

	// The whole stream again: nothing is sent or published twice.
	if err := s.Redeliver(ctx); err != nil {
		t.Fatal(err)
	}
	if err := s.StreamIdle(ctx); err != nil {
		t.Fatal(err)
	}
	if got := texts(); len(got) != defaultSent || len(b.Messages(openid)) != 2 {
		t.Errorf("after redelivery the follower has %q, want the two follow-ups once", got)
	}
	if ids := publishedScans(t, s.PublishedEvents); len(ids) != 2 {
		t.Errorf("after redelivery %d events were published, want 2", len(ids))
	}
	if dl, err := s.DeadLetters(ctx); err != nil || len(dl) != 0 {
		t.Errorf("dead letters %+v, %v; want none", dl, err)
	}

	fn, ok := s.Function("ScanActionsFunction")
	if !ok {
		t.Fatal("ScanActionsFunction is not running")
	}
	pids := []int{fn.PID(), s.DB.PID(), s.MotoPID()}
	s.Close()
	for _, pid := range pids {
		if alive(pid) {
			t.Errorf("process %d outlived Close", pid)
		}
	}
}

type scanEvent struct {
	ID         string `json:"id"`
	Source     string `json:"source"`
	DetailType string `json:"detail-type"`
	Detail     struct {
		ID     string `json:"id"`
		AppID  string `json:"appid"`
		Scene  string `json:"scene"`
		OpenID string `json:"openid"`
		Event  string `json:"event"`
	} `json:"detail"`
}

func publishedScans(t *testing.T, read func(context.Context) ([]json.RawMessage, error)) []scanEvent {
	t.Helper()
	raw, err := read(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var out []scanEvent
	for _, r := range raw {
		var e scanEvent
		if err := json.Unmarshal(r, &e); err != nil {
			t.Fatalf("published %s: %v", r, err)
		}
		if e.Source != "wechatqr" {
			t.Errorf("published an event of source %q", e.Source)
		}
		out = append(out, e)
	}
	return out
}

// TestAnErasedFollowerStaysErasedThroughTheStack: after DELETE /users/{openid},
// the follower's records that the stream still holds (here the whole stream
// redelivered, as Lambda does after a failure) go through the template's filter
// to the scan actions under aws-lambda-rie and do nothing: no follow-up, no
// tagging call, no event, and nothing written back into the erased partition.
func TestAnErasedFollowerStaysErasedThroughTheStack(t *testing.T) {
	s, front := startStack(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	body := `{"scene":"poster-1","permanent":true,"tag":"Beijing poster","followups":[{"type":"text","content":"one"},{"type":"text","content":"two"}]}`
	if res := call(t, "POST", front.URL+"/qrcodes", body, nil); res.StatusCode != 201 {
		t.Fatalf("create: %d", res.StatusCode)
	}
	const openid = "stack-erased-1"
	push, err := s.Platform.ScanScene(ctx, front.URL+"/wechat", openid, "poster-1", wechattest.Plaintext)
	if err != nil || push.Status() != 200 {
		t.Fatalf("scan: %v %d", err, push.Status())
	}
	if err := s.StreamIdle(ctx); err != nil {
		t.Fatal(err)
	}
	if n := len(s.Platform.Messages(openid)); n != 2 {
		t.Fatalf("before the erasure the follower received %d follow-ups, want 2", n)
	}
	tagCalls := s.Platform.Calls(wechattest.PathBatchTagging)

	var erased struct {
		Total        int  `json:"total"`
		ErasedMarker bool `json:"erased_marker"`
	}
	if res := call(t, "DELETE", front.URL+"/users/"+openid, "", &erased); res.StatusCode != 200 || erased.Total == 0 || !erased.ErasedMarker {
		t.Fatalf("erase: %d %+v", res.StatusCode, erased)
	}
	if err := s.Redeliver(ctx); err != nil {
		t.Fatal(err)
	}
	if err := s.StreamIdle(ctx); err != nil {
		t.Fatal(err)
	}
	if n := len(s.Platform.Messages(openid)); n != 2 {
		t.Errorf("after the erasure the follower has %d follow-ups, want the 2 from before", n)
	}
	if n := s.Platform.Calls(wechattest.PathBatchTagging); n != tagCalls {
		t.Errorf("batchtagging called %d times after the erasure", n-tagCalls)
	}
	if events := publishedScans(t, s.PublishedEvents); len(events) != 1 {
		t.Errorf("%d events published in all, want the 1 from before the erasure", len(events))
	}
	db, err := s.DB.Client(ctx)
	if err != nil {
		t.Fatal(err)
	}
	out, err := db.Query(ctx, &dynamodb.QueryInput{
		TableName:                 aws.String(s.Tables["EventsTable"]),
		KeyConditionExpression:    aws.String("pk = :pk"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":pk": &types.AttributeValueMemberS{Value: "user#" + openid}},
		ConsistentRead:            aws.Bool(true),
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, it := range out.Items {
		if sk, ok := it["sk"].(*types.AttributeValueMemberS); ok {
			t.Errorf("the erased partition holds %s again", sk.Value)
		}
	}
	if dl, err := s.DeadLetters(ctx); err != nil || len(dl) != 0 {
		t.Errorf("dead letters %+v, %v; want none", dl, err)
	}
}
