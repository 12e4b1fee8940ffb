package scenarios

import (
	"bytes"
	"context"
	"math"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/grpcbench/grpcbench/results"
)

func TestMain(m *testing.M) {
	maybeServe() // the CPU benchmarks' fake server process
	goleak.VerifyTestMain(m)
}

func runYAML(t *testing.T, ctx context.Context, src string, sets ...string) *results.Run {
	t.Helper()
	sp, err := Parse(context.Background(), "test.yaml", []byte(src), sets...)
	if err != nil {
		t.Fatal(err)
	}
	run, err := Run(ctx, sp, Options{})
	if err != nil {
		t.Fatal(err)
	}
	// Every run must survive the results file round trip.
	var buf bytes.Buffer
	if err := results.Encode(&buf, run); err != nil {
		t.Fatal(err)
	}
	if _, err := results.Decode(&buf); err != nil {
		t.Fatal(err)
	}
	return run
}

// A backend that stops the world for 500 ms every 2 s under an open model
// at 500 calls/s: a quarter of the arrivals land in a pause and wait for
// its end, so P(latency > x) = 0.25·(1 − x/500ms) for x in [0, 500ms]:
// p90 = 300 ms, p99 = 480 ms. Without correction for coordinated omission
// the stall would all but vanish from the percentiles.
const pauseScenario = `
seed: 1
server:
  backends: 1
  faults:
    - {pause: {every: 2s, for: 500ms}}
load: {model: open, rate: 500, max_inflight: 512, duration: 4s}
mix: [{call: GetUser}]
client: {timeout: 5s}
`

func TestCoordinatedOmissionOpenModel(t *testing.T) {
	run := runYAML(t, context.Background(), pauseScenario)
	c := run.Cells[0]
	h := c.All.Latency
	p50, p90, p99 := h.Quantile(0.5), h.Quantile(0.9), h.Quantile(0.99)
	t.Logf("open model: p50 %v p90 %v p99 %v max %v, scheduled %d dropped %d max lag %v",
		p50, p90, p99, h.Max(), c.Load.Scheduled, c.Load.Dropped, c.Load.MaxLag)
	// The calls held by a pause are all released at its end, and serving
	// that burst adds a few tens of milliseconds on top of the analytic
	// figure: the bounds allow for it above, not below.
	if p99 < 450*time.Millisecond || p99 > 600*time.Millisecond {
		t.Errorf("p99 %v, want 480ms (-30ms/+120ms): the stall", p99)
	}
	if p90 < 270*time.Millisecond || p90 > 420*time.Millisecond {
		t.Errorf("p90 %v, want 300ms (-30ms/+120ms)", p90)
	}
	if p50 > 50*time.Millisecond {
		t.Errorf("p50 %v: most calls miss the pause and should be fast", p50)
	}
	if c.Load.Scheduled != 2000 || c.Load.Dropped != 0 || c.All.Calls != 2000 {
		t.Errorf("scheduled %d, dropped %d, calls %d; want 2000, 0, 2000", c.Load.Scheduled, c.Load.Dropped, c.All.Calls)
	}
	if len(c.Faults) != 2 || c.Faults[0].Kind != "pause" || c.Faults[1].Start != 2*time.Second {
		t.Errorf("fault windows %+v", c.Faults)
	}
}

func TestClosedModelShowsStallInLag(t *testing.T) {
	run := runYAML(t, context.Background(), pauseScenario,
		"load={model: closed, workers: 4, duration: 4s}")
	c := run.Cells[0]
	h := c.All.Latency
	t.Logf("closed model: calls %d p99 %v max %v max lag %v", c.All.Calls, h.Quantile(0.99), h.Max(), c.Load.MaxLag)
	// Only the few calls in flight when a pause began waited: the
	// percentiles hide the stall (coordinated omission) ...
	if p99 := h.Quantile(0.99); p99 > 100*time.Millisecond {
		t.Errorf("closed-model p99 %v; expected the stall to be hidden from it", p99)
	}
	// ... but the lag shows how long the workers were held.
	if c.Load.MaxLag < 400*time.Millisecond {
		t.Errorf("max lag %v, want ≥ 400ms (the 500ms pause)", c.Load.MaxLag)
	}
	if h.Max() < 400*time.Millisecond {
		t.Errorf("max %v, want the stalled calls' ≥ 400ms", h.Max())
	}
}

func TestOpenModelRate(t *testing.T) {
	run := runYAML(t, context.Background(), `
server: {backends: 2}
load: {model: open, rate: 2000, max_inflight: 2048, duration: 2s}
mix: [{call: GetUser}]
client: {pool: {size: 2}}
`)
	c := run.Cells[0]
	t.Logf("target 2000/s: scheduled %d, completed %d, achieved %.1f/s, dropped %d, max lag %v",
		c.Load.Scheduled, c.Load.Completed, c.Load.AchievedRate, c.Load.Dropped, c.Load.MaxLag)
	if c.Load.Scheduled < 3999 || c.Load.Scheduled > 4000 {
		t.Errorf("scheduled %d, want 4000", c.Load.Scheduled)
	}
	// Generous: the tight figure is a benchmark.
	if math.Abs(c.Load.AchievedRate-2000)/2000 > 0.05 {
		t.Errorf("achieved %.1f calls/s, want 2000 ± 5%%", c.Load.AchievedRate)
	}
}

func TestStagesAndPoisson(t *testing.T) {
	run := runYAML(t, context.Background(), `
seed: 9
load:
  stages: [{duration: 1s, rate: 100}, {duration: 1s, rate: 300, ramp: true}]
mix: [{call: CreateUser}]
`)
	c := run.Cells[0]
	// 100 in the first second, a ramp from 100 to 300 (mean 200) in the next.
	if c.Load.Scheduled < 295 || c.Load.Scheduled > 305 || c.Load.TargetRate != 150 {
		t.Errorf("stages: scheduled %d (want ~300), target %.1f (want 150)", c.Load.Scheduled, c.Load.TargetRate)
	}
	run = runYAML(t, context.Background(), `
seed: 9
load: {rate: 500, arrivals: poisson, duration: 2s, max_calls: 100000}
mix: [{call: GetUser}]
`)
	c = run.Cells[0]
	if n := float64(c.Load.Scheduled); math.Abs(n-1000) > 5*math.Sqrt(1000) {
		t.Errorf("poisson: scheduled %d, want 1000 ± 160", c.Load.Scheduled)
	}
}

func TestRetryMatrixClientAttemptsEqualServerCalls(t *testing.T) {
	run := runYAML(t, context.Background(), `
seed: 4
server:
  backends: 2
  faults: [{error: {code: UNAVAILABLE, rate: 0.3}}]
load: {rate: 300, duration: 1s, max_inflight: 128}
mix: [{call: GetUser, weight: 3}, {call: ListUsers, messages: 5}]
client:
  pool: {size: 2}
  retry: {policy: exponential, max_attempts: 1, base_delay: 2ms, codes: [UNAVAILABLE]}
matrix:
  client.retry.max_attempts: [1, 3]
  client.retry.mode: [wrapper, native]
`)
	if len(run.Cells) != 4 {
		t.Fatalf("%d cells", len(run.Cells))
	}
	errRate := map[string]float64{}
	for _, c := range run.Cells {
		var server int64
		for _, b := range c.Backends {
			server += b.ServerCalls
			if b.ClientCalls != b.ServerCalls {
				t.Errorf("%s: backend %s: client saw %d attempts land, server received %d", c.ID, b.Addr, b.ClientCalls, b.ServerCalls)
			}
		}
		t.Logf("%s: calls %d attempts %d server %d error rate %.3f", c.ID, c.Retry.Calls, c.Retry.Attempts, server, c.All.ErrorRate())
		if c.Retry.Attempts != server {
			t.Errorf("%s: client attempts %d != server calls %d", c.ID, c.Retry.Attempts, server)
		}
		if c.Retry.Calls != c.All.Calls {
			t.Errorf("%s: retry calls %d != recorded calls %d", c.ID, c.Retry.Calls, c.All.Calls)
		}
		errRate[c.ID] = c.All.ErrorRate()
	}
	// 30% failures: one attempt fails ~30% of calls, three ~2.7%.
	for _, mode := range []string{"wrapper", "native"} {
		one, three := errRate["retry.max_attempts=1,retry.mode="+mode+"#1"], errRate["retry.max_attempts=3,retry.mode="+mode+"#1"]
		if one < 0.2 || one > 0.4 || three > 0.08 {
			t.Errorf("%s: error rate %.3f with 1 attempt, %.3f with 3; want ~0.30 and ~0.03", mode, one, three)
		}
	}
}

func TestAllPatternsMeasuredPerMessage(t *testing.T) {
	run := runYAML(t, context.Background(), `
load: {rate: 200, duration: 1s}
mix:
  - {call: CreateUser}
  - {call: GetUser}
  - {call: ListUsers, messages: 7}
  - {call: BatchCreateUsers, messages: 4}
  - {call: SyncUsers, messages: 3}
payload: {request_bytes: 100, response_bytes: 200}
`)
	c := run.Cells[0]
	const svc = "grpcbench.user.v1.UserService/"
	for _, m := range []string{"CreateUser", "GetUser", "ListUsers", "BatchCreateUsers", "SyncUsers"} {
		ms := c.Methods[svc+m]
		if ms == nil || ms.Calls == 0 || ms.Errors != 0 {
			t.Fatalf("%s: %+v", m, ms)
		}
	}
	list, sync := c.Methods[svc+"ListUsers"], c.Methods[svc+"SyncUsers"]
	if n := list.TTFM.Count(); n != list.Calls {
		t.Errorf("TTFM count %d, want one per ListUsers call (%d)", n, list.Calls)
	}
	if n := sync.MessageRTT.Count(); n != 3*sync.Calls {
		t.Errorf("message RTT count %d, want 3 per SyncUsers call (%d calls)", n, sync.Calls)
	}
	if c.BytesSent == 0 || c.BytesReceived == 0 || len(c.Series) == 0 {
		t.Errorf("bytes %d/%d series %d", c.BytesSent, c.BytesReceived, len(c.Series))
	}
}

func TestCancelLeavesValidPartialResults(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(1200*time.Millisecond, cancel)
	start := time.Now()
	run := runYAML(t, ctx, `
load: {rate: 100, duration: 3s}
mix: [{call: GetUser}]
repeat: 2
`)
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("run took %v after cancel at 1.2s; want it to stop within a second or two", d)
	}
	if !run.Partial || len(run.Cells) != 1 || !run.Cells[0].Partial || run.Cells[0].All.Calls == 0 {
		t.Fatalf("partial %v, %d cells", run.Partial, len(run.Cells))
	}
}

func TestWarmupIsRunButNotRecorded(t *testing.T) {
	run := runYAML(t, context.Background(), `
load: {rate: 200, duration: 1s, warmup: 500ms}
mix: [{call: GetUser}]
`)
	c := run.Cells[0]
	var server int64
	for _, b := range c.Backends {
		server += b.ServerCalls
	}
	if c.Load.Scheduled != 200 || c.Load.Sent != 200 || c.All.Calls != 200 || server != 300 {
		t.Fatalf("scheduled %d sent %d recorded %d server %d; want 200, 200, 200 and 300 (warm-up included)",
			c.Load.Scheduled, c.Load.Sent, c.All.Calls, server)
	}
}
