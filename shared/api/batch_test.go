package api_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"wechatqr/shared/api"
	"wechatqr/shared/qr"
)

type batchJSON struct {
	Rows []struct {
		Line    int
		Scene   string
		Request json.RawMessage
		Error   string
	}
	Valid, Invalid int
}

func (s *stack) parseBatch(t *testing.T, csv string, out any) *httptest.ResponseRecorder {
	t.Helper()
	return s.do(t, "POST", "/batches/parse", csv, out)
}

func TestBatchParseAnswersEachLineAsACreateRequestOrItsError(t *testing.T) {
	s := newStack(t, api.Config{})
	csv := "\ufeffscene,permanent,expire_seconds,reply,tag\r\n" +
		"poster-北京,true,,\"欢迎, \"\"朋友\"\"!\",北京海报\r\n" + // line 2: quotes and a comma in the reply
		"42,false,604800,Hi,\r\n" + // 3: a numeric scene
		"007,,,,\r\n" + // 4: a leading zero keeps it a string
		"\r\n" + // 5: blank, skipped
		"poster-北京,true,,,\r\n" + // 6: duplicate
		"bad scene ,,,,\r\n" + // 7: trailing space
		"x,maybe,,,\r\n" + // 8
		"y,true,60,,\r\n" + // 9: permanent with expire_seconds
		"z,,abc,,\r\n" + // 10
		"short,true\r\n" + // 11: missing cells
		"\"multi\nline\",,,,\r\n" + // 12-13: a quoted newline, refused as a scene
		"login:x,,,,\r\n" + // 14: reserved prefix
		"t,,,,一二三四五六七八九十一\r\n" + // 15: a tag of 33 bytes
		"u,,,, 北京\r\n" // 16: a tag with a leading space
	var b batchJSON
	w := s.parseBatch(t, csv, &b)
	if w.Code != http.StatusOK {
		t.Fatalf("status %d: %s", w.Code, w.Body)
	}
	if strings.Contains(w.Body.String(), "notes") {
		t.Errorf("the answer carries notes: %s; every column is applied", w.Body)
	}
	want := []struct {
		line    int
		request string // compact JSON, or "" for a refused line
		errHas  string
	}{
		{2, `{"permanent":true,"reply":{"type":"text","content":"欢迎, \"朋友\"!"},"scene":"poster-北京","tag":"北京海报"}`, ""},
		{3, `{"expire_seconds":604800,"permanent":false,"reply":{"type":"text","content":"Hi"},"scene":42}`, ""},
		{4, `{"scene":"007"}`, ""},
		{6, "", "already on line 2"},
		{7, "", "spaces"},
		{8, "", "permanent"},
		{9, "", "expire_seconds"},
		{10, "", "expire_seconds"},
		{11, "", "2 cells where the header has 5"},
		{12, "", "scene"},
		{14, "", "reserved"},
		{15, "", "tag: 33 bytes"},
		{16, "", "tag: no leading or trailing spaces"},
	}
	if len(b.Rows) != len(want) || b.Valid != 3 || b.Invalid != len(want)-3 {
		t.Fatalf("got %d rows (%d valid, %d invalid), want %d: %+v", len(b.Rows), b.Valid, b.Invalid, len(want), b.Rows)
	}
	for i, w := range want {
		got := b.Rows[i]
		if got.Line != w.line {
			t.Errorf("row %d: line %d, want %d", i, got.Line, w.line)
		}
		if w.request != "" && (string(got.Request) != w.request || got.Error != "") {
			t.Errorf("line %d: request %s error %q, want %s", w.line, got.Request, got.Error, w.request)
		}
		if w.request == "" && (got.Request != nil || !strings.Contains(got.Error, w.errHas)) {
			t.Errorf("line %d: request %s error %q, want an error saying %q", w.line, got.Request, got.Error, w.errHas)
		}
	}
	// Each valid request is a body POST /qrcodes takes as it is, and a row's
	// tag is the created code's.
	for _, r := range b.Rows[:3] {
		var c codeJSON
		if w := s.do(t, "POST", "/qrcodes", string(r.Request), &c); w.Code != http.StatusCreated || c.Scene != r.Scene {
			t.Errorf("POST /qrcodes %s: %d %s", r.Request, w.Code, w.Body)
		}
	}
	for scene, tag := range map[string]string{"poster-北京": "北京海报", "42": ""} {
		var got struct {
			Tag string `json:"tag"`
		}
		if w := s.do(t, "GET", "/qrcodes/"+url.PathEscape(scene), "", &got); w.Code != http.StatusOK || got.Tag != tag {
			t.Errorf("GET %s: %d, tag %q, want %q", scene, w.Code, got.Tag, tag)
		}
	}
	if n := s.items(t); n == 0 {
		t.Error("nothing stored after the creates")
	}
}

func TestBatchParseRefusesAFileItCannotRead(t *testing.T) {
	s := newStack(t, api.Config{})
	tests := []struct{ name, body, want string }{
		{"empty", "", "empty"},
		{"no scene column", "permanent,reply\ntrue,x\n", "no scene column"},
		{"unknown column", "scene,colour\na,red\n", `unknown column "colour"`},
		{"twice", "scene,scene\na,b\n", "twice"},
		{"GBK bytes", "scene\n\xb1\xb1\xbe\xa9\n", "UTF-8"},
		{"too many rows", "scene\n" + strings.Repeat("a\n", api.MaxBatchRows+1), "more than 5000 rows"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var e errorJSON
			if w := s.parseBatch(t, tt.body, &e); w.Code != http.StatusBadRequest || e.Error != "invalid" || !strings.Contains(e.Message, tt.want) {
				t.Errorf("%d %+v, want 400 saying %q", w.Code, e, tt.want)
			}
		})
	}
	big := "scene\n" + strings.Repeat("x", api.MaxBatchBytes)
	if w := s.parseBatch(t, big, nil); w.Code != http.StatusRequestEntityTooLarge {
		t.Errorf("a %d-byte file: %d, want 413", len(big), w.Code)
	}
	if n := s.items(t); n != 0 {
		t.Errorf("parsing stored %d items; it must store nothing", n)
	}
}

func TestBatchOfAThousandRowsParses(t *testing.T) {
	var b strings.Builder
	b.WriteString("scene,permanent,expire_seconds,reply,tag\n")
	for i := range 1000 {
		fmt.Fprintf(&b, "parcel-%04d,false,2592000,谢谢惠顾,\n", i)
	}
	got, err := api.ParseBatch([]byte(b.String()))
	if err != nil || got.Valid != 1000 || got.Invalid != 0 || got.Rows[999].Line != 1001 {
		t.Fatalf("ParseBatch: %v, %d valid %d invalid", err, got.Valid, got.Invalid)
	}
}

func TestListWithStatsAndSearch(t *testing.T) {
	s := newStack(t, api.Config{})
	tickets := map[string]string{}
	for _, scene := range []string{"Poster-A", "parcel-1", "poster-b", "poster-c"} {
		var c codeJSON
		if w := s.do(t, "POST", "/qrcodes", `{"scene":"`+scene+`","permanent":true}`, &c); w.Code != http.StatusCreated {
			t.Fatal(w.Code, w.Body)
		}
		tickets[scene] = c.Ticket
	}
	s.scanAs(t, tickets["Poster-A"], "u1", "u2")

	type listed struct {
		Codes []struct {
			Scene        string
			Stats, Today *countsJSON
		}
		NextCursor string `json:"next_cursor"`
	}
	var all listed
	if w := s.do(t, "GET", "/qrcodes?include=stats", "", &all); w.Code != 200 || len(all.Codes) != 4 {
		t.Fatalf("%d %s", w.Code, w.Body)
	}
	for _, c := range all.Codes {
		want := countsJSON{}
		if c.Scene == "Poster-A" {
			want = countsJSON{Scans: 2, Subscribes: 2, UniqueUsers: 2}
		}
		if c.Stats == nil || c.Today == nil || *c.Stats != want || *c.Today != want {
			t.Errorf("%s: stats %+v today %+v, want both %+v", c.Scene, c.Stats, c.Today, want)
		}
	}
	var plain listed
	s.do(t, "GET", "/qrcodes", "", &plain)
	if plain.Codes[0].Stats != nil {
		t.Error("stats without include=stats")
	}

	// Search ignores case, and paging through matches skips none and repeats none.
	var got []string
	cursor := ""
	for range 10 {
		var p listed
		if w := s.do(t, "GET", "/qrcodes?limit=1&q=POSTER&cursor="+cursor, "", &p); w.Code != 200 {
			t.Fatal(w.Code, w.Body)
		}
		for _, c := range p.Codes {
			got = append(got, c.Scene)
		}
		if cursor = p.NextCursor; cursor == "" {
			break
		}
	}
	if strings.Join(got, ",") != "poster-c,poster-b,Poster-A" {
		t.Errorf("q=POSTER paged by one: %v, want the three posters newest first", got)
	}
	var e errorJSON
	if w := s.do(t, "GET", "/qrcodes?include=everything", "", &e); w.Code != http.StatusBadRequest {
		t.Errorf("include=everything: %d, want 400", w.Code)
	}
}

// FuzzParseBatch feeds arbitrary files to ParseBatch. Properties:
//
//   - it never panics, and either refuses the whole file with an error wrapping
//     ErrBatch or answers every data line it kept;
//   - valid + invalid = rows, at most MaxBatchRows, lines increasing;
//   - a valid row's request is a body POST /qrcodes accepts as it is (decoded
//     strictly and validated by the real handler, against a WeChat that makes
//     every code), and no scene is valid twice.
//
// The seed corpus is testdata/fuzz/FuzzParseBatch.
func FuzzParseBatch(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		b, err := api.ParseBatch(data)
		if err != nil {
			if !errors.Is(err, api.ErrBatch) {
				t.Fatalf("error %v does not wrap ErrBatch", err)
			}
			return
		}
		if b.Valid+b.Invalid != len(b.Rows) || len(b.Rows) > api.MaxBatchRows {
			t.Fatalf("%d valid + %d invalid for %d rows", b.Valid, b.Invalid, len(b.Rows))
		}
		// An empty store (newMemStore holds codes to collide with): every valid row is new.
		store := &memStore{codes: map[string]*qr.Code{}}
		h, err := api.New(api.Config{Now: func() time.Time { return fuzzNow }}, store, &fixedWeChat{}, fixedTokens{}, nil)
		if err != nil {
			t.Fatal(err)
		}
		scenes := map[string]bool{}
		last := 0
		for _, r := range b.Rows {
			if r.Line <= last && r.Line != 0 {
				t.Errorf("line %d after line %d", r.Line, last)
			}
			last = max(last, r.Line)
			if (r.Request == nil) == (r.Error == "") {
				t.Fatalf("line %d: request %s and error %q: exactly one is expected", r.Line, r.Request, r.Error)
			}
			if r.Request == nil {
				continue
			}
			if scenes[r.Scene] {
				t.Errorf("scene %q valid twice", r.Scene)
			}
			scenes[r.Scene] = true
			w := httptest.NewRecorder()
			h.ServeHTTP(w, httptest.NewRequest("POST", "/qrcodes", bytes.NewReader(r.Request)))
			var c struct{ Scene string }
			_ = json.Unmarshal(w.Body.Bytes(), &c)
			if w.Code != http.StatusCreated || c.Scene != r.Scene {
				t.Errorf("line %d: POST /qrcodes %s answered %d %s, want 201 for scene %q", r.Line, r.Request, w.Code, w.Body, r.Scene)
			}
		}
	})
}
