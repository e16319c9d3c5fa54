package consoleauth

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/MicahParks/jwkset"
	"github.com/MicahParks/keyfunc/v3"
)

// How the pool's keys are fetched (docs/console.md, "Key fetching").
const (
	// KeyFetchTimeout bounds one fetch of the pool's JWKS, so a slow Cognito
	// costs a request at most this long.
	KeyFetchTimeout = 2 * time.Second
	// KeyFetchRetry is how long a failed fetch stands: requests in that time
	// are refused 503 at once instead of each waiting on another fetch.
	KeyFetchRetry = 30 * time.Second
	// UnknownKeyRefresh is the least time between two fetches a token naming a
	// key not in the set causes (Cognito rotated its keys, or a forged kid).
	UnknownKeyRefresh = 5 * time.Minute
	// keyRefreshInterval is the background refresh of a fetched set, which
	// drops keys the pool has revoked.
	keyRefreshInterval = time.Hour
)

// maxTokenLen bounds what checkJWT decodes. API Gateway's HTTP APIs take at
// most 10 KiB of request headers, so no token that reaches the function is
// longer; a Cognito access token is about 1 KiB.
const maxTokenLen = 16 << 10

// checkJWT is the check a token passes before any key is fetched for it: three
// base64url parts, a JSON header naming alg RS256 and a kid, a JSON object for
// a payload and a signature. It returns the kid. Anything else cannot be a
// Cognito access token, and must not cost a fetch (nor a wait on one).
func checkJWT(raw string) (kid string, err error) {
	bad := func(why string) (string, error) { return "", fmt.Errorf("%w: not a JWT: %s", ErrInvalidToken, why) }
	if len(raw) > maxTokenLen {
		return bad("too long")
	}
	head, rest, ok := strings.Cut(raw, ".")
	payload, sig, ok2 := strings.Cut(rest, ".")
	if !ok || !ok2 || strings.Contains(sig, ".") {
		return bad("not three dot-separated parts")
	}
	hb, err := base64.RawURLEncoding.DecodeString(head)
	if err != nil {
		return bad("the header is not base64url")
	}
	// The header's members by their exact names: encoding/json would match a
	// struct field case-insensitively ("Alg"), where the JWT library, like the
	// JWT spec, reads "alg" alone.
	var header map[string]json.RawMessage
	var h struct{ Alg, Kid string }
	if err := json.Unmarshal(hb, &header); err != nil || header == nil ||
		json.Unmarshal(header["alg"], &h.Alg) != nil || json.Unmarshal(header["kid"], &h.Kid) != nil {
		return bad("the header is not a JSON object of strings alg and kid")
	}
	if h.Alg != "RS256" {
		return bad("the header's alg is not RS256")
	}
	if h.Kid == "" {
		return bad("the header names no kid")
	}
	pb, err := base64.RawURLEncoding.DecodeString(payload)
	if err != nil {
		return bad("the payload is not base64url")
	}
	var claims map[string]json.RawMessage
	if err := json.Unmarshal(pb, &claims); err != nil || claims == nil {
		return bad("the payload is not a JSON object")
	}
	if s, err := base64.RawURLEncoding.DecodeString(sig); err != nil || len(s) == 0 {
		return bad("the signature is empty or not base64url")
	}
	return h.Kid, nil
}

// keySource holds the pool's keys and decides when to fetch them; jwkset does
// the fetching (GET, JSON, validation of each key, the hourly refresh) and
// keyfunc the choice of a token's key.
//
// Why not keyfunc's own HTTP client (NewDefaultOverrideCtx), which rate-limits
// the refresh an unknown kid causes: its refresh runs under the context of the
// limiter's wait (jwkset's HTTPClientOptions.RateLimitWaitMax bounds both), so
// a short wait, wanted so that no request queues on the limiter, starves the
// fetch itself, and a long one makes requests wait minutes; it remembers no
// failed fetch, so every request during an outage waits on a new one; and its
// limiter keeps the wall clock, so the 5 minutes could not be tested. Here a
// fetch has its own deadline (KeyFetchTimeout), detached from any request; one
// runs at a time and every waiting request takes its result; a failure stands
// for KeyFetchRetry; an unknown kid refetches at most every UnknownKeyRefresh,
// all by the verifier's clock.
type keySource struct {
	url    string
	client *http.Client
	now    func() time.Time
	log    *slog.Logger
	ctx    context.Context // ends the fetches and the hourly refresh (Cognito.Close)

	mu          sync.Mutex
	store       jwkset.Storage     // nil until a fetch succeeds
	keys        keyfunc.Keyfunc    // keyfunc over store
	stopRefresh context.CancelFunc // ends store's hourly refresh
	failed      time.Time          // the last failed fetch while there were no keys; zero when none
	unknownKID  time.Time          // the last fetch an unknown kid caused; zero when none
	inflight    chan struct{}      // closed when the fetch running ends; nil when none runs
}

// get returns the keys to check a token whose header names kid: the ones held,
// after a fetch when none are held yet (unless one failed less than
// KeyFetchRetry ago) or when kid is not among them (at most every
// UnknownKeyRefresh). ErrKeysUnavailable when there are none.
func (s *keySource) get(ctx context.Context, kid string) (keyfunc.Keyfunc, error) {
	s.mu.Lock()
	switch {
	case s.store != nil && s.has(kid):
		// A key held: no wait, even on a fetch another token's unknown kid started.
		k := s.keys
		s.mu.Unlock()
		return k, nil
	case s.inflight != nil:
		// Another request's fetch is running: its result serves this one too.
	case s.store == nil:
		if !s.failed.IsZero() && s.now().Sub(s.failed) < KeyFetchRetry {
			s.mu.Unlock()
			return nil, fmt.Errorf("%w: the last fetch failed less than %s ago", ErrKeysUnavailable, KeyFetchRetry)
		}
		s.startFetch()
	case s.unknownKID.IsZero() || s.now().Sub(s.unknownKID) >= UnknownKeyRefresh:
		s.unknownKID = s.now()
		s.startFetch()
	default:
		// An unknown kid inside UnknownKeyRefresh of the last such fetch: the
		// keys held, which refuse it.
		k := s.keys
		s.mu.Unlock()
		return k, nil
	}
	done := s.inflight
	s.mu.Unlock()
	select {
	case <-done:
	case <-ctx.Done():
		return nil, fmt.Errorf("%w: %w", ErrKeysUnavailable, ctx.Err())
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.keys == nil {
		return nil, fmt.Errorf("%w: fetching them failed", ErrKeysUnavailable)
	}
	return s.keys, nil
}

// has reports whether the held set has a key kid. s.mu is held.
func (s *keySource) has(kid string) bool {
	_, err := s.store.KeyRead(s.ctx, kid)
	return err == nil
}

// startFetch starts a fetch in the background; s.mu is held and none runs.
// The fetch is not the request's: a request that gives up does not end it.
func (s *keySource) startFetch() {
	done := make(chan struct{})
	s.inflight = done
	go func() {
		defer close(done)
		s.fetch()
	}()
}

// fetch reads the JWKS once (jwkset: at most KeyFetchTimeout) and, if that
// worked, makes it the set, refreshed hourly in the background from then on.
func (s *keySource) fetch() {
	ctx, stop := context.WithCancel(s.ctx)
	store, err := jwkset.NewStorageFromHTTP(s.url, jwkset.HTTPClientStorageOptions{
		Client:          s.client,
		Ctx:             ctx,
		HTTPTimeout:     KeyFetchTimeout,
		RefreshInterval: keyRefreshInterval,
		// A failed hourly refresh keeps the keys held.
		RefreshErrorHandler: func(ctx context.Context, err error) {
			s.log.LogAttrs(ctx, slog.LevelWarn, "refreshing the user pool's keys failed; the keys held stay in use", slog.String("error", err.Error()))
		},
	})
	var keys keyfunc.Keyfunc
	if err == nil {
		keys, err = keyfunc.New(keyfunc.Options{Ctx: ctx, Storage: store})
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.inflight = nil
	if err != nil {
		stop() // the failed storage's hourly refresh
		if s.store == nil {
			s.failed = s.now()
		}
		s.log.LogAttrs(s.ctx, slog.LevelWarn, "fetching the user pool's keys failed", slog.String("error", err.Error()),
			slog.Bool("keys_held", s.store != nil))
		return
	}
	if s.stopRefresh != nil {
		s.stopRefresh()
	}
	s.store, s.keys, s.stopRefresh, s.failed = store, keys, stop, time.Time{}
}
