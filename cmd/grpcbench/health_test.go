package main

import (
	"strings"
	"testing"
	"time"

	"github.com/grpcbench/grpcbench/results"
)

// writeRunHealth is writeRun with the generator's run delay of every
// repeat of cell "pool.size=<key>" set from delays.
func writeRunHealth(t *testing.T, name string, medians map[string]time.Duration, delays map[string]float64) string {
	t.Helper()
	p := writeRun(t, name, 5, medians)
	run, err := results.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	for i, c := range run.Cells {
		d := delays[c.Params[0].Value] + 0.001*float64(i%5)
		c.Health = &results.Health{Samples: 3, Cores: 2, RunDelay: &results.Share{Mean: d, Max: d}}
	}
	if err := results.WriteFile(p, run); err != nil {
		t.Fatal(err)
	}
	return p
}

// A new run whose generator was starved: compare exits 4 (inconclusive),
// never 1, unless --inconclusive=pass; a real regression elsewhere still
// exits 1.
func TestCompareInconclusiveExitCodes(t *testing.T) {
	meds := map[string]time.Duration{"1": 10 * time.Millisecond, "4": 5 * time.Millisecond}
	slower := map[string]time.Duration{"1": 13 * time.Millisecond, "4": 5 * time.Millisecond}
	bothSlower := map[string]time.Duration{"1": 13 * time.Millisecond, "4": 7 * time.Millisecond}
	quiet := map[string]float64{"1": 0.05, "4": 0.05}
	base := writeRunHealth(t, "base.json", meds, quiet)
	starved := writeRunHealth(t, "starved.json", slower, map[string]float64{"1": 0.8, "4": 0.8})
	mixed := writeRunHealth(t, "mixed.json", bothSlower, map[string]float64{"1": 0.8, "4": 0.05})
	tests := []compareCase{
		{"starved", []string{base, starved, "--gate", "p99=+10%"}, exitInconclusive,
			[]string{"INCONCLUSIVE", "new run's load generator was CPU-starved: run delay 80.2 % vs 5.2 %", "INCONCLUSIVE: 2 checks, 1 inconclusive"},
			"compare: INCONCLUSIVE: 2 checks, 1 inconclusive (load generator starved): the new run's load generator was CPU-starved; rerun on a quieter machine, or --inconclusive=pass"},
		{"starved, pass", []string{base, starved, "--gate", "p99=+10%", "--inconclusive=pass"}, exitOK,
			[]string{"inconclusive", "they pass: --inconclusive=pass"}, ""},
		{"starved and a regression", []string{base, mixed, "--gate", "p99=+10%"}, exitGate,
			[]string{"INCONCLUSIVE", "REGRESSION"}, "compare: FAIL: 2 checks, 1 regression, 1 inconclusive"},
		{"bad value", []string{base, starved, "--inconclusive", "maybe"}, exitUsage, nil, `--inconclusive must be pass or fail, got "maybe"`},
	}
	runCompareCases(t, tests)
}

// The run's summary warns about a cell whose generator was the bottleneck.
func TestWarnSaturation(t *testing.T) {
	run := &results.Run{Cells: []*results.Cell{
		{ID: "a#0", Load: results.Load{Model: results.ModelOpen, Workers: 4, Scheduled: 1000, Dropped: 200}},
		{ID: "b#0", Health: &results.Health{RunDelay: &results.Share{Mean: 0.1}}},
	}}
	var b strings.Builder
	warnSaturation(&b, run)
	want := "warning: cell a#0: the load generator was the bottleneck (the in-flight cap (4) was full: 200 of 1000 arrivals dropped): these results measure the client, not the service\n" +
		"warning: 1 of 2 cells saturated the load generator: lower the rate, raise load.max_inflight, give grpcbench more CPU or run it on a quieter machine\n"
	if b.String() != want {
		t.Fatalf("got\n%s\nwant\n%s", b.String(), want)
	}
}
