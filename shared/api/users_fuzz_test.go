package api_test

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"

	"wechatqr/shared/api"
	"wechatqr/shared/qr"
)

// eraseStore records the openids EraseUser was asked for; every other method of
// api.Store is the nil embedded interface, so reaching one panics and fails the fuzzer.
type eraseStore struct {
	api.Store
	mu    sync.Mutex
	asked []string
}

func (s *eraseStore) EraseUser(_ context.Context, openid string) (qr.Erased, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.asked = append(s.asked, openid)
	return qr.Erased{qr.ErasedScanRecords: 2, qr.ErasedMarkers: 1}, nil
}

var wellFormedOpenID = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

// FuzzEraseUser sends DELETE /users/<anything>: the store is asked to erase only a
// well-formed openid, exactly the one in the path; everything else is refused
// before it; nothing panics; and no log line carries the path's openid.
func FuzzEraseUser(f *testing.F) {
	for _, s := range []string{
		"oKqdL5Vn7Ek3wOq2fG8mZ1xYc9aQ", "", "o K", "a/b", "../users/x", "%2F", "o\x00", "你好",
		strings.Repeat("o", 64), strings.Repeat("o", 65), "-", "_", "oKqdL5Vn7Ek3wOq2fG8mZ1xYc9aQ?x=1", "oKqd#frag",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, openid string) {
		store := &eraseStore{}
		var logs strings.Builder
		h, err := api.New(api.Config{}, store, &fixedWeChat{}, fixedTokens{}, slog.New(slog.NewJSONHandler(&logs, nil)))
		if err != nil {
			t.Fatal(err)
		}
		r := httptest.NewRequest(http.MethodDelete, "/", nil)
		r.URL.Path, r.URL.RawPath = "/users/"+openid, ""
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)

		valid := wellFormedOpenID.MatchString(openid)
		switch {
		case valid && (w.Code != http.StatusOK || len(store.asked) != 1 || store.asked[0] != openid):
			t.Fatalf("well-formed %q: %d %s, store asked %q", openid, w.Code, w.Body, store.asked)
		case !valid && len(store.asked) != 0:
			t.Fatalf("malformed %q reached the store (answer %d)", openid, w.Code)
		case !valid && w.Code == http.StatusOK:
			t.Fatalf("malformed %q answered 200", openid)
		}
		if len(openid) >= 4 && (strings.Contains(logs.String(), "/users/"+openid) || strings.Contains(logs.String(), `:"`+openid+`"`)) {
			t.Fatalf("the log names %q:\n%s", openid, logs.String())
		}
	})
}
