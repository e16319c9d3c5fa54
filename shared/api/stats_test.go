package api_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"wechatqr/shared/api"
	"wechatqr/shared/qr"
	"wechatqr/shared/wechat/wechattest"
)

type countsJSON struct {
	Scans        int64 `json:"scans"`
	Subscribes   int64 `json:"subscribes"`
	UniqueUsers  int64 `json:"unique_users"`
	Unsubscribes int64 `json:"unsubscribes"`
}

func (s *stack) scanAs(t *testing.T, ticket string, openids ...string) {
	t.Helper()
	for _, o := range openids {
		if p, err := s.platform.Scan(context.Background(), s.callback, o, ticket, wechattest.Plaintext); err != nil || p.Status() != 200 {
			t.Fatalf("scan by %s: %v %d", o, err, p.Status())
		}
	}
}

func TestSceneStatisticsOverAPeriod(t *testing.T) {
	s := newStack(t, api.Config{})
	var c codeJSON
	s.do(t, "POST", "/qrcodes", `{"scene":"poster","permanent":true}`, &c)
	s.scanAs(t, c.Ticket, "a", "b", "a") // a subscribes, b subscribes, a scans again
	if _, err := s.platform.Unsubscribe(context.Background(), s.callback, "b", wechattest.Plaintext); err != nil {
		t.Fatal(err)
	}
	today := qr.DayOf(time.Now())
	var st struct {
		Scene, From, To string
		Totals          countsJSON
		Days            []struct {
			Date string
			countsJSON
		}
	}
	if w := s.do(t, "GET", "/qrcodes/poster/stats", "", &st); w.Code != 200 {
		t.Fatal(w.Code, w.Body)
	}
	want := countsJSON{Scans: 3, Subscribes: 2, UniqueUsers: 2, Unsubscribes: 1}
	if st.Totals != want || st.To != today || len(st.Days) != 1 || st.Days[0].Date != today || st.Days[0].countsJSON != want {
		t.Errorf("stats = %+v, want totals and today's bucket %+v", st, want)
	}
	var e errorJSON
	for _, q := range []string{"from=2026-13-01", "from=yesterday", "from=2026-11-25&to=2026-11-24", "from=2020-01-01&to=2026-01-01"} {
		if w := s.do(t, "GET", "/qrcodes/poster/stats?"+q, "", &e); w.Code != http.StatusBadRequest {
			t.Errorf("%s: %d, want 400", q, w.Code)
		}
	}
	var none struct{ Totals countsJSON }
	if w := s.do(t, "GET", "/qrcodes/never-scanned/stats", "", &none); w.Code != 200 || none.Totals != (countsJSON{}) {
		t.Errorf("a scene never scanned: %d %+v, want 200 and zeros", w.Code, none)
	}
}

func TestSourcesAreSortedByNewFollowersAndPaged(t *testing.T) {
	s := newStack(t, api.Config{})
	tickets := map[string]string{}
	for _, scene := range []string{"few", "many", "none"} {
		var c codeJSON
		s.do(t, "POST", "/qrcodes", `{"scene":"`+scene+`","permanent":true}`, &c)
		tickets[scene] = c.Ticket
	}
	s.scanAs(t, tickets["many"], "m1", "m2", "m3")
	s.scanAs(t, tickets["few"], "f1")
	s.platform.Follow("n1", "n2")
	s.scanAs(t, tickets["none"], "n1", "n2") // followers' scans bring no one

	type page struct {
		Sources []struct {
			Scene          string
			Period, Totals countsJSON
		}
		NextCursor string `json:"next_cursor"`
	}
	var p1, p2 page
	if w := s.do(t, "GET", "/stats/sources?limit=2", "", &p1); w.Code != 200 {
		t.Fatal(w.Code, w.Body)
	}
	if len(p1.Sources) != 2 || p1.Sources[0].Scene != "many" || p1.Sources[0].Period.Subscribes != 3 || p1.Sources[1].Scene != "few" || p1.NextCursor == "" {
		t.Fatalf("first page = %+v", p1)
	}
	s.do(t, "GET", "/stats/sources?limit=2&cursor="+p1.NextCursor, "", &p2)
	if len(p2.Sources) != 1 || p2.Sources[0].Scene != "none" || p2.Sources[0].Period.Scans != 2 || p2.NextCursor != "" {
		t.Errorf("second page = %+v", p2)
	}
	var old page
	s.do(t, "GET", "/stats/sources?from=2020-01-01&to=2020-01-31", "", &old)
	for _, src := range old.Sources {
		if src.Period != (countsJSON{}) || src.Totals == (countsJSON{}) {
			t.Errorf("a period with no scans: %+v, want zero period counts and the totals", src)
		}
	}
}
