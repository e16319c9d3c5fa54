package wechat_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"wechatqr/shared/wechat"
	"wechatqr/shared/wechat/wechattest"
)

// openids returns n well-formed openids, 28 characters like WeChat's.
func openids(prefix string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("o%s%0*d", prefix, 27-len(prefix), i)
	}
	return out
}

func TestCreateTagSendsSection12Body(t *testing.T) {
	p, c, _ := apiSetup(t, wechattest.PlatformConfig{})
	tok := apiToken(t, c)
	tag, err := c.CreateTag(context.Background(), tok, "北京海报&<春>")
	if err != nil {
		t.Fatalf("CreateTag: %v", err)
	}
	if tag.ID < 100 || tag.Name != "北京海报&<春>" || tag.Count != 0 {
		t.Errorf("got %+v, want a new id ≥ 100 and the name", tag)
	}
	log := p.CallLog(wechattest.PathTagsCreate)
	if len(log) != 1 {
		t.Fatalf("%d calls, want 1", len(log))
	}
	want := `{"tag":{"name":"北京海报&<春>"}}`
	if log[0].Method != http.MethodPost || string(log[0].Body) != want || log[0].Query.Get("access_token") != tok {
		t.Errorf("sent %s %s ?%d chars, want POST %s with the token", log[0].Method, log[0].Body, len(log[0].RawQuery), want)
	}
	tags, err := c.Tags(context.Background(), tok)
	if err != nil {
		t.Fatalf("Tags: %v", err)
	}
	if !slices.Contains(tags, wechat.Tag{ID: tag.ID, Name: tag.Name}) || !slices.Contains(tags, wechat.Tag{ID: 2, Name: "星标组"}) {
		t.Errorf("Tags = %+v, want the new tag and the reserved 星标组", tags)
	}
	if got := p.CallLog(wechattest.PathTagsGet); len(got) != 1 || got[0].Method != http.MethodGet || len(got[0].Body) != 0 {
		t.Errorf("tags/get calls %+v, want one GET without a body", got)
	}
}

func TestTagsCountsMembers(t *testing.T) {
	p, c, _ := apiSetup(t, wechattest.PlatformConfig{})
	tok := apiToken(t, c)
	ctx := context.Background()
	tag, err := c.CreateTag(ctx, tok, "poster")
	if err != nil {
		t.Fatal(err)
	}
	users := openids("count", 3)
	p.Follow(users...)
	if err := c.BatchTag(ctx, tok, tag.ID, users); err != nil {
		t.Fatalf("BatchTag: %v", err)
	}
	tags, err := c.Tags(ctx, tok)
	if err != nil {
		t.Fatal(err)
	}
	i := slices.IndexFunc(tags, func(x wechat.Tag) bool { return x.ID == tag.ID })
	if i < 0 || tags[i].Count != 3 || tags[i].Name != "poster" {
		t.Errorf("Tags = %+v, want poster with count 3", tags)
	}
}

func TestBatchTagSendsSection12Body(t *testing.T) {
	p, c, _ := apiSetup(t, wechattest.PlatformConfig{})
	tok := apiToken(t, c)
	ctx := context.Background()
	tag, err := c.CreateTag(ctx, tok, "store-7")
	if err != nil {
		t.Fatal(err)
	}
	users := openids("batch", wechat.MaxBatchTagging)
	p.Follow(users...)
	if err := c.BatchTag(ctx, tok, tag.ID, users); err != nil {
		t.Fatalf("BatchTag of 50: %v", err)
	}
	// Tagging again is no error: the call is idempotent.
	if err := c.BatchTag(ctx, tok, tag.ID, users[:2]); err != nil {
		t.Fatalf("BatchTag again: %v", err)
	}
	for _, u := range users {
		if got := p.UserTags(u); !slices.Equal(got, []int64{tag.ID}) {
			t.Fatalf("%s holds %v, want [%d]", u, got, tag.ID)
		}
	}
	log := p.CallLog(wechattest.PathBatchTagging)
	if len(log) != 2 || log[0].OpenIDs != 50 || log[1].OpenIDs != 2 {
		t.Fatalf("calls %d, want 2 of 50 and 2 openids", len(log))
	}
	want := fmt.Sprintf(`{"openid_list":["%s","%s"],"tagid":%d}`, users[0], users[1], tag.ID)
	if string(log[1].Body) != want {
		t.Errorf("sent %s, want %s", log[1].Body, want)
	}
}

func TestTagCallsRefuseBadInputWithoutSending(t *testing.T) {
	p, c, _ := apiSetup(t, wechattest.PlatformConfig{})
	tok := apiToken(t, c)
	ctx := context.Background()
	tests := []struct {
		name string
		call func() error
	}{
		{"empty name", func() error { _, err := c.CreateTag(ctx, tok, ""); return err }},
		{"31-byte name", func() error { _, err := c.CreateTag(ctx, tok, strings.Repeat("a", 31)); return err }},
		{"11 Chinese characters", func() error { _, err := c.CreateTag(ctx, tok, strings.Repeat("海", 11)); return err }},
		{"control character in name", func() error { _, err := c.CreateTag(ctx, tok, "a\x01b"); return err }},
		{"U+2028 in name", func() error { _, err := c.CreateTag(ctx, tok, "a\u2028b"); return err }},
		{"invalid UTF-8 in name", func() error { _, err := c.CreateTag(ctx, tok, "a\xffb"); return err }},
		{"no token, create", func() error { _, err := c.CreateTag(ctx, "", "x"); return err }},
		{"no token, get", func() error { _, err := c.Tags(ctx, ""); return err }},
		{"no openids", func() error { return c.BatchTag(ctx, tok, 100, nil) }},
		{"51 openids", func() error { return c.BatchTag(ctx, tok, 100, openids("x", 51)) }},
		{"empty openid", func() error { return c.BatchTag(ctx, tok, 100, []string{"oA", ""}) }},
		{"openid with a quote", func() error { return c.BatchTag(ctx, tok, 100, []string{`o"A`}) }},
		{"negative tag id", func() error { return c.BatchTag(ctx, tok, -1, []string{"oA"}) }},
		{"no token, batch", func() error { return c.BatchTag(ctx, "", 100, []string{"oA"}) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.call(); !errors.Is(err, wechat.ErrInvalidRequest) {
				t.Errorf("err = %v, want ErrInvalidRequest", err)
			}
		})
	}
	for _, path := range []string{wechattest.PathTagsCreate, wechattest.PathTagsGet, wechattest.PathBatchTagging} {
		if n := p.Calls(path); n != 0 {
			t.Errorf("%d calls to %s; refused requests must not be sent", n, path)
		}
	}
}

func TestTagNameOfThirtyBytesIsSent(t *testing.T) {
	_, c, _ := apiSetup(t, wechattest.PlatformConfig{})
	tok := apiToken(t, c)
	name := strings.Repeat("海", 10) // 30 bytes
	if tag, err := c.CreateTag(context.Background(), tok, name); err != nil || tag.Name != name {
		t.Fatalf("CreateTag(10 Chinese characters) = %+v, %v", tag, err)
	}
}

// The platform's own answers to §12's limits reach the caller as typed
// errors after a single call: none of them is worth repeating.
func TestTagLimitsAreTypedAndNotRetried(t *testing.T) {
	ctx := context.Background()
	stranger := "oStrangerOfAnotherAppID00000"
	tests := []struct {
		name string
		// setup prepares the platform and returns the call to make.
		setup func(t *testing.T, p *wechattest.Platform, c *wechat.Client, tok string) (path string, call func() error)
		code  int
		is    func(error) bool
	}{
		{"duplicate name", func(t *testing.T, p *wechattest.Platform, c *wechat.Client, tok string) (string, func() error) {
			mustTag(t, c, tok, "北京海报")
			p.Reset()
			return wechattest.PathTagsCreate, func() error { _, err := c.CreateTag(ctx, tok, "北京海报"); return err }
		}, wechat.CodeTagNameInvalid, wechat.IsTagNameTaken},
		{"the reserved 星标组", func(t *testing.T, p *wechattest.Platform, c *wechat.Client, tok string) (string, func() error) {
			return wechattest.PathTagsCreate, func() error { _, err := c.CreateTag(ctx, tok, "星标组"); return err }
		}, wechat.CodeTagNameInvalid, wechat.IsTagNameTaken},
		{"the 101st tag", func(t *testing.T, p *wechattest.Platform, c *wechat.Client, tok string) (string, func() error) {
			for i := range wechat.MaxTagsPerAccount {
				mustTag(t, c, tok, fmt.Sprintf("tag-%d", i))
			}
			p.Reset()
			return wechattest.PathTagsCreate, func() error { _, err := c.CreateTag(ctx, tok, "one too many"); return err }
		}, wechat.CodeAccountTagLimit, wechat.IsAccountTagLimit},
		{"unknown tag", func(t *testing.T, p *wechattest.Platform, c *wechat.Client, tok string) (string, func() error) {
			p.Follow(openids("u", 1)...)
			return wechattest.PathBatchTagging, func() error { return c.BatchTag(ctx, tok, 134, openids("u", 1)) }
		}, wechat.CodeUnknownTag, wechat.IsUnknownTag},
		{"the reserved tag 1", func(t *testing.T, p *wechattest.Platform, c *wechat.Client, tok string) (string, func() error) {
			p.Follow(openids("u", 1)...)
			return wechattest.PathBatchTagging, func() error { return c.BatchTag(ctx, tok, 1, openids("u", 1)) }
		}, wechat.CodeUnknownTag, wechat.IsUnknownTag},
		{"a user with 20 tags", func(t *testing.T, p *wechattest.Platform, c *wechat.Client, tok string) (string, func() error) {
			users := openids("full", 3)
			p.Follow(users...)
			for i := range wechat.MaxTagsPerUser {
				p.TagUsers(int64(1000+i), users[1])
			}
			tag := mustTag(t, c, tok, "21st")
			p.Reset()
			return wechattest.PathBatchTagging, func() error { return c.BatchTag(ctx, tok, tag.ID, users) }
		}, wechat.CodeUserTagLimit, wechat.IsUserTagLimit},
		{"an openid of another account", func(t *testing.T, p *wechattest.Platform, c *wechat.Client, tok string) (string, func() error) {
			p.Follow(openids("u", 1)...)
			tag := mustTag(t, c, tok, "t")
			p.Reset()
			return wechattest.PathBatchTagging, func() error { return c.BatchTag(ctx, tok, tag.ID, append(openids("u", 1), stranger)) }
		}, wechat.CodeOpenIDNotOfAccount, wechat.IsInvalidOpenID},
		{"a malformed openid", func(t *testing.T, p *wechattest.Platform, c *wechat.Client, tok string) (string, func() error) {
			tag := mustTag(t, c, tok, "t")
			p.Reset()
			return wechattest.PathBatchTagging, func() error { return c.BatchTag(ctx, tok, tag.ID, []string{"o.not/an=openid"}) }
		}, wechat.CodeInvalidOpenID, wechat.IsInvalidOpenID},
		{"too many openids, from WeChat", func(t *testing.T, p *wechattest.Platform, c *wechat.Client, tok string) (string, func() error) {
			p.FailNext(wechattest.PathBatchTagging, 1, wechattest.ErrCodeFault(wechat.CodeTooManyOpenIDs))
			return wechattest.PathBatchTagging, func() error { return c.BatchTag(ctx, tok, 2, openids("u", 1)) }
		}, wechat.CodeTooManyOpenIDs, wechat.IsTooManyOpenIDs},
		{"unauthorized account", func(t *testing.T, p *wechattest.Platform, c *wechat.Client, tok string) (string, func() error) {
			p.FailNext(wechattest.PathTagsCreate, 1, wechattest.ErrCodeFault(wechat.CodeUnauthorized))
			return wechattest.PathTagsCreate, func() error { _, err := c.CreateTag(ctx, tok, "t"); return err }
		}, wechat.CodeUnauthorized, wechat.IsUnauthorized},
		{"unknown token, create", func(t *testing.T, p *wechattest.Platform, c *wechat.Client, tok string) (string, func() error) {
			return wechattest.PathTagsCreate, func() error { _, err := c.CreateTag(ctx, "88_not-issued", "t"); return err }
		}, wechat.CodeInvalidAccessToken, wechat.IsTokenError},
		{"unknown token, get", func(t *testing.T, p *wechattest.Platform, c *wechat.Client, tok string) (string, func() error) {
			return wechattest.PathTagsGet, func() error { _, err := c.Tags(ctx, "88_not-issued"); return err }
		}, wechat.CodeInvalidAccessToken, wechat.IsTokenError},
		{"superseded token, batch", func(t *testing.T, p *wechattest.Platform, c *wechat.Client, tok string) (string, func() error) {
			p.Follow(openids("u", 1)...)
			apiToken(t, c)
			apiToken(t, c) // the third token in a row ends the first at once
			return wechattest.PathBatchTagging, func() error { return c.BatchTag(ctx, tok, 2, openids("u", 1)) }
		}, wechat.CodeInvalidCredential, wechat.IsTokenError},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, c, sleeps := apiSetup(t, wechattest.PlatformConfig{})
			tok := apiToken(t, c)
			path, call := tt.setup(t, p, c, tok)
			before := p.Calls(path)
			tagsBefore := p.Tags()
			err := call()
			var apiErr *wechat.APIError
			if !errors.As(err, &apiErr) || apiErr.Code != tt.code {
				t.Fatalf("err = %v, want *APIError %d", err, tt.code)
			}
			if !tt.is(err) {
				t.Errorf("the helper for %d does not recognise it", tt.code)
			}
			if n := p.Calls(path) - before; n != 1 || len(sleeps.got()) != 0 {
				t.Errorf("%d calls and %d waits, want 1 and 0", n, len(sleeps.got()))
			}
			if !slices.Equal(p.Tags(), tagsBefore) {
				t.Errorf("a refused call changed the tags: %v, was %v", p.Tags(), tagsBefore)
			}
		})
	}
}

// Tag calls are safe to repeat, so every transient failure is retried.
func TestTagCallsRetryTransientFailures(t *testing.T) {
	tests := []struct {
		name   string
		path   string
		faults []wechattest.Fault
	}{
		{"create after -1", wechattest.PathTagsCreate, []wechattest.Fault{wechattest.ErrCodeFault(-1)}},
		{"create after 502, 503", wechattest.PathTagsCreate, []wechattest.Fault{wechattest.StatusFault(502), wechattest.StatusFault(503)}},
		{"create after a hang", wechattest.PathTagsCreate, []wechattest.Fault{wechattest.HangFault(0)}},
		{"get after -1", wechattest.PathTagsGet, []wechattest.Fault{wechattest.ErrCodeFault(-1)}},
		{"get after 504", wechattest.PathTagsGet, []wechattest.Fault{wechattest.StatusFault(504)}},
		{"batch after -1, 500", wechattest.PathBatchTagging, []wechattest.Fault{wechattest.ErrCodeFault(-1), wechattest.StatusFault(500)}},
		{"batch after a hang", wechattest.PathBatchTagging, []wechattest.Fault{wechattest.HangFault(0)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, c, _ := apiSetup(t, wechattest.PlatformConfig{}, wechat.WithAttemptTimeout(200*time.Millisecond))
			tok := platformToken(t, p)
			users := openids("r", 2)
			p.Follow(users...)
			star := int64(2)
			for _, f := range tt.faults {
				p.FailNext(tt.path, 1, f)
			}
			var err error
			switch tt.path {
			case wechattest.PathTagsCreate:
				_, err = c.CreateTag(context.Background(), tok, "retried")
			case wechattest.PathTagsGet:
				_, err = c.Tags(context.Background(), tok)
			default:
				err = c.BatchTag(context.Background(), tok, star, users)
			}
			if err != nil {
				t.Fatalf("err = %v, want success after the retries", err)
			}
			if n, want := p.Calls(tt.path), len(tt.faults)+1; n != want {
				t.Errorf("%d calls, want %d", n, want)
			}
		})
	}
}

// A tags/create whose answer was lost is retried; the retry finds the
// name taken, and the caller finds the one tag by name: never two tags.
func TestCreateTagRetryAfterALostAnswerMakesOneTag(t *testing.T) {
	// A 502 after the platform created the tag: a proxy lost the answer.
	p, c, _ := lossySetup(t, wechattest.PlatformConfig{}, wechattest.PathTagsCreate, http.StatusBadGateway)
	tok := apiToken(t, c)
	_, err := c.CreateTag(context.Background(), tok, "poster-A")
	if !wechat.IsTagNameTaken(err) {
		t.Fatalf("err = %v, want 45157 from the retry", err)
	}
	n := 0
	for _, tag := range p.Tags() {
		if tag.Name == "poster-A" {
			n++
		}
	}
	if n != 1 {
		t.Errorf("%d tags named poster-A, want 1", n)
	}
}

func mustTag(t *testing.T, c *wechat.Client, tok, name string) wechat.Tag {
	t.Helper()
	tag, err := c.CreateTag(context.Background(), tok, name)
	if err != nil {
		t.Fatalf("CreateTag(%q): %v", name, err)
	}
	return tag
}
