package callback_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"wechatqr/shared/callback"
	"wechatqr/shared/qr"
	"wechatqr/shared/wechat/wechattest"
)

func (f *fixture) session(t *testing.T, id string, expires time.Time) {
	t.Helper()
	err := f.store.CreateSession(context.Background(), &qr.Session{
		ID: id, Scene: qr.LoginPrefix + id, Ticket: "T", URL: "http://weixin.qq.com/q/x",
		CreatedAt: now, ExpiresAt: expires,
	})
	if err != nil {
		t.Fatal(err)
	}
}

func (f *fixture) reply(t *testing.T, push []byte) string {
	t.Helper()
	return replyOf(t, f.push(t, push, wechattest.Safe)).Content
}

func TestTheFirstScannerOfALoginCodeBindsIt(t *testing.T) {
	f := newFixture(t)
	const id = "aaaabbbbccccddddeeeeffffgg"
	f.session(t, id, now.Add(3*time.Minute))
	scene := qr.LoginPrefix + id

	// Two users at once: one subscribes through the code, the other, a follower, scans it.
	pushes := map[string][]byte{
		"new-user":      signer.SubscribeXML("new-user", scene, now.Unix(), "T"),
		"follower-user": signer.ScanXML("follower-user", scene, now.Unix(), "T"),
	}
	replies := map[string]string{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for who, push := range pushes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := f.reply(t, push)
			mu.Lock()
			replies[who] = r
			mu.Unlock()
		}()
	}
	wg.Wait()
	var winner string
	for who, r := range replies {
		switch r {
		case boundText():
			if winner != "" {
				t.Fatalf("both %s and %s were told they are logged in", winner, who)
			}
			winner = who
		case usedText():
		default:
			t.Errorf("%s got %q", who, r)
		}
	}
	if winner == "" {
		t.Fatalf("nobody bound the session: %v", replies)
	}
	sess, err := f.store.Session(context.Background(), id)
	if err != nil || sess.Status != qr.SessionScanned || sess.OpenID != winner || !sess.ScannedAt.Equal(now) {
		t.Fatalf("session = %+v, %v; want scanned by %s", sess, err, winner)
	}

	// WeChat's retry of the winner's push gets the same answer and changes nothing.
	if r := f.reply(t, pushes[winner]); r != boundText() {
		t.Errorf("the winner's retry got %q", r)
	}
	// A third user later changes nothing and is told.
	if r := f.reply(t, signer.ScanXML("late-user", scene, now.Unix()+5, "T")); r != usedText() {
		t.Errorf("a later scanner got %q", r)
	}
	if again, _ := f.store.Session(context.Background(), id); again.OpenID != winner {
		t.Errorf("a later scan rebound the session to %q", again.OpenID)
	}
	// Log-in codes count in no channel statistics.
	if st, _ := f.store.SceneStats(context.Background(), scene, "", ""); st.Totals != (qr.Counts{}) {
		t.Errorf("log-in scans were counted: %+v", st.Totals)
	}
	if scenes, _ := f.store.Scenes(context.Background()); len(scenes) != 0 {
		t.Errorf("log-in scenes were registered for statistics: %v", scenes)
	}
	if strings.Contains(f.logs.String(), id) {
		t.Error("the session id, a credential, reached the logs")
	}
}

func TestAnExpiredOrUnknownLoginCodeBindsNobody(t *testing.T) {
	f := newFixture(t)
	const expired = "expiredexpiredexpiredexpir"
	f.session(t, expired, now.Add(-time.Second))
	for _, id := range []string{expired, "neverexistedneverexistedne"} {
		if r := f.reply(t, signer.ScanXML("u", qr.LoginPrefix+id, now.Unix(), "T")); r != expiredText() {
			t.Errorf("%s: got %q, want the expired reply", id, r)
		}
	}
	sess, _ := f.store.Session(context.Background(), expired)
	if sess.Status != qr.SessionPending || sess.OpenID != "" || sess.StatusAt(now) != qr.SessionExpired {
		t.Errorf("expired session = %+v, want untouched and reading as expired", sess)
	}
}

// TestAFollowerScanningASpentLoginCodeKeepsTheirSource: the scene that brought
// a follower is still charged with their leaving after they scanned a log-in
// code that someone else had used, or that had expired.
func TestAFollowerScanningASpentLoginCodeKeepsTheirSource(t *testing.T) {
	f := newFixture(t)
	const used, expired = "usedusedusedusedusedusedus", "expiredexpiredexpiredexpir"
	f.session(t, used, now.Add(3*time.Minute))
	f.session(t, expired, now.Add(-time.Second))
	f.putCode(t, "poster", qr.TextReply("Welcome"))
	f.reply(t, signer.SubscribeXML("fan", "poster", now.Unix(), "T"))
	if r := f.reply(t, signer.ScanXML("someone-else", qr.LoginPrefix+used, now.Unix()+1, "T")); r != boundText() {
		t.Fatalf("the first scanner got %q", r)
	}
	pushes := []struct {
		push []byte
		want string
	}{
		{signer.ScanXML("fan", qr.LoginPrefix+used, now.Unix()+2, "T"), usedText()},
		{signer.ScanXML("fan", qr.LoginPrefix+expired, now.Unix()+3, "T"), expiredText()},
	}
	for _, p := range pushes {
		for range 2 { // WeChat's retry gets the same answer
			if r := f.reply(t, p.push); r != p.want {
				t.Fatalf("got %q, want %q", r, p.want)
			}
		}
	}
	f.push(t, signer.UnsubscribeXML("fan", now.Unix()+4), wechattest.Safe)
	st, err := f.store.SceneStats(context.Background(), "poster", qr.DayOf(now), qr.DayOf(now))
	if err != nil {
		t.Fatal(err)
	}
	if st.Totals.Subscribes != 1 || st.Totals.Unsubscribes != 1 {
		t.Errorf("poster's totals = %+v; want the follower it brought, and their leaving", st.Totals)
	}
}

func boundText() string   { return callback.DefaultLoginReplies.Bound.Content }
func usedText() string    { return callback.DefaultLoginReplies.Used.Content }
func expiredText() string { return callback.DefaultLoginReplies.Expired.Content }
