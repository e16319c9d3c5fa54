// Command coldstart measures each function's cold start under aws-lambda-rie, the runtime
// interface emulator sam local uses, and the size of each bootstrap as deployed:
//
//	go run ./local/coldstart [-n 30] [-secret=false] [-v]
//
// It starts one local stack (DynamoDB Local with the template's tables and the WeChat
// emulator), brings it to the state a deployed stack is in (the schedule has stored a token,
// the riddle-1 code of the walkthrough exists), builds every function and a baseline bootstrap
// that only calls lambda.Start (testdata/baseline), then starts each once as a warm-up and n
// times, round by round, in a fresh emulator with the environment the stack gives that
// function, and invokes it once with the function's file from events/. Each run is a cold start: a new process, a new
// runtime. Each function's median init is reported in milliseconds and against the baseline's
// of the same run (the difference and the ratio), as the figures of a shared machine compare
// only within one run.
//
// By default (-secret) the functions read from AWS what they read deployed, from moto_server:
// the account's secret from Secrets Manager, and qrcode's console sign-in names its app client
// id by an SSM parameter.
//
// What init does (functions/<fn>/main.go and functions/internal/boot), before the first event:
//
//   - every function: boot.Load builds the JSON logger and the AWS configuration
//     (config.LoadDefaultConfig: Lambda's variables, and the shared config files when there
//     are any; no network). With WECHAT_SECRET_ID, boot.Secret starts the one Secrets
//     Manager GetSecretValue in the background (the SDK's client): it runs while the rest of init and
//     the runtime's first request for an event do, and the first use of a secret value waits
//     for what is left of it.
//   - callback: callback.ConfigFromEnv, the secret's read (it builds the Verifier, parsing the
//     EncodingAESKeys into AES ciphers), the DynamoDB store (a client; no request),
//     callback.New. Its first invocation needs the Token, so it waits for the read's end.
//   - qrcode: the WeChat client, the token source over the tokens table (no request), the
//     DynamoDB store (the same client), api.New, and the console's handler and sign-in, which
//     only check their configuration: the console's assets are prepared, and the SSM
//     parameter read, at the first console request that needs them.
//   - tokenrefresh: the WeChat client and the token source; the handler's Refresh runs per
//     invocation (one GetItem, and a WeChat call, which needs the AppSecret, only in the
//     token's last minutes).
//   - scanactions: the WeChat client, the token source, the store, the EventBridge publisher
//     (the SDK's EventBridge client; no request) and actions.New.
//
// So init is CPU and allocation: the Go runtime and package initialisers (GODEBUG=inittrace=1
// lists them; the largest are the SDK service clients' schemas packages, which build each
// service's model at package init). A fresh process pays for each page of heap it touches, so
// allocation at init is time.
//
// The figures are this machine's (its architecture and CPU, under whatever else runs on it),
// not Lambda's arm64 at the template's memory size: compare functions and changes with them,
// not absolute numbers with production's.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"

	"wechatqr/local/moto"
	"wechatqr/local/repo"
	"wechatqr/local/rie"
	"wechatqr/local/stack"
)

func main() {
	// 30: on a 2-core machine running DynamoDB Local and moto_server, the median of 10
	// starts moved by 2 to 3 ms from one run to the next; of 30, by about 1.
	n := flag.Int("n", 30, "cold starts per function")
	secret := flag.Bool("secret", true, "read from AWS what a deployed function reads (the secret from Secrets Manager, the console's client id from SSM; moto_server on loopback); false passes the local stack's plain variables")
	verbose := flag.Bool("v", false, "print the logs of each function's first run")
	settle := flag.Duration("settle", 250*time.Millisecond, "idle time before each start, for what the previous invocation left running (DynamoDB Local, moto_server) to finish")
	flag.Parse()
	if *n < 1 || *n > 1000 {
		fmt.Fprintln(os.Stderr, "coldstart: -n is 1 to 1000")
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, *n, *settle, *secret, *verbose); err != nil {
		fmt.Fprintln(os.Stderr, "coldstart:", err)
		os.Exit(1)
	}
}

// fn is one bootstrap measured and the event it is invoked with.
type fn struct {
	name  string // functions/<name>, or baselineName
	pkg   string // the package built
	event string // events/<file>; "" sends {}
	// prepare turns the file into run i's payload; nil sends it as is.
	prepare func(s *stack.Stack, raw []byte, i int) ([]byte, error)
}

// baselineName is the bootstrap that only calls lambda.Start (testdata/baseline): the floor of
// process start, Go runtime and aws-lambda-go on this machine, measured in the same run so that
// every function's init is quoted against it.
const baselineName = "baseline"

var functions = []fn{
	{name: baselineName, pkg: "./local/coldstart/testdata/baseline"},
	{name: "callback", pkg: "./functions/callback", event: "scan.json", prepare: freshPush},
	{name: "qrcode", pkg: "./functions/qrcode", event: "qrcode-create.json", prepare: freshScene},
	{name: "tokenrefresh", pkg: "./functions/tokenrefresh", event: "tokenrefresh.json"},
	{name: "scanactions", pkg: "./functions/scanactions", event: "scan-actions.json"},
}

// sample is one cold start. The pinned emulator's REPORT line is not what Lambda's is: its
// Init Duration times only the emulator's own init call (well under a millisecond), and its
// Duration, on a first invocation, runs from the start of init to the end of the invocation.
// The runtime's phases are in the emulator's log lines instead ("INIT REPORT(durationMs: …)",
// "INVOKE RTDONE(…, duration: …ms)").
type sample struct {
	initPhase time.Duration // INIT REPORT: the runtime's init, from exec to its first /next
	invoke    time.Duration // INVOKE RTDONE: the first invocation alone
	wall      time.Duration // Invoke as the caller saw it: process start, init and invocation
}

// result is one bootstrap's samples and size.
type result struct {
	name     string
	deployed int64 // bytes of the linux/arm64 bootstrap
	samples  []sample
}

// target is one bootstrap ready to start: built, with its environment and event.
type target struct {
	fn
	id        string // the template's logical id ("" for the baseline)
	timeout   time.Duration
	bootstrap string
	env       []string
	raw       []byte
	res       result
}

func run(ctx context.Context, n int, settle time.Duration, deployed, verbose bool) error {
	root, err := repo.Root()
	if err != nil {
		return err
	}
	tmp, err := os.MkdirTemp("", "coldstart-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)

	fmt.Fprintln(os.Stderr, "starting a local stack (DynamoDB Local, the WeChat emulator, the functions)…")
	startCtx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	s, err := stack.Start(startCtx, stack.Options{BuildDir: filepath.Join(tmp, "stack")})
	cancel()
	if err != nil {
		return err
	}
	defer s.Close()
	if err := deployedState(ctx, s, root); err != nil {
		return err
	}

	var changes map[string]map[string]string
	if deployed {
		srv, c, err := startDeployedAWS(ctx, s)
		if err != nil {
			return err
		}
		defer srv.Close()
		changes = c
	}

	targets := make([]*target, 0, len(functions))
	for _, f := range functions {
		t, err := prepareTarget(ctx, s, root, tmp, f, changes)
		if err != nil {
			return fmt.Errorf("%s: %w", f.name, err)
		}
		targets = append(targets, t)
	}
	// The builds leave dirty pages that the kernel writes back over the next seconds, and the
	// first invocations make DynamoDB Local's JVM compile its transaction paths: both take CPU
	// from whatever starts meanwhile. So the writeback is forced now, and one round of every
	// bootstrap runs before the measured ones, not counted.
	syscall.Sync()
	//
	// Round by round, every bootstrap once per round, so that the machine's load (shared with
	// other work) falls on all of them alike rather than on whichever ran during a busy minute.
	// Each round starts one bootstrap further on: a start right after an invocation shares the
	// machine with what that invocation left running (DynamoDB Local settling two writes,
	// moto_server), and with a fixed order the same bootstrap always followed the same one.
	// Before each start the machine is left idle for settle: deployed, a function's cold start
	// shares its CPU with no database, and here the JVM's and moto's work after an invocation
	// fell on the next start (on 2 cores, medians of the same tree moved by 4 ms between runs).
	fmt.Fprintf(os.Stderr, "a warm-up round, then %d rounds of %d cold starts…\n", n, len(targets))
	for round := range n + 1 {
		warmUp := round == 0
		for j := range targets {
			t := targets[(round+j)%len(targets)]
			payload := t.raw
			if t.prepare != nil {
				if payload, err = t.prepare(s, t.raw, round); err != nil {
					return fmt.Errorf("%s: %w", t.name, err)
				}
			}
			time.Sleep(settle)
			sm, logs, err := coldStart(ctx, t.bootstrap, t.id, t.timeout, t.env, payload)
			if verbose && warmUp {
				fmt.Fprintf(os.Stderr, "--- %s, first run's logs ---\n%s\n---\n", t.name, strings.TrimSpace(logs))
			}
			if err != nil {
				return fmt.Errorf("%s: run %d: %w\n%s", t.name, round, err, strings.TrimSpace(logs))
			}
			if !warmUp {
				t.res.samples = append(t.res.samples, sm)
			}
		}
	}
	results := make([]result, 0, len(targets))
	for _, t := range targets {
		results = append(results, t.res)
	}
	report(os.Stdout, results, n, deployed)
	return nil
}

// prepareTarget builds f's bootstrap (as the stack runs it, and as deployed for its size) and
// gathers its environment: the stack's for the function with changes laid over it; the
// baseline's is the emulator's own.
func prepareTarget(ctx context.Context, s *stack.Stack, root, tmp string, f fn, changes map[string]map[string]string) (*target, error) {
	t := &target{fn: f, res: result{name: f.name}, raw: []byte(`{}`)}
	if f.name != baselineName {
		for _, def := range s.Template.Functions() {
			if strings.Trim(def.CodeURI, "/") == strings.TrimPrefix(f.pkg, "./") {
				t.id, t.timeout = def.LogicalID, def.Timeout
			}
		}
		if t.id == "" {
			return nil, fmt.Errorf("no function with CodeUri %s/ in template.yaml", strings.TrimPrefix(f.pkg, "./"))
		}
		t.env = environ(s.Env(t.id), changes["*"], changes[f.name])
	}
	if f.event != "" {
		raw, err := os.ReadFile(filepath.Join(root, "events", f.event))
		if err != nil {
			return nil, err
		}
		t.raw = raw
	}
	fmt.Fprintf(os.Stderr, "%s: building…\n", f.name)
	var err error
	if t.bootstrap, err = rie.Build(ctx, f.pkg, filepath.Join(tmp, "local", f.name)); err != nil {
		return nil, err
	}
	if t.res.deployed, err = buildDeployed(ctx, root, f.pkg, filepath.Join(tmp, "deployed", f.name)); err != nil {
		return nil, err
	}
	return t, nil
}

// deployedState makes the stack look like a deployed one between requests: the schedule has
// stored a token (so a cold qrcode reads it from the table rather than fetching one), and the
// code the callback's event scans exists.
func deployedState(ctx context.Context, s *stack.Stack, root string) error {
	if err := invokeFile(ctx, s, root, "TokenRefreshFunction", "tokenrefresh.json"); err != nil {
		return fmt.Errorf("storing a token: %w", err)
	}
	if err := invokeFile(ctx, s, root, "QRCodeFunction", "qrcode-create.json"); err != nil {
		return fmt.Errorf("creating riddle-1: %w", err)
	}
	return nil
}

func invokeFile(ctx context.Context, s *stack.Stack, root, id, file string) error {
	raw, err := os.ReadFile(filepath.Join(root, "events", file))
	if err != nil {
		return err
	}
	out, err := s.Invoke(ctx, id, raw)
	if err != nil {
		return err
	}
	return checkAnswer(out)
}

// startDeployedAWS starts moto_server with what a deployed function reads from AWS at init or
// at its first use, and returns the environment changes that make the functions read it, by
// function name ("*" for every function):
//
//   - the account's secret in Secrets Manager: WECHAT_SECRET_ID set, the plain variables gone;
//   - qrcode: the console's sign-in as the template configures it (a user pool, its domain, and
//     the app client id in the SSM parameter CONSOLE_CLIENT_ID_PARAMETER names), instead of
//     the local stack's CONSOLE_AUTH=none.
func startDeployedAWS(ctx context.Context, s *stack.Stack) (*moto.Server, map[string]map[string]string, error) {
	srv, err := moto.Start(ctx)
	if err != nil {
		return nil, nil, err
	}
	fail := func(err error) (*moto.Server, map[string]map[string]string, error) {
		_ = srv.Close()
		return nil, nil, err
	}
	creds := credentials.NewStaticCredentialsProvider("local", "local", "")
	sm := secretsmanager.New(secretsmanager.Options{Region: rie.Region, BaseEndpoint: aws.String(srv.Endpoint()), Credentials: creds})
	cfg := s.Platform.Config()
	value, err := json.Marshal(map[string]string{"app_secret": cfg.AppSecret, "token": cfg.Token, "encoding_aes_key": cfg.EncodingAESKey})
	if err != nil {
		return fail(err)
	}
	if _, err := sm.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String("wechat-qr-coldstart"), SecretString: aws.String(string(value))}); err != nil {
		return fail(fmt.Errorf("moto: creating the secret: %w", err))
	}
	const param = "/wechat-qr-coldstart/console/client-id"
	params := ssm.New(ssm.Options{Region: rie.Region, BaseEndpoint: aws.String(srv.Endpoint()), Credentials: creds})
	if _, err := params.PutParameter(ctx, &ssm.PutParameterInput{Name: aws.String(param), Value: aws.String("coldstart-client"), Type: ssmtypes.ParameterTypeString}); err != nil {
		return fail(fmt.Errorf("moto: putting the console's client id parameter: %w", err))
	}
	return srv, map[string]map[string]string{
		"*": {
			"WECHAT_SECRET_ID":                 "wechat-qr-coldstart",
			"AWS_ENDPOINT_URL_SECRETS_MANAGER": srv.Endpoint(), // the SDK derives the name from the service id, "Secrets Manager"
			"WECHAT_APP_SECRET":                "",
			"WECHAT_TOKEN":                     "",
			"WECHAT_ENCODING_AES_KEY":          "",
		},
		"qrcode": {
			"CONSOLE_AUTH":                "",
			"CONSOLE_USER_POOL_ID":        rie.Region + "_Coldstart1",
			"CONSOLE_AUTH_DOMAIN":         "https://wechat-qr-coldstart.auth." + rie.Region + ".amazoncognito.com",
			"CONSOLE_CLIENT_ID_PARAMETER": param,
			"AWS_ENDPOINT_URL_SSM":        srv.Endpoint(),
		},
	}, nil
}

// environ is the stack's environment for a function with changes laid over it in order (an
// empty value removes the variable), as the KEY=VALUE list rie.Options takes.
func environ(base map[string]string, changes ...map[string]string) []string {
	env := map[string]string{}
	for k, v := range base {
		env[k] = v
	}
	for _, c := range changes {
		for k, v := range c {
			if v == "" {
				delete(env, k)
			} else {
				env[k] = v
			}
		}
	}
	list := make([]string, 0, len(env))
	for k, v := range env {
		list = append(list, k+"="+v)
	}
	slices.Sort(list)
	return list
}

// coldStart starts a fresh emulator with the bootstrap, invokes it once and reads its figures.
func coldStart(ctx context.Context, bootstrap, id string, timeout time.Duration, env []string, payload []byte) (sample, string, error) {
	f, err := rie.Start(ctx, rie.Options{Bootstrap: bootstrap, Env: env, Name: id, Timeout: timeout})
	if err != nil {
		return sample{}, "", err
	}
	defer f.Close()
	invokeCtx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	start := time.Now()
	out, err := f.Invoke(invokeCtx, payload)
	wall := time.Since(start)
	logs := f.Logs()
	if err != nil {
		return sample{}, logs, err
	}
	if err := checkAnswer(out); err != nil {
		return sample{}, logs, err
	}
	reports := f.Reports()
	if len(reports) != 1 {
		return sample{}, logs, fmt.Errorf("%d REPORT lines after one invocation", len(reports))
	}
	if reports[0].InitDuration == 0 {
		return sample{}, logs, errors.New("the REPORT line has no Init Duration: was this not the first invocation?")
	}
	return sample{
		initPhase: logDuration(initReportLine, logs),
		invoke:    logDuration(invokeDoneLine, logs),
		wall:      wall,
	}, logs, nil
}

// The emulator's phase lines: "INIT REPORT(durationMs: 26.317000)" when the runtime's init
// ends (Lambda's own form, "INIT REPORT Init Duration: 26.32 ms", is read too), and "INVOKE
// RTDONE(status: success, produced bytes: 0, duration: 98.492000ms)" when the invocation does.
var (
	initReportLine = regexp.MustCompile(`INIT REPORT(?:\(durationMs: |.*?Init Duration: )([0-9.]+)`)
	invokeDoneLine = regexp.MustCompile(`INVOKE RTDONE\(.*?duration: ([0-9.]+) ?ms\)`)
)

// logDuration reads the milliseconds of the first line re matches; 0 when there is none.
func logDuration(re *regexp.Regexp, logs string) time.Duration {
	m := re.FindStringSubmatch(logs)
	if m == nil {
		return 0
	}
	ms, err := strconv.ParseFloat(m[1], 64)
	if err != nil {
		return 0
	}
	return time.Duration(ms * float64(time.Millisecond))
}

// checkAnswer fails an HTTP answer that is not a 2xx; other answers (the refresh's null) pass.
func checkAnswer(out []byte) error {
	var res events.APIGatewayV2HTTPResponse
	if json.Unmarshal(out, &res) == nil && res.StatusCode != 0 && (res.StatusCode < 200 || res.StatusCode > 299) {
		return fmt.Errorf("the function answered %d: %s", res.StatusCode, res.Body)
	}
	return nil
}

// createTime finds a plaintext push's CreateTime.
var createTime = regexp.MustCompile(`<CreateTime>\d+</CreateTime>`)

// freshPush re-signs the callback's event for now and gives it a CreateTime of its own, so
// that every run is a first delivery (lookup, then the transaction that claims and counts it),
// not a retry of the previous run's push. The body of a plaintext push is not signed; only the
// query is, which Resign redoes.
func freshPush(s *stack.Stack, raw []byte, i int) ([]byte, error) {
	var e events.APIGatewayV2HTTPRequest
	if err := json.Unmarshal(raw, &e); err != nil {
		return nil, err
	}
	if e.IsBase64Encoded || !createTime.MatchString(e.Body) {
		return nil, errors.New("the callback's event must be a plaintext push with a CreateTime")
	}
	at := time.Now()
	e.Body = createTime.ReplaceAllString(e.Body, "<CreateTime>"+strconv.FormatInt(at.Unix()+int64(i), 10)+"</CreateTime>")
	if err := stack.Resign(&e, s.Platform.Config().Token, at); err != nil {
		return nil, err
	}
	return json.Marshal(e)
}

// freshScene gives the create event a scene of its own per run, so that every run creates a
// code on WeChat and stores it, rather than answering an existing permanent code from the table.
func freshScene(_ *stack.Stack, raw []byte, i int) ([]byte, error) {
	var e events.APIGatewayV2HTTPRequest
	if err := json.Unmarshal(raw, &e); err != nil {
		return nil, err
	}
	var body map[string]any
	if err := json.Unmarshal([]byte(e.Body), &body); err != nil {
		return nil, fmt.Errorf("the create event's body: %w", err)
	}
	body["scene"] = fmt.Sprintf("coldstart-%d-%d", time.Now().Unix(), i)
	b, err := json.Marshal(body)
	if err != nil {
		return nil, err
	}
	e.Body = string(b)
	return json.Marshal(e)
}

// buildDeployed builds the bootstrap as the Makefile's build target and sam build do, for
// provided.al2023 on arm64, and returns its size.
func buildDeployed(ctx context.Context, root, pkg, dir string) (int64, error) {
	out := filepath.Join(dir, "bootstrap")
	cmd := exec.CommandContext(ctx, "go", "build", "-tags", "lambda.norpc", "-trimpath", "-ldflags=-s -w", "-o", out, pkg)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "GOOS=linux", "GOARCH=arm64", "CGO_ENABLED=0")
	var msg bytes.Buffer
	cmd.Stdout, cmd.Stderr = &msg, &msg
	if err := cmd.Run(); err != nil {
		return 0, fmt.Errorf("go build for linux/arm64: %w\n%s", err, strings.TrimSpace(msg.String()))
	}
	info, err := os.Stat(out)
	if err != nil {
		return 0, err
	}
	return info.Size(), nil
}

// percentile is the nearest-rank percentile p (0..100) of ds.
func percentile(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	rank := int(math.Ceil(p / 100 * float64(len(s))))
	return s[max(rank, 1)-1]
}

func pick(ss []sample, field func(sample) time.Duration) []time.Duration {
	out := make([]time.Duration, 0, len(ss))
	for _, s := range ss {
		if d := field(s); d > 0 {
			out = append(out, d)
		}
	}
	return out
}

func ms(d time.Duration) string {
	if d == 0 {
		return "–"
	}
	prec := 1
	if d < time.Millisecond {
		prec = 2
	}
	return strconv.FormatFloat(float64(d)/float64(time.Millisecond), 'f', prec, 64)
}

func report(w io.Writer, results []result, n int, deployed bool) {
	host, _ := os.Hostname()
	fmt.Fprintf(w, "\n## Cold starts under aws-lambda-rie (%d per bootstrap, round by round, after a warm-up round)\n\n", n)
	fmt.Fprintf(w, "Machine: %s/%s, %d CPUs (%s), %s, load average %s. ", runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), host, runtime.Version(), loadAverage())
	if deployed {
		fmt.Fprintln(w, "As deployed: the secret is read from Secrets Manager, and qrcode's console sign-in names its app client id by an SSM parameter (moto_server on loopback).")
	} else {
		fmt.Fprintln(w, "The functions read the plain variables of a local stack (-secret=false; deployed, they read the secret).")
	}
	fmt.Fprintln(w)
	initOf := func(s sample) time.Duration { return s.initPhase }
	var base time.Duration
	for _, r := range results {
		if r.name == baselineName {
			base = percentile(pick(r.samples, initOf), 50)
		}
	}
	fmt.Fprintln(w, "| bootstrap | size linux/arm64 (MiB) | init median (ms) | init p90 (ms) | init − baseline (ms) | init ÷ baseline | first invoke median (ms) | wall median (ms) |")
	fmt.Fprintln(w, "|---|---:|---:|---:|---:|---:|---:|---:|")
	for _, r := range results {
		get := func(field func(sample) time.Duration, p float64) time.Duration {
			return percentile(pick(r.samples, field), p)
		}
		med := get(initOf, 50)
		name, diff, ratio := r.name, "–", "–"
		if r.name == baselineName {
			name = "baseline (lambda.Start only)"
		} else if base > 0 && med > 0 {
			diff = signedMs(med - base)
			ratio = strconv.FormatFloat(float64(med)/float64(base), 'f', 2, 64) + "×"
		}
		fmt.Fprintf(w, "| %s | %.2f | %s | %s | %s | %s | %s | %s |\n", name, float64(r.deployed)/(1<<20),
			ms(med), ms(get(initOf, 90)), diff, ratio,
			ms(get(func(s sample) time.Duration { return s.invoke }, 50)),
			ms(get(func(s sample) time.Duration { return s.wall }, 50)))
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "- init: the runtime's init phase, the emulator's INIT REPORT line (exec of the bootstrap to its first request for an event); − and ÷ baseline compare medians with the baseline's of this run.")
	fmt.Fprintln(w, "- first invoke: the emulator's INVOKE RTDONE duration of the one invocation each cold instance served (callback: a first delivery of a SCAN, 2 DynamoDB round trips; qrcode: a new permanent code, token from the table, one WeChat call; tokenrefresh: one GetItem, token still fresh; scanactions: events/scan-actions.json's batch).")
	fmt.Fprintln(w, "- wall: from Invoke to its answer as the caller saw it, process start included.")
}

// signedMs is d in milliseconds with its sign: "+3.1", "-0.4".
func signedMs(d time.Duration) string {
	s := strconv.FormatFloat(float64(d)/float64(time.Millisecond), 'f', 1, 64)
	if d >= 0 {
		s = "+" + s
	}
	return s
}

// loadAverage is the 1-minute load average from /proc/loadavg, or "unknown".
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	if f := strings.Fields(string(b)); len(f) > 0 {
		return f[0]
	}
	return "unknown"
}
