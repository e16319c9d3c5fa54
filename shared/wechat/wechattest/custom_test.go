package wechattest_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"testing"
	"time"

	"wechatqr/shared/wechat"
	"wechatqr/shared/wechat/wechattest"
)

func textBody(to, content string) string {
	return `{"touser":"` + to + `","msgtype":"text","text":{"content":"` + content + `"}}`
}

// sendTexts sends texts to openid and returns the errcodes answered.
func sendTexts(t *testing.T, p *wechattest.Platform, tok, to string, texts ...string) []int {
	t.Helper()
	var codes []int
	for _, s := range texts {
		a := post(t, p, wechattest.PathCustomSend, tok, textBody(to, s))
		if a.status != http.StatusOK {
			t.Fatalf("HTTP %d %s", a.status, a.raw)
		}
		codes = append(codes, a.ErrCode)
	}
	return codes
}

func contents(ms []wechattest.ReceivedMessage) []string {
	var out []string
	for _, m := range ms {
		out = append(out, m.Content)
	}
	return out
}

// A scan opens a window of three messages for one minute; each new scan
// opens a fresh one.
func TestScanOpensAWindowOfThreeMessagesForAMinute(t *testing.T) {
	p, clock := startPlatform(t, wechattest.PlatformConfig{})
	tok := classicToken(t, p).AccessToken
	_, cbURL := newCallback(t, p)
	ticket := permanentCode(t, p, "poster-A")

	if got := sendTexts(t, p, tok, openid, "before"); !slices.Equal(got, []int{wechat.CodeInvalidOpenID}) {
		t.Errorf("before any follow: %v, want 40003", got)
	}
	push, err := p.Scan(t.Context(), cbURL, openid, ticket, wechattest.Plaintext)
	if err != nil || push.Event != "subscribe" {
		t.Fatalf("scan: %v, %q", err, push.Event)
	}
	start := clock.Now()
	if left, until := p.WindowLeft(openid); left != 3 || !until.Equal(start.Add(time.Minute)) {
		t.Errorf("WindowLeft = %d until %v, want 3 until a minute on", left, until)
	}
	clock.Advance(20 * time.Second)
	got := sendTexts(t, p, tok, openid, "one", "two", "three", "four")
	if want := []int{0, 0, 0, wechat.CodeResponseLimit}; !slices.Equal(got, want) {
		t.Errorf("four sends in a window: %v, want %v", got, want)
	}
	if left, _ := p.WindowLeft(openid); left != 0 {
		t.Errorf("WindowLeft = %d after three, want 0", left)
	}

	// A SCAN by the follower opens a new window; it closes at one minute.
	clock.Advance(time.Minute)
	if got := sendTexts(t, p, tok, openid, "late"); !slices.Equal(got, []int{wechat.CodeOutOfWindow}) {
		t.Errorf("after the minute: %v, want 45015", got)
	}
	push, err = p.Scan(t.Context(), cbURL, openid, ticket, wechattest.Plaintext)
	if err != nil || push.Event != "SCAN" {
		t.Fatalf("second scan: %v, %q", err, push.Event)
	}
	clock.Advance(time.Minute - time.Second)
	if got := sendTexts(t, p, tok, openid, "at 59 s"); !slices.Equal(got, []int{0}) {
		t.Errorf("at 59 s: %v, want success", got)
	}
	clock.Advance(time.Second)
	if got := sendTexts(t, p, tok, openid, "at 60 s"); !slices.Equal(got, []int{wechat.CodeOutOfWindow}) {
		t.Errorf("at 60 s: %v, want 45015", got)
	}

	ms := p.Messages(openid)
	if want := []string{"one", "two", "three", "at 59 s"}; !slices.Equal(contents(ms), want) {
		t.Fatalf("received %v, want %v", contents(ms), want)
	}
	for i, at := range []time.Time{start.Add(20 * time.Second), start.Add(20 * time.Second), start.Add(20 * time.Second), start.Add(140*time.Second - time.Second)} {
		if !ms[i].At.Equal(at) || ms[i].MsgType != "text" || string(ms[i].Body) != textBody(openid, ms[i].Content) {
			t.Errorf("message %d: %+v, want text at %v", i, ms[i], at)
		}
	}
}

func TestPlainFollowsOpenWindowsAndUnfollowsCloseThem(t *testing.T) {
	p, clock := startPlatform(t, wechattest.PlatformConfig{})
	tok := classicToken(t, p).AccessToken
	cb, cbURL := newCallback(t, p)

	push, err := p.Subscribe(t.Context(), cbURL, openid, wechattest.Safe)
	if err != nil || push.Event != "subscribe" || push.Status() != http.StatusOK {
		t.Fatalf("Subscribe: %v %+v", err, push)
	}
	if m := cb.messages(); len(m) != 1 || m[0].Event != "subscribe" || m[0].EventKey != "" || m[0].Ticket != "" {
		t.Errorf("callback got %+v, want a plain subscribe", m)
	}
	if !p.Following(openid) {
		t.Error("Subscribe did not make a follower")
	}
	if got := sendTexts(t, p, tok, openid, "welcome"); !slices.Equal(got, []int{0}) {
		t.Errorf("after a plain follow: %v, want success", got)
	}
	if _, err := p.Unsubscribe(t.Context(), cbURL, openid, wechattest.Safe); err != nil {
		t.Fatal(err)
	}
	if got := sendTexts(t, p, tok, openid, "after leaving"); !slices.Equal(got, []int{wechat.CodeOutOfWindow}) {
		t.Errorf("after unfollowing: %v, want 45015", got)
	}

	clock.Advance(time.Hour)
	const other = "oOtherFollower00000000000000"
	p.Follow(other)
	if got := sendTexts(t, p, tok, other, "a", "b", "c", "d"); !slices.Equal(got, []int{0, 0, 0, wechat.CodeResponseLimit}) {
		t.Errorf("after Follow: %v, want three then 45047", got)
	}
	if got := contents(p.Messages(openid)); !slices.Equal(got, []string{"welcome"}) {
		t.Errorf("%s received %v", openid, got)
	}
}

func TestWindowLimitsAreConfigurable(t *testing.T) {
	p, clock := startPlatform(t, wechattest.PlatformConfig{Limits: wechattest.Limits{WindowMessages: 5, Window: 48 * time.Hour}})
	p.Follow(openid)
	clock.Advance(47 * time.Hour)
	tok := classicToken(t, p).AccessToken
	got := sendTexts(t, p, tok, openid, "1", "2", "3", "4", "5", "6")
	if want := []int{0, 0, 0, 0, 0, wechat.CodeResponseLimit}; !slices.Equal(got, want) {
		t.Errorf("%v, want %v", got, want)
	}

	open, _ := startPlatform(t, wechattest.PlatformConfig{Limits: wechattest.Limits{WindowMessages: -1}})
	tok = classicToken(t, open).AccessToken
	open.Follow(openid)
	for i, code := range sendTexts(t, open, tok, openid, "1", "2", "3", "4", "5", "6", "7", "8", "9", "10") {
		if code != 0 {
			t.Fatalf("send %d: errcode %d with no count limit", i, code)
		}
	}
}

func TestCustomSendBodyRules(t *testing.T) {
	const stranger = "oNeverFollowed00000000000000"
	tests := []struct {
		name string
		body string
		code int
		seen string // ReceivedMessage.String on success
	}{
		{"text", textBody(openid, "hi & <bye>"), 0, `text "hi & <bye>"`},
		{"image", `{"touser":"` + openid + `","msgtype":"image","image":{"media_id":"M1"}}`, 0, "image M1"},
		{"news", `{"touser":"` + openid + `","msgtype":"news","news":{"articles":[{"title":"T","description":"D","url":"https://e.com/a","picurl":"https://e.com/p.jpg"}]}}`, 0, `news "T" (https://e.com/a)`},
		{"news with PicUrl is read as no picture", `{"touser":"` + openid + `","msgtype":"news","news":{"articles":[{"title":"T","url":"u","PicUrl":"p"}]}}`, 0, `news "T" (u)`},
		{"not JSON", `touser=` + openid, wechat.CodeDataFormat, ""},
		{"\\u escape", `{"touser":"` + openid + `","msgtype":"text","text":{"content":"\u4e2d"}}`, wechat.CodeInvalidCharset, ""},
		{"no touser", `{"msgtype":"text","text":{"content":"x"}}`, wechat.CodeInvalidOpenID, ""},
		{"malformed touser", textBody("o+bad", "x"), wechat.CodeInvalidOpenID, ""},
		{"touser never followed", textBody(stranger, "x"), wechat.CodeInvalidOpenID, ""},
		{"unknown msgtype", `{"touser":"` + openid + `","msgtype":"voice","voice":{"media_id":"M"}}`, wechat.CodeInvalidMessageType, ""},
		{"no msgtype", `{"touser":"` + openid + `","text":{"content":"x"}}`, wechat.CodeInvalidMessageType, ""},
		{"empty text", textBody(openid, ""), wechat.CodeEmptyContent, ""},
		{"text without its object", `{"touser":"` + openid + `","msgtype":"text"}`, wechat.CodeEmptyContent, ""},
		{"image without media_id", `{"touser":"` + openid + `","msgtype":"image","image":{}}`, wechat.CodeInvalidMediaID, ""},
		{"news without articles", `{"touser":"` + openid + `","msgtype":"news","news":{"articles":[]}}`, wechat.CodeEmptyNews, ""},
		{"news of two articles", `{"touser":"` + openid + `","msgtype":"news","news":{"articles":[{"title":"a"},{"title":"b"}]}}`, wechat.CodeArticleLimit, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, _ := startPlatform(t, wechattest.PlatformConfig{})
			tok := classicToken(t, p).AccessToken
			p.Follow(openid)
			wantErrCode(t, post(t, p, wechattest.PathCustomSend, tok, tt.body), tt.code)
			ms := p.Messages(openid)
			if tt.code != 0 {
				if len(ms) != 0 {
					t.Errorf("a refused send was delivered: %v", ms)
				}
				if left, _ := p.WindowLeft(openid); left != 3 {
					t.Errorf("a refused send used the window: %d left", left)
				}
				return
			}
			if len(ms) != 1 || ms[0].String() != tt.seen || string(ms[0].Body) != tt.body {
				t.Errorf("received %v, want [%s]", ms, tt.seen)
			}
		})
	}
}

func TestNewsArticleKeepsEveryField(t *testing.T) {
	p, _ := startPlatform(t, wechattest.PlatformConfig{})
	tok := classicToken(t, p).AccessToken
	p.Follow(openid)
	wantErrCode(t, post(t, p, wechattest.PathCustomSend, tok,
		`{"touser":"`+openid+`","msgtype":"news","news":{"articles":[{"title":"T","description":"D","url":"https://e.com/a?x=1&y=2","picurl":"https://e.com/p.jpg"}]}}`), 0)
	want := wechat.Article{Title: "T", Description: "D", URL: "https://e.com/a?x=1&y=2", PicURL: "https://e.com/p.jpg"}
	if ms := p.Messages(openid); len(ms) != 1 || ms[0].Article != want {
		t.Errorf("received %+v, want %+v", ms, want)
	}
}

func TestFaultedCustomSendDeliversNothing(t *testing.T) {
	p, _ := startPlatform(t, wechattest.PlatformConfig{})
	tok := classicToken(t, p).AccessToken
	p.Follow(openid)
	p.FailNext(wechattest.PathCustomSend, 1, wechattest.ErrCodeFault(wechat.CodeOutOfWindow))
	p.FailNext(wechattest.PathCustomSend, 1, wechattest.StatusFault(http.StatusServiceUnavailable))
	got := sendTexts(t, p, tok, openid, "faulted")
	if !slices.Equal(got, []int{wechat.CodeOutOfWindow}) {
		t.Errorf("%v, want the injected 45015", got)
	}
	if a := post(t, p, wechattest.PathCustomSend, tok, textBody(openid, "503")); a.status != http.StatusServiceUnavailable {
		t.Errorf("HTTP %d, want 503", a.status)
	}
	if got := sendTexts(t, p, tok, openid, "real"); !slices.Equal(got, []int{0}) {
		t.Errorf("%v after the faults, want success", got)
	}
	if got := contents(p.Messages(openid)); !slices.Equal(got, []string{"real"}) {
		t.Errorf("received %v, want only the unfaulted message", got)
	}
	log := p.CallLog(wechattest.PathCustomSend)
	if len(log) != 3 || !log[0].Fault || log[0].ErrCode != wechat.CodeOutOfWindow || !log[1].Fault || log[1].Status != 503 || log[2].Fault {
		t.Errorf("call log %+v", log)
	}
}

func TestReceivedMessageString(t *testing.T) {
	tests := []struct {
		m    wechattest.ReceivedMessage
		want string
	}{
		{wechattest.ReceivedMessage{MsgType: "text", Content: "a\nb"}, `text "a\nb"`},
		{wechattest.ReceivedMessage{MsgType: "image", MediaID: "M"}, "image M"},
		{wechattest.ReceivedMessage{MsgType: "news", Article: wechat.Article{Title: "T", URL: "https://e.com"}}, `news "T" (https://e.com)`},
	}
	for _, tt := range tests {
		if got := fmt.Sprint(tt.m); got != tt.want {
			t.Errorf("String() = %s, want %s", got, tt.want)
		}
	}
}

func TestReceivedMessageJSONLeavesOutTheBody(t *testing.T) {
	m := wechattest.ReceivedMessage{At: time.Date(2026, 12, 1, 2, 0, 0, 0, time.UTC), MsgType: "text", Content: "hi", Body: []byte("{}")}
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"at":"2026-12-01T02:00:00Z","msgtype":"text","content":"hi"}`; string(b) != want {
		t.Errorf("JSON %s, want %s", b, want)
	}
}
