package wechat_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"

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
