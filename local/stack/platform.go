package stack

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"

	"wechatqr/local/repo"
	"wechatqr/shared/accounts"
	"wechatqr/shared/api"
	"wechatqr/shared/wechat/wechattest"
)

// LocalComponent is the third-party platform `make run` emulates: the
// emulator's default component credentials (wechattest.DefaultComponent…).
var LocalComponent = wechattest.ComponentConfig{
	AppID: wechattest.DefaultComponentAppID, AppSecret: wechattest.DefaultComponentAppSecret,
	Token: wechattest.DefaultComponentToken, EncodingAESKey: wechattest.DefaultComponentEncodingAESKey,
}

// LocalAuthorizer is the account that authorizes the platform when `make run`
// starts; `make authorize` connects more.
const LocalAuthorizer = "wx3a3a3a3a3a3a3a3a"

// componentEnv is the platform's configuration as the functions read it: the
// AppID everywhere, and the plain variables that stand in locally for the two
// secrets (the callback's Token and key, tokenrefresh's AppSecret).
func (s *Stack) componentEnv(env map[string]string) {
	if s.Component == nil {
		return
	}
	cfg := s.Component.Config()
	env["WECHAT_COMPONENT_APP_ID"] = cfg.AppID
	env["WECHAT_COMPONENT_APP_SECRET"] = cfg.AppSecret
	env["WECHAT_COMPONENT_TOKEN"] = cfg.Token
	env["WECHAT_COMPONENT_ENCODING_AES_KEY"] = cfg.EncodingAESKey
}

// ConnectPlatform points the emulated platform's URLs at the front served at
// base (as the Open Platform console is filled in: docs/platform.md), has
// WeChat push a component_verify_ticket and runs the token refresh, which
// fetches the component_access_token with it. A platform stack is then ready
// for authorizations.
func (s *Stack) ConnectPlatform(ctx context.Context, base string) error {
	if s.Component == nil {
		return fmt.Errorf("stack: started without a platform (Options.Component)")
	}
	s.Component.SetAuthEventsURL(base + "/wechat/component")
	s.Component.SetMessageURL(base + "/wechat/$APPID$")
	push, err := s.Component.PushTicket(ctx)
	if err != nil {
		return fmt.Errorf("stack: pushing a ticket: %w", err)
	}
	if err := answered(push, "the ticket"); err != nil {
		return err
	}
	return s.RefreshTokens(ctx)
}

// RefreshTokens runs the token refresh once, as its schedule does.
func (s *Stack) RefreshTokens(ctx context.Context) error {
	root, err := repo.Root()
	if err != nil {
		return err
	}
	payload, err := os.ReadFile(filepath.Join(root, "events", "tokenrefresh.json"))
	if err != nil {
		payload = []byte(`{"detail-type":"Scheduled Event","source":"aws.events","detail":{}}`)
	}
	_, err = s.Invoke(ctx, "TokenRefreshFunction", payload)
	return err
}

// Authorize connects appID to the platform as its administrator would: the
// API gives the authorization page (POST /platform/authorizations), the
// administrator grants funcInfo there (nil: every set the platform asks for),
// WeChat pushes the authorization to the callback served at base and
// redirects back with the code, which the console's return page completes
// (POST /platform/authorizations/complete). It returns the account.
func (s *Stack) Authorize(ctx context.Context, base, appID string, funcInfo []int) (accounts.Account, error) {
	if s.Component == nil {
		return accounts.Account{}, fmt.Errorf("stack: started without a platform (Options.Component)")
	}
	var start struct {
		URL string `json:"url"`
	}
	if err := s.frontJSON(ctx, "/platform/authorizations", map[string]string{"redirect_uri": base + api.ReturnPath}, &start); err != nil {
		return accounts.Account{}, err
	}
	redirect, push, err := s.Component.VisitAuthPage(ctx, start.URL, appID, funcInfo)
	if err != nil {
		return accounts.Account{}, fmt.Errorf("stack: the authorization page: %w", err)
	}
	if err := answered(push, "the authorization"); err != nil {
		return accounts.Account{}, err
	}
	back, err := url.Parse(redirect)
	if err != nil {
		return accounts.Account{}, err
	}
	var a accounts.Account
	err = s.frontJSON(ctx, "/platform/authorizations/complete", map[string]string{"auth_code": back.Query().Get("auth_code")}, &a)
	return a, err
}

// frontJSON posts body to the API through the front, in process, and decodes a
// 201 into out.
func (s *Stack) frontJSON(ctx context.Context, path string, body, out any) error {
	b, err := json.Marshal(body)
	if err != nil {
		return err
	}
	req := httptest.NewRequestWithContext(ctx, http.MethodPost, path, bytes.NewReader(b))
	w := httptest.NewRecorder()
	s.Front().ServeHTTP(w, req)
	if w.Code != http.StatusCreated {
		return fmt.Errorf("stack: POST %s: %d %s", path, w.Code, bytes.TrimSpace(w.Body.Bytes()))
	}
	return json.Unmarshal(w.Body.Bytes(), out)
}

// answered checks that the callback took a push with 200.
func answered(p wechattest.Push, what string) error {
	if len(p.Deliveries) == 0 || p.Status() != http.StatusOK {
		var body []byte
		if len(p.Deliveries) > 0 {
			body = p.Deliveries[0].Body
		}
		return fmt.Errorf("stack: the callback answered %s %d: %s", what, p.Status(), bytes.TrimSpace(body))
	}
	return nil
}
