package callback_test

import (
	"context"
	"encoding/xml"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"wechatqr/shared/callback"
	"wechatqr/shared/qr"
	"wechatqr/shared/secrets"
	"wechatqr/shared/wechat"
	"wechatqr/shared/wechat/wechattest"
)

// A rotation in progress: the protocol vectors' Token and key are the previous
// values, these the new ones.
const (
	newToken       = "rotated0token"
	newAESKey      = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
	strangerToken  = "neverconfigured"
	strangerAESKey = "ZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZ"
)

var rotated = wechattest.Signer{Token: newToken, AppID: appID, EncodingAESKey: newAESKey, PreviousToken: token, PreviousEncodingAESKey: aesKey}

func rotatingFixture(t *testing.T) *fixture {
	t.Helper()
	return newFixture(t, func(c *callback.Config) {
		cur, err := wechat.NewCipher(newAESKey, appID)
		if err != nil {
			t.Fatal(err)
		}
		c.Token, c.Cipher, c.PreviousToken, c.PreviousCipher = newToken, cur, token, c.Cipher
	})
}

// pushUnder sends inner under s in mode and returns the answer.
func pushUnder(t *testing.T, f *fixture, s wechattest.Signer, inner []byte, mode wechattest.Mode) *httptest.ResponseRecorder {
	t.Helper()
	q, body, err := s.Push(inner, mode, now.Unix(), nonceOf(inner))
	if err != nil {
		t.Fatal(err)
	}
	return f.serve(s.Request("/wechat", q, body))
}

// contentUnder opens an answer as the Signer s would and returns its text.
func contentUnder(t *testing.T, s wechattest.Signer, w *httptest.ResponseRecorder) (string, error) {
	t.Helper()
	if w.Code != http.StatusOK {
		t.Fatalf("status %d: %s", w.Code, w.Body)
	}
	inner, err := s.OpenReply(w.Body.Bytes())
	if err != nil {
		return "", err
	}
	var r replyXML
	if err := xml.Unmarshal(inner, &r); err != nil {
		t.Fatalf("reply %q: %v", inner, err)
	}
	return r.Content, nil
}

func TestPushesUnderThePreviousTokenOrKeyAreServed(t *testing.T) {
	f := rotatingFixture(t)
	f.putCode(t, "riddle-1", qr.TextReply("Answer: a map"))
	cur, prev := wechat.Current, wechat.Previous
	tests := []struct {
		token, key wechat.Generation
		mode       wechattest.Mode
	}{
		{cur, cur, wechattest.Plaintext},
		{prev, cur, wechattest.Plaintext},
		{cur, cur, wechattest.Safe},
		{prev, prev, wechattest.Safe},
		{cur, prev, wechattest.Safe},
		{prev, cur, wechattest.Compatible},
		{prev, prev, wechattest.Compatible},
	}
	for i, tt := range tests {
		name := tt.mode.String() + ", " + tt.token.String() + " Token"
		if tt.mode != wechattest.Plaintext {
			name += ", " + tt.key.String() + " key"
		}
		t.Run(name, func(t *testing.T) {
			s := rotated.Using(tt.token, tt.key)
			user := "user-" + strconv.Itoa(i)
			inner := s.ScanXML(user, "riddle-1", now.Unix(), "T")
			for delivery := 1; delivery <= 2; delivery++ { // the second is WeChat's retry
				w := pushUnder(t, f, s, inner, tt.mode)
				got, err := contentUnder(t, s, w)
				if err != nil || got != "Answer: a map" {
					t.Fatalf("delivery %d: reply %q, %v; want the riddle's answer under the values the push came with", delivery, got, err)
				}
				if tt.mode != wechattest.Plaintext && tt.key != tt.token {
					// Opened under the other key, it must not: the reply went back sealed with
					// the key that opened the push.
					if _, err := contentUnder(t, rotated.Using(tt.token, 1-tt.key), w); err == nil {
						t.Errorf("delivery %d: the reply opens under the other key too", delivery)
					}
				}
			}
			line := lastLine(f.logs.String(), `"msg":"push"`)
			if !strings.Contains(line, `"token":"`+tt.token.String()+`"`) || !strings.Contains(line, `"outcome":"duplicate"`) {
				t.Errorf("log line %s: want token %s and the retry's outcome", line, tt.token)
			}
			if wantKey := `"aes_key":"` + tt.key.String() + `"`; tt.mode != wechattest.Plaintext && !strings.Contains(line, wantKey) {
				t.Errorf("log line %s: want %s", line, wantKey)
			}
		})
	}
	claims, records := f.events()
	if claims != len(tests) || records != len(tests) {
		t.Errorf("%d claims and %d scan records, want %d each: every push once, no retry counted", claims, records, len(tests))
	}
	if logs := f.logs.String(); strings.Contains(logs, newToken) || strings.Contains(logs, newAESKey) || strings.Contains(logs, aesKey) || strings.Contains(logs, `"token":"`+token) {
		t.Errorf("the logs quote a secret:\n%s", logs)
	}
}

// TestARetryUnderTheOtherKeyGetsTheStoredReplyUnderItsOwnKey: the first
// delivery opened with the current key, the retry (re-sealed, as after a change
// in the console) with the previous one. The retry counts nothing and answers the
// first delivery's reply, sealed with the key that opened the retry.
func TestARetryUnderTheOtherKeyGetsTheStoredReplyUnderItsOwnKey(t *testing.T) {
	f := rotatingFixture(t)
	f.putCode(t, "riddle-1", qr.TextReply("Answer: a map"))
	first, retry := rotated.Using(wechat.Current, wechat.Current), rotated.Using(wechat.Current, wechat.Previous)
	inner := first.ScanXML(openID, "riddle-1", now.Unix(), "T")
	if got, err := contentUnder(t, first, pushUnder(t, f, first, inner, wechattest.Safe)); err != nil || got != "Answer: a map" {
		t.Fatalf("first delivery: %q, %v", got, err)
	}
	w := pushUnder(t, f, retry, inner, wechattest.Safe)
	if got, err := contentUnder(t, retry, w); err != nil || got != "Answer: a map" {
		t.Fatalf("the retry under the previous key: %q, %v", got, err)
	}
	if _, err := contentUnder(t, first, w); err == nil {
		t.Error("the retry's reply opens under the current key: it must go back under the key that opened the retry")
	}
	if claims, records := f.events(); claims != 1 || records != 1 {
		t.Errorf("%d claims, %d records; want 1 and 1", claims, records)
	}
}

// wrongKey is what a text sealed under another key decrypts to under ours: its
// padding is almost always wrong, and about once in 256 random IVs the padding
// happens to be valid and the frame's length field is what is wrong.
var wrongKey = []string{"bad padding", "bad length field"}

func TestUnknownTokenOrKeyIsRefusedAndWritesNothing(t *testing.T) {
	f := rotatingFixture(t)
	f.putCode(t, "riddle-1", qr.TextReply("Answer: a map"))
	before := f.itemsF()
	stranger := wechattest.Signer{Token: strangerToken, AppID: appID, EncodingAESKey: strangerAESKey}
	keyOnly := wechattest.Signer{Token: newToken, AppID: appID, EncodingAESKey: strangerAESKey}
	tokenOnly := wechattest.Signer{Token: strangerToken, AppID: appID, EncodingAESKey: newAESKey}
	otherApp := wechattest.Signer{Token: token, AppID: "wx0000000000000000", EncodingAESKey: aesKey}
	tests := []struct {
		name   string
		s      wechattest.Signer
		mode   wechattest.Mode
		status int
		reason []string // any of these: what a wrong key decrypts to depends on the random IV
	}{
		{"an unknown Token, plaintext", stranger, wechattest.Plaintext, 401, []string{"signature does not match"}},
		{"an unknown Token, safe", tokenOnly, wechattest.Safe, 401, []string{"signature does not match"}},
		{"an unknown key", keyOnly, wechattest.Safe, 400, wrongKey},
		{"the previous key sealed for another AppID", otherApp, wechattest.Safe, 400, wrongKey},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := pushUnder(t, f, tt.s, tt.s.ScanXML(openID, "riddle-1", now.Unix(), "T"), tt.mode)
			if w.Code != tt.status || !slices.ContainsFunc(tt.reason, func(r string) bool { return strings.Contains(w.Body.String(), r) }) {
				t.Errorf("got %d %q, want %d and one of %q", w.Code, w.Body, tt.status, tt.reason)
			}
		})
	}
	if n := f.itemsF(); n != before {
		t.Errorf("%d items written by refused pushes", n-before)
	}
	for _, tt := range []struct {
		name   string
		s      wechattest.Signer
		status int
	}{{"current", rotated, 200}, {"previous", rotated.Using(wechat.Previous, wechat.Current), 200}, {"unknown", stranger, 401}} {
		w := f.serve(httptest.NewRequest("GET", "/wechat?"+tt.s.Verification("echo", now.Unix(), "1").Encode(), nil))
		if w.Code != tt.status || tt.status == 200 && w.Body.String() != "echo" {
			t.Errorf("URL verification under the %s Token: %d %q, want %d", tt.name, w.Code, w.Body, tt.status)
		}
	}
	if line := lastLine(f.logs.String(), `"msg":"url verified"`); !strings.Contains(line, `"token":"previous"`) {
		t.Errorf("the last verification's log line %s does not say the previous Token served", line)
	}
}

// TestAPushUnderANewTokenWaitsForTheDueRefresh: an instance whose values are
// older than the refresh interval, pushed to under a Token it has not read yet
// (WeChat's console changed while it idled), re-reads the secret once and
// serves the push; with values still fresh, it refuses at once without a read.
func TestAPushUnderANewTokenWaitsForTheDueRefresh(t *testing.T) {
	var clock atomic.Int64
	clock.Store(now.UnixNano())
	oldV, err := wechat.NewVerifier(wechat.Keys{Token: token})
	if err != nil {
		t.Fatal(err)
	}
	newV, err := wechat.NewVerifier(wechat.Keys{Token: newToken, PreviousToken: token})
	if err != nil {
		t.Fatal(err)
	}
	var reads atomic.Int32
	live := secrets.NewLive(oldV, func(context.Context) (*wechat.Verifier, error) {
		reads.Add(1)
		return newV, nil
	}, secrets.LiveOptions{Interval: time.Minute, Now: func() time.Time { return time.Unix(0, clock.Load()) }})
	f := newFixture(t, func(c *callback.Config) { c.Keys = live })
	f.putCode(t, "riddle-1", qr.TextReply("Answer: a map"))
	s := wechattest.Signer{Token: newToken, AppID: appID}

	w := pushUnder(t, f, s, s.ScanXML(openID, "riddle-1", now.Unix(), "T"), wechattest.Plaintext)
	if w.Code != 401 || reads.Load() != 0 {
		t.Fatalf("fresh values: %d %q after %d reads, want 401 and no read", w.Code, w.Body, reads.Load())
	}
	clock.Add(int64(time.Minute))
	w = pushUnder(t, f, s, s.ScanXML(openID, "riddle-1", now.Unix(), "T"), wechattest.Plaintext)
	if w.Code != 200 || reads.Load() != 1 {
		t.Fatalf("due values: %d %q after %d reads, want 200 after 1", w.Code, w.Body, reads.Load())
	}
	w = pushUnder(t, f, wechattest.Signer{Token: strangerToken}, s.ScanXML("u2", "riddle-1", now.Unix(), "T"), wechattest.Plaintext)
	if w.Code != 401 || reads.Load() != 1 {
		t.Errorf("an unknown Token after the refresh: %d after %d reads, want 401 and no other read", w.Code, reads.Load())
	}
}

// lastLine is the last line of logs containing marker.
func lastLine(logs, marker string) string {
	lines := strings.Split(strings.TrimSpace(logs), "\n")
	for i := len(lines) - 1; i >= 0; i-- {
		if strings.Contains(lines[i], marker) {
			return lines[i]
		}
	}
	return ""
}
