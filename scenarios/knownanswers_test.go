package scenarios

import (
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/grpcbench/grpcbench/gates"
	"github.com/grpcbench/grpcbench/report"
	"github.com/grpcbench/grpcbench/results"
)

// Known answers: each example in examples/ teaches a lesson whose answer is
// known from first principles; each test here runs that example (the file
// itself, with shorter timings and more repeats given as --set overrides,
// so the two cannot drift apart) over real TCP against the fake server and
// asserts the answer: the ordering, and that it is significant — a
// two-sided Mann–Whitney U test over the repeats (gates.MannWhitney) at
// α = 0.05. With 5 + 5 repeats the test tolerates two inverted pairs out of
// 25; the effects chosen are many times the run-to-run noise of a shared
// machine, and a run in which the machine held the load generator up is
// run again (see runExample). Every test logs its figures (medians, effect,
// p-value).
//
// The set takes about two and a half minutes under -race; -short skips it.

// knownAnswerRepeats is the number of repeats of each compared point:
// 5 + 5 lets the exact test reach p = 0.008, and p < 0.05 survives two
// inverted pairs.
const knownAnswerRepeats = 5

// knownAnswerAlpha is the significance level of every known answer.
const knownAnswerAlpha = 0.05

// knownAnswer starts a known-answer test: skipped with -short; with
// parallel, run beside the other parallel ones. Most known answers mostly
// wait (server latency, timeouts) and count calls or compare latencies
// many times apart, so two at a time (go test's -parallel defaults to
// GOMAXPROCS) halve the set's time. The two whose answer is a p99 near
// 100ms (hedging, slow backend) run alone, before the others: on a
// crowded 2-core machine a CPU-hungry neighbour under -race stretches
// every call, and a hedging client answers that with more hedges (more CPU
// still) — a real effect, but not the one these tests are about.
func knownAnswer(t *testing.T, parallel bool) {
	if testing.Short() {
		t.Skip("known answers send real load for tens of seconds")
	}
	if parallel {
		t.Parallel()
	}
}

// starvedLag is the largest schedule lag of an open-model cell that still
// measured the client stack: beyond it the load generator itself was held
// up (on a shared 2-core machine, for seconds at times), and every call in
// flight got that much slower whatever the configuration.
const starvedLag = 150 * time.Millisecond

// starvedAttempts bounds the runs of an example whose load generator was
// starved.
const starvedAttempts = 3

// runExample runs examples/file with the overrides and returns the run. A
// run in which an open-model cell's load generator was starved (its pacer
// sent calls more than starvedLag late) measured the machine, not the
// client stack: it is run again, at most starvedAttempts times in all, and
// the last run is returned whatever it measured.
func runExample(t *testing.T, file string, sets ...string) *results.Run {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	sp, err := LoadFile(ctx, "examples/"+file, sets...)
	if err != nil {
		t.Fatal(err)
	}
	for attempt := 1; ; attempt++ {
		start := time.Now()
		run, err := Run(ctx, sp, Options{})
		if err != nil {
			t.Fatal(err)
		}
		lags := make([]string, len(run.Cells))
		var starved []string
		for i, c := range run.Cells {
			lags[i] = c.Load.MaxLag.Round(time.Millisecond).String()
			if c.Load.Model == results.ModelOpen && c.Load.MaxLag > starvedLag {
				starved = append(starved, c.ID)
			}
		}
		t.Logf("%s: %d cells in %s; the load generator's largest lag per cell: %s", file, len(run.Cells),
			time.Since(start).Round(100*time.Millisecond), strings.Join(lags, " "))
		if len(starved) == 0 || attempt == starvedAttempts {
			return run
		}
		t.Logf("%s: the load generator was held up more than %s in %q: the machine, not the client stack, was measured; running it again",
			file, starvedLag, starved)
	}
}

// matrixValue returns value i of the example's matrix dimension path, as
// flow YAML for a --set: the tests pick points of the example's own matrix.
func matrixValue(t *testing.T, file, path string, i int) string {
	t.Helper()
	sp, err := LoadFile(context.Background(), "examples/"+file)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range sp.Scenario.Matrix {
		if d.Path == path && i < len(d.Values) {
			return nodeString(d.Values[i])
		}
	}
	t.Fatalf("%s: no matrix value %s[%d]", file, path, i)
	return ""
}

// matrixPoint returns the cells of the matrix point whose ID (without "#repeat")
// is id, failing the test when there are none.
func matrixPoint(t *testing.T, run *results.Run, id string) []*results.Cell {
	t.Helper()
	var out []*results.Cell
	var ids []string
	for _, c := range run.Cells {
		p, _, _ := strings.Cut(c.ID, "#")
		if p == id {
			out = append(out, c)
		}
		ids = append(ids, p)
	}
	if len(out) == 0 {
		t.Fatalf("no cells %q among %q", id, slices.Compact(ids))
	}
	for _, c := range out {
		if c.Error != "" {
			t.Fatalf("cell %s: %s", c.ID, c.Error)
		}
	}
	return out
}

// measureCells applies f to every cell.
func measureCells(cells []*results.Cell, f func(*results.Cell) float64) []float64 {
	out := make([]float64, len(cells))
	for i, c := range cells {
		out[i] = f(c)
	}
	return out
}

// assertLower asserts that the values of a (named an) are lower than those of b:
// a lower median and a significant difference. format prints a value. It
// returns the ratio of the medians, b / a.
func assertLower(t *testing.T, what, an string, a []float64, bn string, b []float64, format func(float64) string) float64 {
	t.Helper()
	ma, mb := gates.Median(a), gates.Median(b)
	u := gates.MannWhitney(a, b)
	t.Logf("%s: %s %s < %s %s (medians of %d and %d repeats; ratio %.2f; Mann–Whitney p = %.4f)\n  %s: %s\n  %s: %s",
		what, an, format(ma), bn, format(mb), len(a), len(b), mb/ma, u.P, an, formatAll(a, format), bn, formatAll(b, format))
	if !(ma < mb) {
		t.Errorf("%s: %s median %s is not below %s median %s", what, an, format(ma), bn, format(mb))
	}
	if u.P >= knownAnswerAlpha {
		t.Errorf("%s: %s vs %s not significant: p = %.4f ≥ %v", what, an, bn, u.P, knownAnswerAlpha)
	}
	return mb / ma
}

func formatAll(xs []float64, format func(float64) string) string {
	s := make([]string, len(xs))
	for i, x := range xs {
		s[i] = format(x)
	}
	return strings.Join(s, " ")
}

func fmtMs(v float64) string   { return fmt.Sprintf("%.1fms", v*1e3) }
func fmtPct(v float64) string  { return fmt.Sprintf("%.1f%%", 100*v) }
func fmtNum(v float64) string  { return fmt.Sprintf("%.3g", v) }
func fmtFrac(v float64) string { return fmt.Sprintf("%.3f", v) }

// cellP99 is the 99th percentile latency of every call of a cell, in seconds.
func cellP99(c *results.Cell) float64 { return c.All.Latency.Quantile(0.99).Seconds() }

// cellErrorRate is the share of a cell's calls that failed.
func cellErrorRate(c *results.Cell) float64 { return c.All.ErrorRate() }

// cellAttemptsPerCall is the retry layer's attempts per logical call: every
// attempt reached the server (immediate RESOURCE_EXHAUSTED included).
func cellAttemptsPerCall(c *results.Cell) float64 { return 1 + c.Retry.RetriesPerCall() }

// backendShare returns the fraction of a cell's attempts that backend i received
// (client side, whole cell).
func backendShare(i int) func(*results.Cell) float64 {
	return func(c *results.Cell) float64 {
		var total int64
		for _, b := range c.Backends {
			total += b.ClientCalls
		}
		if total == 0 || i >= len(c.Backends) {
			return math.NaN()
		}
		return float64(c.Backends[i].ClientCalls) / float64(total)
	}
}

// cellServerCalls is what the fake server's backends received in all.
func cellServerCalls(c *results.Cell) float64 {
	var n int64
	for _, b := range c.Backends {
		n += b.ServerCalls
	}
	return float64(n)
}

// failedQuantile returns quantile q of the latency of the calls that
// failed: the latency of all calls minus that of the OK ones, bucket by
// bucket (both histograms hold the same calls' values).
func failedQuantile(c *results.Cell, q float64) float64 {
	ok := map[time.Duration]int64{}
	c.All.OK.Buckets(func(v time.Duration, n int64) bool { ok[v] += n; return true })
	type bucket struct {
		v time.Duration
		n int64
	}
	var failed []bucket
	var total int64
	c.All.Latency.Buckets(func(v time.Duration, n int64) bool {
		if n -= ok[v]; n > 0 {
			failed = append(failed, bucket{v, n})
			total += n
		}
		return true
	})
	var seen int64
	for _, b := range failed {
		if seen += b.n; float64(seen) >= q*float64(total) {
			return b.v.Seconds()
		}
	}
	return math.NaN()
}

// Every example loads and validates as written (the known answers below
// run them with overrides; this catches an example that no longer parses).
func TestExamplesLoad(t *testing.T) {
	files, err := filepath.Glob("examples/*.yaml")
	if err != nil || len(files) < 12 {
		t.Fatalf("examples: %q, %v", files, err)
	}
	for _, f := range files {
		sp, err := LoadFile(context.Background(), f)
		if err != nil {
			t.Errorf("%s: %v", f, err)
			continue
		}
		if _, err := sp.Expand(); err != nil {
			t.Errorf("%s: %v", f, err)
		}
	}
	// A YAML block of the README that opens with an example's title line
	// is that example, whole.
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	blocks := strings.Split(string(readme), "```yaml\n")[1:]
	for _, f := range files {
		body, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		title, _, _ := strings.Cut(string(body), "\n")
		for _, b := range blocks {
			b, _, _ = strings.Cut(b, "```")
			if strings.HasPrefix(b, title+"\n") && b != string(body) {
				t.Errorf("README's copy of %s differs from the file", f)
			}
		}
	}
}

// 64 calls in flight against a server that allows 10 streams per
// connection: one connection queues 54 calls inside grpc-go, and the queue
// is latency; eight connections carry 80 streams and nothing waits. The
// server's largest in-flight count says why: 10 against 64.
func TestKnownAnswer_PoolBelowStreamLimitQueues(t *testing.T) {
	knownAnswer(t, true)
	run := runExample(t, "pool-vs-stream-limit.yaml", "load.duration=1s", "load.warmup=500ms",
		fmt.Sprintf("repeat=%d", knownAnswerRepeats))
	one, eight := matrixPoint(t, run, "pool.size=1"), matrixPoint(t, run, "pool.size=8")
	ratio := assertLower(t, "p99", "pool.size=8", measureCells(eight, cellP99), "pool.size=1", measureCells(one, cellP99), fmtMs)
	if ratio < 3 {
		t.Errorf("p99 ratio %.2f: the queue should cost several service times", ratio)
	}
	inflight := func(c *results.Cell) float64 { return float64(c.Backends[0].ServerMaxInflight) }
	assertLower(t, "server max in flight", "pool.size=1", measureCells(one, inflight), "pool.size=8", measureCells(eight, inflight), fmtNum)
	for _, c := range one {
		if n := c.Backends[0].ServerMaxInflight; n > 10 {
			t.Errorf("%s: the server saw %d calls in flight over one connection limited to 10 streams", c.ID, n)
		}
	}
}

// One backend of three slow with a long tail: least_request and
// weighted_round_robin (fed by ORCA load reports) send it a small share and
// beat round_robin's p99; pick_first sends everything to one backend and is
// flagged, never ranked.
func TestKnownAnswer_LoadAwareBalancingAvoidsSlowBackend(t *testing.T) {
	knownAnswer(t, false)
	const file = "slow-backend.yaml"
	policies := fmt.Sprintf("matrix={client.lb.policy: [%s, %s, %s]}",
		matrixValue(t, file, "client.lb.policy", 0), matrixValue(t, file, "client.lb.policy", 1), matrixValue(t, file, "client.lb.policy", 2))
	run := runExample(t, file, policies, "load.duration=1s", fmt.Sprintf("repeat=%d", knownAnswerRepeats))
	rr := matrixPoint(t, run, "lb.policy=round_robin")
	for _, p := range []string{"least_request", "weighted_round_robin"} {
		cells := matrixPoint(t, run, "lb.policy="+p)
		assertLower(t, "p99", p, measureCells(cells, cellP99), "round_robin", measureCells(rr, cellP99), fmtMs)
		assertLower(t, "slow backend's share", p, measureCells(cells, backendShare(1)), "round_robin", measureCells(rr, backendShare(1)), fmtPct)
	}

	pf := runExample(t, file, "matrix={client.lb.policy: [pick_first]}", "load.duration=1s")
	all := &results.Run{Cells: append(slices.Clone(rr), pf.Cells...)}
	s := report.Summarize(all)
	row := s.Rows[len(s.Rows)-1]
	t.Logf("pick_first: flags %q, p99 %s", row.Flags, fmtMs(cellP99(row.Cell)))
	if !slices.Contains(row.Flags, "all calls to backend 0") || slices.Contains(row.Best, true) {
		t.Errorf("pick_first: flags %q, best %v: want flagged single-backend and never best", row.Flags, row.Best)
	}
}

// An error burst on a server with little headroom: immediate retries send
// every failing call's attempts back to back inside the burst — more
// server calls per client call, and the calls still fail; exponential
// backoff with jitter lands later attempts after the burst and the calls
// succeed; when the server's pushback says when to return, one retry does,
// and the server sees fewer calls still.
func TestKnownAnswer_ImmediateRetriesAmplifyOverload(t *testing.T) {
	knownAnswer(t, true)
	const file = "retry-storm.yaml"
	run := runExample(t, file, "matrix={client.retry.policy: [immediate, exponential]}", "server.faults[2].error.pushback=null",
		fmt.Sprintf("repeat=%d", knownAnswerRepeats))
	imm, exp := matrixPoint(t, run, "retry.policy=immediate"), matrixPoint(t, run, "retry.policy=exponential")
	assertLower(t, "server calls per client call", "exponential", measureCells(exp, cellAttemptsPerCall), "immediate", measureCells(imm, cellAttemptsPerCall), fmtFrac)
	assertLower(t, "error rate", "exponential", measureCells(exp, cellErrorRate), "immediate", measureCells(imm, cellErrorRate), fmtPct)
	for _, c := range imm {
		if c.Backends[0].ServerCodes["RESOURCE_EXHAUSTED"] == 0 {
			t.Errorf("%s: immediate retries never overflowed the server's capacity", c.ID)
		}
	}
	// The amplification is on the wire: the server received every recorded
	// attempt, plus the warm-up's calls (200/s × 0.5s, before the burst:
	// one attempt each, unless the machine held a few up past capacity).
	for _, c := range append(imm, exp...) {
		if extra := int64(cellServerCalls(c)) - c.Retry.Attempts; extra < 100 || extra > 110 {
			t.Errorf("%s: server received %.0f calls for %d recorded attempts and 100 warm-up calls", c.ID, cellServerCalls(c), c.Retry.Attempts)
		}
	}

	pb := runExample(t, file, "matrix={client.retry.policy: [exponential]}",
		"server.faults[2].error.pushback="+matrixValue(t, file, "server.faults[2].error.pushback", 1),
		fmt.Sprintf("repeat=%d", knownAnswerRepeats))
	push := pb.Cells
	assertLower(t, "server calls per client call", "exponential+pushback", measureCells(push, cellAttemptsPerCall), "exponential", measureCells(exp, cellAttemptsPerCall), fmtFrac)
	if e, p := gates.Median(measureCells(exp, cellErrorRate)), gates.Median(measureCells(push, cellErrorRate)); p > e+0.01 {
		t.Errorf("pushback: error rate %s, above exponential's %s", fmtPct(p), fmtPct(e))
	}
}

// A backend stalls for 2s with a 200ms timeout: without a breaker every
// call in the window waits the whole timeout and reaches the sick server;
// with one, after a few timeouts calls fail at once without reaching it.
// p99 of the failed calls stays at the timeout in both (the calls sent
// before the breaker learnt still wait it out); their median does not.
func TestKnownAnswer_BreakerFailsFastAndSparesTheServer(t *testing.T) {
	knownAnswer(t, true)
	const file = "breaker.yaml"
	run := runExample(t, file, "load.warmup=200ms", "server.faults[0].at=700ms", "load.duration=2500ms",
		fmt.Sprintf("repeat=%d", knownAnswerRepeats))
	none, with := matrixPoint(t, run, "breaker=null"), matrixPoint(t, run, "breaker="+matrixValue(t, file, "client.breaker", 1))
	failedP50 := func(c *results.Cell) float64 { return failedQuantile(c, 0.5) }
	ratio := assertLower(t, "median latency of failed calls", "breaker", measureCells(with, failedP50), "no breaker", measureCells(none, failedP50), fmtMs)
	if ratio < 20 {
		t.Errorf("failed calls' median only %.1f× faster with a breaker", ratio)
	}
	timedOut := func(c *results.Cell) float64 { return float64(c.All.Codes["DEADLINE_EXCEEDED"]) }
	assertLower(t, "calls that waited the whole timeout", "breaker", measureCells(with, timedOut), "no breaker", measureCells(none, timedOut), fmtNum)
	assertLower(t, "calls the server received", "breaker", measureCells(with, cellServerCalls), "no breaker", measureCells(none, cellServerCalls), fmtNum)
	for _, c := range with {
		t.Logf("%s: failed p99 %s (the timeout: calls sent before the breaker opened), trips %d", c.ID, fmtMs(failedQuantile(c, 0.99)), c.Breaker.Trips)
	}
}

// The same pause (200ms every second) under an open and a closed model:
// the open model counts from when each call was due, so the ~20% of calls
// due in a pause show in its p99; one closed-model worker waits on one call
// per pause and sends nothing meanwhile, so its p99 looks healthy and only
// its lag (and max) shows the stall.
func TestKnownAnswer_ClosedModelHidesStalls(t *testing.T) {
	knownAnswer(t, true)
	const file = "coordinated-omission.yaml"
	run := runExample(t, file, fmt.Sprintf("repeat=%d", knownAnswerRepeats))
	open := matrixPoint(t, run, "load="+matrixValue(t, file, "load", 0))
	closed := matrixPoint(t, run, "load="+matrixValue(t, file, "load", 1))
	ratio := assertLower(t, "p99", "closed", measureCells(closed, cellP99), "open", measureCells(open, cellP99), fmtMs)
	if ratio < 10 {
		t.Errorf("open p99 only %.1f× the closed one", ratio)
	}
	for _, c := range closed {
		if lag := c.Load.MaxLag; lag < 150*time.Millisecond {
			t.Errorf("%s: closed model's lag %s does not show the 200ms pause", c.ID, lag)
		}
	}
	t.Logf("closed lag: %s", formatAll(measureCells(closed, func(c *results.Cell) float64 { return c.Load.MaxLag.Seconds() }), fmtMs))
}

// A backend with a lognormal tail (median 10ms, p99 500ms): a hedge after
// 100ms (about the p92) cuts the p99 about threefold, for about one hedge
// in twelve calls; every hedge is an extra call at the server.
func TestKnownAnswer_HedgingCutsTheTail(t *testing.T) {
	knownAnswer(t, false)
	const file = "hedging.yaml"
	run := runExample(t, file, "load.warmup=500ms", "load.duration=1500ms", fmt.Sprintf("repeat=%d", knownAnswerRepeats))
	none, hedged := matrixPoint(t, run, "hedging=null"), matrixPoint(t, run, "hedging="+matrixValue(t, file, "client.hedging", 1))
	ratio := assertLower(t, "p99", "hedging", measureCells(hedged, cellP99), "no hedging", measureCells(none, cellP99), fmtMs)
	if ratio < 2 {
		t.Errorf("hedging cut p99 only %.2f×", ratio)
	}
	extra := measureCells(hedged, func(c *results.Cell) float64 { return float64(c.Hedging.Hedges) / float64(c.Hedging.Calls) })
	t.Logf("extra load: hedges per call %s (median %s)", formatAll(extra, fmtPct), fmtPct(gates.Median(extra)))
	// The stated price: about the share of calls slower than the hedging
	// delay (8%). Judged on the median: a cell the machine held up for
	// 100ms sends a hedge for every call in flight then.
	if m := gates.Median(extra); m < 0.04 || m > 0.15 {
		t.Errorf("median %s hedges per call, want about 8%% (hedging_delay near the p92)", fmtPct(m))
	}
	for _, c := range hedged {
		if c.Hedging.ServerExtra < c.Hedging.Hedges/2 {
			t.Errorf("%s: %d hedges but %d extra calls at the server", c.ID, c.Hedging.Hedges, c.Hedging.ServerExtra)
		}
	}
}

// One backend of three fails every call: outlier ejection takes it out of
// the rotation within a couple of intervals and the errors stop; a breaker
// over the whole client, not knowing which backend fails, opens for
// everyone and keeps reopening.
func TestKnownAnswer_EjectionBeatsBreakerOnOneBadBackend(t *testing.T) {
	knownAnswer(t, true)
	const file = "ejection-vs-breaker.yaml"
	timing := []string{"load.warmup=500ms", "server.faults[0].at=1s", "load.duration=2s", fmt.Sprintf("repeat=%d", knownAnswerRepeats)}
	br := runExample(t, file, append([]string{"matrix={client.breaker: [" + matrixValue(t, file, "client.breaker", 1) + "]}"}, timing...)...)
	ej := runExample(t, file, append([]string{"matrix={client.lb.outlier_detection: [" + matrixValue(t, file, "client.lb.outlier_detection", 1) + "]}"}, timing...)...)
	ratio := assertLower(t, "error rate", "ejection", measureCells(ej.Cells, cellErrorRate), "breaker", measureCells(br.Cells, cellErrorRate), fmtPct)
	if ratio < 3 {
		t.Errorf("ejection's error rate only %.1f× below the breaker's", ratio)
	}
	for _, c := range ej.Cells {
		first := -1.0
		for _, e := range c.Ejections {
			if e.Kind == "eject" {
				first = e.At.Seconds()
				break
			}
		}
		t.Logf("%s: backend 0 ejected at %.2fs (failing from 0.50s)", c.ID, first)
		if first < 0 {
			t.Errorf("%s: backend 0 never ejected", c.ID)
		}
	}
	for _, c := range br.Cells {
		t.Logf("%s: %d breaker trips", c.ID, c.Breaker.Trips)
	}
}

// server.events remove backend 1 and add backend 3 one second into the
// recorded phase. With file discovery the client follows: backend 1's
// attempts are 0 from the next second on and backend 3 takes its share;
// with the static list it started with, backend 3 never gets a call.
func TestKnownAnswer_DiscoveryFollowsChurn(t *testing.T) {
	knownAnswer(t, true)
	const file = "discovery-churn.yaml"
	list := t.TempDir() + "/backends.txt"
	run := runExample(t, file, "matrix={client.discovery: [{source: static}, {source: file, file: "+list+"}]}", "repeat=4")
	static, watched := matrixPoint(t, run, "discovery={source: static}"), matrixPoint(t, run, "discovery={source: file, file: "+list+"}")
	// Seconds 0 and 1 hold the change (at 1.00s); from second 2 on the
	// client must have followed it.
	for _, c := range watched {
		if len(c.Membership) != 2 {
			t.Fatalf("%s: membership changes %+v", c.ID, c.Membership)
		}
		removed, added := c.Membership[0].Removed[0], c.Membership[1].Added[0]
		for _, s := range c.BackendSeries {
			t.Logf("%s: second %d: removed %d, added %d", c.ID, s.T, s.Calls[removed], s.Calls[added])
			if s.T >= 2 && (s.Calls[removed] != 0 || s.Calls[added] == 0) {
				t.Errorf("%s second %d: removed backend %d calls, added backend %d", c.ID, s.T, s.Calls[removed], s.Calls[added])
			}
		}
		for _, b := range c.Backends {
			if b.ClientCalls != b.ServerCalls {
				t.Errorf("%s %s: client counted %d attempts, server %d calls", c.ID, b.Addr, b.ClientCalls, b.ServerCalls)
			}
		}
	}
	assertLower(t, "added backend's share", "static", measureCells(static, backendShare(3)), "file", measureCells(watched, backendShare(3)), fmtPct)
}
