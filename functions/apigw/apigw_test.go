package apigw

import (
	"bytes"
	"context"
	"encoding/base64"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/aws/aws-lambda-go/events"
)

func event(method, path, query, body string, b64 bool) events.APIGatewayV2HTTPRequest {
	return events.APIGatewayV2HTTPRequest{
		Version:         "2.0",
		RawPath:         path,
		RawQueryString:  query,
		Headers:         map[string]string{"content-type": "text/xml", "host": "api.example.com"},
		Body:            body,
		IsBase64Encoded: b64,
		RequestContext: events.APIGatewayV2HTTPRequestContext{
			Stage: "$default",
			HTTP:  events.APIGatewayV2HTTPRequestContextHTTPDescription{Method: method, Path: path, SourceIP: "101.226.103.0"},
		},
	}
}

// echo answers with what it saw, so the tests read the translation back.
var echo = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	w.Header().Set("X-Method", r.Method)
	w.Header().Set("X-Path", r.URL.Path)
	w.Header().Set("X-Nonce", r.URL.Query().Get("nonce"))
	w.Header().Set("X-Host", r.Host)
	w.Header().Set("X-Remote", r.RemoteAddr)
	w.Header().Set("Content-Type", r.Header.Get("Content-Type"))
	if _, ok := RequestContext(r.Context()); ok {
		w.Header().Set("X-Has-Context", "yes")
	}
	w.WriteHeader(http.StatusAccepted)
	_, _ = w.Write(body)
})

func TestHandlerTranslatesTheEventBothWays(t *testing.T) {
	tests := []struct {
		name     string
		event    events.APIGatewayV2HTTPRequest
		wantBody string
	}{
		{"plain body", event("POST", "/wechat", "signature=s&nonce=7", "<xml/>", false), "<xml/>"},
		{"base64 body is decoded", event("POST", "/wechat", "nonce=7", base64.StdEncoding.EncodeToString([]byte("<xml/>")), true), "<xml/>"},
		{"query from the parsed map when raw is absent", func() events.APIGatewayV2HTTPRequest {
			e := event("GET", "/wechat", "", "", false)
			e.QueryStringParameters = map[string]string{"nonce": "7"}
			return e
		}(), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := Handler(echo)(context.Background(), tt.event)
			if err != nil {
				t.Fatal(err)
			}
			if res.StatusCode != http.StatusAccepted {
				t.Errorf("status = %d, want 202", res.StatusCode)
			}
			want := map[string]string{
				"X-Method": tt.event.RequestContext.HTTP.Method, "X-Path": "/wechat", "X-Nonce": "7",
				"X-Host": "api.example.com", "X-Remote": "101.226.103.0", "X-Has-Context": "yes",
			}
			for k, v := range want {
				if got := res.Headers[k]; got != v {
					t.Errorf("%s = %q, want %q", k, got, v)
				}
			}
			if res.Body != tt.wantBody || res.IsBase64Encoded {
				t.Errorf("body = %q (base64 %v), want %q as text", res.Body, res.IsBase64Encoded, tt.wantBody)
			}
		})
	}
}

func TestBinaryResponsesAreBase64Encoded(t *testing.T) {
	png := []byte("\x89PNG\r\n\x1a\n\x00\x00")
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "image/png")
		_, _ = w.Write(png)
	})
	res, err := Handler(h)(context.Background(), event("GET", "/x", "", "", false))
	if err != nil {
		t.Fatal(err)
	}
	got, err := base64.StdEncoding.DecodeString(res.Body)
	if !res.IsBase64Encoded || err != nil || string(got) != string(png) {
		t.Errorf("body = %q base64=%v, want the PNG base64-encoded", res.Body, res.IsBase64Encoded)
	}
	if res.StatusCode != http.StatusOK {
		t.Errorf("status = %d, want 200 when the handler only writes", res.StatusCode)
	}
}

func TestMalformedEventsAreRefusedWith400(t *testing.T) {
	noMethod := event("", "/wechat", "", "", false)
	badBase64 := event("POST", "/wechat", "", "%%%", true)
	relative := event("GET", "wechat", "", "", false)
	for name, e := range map[string]events.APIGatewayV2HTTPRequest{"no method": noMethod, "bad base64": badBase64, "relative path": relative} {
		t.Run(name, func(t *testing.T) {
			called := false
			res, err := Handler(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { called = true }))(context.Background(), e)
			if err != nil || res.StatusCode != http.StatusBadRequest || called {
				t.Errorf("got status %d err %v called %v, want 400 without calling the handler", res.StatusCode, err, called)
			}
		})
	}
}

func TestSetCookieGoesToCookies(t *testing.T) {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Add("Set-Cookie", "a=1")
		w.Header().Add("Set-Cookie", "b=2")
		w.Header().Add("Vary", "Origin")
		w.Header().Add("Vary", "Accept")
	})
	res, _ := Handler(h)(context.Background(), event("GET", "/", "", "", false))
	if len(res.Cookies) != 2 || res.Headers["Vary"] != "Origin,Accept" {
		t.Errorf("cookies %v, Vary %q", res.Cookies, res.Headers["Vary"])
	}
}

func TestNewEventIsTheReverseOfRequest(t *testing.T) {
	tests := []struct {
		name, method, target, contentType string
		body                              []byte
		wantBase64                        bool
	}{
		{"xml push", "POST", "/wechat?signature=s&timestamp=1&nonce=2", "text/xml", []byte("<xml/>"), false},
		{"json create", "POST", "/qrcodes", "application/json", []byte(`{"scene":"a&b"}`), false},
		{"binary body", "PUT", "/x", "application/octet-stream", []byte{0xff, 0x00, 0x01}, true},
		{"escaped path", "GET", "/qrcodes/a%2Fb/image?size=300", "", nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, _ := http.NewRequest(tt.method, "http://127.0.0.1:3000"+tt.target, bytes.NewReader(tt.body))
			if tt.contentType != "" {
				r.Header.Set("Content-Type", tt.contentType)
			}
			r.Header.Add("Cookie", "a=1; b=2")
			e, err := NewEvent(r, Route{Key: tt.method + " /x", IAM: true})
			if err != nil {
				t.Fatal(err)
			}
			if e.IsBase64Encoded != tt.wantBase64 || e.RequestContext.Authorizer == nil || e.RequestContext.Authorizer.IAM == nil || len(e.Cookies) != 2 {
				t.Errorf("event = %+v", e)
			}
			back, err := Request(context.Background(), e)
			if err != nil {
				t.Fatal(err)
			}
			got, _ := io.ReadAll(back.Body)
			if back.Method != tt.method || back.URL.RequestURI() != r.URL.RequestURI() || !bytes.Equal(got, tt.body) || back.Header.Get("Cookie") != "a=1; b=2" {
				t.Errorf("round trip gave %s %s %q cookie %q", back.Method, back.URL.RequestURI(), got, back.Header.Get("Cookie"))
			}
		})
	}
}

func TestWriteResponseDecodesBase64Bodies(t *testing.T) {
	w := httptest.NewRecorder()
	err := WriteResponse(w, events.APIGatewayV2HTTPResponse{
		StatusCode: 201, Headers: map[string]string{"Content-Type": "image/png"}, Cookies: []string{"s=1"},
		Body: base64.StdEncoding.EncodeToString([]byte{1, 2, 3}), IsBase64Encoded: true,
	})
	if err != nil || w.Code != 201 || !bytes.Equal(w.Body.Bytes(), []byte{1, 2, 3}) || w.Header().Get("Set-Cookie") != "s=1" {
		t.Errorf("got %d %v %v", w.Code, w.Body.Bytes(), err)
	}
	if err := WriteResponse(httptest.NewRecorder(), events.APIGatewayV2HTTPResponse{Body: "%%", IsBase64Encoded: true}); err == nil {
		t.Error("a body that is not base64 must be an error")
	}
}
