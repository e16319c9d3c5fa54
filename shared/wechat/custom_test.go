package wechat_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"wechatqr/shared/wechat"
	"wechatqr/shared/wechat/wechattest"
)

// customSetup is apiSetup with a fake clock shared by the platform, a
// token, and one follower whose scan window is open.
func customSetup(t *testing.T, opts ...wechat.ClientOption) (*wechattest.Platform, *wechat.Client, *wechattest.Clock, string, string) {
	t.Helper()
	clock := wechattest.NewClock(time.Date(2026, 12, 1, 2, 0, 0, 0, time.UTC))
	p, c, _ := apiSetup(t, wechattest.PlatformConfig{Now: clock.Now}, opts...)
	tok := apiToken(t, c)
	p.Reset()
	const openid = "oKqdL5Vn7Ek3wOq2fG8mZ1xYc9aQ"
	p.Follow(openid)
	return p, c, clock, tok, openid
}

func TestSendCustomMessageSendsSection12Bodies(t *testing.T) {
	const openid = "oKqdL5Vn7Ek3wOq2fG8mZ1xYc9aQ"
	tests := []struct {
		name string
		msg  wechat.CustomMessage
		body string
		seen string // ReceivedMessage.String
	}{
		{"text", wechat.TextMessage(openid, "Answer: a map\nsee <you> & me"),
			`{"touser":"` + openid + `","msgtype":"text","text":{"content":"Answer: a map\nsee <you> & me"}}`,
			`text "Answer: a map\nsee <you> & me"`},
		{"image", wechat.ImageMessage(openid, "MEDIA_ID_1"),
			`{"touser":"` + openid + `","msgtype":"image","image":{"media_id":"MEDIA_ID_1"}}`,
			`image MEDIA_ID_1`},
		{"news with picurl", wechat.NewsMessage(openid, wechat.Article{Title: "Prize", Description: "Claim it", URL: "https://example.com/p?a=1&b=2", PicURL: "https://example.com/a.jpg"}),
			`{"touser":"` + openid + `","msgtype":"news","news":{"articles":[{"title":"Prize","description":"Claim it","url":"https://example.com/p?a=1&b=2","picurl":"https://example.com/a.jpg"}]}}`,
			`news "Prize" (https://example.com/p?a=1&b=2)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, c, clock, tok, _ := customSetup(t)
			if err := c.SendCustomMessage(context.Background(), tok, tt.msg); err != nil {
				t.Fatalf("SendCustomMessage: %v", err)
			}
			log := p.CallLog(wechattest.PathCustomSend)
			if len(log) != 1 {
				t.Fatalf("%d calls, want 1", len(log))
			}
			if log[0].Method != http.MethodPost || string(log[0].Body) != tt.body || log[0].Query.Get("access_token") != tok {
				t.Errorf("sent %s %s\nwant POST %s with the token", log[0].Method, log[0].Body, tt.body)
			}
			got := p.Messages(openid)
			if len(got) != 1 || got[0].String() != tt.seen || !got[0].At.Equal(clock.Now()) {
				t.Errorf("follower received %v, want [%s] at %v", got, tt.seen, clock.Now())
			}
		})
	}
}

func TestSendCustomMessageRefusesBadMessagesWithoutSending(t *testing.T) {
	p, c, _, tok, openid := customSetup(t)
	tests := []struct {
		name string
		msg  wechat.CustomMessage
		tok  string
	}{
		{"no token", wechat.TextMessage(openid, "hi"), ""},
		{"no openid", wechat.TextMessage("", "hi"), tok},
		{"empty text", wechat.TextMessage(openid, ""), tok},
		{"image without media_id", wechat.ImageMessage(openid, ""), tok},
		{"news without title", wechat.NewsMessage(openid, wechat.Article{URL: "https://example.com"}), tok},
		{"unknown type", wechat.CustomMessage{ToUser: openid, MsgType: "voice", MediaID: "m"}, tok},
		{"control character in text", wechat.TextMessage(openid, "a\x00b"), tok},
		{"U+2029 in title", wechat.NewsMessage(openid, wechat.Article{Title: "a\u2029b"}), tok},
		{"newline in url", wechat.NewsMessage(openid, wechat.Article{Title: "t", URL: "https://e.com/\n"}), tok},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := c.SendCustomMessage(context.Background(), tt.tok, tt.msg); !errors.Is(err, wechat.ErrInvalidRequest) {
				t.Errorf("err = %v, want ErrInvalidRequest", err)
			}
		})
	}
	if n := p.Calls(wechattest.PathCustomSend); n != 0 {
		t.Errorf("%d calls; refused messages must not be sent", n)
	}
}

// loseCut, as lossySetup's status, cuts the connection instead of
// answering; loseHold holds the answer until the client gives up.
const (
	loseCut  = -1
	loseHold = 0
)

// lossySetup serves a platform behind a front that, for the first request
// to path, lets the platform act and then loses its answer: it answers
// status instead (a gateway's 5xx), cuts the connection (loseCut), or
// holds until the client gives up (loseHold). That is the case a blind
// retry turns into a second effect.
func lossySetup(t *testing.T, cfg wechattest.PlatformConfig, path string, status int, opts ...wechat.ClientOption) (*wechattest.Platform, *wechat.Client, *apiSleeps) {
	t.Helper()
	p := wechattest.NewPlatform(cfg)
	var mu sync.Mutex
	lost := false
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		lose := r.URL.Path == path && !lost
		lost = lost || lose
		mu.Unlock()
		if !lose {
			p.ServeHTTP(w, r)
			return
		}
		p.ServeHTTP(httptest.NewRecorder(), r) // the platform acts; its answer goes nowhere
		switch status {
		case loseHold:
			<-r.Context().Done()
		case loseCut:
			conn, _, err := http.NewResponseController(w).Hijack()
			if err != nil {
				t.Errorf("hijack: %v", err)
				return
			}
			conn.Close()
		default:
			http.Error(w, "<html>bad gateway</html>", status)
		}
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(p.Close)
	p.SetBaseURL(srv.URL)
	sleeps := &apiSleeps{}
	cfg = p.Config()
	opts = append([]wechat.ClientOption{wechat.WithSleep(sleeps.sleep)}, opts...)
	c, err := wechat.NewClient(srv.URL, cfg.AppID, cfg.AppSecret, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return p, c, sleeps
}

// custom/send is not idempotent: whatever goes wrong after the request
// may have reached WeChat, the client sends it once, even with retries
// allowed, and the follower sees the message at most once.
func TestSendCustomMessageIsNeverSentTwice(t *testing.T) {
	const openid = "oKqdL5Vn7Ek3wOq2fG8mZ1xYc9aQ"
	tests := []struct {
		name      string
		status    int  // lossySetup's; ignored when fault is set
		fault     bool // errcode -1 from the platform instead
		delivered int
		check     func(error) bool
	}{
		{"502 after delivery", http.StatusBadGateway, false, 1, isHTTPStatus(502)},
		{"500 after delivery", http.StatusInternalServerError, false, 1, isHTTPStatus(500)},
		{"503 after delivery", http.StatusServiceUnavailable, false, 1, isHTTPStatus(503)},
		{"timeout after delivery", loseHold, false, 1, isTimeout},
		{"connection cut after delivery", loseCut, false, 1, func(err error) bool { return err != nil }},
		{"system error -1", 0, true, 0, wechat.IsBusy},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clock := wechattest.NewClock(time.Date(2026, 12, 1, 2, 0, 0, 0, time.UTC))
			lossy := wechattest.PathCustomSend
			if tt.fault {
				lossy = "" // the platform's own -1, through an honest front
			}
			p, c, sleeps := lossySetup(t, wechattest.PlatformConfig{Now: clock.Now}, lossy, tt.status,
				wechat.WithMaxRetries(5), wechat.WithAttemptTimeout(300*time.Millisecond))
			tok := platformToken(t, p)
			p.Follow(openid)
			if tt.fault {
				p.FailNext(wechattest.PathCustomSend, 5, wechattest.ErrCodeFault(wechat.CodeSystemBusy))
			}
			err := c.SendCustomMessage(context.Background(), tok, wechat.TextMessage(openid, "riddle answer"))
			if !tt.check(err) {
				t.Fatalf("err = %v, not the failure expected", err)
			}
			if n := p.Calls(wechattest.PathCustomSend); n != 1 || len(sleeps.got()) != 0 {
				t.Errorf("%d calls and %d waits, want 1 and 0: a repeat may show the message twice", n, len(sleeps.got()))
			}
			if got := p.Messages(openid); len(got) != tt.delivered {
				t.Errorf("follower received %v, want %d message(s)", got, tt.delivered)
			}
		})
	}
}

func isHTTPStatus(status int) func(error) bool {
	return func(err error) bool {
		var he *wechat.HTTPError
		return errors.As(err, &he) && he.StatusCode == status
	}
}

func isTimeout(err error) bool {
	var timeout interface{ Timeout() bool }
	return errors.As(err, &timeout) && timeout.Timeout()
}

// A connection that was never made cannot have sent anything: that one
// failure is retried.
func TestSendCustomMessageRetriesARefusedConnection(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	base := srv.URL
	srv.Close()
	var waits int
	c, err := wechat.NewClient(base, "", "", wechat.WithSleep(func(context.Context, time.Duration) error { waits++; return nil }))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.SendCustomMessage(context.Background(), "88_tok", wechat.TextMessage("oA", "hi")); err == nil {
		t.Fatal("sent to a closed server")
	}
	if waits != wechat.DefaultMaxRetries {
		t.Errorf("%d waits, want %d", waits, wechat.DefaultMaxRetries)
	}
}

func TestSendCustomMessageErrorsAreTyped(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name  string
		setup func(p *wechattest.Platform, c *wechat.Client, clock *wechattest.Clock, tok, openid string) (string, wechat.CustomMessage)
		code  int
		is    func(error) bool
		kept  int // messages the follower holds afterwards
	}{
		{"outside the window", func(p *wechattest.Platform, c *wechat.Client, clock *wechattest.Clock, tok, openid string) (string, wechat.CustomMessage) {
			clock.Advance(time.Minute)
			return tok, wechat.TextMessage(openid, "late")
		}, wechat.CodeOutOfWindow, wechat.IsOutOfWindow, 0},
		{"fourth message of a window", func(p *wechattest.Platform, c *wechat.Client, clock *wechattest.Clock, tok, openid string) (string, wechat.CustomMessage) {
			for i := range 3 {
				clock.Advance(10 * time.Second)
				if err := c.SendCustomMessage(ctx, tok, wechat.TextMessage(openid, fmt.Sprint("follow-up ", i))); err != nil {
					t.Fatalf("message %d: %v", i, err)
				}
			}
			return tok, wechat.TextMessage(openid, "fourth")
		}, wechat.CodeResponseLimit, wechat.IsResponseLimit, 3},
		{"not a follower", func(p *wechattest.Platform, c *wechat.Client, clock *wechattest.Clock, tok, openid string) (string, wechat.CustomMessage) {
			return tok, wechat.TextMessage("oNeverFollowedThisAccount000", "hi")
		}, wechat.CodeInvalidOpenID, wechat.IsInvalidOpenID, 0},
		{"unverified account", func(p *wechattest.Platform, c *wechat.Client, clock *wechattest.Clock, tok, openid string) (string, wechat.CustomMessage) {
			p.FailNext(wechattest.PathCustomSend, 1, wechattest.ErrCodeFault(wechat.CodeUnauthorized))
			return tok, wechat.TextMessage(openid, "hi")
		}, wechat.CodeUnauthorized, wechat.IsUnauthorized, 0},
		{"unknown token", func(p *wechattest.Platform, c *wechat.Client, clock *wechattest.Clock, tok, openid string) (string, wechat.CustomMessage) {
			return "88_not-issued", wechat.TextMessage(openid, "hi")
		}, wechat.CodeInvalidAccessToken, wechat.IsTokenError, 0},
		{"expired token", func(p *wechattest.Platform, c *wechat.Client, clock *wechattest.Clock, tok, openid string) (string, wechat.CustomMessage) {
			clock.Advance(7200 * time.Second)
			p.Follow(openid) // a fresh window: only the token is wrong
			return tok, wechat.TextMessage(openid, "hi")
		}, wechat.CodeAccessTokenExpired, wechat.IsTokenError, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, c, clock, tok, openid := customSetup(t)
			tok, msg := tt.setup(p, c, clock, tok, openid)
			before := p.Calls(wechattest.PathCustomSend)
			err := c.SendCustomMessage(ctx, tok, msg)
			var apiErr *wechat.APIError
			if !errors.As(err, &apiErr) || apiErr.Code != tt.code {
				t.Fatalf("err = %v, want *APIError %d", err, tt.code)
			}
			if !tt.is(err) {
				t.Errorf("the helper for %d does not recognise it", tt.code)
			}
			if n := p.Calls(wechattest.PathCustomSend) - before; n != 1 {
				t.Errorf("%d calls, want 1", n)
			}
			if got := p.Messages(openid); len(got) != tt.kept {
				t.Errorf("follower holds %d messages, want %d", len(got), tt.kept)
			}
		})
	}
}

// A scan's window takes three messages, in order, each at its time.
func TestFollowUpsArriveInOrderWithinTheWindow(t *testing.T) {
	p, c, clock, tok, openid := customSetup(t)
	msgs := []wechat.CustomMessage{
		wechat.TextMessage(openid, "The answer is a map."),
		wechat.ImageMessage(openid, "MEDIA_MAP"),
		wechat.NewsMessage(openid, wechat.Article{Title: "More riddles", URL: "https://example.com/r"}),
	}
	var times []time.Time
	for _, m := range msgs {
		clock.Advance(15 * time.Second)
		times = append(times, clock.Now())
		if err := c.SendCustomMessage(context.Background(), tok, m); err != nil {
			t.Fatalf("%s: %v", m.MsgType, err)
		}
	}
	got := p.Messages(openid)
	want := []string{`text "The answer is a map."`, "image MEDIA_MAP", `news "More riddles" (https://example.com/r)`}
	if len(got) != len(want) {
		t.Fatalf("received %v, want %v", got, want)
	}
	for i := range want {
		if got[i].String() != want[i] || !got[i].At.Equal(times[i]) {
			t.Errorf("message %d: %s at %v, want %s at %v", i, got[i], got[i].At, want[i], times[i])
		}
	}
}

// platformToken gets a token from p through a client with the default
// timeouts, so that a test's tight attempt timeout, meant for the call
// under test, cannot fail the setup on a loaded machine.
func platformToken(t *testing.T, p *wechattest.Platform) string {
	t.Helper()
	cfg := p.Config()
	c, err := wechat.NewClient(p.URL(), cfg.AppID, cfg.AppSecret)
	if err != nil {
		t.Fatal(err)
	}
	return apiToken(t, c)
}

// The access token stays out of the errors of the §12 calls: timeouts
// (whose *url.Error carries the URL), refused connections, and answers
// that echo it.
func TestSection12ErrorsNeverShowTheToken(t *testing.T) {
	p, srv := wechattest.NewServer(wechattest.PlatformConfig{})
	defer p.Close()
	noWait := wechat.WithSleep(func(context.Context, time.Duration) error { return nil })
	c, err := wechat.NewClient(srv.URL, "", "", wechat.WithAttemptTimeout(30*time.Millisecond), noWait)
	if err != nil {
		t.Fatal(err)
	}
	tok := platformToken(t, p)
	p.Follow("oA")
	echo := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == wechattest.PathCustomSend {
			fmt.Fprintf(w, `{"errcode":45015,"errmsg":"out of time %s"}`, r.URL.Query().Get("access_token"))
			return
		}
		w.WriteHeader(http.StatusBadGateway)
		fmt.Fprintf(w, "upstream refused %s", r.URL.String())
	}))
	defer echo.Close()
	ce, _ := wechat.NewClient(echo.URL, "", "", noWait)
	closed := httptest.NewServer(http.NotFoundHandler())
	closed.Close()
	cc, _ := wechat.NewClient(closed.URL, "", "", noWait)

	calls := map[string]func(*wechat.Client) error{
		wechattest.PathTagsCreate:   func(c *wechat.Client) error { _, err := c.CreateTag(context.Background(), tok, "t"); return err },
		wechattest.PathTagsGet:      func(c *wechat.Client) error { _, err := c.Tags(context.Background(), tok); return err },
		wechattest.PathBatchTagging: func(c *wechat.Client) error { return c.BatchTag(context.Background(), tok, 2, []string{"oA"}) },
		wechattest.PathCustomSend: func(c *wechat.Client) error {
			return c.SendCustomMessage(context.Background(), tok, wechat.TextMessage("oA", "hi"))
		},
	}
	for path, run := range calls {
		for _, how := range []string{"timed out", "refused", "echoed"} {
			t.Run(path+" "+how, func(t *testing.T) {
				var err error
				switch how {
				case "timed out":
					p.FailNext(path, 3, wechattest.HangFault(0))
					t.Cleanup(p.Reset) // custom/send uses one of the three
					err = run(c)
				case "refused":
					err = run(cc)
				default:
					err = run(ce)
				}
				if err == nil {
					t.Fatal("no error")
				}
				texts := []string{}
				for e := err; e != nil; e = errors.Unwrap(e) {
					texts = append(texts, e.Error(), fmt.Sprintf("%+v", e))
				}
				var he *wechat.HTTPError
				if errors.As(err, &he) {
					texts = append(texts, string(he.Body))
				}
				for _, s := range texts {
					if strings.Contains(s, tok) {
						t.Fatalf("error text leaks the token: %s", s)
					}
				}
			})
		}
	}
}
