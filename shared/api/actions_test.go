package api_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"wechatqr/shared/api"
	"wechatqr/shared/wechat/wechattest"
)

// actionsJSON is the part of a code's view that its actions fill.
type actionsJSON struct {
	Scene     string            `json:"scene"`
	Ticket    string            `json:"ticket"`
	Tag       string            `json:"tag"`
	Followups []json.RawMessage `json:"followups"`
	Actions   *struct {
		Tagged           *int64 `json:"tagged"`
		TagFailed        *int64 `json:"tag_failed"`
		FollowupsSent    *int64 `json:"followups_sent"`
		FollowupsSkipped *int64 `json:"followups_skipped"`
		FollowupsFailed  *int64 `json:"followups_failed"`
	} `json:"actions"`
}

const twoFollowups = `[{"type":"text","content":"Thanks for scanning"},{"type":"news","articles":[{"title":"Coupon","url":"https://example.com/c?a=1&b=2","pic_url":"https://example.com/c.png"}]}]`

func TestCreateWithActionsShowsThemAndTheirCounts(t *testing.T) {
	s := newStack(t, api.Config{})
	var created actionsJSON
	w := s.do(t, "POST", "/qrcodes", `{"scene":"poster-bj","permanent":true,"tag":"北京海报","followups":`+twoFollowups+`}`, &created)
	if w.Code != http.StatusCreated || created.Tag != "北京海报" || len(created.Followups) != 2 {
		t.Fatalf("create: %d %s", w.Code, w.Body)
	}
	var got actionsJSON
	if w := s.do(t, "GET", "/qrcodes/poster-bj", "", &got); w.Code != 200 {
		t.Fatalf("GET: %d %s", w.Code, w.Body)
	}
	if got.Tag != "北京海报" || len(got.Followups) != 2 || !strings.Contains(string(got.Followups[1]), `"url":"https://example.com/c?a=1&b=2"`) {
		t.Errorf("GET shows tag %q followups %s", got.Tag, got.Followups)
	}
	a := got.Actions
	if a == nil || a.Tagged == nil || a.TagFailed == nil || a.FollowupsSent == nil || a.FollowupsSkipped == nil || a.FollowupsFailed == nil ||
		*a.Tagged+*a.TagFailed+*a.FollowupsSent+*a.FollowupsSkipped+*a.FollowupsFailed != 0 {
		t.Errorf("GET actions = %s, want every count present and 0", w.Body)
	}

	// A code without actions shows them empty, not absent.
	var plain actionsJSON
	s.do(t, "POST", "/qrcodes", `{"scene":"plain","expire_seconds":600}`, &plain)
	if plain.Tag != "" || plain.Followups == nil || len(plain.Followups) != 0 {
		t.Errorf("a code without actions shows tag %q followups %v, want \"\" and []", plain.Tag, plain.Followups)
	}
}

func TestPutActionsReplacesBothAndClears(t *testing.T) {
	s := newStack(t, api.Config{})
	s.do(t, "POST", "/qrcodes", `{"scene":"riddle-1","permanent":true,"tag":"riddles","followups":`+twoFollowups+`}`, nil)

	var got actionsJSON
	w := s.do(t, "PUT", "/qrcodes/riddle-1/actions", `{"tag":"riddle fans","followups":[{"type":"image","media_id":"MEDIA"}]}`, &got)
	if w.Code != 200 || got.Tag != "riddle fans" || len(got.Followups) != 1 {
		t.Fatalf("replace: %d %s", w.Code, w.Body)
	}
	// Only followups given: the tag is cleared (the body replaces both).
	w = s.do(t, "PUT", "/qrcodes/riddle-1/actions", `{"followups":[{"type":"text","content":"one"}]}`, &got)
	if w.Code != 200 || got.Tag != "" || len(got.Followups) != 1 {
		t.Fatalf("followups only: %d %s", w.Code, w.Body)
	}
	w = s.do(t, "PUT", "/qrcodes/riddle-1/actions", `{"tag":""}`, &got)
	if w.Code != 200 || got.Tag != "" || len(got.Followups) != 0 {
		t.Fatalf("clear: %d %s", w.Code, w.Body)
	}
	s.do(t, "GET", "/qrcodes/riddle-1", "", &got)
	if got.Tag != "" || len(got.Followups) != 0 {
		t.Errorf("after clearing, GET shows tag %q followups %s", got.Tag, got.Followups)
	}
	var e errorJSON
	if w := s.do(t, "PUT", "/qrcodes/nope/actions", `{"tag":"x"}`, &e); w.Code != http.StatusNotFound || e.Error != "not_found" {
		t.Errorf("unknown scene: %d %+v, want 404", w.Code, e)
	}
}

func TestInvalidActionsWriteNothing(t *testing.T) {
	s := newStack(t, api.Config{})
	s.do(t, "POST", "/qrcodes", `{"scene":"riddle-1","permanent":true,"tag":"riddles"}`, nil)
	before := s.items(t)
	calls := s.platform.Calls(wechattest.PathQRCodeCreate)
	text := func(n int) string { return `{"type":"text","content":"` + strings.Repeat("x", n) + `"}` }
	tests := []struct{ name, tagAndFollowups, field string }{
		{"tag of 31 bytes", `"tag":"` + strings.Repeat("x", 31) + `"`, "tag: 31 bytes is over"},
		{"tag of 11 Chinese characters", `"tag":"北京海报北京海报北京海"`, "tag: 33 bytes is over"},
		{"tag with a newline", `"tag":"a\nb"`, "tag: the character"},
		{"tag with U+2028", `"tag":"a\u2028b"`, "tag: the character"},
		{"tag with spaces around", `"tag":" a"`, "tag: no leading"},
		{"tag not a string", `"tag":7`, "tag must be a string"},
		{"four followups", `"followups":[` + text(1) + `,` + text(1) + `,` + text(1) + `,` + text(1) + `]`, "followups: 4 messages"},
		{"followups not an array", `"followups":{"type":"text"}`, "followups must be an array"},
		{"followup without type", `"followups":[{"content":"x"}]`, "followups[0].type: required"},
		{"second followup too long", `"followups":[` + text(1) + `,` + text(2049) + `]`, "followups[1].content: 2049 bytes"},
		{"followup news without title", `"followups":[{"type":"news","articles":[{"url":"u"}]}]`, "followups[0].articles[0].title"},
		{"followup unknown field", `"followups":[{"type":"text","content":"x","colour":"red"}]`, `unknown field "colour"`},
	}
	for _, tt := range tests {
		t.Run("create "+tt.name, func(t *testing.T) {
			var e errorJSON
			w := s.do(t, "POST", "/qrcodes", `{"scene":"new-one",`+tt.tagAndFollowups+`}`, &e)
			if w.Code != http.StatusBadRequest || e.Error != "invalid" || !strings.Contains(e.Message, tt.field) {
				t.Errorf("got %d %+v, want 400 invalid mentioning %q", w.Code, e, tt.field)
			}
		})
		t.Run("put "+tt.name, func(t *testing.T) {
			var e errorJSON
			w := s.do(t, "PUT", "/qrcodes/riddle-1/actions", `{`+tt.tagAndFollowups+`}`, &e)
			if w.Code != http.StatusBadRequest || e.Error != "invalid" || !strings.Contains(e.Message, tt.field) {
				t.Errorf("got %d %+v, want 400 invalid mentioning %q", w.Code, e, tt.field)
			}
		})
	}
	for _, body := range []string{`{"tag":"a","reply":{"type":"text","content":"x"}}`, `{"tags":["a"]}`, `[]`, `{"tag":"a"`} {
		var e errorJSON
		if w := s.do(t, "PUT", "/qrcodes/riddle-1/actions", body, &e); w.Code != http.StatusBadRequest {
			t.Errorf("PUT %s: %d %+v, want 400", body, w.Code, e)
		}
	}
	var e errorJSON
	if w := s.do(t, "POST", "/qrcodes", `{"scene":"new-one","tag":""}`, &e); w.Code != http.StatusBadRequest || !strings.Contains(e.Message, "omit it for no tag") {
		t.Errorf(`create with "tag":"": %d %+v, want 400`, w.Code, e)
	}
	if n := s.items(t); n != before {
		t.Errorf("%d items after invalid requests, want %d", n, before)
	}
	if n := s.platform.Calls(wechattest.PathQRCodeCreate); n != calls {
		t.Errorf("%d qrcode/create calls for invalid requests, want %d", n-calls, 0)
	}
	var got actionsJSON
	s.do(t, "GET", "/qrcodes/riddle-1", "", &got)
	if got.Tag != "riddles" {
		t.Errorf("after refused updates the tag is %q, want riddles", got.Tag)
	}
}

func TestRecreatingAPermanentCodeWithOtherActionsIsAConflict(t *testing.T) {
	s := newStack(t, api.Config{})
	body := `{"scene":"poster-a","permanent":true,"tag":"A","followups":[{"type":"text","content":"hi"}]}`
	var first, again actionsJSON
	s.do(t, "POST", "/qrcodes", body, &first)
	if w := s.do(t, "POST", "/qrcodes", body, &again); w.Code != 200 || again.Ticket != first.Ticket {
		t.Errorf("same actions again: %d %s, want 200 and the stored code", w.Code, w.Body)
	}
	// Leaving the actions out repeats the create too: it names no other actions.
	if w := s.do(t, "POST", "/qrcodes", `{"scene":"poster-a","permanent":true}`, &again); w.Code != 200 {
		t.Errorf("without actions: %d %s, want 200", w.Code, w.Body)
	}
	for _, other := range []string{
		`{"scene":"poster-a","permanent":true,"tag":"B"}`,
		`{"scene":"poster-a","permanent":true,"followups":[]}`,
		`{"scene":"poster-a","permanent":true,"followups":[{"type":"text","content":"bye"}]}`,
	} {
		var e errorJSON
		if w := s.do(t, "POST", "/qrcodes", other, &e); w.Code != http.StatusConflict || !strings.Contains(e.Message, "PUT /qrcodes/poster-a/actions") {
			t.Errorf("%s: %d %+v, want 409 pointing at PUT .../actions", other, w.Code, e)
		}
	}
	if n := s.platform.Calls(wechattest.PathQRCodeCreate); n != 1 {
		t.Errorf("%d WeChat calls, want 1", n)
	}

	// A temporary re-issue keeps the actions it does not name.
	var tmp actionsJSON
	s.do(t, "POST", "/qrcodes", `{"scene":"store-7","expire_seconds":600,"tag":"stores","followups":[{"type":"text","content":"hi"}]}`, &tmp)
	w := s.do(t, "POST", "/qrcodes", `{"scene":"store-7","expire_seconds":600}`, &tmp)
	if w.Code != http.StatusCreated || tmp.Tag != "stores" || len(tmp.Followups) != 1 {
		t.Errorf("re-issue: %d %s, want the actions kept", w.Code, w.Body)
	}
	w = s.do(t, "POST", "/qrcodes", `{"scene":"store-7","expire_seconds":600,"tag":"shops","followups":[]}`, &tmp)
	if w.Code != http.StatusCreated || tmp.Tag != "shops" || len(tmp.Followups) != 0 {
		t.Errorf("re-issue with new actions: %d %s, want them replaced", w.Code, w.Body)
	}
}
