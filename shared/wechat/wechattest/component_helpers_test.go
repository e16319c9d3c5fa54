package wechattest_test

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"wechatqr/shared/wechat"
	"wechatqr/shared/wechat/wechattest"
)

// componentEvent is a decrypted push of the authorization-event URL (§13.1).
type componentEvent struct {
	AppID                        string `xml:"AppId"`
	CreateTime                   int64  `xml:"CreateTime"`
	InfoType                     string `xml:"InfoType"`
	ComponentVerifyTicket        string `xml:"ComponentVerifyTicket"`
	AuthorizerAppid              string `xml:"AuthorizerAppid"`
	AuthorizationCode            string `xml:"AuthorizationCode"`
	AuthorizationCodeExpiredTime string `xml:"AuthorizationCodeExpiredTime"`
	PreAuthCode                  string `xml:"PreAuthCode"`

	inner       []byte     // the decrypted XML
	query       url.Values // the push's query
	envelopeApp string     // the envelope's AppId
}

// authEvents is a platform's authorization-event URL as the stack would
// serve it: every push is verified and opened with package wechat, under
// the platform's Token and EncodingAESKey and the component AppID, and
// answered "success" (or what answer says).
type authEvents struct {
	t        *testing.T
	verifier *wechat.Verifier
	srv      *httptest.Server

	mu     sync.Mutex
	events []componentEvent
	errs   []error
	status int    // 0: 200
	body   string // "": success
}

func newAuthEvents(t *testing.T, token, key, componentAppID string) *authEvents {
	t.Helper()
	cipher, err := wechat.NewCipher(key, componentAppID)
	if err != nil {
		t.Fatal(err)
	}
	v, err := wechat.NewVerifier(wechat.Keys{Token: token, Cipher: cipher})
	if err != nil {
		t.Fatal(err)
	}
	e := &authEvents{t: t, verifier: v}
	e.srv = httptest.NewServer(http.HandlerFunc(e.serve))
	t.Cleanup(e.srv.Close)
	return e
}

func (e *authEvents) serve(w http.ResponseWriter, r *http.Request) {
	ev, err := e.open(r)
	e.mu.Lock()
	status, body := e.status, e.body
	if err != nil {
		e.errs = append(e.errs, err)
		status, body = http.StatusBadRequest, err.Error()
	} else {
		e.events = append(e.events, ev)
	}
	e.mu.Unlock()
	if status == 0 {
		status = http.StatusOK
	}
	if body == "" && status == http.StatusOK {
		body = "success"
	}
	w.WriteHeader(status)
	io.WriteString(w, body)
}

// open checks a push the way §13.1 says a platform must.
func (e *authEvents) open(r *http.Request) (componentEvent, error) {
	q := r.URL.Query()
	if r.Method != http.MethodPost || q.Get("encrypt_type") != "aes" {
		return componentEvent{}, fmt.Errorf("%s with encrypt_type %q", r.Method, q.Get("encrypt_type"))
	}
	if q.Has("openid") {
		return componentEvent{}, errors.New("an authorization event carries no openid")
	}
	served, err := e.verifier.VerifySignature(q.Get("timestamp"), q.Get("nonce"), q.Get("signature"))
	if err != nil {
		return componentEvent{}, err
	}
	body, _ := io.ReadAll(r.Body)
	var env struct {
		XMLName xml.Name `xml:"xml"`
		AppID   string   `xml:"AppId"`
		Encrypt string   `xml:"Encrypt"`
		Other   []struct {
			XMLName xml.Name
		} `xml:",any"`
	}
	if err := xml.Unmarshal(body, &env); err != nil {
		return componentEvent{}, err
	}
	if len(env.Other) != 0 {
		return componentEvent{}, fmt.Errorf("envelope has more than AppId and Encrypt: %s", body)
	}
	inner, _, err := e.verifier.Decrypt(served, q.Get("timestamp"), q.Get("nonce"), q.Get("msg_signature"), env.Encrypt)
	if err != nil {
		return componentEvent{}, err
	}
	var ev componentEvent
	if err := xml.Unmarshal(inner, &ev); err != nil {
		return componentEvent{}, err
	}
	ev.inner, ev.query, ev.envelopeApp = inner, q, env.AppID
	return ev, nil
}

func (e *authEvents) URL() string { return e.srv.URL + "/wechat/component/events" }

func (e *authEvents) answer(status int, body string) {
	e.mu.Lock()
	e.status, e.body = status, body
	e.mu.Unlock()
}

// received returns the events opened so far and fails the test on any
// push that did not open.
func (e *authEvents) received() []componentEvent {
	e.t.Helper()
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, err := range e.errs {
		e.t.Errorf("a push did not open: %v", err)
	}
	e.errs = nil
	return append([]componentEvent(nil), e.events...)
}

func (e *authEvents) last() componentEvent {
	e.t.Helper()
	evs := e.received()
	if len(evs) == 0 {
		e.t.Fatal("no push received")
	}
	return evs[len(evs)-1]
}

// compAnswer is any answer of the component API.
type compAnswer struct {
	ErrCode              int    `json:"errcode"`
	ErrMsg               string `json:"errmsg"`
	ComponentAccessToken string `json:"component_access_token"`
	ExpiresIn            int64  `json:"expires_in"`
	PreAuthCode          string `json:"pre_auth_code"`
	AuthorizationInfo    struct {
		AuthorizerAppID        string `json:"authorizer_appid"`
		AuthorizerAccessToken  string `json:"authorizer_access_token"`
		ExpiresIn              int64  `json:"expires_in"`
		AuthorizerRefreshToken string `json:"authorizer_refresh_token"`
		FuncInfo               []struct {
			Category struct {
				ID int `json:"id"`
			} `json:"funcscope_category"`
		} `json:"func_info"`
	} `json:"authorization_info"`
	AuthorizerAccessToken  string `json:"authorizer_access_token"`
	AuthorizerRefreshToken string `json:"authorizer_refresh_token"`
	AuthorizerInfo         struct {
		NickName        string `json:"nick_name"`
		UserName        string `json:"user_name"`
		ServiceTypeInfo struct {
			ID int `json:"id"`
		} `json:"service_type_info"`
		VerifyTypeInfo struct {
			ID int `json:"id"`
		} `json:"verify_type_info"`
		AccountStatus int `json:"account_status"`
	} `json:"authorizer_info"`
	TotalCount int `json:"total_count"`
	List       []struct {
		AuthorizerAppID string `json:"authorizer_appid"`
		RefreshToken    string `json:"refresh_token"`
		AuthTime        int64  `json:"auth_time"`
	} `json:"list"`

	raw []byte
}

func (a compAnswer) sets() []int {
	var out []int
	for _, f := range a.AuthorizationInfo.FuncInfo {
		out = append(out, f.Category.ID)
	}
	return out
}

// compEnv is a Component on a fake clock, served on loopback, with its
// authorization-event URL.
type compEnv struct {
	c      *wechattest.Component
	clock  *wechattest.Clock
	events *authEvents
}

func newCompEnv(t *testing.T, cfg wechattest.ComponentConfig) *compEnv {
	t.Helper()
	clock := wechattest.NewClock(epoch)
	if cfg.Now == nil {
		cfg.Now = clock.Now
	}
	c := wechattest.NewComponent(cfg)
	t.Cleanup(c.Close)
	c.Start()
	cc := c.Config()
	ev := newAuthEvents(t, cc.Token, cc.EncodingAESKey, cc.AppID)
	c.SetAuthEventsURL(ev.URL())
	return &compEnv{c: c, clock: clock, events: ev}
}

// do sends a request to the emulator and decodes the JSON answer.
func (e *compEnv) do(t *testing.T, method, pathAndQuery string, body any) compAnswer {
	t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, e.c.URL()+pathAndQuery, rd)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("%s %s: HTTP %d %s", method, pathAndQuery, resp.StatusCode, raw)
	}
	var a compAnswer
	if err := json.Unmarshal(raw, &a); err != nil {
		t.Fatalf("%s %s: %q is not JSON: %v", method, pathAndQuery, raw, err)
	}
	a.raw = raw
	return a
}

// post calls a component API path with the component token (under
// component_access_token, as the stack sends it).
func (e *compEnv) post(t *testing.T, path, token string, body map[string]any) compAnswer {
	t.Helper()
	q := ""
	if token != "" {
		q = "?component_access_token=" + url.QueryEscape(token)
	}
	if body == nil {
		body = map[string]any{}
	}
	if _, ok := body["component_appid"]; !ok {
		body["component_appid"] = e.c.Config().AppID
	}
	return e.do(t, http.MethodPost, path+q, body)
}

// componentToken pushes a ticket and exchanges it for a component token.
func (e *compEnv) componentToken(t *testing.T) string {
	t.Helper()
	if _, err := e.c.PushTicket(t.Context()); err != nil {
		t.Fatal(err)
	}
	cfg := e.c.Config()
	a := e.do(t, http.MethodPost, wechattest.PathComponentToken, map[string]any{
		"component_appid":         cfg.AppID,
		"component_appsecret":     cfg.AppSecret,
		"component_verify_ticket": e.events.last().ComponentVerifyTicket,
	})
	if a.ErrCode != 0 || a.ComponentAccessToken == "" {
		t.Fatalf("api_component_token: %s", a.raw)
	}
	return a.ComponentAccessToken
}

// authorize has appID grant sets and the platform query the code: the
// authorizer access token and refresh token.
func (e *compEnv) authorize(t *testing.T, ctok, appID string, sets []int) (access, refresh string) {
	t.Helper()
	code := e.c.Authorize(appID, sets)
	a := e.post(t, wechattest.PathQueryAuth, ctok, map[string]any{"authorization_code": code})
	if a.ErrCode != 0 {
		t.Fatalf("api_query_auth: %s", a.raw)
	}
	return a.AuthorizationInfo.AuthorizerAccessToken, a.AuthorizationInfo.AuthorizerRefreshToken
}

// refresh calls api_authorizer_token.
func (e *compEnv) refresh(t *testing.T, ctok, appID, refreshToken string) compAnswer {
	t.Helper()
	return e.post(t, wechattest.PathAuthorizerToken, ctok, map[string]any{
		"authorizer_appid": appID, "authorizer_refresh_token": refreshToken,
	})
}

// qrcode calls qrcode/create with an access token on the emulator.
func (e *compEnv) qrcode(t *testing.T, token string) compAnswer {
	t.Helper()
	return e.do(t, http.MethodPost, wechattest.PathQRCodeCreate+"?access_token="+url.QueryEscape(token),
		`{"expire_seconds":600,"action_name":"QR_STR_SCENE","action_info":{"scene":{"scene_str":"s1"}}}`)
}
