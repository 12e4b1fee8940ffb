package main

import (
	"fmt"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/grpcbench/grpcbench/fakeserver"
	"github.com/grpcbench/grpcbench/internal/testserver"
	"github.com/grpcbench/grpcbench/results"
)

// The benchmarks here measure wall-clock behaviour of separate processes:
// run them once (-benchtime 1x) on a quiet machine, with `make
// bench-shards`. Their size comes from the environment:
// GRPCBENCH_BENCH_RATE (total calls/s; without it they skip, so that `make
// bench` does not run them), GRPCBENCH_BENCH_DURATION (recorded phase of
// each run, default 20s) and GRPCBENCH_BENCH_PAIRS (off/on pairs of
// BenchmarkMetricsOverhead, default 8). Every run targets one fake server in
// the benchmark's process.

// benchSize returns the rate, duration and pairs from the environment.
func benchSize(b *testing.B) (rate int, dur time.Duration, pairs int) {
	b.Helper()
	if os.Getenv("GRPCBENCH_BENCH_RATE") == "" {
		b.Skip("a wall-clock benchmark of processes: run it with make bench-shards")
	}
	get := func(name, def string) string {
		if v := os.Getenv(name); v != "" {
			return v
		}
		return def
	}
	rate, err1 := strconv.Atoi(get("GRPCBENCH_BENCH_RATE", "20000"))
	dur, err2 := time.ParseDuration(get("GRPCBENCH_BENCH_DURATION", "20s"))
	pairs, err3 := strconv.Atoi(get("GRPCBENCH_BENCH_PAIRS", "8"))
	if err1 != nil || err2 != nil || err3 != nil || rate < 1 || dur <= 0 || pairs < 1 {
		b.Fatalf("bad GRPCBENCH_BENCH_* settings: %v %v %v", err1, err2, err3)
	}
	return rate, dur, pairs
}

// benchSetup starts the fake server and writes a unary open-model
// scenario at rate against it.
func benchSetup(b *testing.B, rate int, dur time.Duration) string {
	b.Helper()
	binary(b)
	cl := testserver.Fake(b, fakeserver.Config{Backends: 1, Seed: 1})
	warmup := min(dur/10, 2*time.Second)
	sc := filepath.Join(b.TempDir(), "bench.yaml")
	body := fmt.Sprintf("name: bench-shards\nseed: 1\nserver: {target: %q}\nload: {rate: %d, max_inflight: 512, duration: %s, warmup: %s}\nmix: [{call: GetUser}]\nclient: {pool: {size: 2}}\n",
		cl.Addrs()[0], rate, dur, warmup)
	if err := os.WriteFile(sc, []byte(body), 0o644); err != nil {
		b.Fatal(err)
	}
	return sc
}

// cpuOf returns the process's user + system CPU time.
func cpuOf(p *process) time.Duration {
	return p.cmd.ProcessState.UserTime() + p.cmd.ProcessState.SystemTime()
}

// BenchmarkShards runs the total rate as 1, 2 and 4 shard processes started
// together, merges them, and reports the merged rate's error against the
// target, p50/p99, dropped arrivals and client CPU per call. It fails if
// the merged counts are not the sums of the shards' counts.
func BenchmarkShards(b *testing.B) {
	rate, dur, _ := benchSize(b)
	for _, n := range []int{1, 2, 4} {
		b.Run(fmt.Sprintf("shards=%d", n), func(b *testing.B) {
			sc := benchSetup(b, rate, dur)
			for range b.N {
				c, cpu := runShards(b, sc, n, dur)
				l := c.Load
				b.ReportMetric(100*(l.AchievedRate-float64(rate))/float64(rate), "rate_err_%")
				b.ReportMetric(float64(c.All.Latency.Quantile(0.5))/1e6, "p50_ms")
				b.ReportMetric(float64(c.All.Latency.Quantile(0.99))/1e6, "p99_ms")
				b.ReportMetric(float64(l.Dropped), "dropped")
				b.ReportMetric(float64(cpu.Microseconds())/float64(max(l.Completed, 1)), "cpu_us/call")
			}
		})
	}
}

// runShards runs n shard processes (one plain run for n = 1) and returns
// the merged cell and the processes' CPU time.
func runShards(b *testing.B, sc string, n int, dur time.Duration) (*results.Cell, time.Duration) {
	b.Helper()
	dir := b.TempDir()
	start := time.Now().Add(2 * time.Second).UTC().Format(time.RFC3339Nano)
	var procs []*process
	var files []string
	for i := range n {
		f := filepath.Join(dir, fmt.Sprintf("shard-%d.json", i))
		args := []string{"run", sc, "-q", "-o", f, "--start-at", start}
		if n > 1 {
			args = append(args, "--shard", fmt.Sprintf("%d/%d", i, n))
		}
		procs = append(procs, startProcess(b, nil, args...))
		files = append(files, f)
	}
	var cpu time.Duration
	runs := make([]*results.Run, n)
	for i, p := range procs {
		if code := p.wait(b, dur+2*time.Minute); code != exitOK {
			b.Fatalf("shard %d: exit %d\n%s", i, code, p.stderr.String())
		}
		cpu += cpuOf(p)
		r, err := results.ReadFile(files[i])
		if err != nil {
			b.Fatal(err)
		}
		runs[i] = r
	}
	m, err := results.Merge(runs...)
	if err != nil {
		b.Fatal(err)
	}
	c := m.Cells[0]
	var completed, scheduled, calls int64
	for _, r := range runs {
		completed += r.Cells[0].Load.Completed
		scheduled += r.Cells[0].Load.Scheduled
		calls += r.Cells[0].All.Latency.Count()
	}
	if c.Load.Completed != completed || c.Load.Scheduled != scheduled || c.All.Latency.Count() != calls {
		b.Fatalf("merged counts %+v, latency count %d; the shards sum to completed %d scheduled %d count %d",
			c.Load, c.All.Latency.Count(), completed, scheduled, calls)
	}
	return c, cpu
}

// BenchmarkMetricsOverhead runs one process at the total rate with
// --metrics-addr off and on, in alternating pairs (off on, on off, …, so a
// drift cancels), scraping the endpoint every second when on, and reports
// client CPU per call of each and their ratio.
func BenchmarkMetricsOverhead(b *testing.B) {
	rate, dur, pairs := benchSize(b)
	sc := benchSetup(b, rate, dur)
	for range b.N {
		var off, on []float64
		for i := range pairs {
			order := []bool{false, true}
			if i%2 == 1 {
				order = []bool{true, false}
			}
			for _, metrics := range order {
				v := cpuPerCall(b, sc, metrics, dur)
				if metrics {
					on = append(on, v)
				} else {
					off = append(off, v)
				}
			}
		}
		mOff, mOn := mean(off), mean(on)
		b.ReportMetric(mOff, "cpu_us/call_off")
		b.ReportMetric(mOn, "cpu_us/call_on")
		b.ReportMetric(100*(mOn-mOff)/mOff, "on_vs_off_%")
		b.ReportMetric(stddev(off)/mOff*100, "off_spread_%")
	}
}

// cpuPerCall runs the scenario once and returns client CPU µs per call.
func cpuPerCall(b *testing.B, sc string, metrics bool, dur time.Duration) float64 {
	b.Helper()
	out := filepath.Join(b.TempDir(), "r.json")
	args := []string{"run", sc, "-q", "-o", out}
	if metrics {
		args = append(args, "--metrics-addr", "127.0.0.1:0")
	}
	p := startProcess(b, nil, args...)
	stop := make(chan struct{})
	scraped := make(chan int, 1)
	go func() {
		n := 0
		defer func() { scraped <- n }()
		re := regexp.MustCompile(`metrics: (http://\S+)`)
		tick := time.NewTicker(time.Second)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
			}
			if m := re.FindStringSubmatch(p.stderr.String()); m != nil {
				if resp, err := http.Get(m[1]); err == nil {
					resp.Body.Close()
					n++
				}
			}
		}
	}()
	code := p.wait(b, dur+2*time.Minute)
	close(stop)
	n := <-scraped
	if code != exitOK {
		b.Fatalf("exit %d\n%s", code, p.stderr.String())
	}
	if metrics && n == 0 && dur >= 2*time.Second {
		b.Fatal("the metrics endpoint was never scraped")
	}
	r, err := results.ReadFile(out)
	if err != nil {
		b.Fatal(err)
	}
	return float64(cpuOf(p).Microseconds()) / float64(max(r.Cells[0].Load.Completed, 1))
}

func mean(xs []float64) float64 {
	s := 0.0
	for _, x := range xs {
		s += x
	}
	return s / float64(len(xs))
}

func stddev(xs []float64) float64 {
	if len(xs) < 2 {
		return 0
	}
	m, s := mean(xs), 0.0
	for _, x := range slices.Clone(xs) {
		s += (x - m) * (x - m)
	}
	return math.Sqrt(s / float64(len(xs)-1))
}
