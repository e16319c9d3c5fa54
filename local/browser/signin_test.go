package browser_test

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	ciptypes "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"
	"github.com/chromedp/chromedp"

	"wechatqr/local/moto"
	"wechatqr/local/stack"
	"wechatqr/shared/wechat/wechattest"
)

// userPool is a pool on moto_server with the console's app client and one user.
type userPool struct {
	api              *cip.Client
	id, client, user string
	password         string
}

func newUserPool(t *testing.T, api *cip.Client, name string) userPool {
	t.Helper()
	ctx := context.Background()
	up, err := api.CreateUserPool(ctx, &cip.CreateUserPoolInput{
		PoolName:              aws.String(name),
		AdminCreateUserConfig: &ciptypes.AdminCreateUserConfigType{AllowAdminCreateUserOnly: true},
	})
	if err != nil {
		t.Fatal(err)
	}
	cl, err := api.CreateUserPoolClient(ctx, &cip.CreateUserPoolClientInput{
		UserPoolId: up.UserPool.Id, ClientName: aws.String("console"),
		ExplicitAuthFlows: []ciptypes.ExplicitAuthFlowsType{ciptypes.ExplicitAuthFlowsTypeAllowAdminUserPasswordAuth},
	})
	if err != nil {
		t.Fatal(err)
	}
	p := userPool{api: api, id: aws.ToString(up.UserPool.Id), client: aws.ToString(cl.UserPoolClient.ClientId),
		user: "ops@example.com", password: "Correct-Horse-9-Battery"}
	if _, err := api.AdminCreateUser(ctx, &cip.AdminCreateUserInput{UserPoolId: &p.id, Username: &p.user,
		UserAttributes: []ciptypes.AttributeType{{Name: aws.String("email"), Value: &p.user}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := api.AdminSetUserPassword(ctx, &cip.AdminSetUserPasswordInput{UserPoolId: &p.id, Username: &p.user,
		Password: &p.password, Permanent: true}); err != nil {
		t.Fatal(err)
	}
	return p
}

func (p userPool) signIn(t *testing.T) *ciptypes.AuthenticationResultType {
	t.Helper()
	out, err := p.api.AdminInitiateAuth(context.Background(), &cip.AdminInitiateAuthInput{
		UserPoolId: &p.id, ClientId: &p.client, AuthFlow: ciptypes.AuthFlowTypeAdminUserPasswordAuth,
		AuthParameters: map[string]string{"USERNAME": p.user, "PASSWORD": p.password},
	})
	if err != nil || out.AuthenticationResult == nil {
		t.Fatalf("signing in: %v", err)
	}
	return out.AuthenticationResult
}

// hostedUI plays Cognito's hosted sign-in, which moto_server does not serve:
// /oauth2/authorize checks the PKCE request and "signs the user in" (moto's
// AdminInitiateAuth with the user's password, as the real page would with what
// they type), /oauth2/token gives moto's tokens only for the right code and
// verifier, /logout sends the browser back. Only this edge is ours; the tokens,
// their keys and the check of them are moto's and the function's.
type hostedUI struct {
	t    *testing.T
	pool userPool
	mu   sync.Mutex
	// code → the challenge and redirect it was issued for
	codes      map[string][2]string
	refresh    string // the refresh token handed out
	authorizes int
	refreshes  int
	logouts    int
	errs       []string
}

// signInAs makes the hosted sign-in sign in p's user from now on.
func (h *hostedUI) signInAs(p userPool) {
	h.mu.Lock()
	h.pool = p
	h.mu.Unlock()
}

func (h *hostedUI) fail(w http.ResponseWriter, msg string) {
	h.mu.Lock()
	h.errs = append(h.errs, msg)
	h.mu.Unlock()
	http.Error(w, msg, http.StatusBadRequest)
}

func (h *hostedUI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	// Cognito's token endpoint answers browsers cross-origin.
	w.Header().Set("Access-Control-Allow-Origin", "*")
	w.Header().Set("Access-Control-Allow-Headers", "Content-Type")
	if r.Method == http.MethodOptions {
		return
	}
	q := r.URL.Query()
	h.mu.Lock()
	pool := h.pool
	h.mu.Unlock()
	switch r.URL.Path {
	case "/oauth2/authorize":
		if q.Get("response_type") != "code" || q.Get("client_id") != pool.client || q.Get("code_challenge_method") != "S256" ||
			len(q.Get("code_challenge")) != 43 || len(q.Get("state")) < 16 || !strings.HasSuffix(q.Get("redirect_uri"), "/console") ||
			!strings.Contains(q.Get("scope"), "openid") {
			h.fail(w, "authorize: a request the hosted sign-in refuses: "+r.URL.RawQuery)
			return
		}
		code := base64.RawURLEncoding.EncodeToString([]byte(time.Now().String()))
		h.mu.Lock()
		h.authorizes++
		h.codes[code] = [2]string{q.Get("code_challenge"), q.Get("redirect_uri")}
		h.mu.Unlock()
		http.Redirect(w, r, q.Get("redirect_uri")+"?"+url.Values{"code": {code}, "state": {q.Get("state")}}.Encode(), http.StatusFound)
	case "/oauth2/token":
		if err := r.ParseForm(); err != nil {
			h.fail(w, err.Error())
			return
		}
		f := r.PostForm
		if f.Get("grant_type") == "refresh_token" {
			h.mu.Lock()
			ok := f.Get("refresh_token") == h.refresh && h.refresh != "" && f.Get("client_id") == pool.client
			h.refreshes++
			h.mu.Unlock()
			if !ok {
				h.fail(w, "token: a refresh with an unknown refresh token or client")
				return
			}
			res := pool.signIn(h.t)
			// Cognito's answer to a refresh carries no new refresh token.
			w.Header().Set("Content-Type", "application/json")
			_ = json.NewEncoder(w).Encode(map[string]any{"access_token": aws.ToString(res.AccessToken),
				"id_token": aws.ToString(res.IdToken), "expires_in": res.ExpiresIn, "token_type": "Bearer"})
			return
		}
		h.mu.Lock()
		issued, ok := h.codes[f.Get("code")]
		delete(h.codes, f.Get("code"))
		h.mu.Unlock()
		sum := sha256.Sum256([]byte(f.Get("code_verifier")))
		switch {
		case f.Get("grant_type") != "authorization_code" || f.Get("client_id") != pool.client:
			h.fail(w, "token: grant "+f.Get("grant_type")+" for client "+f.Get("client_id"))
			return
		case !ok:
			h.fail(w, "token: unknown or reused code")
			return
		case base64.RawURLEncoding.EncodeToString(sum[:]) != issued[0]:
			h.fail(w, "token: the code_verifier does not match the code_challenge")
			return
		case f.Get("redirect_uri") != issued[1]:
			h.fail(w, "token: redirect_uri differs from the authorize request's")
			return
		}
		res := pool.signIn(h.t)
		h.mu.Lock()
		h.refresh = aws.ToString(res.RefreshToken)
		h.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{
			"access_token": aws.ToString(res.AccessToken), "id_token": aws.ToString(res.IdToken),
			"refresh_token": aws.ToString(res.RefreshToken), "expires_in": res.ExpiresIn, "token_type": "Bearer",
		})
	case "/oauth2/revoke":
	case "/logout":
		h.mu.Lock()
		h.logouts++
		h.mu.Unlock()
		if q.Get("client_id") != pool.client {
			h.fail(w, "logout: client "+q.Get("client_id"))
			return
		}
		http.Redirect(w, r, q.Get("logout_uri")+"#/signed-out", http.StatusFound)
	default:
		http.NotFound(w, r)
	}
}

// TestSignInWithCognitoThenDataNeedsTheToken runs the deployed sign-in locally:
// the qrcode function configured with a moto_server user pool, the browser sent
// through the code flow with PKCE, the console's data fetched with the access
// token, and the function refusing the same request without it or with a token
// it must not take.
func TestSignInWithCognitoThenDataNeedsTheToken(t *testing.T) {
	console(t)
	srv := moto.ForTest(t)
	api := cognito(srv)
	pool := newUserPool(t, api, "console")
	// A user in no group sees no account: this one sees them all.
	pool.addToGroup(t, "admins")
	other := newUserPool(t, api, "another-stack")
	sc := startSigned(t, srv, pool, "signin-")
	ui := sc.ui

	// The browser: to the hosted sign-in and back, then the list from the API.
	tctx, access := sc.signIn(t, "/codes")
	if got := text(t, tctx, "#session"); !strings.Contains(got, pool.user) {
		t.Errorf("the header shows %q, want the signed-in user", got)
	}
	// The code is gone from the address, the page kept, and the address now
	// names the account the old link meant (the default).
	if loc := eval[string](t, tctx, `location.search + location.hash`); loc != "#/a/"+defaultAppID+"/codes" {
		t.Errorf("after signing in the address is …%s: the code should be gone and the page kept, for the default account", loc)
	}
	if c := eval[string](t, tctx, `document.cookie`); c != "" {
		t.Errorf("cookies %q: the session must live in sessionStorage only", c)
	}
	audit(t, tctx, "codes page, signed in")

	// The same data request from outside the browser.
	own := pool.signIn(t)
	parts := strings.Split(access, ".")
	tampered := parts[0] + "." + base64.RawURLEncoding.EncodeToString([]byte(`{"token_use":"access","client_id":"`+pool.client+`","iss":"x"}`)) + "." + parts[2]
	for _, tt := range []struct {
		name, token string
		status      int
	}{
		{"the browser's access token", access, 200},
		{"no token", "", 401},
		{"the id token", aws.ToString(own.IdToken), 401},
		{"another pool's access token", aws.ToString(other.signIn(t).AccessToken), 401},
		{"a tampered token", tampered, 401},
	} {
		status, body := sc.call(t, http.MethodGet, "/qrcodes", tt.token)
		if status != tt.status {
			t.Errorf("%s: %d %s, want %d", tt.name, status, body, tt.status)
		}
		if status == 401 && (!strings.Contains(body, `"error"`) || !strings.Contains(body, `"message"`)) {
			t.Errorf("%s: the refusal %s is not {error, message}", tt.name, body)
		}
	}
	// An access token about to expire is refreshed, without a new sign-in.
	eval[bool](t, tctx, `(() => { const a = JSON.parse(sessionStorage.getItem('console.auth')); a.expires = Date.now() - 1000;
		sessionStorage.setItem('console.auth', JSON.stringify(a)); return true; })()`)
	do(t, tctx, chromedp.Reload())
	waitFor(t, tctx, `document.querySelector('[data-test="code-row"]') || document.getElementById('codes-empty')`)
	ui.mu.Lock()
	authorizes, refreshes := ui.authorizes, ui.refreshes
	ui.mu.Unlock()
	if authorizes != 1 || refreshes != 1 {
		t.Errorf("after the token expired: %d sign-ins, %d refreshes; want 1 and 1", authorizes, refreshes)
	}
	var again struct{ Access, Refresh string }
	_ = json.Unmarshal([]byte(eval[string](t, tctx, `sessionStorage.getItem('console.auth') || ''`)), &again)
	if again.Access == "" || again.Access == access || again.Refresh == "" {
		t.Errorf("after the refresh: a new access token %v, the refresh token kept %v", again.Access != access, again.Refresh != "")
	}
	if len(ui.errs) > 0 {
		t.Errorf("the hosted sign-in refused: %v", ui.errs)
	}

	// Signing out forgets the tokens and goes through the hosted sign-out.
	do(t, tctx, chromedp.Click(chromedp.ID("sign-out")))
	waitFor(t, tctx, `location.hash === '#/signed-out' || location.pathname.endsWith('/authorize')`)
	ui.mu.Lock()
	logouts := ui.logouts
	ui.mu.Unlock()
	if logouts != 1 {
		t.Errorf("%d visits to the hosted sign-out", logouts)
	}
}

// defaultAppID is the local stack's default account (the emulator's).
const defaultAppID = wechattest.DefaultAppID

func cognito(srv *moto.Server) *cip.Client {
	return cip.New(cip.Options{Region: "us-east-1", BaseEndpoint: aws.String(srv.Endpoint()),
		Credentials: credentials.NewStaticCredentialsProvider("test", "test", "")})
}

// withUser adds a user to the pool and returns the pool as that user's.
func (p userPool) withUser(t *testing.T, user string) userPool {
	t.Helper()
	ctx := context.Background()
	if _, err := p.api.AdminCreateUser(ctx, &cip.AdminCreateUserInput{UserPoolId: &p.id, Username: &user,
		UserAttributes: []ciptypes.AttributeType{{Name: aws.String("email"), Value: &user}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := p.api.AdminSetUserPassword(ctx, &cip.AdminSetUserPasswordInput{UserPoolId: &p.id, Username: &user,
		Password: &p.password, Permanent: true}); err != nil {
		t.Fatal(err)
	}
	p.user = user
	return p
}

// addToGroup puts the pool's user in a group of the pool, made if missing:
// moto, like Cognito, names the user's groups in the access token's
// cognito:groups, which decide the accounts the console shows.
func (p userPool) addToGroup(t *testing.T, group string) {
	t.Helper()
	ctx := context.Background()
	if _, err := p.api.CreateGroup(ctx, &cip.CreateGroupInput{UserPoolId: &p.id, GroupName: &group}); err != nil {
		var exists *ciptypes.GroupExistsException
		if !errors.As(err, &exists) {
			t.Fatal(err)
		}
	}
	if _, err := p.api.AdminAddUserToGroup(ctx, &cip.AdminAddUserToGroupInput{UserPoolId: &p.id, Username: &p.user, GroupName: &group}); err != nil {
		t.Fatal(err)
	}
}

// signedConsole is the qrcode function configured with a moto_server user
// pool, behind a front of its own, on the package stack's DynamoDB under a
// table prefix of its own, and the hosted sign-in it sends browsers to.
type signedConsole struct {
	stack *stack.Stack
	gw    *httptest.Server
	ui    *hostedUI
}

func startSigned(t *testing.T, srv *moto.Server, pool userPool, prefix string) signedConsole {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	ui := &hostedUI{t: t, pool: pool, codes: map[string][2]string{}}
	hosted := httptest.NewServer(ui)
	t.Cleanup(hosted.Close)
	signed, err := stack.Start(ctx, stack.Options{
		Functions: []string{"QRCodeFunction"}, DB: st.DB, TablePrefix: prefix, BuildDir: t.TempDir(),
		Accounts: []stack.Account{stack.SecondAccount},
		Env: map[string]string{
			"CONSOLE_AUTH":         "",
			"CONSOLE_USER_POOL_ID": pool.id,
			"CONSOLE_CLIENT_ID":    pool.client,
			"CONSOLE_AUTH_DOMAIN":  hosted.URL,
			"CONSOLE_JWKS_URL":     srv.Endpoint() + "/" + pool.id + "/.well-known/jwks.json",
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(signed.Close)
	gw := httptest.NewServer(signed.Front())
	t.Cleanup(gw.Close)
	return signedConsole{stack: signed, gw: gw, ui: ui}
}

// signIn opens the console at hash in a new tab, goes through the hosted
// sign-in and back, and returns the tab once the page has rendered, with the
// access token the console keeps.
func (sc signedConsole) signIn(t *testing.T, hash string) (context.Context, string) {
	t.Helper()
	tab, closeTab := chrom.Tab()
	t.Cleanup(closeTab)
	ctx, stop := context.WithTimeout(tab, 2*time.Minute)
	t.Cleanup(stop)
	do(t, ctx, chromedp.Navigate(sc.gw.URL+"/console#"+hash))
	// Rendered: the list, its empty state, the API's refusal, or no account to show.
	waitFor(t, ctx, `document.querySelector('[data-test="code-row"], #codes-empty, #codes-error:not(:empty), #no-account')`)
	sc.ui.mu.Lock()
	errs := sc.ui.errs
	sc.ui.mu.Unlock()
	if len(errs) > 0 {
		t.Fatalf("the hosted sign-in refused: %v", errs)
	}
	stored := eval[string](t, ctx, `sessionStorage.getItem('console.auth') || ''`)
	var tok struct{ Access string }
	if err := json.Unmarshal([]byte(stored), &tok); err != nil || tok.Access == "" {
		t.Fatalf("no access token in sessionStorage: %q", stored)
	}
	return ctx, tok.Access
}

// call requests the console's API as the browser would, with an access token.
func (sc signedConsole) call(t *testing.T, method, path, access string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(method, sc.gw.URL+"/console/api"+path, nil)
	if access != "" {
		req.Header.Set("Authorization", "Bearer "+access)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}
