package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"wechatqr/functions/apigw"
)

var update = flag.Bool("update", false, "rewrite the qrcode files in events/")

const eventsDir = "../../events"

// route is one file of events/ for the QR management API, in the order a
// walkthrough takes them, with the status it answers on a fresh stack.
type route struct {
	file, method, target, key, body string
	params                          map[string]string
	status                          int
}

var routes = []route{
	{"qrcode-create.json", "POST", "/qrcodes", "POST /qrcodes",
		`{"scene":"riddle-1","permanent":true,"reply":{"type":"text","content":"Answer: a map"}}`, nil, 201},
	{"qrcode-get.json", "GET", "/qrcodes/riddle-1", "GET /qrcodes/{scene}", "", map[string]string{"scene": "riddle-1"}, 200},
	{"qrcode-set-reply.json", "PUT", "/qrcodes/riddle-1/reply", "PUT /qrcodes/{scene}/reply",
		`{"type":"text","content":"Answer: a map (it has cities without houses)"}`, map[string]string{"scene": "riddle-1"}, 200},
	{"qrcode-set-actions.json", "PUT", "/qrcodes/riddle-1/actions", "PUT /qrcodes/{scene}/actions",
		`{"tag":"riddle fans","followups":[{"type":"text","content":"Another riddle tomorrow at 8"}]}`, map[string]string{"scene": "riddle-1"}, 200},
	{"qrcode-image.json", "GET", "/qrcodes/riddle-1/image?size=300&format=png", "GET /qrcodes/{scene}/image", "", map[string]string{"scene": "riddle-1"}, 200},
	{"qrcode-stats.json", "GET", "/qrcodes/riddle-1/stats", "GET /qrcodes/{scene}/stats", "", map[string]string{"scene": "riddle-1"}, 200},
	{"qrcode-list.json", "GET", "/qrcodes?limit=10", "GET /qrcodes", "", nil, 200},
	{"user-erase.json", "DELETE", "/users/oKqdL5Vn7Ek3wOq2fG8mZ1xYc9aQ", "DELETE /users/{openid}", "", map[string]string{"openid": "oKqdL5Vn7Ek3wOq2fG8mZ1xYc9aQ"}, 200},
}

func (r route) event(t *testing.T) events.APIGatewayV2HTTPRequest {
	t.Helper()
	req := httptest.NewRequest(r.method, "https://abc123.execute-api.us-east-1.amazonaws.com"+r.target, strings.NewReader(r.body))
	req.RemoteAddr = "198.51.100.7:40000"
	req.Header.Set("User-Agent", "aws-cli/2.22.0")
	if r.body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	e, err := apigw.NewEvent(req, apigw.Route{Key: r.key, PathParams: r.params, IAM: true, Time: time.Unix(1732500000, 0)})
	if err != nil {
		t.Fatal(err)
	}
	e.RequestContext.APIID, e.RequestContext.DomainPrefix, e.RequestContext.RequestID = "abc123", "abc123", "JKJaXmPLvHcESHA="
	return e
}

func marshal(t *testing.T, v any) []byte {
	t.Helper()
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// TestEventsMatchTheirGenerator keeps the qrcode files in events/ what the
// adapter's NewEvent builds; `go test ./functions/qrcode -run TestEvents -update`
// rewrites them.
func TestEventsMatchTheirGenerator(t *testing.T) {
	for _, r := range routes {
		want := marshal(t, r.event(t))
		path := filepath.Join(eventsDir, r.file)
		if *update {
			if err := os.WriteFile(path, want, 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		got, err := os.ReadFile(path)
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("%s is missing or differs from its generator (%v); run `go test ./functions/qrcode -run TestEvents -update`", path, err)
		}
	}
}
