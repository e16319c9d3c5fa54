package main

import (
	"bytes"
	"context"
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
	"wechatqr/local/stack"
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

// TestDeployedTheFunctionRefusesWhatOnlyTheLocalStackMayDo runs the built
// bootstrap under aws-lambda-rie as deployed (the local stack's environment
// without its WECHATQR_LOCAL flag): the IAM events of events/ answer, the same
// event without its IAM caller is refused 403, and with CONSOLE_AUTH=none the
// function fails its init, saying why.
func TestDeployedTheFunctionRefusesWhatOnlyTheLocalStackMayDo(t *testing.T) {
	stack.SkipShort(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	s, err := stack.Start(ctx, stack.Options{Functions: []string{"QRCodeFunction"}, BuildDir: t.TempDir(),
		// Without ACCOUNTS_TABLE too: a deployment's accounts are sealed by KMS, which
		// the local stack stands in for only under the local flag; this is about the caller.
		Env: map[string]string{"WECHATQR_LOCAL": "", "CONSOLE_AUTH": "", "ACCOUNTS_TABLE": ""}})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	invoke := func(s *stack.Stack, e events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
		t.Helper()
		payload, err := json.Marshal(e)
		if err != nil {
			t.Fatal(err)
		}
		var res events.APIGatewayV2HTTPResponse
		out, err := s.Invoke(ctx, "QRCodeFunction", payload)
		if err == nil {
			err = json.Unmarshal(out, &res)
		}
		return res, err
	}
	var create events.APIGatewayV2HTTPRequest
	raw, err := os.ReadFile(filepath.Join(eventsDir, "qrcode-create.json"))
	if err != nil || json.Unmarshal(raw, &create) != nil || create.RequestContext.Authorizer == nil || create.RequestContext.Authorizer.IAM == nil {
		t.Fatalf("qrcode-create.json: %v, or no IAM caller in it", err)
	}
	if res, err := invoke(s, create); err != nil || res.StatusCode != 201 {
		t.Fatalf("qrcode-create.json: %d %s %v, want 201", res.StatusCode, res.Body, err)
	}
	noIAM := create
	noIAM.RequestContext.Authorizer = nil
	res, err := invoke(s, noIAM)
	if err != nil || res.StatusCode != 403 || !strings.Contains(res.Body, `"forbidden"`) {
		t.Errorf("the same event without its IAM caller: %d %s %v, want 403 forbidden", res.StatusCode, res.Body, err)
	}
	if fn, _ := s.Function("QRCodeFunction"); !strings.Contains(fn.Logs(), "request without an IAM caller refused") {
		t.Errorf("the refusal is not logged:\n%s", fn.Logs())
	}

	none, err := stack.Start(ctx, stack.Options{Functions: []string{"QRCodeFunction"}, BuildDir: t.TempDir(), DB: s.DB, TablePrefix: "none-",
		Env: map[string]string{"WECHATQR_LOCAL": "", "CONSOLE_AUTH": "none", "ACCOUNTS_TABLE": ""}})
	if err != nil {
		t.Fatal(err)
	}
	defer none.Close()
	if res, err := invoke(none, create); err == nil {
		t.Errorf("CONSOLE_AUTH=none without the local flag: answered %d %s, want a failed init", res.StatusCode, res.Body)
	}
	if fn, _ := none.Function("QRCodeFunction"); !strings.Contains(fn.Logs(), "CONSOLE_AUTH=none turns the console's sign-in off") {
		t.Errorf("the init failure does not say why:\n%s", fn.Logs())
	}
}
