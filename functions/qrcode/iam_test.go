package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"wechatqr/functions/apigw"
)

// served is a handler that says it ran.
var served = http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "served") })

// gatewayEvent is the event API Gateway hands the function for method path on
// the route key, with or without an IAM caller.
func gatewayEvent(t *testing.T, method, path, key string, iam bool) events.APIGatewayV2HTTPRequest {
	t.Helper()
	e, err := apigw.NewEvent(httptest.NewRequest(method, "https://abc123.execute-api.us-east-1.amazonaws.com"+path, nil), apigw.Route{Key: key, IAM: iam})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func TestAFunctionDeployedRefusesARequestOutsideTheConsoleWithoutAnIAMCaller(t *testing.T) {
	jwtOnly := gatewayEvent(t, "GET", "/qrcodes", "GET /qrcodes", false)
	jwtOnly.RequestContext.Authorizer = &events.APIGatewayV2HTTPRequestContextAuthorizerDescription{
		JWT: &events.APIGatewayV2HTTPRequestContextAuthorizerJWTDescription{Claims: map[string]string{"sub": "x"}},
	}
	emptyIAM := gatewayEvent(t, "GET", "/qrcodes", "GET /qrcodes", true)
	emptyIAM.RequestContext.Authorizer.IAM.UserARN = ""
	tests := []struct {
		name   string
		event  events.APIGatewayV2HTTPRequest
		status int
	}{
		{"an IAM caller on the management API", gatewayEvent(t, "POST", "/qrcodes", "POST /qrcodes", true), 200},
		{"an IAM caller erasing a follower", gatewayEvent(t, "DELETE", "/users/oKqdL5Vn7Ek3wOq2fG8mZ1xYc9aQ", "DELETE /users/{openid}", true), 200},
		{"no IAM caller on the management API", gatewayEvent(t, "POST", "/qrcodes", "POST /qrcodes", false), 403},
		{"no IAM caller erasing a follower", gatewayEvent(t, "DELETE", "/users/oKqdL5Vn7Ek3wOq2fG8mZ1xYc9aQ", "DELETE /users/{openid}", false), 403},
		{"a JWT authorizer's claims, no IAM caller", jwtOnly, 403},
		{"an IAM context naming no caller", emptyIAM, 403},
		{"no route key (not from the gateway)", gatewayEvent(t, "GET", "/qrcodes", "", false), 403},
		{"a console path on a management route key", gatewayEvent(t, "GET", "/console/api/qrcodes", "GET /qrcodes", false), 403},
		{"the console's page", gatewayEvent(t, "GET", "/console", "GET /console", false), 200},
		{"the console's assets", gatewayEvent(t, "GET", "/console/config.json", "GET /console/{proxy+}", false), 200},
		{"the console's data (its sign-in checks it)", gatewayEvent(t, "POST", "/console/api/qrcodes", "ANY /console/api/{proxy+}", false), 200},
		{"a route key like the console's but not it", gatewayEvent(t, "GET", "/consoles", "GET /consoles", false), 403},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var logs bytes.Buffer
			h := apigw.Handler(edge(served, func(string) string { return "" }, slog.New(slog.NewJSONHandler(&logs, nil))))
			res, err := h(context.Background(), tt.event)
			if err != nil {
				t.Fatal(err)
			}
			if res.StatusCode != tt.status {
				t.Fatalf("status %d, want %d: %s", res.StatusCode, tt.status, res.Body)
			}
			if tt.status == 200 {
				if res.Body != "served" || logs.Len() != 0 {
					t.Errorf("body %q, logs %q; want the handler's answer and no log", res.Body, logs.String())
				}
				return
			}
			var body struct{ Error, Message string }
			if err := json.Unmarshal([]byte(res.Body), &body); err != nil || body.Error != "forbidden" || !strings.Contains(body.Message, "AWS_IAM") {
				t.Errorf("body %s (%v), want forbidden with a message naming AWS_IAM", res.Body, err)
			}
			var line struct {
				Level, Msg string
				RouteKey   string `json:"route_key"`
			}
			if err := json.Unmarshal(logs.Bytes(), &line); err != nil || line.Level != "ERROR" || line.RouteKey != tt.event.RouteKey {
				t.Errorf("log %q (%v), want one ERROR line naming the route key", logs.String(), err)
			}
			if strings.Contains(logs.String(), "oKqdL5Vn7Ek3wOq2fG8mZ1xYc9aQ") {
				t.Error("the refusal logs the path's openid")
			}
		})
	}
}

func TestTheLocalStackLetsARequestWithoutAnIAMCallerThrough(t *testing.T) {
	for _, v := range []struct {
		local  string
		status int
	}{{"1", 200}, {"", 403}, {"true", 403}, {"0", 403}} {
		getenv := func(k string) string {
			if k == "WECHATQR_LOCAL" {
				return v.local
			}
			return ""
		}
		res, err := apigw.Handler(edge(served, getenv, slog.New(slog.DiscardHandler)))(context.Background(), gatewayEvent(t, "GET", "/qrcodes", "GET /qrcodes", false))
		if err != nil {
			t.Fatal(err)
		}
		if res.StatusCode != v.status {
			t.Errorf("WECHATQR_LOCAL=%q: status %d, want %d", v.local, res.StatusCode, v.status)
		}
	}
}
