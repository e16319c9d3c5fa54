package callback_test

import (
	"context"
	"log/slog"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"wechatqr/shared/accounts"
	"wechatqr/shared/callback"
	"wechatqr/shared/qr"
	"wechatqr/shared/wechat"
	"wechatqr/shared/wechat/wechattest"
)

// The third-party platform and one account that authorized it.
const (
	appC = "wxc0c0c0c0c0c0c0c0"
	ghC  = "gh_c0c0c0c0c0c0"
)

// platformSigner signs and seals as WeChat does for the platform: its Token and
// key, the component AppID as the trailer; an authorizer's pushes are
// addressed to the account's original ID.
var platformSigner = wechattest.Signer{
	Token: wechattest.DefaultComponentToken, AppID: wechattest.DefaultComponentAppID,
	EncodingAESKey: wechattest.DefaultComponentEncodingAESKey, OriginalID: ghC,
}

// platformRegistry serves account B (direct) and account C (an authorizer).
type platformRegistry struct {
	registry
	status accounts.Status
}

func (r *platformRegistry) Callback(ctx context.Context, appID string, known int64) (accounts.Account, *accounts.CallbackKeys, int64, error) {
	if appID != appC {
		return r.registry.Callback(ctx, appID, known)
	}
	r.reads.Add(1)
	return accounts.Account{AppID: appC, Kind: accounts.Authorizer, Status: r.status, UserName: ghC}, nil, 1, nil
}

// events records what the authorization events asked of the platform.
type authEvents struct {
	mu    sync.Mutex
	calls []string
}

func (e *authEvents) add(s string) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.calls = append(e.calls, s)
	return nil
}

func (e *authEvents) Ticket(_ context.Context, ticket string, created time.Time) error {
	return e.add("ticket " + ticket + " " + created.UTC().Format(time.RFC3339))
}
func (e *authEvents) Authorized(_ context.Context, appID, code string) error {
	return e.add("authorized " + appID + " " + code)
}
func (e *authEvents) Unauthorized(_ context.Context, appID string) error {
	return e.add("unauthorized " + appID)
}
func (e *authEvents) got() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return slices.Clone(e.calls)
}

// texts answers "ping" with "pong" and counts the effects it runs.
type texts struct{ ran atomic.Int32 }

func (x *texts) Text(_ context.Context, msg *wechat.Message) (callback.TextAnswer, error) {
	switch msg.Content {
	case "ping":
		return callback.TextAnswer{Reply: qr.TextReply("pong")}, nil
	case "once":
		return callback.TextAnswer{Once: func(context.Context) error { x.ran.Add(1); return nil }}, nil
	}
	return callback.TextAnswer{}, nil
}

type platformFixture struct {
	*fixture
	rt     *callback.Router
	reg    *platformRegistry
	events *authEvents
	texts  *texts
}

func newPlatformFixture(t *testing.T) *platformFixture {
	t.Helper()
	f := &platformFixture{fixture: newFixture(t), reg: &platformRegistry{status: accounts.Active}, events: &authEvents{}, texts: &texts{}}
	cipher, err := wechat.NewCipher(platformSigner.EncodingAESKey, platformSigner.AppID)
	if err != nil {
		t.Fatal(err)
	}
	v, err := wechat.NewVerifier(wechat.Keys{Token: platformSigner.Token, Cipher: cipher})
	if err != nil {
		t.Fatal(err)
	}
	cfg := callback.Config{Tolerance: callback.DefaultTolerance, Now: func() time.Time { return now }}
	ev := cfg
	ev.AppID, ev.Keys = platformSigner.AppID, callback.StaticKeys{V: v}
	h, err := callback.NewComponent(ev, f.events, slog.New(slog.NewJSONHandler(f.logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	f.rt, err = callback.NewRouter(callback.RouterConfig{
		Default: f.h, Accounts: f.reg, Config: cfg,
		Store:    func(appID string) callback.Store { return f.store.Account(appID) },
		Platform: &callback.PlatformRoutes{Events: h, Keys: callback.StaticKeys{V: v}, Texts: func(string) callback.Texts { return f.texts }},
		Log:      slog.New(slog.NewJSONHandler(f.logs, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := f.store.Account(appC).PutCode(context.Background(), &qr.Code{Scene: "riddle-1", ActionName: "QR_LIMIT_STR_SCENE", Permanent: true, Reply: qr.TextReply("C's answer"), CreatedAt: now}); err != nil {
		t.Fatal(err)
	}
	f.trips.reset()
	return f
}

// send pushes inner to path, signed and sealed by s in mode.
func (f *platformFixture) send(t *testing.T, s wechattest.Signer, path string, inner []byte, mode wechattest.Mode) *httptest.ResponseRecorder {
	t.Helper()
	q, body, err := s.Push(inner, mode, now.Unix(), nonceOf(inner))
	if err != nil {
		t.Fatal(err)
	}
	w := httptest.NewRecorder()
	f.rt.ServeHTTP(w, s.Request(path, q, body))
	return w
}

func TestAnAuthorizersPushIsOpenedWithThePlatformsKeysAndCostsTheRoundTripsOfADirectAccounts(t *testing.T) {
	f := newPlatformFixture(t)
	for _, c := range []struct {
		name   string
		openid string
		trips  int
	}{
		{"a first delivery", "o1", 2},
		{"its retry", "o1", 1},
		{"the next push", "o2", 2},
	} {
		w := f.send(t, platformSigner, "/wechat/"+appC, platformSigner.ScanXML(c.openid, "riddle-1", now.Unix(), "T"), wechattest.Safe)
		if w.Code != 200 {
			t.Fatalf("%s: %d %s", c.name, w.Code, w.Body)
		}
		reply, err := platformSigner.OpenReply(w.Body.Bytes())
		if err != nil || !strings.Contains(string(reply), "C's answer") {
			t.Fatalf("%s: the reply %q (%v) is not C's, sealed with the platform's key", c.name, reply, err)
		}
		if n := int(f.trips.reset()); n != c.trips {
			t.Errorf("%s: %d round trips, want %d", c.name, n, c.trips)
		}
	}
	st, err := f.store.Account(appC).SceneStats(context.Background(), "riddle-1", "", "")
	if err != nil || st.Totals.Scans != 2 {
		t.Errorf("C's scans = %+v, %v; want 2", st.Totals, err)
	}
}

func TestAnAuthorizersPushIsRefusedAndWritesNothing(t *testing.T) {
	direct := wechattest.Signer{Token: tokenB, AppID: appB, EncodingAESKey: keyB, OriginalID: ghC}
	other := platformSigner
	other.OriginalID = "gh_0therac0ount"
	for _, c := range []struct {
		name   string
		signer wechattest.Signer
		mode   wechattest.Mode
		status int
	}{
		{"sealed with a direct account's keys", direct, wechattest.Safe, 401},
		{"addressed to another account's original ID", other, wechattest.Safe, 403},
		{"in plaintext, which an authorizer never gets", platformSigner, wechattest.Plaintext, 403},
	} {
		t.Run(c.name, func(t *testing.T) {
			f := newPlatformFixture(t)
			before := f.itemsF()
			w := f.send(t, c.signer, "/wechat/"+appC, c.signer.ScanXML("o9", "riddle-1", now.Unix(), "T"), c.mode)
			if w.Code != c.status {
				t.Fatalf("%d %s; want %d", w.Code, w.Body, c.status)
			}
			if after := f.itemsF(); after != before {
				t.Errorf("%d items written by a refused push", after-before)
			}
		})
	}
	t.Run("a revoked authorizer", func(t *testing.T) {
		f := newPlatformFixture(t)
		f.reg.status = accounts.Revoked
		before := f.itemsF()
		if w := f.send(t, platformSigner, "/wechat/"+appC, platformSigner.ScanXML("o9", "riddle-1", now.Unix(), "T"), wechattest.Safe); w.Code != 404 {
			t.Fatalf("%d %s; want 404", w.Code, w.Body)
		}
		if after := f.itemsF(); after != before {
			t.Errorf("%d items written", after-before)
		}
	})
}

func TestAuthorizationEventsReachThePlatformOpenedWithItsKeys(t *testing.T) {
	const created = 1732499000
	ticket := platformSigner.ComponentVerifyTicketXML("ticket@@@abc", created)
	authorized := platformSigner.AuthorizationXML(wechat.InfoAuthorized, appC, "queryauthcode@@@xyz", created+3600, "preauthcode@@@p", created)
	unauthorized := platformSigner.UnauthorizedXML(appC, created)
	strange := []byte("<xml><AppId><![CDATA[" + platformSigner.AppID + "]]></AppId><CreateTime>1732499000</CreateTime><InfoType><![CDATA[notify_third_fasteregister]]></InfoType></xml>")
	foreign := []byte("<xml><AppId><![CDATA[wx9999999999999999]]></AppId><CreateTime>1732499000</CreateTime><InfoType><![CDATA[component_verify_ticket]]></InfoType><ComponentVerifyTicket><![CDATA[ticket@@@forged]]></ComponentVerifyTicket></xml>")
	createdAt := time.Unix(created, 0).UTC().Format(time.RFC3339)
	direct := wechattest.Signer{Token: tokenB, AppID: appB, EncodingAESKey: keyB}
	for _, c := range []struct {
		name   string
		signer wechattest.Signer
		inner  []byte
		plain  bool
		status int
		want   []string
	}{
		{"a ticket", platformSigner, ticket, false, 200, []string{"ticket ticket@@@abc " + createdAt}},
		{"an authorization", platformSigner, authorized, false, 200, []string{"authorized " + appC + " queryauthcode@@@xyz"}},
		{"a withdrawal", platformSigner, unauthorized, false, 200, []string{"unauthorized " + appC}},
		{"an event of a kind the stack does not handle", platformSigner, strange, false, 200, nil},
		{"a ticket naming another platform inside", platformSigner, foreign, false, 403, nil},
		{"a ticket sealed with an account's keys", direct, ticket, false, 401, nil},
		{"a ticket in plaintext", platformSigner, ticket, true, 403, nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			f := newPlatformFixture(t)
			var w *httptest.ResponseRecorder
			if c.plain {
				w = f.send(t, c.signer, "/wechat/component", c.inner, wechattest.Plaintext)
			} else {
				q, body, err := c.signer.ComponentPush(c.inner, now.Unix(), nonceOf(c.inner))
				if err != nil {
					t.Fatal(err)
				}
				w = httptest.NewRecorder()
				f.rt.ServeHTTP(w, c.signer.Request("/wechat/component", q, body))
			}
			if w.Code != c.status {
				t.Fatalf("%d %s; want %d", w.Code, w.Body, c.status)
			}
			if c.status == 200 && w.Body.String() != "success" {
				t.Errorf("answered %q; want success", w.Body)
			}
			if got := f.events.got(); !slices.Equal(got, c.want) {
				t.Errorf("the platform was asked %q; want %q", got, c.want)
			}
			for _, secret := range []string{"ticket@@@abc", "queryauthcode@@@xyz"} {
				if strings.Contains(f.logs.String(), secret) {
					t.Errorf("a log line holds %s: %s", secret, f.logs)
				}
			}
		})
	}
}

func TestAStackThatIsNoPlatformServesNoComponentURL(t *testing.T) {
	f := newFixture(t)
	rt, err := callback.NewRouter(callback.RouterConfig{
		Default: f.h, Accounts: &platformRegistry{status: accounts.Active},
		Store:  func(appID string) callback.Store { return f.store.Account(appID) },
		Config: callback.Config{Tolerance: callback.DefaultTolerance, Now: func() time.Time { return now }},
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{"/wechat/component", "/wechat/" + appC} {
		inner := platformSigner.ScanXML("o1", "riddle-1", now.Unix(), "T")
		q, body, err := platformSigner.Push(inner, wechattest.Safe, now.Unix(), nonceOf(inner))
		if err != nil {
			t.Fatal(err)
		}
		w := httptest.NewRecorder()
		rt.ServeHTTP(w, platformSigner.Request(path, q, body))
		if w.Code != 404 {
			t.Errorf("%s: %d %s; want 404", path, w.Code, w.Body)
		}
	}
}

func TestAnAuthorizersTextsAreAnsweredAndTheirEffectRunsOnce(t *testing.T) {
	f := newPlatformFixture(t)
	w := f.send(t, platformSigner, "/wechat/"+appC, platformSigner.TextXML("o1", "ping", now.Unix(), 1001), wechattest.Safe)
	if reply, err := platformSigner.OpenReply(w.Body.Bytes()); w.Code != 200 || err != nil || !strings.Contains(string(reply), "pong") {
		t.Fatalf("ping: %d %q %v", w.Code, reply, err)
	}
	once := platformSigner.TextXML("o1", "once", now.Unix(), 1002)
	for range 3 { // WeChat's retries
		if w := f.send(t, platformSigner, "/wechat/"+appC, once, wechattest.Safe); w.Code != 200 {
			t.Fatalf("once: %d %s", w.Code, w.Body)
		}
	}
	if n := f.texts.ran.Load(); n != 1 {
		t.Errorf("the effect ran %d times over a push and its retries; want 1", n)
	}
	if w := f.send(t, platformSigner, "/wechat/"+appC, platformSigner.TextXML("o1", "hello", now.Unix(), 1003), wechattest.Safe); w.Code != 200 || w.Body.String() != "success" {
		t.Errorf("another text: %d %q; want success", w.Code, w.Body)
	}
}
