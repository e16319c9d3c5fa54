// Command benchcmp compares the callback with silenceper/wechat on the same
// pushes: it runs BenchmarkPushHTTP in ./shared/callback (ours, served an
// *http.Request) and in local/peerbench (the SDK, same requests, its own
// module), takes the median of each figure over -count runs, and prints ours
// against theirs with the goals of the performance issue: at least 5× faster and
// at most 1/5 of the allocations, judged on our first delivery (the honest
// comparison: silenceper has no dedupe store, so all its deliveries do the same
// work, while our first one also claims the push in the store).
//
//	go run ./local/benchcmp [-count 5] [-benchtime 1s] [-v]
//
// It exits non-zero only when a benchmark cannot be run or its output not read,
// or when the two sides were not fed byte-identical requests; a missed goal is
// reported, not failed.
package main

import (
	"bufio"
	"bytes"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
)

// The goals, as ratios ours : theirs.
const (
	goalSpeedup    = 5.0 // their ns/op over ours, at least
	goalAllocShare = 0.2 // our allocs/op over theirs, at most
)

var modes = []string{"plaintext", "safe"}

func main() {
	count := flag.Int("count", 5, "runs of each benchmark; the table shows medians")
	benchtime := flag.String("benchtime", "1s", "go test -benchtime for each run")
	verbose := flag.Bool("v", false, "also print the raw go test output")
	flag.Parse()
	if err := run(*count, *benchtime, *verbose); err != nil {
		fmt.Fprintln(os.Stderr, "benchcmp:", err)
		os.Exit(1)
	}
}

func run(count int, benchtime string, verbose bool) error {
	if count < 1 {
		return errors.New("-count must be at least 1")
	}
	root, err := repoRoot()
	if err != nil {
		return err
	}
	args := []string{"test", "-run", "^$", "-bench", "^BenchmarkPushHTTP$", "-benchmem",
		"-count", strconv.Itoa(count), "-benchtime", benchtime}
	// One after the other: on a small machine, running both at once would make
	// each the other's noise.
	ours, err := goTest(root, append(args, "./shared/callback"), verbose)
	if err != nil {
		return err
	}
	theirs, err := goTest(filepath.Join(root, "local", "peerbench"), append(args, "."), verbose)
	if err != nil {
		return err
	}

	rows := map[string]figures{}
	for _, want := range []struct {
		out  *output
		name string
		as   string
	}{
		{ours, "BenchmarkPushHTTP/%s/first", "ours first %s"},
		{ours, "BenchmarkPushHTTP/%s/retry", "ours retry %s"},
		{theirs, "BenchmarkPushHTTP/%s", "theirs %s"},
	} {
		for _, mode := range modes {
			name := fmt.Sprintf(want.name, mode)
			runs := want.out.results[name]
			if len(runs) == 0 {
				return fmt.Errorf("no result for %s in the output of %s", name, want.out.cmd)
			}
			rows[fmt.Sprintf(want.as, mode)] = median(runs)
		}
	}
	// The comparison means nothing unless both handled the same bytes.
	for _, mode := range modes {
		a := ours.digests["BenchmarkPushHTTP/"+mode+"/first"]
		b := theirs.digests["BenchmarkPushHTTP/"+mode]
		if a == "" || b == "" {
			return fmt.Errorf("%s: a side did not log the digest of its requests", mode)
		}
		if a != b {
			return fmt.Errorf("%s: the two benchmarks were fed different requests (sha256 %s vs %s); "+
				"shared/callback/bench_test.go and local/peerbench/bench_test.go must build the same pushes", mode, a, b)
		}
	}

	fmt.Printf("BenchmarkPushHTTP, median of %d runs of %s each; %s %s/%s, %s\n",
		count, benchtime, runtime.Version(), runtime.GOOS, runtime.GOARCH, ours.cpu)
	fmt.Println("Both sides served byte-identical requests (sha256 of each mode's pushes matched).")
	fmt.Println()
	tw := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "mode\thandler\tns/op\tB/op\tallocs/op\t")
	for _, mode := range modes {
		for _, h := range []struct{ key, label string }{
			{"ours first", "ours, first delivery"},
			{"ours retry", "ours, retry"},
			{"theirs", "silenceper/wechat v2"},
		} {
			f := rows[h.key+" "+mode]
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t\n", mode, h.label, group(f.ns), group(f.bytes), group(f.allocs))
		}
	}
	tw.Flush()
	fmt.Println()

	tw = tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "mode\tours\tspeed (theirs/ours)\tallocs (ours/theirs)\tbytes (ours/theirs)\t≥%g× faster\t≤1/%g allocs\n", goalSpeedup, 1/goalAllocShare)
	for _, mode := range modes {
		them := rows["theirs "+mode]
		for _, c := range []string{"first", "retry"} {
			us := rows["ours "+c+" "+mode]
			speed := them.ns / us.ns
			share := us.allocs / them.allocs
			verdict := func(ok bool) string {
				if c == "retry" {
					return "(info)"
				}
				if ok {
					return "met"
				}
				return "MISSED"
			}
			fmt.Fprintf(tw, "%s\t%s\t%.1f×\t%.3f (1/%.1f)\t%.3f\t%s\t%s\n", mode, c, speed, share, 1/share,
				us.bytes/them.bytes, verdict(speed >= goalSpeedup), verdict(share <= goalAllocShare))
		}
	}
	tw.Flush()
	fmt.Println("\nThe goals are judged on the first delivery; retry is shown for information.")
	return nil
}

// repoRoot is the directory of the main module, which must be the one around
// the working directory.
func repoRoot() (string, error) {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	gomod := strings.TrimSpace(string(out))
	if gomod == "" || gomod == os.DevNull {
		return "", errors.New("not inside a Go module: run from the repository root")
	}
	src, err := os.ReadFile(gomod)
	if err != nil {
		return "", err
	}
	if !regexp.MustCompile(`(?m)^module\s+wechatqr\s*$`).Match(src) {
		return "", fmt.Errorf("%s is not module wechatqr: run from the repository root", gomod)
	}
	return filepath.Dir(gomod), nil
}

// figures are one benchmark's per-op results.
type figures struct{ ns, bytes, allocs float64 }

// output is what one go test run printed, read.
type output struct {
	cmd     string
	cpu     string
	results map[string][]figures // by benchmark name without the -GOMAXPROCS suffix
	digests map[string]string    // by benchmark name, from the "requests sha256" log lines
}

var (
	resultLine = regexp.MustCompile(`^(Benchmark\S+?)(?:-\d+)?\s+\d+\s+([\d.]+) ns/op\s+([\d.]+) B/op\s+([\d.]+) allocs/op`)
	digestLine = regexp.MustCompile(`\s(Benchmark\S+): requests sha256 ([0-9a-f]{64})\b`)
)

func goTest(dir string, args []string, verbose bool) (*output, error) {
	cmd := exec.Command("go", args...)
	cmd.Dir = dir
	desc := fmt.Sprintf("(cd %s && go %s)", dir, strings.Join(quote(args), " "))
	fmt.Fprintln(os.Stderr, "running", desc)
	raw, err := cmd.CombinedOutput()
	if verbose {
		os.Stderr.Write(raw)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w\n%s", desc, err, raw)
	}
	o := &output{cmd: desc, results: map[string][]figures{}, digests: map[string]string{}}
	sc := bufio.NewScanner(bytes.NewReader(raw))
	for sc.Scan() {
		line := sc.Text()
		if cpu, ok := strings.CutPrefix(line, "cpu: "); ok {
			o.cpu = strings.TrimSpace(cpu)
		}
		if m := digestLine.FindStringSubmatch(line); m != nil {
			if prev, ok := o.digests[m[1]]; ok && prev != m[2] {
				return nil, fmt.Errorf("%s: %s logged two different request digests", desc, m[1])
			}
			o.digests[m[1]] = m[2]
		}
		m := resultLine.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		var f figures
		for i, p := range []*float64{&f.ns, &f.bytes, &f.allocs} {
			if *p, err = strconv.ParseFloat(m[i+2], 64); err != nil {
				return nil, fmt.Errorf("%s: reading %q: %w", desc, line, err)
			}
		}
		o.results[m[1]] = append(o.results[m[1]], f)
	}
	if len(o.results) == 0 {
		return nil, fmt.Errorf("%s printed no benchmark results:\n%s", desc, raw)
	}
	return o, nil
}

func median(runs []figures) figures {
	pick := func(get func(figures) float64) float64 {
		v := make([]float64, len(runs))
		for i, r := range runs {
			v[i] = get(r)
		}
		slices.Sort(v)
		n := len(v)
		if n%2 == 1 {
			return v[n/2]
		}
		return (v[n/2-1] + v[n/2]) / 2
	}
	return figures{
		ns:     pick(func(f figures) float64 { return f.ns }),
		bytes:  pick(func(f figures) float64 { return f.bytes }),
		allocs: pick(func(f figures) float64 { return f.allocs }),
	}
}

// group prints n rounded, thousands separated: figures from 10 to 100,000 sit
// in one column and must be read at a glance.
func group(n float64) string {
	s := strconv.FormatFloat(n, 'f', 0, 64)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

// quote shell-quotes what needs it, so the printed command can be pasted.
func quote(args []string) []string {
	q := make([]string, len(args))
	for i, a := range args {
		if strings.ContainsAny(a, "^$ *") {
			a = "'" + a + "'"
		}
		q[i] = a
	}
	return q
}
