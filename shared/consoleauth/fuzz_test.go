package consoleauth

import (
	"errors"
	"testing"

	"github.com/golang-jwt/jwt/v5"
)

// FuzzCheckJWT feeds checkJWT, the check every bearer token meets before a key
// is fetched, arbitrary input: it never panics, refuses with ErrInvalidToken,
// and what it lets through the JWT library parses too, as RS256 with the kid
// checkJWT returned (so a key fetch is only ever spent on a real candidate).
func FuzzCheckJWT(f *testing.F) {
	for _, s := range []string{
		"",
		"garbage",
		"a.b.c",
		"a.b.c.d",
		// {"alg":"RS256","kid":"k1"} . {"sub":"x"} . "sig"
		"eyJhbGciOiJSUzI1NiIsImtpZCI6ImsxIn0.eyJzdWIiOiJ4In0.c2ln",
		// {"alg":"none","kid":"k1"}
		"eyJhbGciOiJub25lIiwia2lkIjoiazEifQ.eyJzdWIiOiJ4In0.",
		// {"alg":"RS256"} (no kid)
		"eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln",
		// {"alg":"RS256","kid":"k1","alg":"HS256"} (a repeated member)
		"eyJhbGciOiJSUzI1NiIsImtpZCI6ImsxIiwiYWxnIjoiSFMyNTYifQ.eyJzdWIiOiJ4In0.c2ln",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		kid, err := checkJWT(raw)
		if err != nil {
			if !errors.Is(err, ErrInvalidToken) {
				t.Fatalf("refused with %v, not ErrInvalidToken", err)
			}
			return
		}
		if kid == "" {
			t.Fatal("accepted with no kid")
		}
		tok, _, err := jwt.NewParser().ParseUnverified(raw, jwt.MapClaims{})
		if err != nil {
			t.Fatalf("checkJWT accepted %q, which the JWT library cannot parse: %v", raw, err)
		}
		if tok.Method.Alg() != "RS256" || tok.Header["kid"] != kid {
			t.Fatalf("checkJWT accepted %q with kid %q; the library reads alg %v kid %v", raw, kid, tok.Header["alg"], tok.Header["kid"])
		}
	})
}
