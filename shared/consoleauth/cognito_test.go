package consoleauth_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	ciptypes "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"

	"wechatqr/local/moto"
	"wechatqr/shared/consoleauth"
)

// pool is a user pool on moto_server with an app client and a signed-in user.
type pool struct {
	id, client     string
	access, idTok  string
	otherClientTok string // an access token of the same pool, issued to another client
}

type cognito struct {
	endpoint string
	api      *cip.Client
}

func startCognito(t *testing.T) *cognito {
	t.Helper()
	srv := moto.ForTest(t)
	return &cognito{endpoint: srv.Endpoint(), api: cip.New(cip.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(srv.Endpoint()),
		Credentials:  credentials.NewStaticCredentialsProvider("test", "test", ""),
	})}
}

// newPool does what an operator and the hosted sign-in do: create the pool and
// its client, invite a user (admin only), set their password, sign them in.
func (c *cognito) newPool(t *testing.T, name string) pool {
	t.Helper()
	ctx := context.Background()
	up, err := c.api.CreateUserPool(ctx, &cip.CreateUserPoolInput{
		PoolName:              aws.String(name),
		AdminCreateUserConfig: &ciptypes.AdminCreateUserConfigType{AllowAdminCreateUserOnly: true},
	})
	if err != nil {
		t.Fatal(err)
	}
	p := pool{id: aws.ToString(up.UserPool.Id)}
	client := func(name string) string {
		out, err := c.api.CreateUserPoolClient(ctx, &cip.CreateUserPoolClientInput{
			UserPoolId:        up.UserPool.Id,
			ClientName:        aws.String(name),
			ExplicitAuthFlows: []ciptypes.ExplicitAuthFlowsType{ciptypes.ExplicitAuthFlowsTypeAllowAdminUserPasswordAuth},
		})
		if err != nil {
			t.Fatal(err)
		}
		return aws.ToString(out.UserPoolClient.ClientId)
	}
	p.client = client("console")
	other := client("another-app")
	if _, err := c.api.AdminCreateUser(ctx, &cip.AdminCreateUserInput{
		UserPoolId: up.UserPool.Id, Username: aws.String("ops@example.com"),
		UserAttributes: []ciptypes.AttributeType{{Name: aws.String("email"), Value: aws.String("ops@example.com")}},
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.api.AdminSetUserPassword(ctx, &cip.AdminSetUserPasswordInput{
		UserPoolId: up.UserPool.Id, Username: aws.String("ops@example.com"), Password: aws.String("Correct-Horse-9-Battery"), Permanent: true,
	}); err != nil {
		t.Fatal(err)
	}
	signIn := func(clientID string) *ciptypes.AuthenticationResultType {
		out, err := c.api.AdminInitiateAuth(ctx, &cip.AdminInitiateAuthInput{
			UserPoolId: up.UserPool.Id, ClientId: aws.String(clientID),
			AuthFlow:       ciptypes.AuthFlowTypeAdminUserPasswordAuth,
			AuthParameters: map[string]string{"USERNAME": "ops@example.com", "PASSWORD": "Correct-Horse-9-Battery"},
		})
		if err != nil {
			t.Fatal(err)
		}
		if out.AuthenticationResult == nil {
			t.Fatalf("sign-in gave a challenge (%s), not tokens", out.ChallengeName)
		}
		return out.AuthenticationResult
	}
	res := signIn(p.client)
	p.access, p.idTok = aws.ToString(res.AccessToken), aws.ToString(res.IdToken)
	p.otherClientTok = aws.ToString(signIn(other).AccessToken)
	return p
}

func (c *cognito) jwksURL(p pool) string { return c.endpoint + "/" + p.id + "/.well-known/jwks.json" }

func (c *cognito) verifier(t *testing.T, p pool, now func() time.Time) *consoleauth.Cognito {
	t.Helper()
	v, err := consoleauth.NewCognito(consoleauth.CognitoConfig{
		UserPoolID: p.id, ClientID: p.client, Domain: "https://console-test.auth.us-east-1.amazoncognito.com",
		JWKSURL: c.jwksURL(p), Now: now,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(v.Close)
	return v
}

// guarded serves the Guard around a handler that reports who it saw.
func guarded(v consoleauth.Verifier) http.Handler {
	return consoleauth.Guard(v, nil)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, ok := consoleauth.FromContext(r.Context())
		if !ok {
			http.Error(w, "no claims on the context", http.StatusInternalServerError)
			return
		}
		_, _ = io.WriteString(w, "hello "+c.Username)
	}))
}

func do(h http.Handler, authorization string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(http.MethodGet, "/qrcodes", nil)
	if authorization != "" {
		r.Header.Set("Authorization", authorization)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

// tamper changes the payload's username and keeps the signature.
func tamper(t *testing.T, tok string) string {
	t.Helper()
	parts := strings.Split(tok, ".")
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var claims map[string]any
	if err := json.Unmarshal(payload, &claims); err != nil {
		t.Fatal(err)
	}
	claims["username"] = "admin"
	b, _ := json.Marshal(claims)
	parts[1] = base64.RawURLEncoding.EncodeToString(b)
	return strings.Join(parts, ".")
}

// resign re-signs tok's payload with another algorithm and key: "none", or
// HS256 keyed with the pool's public JWKS (the algorithm-confusion attack).
func resign(t *testing.T, tok, alg string, key []byte) string {
	t.Helper()
	parts := strings.Split(tok, ".")
	head := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"` + alg + `","kid":"dummy","typ":"JWT"}`))
	if alg == "none" {
		return head + "." + parts[1] + "."
	}
	m := hmac.New(sha256.New, key)
	m.Write([]byte(head + "." + parts[1]))
	return head + "." + parts[1] + "." + base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

func TestGuardAcceptsOnlyThisPoolsAccessTokensForTheConsoleClient(t *testing.T) {
	c := startCognito(t)
	p := c.newPool(t, "console")
	other := c.newPool(t, "another-stack")
	jwks := func() []byte {
		res, err := http.Get(c.jwksURL(p))
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return b
	}()

	now := time.Now
	h := guarded(c.verifier(t, p, func() time.Time { return now() }))
	later := guarded(c.verifier(t, p, func() time.Time { return now().Add(2 * time.Hour) }))
	earlier := guarded(c.verifier(t, p, func() time.Time { return now().Add(-time.Hour) }))

	tests := []struct {
		name          string
		h             http.Handler
		authorization string
		status        int
		code          string
	}{
		{"the console client's access token", h, "Bearer " + p.access, 200, ""},
		{"the scheme in any case", h, "bearer " + p.access, 200, ""},
		{"no Authorization header", h, "", 401, "unauthorized"},
		{"another scheme", h, "Basic " + base64.StdEncoding.EncodeToString([]byte("ops:pw")), 401, "unauthorized"},
		{"Bearer and nothing", h, "Bearer ", 401, "unauthorized"},
		{"expired an hour ago", later, "Bearer " + p.access, 401, "invalid_token"},
		{"issued in the future", earlier, "Bearer " + p.access, 401, "invalid_token"},
		{"another pool's access token, signed by the same moto key", h, "Bearer " + other.access, 401, "invalid_token"},
		{"this pool's token for another app client", h, "Bearer " + p.otherClientTok, 401, "invalid_token"},
		{"an id token", h, "Bearer " + p.idTok, 401, "invalid_token"},
		{"a tampered payload", h, "Bearer " + tamper(t, p.access), 401, "invalid_token"},
		{"alg none", h, "Bearer " + resign(t, p.access, "none", nil), 401, "invalid_token"},
		{"HS256 keyed with the public JWKS", h, "Bearer " + resign(t, p.access, "HS256", jwks), 401, "invalid_token"},
		{"not a JWT", h, "Bearer not.a.jwt", 401, "invalid_token"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := do(tt.h, tt.authorization)
			if w.Code != tt.status {
				t.Fatalf("status %d, want %d: %s", w.Code, tt.status, w.Body)
			}
			if tt.status == 200 {
				if got := w.Body.String(); got != "hello ops@example.com" {
					t.Errorf("the handler saw %q", got)
				}
				return
			}
			var body struct{ Error, Message string }
			if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil {
				t.Fatalf("body %q: %v", w.Body, err)
			}
			if body.Error != tt.code || body.Message == "" {
				t.Errorf("body %+v, want error %q and a message", body, tt.code)
			}
			if w.Header().Get("WWW-Authenticate") == "" {
				t.Error("a 401 without WWW-Authenticate")
			}
			if tok := strings.TrimPrefix(tt.authorization, "Bearer "); len(tok) > 8 && strings.Contains(w.Body.String(), tok[len(tok)-8:]) {
				t.Error("the refusal echoes the token")
			}
		})
	}
}

func TestCognitoFetchesTheKeysOnFirstUseOnceAndRetriesAFailedFetchAfter30Seconds(t *testing.T) {
	c := startCognito(t)
	p := c.newPool(t, "console")
	var fetches, failures atomic.Int32
	failures.Store(1)
	jwks := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fetches.Add(1)
		if failures.Add(-1) >= 0 {
			http.Error(w, "down", http.StatusInternalServerError)
			return
		}
		res, err := http.Get(c.jwksURL(p))
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		defer res.Body.Close()
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.Copy(w, res.Body)
	}))
	defer jwks.Close()
	clk := &clock{t: time.Now()}
	v, err := consoleauth.NewCognito(consoleauth.CognitoConfig{
		UserPoolID: p.id, ClientID: p.client, Domain: "https://x.auth.us-east-1.amazoncognito.com", JWKSURL: jwks.URL, Now: clk.Now,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	h := guarded(v)
	if n := fetches.Load(); n != 0 {
		t.Fatalf("NewCognito fetched the keys %d times; it must wait for the first request", n)
	}
	if w := do(h, "Bearer garbage"); w.Code != http.StatusUnauthorized || fetches.Load() != 0 {
		t.Fatalf("a garbage token: %d %s after %d fetches, want 401 and no fetch", w.Code, w.Body, fetches.Load())
	}
	for _, when := range []string{"with the JWKS down", "right after the failed fetch"} {
		if w := do(h, "Bearer "+p.access); w.Code != http.StatusServiceUnavailable || !strings.Contains(w.Body.String(), `"unavailable"`) {
			t.Fatalf("%s: %d %s, want 503 unavailable", when, w.Code, w.Body)
		}
	}
	if n := fetches.Load(); n != 1 {
		t.Fatalf("%d fetches, want 1: the failure stands for 30 s", n)
	}
	clk.Add(consoleauth.KeyFetchRetry)
	for i := range 3 {
		if w := do(h, "Bearer "+p.access); w.Code != http.StatusOK {
			t.Fatalf("request %d 30 s later, the JWKS back: %d %s", i, w.Code, w.Body)
		}
	}
	if n := fetches.Load(); n != 2 {
		t.Errorf("%d fetches of the JWKS, want 2 (the failed one, then one kept for every later request)", n)
	}
}

func TestCognitoIssuerIsThePools(t *testing.T) {
	v, err := consoleauth.NewCognito(consoleauth.CognitoConfig{UserPoolID: "eu-west-1_AbC123", ClientID: "c", Domain: "https://p.auth.eu-west-1.amazoncognito.com"})
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	if got, want := v.Issuer(), "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbC123"; got != want {
		t.Errorf("issuer %q, want %q", got, want)
	}
}
