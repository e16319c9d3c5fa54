package rie

import (
	"strconv"
	"strings"
	"time"
)

// Report is one REPORT line the emulator prints after an invocation.
type Report struct {
	RequestID      string
	Duration       time.Duration
	BilledDuration time.Duration
	// InitDuration is zero unless the line has one: the emulator prints it on the first
	// invocation after Start only (not after it restarts a runtime that timed out or
	// crashed), and not at all when that invocation failed. It times the emulator's init
	// call, which can be far shorter than the runtime's own start ("INIT REPORT" in Logs).
	InitDuration time.Duration
	MemorySizeMB int
	// MaxMemoryUsedMB is what the line says; the emulator does not measure it and prints
	// the memory size.
	MaxMemoryUsedMB int
}

// Reports parses the REPORT lines printed so far, oldest first.
func (f *Function) Reports() []Report {
	var out []Report
	for _, line := range strings.Split(f.Logs(), "\n") {
		if r, ok := parseReport(line); ok {
			out = append(out, r)
		}
	}
	return out
}

// parseReport reads a line such as
//
//	REPORT RequestId: 5799…	Init Duration: 2.31 ms	Duration: 30.46 ms	Billed Duration: 31 ms	Memory Size: 3008 MB	Max Memory Used: 3008 MB
//
// Fields it does not know are skipped, so a newer emulator's additions do not break it.
func parseReport(line string) (Report, bool) {
	rest, ok := strings.CutPrefix(strings.TrimSpace(line), "REPORT ")
	if !ok {
		return Report{}, false
	}
	var r Report
	for _, field := range strings.Split(rest, "\t") {
		k, v, ok := strings.Cut(strings.TrimSpace(field), ": ")
		if !ok {
			continue
		}
		num, unit, _ := strings.Cut(v, " ")
		switch k {
		case "RequestId":
			r.RequestID = v
		case "Duration":
			r.Duration = millis(num, unit)
		case "Billed Duration":
			r.BilledDuration = millis(num, unit)
		case "Init Duration":
			r.InitDuration = millis(num, unit)
		case "Memory Size":
			r.MemorySizeMB, _ = strconv.Atoi(num)
		case "Max Memory Used":
			r.MaxMemoryUsedMB, _ = strconv.Atoi(num)
		}
	}
	return r, r.RequestID != ""
}

func millis(num, unit string) time.Duration {
	f, err := strconv.ParseFloat(num, 64)
	if err != nil || unit != "ms" {
		return 0
	}
	return time.Duration(f * float64(time.Millisecond))
}
