// Package stack runs the whole product on loopback, the way template.yaml deploys
// it: DynamoDB Local with the template's tables, the WeChat platform emulator, and
// every function as its built bootstrap under aws-lambda-rie with the environment
// the template gives it. When a function reads a table's stream it also runs
// moto_server (EventBridge, SQS) and plays the event source mapping (local/streams).
// `make run` serves it through Front; the end-to-end tests start it on free ports.
// No logic of the product lives here: only wiring.
package stack

import (
	"bytes"
	"cmp"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"wechatqr/local/cfn"
	"wechatqr/local/dynamolocal"
	"wechatqr/local/repo"
	"wechatqr/local/rie"
	"wechatqr/shared/accounts"
	"wechatqr/shared/dynamo"
	"wechatqr/shared/qr"
	"wechatqr/shared/seal"
	"wechatqr/shared/wechat/wechattest"
)

// SkipShort skips t under -short (`make test-unit`): the stack needs DynamoDB
// Local (Java), aws-lambda-rie and moto_server; `make test` runs it.
func SkipShort(t testing.TB) {
	t.Helper()
	if testing.Short() {
		t.Skip("needs the local stack (DynamoDB Local, aws-lambda-rie, moto_server): skipped under -short (make test-unit); make test runs it")
	}
}

// Options say what to run. The zero value runs every function of the repository's
// template.yaml over an in-memory database and an emulated account with the
// protocol file's test credentials.
type Options struct {
	// Template is the SAM template; empty means <module root>/template.yaml.
	Template string
	// Functions are the logical ids to run; nil means all of them.
	Functions []string
	// TablePrefix is put before each table's logical id to name it ("local-").
	TablePrefix string
	// DataDir keeps DynamoDB's data across runs; empty keeps it in memory.
	DataDir string
	// DB reuses a running DynamoDB Local instead of starting one (not closed by Close).
	DB *dynamolocal.Server
	// Platform configures the emulated default account.
	Platform wechattest.PlatformConfig
	// Accounts are more official accounts, emulated beside the default one on
	// the same emulated WeChat and added to the stack as direct accounts
	// (POST /accounts, as a user adds one) once the functions run; the
	// qrcode function must be among them.
	Accounts []Account
	// Component, when set, makes the stack a third-party platform too,
	// emulated on the same WeChat (LocalComponent for `make run`):
	// ConnectPlatform then points it at the callback, Authorize connects
	// accounts.
	Component *wechattest.ComponentConfig
	// Env is added to every function's environment, over the template's.
	Env map[string]string
	// BuildDir receives the bootstraps; empty means a fresh temporary folder.
	BuildDir string
	// Logs gets everything the servers and functions print; nil discards it.
	Logs io.Writer
}

// Account is an emulated direct account: WeChat's settings of it, and the
// name the stack shows.
type Account struct {
	Name     string
	Platform wechattest.PlatformConfig
	// MessageMode is the account's (plaintext when empty, so that every push
	// mode is served, as for the default account locally).
	MessageMode string
}

// SecondAccount is the direct account `make run` adds beside the default one.
var SecondAccount = Account{Name: "Second account (local)", Platform: wechattest.PlatformConfig{
	AppID: "wx2c2c2c2c2c2c2c2c", AppSecret: "2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c",
	Token: "secondaccount", EncodingAESKey: "SecondAccountLocalKeySecondAccountLocalKey1", OriginalID: "gh_2c2c2c2c2c2c",
}}

// Stack is a running local stack.
type Stack struct {
	DB       *dynamolocal.Server
	Dynamo   *dynamodb.Client
	Platform *wechattest.Platform // the default account's, on Network
	// Network is the emulated WeChat: every account's Platform behind one address.
	Network *wechattest.Network
	// Component is the emulated third-party platform, nil unless Options.Component.
	Component *wechattest.Component
	Template  *cfn.Template
	Tables    map[string]string // logical id → table name
	functions map[string]*function
	aws       *awsParts // nil unless a function reads a stream

	ownDB      bool
	platformLn net.Listener
	platformHS *http.Server
	closeOnce  sync.Once
}

type function struct {
	def *cfn.Function
	fn  *rie.Function
	env map[string]string
}

// Start brings the stack up; on failure it stops what it started.
func Start(ctx context.Context, opts Options) (s *Stack, err error) {
	root, err := repo.Root()
	if err != nil {
		return nil, err
	}
	if opts.Template == "" {
		opts.Template = filepath.Join(root, "template.yaml")
	}
	if opts.TablePrefix == "" {
		opts.TablePrefix = "local-"
	}
	if opts.Logs == nil {
		opts.Logs = io.Discard
	}
	tpl, err := cfn.Load(opts.Template)
	if err != nil {
		return nil, err
	}
	s = &Stack{Template: tpl, Tables: map[string]string{}, functions: map[string]*function{}}
	var wanted []cfn.Function
	for _, f := range tpl.Functions() {
		if opts.Functions == nil || slices.Contains(opts.Functions, f.LogicalID) {
			wanted = append(wanted, f)
		}
	}
	if len(wanted) == 0 {
		return nil, errors.New("stack: no function of the template matches Options.Functions")
	}
	// moto_server takes seconds to start: it starts beside DynamoDB Local and the builds.
	awsDone := make(chan error, 1)
	if fns := streamFunctions(wanted); len(fns) > 0 {
		go func() { awsDone <- s.startAWS(ctx, fns, opts.TablePrefix) }()
	} else {
		awsDone <- nil
	}
	var awsErr error
	awsOnce := sync.Once{}
	waitAWS := func() error {
		awsOnce.Do(func() { awsErr = <-awsDone })
		return awsErr
	}
	defer func() {
		if err != nil {
			_ = waitAWS() // whatever it started is stopped below
			s.Close()
			s = nil
		}
	}()

	if err := s.startPlatform(opts.Platform, opts.Accounts); err != nil {
		return s, err
	}
	if opts.Component != nil {
		if s.Component, err = s.Network.AddComponent(*opts.Component); err != nil {
			return s, err
		}
	}
	if s.DB = opts.DB; s.DB == nil {
		s.ownDB = true
		if s.DB, err = dynamolocal.Start(ctx, dynamolocal.Options{DataDir: opts.DataDir, Stdout: opts.Logs, Stderr: opts.Logs}); err != nil {
			return s, err
		}
	}
	if s.Dynamo, err = s.DB.Client(ctx); err != nil {
		return s, err
	}
	for _, t := range tpl.Tables() {
		s.Tables[t.LogicalID] = opts.TablePrefix + t.LogicalID
	}
	if err := cfn.CreateTables(ctx, s.Dynamo, tpl.Tables(), func(id string) string { return s.Tables[id] }); err != nil {
		return s, fmt.Errorf("stack: creating the template's tables: %w", err)
	}

	buildDir := opts.BuildDir
	if buildDir == "" {
		buildDir = filepath.Join(root, "build", "local")
	}
	// Build in parallel: each build is a separate go invocation sharing the cache.
	bootstraps := make([]string, len(wanted))
	errs := make([]error, len(wanted))
	var wg sync.WaitGroup
	for i, f := range wanted {
		wg.Add(1)
		go func() {
			defer wg.Done()
			bootstraps[i], errs[i] = rie.Build(ctx, "./"+strings.Trim(f.CodeURI, "/"), filepath.Join(buildDir, f.LogicalID))
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return s, err
	}
	if err := waitAWS(); err != nil {
		return s, err
	}
	for i, f := range wanted {
		env, err := s.environment(f, opts.Env)
		if err != nil {
			return s, err
		}
		list := make([]string, 0, len(env))
		for k, v := range env {
			list = append(list, k+"="+v)
		}
		slices.Sort(list)
		fn, err := rie.Start(ctx, rie.Options{Bootstrap: bootstraps[i], Env: list, Name: f.LogicalID, Timeout: f.Timeout, Output: opts.Logs})
		if err != nil {
			return s, fmt.Errorf("stack: starting %s: %w", f.LogicalID, err)
		}
		s.functions[f.LogicalID] = &function{def: &wanted[i], fn: fn, env: env}
	}
	if s.aws != nil {
		logs := slog.New(slog.NewJSONHandler(opts.Logs, nil))
		if err := s.startMappings(ctx, logs); err != nil {
			return s, err
		}
	}
	for _, a := range opts.Accounts {
		if err := s.AddAccount(ctx, a); err != nil {
			return s, err
		}
	}
	return s, nil
}

// AddAccount adds a as a direct account through the API, as a user would (the
// qrcode function proves its AppSecret with the emulator first), or, in a
// stack without the qrcode function, through the registry the functions use
// (Registry). An account the stack has from an earlier run (PERSIST=1) is left
// as it is.
func (s *Stack) AddAccount(ctx context.Context, a Account) error {
	if s.Network.Platform(a.Platform.AppID) == nil {
		if _, err := s.Network.Add(a.Platform); err != nil {
			return err
		}
	}
	p := s.Network.Platform(a.Platform.AppID).Config()
	if _, ok := s.functions["QRCodeFunction"]; !ok {
		reg, err := s.Registry()
		if err != nil {
			return err
		}
		_, err = reg.Create(ctx, accounts.NewAccount{AppID: p.AppID, Name: a.Name, AppSecret: p.AppSecret, Token: p.Token, EncodingAESKey: p.EncodingAESKey, MessageMode: cmp.Or(a.MessageMode, "plaintext")})
		if qr.ErrorCode(err) == qr.EConflict {
			return nil
		}
		return err
	}
	body, err := json.Marshal(map[string]string{
		"appid": p.AppID, "name": a.Name, "app_secret": p.AppSecret, "token": p.Token,
		"encoding_aes_key": p.EncodingAESKey, "message_mode": cmp.Or(a.MessageMode, "plaintext"),
	})
	if err != nil {
		return err
	}
	req := httptest.NewRequestWithContext(ctx, http.MethodPost, "/accounts", bytes.NewReader(body))
	w := httptest.NewRecorder()
	s.Front().ServeHTTP(w, req)
	if w.Code != http.StatusCreated && w.Code != http.StatusConflict {
		return fmt.Errorf("stack: adding account %s: %d %s", p.AppID, w.Code, w.Body)
	}
	return nil
}

// startPlatform serves the WeChat emulator on a free loopback port: the
// default account and the others, behind one address as WeChat's API host.
func (s *Stack) startPlatform(cfg wechattest.PlatformConfig, others []Account) error {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("stack: a port for the WeChat emulator: %w", err)
	}
	s.platformLn = ln
	s.Network = wechattest.NewNetwork(cfg)
	for _, a := range others {
		if _, err := s.Network.Add(a.Platform); err != nil {
			return fmt.Errorf("stack: account %s: %w", a.Platform.AppID, err)
		}
	}
	s.Network.SetBaseURL("http://" + ln.Addr().String())
	s.Platform = s.Network.Platform(cmp.Or(cfg.AppID, wechattest.DefaultAppID))
	s.platformHS = &http.Server{Handler: s.Network, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = s.platformHS.Serve(ln) }()
	return nil
}

// PlatformURL is the emulator's base URL (WECHAT_API_BASE_URL of the functions).
func (s *Stack) PlatformURL() string { return "http://" + s.platformLn.Addr().String() }

// environment resolves a function's template variables locally: a !Ref to a
// table is its local name, a !Ref to a parameter its default (the AppID is the
// emulated account's), and the Secrets Manager secret gives way to the plain
// variables docs/operations.md lists for local runs.
func (s *Stack) environment(f cfn.Function, extra map[string]string) (map[string]string, error) {
	cfg := s.Platform.Config()
	params := map[string]string{"AWS::Region": rie.Region, "AWS::AccountId": "123456789012", "AWS::URLSuffix": "amazonaws.com", "AWS::StackName": "wechat-qr-local"}
	for _, p := range s.Template.Parameters() {
		if p.HasDefault {
			params[p.Name] = p.Default
		}
	}
	params["WeChatAppId"] = cfg.AppID
	lookup := func(name string) (string, bool) {
		if t, ok := s.Tables[name]; ok {
			return t, true
		}
		if v, ok := params[name]; ok {
			return v, true
		}
		for _, r := range s.Template.Resources() {
			if r.LogicalID == name && r.Type == "AWS::SecretsManager::Secret" {
				return "", true // no secret locally: the variables below stand in
			}
			if r.LogicalID == name && strings.HasPrefix(r.Type, "AWS::Cognito::") {
				return "", true // no sign-in locally: CONSOLE_AUTH=none below
			}
			if r.LogicalID == name && r.Type == "AWS::KMS::Key" {
				return "", true // no KMS locally: ACCOUNTS_LOCAL_KEY below
			}
		}
		return "", false
	}
	// The template's conditions as a deploy with these parameters would find them: with
	// ComponentAppId at its default (""), IsPlatform is false and the platform's secret
	// variables resolve to "" (absent), as on a stack that is no platform.
	cond := func(name string) (bool, error) { return s.Template.Condition(name, lookup) }
	env := map[string]string{}
	for k, v := range f.Environment {
		val, err := v.ResolveWith(lookup, cond)
		if err != nil {
			return nil, fmt.Errorf("stack: %s's %s: %w", f.LogicalID, k, err)
		}
		if val != "" {
			env[k] = val
		}
	}
	env["WECHAT_APP_SECRET"] = cfg.AppSecret
	env["WECHAT_TOKEN"] = cfg.Token
	env["WECHAT_ENCODING_AES_KEY"] = cfg.EncodingAESKey
	if env["WECHAT_MESSAGE_MODE"] == "" && f.LogicalID == "CallbackFunction" {
		// The emulator pushes in whichever mode a test asks: plaintext serves them
		// all (docs/operations.md, "WECHAT_MESSAGE_MODE").
		env["WECHAT_MESSAGE_MODE"] = "plaintext"
	}
	env["WECHAT_API_BASE_URL"] = s.PlatformURL()
	env["WECHAT_SHOWQRCODE_URL"] = s.PlatformURL() + wechattest.PathShowQRCode
	env["AWS_ENDPOINT_URL_DYNAMODB"] = s.DB.Endpoint()
	maps.Copy(env, s.awsEnv())
	s.componentEnv(env)
	// The functions run locally, not in Lambda, and say so explicitly: aws-lambda-rie
	// sets Lambda's own variables too. Only with this flag does the qrcode function
	// accept CONSOLE_AUTH=none, and requests without API Gateway's IAM context
	// (docs/operations.md, "The local flag"); the template never sets it.
	env["WECHATQR_LOCAL"] = "1"
	if env["ACCOUNTS_TABLE"] != "" {
		// The accounts' credentials are sealed with a fixed local key (shared/seal's
		// Local) instead of KMS: stable, so that PERSIST=1 data opens next run.
		env["ACCOUNTS_LOCAL_KEY"] = LocalAccountsKey
	}
	// The local console has no sign-in (shared/consoleauth: only this stack sets it).
	env["CONSOLE_AUTH"] = "none"
	// Nor an SSM parameter to read the app client id from (CONSOLE_AUTH=none
	// already means none is read; the variable is dropped so the env says so).
	delete(env, "CONSOLE_CLIENT_ID_PARAMETER")
	for k, v := range extra {
		env[k] = v
	}
	return env, nil
}

// Registry is the stack's accounts as its functions see them: the accounts
// table, sealed with LocalAccountsKey, new credentials checked with the emulator.
func (s *Stack) Registry() (*accounts.Registry, error) {
	table := s.Tables["AccountsTable"]
	if table == "" {
		return nil, errors.New("stack: the template has no AccountsTable")
	}
	store, err := dynamo.NewAccounts(s.Dynamo, table, s.Tables["TokensTable"])
	if err != nil {
		return nil, err
	}
	key, err := hex.DecodeString(LocalAccountsKey)
	if err != nil {
		return nil, err
	}
	sealer, err := seal.NewLocal(key)
	if err != nil {
		return nil, err
	}
	return accounts.NewRegistry(accounts.Config{
		Default: accounts.Account{AppID: s.Platform.Config().AppID},
		Store:   store, Sealer: sealer,
		Checker: accounts.WeChatChecker(s.PlatformURL()),
	})
}

// LocalAccountsKey seals the accounts' credentials in the local stack. It is
// no secret: the local stack's data is a developer's.
const LocalAccountsKey = "6c6f63616c2d6f6e6c79206b65792c20776563686174717220737461636b2121"

// Invoke runs one invocation of the function with payload and returns its answer.
func (s *Stack) Invoke(ctx context.Context, logicalID string, payload []byte) ([]byte, error) {
	f, ok := s.functions[logicalID]
	if !ok {
		return nil, fmt.Errorf("stack: no running function %q", logicalID)
	}
	return f.fn.Invoke(ctx, payload)
}

// Function returns a running function by logical id.
func (s *Stack) Function(logicalID string) (*rie.Function, bool) {
	f, ok := s.functions[logicalID]
	if !ok {
		return nil, false
	}
	return f.fn, true
}

// Env returns the environment a function was started with.
func (s *Stack) Env(logicalID string) map[string]string {
	if f, ok := s.functions[logicalID]; ok {
		return f.env
	}
	return nil
}

// Close stops every process the stack started. It is safe to call twice.
func (s *Stack) Close() {
	s.closeOnce.Do(func() {
		s.closeAWS() // the mappings first: they invoke the functions
		for _, f := range s.functions {
			_ = f.fn.Close()
		}
		if s.platformHS != nil {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			_ = s.platformHS.Shutdown(ctx)
			cancel()
		}
		if s.Network != nil {
			s.Network.Close()
		}
		if s.ownDB && s.DB != nil {
			_ = s.DB.Close()
		}
	})
}
