package consoleauth_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"wechatqr/shared/consoleauth"
)

// The tests below run a real JWKS server (httptest) whose keys they rotate,
// and tokens they sign as Cognito would, so that every fetch is counted.

const (
	testPool   = "us-east-1_KeysTest1"
	testClient = "console-client"
	testIssuer = "https://cognito-idp.us-east-1.amazonaws.com/" + testPool
)

// clock is a fake clock the tests move.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// signer is one of the pool's signing keys.
type signer struct {
	kid string
	key *rsa.PrivateKey
}

func newSigner(t testing.TB, kid string) signer {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	return signer{kid: kid, key: k}
}

// token is an access token of the test pool for the console's client, issued
// at now and valid for an hour.
func (s signer) token(t testing.TB, now time.Time) string {
	t.Helper()
	tok := jwt.NewWithClaims(jwt.SigningMethodRS256, jwt.MapClaims{
		"iss": testIssuer, "sub": "user-sub", "username": "ops@example.com",
		"token_use": "access", "client_id": testClient,
		"iat": now.Unix(), "exp": now.Add(time.Hour).Unix(),
	})
	tok.Header["kid"] = s.kid
	raw, err := tok.SignedString(s.key)
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

func (s signer) jwk() map[string]string {
	b64 := base64.RawURLEncoding.EncodeToString
	return map[string]string{"kty": "RSA", "kid": s.kid, "alg": "RS256", "use": "sig",
		"n": b64(s.key.N.Bytes()), "e": b64(big.NewInt(int64(s.key.E)).Bytes())}
}

// jwksServer serves the keys it is given, or fails, or never answers.
type jwksServer struct {
	*httptest.Server
	fetches atomic.Int32

	mu    sync.Mutex
	keys  []signer
	fail  bool          // answer 500
	hang  bool          // answer only when the test ends
	delay time.Duration // before answering
}

func newJWKSServer(t *testing.T, keys ...signer) *jwksServer {
	t.Helper()
	s := &jwksServer{keys: keys}
	ended := make(chan struct{})
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.fetches.Add(1)
		s.mu.Lock()
		keys, fail, hang, delay := s.keys, s.fail, s.hang, s.delay
		s.mu.Unlock()
		if hang {
			select {
			case <-ended:
			case <-r.Context().Done():
			}
			return
		}
		time.Sleep(delay)
		if fail {
			http.Error(w, "down", http.StatusInternalServerError)
			return
		}
		set := struct {
			Keys []map[string]string `json:"keys"`
		}{Keys: []map[string]string{}}
		for _, k := range keys {
			set.Keys = append(set.Keys, k.jwk())
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(set)
	}))
	t.Cleanup(func() { close(ended); s.Close() })
	return s
}

func (s *jwksServer) set(f func(s *jwksServer)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f(s)
}

func newVerifier(t *testing.T, url string, now func() time.Time) *consoleauth.Cognito {
	t.Helper()
	v, err := consoleauth.NewCognito(consoleauth.CognitoConfig{
		UserPoolID: testPool, ClientID: testClient, Domain: "https://keys-test.auth.us-east-1.amazoncognito.com",
		JWKSURL: url, Now: now,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(v.Close)
	return v
}

func TestVerifyRefusesWhatIsNotAWellFormedJWTWithoutFetchingTheKeys(t *testing.T) {
	key := newSigner(t, "k1")
	jwks := newJWKSServer(t, key)
	jwks.set(func(s *jwksServer) { s.hang = true }) // a fetch would cost the whole timeout
	v := newVerifier(t, jwks.URL, nil)

	good := key.token(t, time.Now())
	parts := strings.Split(good, ".")
	b64 := func(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }
	withHeader := func(h string) string { return b64(h) + "." + parts[1] + "." + parts[2] }
	tests := map[string]string{
		"garbage":                   "garbage",
		"empty":                     "",
		"two parts":                 parts[0] + "." + parts[1],
		"four parts":                good + ".x",
		"an empty signature":        parts[0] + "." + parts[1] + ".",
		"a header not base64url":    "!!!." + parts[1] + "." + parts[2],
		"a payload not base64url":   parts[0] + ".%%%." + parts[2],
		"a signature not base64url": parts[0] + "." + parts[1] + ".+/=",
		"a header not JSON":         withHeader("RS256"),
		"a header JSON array":       withHeader(`["RS256"]`),
		"alg none":                  withHeader(`{"alg":"none","kid":"k1"}`),
		"alg HS256":                 withHeader(`{"alg":"HS256","kid":"k1"}`),
		"alg RS512":                 withHeader(`{"alg":"RS512","kid":"k1"}`),
		"no kid":                    withHeader(`{"alg":"RS256","typ":"JWT"}`),
		"an empty kid":              withHeader(`{"alg":"RS256","kid":""}`),
		"a kid that is a number":    withHeader(`{"alg":"RS256","kid":7}`),
		"a payload not an object":   parts[0] + "." + b64(`"sub"`) + "." + parts[2],
		"a payload null":            parts[0] + "." + b64(`null`) + "." + parts[2],
		"longer than any header":    parts[0] + "." + strings.Repeat("A", 17<<10) + "." + parts[2],
	}
	for name, tok := range tests {
		t.Run(name, func(t *testing.T) {
			start := time.Now()
			_, err := v.Verify(context.Background(), tok)
			if !errors.Is(err, consoleauth.ErrInvalidToken) {
				t.Fatalf("Verify: %v, want ErrInvalidToken", err)
			}
			// Loose: the point is that it did not wait on the hanging JWKS.
			if d := time.Since(start); d > time.Second {
				t.Errorf("refusing it took %s", d)
			}
		})
	}
	if n := jwks.fetches.Load(); n != 0 {
		t.Errorf("%d fetches of the JWKS for tokens refused before any key is needed, want 0", n)
	}
}

func TestAKeyFetchThatNeverAnswersCostsAtMostTheFetchTimeoutThenIsRemembered(t *testing.T) {
	key := newSigner(t, "k1")
	jwks := newJWKSServer(t, key)
	jwks.set(func(s *jwksServer) { s.hang = true })
	v := newVerifier(t, jwks.URL, nil)
	h := guarded(v)
	tok := "Bearer " + key.token(t, time.Now())

	start := time.Now()
	w := do(h, tok)
	took := time.Since(start)
	if w.Code != http.StatusServiceUnavailable || !strings.Contains(w.Body.String(), `"unavailable"`) {
		t.Fatalf("with the JWKS hanging: %d %s, want 503 unavailable", w.Code, w.Body)
	}
	// KeyFetchTimeout is 2 s; the bound is loose so that a loaded machine does not fail it.
	if took > 2*consoleauth.KeyFetchTimeout {
		t.Errorf("the request took %s, want at most about %s", took, consoleauth.KeyFetchTimeout)
	}
	t.Logf("a token against a JWKS that never answers: %s", took)

	start = time.Now()
	if w := do(h, tok); w.Code != http.StatusServiceUnavailable {
		t.Fatalf("right after the failed fetch: %d %s, want 503", w.Code, w.Body)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("the request after a failed fetch took %s; the failure should stand, not be fetched again", d)
	}
	if n := jwks.fetches.Load(); n != 1 {
		t.Errorf("%d fetches, want 1", n)
	}
}

func TestAFailedKeyFetchStandsFor30Seconds(t *testing.T) {
	clk := &clock{t: time.Now()}
	key := newSigner(t, "k1")
	jwks := newJWKSServer(t, key)
	jwks.set(func(s *jwksServer) { s.fail = true })
	v := newVerifier(t, jwks.URL, clk.Now)
	tok := key.token(t, clk.Now())

	verify := func() error { _, err := v.Verify(context.Background(), tok); return err }
	if err := verify(); !errors.Is(err, consoleauth.ErrKeysUnavailable) {
		t.Fatalf("with the JWKS failing: %v, want ErrKeysUnavailable", err)
	}
	jwks.set(func(s *jwksServer) { s.fail = false })
	failed := clk.Now()
	for _, d := range []time.Duration{0, 10 * time.Second, 19*time.Second + 999*time.Millisecond} {
		clk.Add(d)
		if err := verify(); !errors.Is(err, consoleauth.ErrKeysUnavailable) {
			t.Fatalf("%s after the failure: %v, want ErrKeysUnavailable until it has stood 30 s", clk.Now().Sub(failed), err)
		}
	}
	if n := jwks.fetches.Load(); n != 1 {
		t.Fatalf("%d fetches within 30 s of the failed one, want 1", n)
	}
	clk.Add(time.Millisecond) // 30 s after the failure
	if err := verify(); err != nil {
		t.Fatalf("30 s after the failure, with the JWKS back: %v", err)
	}
	if err := verify(); err != nil {
		t.Fatal(err)
	}
	if n := jwks.fetches.Load(); n != 2 {
		t.Errorf("%d fetches, want 2 (the failed one, then one kept)", n)
	}
}

func TestARotatedKeyIsFetchedOnceAndUnknownKeysAtMostEvery5Minutes(t *testing.T) {
	clk := &clock{t: time.Now()}
	old, rotated, forged := newSigner(t, "old"), newSigner(t, "rotated"), newSigner(t, "forged")
	jwks := newJWKSServer(t, old)
	// Slower than the 1 ms the refresh once had for its deadline: it must
	// really run.
	jwks.set(func(s *jwksServer) { s.delay = 50 * time.Millisecond })
	v := newVerifier(t, jwks.URL, clk.Now)
	verify := func(s signer) error { _, err := v.Verify(context.Background(), s.token(t, clk.Now())); return err }
	fetches := func(want int32, when string) {
		t.Helper()
		if n := jwks.fetches.Load(); n != want {
			t.Fatalf("%s: %d fetches, want %d", when, n, want)
		}
	}

	if err := verify(old); err != nil {
		t.Fatal(err)
	}
	fetches(1, "the first token")
	jwks.set(func(s *jwksServer) { s.keys = []signer{old, rotated} })
	clk.Add(time.Minute)
	if err := verify(rotated); err != nil {
		t.Fatalf("a token under the rotated key: %v", err)
	}
	fetches(2, "the rotated key's first token")
	for range 3 {
		if err := verify(rotated); err != nil {
			t.Fatal(err)
		}
		if err := verify(old); err != nil {
			t.Fatal(err)
		}
	}
	fetches(2, "more tokens under keys held")

	// A kid the pool does not have: refused, and no fetch inside 5 minutes of
	// the last one an unknown kid caused.
	clk.Add(4*time.Minute + 59*time.Second)
	for range 3 {
		if err := verify(forged); !errors.Is(err, consoleauth.ErrInvalidToken) {
			t.Fatalf("a token under a key the pool lacks: %v, want ErrInvalidToken", err)
		}
	}
	fetches(2, "unknown kids within 5 minutes of the rotation's fetch")
	clk.Add(time.Second)
	if err := verify(forged); !errors.Is(err, consoleauth.ErrInvalidToken) {
		t.Fatalf("%v, want ErrInvalidToken", err)
	}
	fetches(3, "an unknown kid 5 minutes after the last such fetch")
	if err := verify(old); err != nil {
		t.Fatalf("the keys held stay in use: %v", err)
	}
	fetches(3, "a known kid")
}

func TestAKnownKeyDoesNotWaitOnAnUnknownKidsFetch(t *testing.T) {
	key, forged := newSigner(t, "k1"), newSigner(t, "forged")
	jwks := newJWKSServer(t, key)
	v := newVerifier(t, jwks.URL, nil)
	tok := key.token(t, time.Now())
	if _, err := v.Verify(context.Background(), tok); err != nil {
		t.Fatal(err)
	}
	jwks.set(func(s *jwksServer) { s.delay = 1500 * time.Millisecond })
	forgedTok := forged.token(t, time.Now())
	done := make(chan error, 1)
	go func() { _, err := v.Verify(context.Background(), forgedTok); done <- err }()
	for jwks.fetches.Load() < 2 {
		time.Sleep(5 * time.Millisecond)
	}
	start := time.Now()
	if _, err := v.Verify(context.Background(), tok); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("a token under a key held took %s while an unknown kid's fetch ran", d)
	}
	if err := <-done; !errors.Is(err, consoleauth.ErrInvalidToken) {
		t.Errorf("the forged token: %v, want ErrInvalidToken", err)
	}
}

func TestConcurrentRequestsShareOneKeyFetch(t *testing.T) {
	key := newSigner(t, "k1")
	jwks := newJWKSServer(t, key)
	jwks.set(func(s *jwksServer) { s.delay = 200 * time.Millisecond })
	v := newVerifier(t, jwks.URL, nil)
	tok := key.token(t, time.Now())
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for range 8 {
		wg.Go(func() {
			_, err := v.Verify(context.Background(), tok)
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	if n := jwks.fetches.Load(); n != 1 {
		t.Errorf("%d fetches for 8 concurrent first requests, want 1", n)
	}
}

func TestARequestThatGivesUpDoesNotEndTheFetch(t *testing.T) {
	key := newSigner(t, "k1")
	jwks := newJWKSServer(t, key)
	jwks.set(func(s *jwksServer) { s.delay = 300 * time.Millisecond })
	v := newVerifier(t, jwks.URL, nil)
	tok := key.token(t, time.Now())
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if _, err := v.Verify(ctx, tok); !errors.Is(err, consoleauth.ErrKeysUnavailable) {
		t.Fatalf("a request whose deadline passes during the fetch: %v, want ErrKeysUnavailable", err)
	}
	if _, err := v.Verify(context.Background(), tok); err != nil {
		t.Fatalf("the next request: %v", err)
	}
	if n := jwks.fetches.Load(); n != 1 {
		t.Errorf("%d fetches, want 1: the first request's fetch serves the next", n)
	}
}

// BenchmarkVerifyAgainstAHangingJWKS measures what a garbage token and a
// well-formed one cost when the JWKS never answers: nothing, and one fetch
// timeout, then nothing while the failure stands.
func BenchmarkVerifyAgainstAHangingJWKS(b *testing.B) {
	key := newSigner(b, "k1")
	for _, c := range []struct {
		name string
		tok  string
	}{{"garbage", "garbage"}, {"well-formed", key.token(b, time.Now())}} {
		b.Run(c.name, func(b *testing.B) {
			jwks := newBenchJWKS(b)
			v, err := consoleauth.NewCognito(consoleauth.CognitoConfig{
				UserPoolID: testPool, ClientID: testClient, Domain: "https://keys-test.auth.us-east-1.amazoncognito.com", JWKSURL: jwks,
			})
			if err != nil {
				b.Fatal(err)
			}
			defer v.Close()
			start := time.Now()
			_, _ = v.Verify(context.Background(), c.tok)
			first := time.Since(start)
			for b.Loop() {
				_, _ = v.Verify(context.Background(), c.tok)
			}
			b.ReportMetric(float64(first.Milliseconds()), "first-ms")
		})
	}
}

func newBenchJWKS(b *testing.B) string {
	ended := make(chan struct{})
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-ended:
		case <-r.Context().Done():
		}
	}))
	b.Cleanup(func() { close(ended); s.Close() })
	return s.URL
}
