package stack

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"wechatqr/functions/apigw"
	"wechatqr/local/rie"
)

// MaxBody is API Gateway's payload limit for HTTP APIs.
const MaxBody = 10 << 20

var (
	pathParam   = regexp.MustCompile(`\{([^{}]+)\}`)
	greedyParam = regexp.MustCompile(`\{([^{}]+)\+\}`)
	// anyMethods are the methods an ANY route answers locally.
	anyMethods = []string{"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}
)

// Front is the local API Gateway: an http.Handler that matches the template's
// HttpApi routes, turns each request into the payload 2.0 event API Gateway
// would send (path parameters, query, base64 bodies, an IAM identity on the
// AWS_IAM routes, which are not checked locally), invokes the function, and
// turns its answer back into HTTP.
func (s *Stack) Front() http.Handler {
	mux := http.NewServeMux()
	for id, f := range s.functions {
		for _, r := range f.def.Routes {
			route := r
			// API Gateway's greedy {proxy+} is ServeMux's {proxy...}; the event names
			// the parameter "proxy" either way.
			path := greedyParam.ReplaceAllString(route.Path, "{$1...}")
			var params []string
			for _, m := range pathParam.FindAllStringSubmatch(path, -1) {
				params = append(params, strings.TrimSuffix(m[1], "..."))
			}
			handler := func(w http.ResponseWriter, req *http.Request) {
				s.serve(w, req, id, apigw.Route{Key: route.Method + " " + route.Path, IAM: route.IAM}, params)
			}
			// ANY is registered once per method: a method-less "/console/api/{proxy...}"
			// and "GET /console/{proxy...}" would conflict in ServeMux (neither is more
			// specific), while API Gateway picks a route for them.
			methods := []string{route.Method}
			if route.Method == "ANY" {
				methods = anyMethods
			}
			for _, m := range methods {
				mux.HandleFunc(m+" "+path, handler)
			}
		}
	}
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeGatewayError(w, http.StatusNotFound, "Not Found")
	})
	return mux
}

func (s *Stack) serve(w http.ResponseWriter, r *http.Request, id string, route apigw.Route, params []string) {
	r.Body = http.MaxBytesReader(w, r.Body, MaxBody)
	if len(params) > 0 {
		route.PathParams = map[string]string{}
		for _, p := range params {
			route.PathParams[p] = r.PathValue(p)
		}
	}
	e, err := apigw.NewEvent(r, route)
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			writeGatewayError(w, http.StatusRequestEntityTooLarge, "Request Entity Too Large")
			return
		}
		writeGatewayError(w, http.StatusBadRequest, "Bad Request")
		return
	}
	payload, err := json.Marshal(e)
	if err != nil {
		writeGatewayError(w, http.StatusInternalServerError, "Internal Server Error")
		return
	}
	// API Gateway gives up after 30 s; so does the front.
	ctx, cancel := context.WithTimeout(r.Context(), 30*time.Second)
	defer cancel()
	out, err := s.Invoke(ctx, id, payload)
	if err != nil {
		var fe *rie.FunctionError
		if errors.As(err, &fe) && fe.Timeout() {
			writeGatewayError(w, http.StatusServiceUnavailable, "Service Unavailable")
			return
		}
		// API Gateway answers a failed invocation with a bare 500.
		writeGatewayError(w, http.StatusInternalServerError, "Internal Server Error")
		return
	}
	var res events.APIGatewayV2HTTPResponse
	if err := json.Unmarshal(out, &res); err != nil || res.StatusCode == 0 {
		writeGatewayError(w, http.StatusInternalServerError, "Internal Server Error")
		return
	}
	if err := apigw.WriteResponse(w, res); err != nil {
		writeGatewayError(w, http.StatusInternalServerError, "Internal Server Error")
	}
}

// writeGatewayError answers as API Gateway does for its own errors.
func writeGatewayError(w http.ResponseWriter, status int, message string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	fmt.Fprintf(w, "{\"message\":%q}\n", message)
}

// Routes lists the front's routes, for the banner `make run` prints.
func (s *Stack) Routes() []string {
	var out []string
	for id, f := range s.functions {
		for _, r := range f.def.Routes {
			auth := ""
			if r.IAM {
				auth = " (AWS_IAM)"
			}
			out = append(out, fmt.Sprintf("%-6s %-28s → %s%s", r.Method, r.Path, id, auth))
		}
	}
	slices.Sort(out)
	return out
}
