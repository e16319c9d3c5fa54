package apigw_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"wechatqr/functions/apigw"
)

// seen is what the handler got from the adapter.
type seen struct {
	method, path, rawQuery string
	query                  url.Values
	body                   []byte
	contentLength          int64
	hasContext             bool
}

// echoStatus is one no other code path answers, so an echo is unmistakable.
const echoStatus = http.StatusNonAuthoritativeInfo

// FuzzRequest feeds arbitrary JSON to the adapter as Lambda would hand it over
// (anything that unmarshals into the event type, however unlike what API
// Gateway sends) and checks that it never panics or fails the invocation, and
// that it either refuses the event with 400 without calling the handler, or
// calls it with the event's request: the method, the query (rawQueryString, or
// the parsed map when that is absent), the path net/http would give for the
// same request line, and the body, base64-decoded when isBase64Encoded; and
// that the handler's answer comes back intact. Seeds: testdata/fuzz/FuzzRequest
// (real events from events/, base64 bodies, odd paths, no method, cookies).
func FuzzRequest(f *testing.F) {
	f.Fuzz(func(t *testing.T, payload []byte) {
		var e events.APIGatewayV2HTTPRequest
		if json.Unmarshal(payload, &e) != nil {
			t.Skip("not an event")
		}
		var got *seen
		echo := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			body, err := io.ReadAll(r.Body)
			if err != nil {
				t.Errorf("reading the body: %v", err)
			}
			_, hasContext := apigw.RequestContext(r.Context())
			got = &seen{method: r.Method, path: r.URL.Path, rawQuery: r.URL.RawQuery, query: r.URL.Query(),
				body: body, contentLength: r.ContentLength, hasContext: hasContext}
			w.Header().Set("Content-Type", "text/plain") // binary bodies take the base64 way back
			w.WriteHeader(echoStatus)
			_, _ = w.Write(body)
		})

		res, err := apigw.Handler(echo)(context.Background(), e)
		if err != nil {
			t.Fatalf("the invocation failed (API Gateway would answer 500): %v", err)
		}
		if got == nil {
			if res.StatusCode != http.StatusBadRequest {
				t.Fatalf("handler not called, status %d, want 400", res.StatusCode)
			}
			if plainlyValid(e) {
				t.Fatalf("a plainly valid event was refused: %s", res.Body)
			}
			return
		}
		if res.StatusCode != echoStatus {
			t.Fatalf("status %d, want the handler's %d", res.StatusCode, echoStatus)
		}

		if got.method != e.RequestContext.HTTP.Method {
			t.Errorf("method %q, want %q", got.method, e.RequestContext.HTTP.Method)
		}
		want := []byte(e.Body)
		if e.IsBase64Encoded {
			if want, err = base64.StdEncoding.DecodeString(e.Body); err != nil {
				t.Fatalf("served an event whose base64 body does not decode (%v)", err)
			}
		}
		if !bytes.Equal(got.body, want) || got.contentLength != int64(len(want)) {
			t.Errorf("handler read %q (ContentLength %d), want %q", got.body, got.contentLength, want)
		}
		back := []byte(res.Body)
		if res.IsBase64Encoded {
			if back, err = base64.StdEncoding.DecodeString(res.Body); err != nil {
				t.Fatalf("response body is flagged base64 but does not decode: %v", err)
			}
		}
		if !bytes.Equal(back, want) {
			t.Errorf("response body %q (base64 %v), want the echo %q", res.Body, res.IsBase64Encoded, want)
		}
		if !got.hasContext {
			t.Error("the request context is not reachable from the request")
		}

		if e.RawQueryString != "" {
			if got.rawQuery != e.RawQueryString {
				t.Errorf("raw query %q, want rawQueryString %q", got.rawQuery, e.RawQueryString)
			}
		} else {
			for k, v := range e.QueryStringParameters {
				if vs := strings.Split(v, ","); !slices.Equal(got.query[k], vs) {
					t.Errorf("query[%q] = %q, want %q (queryStringParameters %q)", k, got.query[k], vs, v)
				}
			}
		}
		// The handler must see the path a net/http server would for the request
		// line API Gateway received, so routing agrees with API Gateway's.
		target := rawPath(e)
		if e.RawQueryString != "" {
			target += "?" + e.RawQueryString
		}
		if u, err := url.ParseRequestURI(target); err == nil && got.path != u.Path {
			t.Errorf("path %q, want %q (rawPath %q)", got.path, u.Path, rawPath(e))
		}
	})
}

func rawPath(e events.APIGatewayV2HTTPRequest) string {
	switch {
	case e.RawPath != "":
		return e.RawPath
	case e.RequestContext.HTTP.Path != "":
		return e.RequestContext.HTTP.Path
	}
	return "/"
}

var (
	plainMethod = regexp.MustCompile(`^(GET|HEAD|POST|PUT|PATCH|DELETE|OPTIONS)$`)
	plainPath   = regexp.MustCompile(`^(/[A-Za-z0-9._~-]+)*/?$`)
	plainQuery  = regexp.MustCompile(`^[A-Za-z0-9._~%=&+-]*$`)
)

// plainlyValid is an event no adapter may refuse: a standard method, a path of
// plain segments, a query of URL-safe characters and a body as flagged.
func plainlyValid(e events.APIGatewayV2HTTPRequest) bool {
	if !plainMethod.MatchString(e.RequestContext.HTTP.Method) || !plainPath.MatchString(rawPath(e)) ||
		!plainQuery.MatchString(e.RawQueryString) {
		return false
	}
	if e.IsBase64Encoded {
		_, err := base64.StdEncoding.DecodeString(e.Body)
		return err == nil
	}
	return true
}
