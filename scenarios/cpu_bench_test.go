package scenarios

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/grpcbench/grpcbench/fakeserver"
	"github.com/grpcbench/grpcbench/proto/userpb"
)

// serverEnv makes the test binary serve the fake server instead of
// running tests: the CPU benchmarks keep the server in another process, so
// the process's own CPU time is the client's alone.
const serverEnv = "GRPCBENCH_BENCH_FAKESERVER"

// maybeServe serves a one-backend fake server and prints its address when
// the test binary was started for it; it returns only otherwise.
func maybeServe() {
	if os.Getenv(serverEnv) == "" {
		return
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	cl, err := fakeserver.Start(ctx, fakeserver.Config{})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Println(cl.Addrs()[0])
	<-ctx.Done()
	cl.Stop()
	os.Exit(0)
}

// startServerProcess runs maybeServe in a child process and returns the
// address it serves on.
func startServerProcess(b *testing.B) string {
	exe, err := os.Executable()
	if err != nil {
		b.Fatal(err)
	}
	cmd := exec.Command(exe, "-test.run=^$")
	cmd.Env = append(os.Environ(), serverEnv+"=1")
	out, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		_ = cmd.Process.Signal(os.Interrupt)
		_ = cmd.Wait()
	})
	addr, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		b.Fatal(err)
	}
	return strings.TrimSpace(addr)
}

// cpuTime is the process's user + system CPU time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// rawStubLoop is the baseline: workers calling the generated stub in a
// closed loop on one connection for d, each with the stack's 5 s deadline.
// It returns calls/s and CPU per call.
func rawStubLoop(b *testing.B, addr string, workers int, d time.Duration) (float64, time.Duration) {
	cc, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		b.Fatal(err)
	}
	defer cc.Close()
	c := userpb.NewUserServiceClient(cc)
	req := &userpb.GetUserRequest{UserId: "u1"}
	if _, err := c.GetUser(context.Background(), req); err != nil {
		b.Fatal(err)
	}
	var calls atomic.Int64
	var wg sync.WaitGroup
	cpu0, start := cpuTime(), time.Now()
	end := start.Add(d)
	for range workers {
		wg.Go(func() {
			n := int64(0)
			for time.Now().Before(end) {
				ctx, cancel := context.WithTimeout(context.Background(), DefaultTimeout)
				_, err := c.GetUser(ctx, req)
				cancel()
				if err != nil {
					b.Error(err)
					return
				}
				n++
			}
			calls.Add(n)
		})
	}
	wg.Wait()
	cpu, took := cpuTime()-cpu0, time.Since(start)
	return float64(calls.Load()) / took.Seconds(), cpu / time.Duration(max(calls.Load(), 1))
}

// reflectedStackLoop runs grpcbench's closed model through the full stack
// (pool of one connection, round_robin, retry, breaker, recording) calling
// GetUser found by server reflection, and returns calls/s and CPU per call.
func reflectedStackLoop(b *testing.B, addr string, workers int, d time.Duration, decode bool) (float64, time.Duration) {
	sp, err := Parse(context.Background(), "bench.yaml", []byte(fmt.Sprintf(`
server: {target: %q, reflection: true}
load: {model: closed, workers: %d, duration: %s}
mix: [{call: grpcbench.user.v1.UserService/GetUser, data: {user_id: u1}}]
client:
  decode_responses: %v
  pool: {size: 1, warmup: true}
  retry: {policy: exponential, max_attempts: 3, codes: [UNAVAILABLE]}
  breaker: {failure_threshold: 1000}
`, addr, workers, d, decode)))
	if err != nil {
		b.Fatal(err)
	}
	cpu0 := cpuTime()
	run, err := Run(context.Background(), sp, Options{})
	cpu := cpuTime() - cpu0
	if err != nil {
		b.Fatal(err)
	}
	c := run.Cells[0]
	if c.All.Errors != 0 {
		b.Fatalf("%d errors", c.All.Errors)
	}
	return float64(c.All.Calls) / c.Duration.Seconds(), cpu / time.Duration(max(c.All.Calls, 1))
}

// BenchmarkReflectedVsRawStub measures, in one run, against one fake server
// in another process with the same concurrency and one connection each:
// the unary calls/s of a raw generated-stub loop and of grpcbench calling
// the same method found by reflection through the full stack (goal ≥ 0.95),
// and the client CPU per call of each (getrusage; goals: ≤ 1.0× without
// decoding responses, ≤ 1.15× with). Runs alternate A B C A B C … to spread
// drift.
func BenchmarkReflectedVsRawStub(b *testing.B) {
	addr := startServerProcess(b)
	const workers, rounds = 16, 4
	d := 3 * time.Second
	var raw, dec, cnt float64
	var rawCPU, decCPU, cntCPU time.Duration
	for range b.N {
		for range rounds {
			r, rc := rawStubLoop(b, addr, workers, d)
			s1, c1 := reflectedStackLoop(b, addr, workers, d, true)
			s2, c2 := reflectedStackLoop(b, addr, workers, d, false)
			raw, dec, cnt = raw+r, dec+s1, cnt+s2
			rawCPU, decCPU, cntCPU = rawCPU+rc, decCPU+c1, cntCPU+c2
		}
	}
	n := float64(b.N * rounds)
	b.ReportMetric(raw/n, "raw-calls/s")
	b.ReportMetric(dec/n, "stack-calls/s")
	b.ReportMetric(dec/raw, "stack/raw")
	b.ReportMetric(cnt/raw, "stack-nodecode/raw")
	b.ReportMetric(float64(rawCPU)/n/1e3, "raw-cpu-µs/call")
	b.ReportMetric(float64(decCPU)/n/1e3, "stack-cpu-µs/call")
	b.ReportMetric(float64(decCPU)/float64(rawCPU), "cpu-stack/raw")
	b.ReportMetric(float64(cntCPU)/float64(rawCPU), "cpu-nodecode/raw")
	b.ReportMetric(0, "ns/op")
}
