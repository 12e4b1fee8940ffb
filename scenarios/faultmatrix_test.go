package scenarios_test

import (
	"context"
	"errors"
	"fmt"
	"runtime/pprof"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/grpcbench/grpcbench/fakeserver"
	"github.com/grpcbench/grpcbench/scenarios"
)

// The fault matrix: every fault kind of the fake server × the four call
// patterns of the built-in UserService × {wrapper retry, native retry, no
// retry} × {breaker, none}, one short open-model cell each, run through the
// runner's public API (Parse, Run) against a fake server cluster the test
// starts itself, so that the server's full counters — including Arrived,
// which the runner's results do not carry — are read after each cell.
//
// Each cell must end within its duration + its call timeout + matrixGrace
// and keep the accounting identities (see audit and books). After the
// whole matrix no goroutine is left (goleak.VerifyNone here, and
// VerifyTestMain for the package). The test log has the table of cells
// and, per cell, the figures the identities were checked on.

// Cell sizing: 2 backends, 150 calls/s for 400 ms (60 calls), a 1 s call
// timeout, 3 cells at a time: small enough for a loaded 2-core machine
// under -race, where a shorter timeout or more cells at once let calls run
// out of time for want of CPU. Fault windows are on the cluster's clock,
// which starts a few milliseconds before the cell's schedule.
const (
	matrixRate     = 150
	matrixDuration = 400 * time.Millisecond
	matrixTimeout  = time.Second
	// matrixGrace is what a cell may take beyond duration + timeout: its
	// set-up (dial, probe), tear-down and the scheduling noise of a loaded
	// 2-core machine under -race. (An arrival queued behind max_inflight
	// may start after the schedule ended and then take a whole timeout:
	// TestOpenModelCellEndsWithinDurationPlusTimeout. No matrix cell
	// holds all 32 workers long enough for that.)
	matrixGrace = time.Second
	// matrixParallel cells run at once: most of a cell's time is spent
	// waiting on timers, stalls and pauses, not on the CPU.
	matrixParallel = 3
)

// matrixPatterns are the four call patterns, as mix entries.
var matrixPatterns = []struct{ name, mix string }{
	{"unary", "{call: GetUser}"},
	{"server_stream", "{call: ListUsers, messages: 3}"},
	{"client_stream", "{call: BatchCreateUsers, messages: 3}"},
	{"bidi", "{call: SyncUsers, messages: 3}"},
}

var matrixModes = []string{"wrapper", "native", "none"}

// matrixFault is how one fault kind is injected in a cell: the fake
// server's faults (YAML list) and what the client needs for the fault to
// have an effect (merged into client:).
type matrixFault struct {
	faults string
	client string
}

// matrixFaults has one entry per fakeserver.Kinds (TestFaultMatrix fails
// when a kind is added without one).
var matrixFaults = map[fakeserver.Kind]matrixFault{
	// A heavy tail on calls and on every stream message: some calls outlive
	// the 1 s timeout.
	fakeserver.KindLatency: {faults: "[{latency: {dist: pareto, min: 2ms, alpha: 0.6, per: both}}]"},
	fakeserver.KindError:   {faults: "[{error: {code: UNAVAILABLE, rate: 0.3}}]"},
	// After one message: server streams and bidi are committed (a reply
	// arrived) and cannot be retried; a client stream has had no reply and
	// can. A unary call has no message and is never aborted.
	fakeserver.KindAbort: {faults: "[{abort: {after: 1, code: ABORTED, rate: 0.3}}]"},
	fakeserver.KindStall: {faults: "[{stall: {rate: 0.1}}]"},
	fakeserver.KindPause: {faults: "[{pause: {every: 200ms, for: 60ms}}]"},
	// Every connection is told to go away 150 ms after it opened (±10 %)
	// and closed 50 ms later. (Shorter ages make -race runs on a loaded
	// machine spend the cell reconnecting: calls then run out of time.)
	fakeserver.KindGoAway: {faults: "[{goaway: {max_connection_age: 150ms, grace: 50ms}}]"},
	// Kill and down start late enough on the cluster's clock for the
	// runner's probe (which must reach every backend before load) to be
	// done even on a loaded machine; they fall in the cell's load.
	fakeserver.KindKill:     {faults: "[{backend: 0, kill: {at: 200ms, every: 100ms}}]"},
	fakeserver.KindDown:     {faults: "[{backend: 0, down: {at: 250ms, for: 100ms}}]"},
	fakeserver.KindCapacity: {faults: "[{capacity: {max_inflight: 1, max_concurrent_streams: 2}}]"},
	// The server tolerates one ping an hour. grpc-go raises a client's
	// keepalive time to at least 10 s, so no cell this short can provoke
	// GOAWAY too_many_pings: this cell checks the enforcement policy's
	// server option disturbs nothing.
	fakeserver.KindKeepalive: {faults: "[{keepalive: {min_time: 1h}}]",
		client: "conn: {keepalive: {time: 10s, permit_without_stream: true}, connect_backoff: {base_delay: 20ms, max_delay: 100ms}}"},
	// Client-side health checking moves calls off backend 0 while it says
	// NOT_SERVING.
	fakeserver.KindHealth: {faults: "[{backend: 0, health: {status: NOT_SERVING, at: 100ms, for: 150ms}}]",
		client: "lb: {policy: round_robin, health_check: true}"},
	// Backend 0 reports itself ten times as loaded as backend 1, which
	// weighted_round_robin reads from per-call ORCA trailers.
	fakeserver.KindORCA: {faults: "[{backend: 0, orca: {utilization: 0.9}}, {backend: 1, orca: {utilization: 0.09}}]",
		client: "lb: {policy: weighted_round_robin, blackout_period: 0s, weight_update_period: 100ms}"},
}

// matrixCell is one point of the matrix.
type matrixCell struct {
	kind    fakeserver.Kind
	pattern int // index in matrixPatterns
	mode    string
	breaker bool
}

func (c matrixCell) String() string {
	b := "nobreaker"
	if c.breaker {
		b = "breaker"
	}
	return fmt.Sprintf("%s/%s/%s/%s", c.kind, matrixPatterns[c.pattern].name, c.mode, b)
}

// scenario renders the cell's scenario against the given backends.
func (c matrixCell) scenario(addrs []string) string {
	f := matrixFaults[c.kind]
	var b strings.Builder
	fmt.Fprintf(&b, "name: faultmatrix\nseed: 7\nserver: {targets: [%s]}\n", strings.Join(addrs, ", "))
	fmt.Fprintf(&b, "load: {model: open, rate: %d, max_inflight: 32, duration: %s}\n", matrixRate, matrixDuration)
	fmt.Fprintf(&b, "mix: [%s]\n", matrixPatterns[c.pattern].mix)
	fmt.Fprintf(&b, "client:\n  timeout: %s\n  pool: {size: 2}\n", matrixTimeout)
	client := f.client
	if !strings.Contains(client, "conn:") {
		b.WriteString("  conn: {connect_backoff: {base_delay: 20ms, max_delay: 100ms}}\n")
	}
	if client != "" {
		b.WriteString("  " + client + "\n")
	}
	if c.mode != "none" {
		fmt.Fprintf(&b, "  retry: {policy: exponential, max_attempts: 3, base_delay: 5ms, max_delay: 20ms, "+
			"codes: [UNAVAILABLE, ABORTED, RESOURCE_EXHAUSTED], mode: %s}\n", c.mode)
	}
	if c.breaker {
		b.WriteString("  breaker: {failure_threshold: 5, open_for: 100ms, half_open_probes: 2}\n")
	}
	return b.String()
}

// matrixOutcome is what one cell did and what was wrong with it.
type matrixOutcome struct {
	audit
	cell matrixCell
	wall time.Duration // Progress "start" to "done": set-up, load, tear-down
}

func TestFaultMatrix(t *testing.T) {
	if testing.Short() {
		t.Skip("the fault matrix takes about a minute")
	}
	for _, k := range fakeserver.Kinds {
		if _, ok := matrixFaults[k]; !ok {
			t.Fatalf("fault kind %q has no entry in matrixFaults", k)
		}
	}
	start := time.Now()
	var all []*matrixOutcome
	for _, k := range fakeserver.Kinds {
		t.Run(string(k), func(t *testing.T) {
			var cells []matrixCell
			for p := range matrixPatterns {
				for _, m := range matrixModes {
					for _, br := range []bool{false, true} {
						cells = append(cells, matrixCell{kind: k, pattern: p, mode: m, breaker: br})
					}
				}
			}
			outs := runMatrixCells(t, cells)
			for _, o := range outs {
				for _, v := range o.violations {
					t.Errorf("%s: %s", o.cell, v)
				}
			}
			all = append(all, outs...)
		})
	}
	logMatrixTable(t, all)
	t.Logf("fault matrix: %d cells in %v", len(all), time.Since(start).Round(time.Millisecond))
	// Every cell's cluster and client stack is closed: nothing may be left.
	goleak.VerifyNone(t)
}

// runMatrixCells runs cells, matrixParallel at a time, and checks each.
func runMatrixCells(t *testing.T, cells []matrixCell) []*matrixOutcome {
	outs := make([]*matrixOutcome, len(cells))
	sem := make(chan struct{}, matrixParallel)
	var wg sync.WaitGroup
	for i, c := range cells {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			outs[i] = runMatrixCell(c)
		})
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	// A cell that ignores even the cancellation of its context (below) is
	// a hang: show where everything is and stop.
	hang := time.NewTimer(time.Duration(len(cells)) * (matrixDuration + matrixTimeout + matrixGrace + 10*time.Second))
	defer hang.Stop()
	select {
	case <-done:
	case <-hang.C:
		var b strings.Builder
		_ = pprof.Lookup("goroutine").WriteTo(&b, 1)
		t.Fatalf("cells did not return; goroutines:\n%s", b.String())
	}
	return outs
}

// runMatrixCell starts a 2-backend fake server with the cell's fault, runs
// the cell's scenario against it and checks the outcome.
func runMatrixCell(c matrixCell) *matrixOutcome {
	o := &matrixOutcome{cell: c, audit: audit{mode: c.mode, breaker: c.breaker, lossy: c.lossy()}}
	fail := o.fail
	cfg, err := fakeserver.Parse("faults.yaml", []byte(matrixFaults[c.kind].faults), func(cfg *fakeserver.Config) {
		cfg.Backends, cfg.Seed = 2, 7
	})
	if err != nil {
		fail("fault config: %v", err)
		return o
	}
	// The context ends a cell that overran by far: the runner then stops
	// within about a second and marks it partial (a violation below).
	bound := matrixDuration + matrixTimeout + matrixGrace
	ctx, cancel := context.WithTimeout(context.Background(), bound+5*time.Second)
	defer cancel()
	cl, err := fakeserver.Start(ctx, cfg)
	if err != nil {
		fail("fake server: %v", err)
		return o
	}
	addrs := cl.Addrs()
	sp, err := scenarios.Parse(ctx, "faultmatrix.yaml", []byte(c.scenario(addrs)))
	if err != nil {
		cl.Stop()
		fail("scenario: %v", err)
		return o
	}
	var began time.Time
	run, err := scenarios.Run(ctx, sp, scenarios.Options{Progress: func(ev scenarios.Event) {
		switch ev.Kind {
		case "start":
			began = time.Now()
		case "done":
			o.wall = time.Since(began)
		}
	}})
	cl.Stop() // waits for every handler: the server's counters are final
	o.server = cl.Stats()
	if run == nil || len(run.Cells) != 1 {
		fail("run returned no cell: %v", err)
		return o
	}
	o.rc = run.Cells[0]
	// A cell in which no call succeeded is a valid outcome of a fault (the
	// runner reports it as ErrCellFailed, results intact): its books must
	// still balance. Any other failure — a partial cell, a set-up error —
	// is a violation.
	switch {
	case err == nil:
	case errors.Is(err, scenarios.ErrCellFailed) && strings.HasPrefix(o.rc.Error, "no call succeeded") && !o.rc.Partial:
		o.exceptions = append(o.exceptions, o.rc.Error)
	default:
		fail("run: %v (cell partial %v)", err, o.rc.Partial)
	}
	if o.wall > bound {
		fail("took %v, more than duration %v + timeout %v + grace %v", o.wall, matrixDuration, matrixTimeout, matrixGrace)
	}
	o.check()
	if why := c.unexercised(o.server); why != "" {
		fail("the fault did not act: %s", why)
	}
	return o
}

// lossy reports whether the cell's fault closes connections under calls in
// flight: kill (RST on every connection of backend 0), down (its listener
// closed and its connections dropped) and goaway (every connection closed
// 50 ms after its GOAWAY, whatever still runs on it). An attempt whose
// headers the client wrote to such a connection may never reach the
// server's transport, or reach it without its handler ever running; an
// attempt picked as the connection goes may fail in the client before it
// lands anywhere.
func (c matrixCell) lossy() bool {
	return c.kind == fakeserver.KindKill || c.kind == fakeserver.KindDown || c.kind == fakeserver.KindGoAway
}

// unexercised says why the cell's fault did not act, for the kinds whose
// effect the server counts and that must act in every cell; "" if it did
// (or cannot be told: health, orca and keepalive leave no count, and a
// capacity limit of one call in flight may never be reached by unary
// calls at this rate).
func (c matrixCell) unexercised(st fakeserver.Stats) string {
	var conns int64
	for _, b := range st.Backends {
		conns += b.ConnectionsTotal
	}
	key := ""
	switch c.kind {
	case fakeserver.KindLatency, fakeserver.KindStall, fakeserver.KindPause, fakeserver.KindKill, fakeserver.KindDown:
		key = string(c.kind)
	case fakeserver.KindError:
		key = "error/UNAVAILABLE"
	case fakeserver.KindAbort:
		if matrixPatterns[c.pattern].name != "unary" {
			key = "abort/ABORTED"
		}
	case fakeserver.KindGoAway:
		// The probe's connection and the pool's two connections to each
		// backend are 6; every one is replaced after 150 ms.
		if conns <= 6 {
			return fmt.Sprintf("%d connections accepted: none was replaced", conns)
		}
	}
	if key != "" && st.Fault(key) == 0 {
		return fmt.Sprintf("no %s fault counted by the server", key)
	}
	return ""
}

// logMatrixTable prints the cells: one row per kind × pattern, one column
// per mode × breaker, "ok" or what failed.
func logMatrixTable(t *testing.T, outs []*matrixOutcome) {
	var b strings.Builder
	fmt.Fprintf(&b, "\n%-10s %-14s", "kind", "pattern")
	var cols []string
	for _, m := range matrixModes {
		for _, br := range []string{"nobreaker", "breaker"} {
			cols = append(cols, m+"/"+br)
		}
	}
	for _, c := range cols {
		fmt.Fprintf(&b, " %-17s", c)
	}
	b.WriteString("\n")
	row := ""
	for _, o := range outs {
		if o == nil {
			continue
		}
		r := fmt.Sprintf("%-10s %-14s", o.cell.kind, matrixPatterns[o.cell.pattern].name)
		if r != row {
			if row != "" {
				b.WriteString("\n")
			}
			b.WriteString(r)
			row = r
		}
		v := "ok"
		if len(o.violations) > 0 {
			v = fmt.Sprintf("FAIL(%d)", len(o.violations))
		} else if len(o.exceptions) > 0 {
			v = "ok*"
		}
		fmt.Fprintf(&b, " %-17s", v)
	}
	var ok, noted, failed int
	var over time.Duration
	for _, o := range outs {
		switch {
		case o == nil:
		case len(o.violations) > 0:
			failed++
		case len(o.exceptions) > 0:
			noted++
		default:
			ok++
		}
		if o != nil {
			over = max(over, o.wall-matrixDuration-matrixTimeout)
		}
	}
	fmt.Fprintf(&b, "\n\n%d cells: %d ok, %d ok* (client and server differ as the fault explains; see below), %d FAIL; "+
		"longest cell ended %v after duration + timeout (grace %v)",
		len(outs), ok, noted, failed, over.Round(time.Millisecond), matrixGrace)
	logMatrixCells(&b, outs)
	t.Log(b.String())
}

// logMatrixCells writes, per cell, the figures its books were checked on.
func logMatrixCells(b *strings.Builder, outs []*matrixOutcome) {
	b.WriteString("\n\nper cell: wall; scheduled/sent/dropped; calls, errors and codes; retry attempts; breaker trips/refusals;\n" +
		"per backend: attempts landed (client) / arrived / handled (server); connections accepted; faults injected; exceptions\n")
	for _, o := range outs {
		if o == nil || o.rc == nil || o.rc.All == nil {
			continue
		}
		rc := o.rc
		var per []string
		var conns int64
		faults := map[string]int64{}
		for _, sb := range o.server.Backends {
			var c int64
			for _, cb := range rc.Backends {
				if cb.Addr == sb.Addr {
					c = cb.ClientCalls
				}
			}
			per = append(per, fmt.Sprintf("%d/%d/%d", c, sumCounts(sb.Arrived), sb.TotalCalls()))
			conns += sb.ConnectionsTotal
			for k, n := range sb.Faults {
				faults[k] += n
			}
		}
		fmt.Fprintf(b, "%-40s %5v %d/%d/%d calls %d err %d %s att %d br %d/%d be %s conns %d faults %s %s\n",
			o.cell, o.wall.Round(time.Millisecond), rc.Load.Scheduled, rc.Load.Sent, rc.Load.Dropped,
			rc.All.Calls, rc.All.Errors, countList(rc.All.Codes), rc.Retry.Attempts, rc.Breaker.Trips, rc.Breaker.Rejections,
			strings.Join(per, " "), conns, countList(faults), strings.Join(o.exceptions, "; "))
	}
}
