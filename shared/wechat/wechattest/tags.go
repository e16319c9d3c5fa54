package wechattest

import (
	"encoding/json"
	"net/http"
	"slices"
	"time"

	"wechatqr/shared/wechat"
)

// tagRecord is a tag of the account.
type tagRecord struct {
	id       int64
	name     string
	reserved bool
}

// firstTagID is the id of the first tag an account creates. WeChat
// reserves 0 to 2; its own samples show created tags at 100 and above
// (§12's 134), so the Platform starts there, and a client that confuses
// ids with positions finds out.
const firstTagID = 100

// starTagID is the reserved tag tags/get lists (§12's sample:
// {"id":2,"name":"星标组","count":0}).
const (
	starTagID   = 2
	starTagName = "星标组"
)

// resetTags sets the tag state of a new account: the reserved 星标组 only.
// Callers hold p.mu (or own p).
func (p *Platform) resetTags() {
	p.tags = map[int64]*tagRecord{starTagID: {id: starTagID, name: starTagName, reserved: true}}
	p.tagOrder = []int64{starTagID}
	p.nextTagID = firstTagID
}

// tagCount is the number of users holding tag id. Callers hold p.mu.
func (p *Platform) tagCount(id int64) int64 {
	var n int64
	for _, held := range p.userTags {
		if held[id] {
			n++
		}
	}
	return n
}

// Tags returns the account's tags as tags/get lists them: the reserved
// 星标组 (id 2) first, then the created tags in order, with their counts.
func (p *Platform) Tags() []wechat.Tag {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.tagList()
}

func (p *Platform) tagList() []wechat.Tag {
	out := make([]wechat.Tag, 0, len(p.tagOrder))
	for _, id := range p.tagOrder {
		t := p.tags[id]
		out = append(out, wechat.Tag{ID: t.id, Name: t.name, Count: p.tagCount(id)})
	}
	return out
}

// UserTags returns the ids of the tags openid holds, in ascending order.
func (p *Platform) UserTags(openid string) []int64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make([]int64, 0, len(p.userTags[openid]))
	for id := range p.userTags[openid] {
		out = append(out, id)
	}
	slices.Sort(out)
	return out
}

// TagMembers returns the openids holding tag id, sorted.
func (p *Platform) TagMembers(id int64) []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []string
	for o, held := range p.userTags {
		if held[id] {
			out = append(out, o)
		}
	}
	slices.Sort(out)
	return out
}

// TagUsers gives tag id to openids directly, without a call and without
// checks, so that a test can set up a follower who holds many tags.
func (p *Platform) TagUsers(id int64, openids ...string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, o := range openids {
		if p.userTags[o] == nil {
			p.userTags[o] = map[int64]bool{}
		}
		p.userTags[o][id] = true
	}
}

// serveCreateTag is POST /cgi-bin/tags/create?access_token=… (§12). Its
// checks, in order: method (43002), token, JSON (47001), \u escapes
// (40033), the name: empty or taken 45157, longer than 30 bytes 45158,
// then the account's cap (45056).
//
// Choices where §12 is silent: an empty or missing name answers 45157,
// whose meaning WeChat gives as "invalid tag name (it may not duplicate
// another)"; names are compared exactly, and the reserved 星标组 is taken;
// the cap counts created tags, not the reserved one.
func (p *Platform) serveCreateTag(r *http.Request, body []byte) response {
	return p.withAccessToken(r, []string{http.MethodPost}, func(time.Time) response {
		var req struct {
			Tag *struct {
				Name string `json:"name"`
			} `json:"tag"`
		}
		code := decodeBody(body, &req)
		if req.Tag == nil {
			// A body without the tag object is malformed, whatever else is wrong with it.
			code = wechat.CodeDataFormat
		}
		if code != 0 {
			return errcodeResponse(code)
		}
		name := req.Tag.Name
		switch {
		case name == "":
			return errcodeResponse(wechat.CodeTagNameInvalid)
		case len(name) > wechat.MaxTagNameLen:
			return errcodeResponse(wechat.CodeTagNameTooLong)
		}
		created := 0
		for _, t := range p.tags {
			if t.name == name {
				return errcodeResponse(wechat.CodeTagNameInvalid)
			}
			if !t.reserved {
				created++
			}
		}
		if p.limits.TagsPerAccount >= 0 && created >= p.limits.TagsPerAccount {
			return errcodeResponse(wechat.CodeAccountTagLimit)
		}
		t := &tagRecord{id: p.nextTagID, name: name}
		p.nextTagID++
		p.tags[t.id] = t
		p.tagOrder = append(p.tagOrder, t.id)
		type tag struct {
			ID   int64  `json:"id"`
			Name string `json:"name"`
		}
		return jsonResponse(struct {
			Tag tag `json:"tag"`
		}{tag{t.id, t.name}})
	})
}

// serveTags is GET /cgi-bin/tags/get?access_token=… (§12):
// {"tags":[{"id":2,"name":"星标组","count":0},…]}. POST is accepted too.
func (p *Platform) serveTags(r *http.Request) response {
	return p.withAccessToken(r, []string{http.MethodGet, http.MethodPost}, func(time.Time) response {
		return jsonResponse(struct {
			Tags []wechat.Tag `json:"tags"`
		}{p.tagList()})
	})
}

// batchTaggingBody is batchtagging's body with its fields optional.
type batchTaggingBody struct {
	OpenIDList []string `json:"openid_list"`
	TagID      *int64   `json:"tagid"`
}

// openIDCount is the length of a batchtagging body's openid_list, 0 when
// the body does not decode.
func openIDCount(body []byte) int {
	var b batchTaggingBody
	if json.Unmarshal(body, &b) != nil {
		return 0
	}
	return len(b.OpenIDList)
}

// serveBatchTagging is POST /cgi-bin/tags/members/batchtagging?access_token=…
// (§12). Its checks, in order: method (43002), token, JSON (47001), \u
// escapes (40033), the list's size (40032: 1..50), the tag (45159), each
// openid: malformed 40003, not of this account 49003, then whether a user
// who lacks the tag already holds TagsPerUser tags (45059). A user who has
// the tag already is no error and changes nothing.
//
// Choices where §12 is silent: an empty list answers 40032 like a long
// one; a failing call tags no one (WeChat does not say which openid
// failed, so a partial success could not be reported); the reserved tags 0
// and 1 (未分组, 黑名单: the blacklist has its own API) answer 45159 and
// 星标组 (2) may be given; an openid is malformed when it is empty, longer
// than 64 bytes or not made of letters, digits, '-' and '_' (WeChat's are
// 28 of those); it is of this account once it has followed, through a
// simulated push or Follow, even if it has unfollowed since.
func (p *Platform) serveBatchTagging(r *http.Request, body []byte) response {
	return p.withAccessToken(r, []string{http.MethodPost}, func(time.Time) response {
		var req batchTaggingBody
		if code := decodeBody(body, &req); code != 0 {
			return errcodeResponse(code)
		}
		if n := len(req.OpenIDList); n == 0 || n > wechat.MaxBatchTagging {
			return errcodeResponse(wechat.CodeTooManyOpenIDs)
		}
		if req.TagID == nil || p.tags[*req.TagID] == nil {
			return errcodeResponse(wechat.CodeUnknownTag)
		}
		id := *req.TagID
		for _, o := range req.OpenIDList {
			if !wellFormedOpenID(o) {
				return errcodeResponse(wechat.CodeInvalidOpenID)
			}
		}
		for _, o := range req.OpenIDList {
			if !p.known[o] {
				return errcodeResponse(wechat.CodeOpenIDNotOfAccount)
			}
		}
		for _, o := range req.OpenIDList {
			held := p.userTags[o]
			if !held[id] && p.limits.TagsPerUser >= 0 && len(held) >= p.limits.TagsPerUser {
				return errcodeResponse(wechat.CodeUserTagLimit)
			}
		}
		for _, o := range req.OpenIDList {
			if p.userTags[o] == nil {
				p.userTags[o] = map[int64]bool{}
			}
			p.userTags[o][id] = true
		}
		return okResponse()
	})
}

// okResponse is the answer of calls that return nothing: {"errcode":0,"errmsg":"ok"}.
func okResponse() response {
	return jsonResponse(struct {
		ErrCode int    `json:"errcode"`
		ErrMsg  string `json:"errmsg"`
	}{0, "ok"})
}

// wellFormedOpenID reports whether o looks like an openid (see
// serveBatchTagging).
func wellFormedOpenID(o string) bool {
	if o == "" || len(o) > 64 {
		return false
	}
	for i := 0; i < len(o); i++ {
		c := o[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}
