package wechat

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
)

// Limits of the user tag API (§12).
const (
	// MaxTagNameLen is the longest tag name, in bytes (45158 beyond): ten
	// Chinese characters.
	MaxTagNameLen = 30
	// MaxTagsPerAccount is how many tags an account may create (45056
	// beyond). WeChat's reserved tags do not count.
	MaxTagsPerAccount = 100
	// MaxTagsPerUser is how many tags one follower may hold (45059 beyond).
	MaxTagsPerUser = 20
	// MaxBatchTagging is the most openids one batchtagging call takes
	// (40032 beyond).
	MaxBatchTagging = 50
)

// Tag is a user tag of the account.
type Tag struct {
	ID   int64  `json:"id"`
	Name string `json:"name"`
	// Count is the number of followers holding the tag, as tags/get
	// reports it; tags/create does not give it (0).
	Count int64 `json:"count"`
}

// ValidateTagName checks a tag name against §12 before it is sent: 1 to
// MaxTagNameLen bytes, and nothing encoding/json would write as a \u
// escape (§9). CreateTag calls it; callers that store names may call it
// when a name is entered, so that a bad one is refused at once.
func ValidateTagName(name string) error {
	if name == "" || len(name) > MaxTagNameLen {
		return fmt.Errorf("%w: tag name of %d bytes, want 1..%d", ErrInvalidRequest, len(name), MaxTagNameLen)
	}
	if err := checkJSONText(name, false); err != nil {
		return fmt.Errorf("%w: tag name %v", ErrInvalidRequest, err)
	}
	return nil
}

// CreateTag creates a user tag: POST /cgi-bin/tags/create?access_token=…
// with {"tag":{"name":"北京海报"}}, and returns the tag WeChat made (its id
// and name; Count 0).
//
// Errors: 45157 when a tag of that name exists (IsTagNameTaken: find its
// id with Tags), 45158 for a name too long, 45056 when the account has
// MaxTagsPerAccount tags (IsAccountTagLimit). An invalid name fails with
// ErrInvalidRequest before any request.
//
// Transient failures are retried. That is safe although the call is not
// idempotent, because names are unique: a retry after a success whose
// answer was lost cannot make a second tag; it gets 45157, and the caller
// that treats 45157 as "look it up" (as it must anyway, for a tag another
// process created first) ends with the one tag.
func (c *Client) CreateTag(ctx context.Context, accessToken, name string) (Tag, error) {
	if accessToken == "" {
		return Tag{}, fmt.Errorf("%w: empty access token", ErrInvalidRequest)
	}
	if err := ValidateTagName(name); err != nil {
		return Tag{}, err
	}
	var b struct {
		Tag struct {
			Name string `json:"name"`
		} `json:"tag"`
	}
	b.Tag.Name = name
	body, err := encodeJSON(b)
	if err != nil {
		return Tag{}, err
	}
	var answer struct {
		Tag *Tag `json:"tag"`
	}
	if err := c.call(ctx, c.tokenRequest(http.MethodPost, pathTagsCreate, accessToken, body, retryTransient), &answer); err != nil {
		return Tag{}, err
	}
	if answer.Tag == nil || answer.Tag.ID <= 0 || answer.Tag.Name == "" {
		return Tag{}, fmt.Errorf("%w: no tag id or name in a success answer", ErrInvalidResponse)
	}
	return Tag{ID: answer.Tag.ID, Name: answer.Tag.Name}, nil
}

// Tags lists the account's tags with their follower counts:
// GET /cgi-bin/tags/get?access_token=…. The list includes WeChat's
// reserved tags (ids 0 to 2, such as 2 "星标组"), so look tags up by name,
// never by position. Transient failures are retried.
func (c *Client) Tags(ctx context.Context, accessToken string) ([]Tag, error) {
	if accessToken == "" {
		return nil, fmt.Errorf("%w: empty access token", ErrInvalidRequest)
	}
	var answer struct {
		Tags *[]Tag `json:"tags"`
	}
	if err := c.call(ctx, c.tokenRequest(http.MethodGet, pathTagsGet, accessToken, nil, retryTransient), &answer); err != nil {
		return nil, err
	}
	if answer.Tags == nil {
		return nil, fmt.Errorf("%w: no tags in a success answer", ErrInvalidResponse)
	}
	return *answer.Tags, nil
}

// BatchTag gives tag tagID to the followers openids:
// POST /cgi-bin/tags/members/batchtagging?access_token=… with
// {"openid_list":["o…",…],"tagid":134}.
//
// openids must hold 1 to MaxBatchTagging non-empty openids; the client
// refuses other lists with ErrInvalidRequest before sending (split larger
// groups). Errors: 45159 unknown tag (IsUnknownTag), 45059 a user would
// exceed MaxTagsPerUser tags (IsUserTagLimit), 40003 or 49003 a bad openid
// (IsInvalidOpenID); WeChat does not say which openid, and the call then
// tags no one.
//
// Tagging a follower who holds the tag already is no error, so the call is
// idempotent and transient failures are retried.
func (c *Client) BatchTag(ctx context.Context, accessToken string, tagID int64, openids []string) error {
	if accessToken == "" {
		return fmt.Errorf("%w: empty access token", ErrInvalidRequest)
	}
	if len(openids) == 0 || len(openids) > MaxBatchTagging {
		return fmt.Errorf("%w: batchtagging takes 1..%d openids, got %d", ErrInvalidRequest, MaxBatchTagging, len(openids))
	}
	if tagID < 0 {
		return fmt.Errorf("%w: tag id %d", ErrInvalidRequest, tagID)
	}
	for i, o := range openids {
		if err := checkOpenID(o); err != nil {
			return fmt.Errorf("%w: openid %d: %v", ErrInvalidRequest, i, err)
		}
	}
	body, err := encodeJSON(struct {
		OpenIDList []string `json:"openid_list"`
		TagID      int64    `json:"tagid"`
	}{openids, tagID})
	if err != nil {
		return err
	}
	var answer struct{}
	return c.call(ctx, c.tokenRequest(http.MethodPost, pathBatchTagging, accessToken, body, retryTransient), &answer)
}

// tokenRequest is a call that carries the access token in its query.
func (c *Client) tokenRequest(method, path, accessToken string, body []byte, policy retryPolicy) request {
	return request{
		method: method, path: path,
		query: "access_token=" + url.QueryEscape(accessToken), body: body,
		retry: policy, token: accessToken,
	}
}

// checkOpenID refuses an openid that cannot be one: empty, longer than
// any WeChat issues, or holding what JSON would escape. Anything else is
// left to WeChat (40003), since the format of openids is not documented.
func checkOpenID(o string) error {
	if o == "" || len(o) > 128 {
		return fmt.Errorf("%d bytes, want 1..128", len(o))
	}
	if strings.ContainsAny(o, " \"\\") {
		return fmt.Errorf("%q holds a space, a quote or a backslash", o)
	}
	return checkJSONText(o, false)
}

// checkJSONText refuses what encoding/json would write as a \u escape:
// control characters (but newline, carriage return and tab when
// multiline, which it writes as \n, \r and \t), U+2028, U+2029, and
// invalid UTF-8 (written as \ufffd). WeChat answers 40033 to \uXXXX in a
// body (§9).
func checkJSONText(s string, multiline bool) error {
	for i, r := range s {
		switch {
		case r == '\uFFFD' && !strings.HasPrefix(s[i:], "\uFFFD"):
			return fmt.Errorf("is not valid UTF-8 at byte %d", i)
		case multiline && (r == '\n' || r == '\r' || r == '\t'):
		case r < 0x20 || r == '\u2028' || r == '\u2029':
			return fmt.Errorf("has %U at byte %d, which JSON would escape as \\u", r, i)
		}
	}
	return nil
}

// Paths of the tag API (§12).
const (
	pathTagsCreate   = "/cgi-bin/tags/create"
	pathTagsGet      = "/cgi-bin/tags/get"
	pathBatchTagging = "/cgi-bin/tags/members/batchtagging"
)
