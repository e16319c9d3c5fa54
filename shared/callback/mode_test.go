package callback_test

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"wechatqr/shared/callback"
	"wechatqr/shared/qr"
	"wechatqr/shared/wechat"
	"wechatqr/shared/wechat/wechattest"
)

// TestMessageModeRefusesAPlainPushWhenEncrypted reproduces the downgrade: a plain
// push under a genuine query signature, sent to an account in compatible or safe
// mode (or in the default mode with a key configured), is refused with 403 and
// writes nothing, while that mode's own pushes are served. Plaintext serves both.
func TestMessageModeRefusesAPlainPushWhenEncrypted(t *testing.T) {
	tests := []struct {
		mode    callback.MessageMode
		noKey   bool
		refused []wechattest.Mode // refused with 403; the others are served
	}{
		{callback.Plaintext, false, nil},
		{callback.Plaintext, true, nil}, // only plain pushes are sent: there is no key to encrypt under
		{callback.Compatible, false, []wechattest.Mode{wechattest.Plaintext}},
		{callback.Safe, false, []wechattest.Mode{wechattest.Plaintext}},
		{"", false, []wechattest.Mode{wechattest.Plaintext}}, // the default with a key is safe
		{"", true, nil}, // the default without a key is plaintext
	}
	for _, tt := range tests {
		name := string(tt.mode)
		if name == "" {
			name = "default"
		}
		if tt.noKey {
			name += " without a key"
		}
		t.Run(name, func(t *testing.T) {
			f := newFixture(t, func(c *callback.Config) {
				c.MessageMode = tt.mode
				if tt.noKey {
					c.Cipher = nil
				}
			})
			f.putCode(t, "riddle-1", qr.TextReply("Answer: a map"))
			pushModes := []wechattest.Mode{wechattest.Plaintext, wechattest.Compatible, wechattest.Safe}
			if tt.noKey {
				pushModes = pushModes[:1]
			}
			for i, pm := range pushModes {
				refused := false
				for _, r := range tt.refused {
					refused = refused || r == pm
				}
				before := f.itemsF()
				// Each push is another CreateTime, so that a served one is a first delivery.
				w := f.push(t, signer.ScanXML(openID, "riddle-1", now.Unix()+int64(i), "T"), pm)
				switch {
				case refused:
					if w.Code != http.StatusForbidden || !strings.Contains(w.Body.String(), "without encrypt_type=aes is refused") {
						t.Errorf("%v push: got %d %q, want 403", pm, w.Code, w.Body)
					}
					if after := f.itemsF(); after != before {
						t.Errorf("%v push: the refused push wrote %d items", pm, after-before)
					}
				default:
					if got := replyOf(t, w).Content; got != "Answer: a map" {
						t.Errorf("%v push: reply %q", pm, got)
					}
				}
			}
		})
	}
}

// TestURLVerificationIsTheSameInEveryMode: WeChat checks the URL with a plain
// signed GET whatever the account's mode.
func TestURLVerificationIsTheSameInEveryMode(t *testing.T) {
	for _, mode := range []callback.MessageMode{callback.Plaintext, callback.Compatible, callback.Safe, ""} {
		f := newFixture(t, func(c *callback.Config) { c.MessageMode = mode })
		w := f.serve(httptest.NewRequest("GET", "/wechat?"+signer.Verification("echo-1", now.Unix(), "1").Encode(), nil))
		if w.Code != 200 || w.Body.String() != "echo-1" {
			t.Errorf("mode %q: got %d %q", mode, w.Code, w.Body)
		}
	}
}

// readSpy is a body that records whether anything read it.
type readSpy struct {
	r    io.Reader
	read bool
}

func (s *readSpy) Read(p []byte) (int, error) {
	s.read = true
	return s.r.Read(p)
}

// TestTheSignatureAndModeAreCheckedBeforeTheBodyIsRead: a push that cannot be
// served is refused without its body being read at all.
func TestTheSignatureAndModeAreCheckedBeforeTheBodyIsRead(t *testing.T) {
	f := newFixture(t, func(c *callback.Config) { c.MessageMode = callback.Safe })
	scan := signer.ScanXML(openID, "riddle-1", now.Unix(), "T")
	plainQ, plainBody, err := signer.Push(scan, wechattest.Plaintext, now.Unix(), "1")
	if err != nil {
		t.Fatal(err)
	}
	safeQ, safeBody, err := signer.Push(scan, wechattest.Safe, now.Unix(), "1")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		req    func(body io.Reader) *http.Request
		status int
	}{
		{"bad signature", func(b io.Reader) *http.Request {
			return httptest.NewRequest("POST", "/wechat?"+with(safeQ, "signature", strings.Repeat("0", 40)).Encode(), b)
		}, 401},
		{"stale timestamp", func(b io.Reader) *http.Request {
			return httptest.NewRequest("POST", "/wechat?"+with(safeQ, "timestamp", "1").Encode(), b)
		}, 401},
		{"plain push in safe mode", func(b io.Reader) *http.Request {
			return httptest.NewRequest("POST", "/wechat?"+plainQ.Encode(), b)
		}, 403},
		{"no msg_signature", func(b io.Reader) *http.Request {
			return httptest.NewRequest("POST", "/wechat?"+with(safeQ, "msg_signature", "").Encode(), b)
		}, 400},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			spy := &readSpy{r: bytes.NewReader(append(plainBody, safeBody...))}
			w := f.serve(tt.req(spy))
			if w.Code != tt.status {
				t.Errorf("got %d %q, want %d", w.Code, w.Body, tt.status)
			}
			if spy.read {
				t.Error("the body was read before the request was refused")
			}
		})
	}
}

func TestConfigFromEnvReadsTheMessageMode(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
		want callback.MessageMode
		err  string
	}{
		{"unset is the default rule", map[string]string{}, "", ""},
		{"plaintext", map[string]string{"WECHAT_MESSAGE_MODE": "plaintext"}, callback.Plaintext, ""},
		{"safe with a key", map[string]string{"WECHAT_MESSAGE_MODE": "safe", "WECHAT_ENCODING_AES_KEY": aesKey}, callback.Safe, ""},
		{"compatible with the key in the secret", map[string]string{"WECHAT_MESSAGE_MODE": "compatible", "WECHAT_SECRET_ID": "wechat"}, callback.Compatible, ""},
		{"safe with the key in the callback's secret", map[string]string{"WECHAT_MESSAGE_MODE": "safe", "WECHAT_CALLBACK_SECRET_ID": "wechat-callback"}, callback.Safe, ""},
		{"a bad value", map[string]string{"WECHAT_MESSAGE_MODE": "Safe"}, "", `WECHAT_MESSAGE_MODE: "Safe" is not a message mode`},
		{"safe without a key", map[string]string{"WECHAT_MESSAGE_MODE": "safe"}, "", "WECHAT_MESSAGE_MODE: safe mode needs the account's EncodingAESKey"},
		{"compatible without a key", map[string]string{"WECHAT_MESSAGE_MODE": "compatible"}, "", "WECHAT_MESSAGE_MODE: compatible mode needs"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.env["WECHAT_APP_ID"] = appID
			cfg, err := callback.ConfigFromEnv(func(k string) string { return tt.env[k] })
			switch {
			case tt.err != "":
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Errorf("err = %v, want one containing %q", err, tt.err)
				}
			case err != nil:
				t.Fatal(err)
			case cfg.MessageMode != tt.want:
				t.Errorf("MessageMode = %q, want %q", cfg.MessageMode, tt.want)
			}
		})
	}
}

// TestSafeModeWithoutAKeyIsRefused: New refuses it, and a live secret that has
// lost its key makes every push a 500 (WeChat retries), never a plain serve.
func TestSafeModeWithoutAKeyIsRefused(t *testing.T) {
	_, err := callback.New(callback.Config{AppID: appID, Token: token, MessageMode: callback.Safe}, nil, nil)
	if err == nil {
		t.Fatal("New accepted safe mode without a key")
	}
	f := newFixture(t, func(c *callback.Config) {
		c.MessageMode, c.Cipher = callback.Safe, nil
		c.Keys = callback.StaticKeys{V: mustVerifier(t)}
	})
	before := f.itemsF()
	w := f.push(t, signer.ScanXML(openID, "riddle-1", now.Unix(), "T"), wechattest.Safe)
	if w.Code != 500 || !strings.Contains(w.Body.String(), "safe mode needs the account's EncodingAESKey") {
		t.Errorf("got %d %q, want 500", w.Code, w.Body)
	}
	if f.itemsF() != before {
		t.Error("the refused push wrote items")
	}
	if !strings.Contains(f.logs.String(), "needs the account's EncodingAESKey") {
		t.Errorf("the log does not say what is missing:\n%s", f.logs)
	}
}

func mustVerifier(t *testing.T) *wechat.Verifier {
	t.Helper()
	v, err := wechat.NewVerifier(wechat.Keys{Token: token})
	if err != nil {
		t.Fatal(err)
	}
	return v
}
