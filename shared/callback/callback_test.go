package callback_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/xml"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"wechatqr/local/dynamolocal"
	"wechatqr/shared/callback"
	"wechatqr/shared/dynamo"
	"wechatqr/shared/qr"
	"wechatqr/shared/wechat"
	"wechatqr/shared/wechat/wechattest"
)

// The account of the protocol's known-answer vectors (docs/wechat.md §10).
const (
	token  = "wechatqr"
	appID  = "wx5823bf96d3bd56c7"
	aesKey = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C"
	openID = "oKqdL5Vn7Ek3wOq2fG8mZ1xYc9aQ"
)

var signer = wechattest.Signer{Token: token, AppID: appID, EncodingAESKey: aesKey}

// now is the fixed clock of these tests; pushes are signed at it.
var now = time.Unix(1732500000, 0)

type fixture struct {
	h      *callback.Handler
	db     dynamo.API
	store  *dynamo.Store
	names  dynamo.Tables
	trips  *counter
	logs   *syncBuffer
	itemsF func() int
	events func() (claims, records int)
}

func newFixture(t *testing.T, mutate ...func(*callback.Config)) *fixture {
	t.Helper()
	store, client, names, trips := tables(t, nil)
	cipher, err := wechat.NewCipher(aesKey, appID)
	if err != nil {
		t.Fatal(err)
	}
	cfg := callback.Config{
		// Plaintext serves every mode's pushes (with the key, encrypted ones by
		// msg_signature); mode_test.go tests the modes that refuse plain pushes.
		AppID: appID, Token: token, Cipher: cipher, MessageMode: callback.Plaintext,
		Tolerance: callback.DefaultTolerance, MaxBody: callback.DefaultMaxBody,
		Default: qr.TextReply("Unknown code"),
		Now:     func() time.Time { return now },
	}
	for _, m := range mutate {
		m(&cfg)
	}
	logs := &syncBuffer{}
	h, err := callback.New(cfg, store, slog.New(slog.NewJSONHandler(logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{h: h, db: client, store: store, names: names, trips: trips, logs: logs}
	f.itemsF = func() int { return itemCount(t, client, names) }
	f.events = func() (int, int) { return eventCount(t, client, names) }
	return f
}

func (f *fixture) putCode(t *testing.T, scene string, reply *qr.Reply) {
	t.Helper()
	if err := f.store.PutCode(context.Background(), &qr.Code{Scene: scene, ActionName: "QR_LIMIT_STR_SCENE", Permanent: true, Reply: reply, CreatedAt: now}); err != nil {
		t.Fatal(err)
	}
	f.trips.reset()
}

// push sends inner as WeChat would in mode and returns the recorded response.
func (f *fixture) push(t *testing.T, inner []byte, mode wechattest.Mode) *httptest.ResponseRecorder {
	t.Helper()
	q, body, err := signer.Push(inner, mode, now.Unix(), nonceOf(inner))
	if err != nil {
		t.Fatal(err)
	}
	return f.serve(signer.Request("/wechat", q, body))
}

// nonceOf is the nonce a push of inner is signed with: one per push, the same for
// its retries, as WeChat's own nonces go. (A query served with one body is
// refused with another: a test reusing a nonce for another push in one second
// is the reuse attack, reuse_test.go.)
func nonceOf(inner []byte) string {
	h := sha256.Sum256(inner)
	return strconv.FormatUint(uint64(binary.BigEndian.Uint32(h[:])), 10)
}

func (f *fixture) serve(r *http.Request) *httptest.ResponseRecorder {
	w := httptest.NewRecorder()
	f.h.ServeHTTP(w, r)
	return w
}

// replyOf opens the response as WeChat would and decodes the passive reply.
type replyXML struct {
	ToUserName, FromUserName, MsgType, Content string
	CreateTime                                 int64
	ArticleCount                               int
	Articles                                   struct {
		Item []struct{ Title, Description, PicUrl, Url string } `xml:"item"`
	}
	Image struct{ MediaId string }
}

func replyOf(t *testing.T, w *httptest.ResponseRecorder) replyXML {
	t.Helper()
	if w.Code != http.StatusOK {
		t.Fatalf("status %d: %s", w.Code, w.Body)
	}
	inner, err := signer.OpenReply(w.Body.Bytes())
	if err != nil {
		t.Fatalf("opening the reply: %v", err)
	}
	var r replyXML
	if err := xml.Unmarshal(inner, &r); err != nil {
		t.Fatalf("reply %q is not XML: %v", inner, err)
	}
	return r
}

func TestURLVerification(t *testing.T) {
	f := newFixture(t)
	good := signer.Verification("echo-4711", now.Unix(), "468035")
	tests := []struct {
		name   string
		query  url.Values
		status int
		body   string
	}{
		{"valid signature echoes echostr verbatim", good, 200, "echo-4711"},
		{"wrong signature", with(good, "signature", strings.Repeat("0", 40)), 401, "signature does not match"},
		{"stale timestamp", signer.Verification("e", now.Add(-301*time.Second).Unix(), "1"), 401, "outside the accepted window"},
		{"future timestamp", signer.Verification("e", now.Add(301*time.Second).Unix(), "1"), 401, "outside the accepted window"},
		{"timestamp not a number", with(good, "timestamp", "soon"), 400, "timestamp is not"},
		{"no echostr", with(good, "echostr", ""), 400, "echostr"},
		{"no signature", with(good, "signature", ""), 400, "missing query parameter signature"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := f.serve(httptest.NewRequest("GET", "/wechat?"+tt.query.Encode(), nil))
			if w.Code != tt.status || !strings.Contains(w.Body.String(), tt.body) {
				t.Errorf("got %d %q, want %d containing %q", w.Code, w.Body, tt.status, tt.body)
			}
		})
	}
	if !bytes.Equal(f.serve(httptest.NewRequest("GET", "/wechat?"+good.Encode(), nil)).Body.Bytes(), []byte("echo-4711")) {
		t.Error("echostr must come back with no quotes, newline or XML")
	}
}

// with returns a copy of q with k set to v (deleted when v is empty).
func with(q url.Values, k, v string) url.Values {
	c := url.Values{}
	for key, vals := range q {
		c[key] = append([]string(nil), vals...)
	}
	if v == "" {
		c.Del(k)
	} else {
		c.Set(k, v)
	}
	return c
}

func TestScansGetTheirScenesReplyInEveryMode(t *testing.T) {
	f := newFixture(t)
	f.putCode(t, "riddle-1", qr.TextReply("Answer: a map"))
	f.putCode(t, "42", &qr.Reply{Type: qr.ReplyNews, Articles: []qr.Article{{Title: "Poster 42", Description: "d", PicURL: "https://e.com/a.jpg", URL: "https://e.com/42"}}})
	f.putCode(t, "img", &qr.Reply{Type: qr.ReplyImage, MediaID: "MEDIA_ID"})

	createTime := now.Unix()
	next := func() int64 { createTime++; return createTime } // distinct pushes
	for _, mode := range []wechattest.Mode{wechattest.Plaintext, wechattest.Compatible, wechattest.Safe} {
		t.Run(mode.String(), func(t *testing.T) {
			tests := []struct {
				name  string
				inner []byte
				check func(t *testing.T, r replyXML)
			}{
				{"subscribe through a code", signer.SubscribeXML(openID, "riddle-1", next(), "T"), wantText("Answer: a map")},
				{"SCAN by a follower", signer.ScanXML(openID, "riddle-1", next(), "T"), wantText("Answer: a map")},
				{"numeric scene 42 is the string scene 42", signer.ScanXML(openID, "42", next(), "T"), func(t *testing.T, r replyXML) {
					if r.MsgType != "news" || r.ArticleCount != 1 || len(r.Articles.Item) != 1 || r.Articles.Item[0].Title != "Poster 42" || r.Articles.Item[0].Url != "https://e.com/42" {
						t.Errorf("news reply = %+v", r)
					}
				}},
				{"image reply", signer.SubscribeXML(openID, "img", next(), "T"), func(t *testing.T, r replyXML) {
					if r.MsgType != "image" || r.Image.MediaId != "MEDIA_ID" {
						t.Errorf("image reply = %+v", r)
					}
				}},
				{"unknown scene gets the default reply", signer.ScanXML(openID, "nobody-made-me", next(), "T"), wantText("Unknown code")},
			}
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					w := f.push(t, tt.inner, mode)
					if mode != wechattest.Plaintext && !strings.Contains(w.Body.String(), "<MsgSignature>") {
						t.Errorf("an encrypted push must get an encrypted reply, got %q", w.Body)
					}
					r := replyOf(t, w)
					if r.ToUserName != openID || r.FromUserName != wechattest.DefaultOriginalID || r.CreateTime != now.Unix() {
						t.Errorf("To/From/CreateTime = %q/%q/%d, want the push's From/To swapped and now", r.ToUserName, r.FromUserName, r.CreateTime)
					}
					tt.check(t, r)
				})
			}
		})
	}
}

func wantText(content string) func(*testing.T, replyXML) {
	return func(t *testing.T, r replyXML) {
		t.Helper()
		if r.MsgType != "text" || r.Content != content {
			t.Errorf("reply = %s %q, want text %q", r.MsgType, r.Content, content)
		}
	}
}

func TestOtherPushesAnswerSuccessOrWelcome(t *testing.T) {
	tests := []struct {
		name    string
		inner   []byte
		welcome *qr.Reply
		want    string // body, or the welcome text
		items   int    // items written (a follow's or an unfollow's claim, which is its record)
	}{
		{"plain subscribe without a welcome", signer.SubscribeXML(openID, "", now.Unix(), ""), nil, "success", 1},
		{"plain subscribe with a welcome", signer.SubscribeXML(openID, "", now.Unix(), ""), qr.TextReply("Welcome!"), "Welcome!", 1},
		{"text message", signer.TextXML(openID, "hello", now.Unix(), 1234567890123456), nil, "success", 0},
		{"unsubscribe is recorded", signer.UnsubscribeXML(openID, now.Unix()), nil, "success", 1},
		{"menu click", []byte(`<xml><ToUserName><![CDATA[gh_0123456789ab]]></ToUserName><FromUserName><![CDATA[u]]></FromUserName><CreateTime>1732500000</CreateTime><MsgType><![CDATA[event]]></MsgType><Event><![CDATA[CLICK]]></Event><EventKey><![CDATA[menu]]></EventKey></xml>`), nil, "success", 0},
		{"subscribe with an empty qrscene_", []byte(`<xml><ToUserName><![CDATA[gh_0123456789ab]]></ToUserName><FromUserName><![CDATA[u]]></FromUserName><CreateTime>1732500000</CreateTime><MsgType><![CDATA[event]]></MsgType><Event><![CDATA[subscribe]]></Event><EventKey><![CDATA[qrscene_]]></EventKey></xml>`), nil, "success", 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, func(c *callback.Config) { c.Welcome = tt.welcome })
			w := f.push(t, tt.inner, wechattest.Safe)
			if tt.want == "success" {
				if w.Code != 200 || w.Body.String() != "success" {
					t.Errorf("got %d %q, want 200 success", w.Code, w.Body)
				}
			} else if r := replyOf(t, w); r.Content != tt.want {
				t.Errorf("reply %q, want %q", r.Content, tt.want)
			}
			if n := f.itemsF(); n != tt.items {
				t.Errorf("%d items written, want %d", n, tt.items)
			}
		})
	}
}

func TestBadRequestsAreRefusedAndChangeNothing(t *testing.T) {
	f := newFixture(t)
	f.putCode(t, "riddle-1", qr.TextReply("Answer: a map"))
	before := f.itemsF()
	scan := signer.ScanXML(openID, "riddle-1", now.Unix(), "T")
	ts := strconv.FormatInt(now.Unix(), 10)

	plainQ, plainBody, _ := signer.Push(scan, wechattest.Plaintext, now.Unix(), "1")
	safeQ, safeBody, _ := signer.Push(scan, wechattest.Safe, now.Unix(), "1")
	// encrypted builds a safe-mode push whose Encrypt is enc, correctly signed, so
	// that only the decryption can fail.
	encrypted := func(enc string) (url.Values, []byte) {
		q := with(safeQ, "msg_signature", wechat.Sign(token, ts, "1", enc))
		return q, []byte("<xml><ToUserName><![CDATA[gh_0123456789ab]]></ToUserName><Encrypt><![CDATA[" + enc + "]]></Encrypt></xml>")
	}
	other := wechattest.Signer{Token: token, AppID: "wx0000000000000000", EncodingAESKey: aesKey}
	otherQ, otherBody, _ := other.Push(scan, wechattest.Safe, now.Unix(), "1")
	otherKey := wechattest.Signer{Token: token, AppID: appID, EncodingAESKey: strings.Repeat("A", 43)}
	keyQ, keyBody, _ := otherKey.Push(scan, wechattest.Safe, now.Unix(), "1")
	staleQ, staleBody, _ := signer.Push(scan, wechattest.Plaintext, now.Add(-10*time.Minute).Unix(), "1")
	futureQ, futureBody, _ := signer.Push(scan, wechattest.Plaintext, now.Add(10*time.Minute).Unix(), "1")
	badB64Q, badB64Body := encrypted("not*base64")
	shortQ, shortBody := encrypted("AAAAAAAAAAAAAAAAAAAAAA==") // 16 bytes: decrypts to garbage padding
	truncQ, truncBody := encrypted(encOf(t, safeBody)[:len(encOf(t, safeBody))-4])

	tests := []struct {
		name   string
		method string
		query  url.Values
		body   []byte
		status int
		msg    string
	}{
		{"wrong signature", "POST", with(plainQ, "signature", wechat.Sign("not-the-token", ts, "1")), plainBody, 401, "signature does not match"},
		{"stale timestamp", "POST", staleQ, staleBody, 401, "outside the accepted window"},
		{"future timestamp", "POST", futureQ, futureBody, 401, "outside the accepted window"},
		{"missing signature", "POST", with(plainQ, "signature", ""), plainBody, 400, "missing query parameter signature"},
		{"missing timestamp", "POST", with(plainQ, "timestamp", ""), plainBody, 400, "missing query parameter timestamp"},
		{"missing nonce", "POST", with(plainQ, "nonce", ""), plainBody, 400, "missing query parameter nonce"},
		{"malformed XML", "POST", plainQ, []byte("<xml><ToUserName>"), 400, "not a WeChat XML push"},
		{"JSON instead of XML", "POST", plainQ, []byte(`{"ToUserName":"gh"}`), 400, "not a WeChat XML push"},
		{"oversized body", "POST", plainQ, bytes.Repeat([]byte("x"), callback.DefaultMaxBody+1), 413, "over 65536 bytes"},
		{"bad msg_signature", "POST", with(safeQ, "msg_signature", strings.Repeat("a", 40)), safeBody, 401, "msg_signature does not match"},
		{"missing msg_signature", "POST", with(safeQ, "msg_signature", ""), safeBody, 400, "missing query parameter msg_signature"},
		{"bad base64", "POST", badB64Q, badB64Body, 400, "not valid base64"},
		{"bad padding", "POST", shortQ, shortBody, 400, "bad padding"},
		{"truncated ciphertext", "POST", truncQ, truncBody, 400, "Encrypt"},
		// What a text sealed under another key decrypts to depends on its random IV
		// (wrongKey): almost always bad padding, about once in 256 a bad length field.
		{"wrong EncodingAESKey", "POST", keyQ, keyBody, 400, strings.Join(wrongKey, "|")},
		{"wrong appid inside", "POST", otherQ, otherBody, 403, "another AppID"},
		{"encrypt_type unknown", "POST", with(plainQ, "encrypt_type", "rot13"), plainBody, 400, "encrypt_type"},
		{"aes without Encrypt", "POST", with(plainQ, "encrypt_type", "aes"), plainBody, 400, "missing query parameter msg_signature"},
		{"method not allowed", "PUT", plainQ, plainBody, 405, "GET"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := signer.Request("/wechat", tt.query, tt.body)
			r.Method = tt.method
			w := f.serve(r)
			if w.Code != tt.status || !slices.ContainsFunc(strings.Split(tt.msg, "|"), func(m string) bool { return strings.Contains(w.Body.String(), m) }) {
				t.Errorf("got %d %q, want %d containing %q", w.Code, w.Body, tt.status, tt.msg)
			}
			if n := f.trips.reset(); n != 0 {
				t.Errorf("%d DynamoDB round trips for a refused request, want 0", n)
			}
		})
	}
	if after := f.itemsF(); after != before {
		t.Errorf("refused requests wrote %d items", after-before)
	}
}

// encOf returns the Encrypt element of a safe-mode body.
func encOf(t *testing.T, body []byte) string {
	t.Helper()
	m, err := wechat.ParseMessage(body)
	if err != nil {
		t.Fatal(err)
	}
	return m.Encrypt
}

func TestRetriesAreAnsweredTheSameAndCountedOnce(t *testing.T) {
	for _, mode := range []wechattest.Mode{wechattest.Plaintext, wechattest.Safe} {
		t.Run(mode.String(), func(t *testing.T) {
			f := newFixture(t)
			f.putCode(t, "riddle-1", qr.TextReply("Answer: a map"))
			push := signer.SubscribeXML(openID, "riddle-1", now.Unix(), "T")

			// Three deliveries at once, as when WeChat retries while the first is in flight.
			var wg sync.WaitGroup
			replies := make([][]byte, 3)
			for i := range replies {
				wg.Add(1)
				go func() {
					defer wg.Done()
					w := f.push(t, push, mode)
					inner, err := signer.OpenReply(w.Body.Bytes())
					if w.Code != 200 || err != nil {
						t.Errorf("delivery %d: %d %q %v", i, w.Code, w.Body, err)
					}
					replies[i] = inner
				}()
			}
			wg.Wait()
			for i := range replies {
				if !bytes.Equal(replies[i], replies[0]) || !bytes.Contains(replies[0], []byte("Answer: a map")) {
					t.Errorf("reply %d = %q, want the same answer as %q", i, replies[i], replies[0])
				}
			}
			st, err := f.store.SceneStats(context.Background(), "riddle-1", "", "")
			if err != nil {
				t.Fatal(err)
			}
			if st.Totals != (qr.Counts{Scans: 1, Subscribes: 1, UniqueUsers: 1}) {
				t.Errorf("stats = %+v, want 1 scan, 1 subscribe, 1 unique user", st.Totals)
			}
			if claims, records := f.events(); claims != 1 || records != 1 {
				t.Errorf("%d claims and %d scan records, want 1 and 1", claims, records)
			}
		})
	}
}

func TestDynamoDBRoundTripsPerPush(t *testing.T) {
	f := newFixture(t)
	f.putCode(t, "riddle-1", qr.TextReply("Answer: a map"))
	push := signer.ScanXML(openID, "riddle-1", now.Unix(), "T")
	if w := f.push(t, push, wechattest.Safe); w.Code != 200 {
		t.Fatal(w.Code, w.Body)
	}
	if n := f.trips.reset(); n != 2 {
		t.Errorf("first delivery: %d round trips, want 2 (BatchGetItem, TransactWriteItems)", n)
	}
	if w := f.push(t, push, wechattest.Safe); w.Code != 200 {
		t.Fatal(w.Code, w.Body)
	}
	if n := f.trips.reset(); n != 1 {
		t.Errorf("retry: %d round trips, want 1 (BatchGetItem)", n)
	}
}

func TestDifferentEventsInOneSecondCountSeparately(t *testing.T) {
	f := newFixture(t)
	f.putCode(t, "riddle-1", qr.TextReply("A"))
	f.push(t, signer.ScanXML(openID, "riddle-1", now.Unix(), "T"), wechattest.Plaintext)
	f.push(t, signer.ScanXML("another-user", "riddle-1", now.Unix(), "T"), wechattest.Plaintext)
	f.push(t, signer.SubscribeXML("third-user", "riddle-1", now.Unix(), "T"), wechattest.Plaintext)
	st, _ := f.store.SceneStats(context.Background(), "riddle-1", "", "")
	if st.Totals.Scans != 3 || st.Totals.Subscribes != 1 || st.Totals.UniqueUsers != 3 {
		t.Errorf("stats = %+v, want 3 scans, 1 subscribe, 3 unique users", st.Totals)
	}
}

func TestTimestampWindowCanBeTurnedOffForLocalReplays(t *testing.T) {
	f := newFixture(t, func(c *callback.Config) { c.Tolerance = 0 })
	q, body, _ := signer.Push(signer.TextXML(openID, "hi", 1, 1), wechattest.Plaintext, 1, "1")
	if w := f.serve(signer.Request("/wechat", q, body)); w.Code != 200 {
		t.Errorf("with the window off, an old push got %d %q", w.Code, w.Body)
	}
}

func TestStorageFailureAnswers503AndWechatRetries(t *testing.T) {
	f := newFixture(t)
	f.putCode(t, "riddle-1", qr.TextReply("A"))
	// A second DynamoDB Local, stopped before the push: the store cannot reach it.
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	down, err := dynamolocal.Start(ctx, dynamolocal.Options{})
	if err != nil {
		t.Fatal(err)
	}
	store, _, _, _ := tables(t, down)
	if err := down.Close(); err != nil {
		t.Fatal(err)
	}
	h, err := callback.New(callback.Config{AppID: appID, Token: token, Tolerance: time.Minute, Deadline: 2 * time.Second, Now: func() time.Time { return now }}, store, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	q, body, _ := signer.Push(signer.ScanXML(openID, "riddle-1", now.Unix(), "T"), wechattest.Plaintext, now.Unix(), "1")
	w := httptest.NewRecorder()
	h.ServeHTTP(w, signer.Request("/wechat", q, body))
	if w.Code != http.StatusServiceUnavailable {
		t.Errorf("got %d %q, want 503 so that WeChat retries", w.Code, w.Body)
	}
}

func TestLogsCarryNoSecretsOrBodies(t *testing.T) {
	f := newFixture(t)
	f.putCode(t, "riddle-1", qr.TextReply("Answer: a map"))
	scan := signer.ScanXML(openID, "riddle-1", now.Unix(), "TICKET-SECRET")
	_, safeBody, _ := signer.Push(scan, wechattest.Safe, now.Unix(), "1")
	f.push(t, scan, wechattest.Safe)
	f.push(t, signer.TextXML(openID, "my private words", now.Unix(), 99), wechattest.Compatible)
	bad, _, _ := signer.Push(scan, wechattest.Safe, now.Unix(), "1")
	f.serve(signer.Request("/wechat", with(bad, "msg_signature", strings.Repeat("b", 40)), safeBody))

	logs := f.logs.String()
	if !strings.Contains(logs, `"scene":"riddle-1"`) || !strings.Contains(logs, `"outcome":"recorded"`) {
		t.Errorf("expected a line per push with scene and outcome, got:\n%s", logs)
	}
	for _, secret := range []string{token, aesKey, encOf(t, safeBody)[:32], "my private words", "TICKET-SECRET", "Answer: a map"} {
		if strings.Contains(logs, secret) {
			t.Errorf("logs contain %q:\n%s", secret, logs)
		}
	}
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestAMissingTableIsLoggedWithWhatToDo(t *testing.T) {
	f := newFixture(t)
	store, err := dynamo.New(f.db, dynamo.Tables{Scenes: "no-such-scenes", Events: "no-such-events"}, dynamo.Options{})
	if err != nil {
		t.Fatal(err)
	}
	logs := &syncBuffer{}
	h, err := callback.New(callback.Config{AppID: appID, Token: token, Tolerance: callback.DefaultTolerance, Now: func() time.Time { return now }}, store, slog.New(slog.NewJSONHandler(logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	q, body, _ := signer.Push(signer.ScanXML(openID, "riddle-1", now.Unix(), "T"), wechattest.Plaintext, now.Unix(), "1")
	w := httptest.NewRecorder()
	h.ServeHTTP(w, signer.Request("/wechat", q, body))
	// A missing table is ours to fix, not an outage: a 500, which WeChat retries too.
	if w.Code != http.StatusInternalServerError || !strings.Contains(logs.String(), "a table does not exist") || !strings.Contains(logs.String(), "make run") {
		t.Errorf("got %d, want 500; logs:\n%s", w.Code, logs)
	}
}
