package peerbench

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"testing"
	"time"

	"github.com/silenceper/wechat/v2"
	"github.com/silenceper/wechat/v2/cache"
	offConfig "github.com/silenceper/wechat/v2/officialaccount/config"
	"github.com/silenceper/wechat/v2/officialaccount/message"
	"github.com/sirupsen/logrus"

	"wechatqr/shared/wechat/wechattest"
)

// The pushes below are built exactly as shared/callback/bench_test.go builds
// them (same account, scene, clock, nonce, pool and random seed), so that
// BenchmarkPushHTTP here and there serve byte-identical requests. Both log the
// digest of what they serve; benchcmp refuses to compare when they differ.

// The account of the protocol's known-answer vectors (docs/wechat.md §10).
const (
	benchToken  = "wechatqr"
	benchAppID  = "wx5823bf96d3bd56c7"
	benchAESKey = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C"
	benchOpenID = "oKqdL5Vn7Ek3wOq2fG8mZ1xYc9aQ"
	benchTicket = "gQHk7zwAAAAAAAAAAS5odHRwOi8vd2VpeGluLnFxLmNvbS9xLzAyS0FU"
	benchScene  = "riddle-1"
	benchAnswer = "Answer: a map"
	benchNonce  = "468035"
	benchPool   = 1024
)

var benchNow = time.Unix(1732500000, 0)

type benchPush struct {
	query string
	body  []byte
}

func benchPushes(tb testing.TB, mode wechattest.Mode, n int) []benchPush {
	tb.Helper()
	s := wechattest.Signer{
		Token: benchToken, AppID: benchAppID, EncodingAESKey: benchAESKey,
		Rand: rand.NewChaCha8([32]byte{'w', 'e', 'c', 'h', 'a', 't', 'q', 'r'}),
	}
	pushes := make([]benchPush, n)
	for i := range pushes {
		inner := s.ScanXML(benchOpenID, benchScene, benchNow.Unix()-int64(i), benchTicket)
		q, body, err := s.Push(inner, mode, benchNow.Unix(), benchNonce)
		if err != nil {
			tb.Fatal(err)
		}
		pushes[i] = benchPush{query: q.Encode(), body: body}
	}
	return pushes
}

func requestsDigest(pushes []benchPush) []byte {
	h := sha256.New()
	for _, p := range pushes {
		io.WriteString(h, "POST /wechat?"+p.query+"\n")
		h.Write(p.body)
		h.Write([]byte{0})
	}
	return h.Sum(nil)
}

// replayable is an *http.Request whose body can be read again, as in ours:
// silenceper re-parses r.URL.Query() on every Query call and caches nothing in
// the request, so replaying it is a fresh request minus building one.
type replayable struct {
	r    *http.Request
	body []byte
	rd   bytes.Reader
}

func newReplayable(p benchPush) *replayable {
	rp := &replayable{body: p.body}
	rp.r = httptest.NewRequest(http.MethodPost, "/wechat?"+p.query, nil)
	rp.r.Header.Set("Content-Type", "text/xml")
	rp.r.ContentLength = int64(len(p.body))
	rp.r.Body = io.NopCloser(&rp.rd)
	return rp
}

func (rp *replayable) next() *http.Request {
	rp.rd.Reset(rp.body)
	return rp.r
}

// riddle is the message handler an application writes with the SDK: the
// riddle's code answers its text, anything else gets silenceper's default
// ("success" in plaintext mode).
func riddle(msg *message.MixMessage) *message.Reply {
	if msg.MsgType == message.MsgTypeEvent && msg.Event == message.EventScan && msg.EventKey == benchScene {
		return &message.Reply{MsgType: message.MsgTypeText, MsgData: message.NewText(benchAnswer)}
	}
	return nil
}

// officialAccount is set up once, as an application does at start-up; the
// access-token cache is never touched by a push. The function it returns serves
// one push as the SDK's README does.
func officialAccount() func(r *http.Request) (*httptest.ResponseRecorder, error) {
	oa := wechat.NewWechat().GetOfficialAccount(&offConfig.Config{
		AppID:          benchAppID,
		AppSecret:      "not-used-by-the-callback",
		Token:          benchToken,
		EncodingAESKey: benchAESKey,
		Cache:          cache.NewMemory(),
	})
	return func(r *http.Request) (*httptest.ResponseRecorder, error) {
		w := httptest.NewRecorder()
		srv := oa.GetServer(r, w)
		srv.SetMessageHandler(riddle)
		if err := srv.Serve(); err != nil {
			return w, err
		}
		return w, srv.Send()
	}
}

// BenchmarkPushHTTP: every iteration serves the next of benchPool distinct
// pushes, like ours "first" (silenceper keeps no dedupe state, so first and
// retry are the same work for it). Logging is off on both sides: ours discards,
// and silenceper's logrus is raised from the Debug level its package init sets
// to Info, where the SDK logs nothing on the success path.
func BenchmarkPushHTTP(b *testing.B) {
	setLogs(b, logrus.InfoLevel)
	benchModes(b)
}

// BenchmarkPushHTTPDebugLog is silenceper out of the box: its package init puts
// logrus at Debug level on stdout, so every push formats three lines (the
// validation, the decrypted request and the reply, bodies included). They go to
// io.Discard here: the formatting is measured, the write to stdout is not.
func BenchmarkPushHTTPDebugLog(b *testing.B) {
	setLogs(b, logrus.DebugLevel)
	benchModes(b)
}

// setLogs sets logrus's global level, writing to io.Discard, until b ends.
func setLogs(b *testing.B, level logrus.Level) {
	std := logrus.StandardLogger()
	prevLevel, prevOut := std.GetLevel(), std.Out
	logrus.SetLevel(level)
	logrus.SetOutput(io.Discard)
	b.Cleanup(func() {
		logrus.SetLevel(prevLevel)
		logrus.SetOutput(prevOut)
	})
}

func benchModes(b *testing.B) {
	for _, mode := range []wechattest.Mode{wechattest.Plaintext, wechattest.Safe} {
		b.Run(mode.String(), func(b *testing.B) {
			pushes := benchPushes(b, mode, benchPool)
			// benchcmp matches this line against shared/callback's.
			b.Logf("%s: requests sha256 %x", b.Name(), requestsDigest(pushes))
			reqs := make([]*replayable, len(pushes))
			for i, p := range pushes {
				reqs[i] = newReplayable(p)
			}
			serve := officialAccount()

			// Prove, before the timer, that this is the success path: a reply
			// WeChat can open, carrying the answer.
			if err := checkReply(mode)(serve(reqs[0].next())); err != nil {
				b.Fatal(err)
			}

			b.ReportAllocs()
			i := 0
			for b.Loop() {
				if w, err := serve(reqs[i].next()); err != nil || w.Code != http.StatusOK || w.Body.Len() == 0 {
					b.Fatalf("push %d: %v, status %d, body %q", i, err, w.Code, w.Body)
				}
				if i++; i == len(reqs) {
					i = 0
				}
			}
		})
	}
}

// TestRepliesOpen checks every push of the pool, not just the first: each must
// get the answer, sealed in safe mode so that our signer opens it.
func TestRepliesOpen(t *testing.T) {
	logrus.SetOutput(io.Discard) // the SDK's debug lines, bodies included
	t.Cleanup(func() { logrus.SetOutput(os.Stdout) })
	for _, mode := range []wechattest.Mode{wechattest.Plaintext, wechattest.Safe} {
		serve := officialAccount()
		for i, p := range benchPushes(t, mode, benchPool) {
			if err := checkReply(mode)(serve(newReplayable(p).next())); err != nil {
				t.Fatalf("%s push %d: %v", mode, i, err)
			}
		}
	}
}

// checkReply returns the check of one served push, shaped to take serve's results.
func checkReply(mode wechattest.Mode) func(*httptest.ResponseRecorder, error) error {
	return func(w *httptest.ResponseRecorder, err error) error {
		if err != nil {
			return err
		}
		return checkRecorded(mode, w)
	}
}

func checkRecorded(mode wechattest.Mode, w *httptest.ResponseRecorder) error {
	if w.Code != http.StatusOK {
		return fmt.Errorf("status %d: %s", w.Code, w.Body)
	}
	body := w.Body.Bytes()
	inner := body
	if mode != wechattest.Plaintext {
		if !bytes.Contains(body, []byte("<MsgSignature>")) {
			return fmt.Errorf("safe mode answered an unsealed reply: %s", body)
		}
		s := wechattest.Signer{Token: benchToken, AppID: benchAppID, EncodingAESKey: benchAESKey}
		var err error
		if inner, err = s.OpenReply(body); err != nil {
			return fmt.Errorf("opening the reply %s: %w", body, err)
		}
	}
	if !bytes.Contains(inner, []byte("<Content><![CDATA["+benchAnswer+"]]></Content>")) ||
		!bytes.Contains(inner, []byte("<ToUserName><![CDATA["+benchOpenID+"]]></ToUserName>")) {
		return fmt.Errorf("reply is not the riddle's answer to the user: %s", inner)
	}
	return nil
}
