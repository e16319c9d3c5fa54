package callback_test

import (
	"bytes"
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"wechatqr/shared/qr"
	"wechatqr/shared/wechat/wechattest"
)

// TestASignatureServesOneBody reproduces the reuse in plaintext mode: a genuine
// query (timestamp, nonce, signature) already served with one body is refused
// with any other body inside the window, and nothing is written, while WeChat's
// retry of the same body gets the same reply. A forged body that would claim
// nothing (a text message) is refused the same way.
func TestASignatureServesOneBody(t *testing.T) {
	f := newFixture(t) // plaintext mode
	f.putCode(t, "riddle-1", qr.TextReply("Answer: a map"))
	const id = "aaaabbbbccccddddeeeeffffgg"
	f.session(t, id, now.Add(3*time.Minute))
	q, body, err := signer.Push(signer.ScanXML(openID, "riddle-1", now.Unix(), "T"), wechattest.Plaintext, now.Unix(), "468035")
	if err != nil {
		t.Fatal(err)
	}
	first := f.serve(signer.Request("/wechat", q, body))
	if got := replyOf(t, first).Content; got != "Answer: a map" {
		t.Fatalf("the genuine push: reply %q", got)
	}
	before := f.itemsF()
	st, err := f.store.SceneStats(context.Background(), "riddle-1", "", "")
	if err != nil {
		t.Fatal(err)
	}

	retry := f.serve(signer.Request("/wechat", q, body))
	if retry.Code != 200 || !bytes.Equal(stripCreateTime(retry.Body.Bytes()), stripCreateTime(first.Body.Bytes())) {
		t.Errorf("WeChat's retry: %d %q, want the first reply %q", retry.Code, retry.Body, first.Body)
	}

	forged := []struct {
		name   string
		inner  []byte
		status int
	}{
		{"three forged subscribes", signer.SubscribeXML("oForged-1", "riddle-1", now.Unix(), "T"), 403},
		{"", signer.SubscribeXML("oForged-2", "riddle-1", now.Unix(), "T"), 403},
		{"", signer.SubscribeXML("oForged-3", "riddle-1", now.Unix(), "T"), 403},
		{"a forged scan by the same follower a second later", signer.ScanXML(openID, "riddle-1", now.Unix()+1, "T"), 403},
		{"a forged follow through no code", signer.SubscribeXML("oForged-4", "", now.Unix(), ""), 403},
		{"a forged leaving", signer.UnsubscribeXML(openID, now.Unix()), 403},
		{"a forged log-in", signer.ScanXML("oForged-5", qr.LoginPrefix+id, now.Unix(), "T"), 403},
		{"a forged text message", signer.TextXML(openID, "hi", now.Unix(), 42), 403},
	}
	// The genuine push itself, its bytes altered (the same dedupe key: the claim
	// is found, and still the body is not the one the signature served).
	forged = append(forged, struct {
		name   string
		inner  []byte
		status int
	}{"the genuine push with other bytes", bytes.Replace(body, []byte("<xml>"), []byte("<xml> "), 1), 403})
	for i, p := range forged {
		fbody := p.inner
		if i < len(forged)-1 {
			if _, fbody, err = signer.Push(p.inner, wechattest.Plaintext, now.Unix(), "468035"); err != nil {
				t.Fatal(err)
			}
		}
		w := f.serve(signer.Request("/wechat", q, fbody)) // the genuine query, a forged body
		switch {
		case w.Code != p.status:
			t.Errorf("%s: %d %q, want %d", p.name, w.Code, w.Body, p.status)
		case p.status == 403 && !strings.Contains(w.Body.String(), "already served with another body"):
			t.Errorf("%s: %q", p.name, w.Body)
		case p.status == 200 && w.Body.String() != "success":
			t.Errorf("%s: %q, want success", p.name, w.Body)
		}
	}
	if after := f.itemsF(); after != before {
		t.Errorf("the forged bodies wrote %d items", after-before)
	}
	after, err := f.store.SceneStats(context.Background(), "riddle-1", "", "")
	if err != nil {
		t.Fatal(err)
	}
	if after.Totals != st.Totals {
		t.Errorf("counts went from %+v to %+v", st.Totals, after.Totals)
	}
	if sess, err := f.store.Session(context.Background(), id); err != nil || sess.Status != qr.SessionPending {
		t.Errorf("the log-in session after a forged bind: %+v, %v; want pending", sess, err)
	}
	// The same forged body under its own genuine query is served: the refusal is
	// of the reuse, not of the body.
	oq, obody, err := signer.Push(forged[0].inner, wechattest.Plaintext, now.Unix(), "another nonce")
	if err != nil {
		t.Fatal(err)
	}
	if w := f.serve(signer.Request("/wechat", oq, obody)); w.Code != http.StatusOK {
		t.Errorf("a subscribe under its own signature: %d %q", w.Code, w.Body)
	}
}

// stripCreateTime drops a reply's CreateTime, which is the time of rendering.
func stripCreateTime(b []byte) []byte {
	i, j := bytes.Index(b, []byte("<CreateTime>")), bytes.Index(b, []byte("</CreateTime>"))
	if i < 0 || j < i {
		return b
	}
	return append(append([]byte(nil), b[:i]...), b[j:]...)
}
