// Command coldstart measures each function's cold start under aws-lambda-rie, the runtime
// interface emulator sam local uses, and the size of each bootstrap as deployed:
//
//	go run ./local/coldstart [-n 10] [-secret=false] [-v]
//
// It starts one local stack (DynamoDB Local with the template's tables and the WeChat
// emulator), brings it to the state a deployed stack is in (the schedule has stored a token,
// the riddle-1 code of the walkthrough exists), then, for each function, starts n fresh
// emulators with the environment the stack gives that function and invokes each once with the
// function's file from events/. Each run is a cold start: a new process, a new runtime.
//
// What init does (functions/<fn>/main.go and functions/internal/boot), before the first event:
//
//   - every function: boot.Load builds the JSON logger and the AWS configuration from
//     Lambda's variables (no config.LoadDefaultConfig, no file, no network). When
//     WECHAT_SECRET_ID is set (deployed, and here by default: the secret is put in
//     moto_server; -secret=false passes the plain variables instead), boot.Secret starts the
//     one Secrets Manager GetSecretValue in the background: it runs while the rest of init and
//     the runtime's first request for an event do, and the first use of a secret value waits
//     for what is left of it.
//   - callback: callback.ConfigFromEnv, the secret's read (it builds the Verifier, parsing the
//     EncodingAESKeys into AES ciphers), the DynamoDB store (a client; no request),
//     callback.New. Its first invocation needs the Token, so it waits for the read's end.
//   - qrcode: the WeChat client, the token source over the tokens table (no request: the token
//     is read at the first call that needs it, and the AppSecret only if a token must be
//     fetched), the DynamoDB store, api.New.
//   - tokenrefresh: the WeChat client and the token source; the handler's Refresh runs per
//     invocation (one GetItem, and a WeChat call, which needs the AppSecret, only in the
//     token's last minutes).
//
// So init is CPU and allocation: the Go runtime and package initialisers (the AWS SDK's
// DynamoDB schemas and endpoint rules are the largest; GODEBUG=inittrace=1 lists them).
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
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"wechatqr/local/moto"
	"wechatqr/local/repo"
	"wechatqr/local/rie"
	"wechatqr/local/stack"
)

func main() {
	n := flag.Int("n", 10, "cold starts per function")
	secret := flag.Bool("secret", true, "read the account's secret from Secrets Manager, as deployed (moto_server on loopback); false passes the plain variables")
	verbose := flag.Bool("v", false, "print the logs of each function's first run")
	flag.Parse()
	if *n < 1 || *n > 1000 {
		fmt.Fprintln(os.Stderr, "coldstart: -n is 1 to 1000")
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, *n, *secret, *verbose); err != nil {
		fmt.Fprintln(os.Stderr, "coldstart:", err)
		os.Exit(1)
	}
}

// fn is one function of functions/ and the event it is measured with.
type fn struct {
	name  string // functions/<name>
	event string // events/<file>
	// prepare turns the file into run i's payload; nil sends it as is.
	prepare func(s *stack.Stack, raw []byte, i int) ([]byte, error)
}

var functions = []fn{
	{name: "callback", event: "scan.json", prepare: freshPush},
	{name: "qrcode", event: "qrcode-create.json", prepare: freshScene},
	{name: "tokenrefresh", event: "tokenrefresh.json"},
}

// sample is one cold start. The pinned emulator's REPORT line is not what Lambda's is: its
// Init Duration times only the emulator's own init call (well under a millisecond), and its
// Duration, on a first invocation, runs from the start of init to the end of the invocation.
// The runtime's phases are in the emulator's log lines instead ("INIT REPORT(durationMs: …)",
// "INVOKE RTDONE(…, duration: …ms)"); all four are recorded.
type sample struct {
	reportInit time.Duration // REPORT's Init Duration
	initPhase  time.Duration // INIT REPORT: the runtime's init, from exec to its first /next
	invoke     time.Duration // INVOKE RTDONE: the first invocation alone
	duration   time.Duration // REPORT's Duration
	wall       time.Duration // Invoke as the caller saw it: process start, init and invocation
}

// result is one function's samples and bootstrap size.
type result struct {
	name     string
	id       string
	deployed int64 // bytes of the linux/arm64 bootstrap
	samples  []sample
}

func run(ctx context.Context, n int, withSecret, verbose bool) error {
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

	var secretEnv map[string]string
	if withSecret {
		srv, env, err := startSecret(ctx, s)
		if err != nil {
			return err
		}
		defer srv.Close()
		secretEnv = env
	}

	var results []result
	for _, f := range functions {
		res, err := measure(ctx, s, root, tmp, f, n, secretEnv, verbose)
		if err != nil {
			return fmt.Errorf("%s: %w", f.name, err)
		}
		results = append(results, res)
	}
	report(results, n, withSecret)
	return nil
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

// startSecret puts the account's secret in moto_server and returns the environment changes
// that make each function read it at init, as deployed: WECHAT_SECRET_ID set, the plain
// variables gone.
func startSecret(ctx context.Context, s *stack.Stack) (*moto.Server, map[string]string, error) {
	srv, err := moto.Start(ctx)
	if err != nil {
		return nil, nil, err
	}
	client := secretsmanager.New(secretsmanager.Options{
		Region: rie.Region, BaseEndpoint: aws.String(srv.Endpoint()),
		Credentials: credentials.NewStaticCredentialsProvider("local", "local", ""),
	})
	cfg := s.Platform.Config()
	value, err := json.Marshal(map[string]string{"app_secret": cfg.AppSecret, "token": cfg.Token, "encoding_aes_key": cfg.EncodingAESKey})
	if err != nil {
		_ = srv.Close()
		return nil, nil, err
	}
	if _, err := client.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String("wechat-qr-coldstart"), SecretString: aws.String(string(value))}); err != nil {
		_ = srv.Close()
		return nil, nil, fmt.Errorf("moto: creating the secret: %w", err)
	}
	return srv, map[string]string{
		"WECHAT_SECRET_ID":                 "wechat-qr-coldstart",
		"AWS_ENDPOINT_URL_SECRETS_MANAGER": srv.Endpoint(), // the SDK derives the name from the service id, "Secrets Manager"
		"WECHAT_APP_SECRET":                "",
		"WECHAT_TOKEN":                     "",
		"WECHAT_ENCODING_AES_KEY":          "",
	}, nil
}

func measure(ctx context.Context, s *stack.Stack, root, tmp string, f fn, n int, secretEnv map[string]string, verbose bool) (result, error) {
	res := result{name: f.name}
	var timeout time.Duration
	for _, def := range s.Template.Functions() {
		if strings.Trim(def.CodeURI, "/") == "functions/"+f.name {
			res.id, timeout = def.LogicalID, def.Timeout
		}
	}
	if res.id == "" {
		return res, fmt.Errorf("no function with CodeUri functions/%s/ in template.yaml", f.name)
	}
	fmt.Fprintf(os.Stderr, "%s: building…\n", f.name)
	bootstrap, err := rie.Build(ctx, "./functions/"+f.name, filepath.Join(tmp, "local"))
	if err != nil {
		return res, err
	}
	if res.deployed, err = buildDeployed(ctx, root, f.name, filepath.Join(tmp, "deployed")); err != nil {
		return res, err
	}
	env := environ(s.Env(res.id), secretEnv)
	raw, err := os.ReadFile(filepath.Join(root, "events", f.event))
	if err != nil {
		return res, err
	}
	fmt.Fprintf(os.Stderr, "%s: %d cold starts…\n", f.name, n)
	for i := range n {
		payload := raw
		if f.prepare != nil {
			if payload, err = f.prepare(s, raw, i); err != nil {
				return res, err
			}
		}
		sm, logs, err := coldStart(ctx, bootstrap, res.id, timeout, env, payload)
		if verbose && i == 0 {
			fmt.Fprintf(os.Stderr, "--- %s, first run's logs ---\n%s\n---\n", f.name, strings.TrimSpace(logs))
		}
		if err != nil {
			return res, fmt.Errorf("run %d: %w\n%s", i+1, err, strings.TrimSpace(logs))
		}
		res.samples = append(res.samples, sm)
	}
	return res, nil
}

// environ is the stack's environment for a function with changes laid over it (an empty value
// removes the variable), as the KEY=VALUE list rie.Options takes.
func environ(base, changes map[string]string) []string {
	env := map[string]string{}
	for k, v := range base {
		env[k] = v
	}
	for k, v := range changes {
		if v == "" {
			delete(env, k)
		} else {
			env[k] = v
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
		reportInit: reports[0].InitDuration,
		initPhase:  logDuration(initReportLine, logs),
		invoke:     logDuration(invokeDoneLine, logs),
		duration:   reports[0].Duration,
		wall:       wall,
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
func buildDeployed(ctx context.Context, root, name, dir string) (int64, error) {
	out := filepath.Join(dir, name, "bootstrap")
	cmd := exec.CommandContext(ctx, "go", "build", "-tags", "lambda.norpc", "-trimpath", "-ldflags=-s -w", "-o", out, "./functions/"+name)
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

func report(results []result, n int, withSecret bool) {
	host, _ := os.Hostname()
	fmt.Printf("\n## Cold starts under aws-lambda-rie (%d per function)\n\n", n)
	fmt.Printf("Machine: %s/%s, %d CPUs (%s), %s. ", runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), host, runtime.Version())
	if withSecret {
		fmt.Println("The secret is read from Secrets Manager (moto_server on loopback), as deployed.")
	} else {
		fmt.Println("The functions read the plain variables of a local stack (-secret=false; deployed, they read the secret).")
	}
	fmt.Println()
	fmt.Println("| function | bootstrap linux/arm64 (MiB) | init median (ms) | init p90 | first invoke median (ms) | first invoke p90 | REPORT Duration median | REPORT Init Duration median | wall median (ms) | wall p90 |")
	fmt.Println("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
	for _, r := range results {
		get := func(field func(sample) time.Duration, p float64) string {
			return ms(percentile(pick(r.samples, field), p))
		}
		initPhase := func(s sample) time.Duration { return s.initPhase }
		invoke := func(s sample) time.Duration { return s.invoke }
		wall := func(s sample) time.Duration { return s.wall }
		fmt.Printf("| %s | %.2f | %s | %s | %s | %s | %s | %s | %s | %s |\n", r.name, float64(r.deployed)/(1<<20),
			get(initPhase, 50), get(initPhase, 90), get(invoke, 50), get(invoke, 90),
			get(func(s sample) time.Duration { return s.duration }, 50),
			get(func(s sample) time.Duration { return s.reportInit }, 50),
			get(wall, 50), get(wall, 90))
	}
	fmt.Println()
	fmt.Println("- init: the runtime's init phase, the emulator's INIT REPORT line (exec of the bootstrap to its first request for an event).")
	fmt.Println("- first invoke: the emulator's INVOKE RTDONE duration of the one invocation each cold instance served (callback: a first delivery of a SCAN, 2 DynamoDB round trips; qrcode: a new permanent code, token from the table, one WeChat call; tokenrefresh: one GetItem, token still fresh).")
	fmt.Println("- REPORT Duration: the emulator's REPORT line, which on a first invocation spans init and invocation; its Init Duration times only the emulator's own init call (sub-millisecond here), unlike Lambda's.")
	fmt.Println("- wall: from Invoke to its answer as the caller saw it, process start included.")
}
