package main

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/grpcbench/grpcbench/results"
)

// The details under the summary show what its columns cannot: each
// backend's share and the server's most in flight, the closed model's lag,
// hedges, ejections, breaker transitions, membership changes and the
// attempts per backend and second — only what a cell has.
func TestPrintDetails(t *testing.T) {
	be := func(calls ...int64) []results.Backend {
		var out []results.Backend
		for i, n := range calls {
			out = append(out, results.Backend{Addr: "127.0.0.1:" + string(rune('1'+i)), ClientCalls: n, ServerCalls: n, ServerMaxInflight: n / 100})
		}
		return out
	}
	series := []results.BackendSecond{{T: 0, Calls: map[string]int64{"127.0.0.1:1": 100, "127.0.0.1:2": 100}},
		{T: 1, Calls: map[string]int64{"127.0.0.1:1": 200}}}
	run := &results.Run{Cells: []*results.Cell{
		{ID: "plain#1", Backends: be(50)}, // one backend, no in-flight count: nothing to add
		{ID: "closed#1", Load: results.Load{Model: results.ModelClosed, MaxLag: 202 * time.Millisecond}, Backends: be(1000)},
		{ID: "hedged#1", Backends: be(600, 300), Hedging: &results.Hedging{Calls: 900, Hedges: 76, WonBy: []int64{0, 844, 56}, ServerExtra: 76}},
		{ID: "ejected#1", Backends: be(75, 225), BackendSeries: series,
			Ejections:  []results.Ejection{{At: 760 * time.Millisecond, Addr: "127.0.0.1:2", Kind: "eject", Reason: "failure_percentage", For: 30 * time.Second}},
			Breaker:    results.Breaker{Transitions: []results.Transition{{At: time.Second, From: "closed", To: "open"}}},
			Membership: []results.MembershipChange{{At: 2 * time.Second, Removed: []string{"127.0.0.1:2"}, Added: []string{"127.0.0.1:9"}}}},
	}}
	var b bytes.Buffer
	printDetails(&b, run)
	out := b.String()
	for _, want := range []string{
		"closed#1\n    backends    b0 100% of the attempts; most in flight at the server 10\n    lag         202.00ms",
		"hedged#1\n    backends    b0 67% · b1 33% of the attempts; most in flight at the server 6 · 3\n" +
			"    hedging     76 hedges for 900 calls (8.4%), 56 calls won by a hedge, 76 extra calls at the server",
		// The totals (75, 225) include the warm-up; the shares are the
		// recorded phase's, from its seconds (300, 100).
		"ejected#1\n    backends    b0 75% · b1 25% of the attempts after warm-up; most in flight at the server 0 · 2",
		"eject       b1 at 0.76s (failure_percentage, for 30s)",
		"breaker     open 1.00s",
		"membership  at 2.00s: −b1 +127.0.0.1:9",
		"second      b0    b1\n         0     100   100\n         1     200     0",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("details lack %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "plain#1") {
		t.Errorf("a cell with nothing to add is listed:\n%s", out)
	}
	// Without an ejection, a breaker or churn in the run, no seconds.
	b.Reset()
	printDetails(&b, &results.Run{Cells: run.Cells[:3]})
	if strings.Contains(b.String(), "second") {
		t.Errorf("seconds printed for a run without churn:\n%s", b.String())
	}
}
