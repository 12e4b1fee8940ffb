package scenarios_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/grpcbench/grpcbench/fakeserver"
	"github.com/grpcbench/grpcbench/results"
	"github.com/grpcbench/grpcbench/scenarios"
)

// The soak (make soak; never part of make test): one long open-model cell
// of all four call patterns against three fake backends under a fault
// schedule that repeats every minute, printing the process's RSS and
// goroutine count every 30 s and the accounting identities at the end.
//
// GRPCBENCH_SOAK is the load's duration (make soak: 10m; at least 1m);
// the test is skipped without it. GRPCBENCH_SOAK_RATE is the arrival rate
// (default 2000 calls/s: a fifth of what one core of this machine class
// holds for unary calls, so the streams and the faults' retries and
// reconnections fit beside the fake server with room to spare).
//
// It fails when an identity does not hold (see audit), when RSS at the
// last sample exceeds 1.1 × RSS at the first after one whole fault cycle,
// or when goroutines are left once the run and the servers have stopped
// (an exact count). The goroutine count while the load runs moves with
// the calls in flight (each stream holds a few); it is printed with them,
// and its ratio end/start, but not judged. GRPCBENCH_SOAK_HEAP=dir writes a heap profile at every
// sample. Run it without -race: the race detector's shadow memory
// would be what it measures.

const soakSample = 30 * time.Second

// soakFaults repeat every minute (times on the cluster's clock, which
// starts just before the load): backend 0 down for 5 s, backend 1's
// connections killed, a 500 ms stop-the-world pause on every backend, an
// error burst (half the calls UNAVAILABLE for 5 s); backend 2 sends
// GOAWAY to every connection after 15 s (±10 %) and closes it 2 s later.
// The samples (every 30 s) fall between the windows.
const soakFaults = `
- {backend: 0, down: {at: 5s, every: 60s, for: 5s}}
- {backend: 1, kill: {at: 20s, every: 60s}}
- {pause: {at: 35s, every: 60s, for: 500ms}}
- {error: {code: UNAVAILABLE, rate: 0.5}, at: 45s, every: 60s, for: 5s}
- {backend: 2, goaway: {max_connection_age: 15s, grace: 2s}}
`

func soakScenario(addrs []string, rate int, d time.Duration) string {
	return fmt.Sprintf(`
name: soak
seed: 16
server: {targets: [%s]}
load: {model: open, rate: %d, max_inflight: 512, duration: %s}
mix:
  - {call: GetUser, weight: 7}
  - {call: ListUsers, messages: 10}
  - {call: BatchCreateUsers, messages: 5}
  - {call: SyncUsers, messages: 5}
client:
  timeout: 2s
  pool: {size: 4}
  conn: {connect_backoff: {base_delay: 100ms, max_delay: 1s}}
  retry: {policy: exponential, max_attempts: 3, base_delay: 10ms, max_delay: 200ms, jitter: 0.2, codes: [UNAVAILABLE]}
  breaker: {failure_ratio: 0.5, min_requests: 100, window: 5s, open_for: 1s, half_open_probes: 5}
`, strings.Join(addrs, ", "), rate, d)
}

// soakPoint is one sample of the process.
type soakPoint struct {
	at         time.Duration
	rss        int64
	heap       uint64 // runtime.MemStats.HeapInuse
	stacks     uint64 // runtime.MemStats.StackInuse
	goroutines int
	inflight   int64 // calls in flight in the client stack (-1: unknown)
	calls      int64
	errors     int64
}

// soakView is what the sampler sees of the running cell: the recorder's
// live counters (from Progress ticks) and the stack's gauges (from
// Observe, until the cell is done).
type soakView struct {
	mu    sync.Mutex
	live  results.LiveSnapshot
	stack func() scenarios.StackGauges
}

func (v *soakView) options() scenarios.Options {
	return scenarios.Options{
		Progress: func(ev scenarios.Event) {
			if ev.Kind == "tick" {
				v.mu.Lock()
				v.live = ev.Live
				v.mu.Unlock()
			}
		},
		Observe: func(w scenarios.Watch) func(*results.Cell) {
			v.mu.Lock()
			v.stack = w.Stack
			v.mu.Unlock()
			return func(*results.Cell) {
				v.mu.Lock()
				v.stack = nil
				v.mu.Unlock()
			}
		},
	}
}

// read fills p's calls, errors and calls in flight.
func (v *soakView) read(p *soakPoint) {
	v.mu.Lock()
	defer v.mu.Unlock()
	p.calls, p.errors, p.inflight = v.live.Calls, v.live.Errors, -1
	if v.stack != nil {
		p.inflight = v.stack().InFlight
	}
}

func TestSoak(t *testing.T) {
	d, rate := soakConfig(t)
	before := runtime.NumGoroutine()
	cfg, err := fakeserver.Parse("soak-faults.yaml", []byte(soakFaults), func(c *fakeserver.Config) {
		// A store of 1,000 users a backend fills in the first seconds:
		// the fake server's memory is flat before the first sample.
		c.Backends, c.Seed, c.StoreSize = 3, 16, 1000
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), d+2*time.Minute)
	defer cancel()
	cl, err := fakeserver.Start(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	sp, err := scenarios.Parse(ctx, "soak.yaml", []byte(soakScenario(cl.Addrs(), rate, d)))
	if err != nil {
		cl.Stop()
		t.Fatal(err)
	}
	view := &soakView{}
	stopSampling := sampleSoak(t, d, view)
	run, err := scenarios.Run(ctx, sp, view.options())
	pts := stopSampling()
	cl.Stop()
	if err != nil {
		t.Errorf("run: %v", err)
	}
	if run == nil || len(run.Cells) != 1 || run.Cells[0].All == nil {
		t.Fatalf("no results")
	}
	a := &audit{mode: "wrapper", breaker: true, lossy: true, rc: run.Cells[0], server: cl.Stats()}
	a.check()
	logSoakBooks(t, a)
	for _, v := range a.violations {
		t.Errorf("identity: %s", v)
	}
	checkSoakPoints(t, pts)
	// Everything the run and the servers started has ended.
	deadline := time.Now().Add(10 * time.Second)
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > before {
		t.Errorf("%d goroutines after the run, %d before", n, before)
	} else {
		t.Logf("goroutines: %d before the run, %d after", before, n)
	}
}

func soakConfig(t *testing.T) (time.Duration, int) {
	v := os.Getenv("GRPCBENCH_SOAK")
	if v == "" {
		t.Skip("the soak runs with GRPCBENCH_SOAK=<duration> (make soak)")
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < time.Minute {
		t.Fatalf("GRPCBENCH_SOAK=%q: want a duration of at least 1m", v)
	}
	rate := 2000
	if v := os.Getenv("GRPCBENCH_SOAK_RATE"); v != "" {
		if rate, err = strconv.Atoi(v); err != nil || rate < 1 {
			t.Fatalf("GRPCBENCH_SOAK_RATE=%q: want calls/s", v)
		}
	}
	t.Logf("soak: %v at %d calls/s, GOMAXPROCS %d", d, rate, runtime.GOMAXPROCS(0))
	return d, rate
}

// sampleSoak samples the process every soakSample while the load runs
// (the last at least 5 s before its end), logging each. Before each reading the
// garbage is collected and returned to the OS, so RSS is what the run
// retains. stop ends the sampling and returns the samples.
func sampleSoak(t *testing.T, d time.Duration, view *soakView) (stop func() []soakPoint) {
	var (
		mu   sync.Mutex
		pts  []soakPoint
		done = make(chan struct{})
		wg   sync.WaitGroup
	)
	start := time.Now()
	var at []time.Duration
	for k := soakSample; k <= d-5*time.Second; k += soakSample {
		at = append(at, k)
	}
	if len(at) < 2 { // a short check run: one more sample near the end
		at = append(at, d-5*time.Second)
	}
	wg.Go(func() {
		timer := time.NewTimer(time.Hour)
		defer timer.Stop()
		for _, when := range at {
			timer.Reset(time.Until(start.Add(when)))
			select {
			case <-done:
				return
			case <-timer.C:
			}
			runtime.GC()
			debug.FreeOSMemory()
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			p := soakPoint{at: time.Since(start), rss: processRSS(), heap: ms.HeapInuse, stacks: ms.StackInuse,
				goroutines: runtime.NumGoroutine()}
			view.read(&p)
			t.Logf("t=%4.0fs  RSS %6.1f MiB (heap %5.1f, stacks %4.1f)  goroutines %4d (calls in flight %4d)  calls %9d  errors %7d",
				p.at.Seconds(), mib(p.rss), mib(int64(p.heap)), mib(int64(p.stacks)), p.goroutines, p.inflight, p.calls, p.errors)
			if dir := os.Getenv("GRPCBENCH_SOAK_HEAP"); dir != "" {
				writeHeap(t, filepath.Join(dir, fmt.Sprintf("heap-%04.0fs.pprof", p.at.Seconds())))
			}
			mu.Lock()
			pts = append(pts, p)
			mu.Unlock()
		}
	})
	return func() []soakPoint {
		close(done)
		wg.Wait()
		mu.Lock()
		defer mu.Unlock()
		return pts
	}
}

// checkSoakPoints compares the last sample with the first after one whole
// fault cycle (60 s: every fault has acted once, so buffers and pools have
// reached their working size), or with the very first in a run too short
// for that.
func checkSoakPoints(t *testing.T, pts []soakPoint) {
	if len(pts) < 2 {
		t.Errorf("%d samples; want at least 2", len(pts))
		return
	}
	first, last := pts[0], pts[len(pts)-1]
	for _, p := range pts[:len(pts)-1] {
		if p.at >= time.Minute-time.Second {
			first = p
			break
		}
	}
	rss := float64(last.rss) / float64(first.rss)
	g := float64(last.goroutines) / float64(first.goroutines)
	t.Logf("end/start (t=%.0fs / t=%.0fs): RSS %.3f (%.1f → %.1f MiB), goroutines %.3f (%d → %d; calls in flight %d → %d)",
		last.at.Seconds(), first.at.Seconds(), rss, mib(first.rss), mib(last.rss),
		g, first.goroutines, last.goroutines, first.inflight, last.inflight)
	if rss > 1.1 {
		t.Errorf("RSS grew %.3f× from the first sample to the last; want ≤ 1.1", rss)
	}
}

// logSoakBooks prints the cell's accounting identities, client and server
// side.
func logSoakBooks(t *testing.T, a *audit) {
	rc, bk := a.rc, a.books
	l := rc.Load
	var b strings.Builder
	fmt.Fprintf(&b, "identities at the end:\n")
	fmt.Fprintf(&b, "  scheduled %d = sent %d + dropped %d; completed %d (= sent); achieved %.1f calls/s, max lag %v\n",
		l.Scheduled, l.Sent, l.Dropped, l.Completed, l.AchievedRate, l.MaxLag.Round(time.Millisecond))
	fmt.Fprintf(&b, "  calls %d = Σ codes %s; errors %d\n", rc.All.Calls, countList(rc.All.Codes), rc.All.Errors)
	fmt.Fprintf(&b, "  retry: calls %d, attempts %d, retried %d, gave up %d; breaker: trips %d, refused %d, open %v\n",
		rc.Retry.Calls, rc.Retry.Attempts, rc.Retry.Retried, rc.Retry.GaveUp, rc.Breaker.Trips, rc.Breaker.Rejections,
		rc.Breaker.TimeOpen.Round(time.Millisecond))
	fmt.Fprintf(&b, "  attempts %d = refused %d + unlanded %d + landed %d; landed = lost %d + server calls %d (arrived %d)\n",
		bk.made, bk.refused, bk.unlanded(), bk.landed, bk.lost(), bk.serverCalls, bk.arrived)
	fmt.Fprintf(&b, "  server OK %d ≥ client OK %d; slack %d\n", bk.serverOK, bk.clientOK, bk.slack())
	for _, sb := range a.server.Backends {
		var c int64
		for _, cb := range rc.Backends {
			if cb.Addr == sb.Addr {
				c = cb.ClientCalls
			}
		}
		fmt.Fprintf(&b, "  backend %d: client %d, arrived %d, handled %d, codes %s, faults %s, connections %d\n",
			sb.Index, c, sumCounts(sb.Arrived), sb.TotalCalls(), countList(sb.Codes), countList(sb.Faults), sb.ConnectionsTotal)
	}
	if len(a.exceptions) > 0 {
		fmt.Fprintf(&b, "  explained by the faults: %s\n", strings.Join(a.exceptions, "; "))
	}
	t.Log(b.String())
}

func mib(n int64) float64 { return float64(n) / (1 << 20) }

// writeHeap writes a heap profile (GRPCBENCH_SOAK_HEAP=dir: one per
// sample, to see what grows).
func writeHeap(t *testing.T, path string) {
	f, err := os.Create(path)
	if err == nil {
		err = errors.Join(pprof.Lookup("heap").WriteTo(f, 0), f.Close())
	}
	if err != nil {
		t.Errorf("heap profile: %v", err)
	}
}

// processRSS is the process's resident set size (0 when unknown).
func processRSS() int64 {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for line := range strings.SplitSeq(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			if f := strings.Fields(rest); len(f) > 0 {
				kb, _ := strconv.ParseInt(f[0], 10, 64)
				return kb << 10
			}
		}
	}
	return 0
}
