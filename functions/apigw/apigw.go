// Package apigw serves an http.Handler behind API Gateway HTTP API (payload format
// 2.0): the Lambda event is translated into an *http.Request once, here, and the
// handler's response back into the event API Gateway expects. It is the shape of
// aws-lambda-go's lambdaurl.Wrap, for HTTP APIs.
package apigw

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"unicode/utf8"

	"github.com/aws/aws-lambda-go/events"

	"wechatqr/shared/caller"
)

// Handler adapts h to a Lambda handler for HTTP API payload 2.0 events.
func Handler(h http.Handler) func(context.Context, events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	return func(ctx context.Context, e events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
		r, err := Request(ctx, e)
		if err != nil {
			// A malformed event is the caller's fault, not the function's: answer 400
			// rather than failing the invocation (which API Gateway turns into a 500).
			return events.APIGatewayV2HTTPResponse{
				StatusCode: http.StatusBadRequest,
				Headers:    map[string]string{"Content-Type": "text/plain; charset=utf-8"},
				Body:       err.Error(),
			}, nil
		}
		w := NewResponseWriter()
		h.ServeHTTP(w, r)
		return w.Response(), nil
	}
}

type contextKey struct{}

// RequestContext returns the API Gateway request context of the event r came from:
// the stage, the request id and, on IAM-authorized routes, the caller's identity.
func RequestContext(ctx context.Context) (events.APIGatewayV2HTTPRequestContext, bool) {
	rc, ok := ctx.Value(contextKey{}).(events.APIGatewayV2HTTPRequestContext)
	return rc, ok
}

// Request translates e into an *http.Request carrying ctx.
func Request(ctx context.Context, e events.APIGatewayV2HTTPRequest) (*http.Request, error) {
	method := e.RequestContext.HTTP.Method
	if method == "" {
		return nil, fmt.Errorf("apigw: the event has no requestContext.http.method (is it an HTTP API payload 2.0 event?)")
	}
	path := e.RawPath
	if path == "" {
		path = e.RequestContext.HTTP.Path
	}
	if path == "" {
		path = "/"
	}
	// ParseRequestURI, as net/http's server reads a request line: "//x/y" is a
	// path, not a host and "/y"; '#' is part of the path, not a fragment.
	u, err := url.ParseRequestURI(path)
	if err != nil || u.Path == "" || u.Path[0] != '/' || u.RawQuery != "" {
		return nil, fmt.Errorf("apigw: rawPath %q is not an absolute path", path)
	}
	u.RawQuery = e.RawQueryString
	if u.RawQuery == "" && len(e.QueryStringParameters) > 0 {
		// Hand-written events often give only the parsed map.
		q := url.Values{}
		for k, v := range e.QueryStringParameters {
			for _, part := range strings.Split(v, ",") {
				q.Add(k, part)
			}
		}
		u.RawQuery = q.Encode()
	}
	body := []byte(e.Body)
	if e.IsBase64Encoded {
		body, err = base64.StdEncoding.DecodeString(e.Body)
		if err != nil {
			return nil, fmt.Errorf("apigw: isBase64Encoded is true but the body is not base64: %w", err)
		}
	}
	ctx = context.WithValue(ctx, contextKey{}, e.RequestContext)
	if c, ok := iamCaller(e.RequestContext); ok {
		ctx = caller.With(ctx, c)
	}
	// Build on "/" and set the URL after: formatting u and parsing it again
	// would read "//x/y" as a host and cut the query at a '#'.
	r, err := http.NewRequestWithContext(ctx, method, "/", bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("apigw: %w", err)
	}
	r.URL = u
	// API Gateway lower-cases header names and joins repeated values with commas.
	for k, v := range e.Headers {
		r.Header.Set(k, v)
	}
	if len(e.Cookies) > 0 {
		r.Header.Set("Cookie", strings.Join(e.Cookies, "; "))
	}
	r.Host = r.Header.Get("Host")
	if r.Host == "" {
		r.Host = e.RequestContext.DomainName
	}
	r.RemoteAddr = e.RequestContext.HTTP.SourceIP
	r.RequestURI = u.RequestURI()
	r.ContentLength = int64(len(body))
	return r, nil
}

// iamCaller is the principal API Gateway verified on an IAM-authorized route;
// false when the route is not one (the console's, the callback's).
func iamCaller(rc events.APIGatewayV2HTTPRequestContext) (caller.Caller, bool) {
	if rc.Authorizer == nil || rc.Authorizer.IAM == nil {
		return caller.Caller{}, false
	}
	iam := rc.Authorizer.IAM
	id := iam.UserARN
	if id == "" {
		id = iam.CallerID
	}
	if id == "" {
		return caller.Caller{}, false
	}
	return caller.Caller{Kind: caller.IAM, ID: id, Subject: iam.UserID, Account: iam.AccountID}, true
}

// ResponseWriter records a handler's response for an API Gateway event.
type ResponseWriter struct {
	header http.Header
	status int
	body   bytes.Buffer
}

// NewResponseWriter returns an empty ResponseWriter.
func NewResponseWriter() *ResponseWriter { return &ResponseWriter{header: http.Header{}} }

func (w *ResponseWriter) Header() http.Header { return w.header }

func (w *ResponseWriter) WriteHeader(status int) {
	if w.status == 0 {
		w.status = status
	}
}

func (w *ResponseWriter) Write(p []byte) (int, error) {
	w.WriteHeader(http.StatusOK)
	return w.body.Write(p)
}

// Response returns the recorded response as the event API Gateway expects. Textual
// bodies go as they are; anything else (a PNG, say) goes base64-encoded.
func (w *ResponseWriter) Response() events.APIGatewayV2HTTPResponse {
	status := w.status
	if status == 0 {
		status = http.StatusOK
	}
	res := events.APIGatewayV2HTTPResponse{StatusCode: status, Headers: map[string]string{}}
	for k, v := range w.header {
		if k == "Set-Cookie" {
			res.Cookies = append(res.Cookies, v...)
			continue
		}
		res.Headers[k] = strings.Join(v, ",")
	}
	if _, ok := res.Headers["Content-Type"]; !ok && w.body.Len() > 0 {
		res.Headers["Content-Type"] = http.DetectContentType(w.body.Bytes())
	}
	b := w.body.Bytes()
	if textual(res.Headers["Content-Type"]) && utf8.Valid(b) {
		res.Body = string(b)
	} else {
		res.Body = base64.StdEncoding.EncodeToString(b)
		res.IsBase64Encoded = true
	}
	return res
}

func textual(contentType string) bool {
	mt, _, _ := strings.Cut(contentType, ";")
	mt = strings.TrimSpace(strings.ToLower(mt))
	return strings.HasPrefix(mt, "text/") || mt == "application/json" || mt == "application/xml" ||
		strings.HasSuffix(mt, "+json") || strings.HasSuffix(mt, "+xml") || mt == "image/svg+xml"
}
