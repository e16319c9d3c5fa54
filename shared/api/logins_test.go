package api_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"wechatqr/shared/api"
	"wechatqr/shared/qr"
	"wechatqr/shared/wechat/wechattest"
)

type loginJSON struct {
	ID, Scene, Ticket, URL, Status, OpenID string
	ImageURL                               string  `json:"image_url"`
	ExpiresAt                              string  `json:"expires_at"`
	ScannedAt                              *string `json:"scanned_at"`
}

func TestScanToLogIn(t *testing.T) {
	s := newStack(t, api.Config{})
	var l loginJSON
	w := s.do(t, "POST", "/logins", "", &l)
	if w.Code != http.StatusCreated || l.Status != "pending" || len(l.ID) < 16 || l.Scene != qr.LoginPrefix+l.ID || l.Ticket == "" || l.ImageURL == "" {
		t.Fatalf("create: %d %+v", w.Code, l)
	}
	if at, err := time.Parse(time.RFC3339, l.ExpiresAt); err != nil || time.Until(at) > 181*time.Second || time.Until(at) < 170*time.Second {
		t.Errorf("expires_at %q, want about %d s from now", l.ExpiresAt, api.DefaultLoginExpireSeconds)
	}
	code, ok := s.platform.Code(l.Ticket)
	if !ok || code.Permanent() {
		t.Fatalf("WeChat holds no temporary code for the ticket: %+v", code)
	}

	// The browser waits while the user scans.
	done := make(chan loginJSON)
	go func() {
		var got loginJSON
		s.do(t, "GET", "/logins/"+l.ID+"?wait=10", "", &got)
		done <- got
	}()
	time.Sleep(200 * time.Millisecond)
	push, err := s.platform.Scan(context.Background(), s.callback, "the-user", l.Ticket, wechattest.Safe)
	if err != nil || !strings.Contains(string(push.Reply()), "logged in") {
		t.Fatalf("scan: %v %q", err, push.Reply())
	}
	select {
	case got := <-done:
		if got.Status != "scanned" || got.OpenID != "the-user" || got.ScannedAt == nil || got.Ticket != "" {
			t.Errorf("after the scan: %+v, want scanned by the-user (and no ticket)", got)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("the waiting request did not return")
	}
	if push, _ := s.platform.Scan(context.Background(), s.callback, "someone-else", l.Ticket, wechattest.Plaintext); !strings.Contains(string(push.Reply()), "already been used") {
		t.Errorf("a second scanner got %q", push.Reply())
	}
	var after loginJSON
	s.do(t, "GET", "/logins/"+l.ID, "", &after)
	if after.OpenID != "the-user" {
		t.Errorf("a second scan rebound the session: %+v", after)
	}
}

func TestLoginRequestsAreChecked(t *testing.T) {
	s := newStack(t, api.Config{})
	var e errorJSON
	for _, body := range []string{`{"expire_seconds":29}`, `{"expire_seconds":3601}`, `{"expire_seconds":"60"}`, `{"ttl":60}`} {
		if w := s.do(t, "POST", "/logins", body, &e); w.Code != 400 {
			t.Errorf("%s: %d, want 400", body, w.Code)
		}
	}
	if w := s.do(t, "GET", "/logins/"+api.NewSessionID(), "", &e); w.Code != 404 {
		t.Errorf("unknown id: %d, want 404", w.Code)
	}
	if w := s.do(t, "GET", "/logins/not-an-id", "", &e); w.Code != 404 {
		t.Errorf("malformed id: %d, want 404", w.Code)
	}
	var l loginJSON
	s.do(t, "POST", "/logins", `{"expire_seconds":30}`, &l)
	if w := s.do(t, "GET", "/logins/"+l.ID+"?wait=21", "", &e); w.Code != 400 {
		t.Errorf("wait=21: %d, want 400", w.Code)
	}
	start := time.Now()
	var pending loginJSON
	s.do(t, "GET", "/logins/"+l.ID+"?wait=1", "", &pending)
	if pending.Status != "pending" || time.Since(start) < 600*time.Millisecond {
		t.Errorf("wait=1 on a pending session returned %+v after %v", pending, time.Since(start))
	}
}

func TestSessionIDsAndScenesAreDistinct(t *testing.T) {
	const n = 10000
	ids := make(map[string]bool, n)
	scenes := make(map[string]bool, n)
	for range n {
		id := api.NewSessionID()
		if len(id) < 16 || strings.Trim(id, "abcdefghijklmnopqrstuvwxyz234567") != "" {
			t.Fatalf("id %q: want at least 16 base32 characters", id)
		}
		ids[id], scenes[qr.LoginPrefix+id] = true, true
	}
	if len(ids) != n || len(scenes) != n {
		t.Errorf("%d distinct ids and %d distinct scenes of %d", len(ids), len(scenes), n)
	}
}
