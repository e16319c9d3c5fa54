package wechattest_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"

	"wechatqr/shared/wechat"
	"wechatqr/shared/wechat/wechattest"
)

// callback is a minimal account server that checks every push the way
// §3 says (signature, then msg_signature and decryption in the encrypted
// modes), records what it got, and answers a scan with "Answer to
// <scene>", sealed when the push was.
type callback struct {
	t      *testing.T
	token  string
	cipher *wechat.Cipher
	// before, when set, runs first with the 1-based request number: a hook
	// for slow or failing handlers.
	before func(n int, w http.ResponseWriter) bool
	// sealToken, when set, seals replies with another Token (a broken reply).
	sealToken string

	mu      sync.Mutex
	n       int
	msgs    []wechat.Message
	bodies  [][]byte
	queries []string
}

func newCallback(t *testing.T, p *wechattest.Platform) (*callback, string) {
	t.Helper()
	cfg := p.Config()
	c, err := wechat.NewCipher(cfg.EncodingAESKey, cfg.AppID)
	if err != nil {
		t.Fatal(err)
	}
	cb := &callback{t: t, token: cfg.Token, cipher: c}
	srv := httptest.NewServer(cb)
	t.Cleanup(srv.Close)
	return cb, srv.URL + "/wechat?tenant=1"
}

func (cb *callback) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	cb.mu.Lock()
	cb.n++
	n := cb.n
	cb.mu.Unlock()
	if cb.before != nil && !cb.before(n, w) {
		return
	}
	q := r.URL.Query()
	if q.Get("tenant") != "1" {
		http.Error(w, "the callback URL's own query was lost", http.StatusBadRequest)
		return
	}
	ts, nonce := q.Get("timestamp"), q.Get("nonce")
	if err := wechat.VerifySignature(cb.token, ts, nonce, q.Get("signature")); err != nil {
		http.Error(w, "forbidden", http.StatusForbidden)
		return
	}
	if r.Method == http.MethodGet {
		io.WriteString(w, q.Get("echostr"))
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 64<<10))
	if err != nil {
		return
	}
	encrypted := q.Get("encrypt_type") == "aes"
	var m wechat.Message
	if encrypted {
		m, err = cb.cipher.Open(cb.token, ts, nonce, q.Get("msg_signature"), body)
	} else {
		m, err = wechat.ParseMessage(body)
	}
	if err != nil {
		http.Error(w, "bad push: "+err.Error(), http.StatusBadRequest)
		return
	}
	if q.Get("openid") != m.FromUserName {
		http.Error(w, "openid query does not match FromUserName", http.StatusBadRequest)
		return
	}
	cb.mu.Lock()
	cb.msgs = append(cb.msgs, m)
	cb.bodies = append(cb.bodies, body)
	cb.queries = append(cb.queries, r.URL.RawQuery)
	cb.mu.Unlock()

	scene, ok := m.Scene()
	if !ok {
		io.WriteString(w, "success")
		return
	}
	tsN, _ := strconv.ParseInt(ts, 10, 64)
	reply := wechat.AppendText(nil, m.FromUserName, m.ToUserName, tsN+1, "Answer to "+scene)
	if encrypted {
		tok := cb.token
		if cb.sealToken != "" {
			tok = cb.sealToken
		}
		if reply, err = cb.cipher.Seal(nil, tok, reply, tsN+1, nonce); err != nil {
			http.Error(w, "seal", http.StatusInternalServerError)
			return
		}
	}
	w.Write(reply)
}

func (cb *callback) messages() []wechat.Message {
	cb.mu.Lock()
	defer cb.mu.Unlock()
	return append([]wechat.Message(nil), cb.msgs...)
}

func permanentCode(t *testing.T, p *wechattest.Platform, scene string) string {
	t.Helper()
	a := createCode(t, p, classicToken(t, p).AccessToken, `{"action_name":"QR_LIMIT_STR_SCENE","action_info":{"scene":{"scene_str":"`+scene+`"}}}`)
	wantErrCode(t, a, 0)
	return a.Ticket
}

const openid = "oKqdL5Vn7Ek3wOq2fG8mZ1xYc9aQ"

func TestScanSubscribesANewUserThenScans(t *testing.T) {
	for _, mode := range []wechattest.Mode{wechattest.Plaintext, wechattest.Compatible, wechattest.Safe} {
		t.Run(mode.String(), func(t *testing.T) {
			p, clock := startPlatform(t, wechattest.PlatformConfig{})
			cb, url := newCallback(t, p)
			ticket := permanentCode(t, p, "riddle-1")
			ctx := context.Background()

			first, err := p.Scan(ctx, url, openid, ticket, mode)
			if err != nil {
				t.Fatalf("Scan: %v", err)
			}
			if first.Status() != http.StatusOK || first.Event != "subscribe" {
				t.Fatalf("HTTP %d event %q: %s", first.Status(), first.Event, first.Deliveries[0].Body)
			}
			if !p.Following(openid) {
				t.Error("the user does not follow after subscribing")
			}
			clock.Advance(time.Minute)
			second, err := p.Scan(ctx, url, openid, ticket, mode)
			if err != nil || second.Event != "SCAN" {
				t.Fatalf("second scan: %v, event %q", err, second.Event)
			}

			got := cb.messages()
			if len(got) != 2 {
				t.Fatalf("callback got %d pushes, want 2", len(got))
			}
			want := []wechat.Message{
				{ToUserName: wechattest.DefaultOriginalID, FromUserName: openid, CreateTime: epoch.Unix(), MsgType: "event",
					Event: "subscribe", EventKey: "qrscene_riddle-1", Ticket: ticket},
				{ToUserName: wechattest.DefaultOriginalID, FromUserName: openid, CreateTime: epoch.Add(time.Minute).Unix(), MsgType: "event",
					Event: "SCAN", EventKey: "riddle-1", Ticket: ticket},
			}
			for i := range want {
				if got[i] != want[i] {
					t.Errorf("push %d\n got %+v\nwant %+v", i, got[i], want[i])
				}
			}
			if ts := second.Query.Get("timestamp"); ts != strconv.FormatInt(epoch.Add(time.Minute).Unix(), 10) {
				t.Errorf("timestamp %s is not the platform clock's", ts)
			}

			for i, push := range []wechattest.Push{first, second} {
				reply, err := wechat.ParseMessage(push.Reply())
				if err != nil || reply.Content != "Answer to riddle-1" || reply.ToUserName != openid || reply.MsgType != "text" {
					t.Errorf("reply %d %q: %+v %v", i, push.Reply(), reply, err)
				}
				encrypted := push.Query.Get("encrypt_type") == "aes"
				if encrypted != (mode != wechattest.Plaintext) {
					t.Errorf("encrypt_type=%q in %v mode", push.Query.Get("encrypt_type"), mode)
				}
				if mode == wechattest.Safe && bytes.Contains(push.Body, []byte(openid)) {
					t.Error("a safe-mode body shows the openid in clear")
				}
				if mode != wechattest.Plaintext && bytes.Contains(push.Deliveries[0].Body, []byte("Answer to")) {
					t.Error("the reply to an encrypted push went back in clear")
				}
			}
		})
	}
}

func TestScanRefusesUnknownAndExpiredTickets(t *testing.T) {
	p, clock := startPlatform(t, wechattest.PlatformConfig{})
	cb, url := newCallback(t, p)
	a := createCode(t, p, classicToken(t, p).AccessToken, `{"expire_seconds":30,"action_name":"QR_SCENE","action_info":{"scene":{"scene_id":7}}}`)
	if _, err := p.Scan(context.Background(), url, openid, "gQnotaticket==", wechattest.Plaintext); !errors.Is(err, wechattest.ErrUnknownTicket) {
		t.Errorf("unknown ticket: %v", err)
	}
	clock.Advance(30 * time.Second)
	if _, err := p.Scan(context.Background(), url, openid, a.Ticket, wechattest.Plaintext); !errors.Is(err, wechattest.ErrCodeExpired) {
		t.Errorf("expired code: %v", err)
	}
	if len(cb.messages()) != 0 || p.Following(openid) {
		t.Error("a refused scan reached the callback or made a follower")
	}
}

func TestScanSceneFindsTheLatestCodeOrMakesUpATicket(t *testing.T) {
	p, _ := startPlatform(t, wechattest.PlatformConfig{})
	cb, url := newCallback(t, p)
	tok := classicToken(t, p).AccessToken
	createCode(t, p, tok, `{"expire_seconds":60,"action_name":"QR_SCENE","action_info":{"scene":{"scene_id":42}}}`)
	latest := createCode(t, p, tok, `{"expire_seconds":60,"action_name":"QR_SCENE","action_info":{"scene":{"scene_id":42}}}`)
	if _, err := p.ScanScene(context.Background(), url, openid, "42", wechattest.Safe); err != nil {
		t.Fatal(err)
	}
	if _, err := p.ScanScene(context.Background(), url, openid, "no-code", wechattest.Safe); err != nil {
		t.Fatal(err)
	}
	got := cb.messages()
	if got[0].Ticket != latest.Ticket || got[0].EventKey != "qrscene_42" {
		t.Errorf("scene 42: %+v, want the latest code's ticket", got[0])
	}
	if got[1].Ticket == "" || got[1].Event != "SCAN" || got[1].EventKey != "no-code" {
		t.Errorf("scene without a code: %+v", got[1])
	}
}

func TestUnsubscribeEndsTheFollow(t *testing.T) {
	p, _ := startPlatform(t, wechattest.PlatformConfig{})
	cb, url := newCallback(t, p)
	ticket := permanentCode(t, p, "poster-7")
	p.Follow("o1", "o2")
	if got := p.Followers(); len(got) != 2 || got[0] != "o1" || got[1] != "o2" {
		t.Fatalf("Followers = %v", got)
	}
	push, err := p.Unsubscribe(context.Background(), url, "o1", wechattest.Compatible)
	if err != nil || push.Event != "unsubscribe" || string(push.Reply()) != "success" {
		t.Fatalf("Unsubscribe: %v %q %q", err, push.Event, push.Reply())
	}
	if p.Following("o1") {
		t.Error("o1 still follows")
	}
	if _, err := p.Scan(context.Background(), url, "o1", ticket, wechattest.Plaintext); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Scan(context.Background(), url, "o2", ticket, wechattest.Plaintext); err != nil {
		t.Fatal(err)
	}
	got := cb.messages()
	if got[0].Event != "unsubscribe" || got[0].EventKey != "" || got[1].Event != "subscribe" || got[2].Event != "SCAN" {
		t.Errorf("events %q %q %q, want unsubscribe, subscribe (o1 again), SCAN (o2 follows)", got[0].Event, got[1].Event, got[2].Event)
	}
}

// Two scans by the same new user at once: one subscribes, the other scans.
func TestConcurrentFirstScansSubscribeOnce(t *testing.T) {
	p, _ := startPlatform(t, wechattest.PlatformConfig{})
	cb, url := newCallback(t, p)
	ticket := permanentCode(t, p, "riddle-2")
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			if _, err := p.Scan(context.Background(), url, openid, ticket, wechattest.Safe); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	subs := 0
	for _, m := range cb.messages() {
		if m.Event == "subscribe" {
			subs++
		}
	}
	if subs != 1 {
		t.Errorf("%d subscribe events, want 1", subs)
	}
}

func TestRepeatDeliversTheSamePush(t *testing.T) {
	for _, concurrent := range []bool{false, true} {
		t.Run("concurrent="+strconv.FormatBool(concurrent), func(t *testing.T) {
			p, _ := startPlatform(t, wechattest.PlatformConfig{})
			cb, url := newCallback(t, p)
			if concurrent {
				// Hold each request until all three have arrived: passes
				// only if they really are in flight together.
				var arrived sync.WaitGroup
				arrived.Add(3)
				cb.before = func(int, http.ResponseWriter) bool {
					arrived.Done()
					arrived.Wait()
					return true
				}
			}
			opts := []wechattest.PushOption{wechattest.Repeat(3), wechattest.DeliveryTimeout(2 * time.Second)}
			if concurrent {
				opts = append(opts, wechattest.Concurrently())
			}
			ticket := permanentCode(t, p, "riddle-3")
			push, err := p.Scan(context.Background(), url, openid, ticket, wechattest.Safe, opts...)
			if err != nil {
				t.Fatal(err)
			}
			if len(push.Deliveries) != 3 {
				t.Fatalf("%d deliveries, want 3", len(push.Deliveries))
			}
			cb.mu.Lock()
			defer cb.mu.Unlock()
			if len(cb.bodies) != 3 {
				t.Fatalf("callback got %d pushes", len(cb.bodies))
			}
			for i := 1; i < 3; i++ {
				if !bytes.Equal(cb.bodies[i], cb.bodies[0]) || cb.queries[i] != cb.queries[0] {
					t.Error("a repeated delivery differs from the first")
				}
				if cb.msgs[i].DedupeKey() != cb.msgs[0].DedupeKey() {
					t.Error("repeated deliveries have different dedupe keys")
				}
			}
		})
	}
}

func TestRetryOnFailureRedeliversAfterATimeout(t *testing.T) {
	p, _ := startPlatform(t, wechattest.PlatformConfig{})
	cb, url := newCallback(t, p)
	cb.before = func(n int, w http.ResponseWriter) bool {
		if n == 1 {
			time.Sleep(300 * time.Millisecond) // longer than the delivery timeout
		}
		return true
	}
	ticket := permanentCode(t, p, "riddle-4")
	push, err := p.Scan(context.Background(), url, openid, ticket, wechattest.Plaintext,
		wechattest.DeliveryTimeout(50*time.Millisecond), wechattest.RetryOnFailure(2))
	if err != nil {
		t.Fatalf("Scan: %v (a retry got an answer)", err)
	}
	if len(push.Deliveries) != 2 || push.Deliveries[0].Status != 0 || push.Deliveries[0].Err == nil || push.Deliveries[1].Status != http.StatusOK {
		t.Fatalf("deliveries %+v, want a timeout then a 200", push.Deliveries)
	}
	if string(push.Reply()) == "" {
		t.Error("no reply from the retry")
	}

	// Without retries the timeout is the result.
	cb.mu.Lock()
	cb.n = 0
	cb.mu.Unlock()
	push, err = p.Scan(context.Background(), url, openid, ticket, wechattest.Plaintext, wechattest.DeliveryTimeout(50*time.Millisecond))
	if !errors.Is(err, context.DeadlineExceeded) || len(push.Deliveries) != 1 {
		t.Errorf("err = %v with %d deliveries, want the deadline and 1", err, len(push.Deliveries))
	}
}

func TestRepliesThatDoNotOpenAreErrors(t *testing.T) {
	p, _ := startPlatform(t, wechattest.PlatformConfig{})
	cb, url := newCallback(t, p)
	cb.sealToken = "another-token"
	ticket := permanentCode(t, p, "riddle-5")
	_, err := p.Scan(context.Background(), url, openid, ticket, wechattest.Safe)
	if !errors.Is(err, wechat.ErrMsgSignature) {
		t.Errorf("err = %v, want ErrMsgSignature", err)
	}
}

func TestNon200AnswersAreNotErrors(t *testing.T) {
	p, _ := startPlatform(t, wechattest.PlatformConfig{Token: "platform-token"})
	// The callback expects another Token than the one pushes are signed with.
	cb2 := &callback{t: t, token: "callback-token"}
	srv := httptest.NewServer(cb2)
	defer srv.Close()
	ticket := permanentCode(t, p, "riddle-6")
	push, err := p.Scan(context.Background(), srv.URL+"/wechat?tenant=1", openid, ticket, wechattest.Plaintext)
	if err != nil || push.Status() != http.StatusForbidden || push.Reply() != nil {
		t.Errorf("err %v, HTTP %d, reply %q; want no error and 403", err, push.Status(), push.Reply())
	}
}

func TestSendPushesAnyMessage(t *testing.T) {
	p, clock := startPlatform(t, wechattest.PlatformConfig{})
	cb, url := newCallback(t, p)
	msg := p.Signer().TextXML(openid, "hello & <bye>", clock.Now().Unix(), 1234567890123456)
	push, err := p.Send(context.Background(), url, msg, wechattest.Compatible)
	if err != nil || string(push.Reply()) != "success" {
		t.Fatalf("Send: %v %q", err, push.Reply())
	}
	got := cb.messages()
	if len(got) != 1 || got[0].Content != "hello & <bye>" || got[0].MsgID != "1234567890123456" {
		t.Errorf("callback got %+v", got)
	}
}

func TestVerifyURL(t *testing.T) {
	p, _ := startPlatform(t, wechattest.PlatformConfig{})
	_, url := newCallback(t, p)
	if _, err := p.VerifyURL(context.Background(), url, "echo-1732500000"); err != nil {
		t.Errorf("VerifyURL against a correct handler: %v", err)
	}
	other, _ := startPlatform(t, wechattest.PlatformConfig{Token: "not-the-callbacks"})
	d, err := other.VerifyURL(context.Background(), url, "echo")
	if !errors.Is(err, wechattest.ErrURLRejected) || d.Status != http.StatusForbidden {
		t.Errorf("VerifyURL with the wrong Token: %v (HTTP %d), want ErrURLRejected", err, d.Status)
	}
	if _, err := p.VerifyURL(context.Background(), "not a url", "e"); err == nil {
		t.Error("VerifyURL accepted a bad URL")
	}
}

func TestPushOptionsAreChecked(t *testing.T) {
	p, _ := startPlatform(t, wechattest.PlatformConfig{})
	_, url := newCallback(t, p)
	for _, opt := range []wechattest.PushOption{wechattest.Repeat(0), wechattest.RetryOnFailure(-1), wechattest.DeliveryTimeout(0)} {
		if _, err := p.ScanScene(context.Background(), url, openid, "x", wechattest.Plaintext, opt); err == nil {
			t.Error("a bad option was accepted")
		}
	}
	if p.Following(openid) {
		t.Error("a push that was never made changed the follow state")
	}
	if _, err := p.ScanScene(context.Background(), url, "", "x", wechattest.Plaintext); err == nil {
		t.Error("an empty openid was accepted")
	}
}
