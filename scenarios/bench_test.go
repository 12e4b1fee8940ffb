package scenarios

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/grpcbench/grpcbench/fakeserver"
	"github.com/grpcbench/grpcbench/proto/userpb"
)

// rawLoop is the baseline: workers calling the generated stub in a closed
// loop on one connection for d, each call with the stack's default 5 s
// deadline.
func rawLoop(b *testing.B, addr string, workers int, d time.Duration) float64 {
	cc, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		b.Fatal(err)
	}
	defer cc.Close()
	c := userpb.NewUserServiceClient(cc)
	ctx := context.Background()
	req := &userpb.GetUserRequest{UserId: "u1"}
	if _, err := c.GetUser(ctx, req); err != nil { // connect outside the measurement
		b.Fatal(err)
	}
	var calls atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	end := start.Add(d)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			n := int64(0)
			for time.Now().Before(end) {
				// The same per-call deadline as the stack's (client.timeout
				// 5s): a deadline makes gRPC do more per call.
				cctx, cancel := context.WithTimeout(ctx, DefaultTimeout)
				_, err := c.GetUser(cctx, req)
				cancel()
				if err != nil {
					b.Error(err)
					return
				}
				n++
			}
			calls.Add(n)
		}()
	}
	wg.Wait()
	return float64(calls.Load()) / time.Since(start).Seconds()
}

// stackLoop runs grpcbench's closed model through the full stack (pool of
// one connection, round_robin, retry, breaker, recording) against addr.
func stackLoop(b *testing.B, addr string, workers int, d time.Duration) float64 {
	src := fmt.Sprintf(`
server: {target: %q}
load: {model: closed, workers: %d, duration: %s}
mix: [{call: GetUser}]
client:
  pool: {size: 1, warmup: true}
  retry: {policy: exponential, max_attempts: 3, codes: [UNAVAILABLE]}
  breaker: {failure_threshold: 1000}
`, addr, workers, d)
	sp, err := Parse(context.Background(), "bench.yaml", []byte(src))
	if err != nil {
		b.Fatal(err)
	}
	run, err := Run(context.Background(), sp, Options{})
	if err != nil {
		b.Fatal(err)
	}
	c := run.Cells[0]
	if c.All.Errors != 0 {
		b.Fatalf("%d errors", c.All.Errors)
	}
	return float64(c.All.Calls) / c.Duration.Seconds()
}

// BenchmarkThroughputRawVsStack measures, in one run, against the same
// fake server with the same concurrency and one connection each, the unary
// calls/s of a raw generated-stub loop and of the closed model through the
// full stack, alternating A B A B to spread drift; it reports both and
// their ratio (goal ≥ 0.90).
func BenchmarkThroughputRawVsStack(b *testing.B) {
	cl, err := fakeserver.Start(context.Background(), fakeserver.Config{})
	if err != nil {
		b.Fatal(err)
	}
	defer cl.Stop()
	addr := cl.Addrs()[0]
	const workers, rounds = 16, 4
	d := 2 * time.Second
	var raw, stack float64
	for range b.N {
		for range rounds {
			raw += rawLoop(b, addr, workers, d)
			stack += stackLoop(b, addr, workers, d)
		}
	}
	n := float64(b.N * rounds)
	b.ReportMetric(raw/n, "raw-calls/s")
	b.ReportMetric(stack/n, "stack-calls/s")
	b.ReportMetric(stack/raw, "stack/raw")
	b.ReportMetric(0, "ns/op")
}

func rssBytes() int64 { return procStatus("VmRSS:") }

// peakRSSBytes is the process's peak resident set size so far (VmHWM).
func peakRSSBytes() int64 { return procStatus("VmHWM:") }

// procStatus reads a size in kB from /proc/self/status.
func procStatus(key string) int64 {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, key); ok {
			f := strings.Fields(rest)
			kb, _ := strconv.ParseInt(f[0], 10, 64)
			return kb << 10
		}
	}
	return 0
}

// BenchmarkMemoryFlat runs one open-model scenario for 60 s, the embedded
// fake server in the same process, and reports the process RSS after 10 s,
// 30 s and 60 s (goal: 60 s / 10 s ≤ 1.1) two ways: the peak RSS so far
// (VmHWM, what the machine had to give), and the RSS after the garbage is
// collected and returned to the OS (what the run retains).
func BenchmarkMemoryFlat(b *testing.B) {
	src := `
server: {backends: 2}
load: {model: open, rate: 2000, max_inflight: 128, duration: 60s}
mix: [{call: GetUser, weight: 8}, {call: ListUsers, messages: 10}, {call: SyncUsers, messages: 5}]
client: {pool: {size: 2}, retry: {max_attempts: 2}}
`
	sp, err := Parse(context.Background(), "mem.yaml", []byte(src))
	if err != nil {
		b.Fatal(err)
	}
	read := func() int64 {
		runtime.GC()
		debug.FreeOSMemory()
		return rssBytes()
	}
	for range b.N {
		var rss10, rss30, rss60, peak10, peak30, peak60 int64
		run, err := Run(context.Background(), sp, Options{Progress: func(ev Event) {
			if ev.Kind != "tick" {
				return
			}
			switch {
			case rss10 == 0 && ev.Elapsed >= 10*time.Second:
				peak10, rss10 = peakRSSBytes(), read()
			case rss30 == 0 && ev.Elapsed >= 30*time.Second:
				peak30, rss30 = peakRSSBytes(), read()
			case rss60 == 0 && ev.Elapsed >= 59*time.Second:
				peak60, rss60 = peakRSSBytes(), read()
			}
		}})
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(rss10)/(1<<20), "rss10s-MiB")
		b.ReportMetric(float64(rss30)/(1<<20), "rss30s-MiB")
		b.ReportMetric(float64(rss60)/(1<<20), "rss60s-MiB")
		b.ReportMetric(float64(rss60)/float64(rss10), "rss60/rss10")
		b.ReportMetric(float64(peak10)/(1<<20), "peak10s-MiB")
		b.ReportMetric(float64(peak30)/(1<<20), "peak30s-MiB")
		b.ReportMetric(float64(peak60)/(1<<20), "peak60s-MiB")
		b.ReportMetric(float64(peak60)/float64(peak10), "peak60/peak10")
		b.ReportMetric(float64(run.Cells[0].All.Calls), "calls")
		b.ReportMetric(0, "ns/op")
	}
}

// BenchmarkOpenRate measures how closely the open model holds its target
// rate: 2,000 calls/s for 10 s (goal: within 2 %), second by second, with
// the schedule's largest lag.
func BenchmarkOpenRate(b *testing.B) {
	sp, err := Parse(context.Background(), "rate.yaml", []byte(`
server: {backends: 2}
load: {model: open, rate: 2000, max_inflight: 256, duration: 10s, warmup: 1s}
mix: [{call: GetUser}]
client: {pool: {size: 2}}
`))
	if err != nil {
		b.Fatal(err)
	}
	for range b.N {
		run, err := Run(context.Background(), sp, Options{})
		if err != nil {
			b.Fatal(err)
		}
		c := run.Cells[0]
		// Completions in each second of the recorded phase: the rate held
		// second by second, not only on average.
		lo, hi := int64(1<<62), int64(0)
		for _, s := range c.Series {
			lo, hi = min(lo, s.Calls), max(hi, s.Calls)
		}
		b.ReportMetric(c.Load.AchievedRate/c.Load.TargetRate, "achieved/target")
		b.ReportMetric(float64(lo), "min-calls/s")
		b.ReportMetric(float64(hi), "max-calls/s")
		b.ReportMetric(float64(c.Load.Scheduled), "scheduled")
		b.ReportMetric(float64(c.Load.Dropped), "dropped")
		b.ReportMetric(float64(c.Load.MaxLag)/1e6, "max-lag-ms")
		b.ReportMetric(float64(c.All.Service.Quantile(0.99))/1e6, "service-p99-ms")
		b.ReportMetric(0, "ns/op")
	}
}
