package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"wechatqr/shared/api"
	"wechatqr/shared/qr"
	"wechatqr/shared/wechat"
)

// FuzzCreate sends arbitrary bodies to POST /qrcodes through the real handler. newStack's
// DynamoDB Local and emulator cost milliseconds per call, too slow for fuzzing, so only the
// edges are replaced, by fakes in this file: a map for the store, a WeChat that answers every
// valid request with a code, a token source that always has a token. Properties:
//
//   - the handler never panics and always answers JSON;
//   - the status is one the API documents for this route: 200, 201, 400, 409 or 413;
//   - a 200 or 201 is for exactly the scene the body encodes (a number → its decimal form, a
//     string → itself), and WeChat was asked for that scene, and only that one.
//
// The seed corpus is testdata/fuzz/FuzzCreate; `go test -fuzz=FuzzCreate` explores from it.
func FuzzCreate(f *testing.F) {
	f.Fuzz(func(t *testing.T, body []byte) {
		store := newMemStore()
		wx := &fixedWeChat{}
		h, err := api.New(api.Config{Now: func() time.Time { return fuzzNow }}, store, wx, fixedTokens{}, nil)
		if err != nil {
			t.Fatal(err)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest("POST", "/qrcodes", bytes.NewReader(body)))

		switch w.Code {
		case http.StatusOK, http.StatusCreated, http.StatusBadRequest, http.StatusConflict, http.StatusRequestEntityTooLarge:
		default:
			t.Fatalf("status %d for body %q: %s", w.Code, body, w.Body)
		}
		if ct := w.Header().Get("Content-Type"); ct != "application/json" {
			t.Errorf("Content-Type %q, want application/json", ct)
		}
		if !json.Valid(w.Body.Bytes()) {
			t.Fatalf("answer %q to body %q is not JSON", w.Body, body)
		}
		if w.Code != http.StatusOK && w.Code != http.StatusCreated {
			// docs/api.md, "Rules": every rule is checked before any WeChat call. (One request at a time
			// here, so not even a concurrent create can explain a call.)
			if n := len(wx.requests()); n > 0 {
				t.Errorf("%d %s after %d WeChat calls, for body %q", w.Code, w.Body, n, body)
			}
			return
		}
		var got struct {
			Scene  string `json:"scene"`
			Ticket string `json:"ticket"`
		}
		if err := json.Unmarshal(w.Body.Bytes(), &got); err != nil {
			t.Fatalf("answer %s: %v", w.Body, err)
		}
		want, isNumber, ok := sceneOf(body)
		if !ok {
			t.Fatalf("%d for body %q, whose scene this test cannot read", w.Code, body)
		}
		if got.Scene != want {
			t.Fatalf("body %q: answered scene %q, want %q", body, got.Scene, want)
		}
		if w.Code == http.StatusOK {
			return // an existing permanent code, answered from the store
		}
		reqs := wx.requests()
		if len(reqs) != 1 {
			t.Fatalf("body %q: %d WeChat calls for one 201, want 1", body, len(reqs))
		}
		r := reqs[0]
		switch {
		case isNumber && (r.SceneStr != "" || strconv.FormatUint(uint64(r.SceneID), 10) != want):
			t.Errorf("body %q: WeChat was asked for scene_id %d scene_str %q, want scene_id %s", body, r.SceneID, r.SceneStr, want)
		case !isNumber && (r.SceneID != 0 || r.SceneStr != want):
			t.Errorf("body %q: WeChat was asked for scene_id %d scene_str %q, want scene_str %q", body, r.SceneID, r.SceneStr, want)
		}
		if c, err := store.Code(context.Background(), want); err != nil || c.Ticket != got.Ticket {
			t.Errorf("body %q: stored %+v, %v; want the answered ticket %q", body, c, err, got.Ticket)
		}
	})
}

// fuzzNow is the handler's clock: fixed, so that the seeded temporary code is alive.
var fuzzNow = time.Unix(1732500000, 0)

// sceneOf reads the scene a create body names the way encoding/json does for the handler
// (field names match case-insensitively, the last duplicate wins): a string, or a whole number
// written as one. ok is false when there is none it could read.
func sceneOf(body []byte) (scene string, isNumber, ok bool) {
	dec := json.NewDecoder(bytes.NewReader(body))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return "", false, false
	}
	var raw json.RawMessage
	for dec.More() {
		key, err := dec.Token()
		if err != nil {
			return "", false, false
		}
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return "", false, false
		}
		if k, _ := key.(string); strings.EqualFold(k, "scene") {
			raw = v
		}
	}
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return "", false, false
	}
	if raw[0] == '"' {
		var s string
		if json.Unmarshal(raw, &s) != nil {
			return "", false, false
		}
		return s, false, true
	}
	n, err := strconv.ParseUint(string(raw), 10, 64)
	if err != nil {
		return "", false, false
	}
	return strconv.FormatUint(n, 10), true, true
}

// memStore keeps codes in a map, with the conflict and quota rules of the DynamoDB store's
// CreateCode. It implements the methods POST /qrcodes uses; the rest of api.Store is the nil
// embedded interface, so a create that reached any other method would panic, and the fuzzer
// would report it.
type memStore struct {
	api.Store
	mu        sync.Mutex
	codes     map[string]*qr.Code
	permanent int64
}

func newMemStore() *memStore {
	s := &memStore{codes: map[string]*qr.Code{}}
	// Something to collide with: a permanent string scene and a live temporary numeric one.
	s.codes["riddle-1"] = &qr.Code{Scene: "riddle-1", ActionName: wechat.ActionLimitStrScene, Ticket: "T-riddle", URL: "http://weixin.qq.com/q/riddle", Permanent: true, Reply: qr.TextReply("A"), CreatedAt: fuzzNow}
	s.codes["7"] = &qr.Code{Scene: "7", ActionName: wechat.ActionScene, Ticket: "T-7", URL: "http://weixin.qq.com/q/7", CreatedAt: fuzzNow, ExpireSeconds: 600, ExpiresAt: fuzzNow.Add(600 * time.Second)}
	s.permanent = 1
	return s
}

func (s *memStore) Code(_ context.Context, scene string) (*qr.Code, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.codes[scene]
	if !ok {
		return nil, qr.Errorf(qr.ENotFound, "no code for scene %q", scene)
	}
	cp := *c
	return &cp, nil
}

func (s *memStore) CreateCode(_ context.Context, c *qr.Code, max int64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	old, exists := s.codes[c.Scene]
	switch {
	case !c.Permanent && exists && old.Permanent:
		return qr.Errorf(qr.EConflict, "scene %q is a permanent code", c.Scene)
	case c.Permanent && exists && (old.Permanent || !old.Expired(c.CreatedAt)):
		return qr.Errorf(qr.EConflict, "scene %q already has a code", c.Scene)
	case c.Permanent && s.permanent >= max:
		return qr.Errorf(qr.EQuota, "the account holds %d permanent codes", max)
	case c.Permanent:
		s.permanent++
	}
	cp := *c
	s.codes[c.Scene] = &cp
	return nil
}

func (s *memStore) PermanentCount(context.Context) (int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.permanent, nil
}

// fixedWeChat creates every code WeChat would accept and records the requests that would have
// left the machine (those that pass the client's own validation).
type fixedWeChat struct {
	mu   sync.Mutex
	reqs []wechat.QRCodeRequest
}

func (w *fixedWeChat) CreateQRCode(_ context.Context, tok string, req wechat.QRCodeRequest) (wechat.QRCode, error) {
	// The real client refuses these before any traffic; so does the fake.
	if tok == "" {
		return wechat.QRCode{}, wechat.ErrInvalidRequest
	}
	if err := req.Validate(); err != nil {
		return wechat.QRCode{}, err
	}
	w.mu.Lock()
	w.reqs = append(w.reqs, req)
	w.mu.Unlock()
	return wechat.QRCode{Ticket: "gQH47joAAAAAAAAAASxodHRwOi8vd2VpeGluLnFxLmNvbS9xL2t6dXZJS2psWWNwN3Y5YkdfVzI2AAIEAAAAAAMEAAAAAA==", URL: "http://weixin.qq.com/q/kzuvIKjlYcp7v9bG_W26", ExpireSeconds: req.ExpireSeconds}, nil
}

func (w *fixedWeChat) requests() []wechat.QRCodeRequest {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]wechat.QRCodeRequest(nil), w.reqs...)
}

// fixedTokens always has a token.
type fixedTokens struct{}

func (fixedTokens) Token(context.Context) (string, error)              { return "ACCESS_TOKEN", nil }
func (fixedTokens) Invalidate(context.Context, string) (string, error) { return "ACCESS_TOKEN_2", nil }
