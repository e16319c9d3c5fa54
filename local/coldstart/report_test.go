package main

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

func samples(inits ...time.Duration) []sample {
	out := make([]sample, 0, len(inits))
	for _, d := range inits {
		out = append(out, sample{initPhase: d, invoke: time.Millisecond, wall: 2 * d})
	}
	return out
}

// TestReportQuotesEachFunctionAgainstTheBaseline: the medians of the same run,
// as a difference and a ratio, and the baseline itself without either.
func TestReportQuotesEachFunctionAgainstTheBaseline(t *testing.T) {
	ms := time.Millisecond
	var out bytes.Buffer
	report(&out, []result{
		{name: baselineName, deployed: 5 << 20, samples: samples(19*ms, 20*ms, 40*ms)},
		{name: "callback", deployed: 9 << 20, samples: samples(22*ms, 25*ms, 60*ms)},
		{name: "qrcode", deployed: 9 << 20, samples: samples(18*ms, 19*ms, 19*ms)},
	}, 3, true)
	got := out.String()
	for _, want := range []string{
		"| baseline (lambda.Start only) | 5.00 | 20.0 | 40.0 | – | – |",
		"| callback | 9.00 | 25.0 | 60.0 | +5.0 | 1.25× |",
		"| qrcode | 9.00 | 19.0 | 19.0 | -1.0 | 0.95× |",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("the report lacks %q:\n%s", want, got)
		}
	}
}

func TestEnvironLaysChangesOverInOrder(t *testing.T) {
	got := environ(map[string]string{"A": "1", "B": "2", "C": "3"},
		map[string]string{"B": "", "D": "4"}, map[string]string{"D": "5", "C": ""})
	if want := "A=1,D=5"; strings.Join(got, ",") != want {
		t.Errorf("environ = %v, want %s", got, want)
	}
}
