package wechattest_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"wechatqr/shared/wechat"
	"wechatqr/shared/wechat/wechattest"
)

// post sends body to one of §12's paths with access token tok.
func post(t *testing.T, p *wechattest.Platform, path, tok, body string) platformAnswer {
	t.Helper()
	return call(t, p, http.MethodPost, path+"?access_token="+url.QueryEscape(tok), body)
}

func createTagBody(name string) string {
	b, _ := json.Marshal(map[string]any{"tag": map[string]string{"name": name}})
	return string(b)
}

func batchBody(tagID int64, openids ...string) string {
	b, _ := json.Marshal(map[string]any{"openid_list": openids, "tagid": tagID})
	return string(b)
}

// followers returns n well-formed openids that follow p.
func followers(p *wechattest.Platform, prefix string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("o%s%0*d", prefix, 27-len(prefix), i)
	}
	p.Follow(out...)
	return out
}

func TestCreateTagAnswersSection12Shape(t *testing.T) {
	p, _ := startPlatform(t, wechattest.PlatformConfig{})
	tok := classicToken(t, p).AccessToken
	a := post(t, p, wechattest.PathTagsCreate, tok, `{"tag":{"name":"北京海报"}}`)
	wantErrCode(t, a, 0)
	if want := `{"tag":{"id":100,"name":"北京海报"}}`; string(a.raw) != want {
		t.Errorf("answer %s, want %s", a.raw, want)
	}
	wantErrCode(t, post(t, p, wechattest.PathTagsCreate, tok, `{"tag":{"name":"store-7"}}`), 0)
	got := call(t, p, http.MethodGet, wechattest.PathTagsGet+"?access_token="+url.QueryEscape(tok), "")
	wantErrCode(t, got, 0)
	want := `{"tags":[{"id":2,"name":"星标组","count":0},{"id":100,"name":"北京海报","count":0},{"id":101,"name":"store-7","count":0}]}`
	if string(got.raw) != want {
		t.Errorf("tags/get answered %s, want %s", got.raw, want)
	}
}

func TestCreateTagBodyRules(t *testing.T) {
	tests := []struct {
		name string
		body string
		code int
	}{
		{"30 bytes", createTagBody(strings.Repeat("海", 10)), 0},
		{"31 bytes", createTagBody(strings.Repeat("海", 10) + "a"), wechat.CodeTagNameTooLong},
		{"31 ASCII bytes", createTagBody(strings.Repeat("a", 31)), wechat.CodeTagNameTooLong},
		{"empty name", createTagBody(""), wechat.CodeTagNameInvalid},
		{"no name", `{"tag":{}}`, wechat.CodeTagNameInvalid},
		{"taken by the reserved tag", createTagBody("星标组"), wechat.CodeTagNameInvalid},
		{"taken by a created tag", createTagBody("existing"), wechat.CodeTagNameInvalid},
		{"case differs: another name", createTagBody("Existing"), 0},
		{"no tag object", `{"name":"x"}`, wechat.CodeDataFormat},
		{"not JSON", `name=x`, wechat.CodeDataFormat},
		{"\\u escape", `{"tag":{"name":"a\u0026b"}}`, wechat.CodeInvalidCharset},
		{"raw & < >", `{"tag":{"name":"a&b<c>"}}`, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, _ := startPlatform(t, wechattest.PlatformConfig{})
			tok := classicToken(t, p).AccessToken
			wantErrCode(t, post(t, p, wechattest.PathTagsCreate, tok, createTagBody("existing")), 0)
			before := p.Tags()
			a := post(t, p, wechattest.PathTagsCreate, tok, tt.body)
			wantErrCode(t, a, tt.code)
			after := p.Tags()
			if tt.code != 0 {
				if !slices.Equal(after, before) {
					t.Errorf("a refused create changed the tags: %v", after)
				}
				return
			}
			var got struct {
				Tag wechat.Tag `json:"tag"`
			}
			if err := json.Unmarshal(a.raw, &got); err != nil || got.Tag.ID != 101 || !slices.Contains(after, got.Tag) {
				t.Errorf("answer %s; tags %v", a.raw, after)
			}
		})
	}
}

func TestAccountHoldsAtMost100Tags(t *testing.T) {
	p, _ := startPlatform(t, wechattest.PlatformConfig{})
	tok := classicToken(t, p).AccessToken
	for i := range wechat.MaxTagsPerAccount {
		wantErrCode(t, post(t, p, wechattest.PathTagsCreate, tok, createTagBody(fmt.Sprint("tag-", i))), 0)
	}
	wantErrCode(t, post(t, p, wechattest.PathTagsCreate, tok, createTagBody("tag-100")), wechat.CodeAccountTagLimit)
	// The reserved 星标组 is listed but does not count.
	if n := len(p.Tags()); n != wechat.MaxTagsPerAccount+1 {
		t.Errorf("%d tags listed, want 100 and 星标组", n)
	}

	small, _ := startPlatform(t, wechattest.PlatformConfig{Limits: wechattest.Limits{TagsPerAccount: 1}})
	tok = classicToken(t, small).AccessToken
	wantErrCode(t, post(t, small, wechattest.PathTagsCreate, tok, createTagBody("a")), 0)
	wantErrCode(t, post(t, small, wechattest.PathTagsCreate, tok, createTagBody("b")), wechat.CodeAccountTagLimit)
}

func TestTagAndCustomEndpointsCheckTheToken(t *testing.T) {
	bodies := map[string]string{
		wechattest.PathTagsCreate:   createTagBody("x"),
		wechattest.PathTagsGet:      "",
		wechattest.PathBatchTagging: batchBody(2, openid),
		wechattest.PathCustomSend:   `{"touser":"` + openid + `","msgtype":"text","text":{"content":"hi"}}`,
	}
	for path, body := range bodies {
		t.Run(path, func(t *testing.T) {
			p, clock := startPlatform(t, wechattest.PlatformConfig{})
			old := classicToken(t, p).AccessToken
			cur := classicToken(t, p).AccessToken
			classicToken(t, p) // old dies at once
			p.Follow(openid)
			send := func(tok string) platformAnswer {
				method := http.MethodPost
				if path == wechattest.PathTagsGet {
					method = http.MethodGet
				}
				return call(t, p, method, path+"?access_token="+url.QueryEscape(tok), body)
			}
			wantErrCode(t, send(""), wechat.CodeAccessTokenMissing)
			wantErrCode(t, send("88_never-issued"), wechat.CodeInvalidAccessToken)
			wantErrCode(t, send(old), wechat.CodeInvalidCredential)
			clock.Advance(3 * time.Hour)
			wantErrCode(t, send(cur), wechat.CodeAccessTokenExpired)
			if path != wechattest.PathTagsGet {
				fresh := classicToken(t, p).AccessToken
				wantErrCode(t, call(t, p, http.MethodGet, path+"?access_token="+url.QueryEscape(fresh), ""), wechat.CodeRequirePOST)
			}
			if n := len(p.Tags()); n != 1 || len(p.UserTags(openid)) != 0 || len(p.Messages(openid)) != 0 {
				t.Errorf("refused calls changed state: %d tags, %v, %v", n, p.UserTags(openid), p.Messages(openid))
			}
		})
	}
}

func TestBatchTaggingRules(t *testing.T) {
	tests := []struct {
		name string
		// body builds the request from the tag created for the test and
		// the account's followers (60 of them, the first of whom holds 20
		// other tags; the second also holds the test's tag among its 20).
		body   func(tag int64, users []string) string
		code   int
		tagged []int // indexes of users who hold the tag afterwards
	}{
		{"one follower", func(tag int64, u []string) string { return batchBody(tag, u[2]) }, 0, []int{1, 2}},
		{"50 followers", func(tag int64, u []string) string { return batchBody(tag, u[2:52]...) }, 0, append([]int{1}, seq(2, 52)...)},
		{"51 openids", func(tag int64, u []string) string { return batchBody(tag, u[2:53]...) }, wechat.CodeTooManyOpenIDs, []int{1}},
		{"empty list", func(tag int64, u []string) string { return batchBody(tag) }, wechat.CodeTooManyOpenIDs, []int{1}},
		{"no list", func(tag int64, u []string) string { return fmt.Sprintf(`{"tagid":%d}`, tag) }, wechat.CodeTooManyOpenIDs, []int{1}},
		{"unknown tag", func(tag int64, u []string) string { return batchBody(tag+1, u[2]) }, wechat.CodeUnknownTag, []int{1}},
		{"no tagid", func(tag int64, u []string) string { return `{"openid_list":["` + u[2] + `"]}` }, wechat.CodeUnknownTag, []int{1}},
		{"reserved tag 0", func(tag int64, u []string) string { return batchBody(0, u[2]) }, wechat.CodeUnknownTag, []int{1}},
		{"reserved tag 1", func(tag int64, u []string) string { return batchBody(1, u[2]) }, wechat.CodeUnknownTag, []int{1}},
		{"malformed openid spoils the batch", func(tag int64, u []string) string { return batchBody(tag, u[2], "o bad") }, wechat.CodeInvalidOpenID, []int{1}},
		{"empty openid", func(tag int64, u []string) string { return batchBody(tag, u[2], "") }, wechat.CodeInvalidOpenID, []int{1}},
		{"65-byte openid", func(tag int64, u []string) string { return batchBody(tag, "o"+strings.Repeat("a", 64)) }, wechat.CodeInvalidOpenID, []int{1}},
		{"openid of another account", func(tag int64, u []string) string { return batchBody(tag, u[2], "oOfAnotherAccount") }, wechat.CodeOpenIDNotOfAccount, []int{1}},
		{"a user already at 20 tags", func(tag int64, u []string) string { return batchBody(tag, u[2], u[0]) }, wechat.CodeUserTagLimit, []int{1}},
		{"20 tags including this one: no error", func(tag int64, u []string) string { return batchBody(tag, u[1], u[2]) }, 0, []int{1, 2}},
		{"already tagged twice in a list", func(tag int64, u []string) string { return batchBody(tag, u[1], u[1], u[3]) }, 0, []int{1, 3}},
		{"not JSON", func(tag int64, u []string) string { return "openid_list=" + u[2] }, wechat.CodeDataFormat, []int{1}},
		{"\\u escape", func(tag int64, u []string) string { return fmt.Sprintf(`{"openid_list":["o\u0041"],"tagid":%d}`, tag) }, wechat.CodeInvalidCharset, []int{1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, _ := startPlatform(t, wechattest.PlatformConfig{})
			tok := classicToken(t, p).AccessToken
			users := followers(p, "b", 60)
			a := post(t, p, wechattest.PathTagsCreate, tok, createTagBody("poster"))
			wantErrCode(t, a, 0)
			const tag = 100
			for i := range wechat.MaxTagsPerUser {
				p.TagUsers(int64(1000+i), users[0])
			}
			for i := range wechat.MaxTagsPerUser - 1 {
				p.TagUsers(int64(1000+i), users[1])
			}
			p.TagUsers(tag, users[1])

			wantErrCode(t, post(t, p, wechattest.PathBatchTagging, tok, tt.body(tag, users)), tt.code)
			var got []int
			for i, u := range users {
				if slices.Contains(p.UserTags(u), tag) {
					got = append(got, i)
				}
			}
			if !slices.Equal(got, tt.tagged) {
				t.Errorf("users holding the tag: %v, want %v", got, tt.tagged)
			}
			if n := len(p.UserTags(users[0])); n != wechat.MaxTagsPerUser {
				t.Errorf("the full user holds %d tags, want 20", n)
			}
			tags := p.Tags()
			if tags[1].ID != tag || tags[1].Count != int64(len(tt.tagged)) {
				t.Errorf("tags/get state %v, want count %d", tags, len(tt.tagged))
			}
		})
	}
}

func seq(from, to int) []int {
	var out []int
	for i := from; i < to; i++ {
		out = append(out, i)
	}
	return out
}

func TestBatchTaggingAcceptsTheStarTagAndFormerFollowers(t *testing.T) {
	p, _ := startPlatform(t, wechattest.PlatformConfig{Limits: wechattest.Limits{TagsPerUser: 1}})
	tok := classicToken(t, p).AccessToken
	users := followers(p, "s", 2)
	cb, cbURL := newCallback(t, p)
	if _, err := p.Unsubscribe(t.Context(), cbURL, users[1], wechattest.Plaintext); err != nil {
		t.Fatal(err)
	}
	if len(cb.messages()) != 1 {
		t.Fatal("no unsubscribe push")
	}
	wantErrCode(t, post(t, p, wechattest.PathBatchTagging, tok, batchBody(2, users...)), 0)
	for _, u := range users {
		if got := p.UserTags(u); !slices.Equal(got, []int64{2}) {
			t.Errorf("%s holds %v, want [2]", u, got)
		}
	}
	if got := p.TagMembers(2); !slices.Equal(got, users) {
		t.Errorf("TagMembers(2) = %v, want %v", got, users)
	}
	// TagsPerUser 1: a second tag is one too many.
	wantErrCode(t, post(t, p, wechattest.PathTagsCreate, tok, createTagBody("second")), 0)
	wantErrCode(t, post(t, p, wechattest.PathBatchTagging, tok, batchBody(100, users[0])), wechat.CodeUserTagLimit)
}

func TestBatchTaggingCallLogCountsOpenIDs(t *testing.T) {
	p, _ := startPlatform(t, wechattest.PlatformConfig{})
	tok := classicToken(t, p).AccessToken
	users := followers(p, "l", 60)
	p.FailNext(wechattest.PathBatchTagging, 1, wechattest.ErrCodeFault(-1))
	wantErrCode(t, post(t, p, wechattest.PathBatchTagging, tok, batchBody(2, users[:50]...)), -1)
	wantErrCode(t, post(t, p, wechattest.PathBatchTagging, tok, batchBody(2, users[:50]...)), 0)
	wantErrCode(t, post(t, p, wechattest.PathBatchTagging, tok, batchBody(2, users[50:]...)), 0)
	wantErrCode(t, post(t, p, wechattest.PathBatchTagging, tok, batchBody(2, users...)), wechat.CodeTooManyOpenIDs)
	wantErrCode(t, post(t, p, wechattest.PathBatchTagging, tok, "garbage"), wechat.CodeDataFormat)
	var sizes []int
	var faults []bool
	for _, c := range p.CallLog(wechattest.PathBatchTagging) {
		sizes = append(sizes, c.OpenIDs)
		faults = append(faults, c.Fault)
	}
	if want := []int{50, 50, 10, 60, 0}; !slices.Equal(sizes, want) {
		t.Errorf("logged sizes %v, want %v", sizes, want)
	}
	if want := []bool{true, false, false, false, false}; !slices.Equal(faults, want) {
		t.Errorf("logged faults %v, want %v", faults, want)
	}
}

func TestFaultedTagCallsChangeNothing(t *testing.T) {
	p, _ := startPlatform(t, wechattest.PlatformConfig{})
	tok := classicToken(t, p).AccessToken
	users := followers(p, "f", 1)
	p.FailNext(wechattest.PathTagsCreate, 1, wechattest.StatusFault(http.StatusBadGateway))
	p.FailNext(wechattest.PathBatchTagging, 1, wechattest.ErrCodeFault(-1))
	p.FailNext(wechattest.PathTagsGet, 1, wechattest.ErrCodeFault(-1))
	if a := post(t, p, wechattest.PathTagsCreate, tok, createTagBody("x")); a.status != http.StatusBadGateway {
		t.Errorf("HTTP %d, want 502", a.status)
	}
	wantErrCode(t, post(t, p, wechattest.PathBatchTagging, tok, batchBody(2, users...)), -1)
	wantErrCode(t, call(t, p, http.MethodGet, wechattest.PathTagsGet+"?access_token="+url.QueryEscape(tok), ""), -1)
	if n := len(p.Tags()); n != 1 || len(p.UserTags(users[0])) != 0 {
		t.Errorf("faulted calls changed state: %v, %v", p.Tags(), p.UserTags(users[0]))
	}
}
