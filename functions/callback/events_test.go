package main

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"flag"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"wechatqr/shared/wechat/wechattest"
)

var update = flag.Bool("update", false, "rewrite the files in events/")

// The account of the protocol's known-answer vectors; events/env.json carries it.
const (
	token      = "wechatqr"
	appID      = "wx5823bf96d3bd56c7"
	aesKey     = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C"
	openID     = "oKqdL5Vn7Ek3wOq2fG8mZ1xYc9aQ"
	signedAt   = 1732500000
	nonce      = "468035"
	ticket     = "gQHk7zwAAAAAAAAAAS5odHRwOi8vd2VpeGluLnFxLmNvbS9xLzAyS0FU"
	eventsDir  = "../../events"
	riddle     = "riddle-1"
	riddleText = "Answer: a map"
)

// sampleEvent is one file of events/: what it holds and what the callback answers.
type sampleEvent struct {
	file  string
	event events.APIGatewayV2HTTPRequest
	// want is the reply's text content, "success", or the echostr.
	want string
}

func sampleEvents(t *testing.T) []sampleEvent {
	t.Helper()
	signer := wechattest.Signer{Token: token, AppID: appID, EncodingAESKey: aesKey, Rand: strings.NewReader("0123456789abcdef")}
	pushes := 0
	push := func(inner []byte, mode wechattest.Mode) events.APIGatewayV2HTTPRequest {
		// A nonce per push, as WeChat's: a query is served with one body only, so
		// files sharing one would refuse each other.
		pushes++
		q, body, err := signer.Push(inner, mode, signedAt, nonce+strconv.Itoa(pushes))
		if err != nil {
			t.Fatal(err)
		}
		e := apiEvent("POST", q)
		e.Body = string(body)
		if mode == wechattest.Safe {
			// API Gateway may hand a body over base64-encoded; one file proves that path.
			e.Body, e.IsBase64Encoded = base64.StdEncoding.EncodeToString(body), true
		}
		return e
	}
	return []sampleEvent{
		{"verify.json", apiEvent("GET", signer.Verification("7203719464335712960", signedAt, nonce)), "7203719464335712960"},
		{"subscribe-scene.json", push(signer.SubscribeXML(openID, riddle, signedAt, ticket), wechattest.Plaintext), riddleText},
		{"scan.json", push(signer.ScanXML(openID, riddle, signedAt+1, ticket), wechattest.Plaintext), riddleText},
		{"scan-safe.json", push(signer.ScanXML(openID, riddle, signedAt+2, ticket), wechattest.Safe), riddleText},
		{"subscribe.json", push(signer.SubscribeXML(openID, "", signedAt+3, ""), wechattest.Plaintext), "success"},
		{"unsubscribe.json", push(signer.UnsubscribeXML(openID, signedAt+4), wechattest.Plaintext), "success"},
		{"text.json", push(signer.TextXML(openID, "hello", signedAt+5, 24196829184573440), wechattest.Plaintext), "success"},
	}
}

// apiEvent is an HTTP API payload 2.0 event as API Gateway builds it for /wechat.
func apiEvent(method string, q url.Values) events.APIGatewayV2HTTPRequest {
	raw := encodeOrdered(q)
	headers := map[string]string{
		"host":            "abc123.execute-api.us-east-1.amazonaws.com",
		"user-agent":      "Mozilla/4.0",
		"accept":          "*/*",
		"pragma":          "no-cache",
		"content-type":    "text/xml",
		"x-forwarded-for": "101.226.103.0",
	}
	if method == "GET" {
		delete(headers, "content-type")
	}
	params := map[string]string{}
	for k := range q {
		params[k] = q.Get(k)
	}
	return events.APIGatewayV2HTTPRequest{
		Version:               "2.0",
		RouteKey:              method + " /wechat",
		RawPath:               "/wechat",
		RawQueryString:        raw,
		Headers:               headers,
		QueryStringParameters: params,
		RequestContext: events.APIGatewayV2HTTPRequestContext{
			RouteKey:     method + " /wechat",
			AccountID:    "123456789012",
			Stage:        "$default",
			RequestID:    "JKJaXmPLvHcESHA=",
			APIID:        "abc123",
			DomainName:   "abc123.execute-api.us-east-1.amazonaws.com",
			DomainPrefix: "abc123",
			Time:         time.Unix(signedAt, 0).UTC().Format("02/Jan/2006:15:04:05 -0700"),
			TimeEpoch:    signedAt * 1000,
			HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{
				Method: method, Path: "/wechat", Protocol: "HTTP/1.1", SourceIP: "101.226.103.0", UserAgent: "Mozilla/4.0",
			},
		},
	}
}

// encodeOrdered writes the query in the order WeChat does, so files read naturally.
func encodeOrdered(q url.Values) string {
	var parts []string
	for _, k := range []string{"signature", "echostr", "timestamp", "nonce", "openid", "encrypt_type", "msg_signature"} {
		if v := q.Get(k); v != "" {
			parts = append(parts, url.QueryEscape(k)+"="+url.QueryEscape(v))
		}
	}
	return strings.Join(parts, "&")
}

func marshalEvent(t *testing.T, e events.APIGatewayV2HTTPRequest) []byte {
	t.Helper()
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false) // keep the query's & readable
	enc.SetIndent("", "  ")
	if err := enc.Encode(e); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// envJSON is events/env.json, for sam local invoke --env-vars: the sample account
// in plaintext mode (which serves the plain and the safe-mode files alike), and
// the timestamp window off because the files are signed at a fixed time.
func envJSON() []byte {
	env := map[string]map[string]string{"CallbackFunction": {
		"WECHAT_APP_ID":              appID,
		"WECHAT_TOKEN":               token,
		"WECHAT_ENCODING_AES_KEY":    aesKey,
		"WECHAT_MESSAGE_MODE":        "plaintext",
		"WECHAT_TIMESTAMP_TOLERANCE": "0",
		"WECHAT_DEFAULT_REPLY":       "This code is not in use yet.",
	}}
	b, _ := json.MarshalIndent(env, "", "  ")
	return append(b, '\n')
}

// TestEventsMatchTheirGenerator keeps every file in events/ exactly what the signer
// builds, so the files are valid as committed. `go test -run TestEvents -update`
// rewrites them.
func TestEventsMatchTheirGenerator(t *testing.T) {
	files := map[string][]byte{"env.json": envJSON()}
	for _, s := range sampleEvents(t) {
		files[s.file] = marshalEvent(t, s.event)
	}
	for name, want := range files {
		path := filepath.Join(eventsDir, name)
		if *update {
			if err := os.WriteFile(path, want, 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		got, err := os.ReadFile(path)
		if err != nil {
			t.Fatalf("%v (run `go test ./functions/callback -run TestEvents -update`)", err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s differs from what the signer builds; run `go test ./functions/callback -run TestEvents -update`", path)
		}
	}
}
