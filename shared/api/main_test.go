package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"wechatqr/local/dynamolocal/dynamotest"
	"wechatqr/shared/api"
	"wechatqr/shared/callback"
	"wechatqr/shared/dynamo"
	"wechatqr/shared/token"
	"wechatqr/shared/wechat"
	"wechatqr/shared/wechat/wechattest"
)

// TestMain starts DynamoDB Local for the package's tests, except when only
// fuzzing (-run=^$ -fuzz=…, and in every fuzz worker): the fuzz targets use fakes,
// and a JVM started by each worker took most of `make test`'s 5 s of fuzzing.
func TestMain(m *testing.M) {
	flag.Parse()
	if onlyFuzzing() {
		os.Exit(m.Run())
	}
	os.Exit(dynamotest.Main(m))
}

func onlyFuzzing() bool {
	value := func(name string) string {
		if f := flag.Lookup(name); f != nil {
			return f.Value.String()
		}
		return ""
	}
	return value("test.fuzzworker") == "true" || (value("test.fuzz") != "" && value("test.run") == "^$")
}

// stack is the API, the callback and WeChat's emulator over fresh tables: the
// path a user's request takes, with only the network replaced by loopback.
type stack struct {
	api      http.Handler
	platform *wechattest.Platform
	callback string // the callback's URL, for the emulator's pushes
	store    *dynamo.Store
	client   *dynamodb.Client
	tables   dynamo.Tables
	all      []string // every table of the template, the tokens table included
	logs     *syncBuffer
}

// syncBuffer collects log lines written from several goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func newStack(t *testing.T, cfg api.Config, opts ...dynamo.Options) *stack {
	t.Helper()
	platform, wx := wechattest.NewServer(wechattest.PlatformConfig{})
	t.Cleanup(wx.Close)

	client, names := dynamotest.Tables(t, nil)
	tables := dynamo.Tables{Scenes: names["ScenesTable"], Events: names["EventsTable"]}
	var o dynamo.Options
	if len(opts) > 0 {
		o = opts[0]
	}
	store, err := dynamo.New(client, tables, o)
	if err != nil {
		t.Fatal(err)
	}
	tokens, err := dynamo.NewTokens(client, names["TokensTable"], wechattest.DefaultAppID)
	if err != nil {
		t.Fatal(err)
	}
	wc, err := wechat.NewClient(wx.URL, wechattest.DefaultAppID, wechattest.DefaultAppSecret, wechat.WithBackoff(time.Millisecond, 10*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	issuer, err := token.NewIssuer(wc, token.KindStable)
	if err != nil {
		t.Fatal(err)
	}
	source := token.NewSource(tokens, issuer, token.Options{})
	if cfg.ShowQRCodeURL == nil {
		cfg.ShowQRCodeURL = platform.ShowQRCodeURL
	}
	logs := &syncBuffer{}
	h, err := api.New(cfg, store, wc, source, slog.New(slog.NewJSONHandler(logs, nil)))
	if err != nil {
		t.Fatal(err)
	}

	cipher, err := wechat.NewCipher(wechattest.DefaultEncodingAESKey, wechattest.DefaultAppID)
	if err != nil {
		t.Fatal(err)
	}
	cb, err := callback.New(callback.Config{
		AppID: wechattest.DefaultAppID, Token: wechattest.DefaultToken, Cipher: cipher, MessageMode: callback.Plaintext, Tolerance: callback.DefaultTolerance,
	}, store, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	cbs := httptest.NewServer(cb)
	t.Cleanup(cbs.Close)
	all := make([]string, 0, len(names))
	for _, n := range names {
		all = append(all, n)
	}
	return &stack{api: h, platform: platform, callback: cbs.URL + "/wechat", store: store, client: client, tables: tables, all: all, logs: logs}
}

// do sends one request to the API and decodes a JSON answer into out (if not nil).
func (s *stack) do(t *testing.T, method, target, body string, out any) *httptest.ResponseRecorder {
	t.Helper()
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req := httptest.NewRequest(method, target, r)
	w := httptest.NewRecorder()
	s.api.ServeHTTP(w, req)
	if out != nil {
		if err := json.Unmarshal(w.Body.Bytes(), out); err != nil {
			t.Fatalf("%s %s: %d %q is not JSON: %v", method, target, w.Code, w.Body, err)
		}
	}
	return w
}

// items counts what the scenes table holds.
func (s *stack) items(t *testing.T) int {
	t.Helper()
	out, err := s.client.Scan(context.Background(), &dynamodb.ScanInput{TableName: aws.String(s.tables.Scenes), ConsistentRead: aws.Bool(true)})
	if err != nil {
		t.Fatal(err)
	}
	return int(out.Count)
}

type codeJSON struct {
	Scene         string          `json:"scene"`
	ActionName    string          `json:"action_name"`
	Permanent     bool            `json:"permanent"`
	Ticket        string          `json:"ticket"`
	URL           string          `json:"url"`
	ImageURL      string          `json:"image_url"`
	ExpireSeconds int64           `json:"expire_seconds"`
	ExpiresAt     *string         `json:"expires_at"`
	Reply         json.RawMessage `json:"reply"`
	Stats         *struct {
		Scans      int64 `json:"scans"`
		Subscribes int64 `json:"subscribes"`
	} `json:"stats"`
}

type errorJSON struct {
	Error   string `json:"error"`
	Message string `json:"message"`
	ErrCode *int   `json:"errcode"`
}

func compact(t *testing.T, s string) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := json.Compact(&b, []byte(s)); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}
