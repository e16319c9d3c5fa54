package apigw

import (
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-lambda-go/events"
)

// Route is what API Gateway adds to a request it matched: the route key, the
// path parameters, and whether the route is IAM-authorized.
type Route struct {
	Key        string            // e.g. "GET /qrcodes/{scene}"
	PathParams map[string]string // decoded values
	IAM        bool              // fill requestContext.authorizer.iam, as for a SigV4-signed caller
	Time       time.Time         // requestContext.time; zero means now
}

// NewEvent builds the HTTP API payload 2.0 event API Gateway would hand the
// function for r: the reverse of Request. It serves the local front of `make
// run` and the files in events/. The body is read; binary bodies go base64.
func NewEvent(r *http.Request, route Route) (events.APIGatewayV2HTTPRequest, error) {
	var body []byte
	if r.Body != nil {
		var err error
		if body, err = io.ReadAll(r.Body); err != nil {
			return events.APIGatewayV2HTTPRequest{}, fmt.Errorf("apigw: reading the body: %w", err)
		}
	}
	at := route.Time
	if at.IsZero() {
		at = time.Now()
	}
	headers := map[string]string{}
	var cookies []string
	for k, v := range r.Header {
		k = strings.ToLower(k)
		if k == "cookie" {
			for _, c := range v {
				for _, part := range strings.Split(c, ";") {
					if part = strings.TrimSpace(part); part != "" {
						cookies = append(cookies, part)
					}
				}
			}
			continue
		}
		headers[k] = strings.Join(v, ",")
	}
	if r.Host != "" {
		headers["host"] = r.Host
	}
	var query map[string]string
	if q := r.URL.Query(); len(q) > 0 {
		query = map[string]string{}
		for k, v := range q {
			query[k] = strings.Join(v, ",")
		}
	}
	sourceIP, _, _ := strings.Cut(r.RemoteAddr, ":")
	rc := events.APIGatewayV2HTTPRequestContext{
		RouteKey:   route.Key,
		AccountID:  "123456789012",
		Stage:      "$default",
		RequestID:  strconv.FormatInt(at.UnixNano(), 36),
		APIID:      "local",
		DomainName: r.Host,
		Time:       at.UTC().Format("02/Jan/2006:15:04:05 -0700"),
		TimeEpoch:  at.UnixMilli(),
		HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{
			Method: r.Method, Path: r.URL.EscapedPath(), Protocol: r.Proto, SourceIP: sourceIP, UserAgent: r.UserAgent(),
		},
	}
	if route.IAM {
		rc.Authorizer = &events.APIGatewayV2HTTPRequestContextAuthorizerDescription{
			IAM: &events.APIGatewayV2HTTPRequestContextAuthorizerIAMDescription{
				AccessKey: "ASIAEXAMPLELOCAL", AccountID: "123456789012", CallerID: "AROAEXAMPLELOCAL:operator",
				UserARN: "arn:aws:sts::123456789012:assumed-role/operator/local", UserID: "AROAEXAMPLELOCAL:operator",
			},
		}
	}
	e := events.APIGatewayV2HTTPRequest{
		Version:               "2.0",
		RouteKey:              route.Key,
		RawPath:               r.URL.EscapedPath(),
		RawQueryString:        r.URL.RawQuery,
		Cookies:               cookies,
		Headers:               headers,
		QueryStringParameters: query,
		PathParameters:        route.PathParams,
		RequestContext:        rc,
	}
	if len(body) > 0 {
		if utf8.Valid(body) && textual(r.Header.Get("Content-Type")) {
			e.Body = string(body)
		} else {
			e.Body, e.IsBase64Encoded = base64.StdEncoding.EncodeToString(body), true
		}
	}
	return e, nil
}

// WriteResponse writes a function's HTTP API response to w, as API Gateway does.
func WriteResponse(w http.ResponseWriter, res events.APIGatewayV2HTTPResponse) error {
	body := []byte(res.Body)
	if res.IsBase64Encoded {
		var err error
		if body, err = base64.StdEncoding.DecodeString(res.Body); err != nil {
			return fmt.Errorf("apigw: the response says isBase64Encoded but its body is not base64: %w", err)
		}
	}
	for k, v := range res.Headers {
		w.Header().Set(k, v)
	}
	for k, vs := range res.MultiValueHeaders {
		for _, v := range vs {
			w.Header().Add(k, v)
		}
	}
	for _, c := range res.Cookies {
		w.Header().Add("Set-Cookie", c)
	}
	status := res.StatusCode
	if status == 0 {
		status = http.StatusOK
	}
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	_, err := w.Write(body)
	return err
}
