package consoleauth

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// CognitoConfig names the user pool and app client whose tokens are accepted.
type CognitoConfig struct {
	// UserPoolID is "<region>_<id>", e.g. "us-east-1_AbCdEf123".
	UserPoolID string
	// ClientID is the console's app client: only tokens issued to it pass.
	ClientID string
	// Domain is the hosted sign-in's base URL, e.g.
	// "https://wechat-qr-console.auth.us-east-1.amazoncognito.com".
	Domain string
	// JWKSURL overrides where the pool's public keys are read (moto_server in
	// tests); empty means the pool's own <issuer>/.well-known/jwks.json.
	JWKSURL string
	// Leeway allows for clock skew on exp, nbf and iat; zero means 30 s.
	Leeway time.Duration
	// HTTPClient fetches the keys; nil means a client with KeyFetchTimeout for
	// a timeout. Whatever its own timeout, a fetch ends after KeyFetchTimeout.
	HTTPClient *http.Client
	// Now is the clock, of the tokens' lifetimes and of the keys' fetches
	// (KeyFetchRetry, UnknownKeyRefresh); nil means time.Now.
	Now func() time.Time
	// Log gets failures to fetch the keys; nil discards them.
	Log *slog.Logger
}

// poolID is Cognito's user pool id: a region, an underscore, letters and digits.
var poolID = regexp.MustCompile(`^([a-z]{2}(?:-[a-z]+)+-\d)_[0-9A-Za-z]+$`)

// Cognito verifies the access tokens of one user pool's app client. The pool's
// keys are fetched on the first Verify of a well-formed token, not when Cognito
// is built (a Lambda cold start should not wait on them), then kept and
// refreshed hourly, and at most every UnknownKeyRefresh when a token names a
// key not seen yet (Cognito rotated). A fetch takes at most KeyFetchTimeout; a
// failed one stands for KeyFetchRetry (keySource).
type Cognito struct {
	cfg    CognitoConfig
	issuer string
	parser *jwt.Parser

	cancel context.CancelFunc // ends the key fetches and refresh
	keys   *keySource
}

var _ Verifier = (*Cognito)(nil)

// NewCognito checks cfg and builds the verifier; it makes no request.
func NewCognito(cfg CognitoConfig) (*Cognito, error) {
	region, err := checkPoolAndDomain(cfg.UserPoolID, cfg.Domain)
	if err != nil {
		return nil, err
	}
	if cfg.ClientID == "" {
		return nil, errors.New("consoleauth: no app client id")
	}
	cfg.Domain = strings.TrimSuffix(cfg.Domain, "/")
	if cfg.Leeway == 0 {
		cfg.Leeway = 30 * time.Second
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Timeout: KeyFetchTimeout}
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	c := &Cognito{cfg: cfg, issuer: "https://cognito-idp." + region + ".amazonaws.com/" + cfg.UserPoolID}
	jwksURL := cfg.JWKSURL
	if jwksURL == "" {
		jwksURL = c.issuer + "/.well-known/jwks.json"
	}
	c.parser = jwt.NewParser(
		jwt.WithValidMethods([]string{"RS256"}),
		jwt.WithIssuer(c.issuer),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithLeeway(cfg.Leeway),
		jwt.WithTimeFunc(cfg.Now),
	)
	ctx, cancel := context.WithCancel(context.Background())
	c.cancel = cancel
	c.keys = &keySource{url: jwksURL, client: cfg.HTTPClient, now: cfg.Now, log: cfg.Log, ctx: ctx}
	return c, nil
}

// checkPoolAndDomain checks a user pool id and a sign-in domain and returns
// the pool's region.
func checkPoolAndDomain(pool, domain string) (string, error) {
	m := poolID.FindStringSubmatch(pool)
	if m == nil {
		return "", fmt.Errorf("consoleauth: user pool id %q is not <region>_<id>", pool)
	}
	if u, err := url.Parse(domain); err != nil || u.Scheme != "https" && u.Scheme != "http" || u.Host == "" || u.Path != "" && u.Path != "/" {
		return "", fmt.Errorf("consoleauth: sign-in domain %q is not a base URL like https://<prefix>.auth.<region>.amazoncognito.com", domain)
	}
	return m[1], nil
}

// Issuer is the iss every accepted token carries.
func (c *Cognito) Issuer() string { return c.issuer }

// Close stops the key fetches and the background key refresh.
func (c *Cognito) Close() { c.cancel() }

// accessClaims are the claims of a Cognito access token that matter here.
type accessClaims struct {
	jwt.RegisteredClaims
	TokenUse string `json:"token_use"`
	ClientID string `json:"client_id"`
	Username string `json:"username"`
	// Groups are the user's groups; Cognito leaves the claim out for a user in none.
	Groups []string `json:"cognito:groups"`
}

// Verify accepts only an RS256 access token signed by one of the pool's keys,
// issued by the pool to the console's app client, and inside its lifetime. A
// token that is not even a well-formed RS256 JWT naming a key is refused before
// any key is fetched: garbage costs no fetch, nor a wait on one.
func (c *Cognito) Verify(ctx context.Context, raw string) (Claims, error) {
	kid, err := checkJWT(raw)
	if err != nil {
		return Claims{}, err
	}
	keys, err := c.keys.get(ctx, kid)
	if err != nil {
		return Claims{}, err
	}
	var cl accessClaims
	if _, err := c.parser.ParseWithClaims(raw, &cl, keys.KeyfuncCtx(ctx)); err != nil {
		return Claims{}, fmt.Errorf("%w: %w", ErrInvalidToken, err)
	}
	// An id token is signed by the same keys; only access tokens authorize calls.
	if cl.TokenUse != "access" {
		return Claims{}, fmt.Errorf("%w: token_use is %q, not access", ErrInvalidToken, cl.TokenUse)
	}
	if cl.ClientID != c.cfg.ClientID {
		return Claims{}, fmt.Errorf("%w: issued to another app client", ErrInvalidToken)
	}
	return Claims{Subject: cl.Subject, Username: cl.Username, Groups: cl.Groups}, nil
}

// Settings are the sign-in fields of /console/config.json: what auth.js needs
// to run the authorization code flow with PKCE against the hosted sign-in.
func (c *Cognito) Settings() map[string]any {
	return map[string]any{
		"auth":           "cognito",
		"domain":         c.cfg.Domain,
		"client_id":      c.cfg.ClientID,
		"scopes":         "openid email",
		"user_pool_id":   c.cfg.UserPoolID,
		"token_endpoint": c.cfg.Domain + "/oauth2/token",
	}
}

// ConnectSrc is the origin the console's scripts call besides their own (the
// token endpoint), for the Content-Security-Policy.
func (c *Cognito) ConnectSrc() []string { return []string{c.cfg.Domain} }
