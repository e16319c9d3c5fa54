// Command loadtest drives scans through the whole local stack and checks the counters:
//
//	go run ./local/loadtest [-duration 10s] [-concurrency 16] [-max 20000] [-mode plaintext]
//
// It starts a local stack (DynamoDB Local, the WeChat emulator, each function's bootstrap under
// aws-lambda-rie), serves its front (the local API Gateway) on a loopback port, creates codes
// through the front as an operator would, and then has the emulator scan them as WeChat users
// do, each scan a push to the front's /wechat signed (and in safe mode sealed) as WeChat
// signs it, from a new openid each time (so each is a subscribe, the heavier push):
//
//   - phase A: every scan on one scene, the poster that went viral;
//   - phase B: scans spread round-robin over 50 scenes.
//
// Each phase runs until -duration has passed or -max scans were sent, whichever comes first.
// It prints scans per second and latency percentiles, then reads each scene's counters through
// the front (GET /qrcodes/{scene}) and checks that they add up to the scans that succeeded:
// every push counted exactly once. It exits non-zero on a mismatch.
//
// Everything listens on loopback and stops by itself. The throughput is one callback instance's:
// aws-lambda-rie serves one invocation at a time, as one Lambda instance does, so -concurrency
// queues pushes at the front rather than running them in parallel; deployed, Lambda would add
// instances. What this measures is the per-instance cost of a push and the correctness of the
// counters under concurrent deliveries, not the deployed ceiling.
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
	"net/http"
	"net/http/httptest"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"wechatqr/local/rie"
	"wechatqr/local/stack"
	"wechatqr/shared/wechat/wechattest"
)

func main() {
	duration := flag.Duration("duration", 10*time.Second, "how long each phase sends scans")
	concurrency := flag.Int("concurrency", 16, "scans in flight at once")
	maxScans := flag.Int("max", 20000, "most scans per phase")
	mode := flag.String("mode", "plaintext", "message mode of the pushes: plaintext, compatible or safe")
	flag.Parse()
	m, err := stack.ParseMode(*mode)
	switch {
	case err != nil:
		fmt.Fprintln(os.Stderr, "loadtest:", err)
		os.Exit(2)
	case *duration <= 0 || *duration > 10*time.Minute:
		fmt.Fprintln(os.Stderr, "loadtest: -duration is over 0 and at most 10m")
		os.Exit(2)
	case *concurrency < 1 || *concurrency > 256:
		fmt.Fprintln(os.Stderr, "loadtest: -concurrency is 1 to 256")
		os.Exit(2)
	case *maxScans < 1 || *maxScans > 1000000:
		fmt.Fprintln(os.Stderr, "loadtest: -max is 1 to 1000000")
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	ok, err := run(ctx, config{duration: *duration, concurrency: *concurrency, max: *maxScans, mode: m})
	if err != nil {
		fmt.Fprintln(os.Stderr, "loadtest:", err)
		os.Exit(1)
	}
	if !ok {
		os.Exit(1)
	}
}

type config struct {
	duration    time.Duration
	concurrency int
	max         int
	mode        wechattest.Mode
}

// phase is one load pattern.
type phase struct {
	name   string
	scenes []string
}

// outcome is what a phase did.
type outcome struct {
	phase
	elapsed   time.Duration
	ok        int             // scans answered 200 with the scene's reply
	failed    int             // scans that got no such answer
	firstErr  string          // the first failure, for the report
	latencies []time.Duration // of the successful scans
	service   []time.Duration // the callback's REPORT Durations during the phase
	counted   int64           // the scenes' scans counters, read back through the front
}

func run(ctx context.Context, cfg config) (bool, error) {
	tmp, err := os.MkdirTemp("", "loadtest-")
	if err != nil {
		return false, err
	}
	defer os.RemoveAll(tmp)
	fmt.Fprintln(os.Stderr, "starting a local stack (DynamoDB Local, the WeChat emulator, the functions)…")
	startCtx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	s, err := stack.Start(startCtx, stack.Options{BuildDir: filepath.Join(tmp, "build")})
	cancel()
	if err != nil {
		return false, err
	}
	defer s.Close()
	front := httptest.NewServer(s.Front()) // loopback only
	defer front.Close()

	var callback *rie.Function
	for _, f := range s.Template.Functions() {
		if strings.Trim(f.CodeURI, "/") == "functions/callback" {
			callback, _ = s.Function(f.LogicalID)
		}
	}
	if callback == nil {
		return false, errors.New("no callback function (CodeUri functions/callback/) running in the stack")
	}

	phases := []phase{{name: "A: one scene", scenes: []string{"load-hot"}}}
	spread := phase{name: "B: 50 scenes"}
	for i := range 50 {
		spread.scenes = append(spread.scenes, "load-"+strconv.Itoa(i))
	}
	phases = append(phases, spread)
	fmt.Fprintln(os.Stderr, "creating 51 codes through the front…")
	for _, p := range phases {
		for _, scene := range p.scenes {
			if err := createCode(ctx, front.URL, scene); err != nil {
				return false, err
			}
		}
	}

	var results []outcome
	for _, p := range phases {
		fmt.Fprintf(os.Stderr, "phase %s: up to %v or %d scans, %d in flight…\n", p.name, cfg.duration, cfg.max, cfg.concurrency)
		before := len(callback.Reports())
		out := drive(ctx, s, front.URL, p, cfg)
		for _, r := range callback.Reports()[before:] {
			out.service = append(out.service, r.Duration)
		}
		for _, scene := range p.scenes {
			n, err := scans(ctx, front.URL, scene)
			if err != nil {
				return false, err
			}
			out.counted += n
		}
		results = append(results, out)
		if ctx.Err() != nil {
			break
		}
	}
	return report(results, cfg), nil
}

// reply is the text each code answers; a scan succeeded when it came back.
func reply(scene string) string { return "Thanks for scanning " + scene }

func createCode(ctx context.Context, front, scene string) error {
	body, err := json.Marshal(map[string]any{
		"scene": scene, "permanent": true,
		"reply": map[string]string{"type": "text", "content": reply(scene)},
	})
	if err != nil {
		return err
	}
	status, b, err := call(ctx, http.MethodPost, front+"/qrcodes", body)
	if err != nil {
		return err
	}
	if status != http.StatusCreated && status != http.StatusOK {
		return fmt.Errorf("creating %s: %d %s", scene, status, b)
	}
	return nil
}

// scans reads a scene's scans counter through the front.
func scans(ctx context.Context, front, scene string) (int64, error) {
	status, b, err := call(ctx, http.MethodGet, front+"/qrcodes/"+scene, nil)
	if err != nil {
		return 0, err
	}
	var code struct {
		Stats *struct {
			Scans int64 `json:"scans"`
		} `json:"stats"`
	}
	if status != http.StatusOK || json.Unmarshal(b, &code) != nil || code.Stats == nil {
		return 0, fmt.Errorf("GET /qrcodes/%s: %d %s", scene, status, b)
	}
	return code.Stats.Scans, nil
}

func call(ctx context.Context, method, url string, body []byte) (int, []byte, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, url, bytes.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(io.LimitReader(res.Body, 1<<20))
	return res.StatusCode, b, err
}

// drive sends scans with cfg.concurrency workers until the phase's time or count runs out.
func drive(ctx context.Context, s *stack.Stack, front string, p phase, cfg config) outcome {
	ctx, cancel := context.WithTimeout(ctx, cfg.duration)
	defer cancel()
	out := outcome{phase: p}
	var (
		next atomic.Int64
		mu   sync.Mutex
		wg   sync.WaitGroup
	)
	tag := []byte(p.name)[0] // A or B: openids differ between phases
	start := time.Now()
	for range cfg.concurrency {
		wg.Go(func() {
			for ctx.Err() == nil {
				i := int(next.Add(1)) - 1
				if i >= cfg.max {
					return
				}
				scene := p.scenes[i%len(p.scenes)]
				openid := fmt.Sprintf("load-%c-%07d", tag, i)
				t0 := time.Now()
				// WeChat's own behaviour: a 5 s wait per delivery, and up to two more
				// deliveries of a push that got no answer. The delivery, not the
				// phase, bounds a scan already sent, so a scan is never cut off
				// half-way by the phase ending.
				push, err := s.Platform.ScanScene(context.WithoutCancel(ctx), front+"/wechat", openid, scene, cfg.mode,
					wechattest.RetryOnFailure(2))
				took := time.Since(t0)
				good := err == nil && bytes.Contains(push.Reply(), []byte(reply(scene)))
				mu.Lock()
				if good {
					out.ok++
					out.latencies = append(out.latencies, took)
				} else {
					out.failed++
					if out.firstErr == "" {
						out.firstErr = describe(push, err)
					}
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	out.elapsed = time.Since(start)
	return out
}

func describe(push wechattest.Push, err error) string {
	if err != nil {
		return err.Error()
	}
	var answers []string
	for _, d := range push.Deliveries {
		answers = append(answers, strconv.Itoa(d.Status)+" "+strconv.Quote(string(d.Body)))
	}
	if len(answers) == 0 {
		return "no delivery"
	}
	return fmt.Sprintf("answers %v", answers)
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

func ms(d time.Duration) string {
	return strconv.FormatFloat(float64(d)/float64(time.Millisecond), 'f', 1, 64)
}

// report prints the table and the counter check, and says whether every check held. A scan
// that got no good answer may or may not have been counted (the transaction can commit after
// the answer is lost; WeChat's retry would then be answered as a duplicate), so with failures
// the counters must lie between the successes and the scans sent.
func report(results []outcome, cfg config) bool {
	fmt.Printf("\n## Load through the local stack (%s pushes, %d in flight, each phase up to %v or %d scans)\n\n", cfg.mode, cfg.concurrency, cfg.duration, cfg.max)
	fmt.Println("| phase | scans ok | failed | scans/s | p50 (ms) | p99 (ms) | max (ms) | callback Duration p50 (ms) | counted | check |")
	fmt.Println("|---|---:|---:|---:|---:|---:|---:|---:|---:|---|")
	allOK := true
	for _, r := range results {
		check := "OK"
		switch {
		case r.failed == 0 && r.counted != int64(r.ok):
			check = "MISMATCH"
		case r.failed > 0 && (r.counted < int64(r.ok) || r.counted > int64(r.ok+r.failed)):
			check = "MISMATCH"
		case r.failed > 0:
			check = "OK (within failures)"
		}
		if check == "MISMATCH" {
			allOK = false
		}
		rate := float64(r.ok) / r.elapsed.Seconds()
		fmt.Printf("| %s | %d | %d | %.0f | %s | %s | %s | %s | %d | %s |\n", r.name, r.ok, r.failed, rate,
			ms(percentile(r.latencies, 50)), ms(percentile(r.latencies, 99)), ms(percentile(r.latencies, 100)),
			ms(percentile(r.service, 50)), r.counted, check)
	}
	fmt.Println()
	for _, r := range results {
		if r.firstErr != "" {
			fmt.Printf("- %s: first failure: %s\n", r.name, r.firstErr)
		}
	}
	fmt.Println("- latency: from the emulator's first POST of a push to the callback's answer, through the local front, the callback under aws-lambda-rie and DynamoDB Local.")
	fmt.Println("- callback Duration: the REPORT line of each invocation under aws-lambda-rie, the time one push holds the instance; scans/s is about its inverse, the rest of the latency is the queue at the front.")
	fmt.Println("- aws-lambda-rie serves one invocation at a time, like one Lambda instance: scans/s is one callback instance's throughput on this machine, and concurrency only queues pushes at the front. Deployed, Lambda scales out with instances.")
	fmt.Println("- counted: the sum of the phase's scenes' scans counters, read through GET /qrcodes/{scene}; OK means every successful scan was counted exactly once.")
	return allOK
}
