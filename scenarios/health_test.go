package scenarios

import (
	"context"
	"os/exec"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/grpcbench/grpcbench/results"
)

// A fast service at a modest rate: the generator's health is all that
// differs between the quiet and the hogged runs.
const healthScenario = `
seed: 1
server: {backends: 1}
load: {model: open, rate: 1000, max_inflight: 64, duration: 2s, warmup: 200ms}
mix: [{call: GetUser}]
`

// startHogs starts n CPU-burning processes (sh busy loops; goroutines
// locked to threads where sh is missing), bounded to 60 s, and returns the
// function that stops them.
func startHogs(t *testing.T, n int) func() {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	var wg sync.WaitGroup
	var cmds []*exec.Cmd
	if _, err := exec.LookPath("sh"); err == nil {
		for range n {
			cmd := exec.CommandContext(ctx, "sh", "-c", "while :; do :; done")
			if err := cmd.Start(); err != nil {
				cancel()
				t.Fatal(err)
			}
			cmds = append(cmds, cmd)
		}
	} else {
		for range n {
			wg.Go(func() {
				runtime.LockOSThread()
				for ctx.Err() == nil {
					for i := 0; i < 1e6; i++ {
					}
				}
			})
		}
	}
	var once sync.Once
	stop := func() {
		once.Do(func() {
			cancel()
			for _, c := range cmds {
				_ = c.Wait() // killed by the context
			}
			wg.Wait()
		})
	}
	t.Cleanup(stop)
	return stop
}

// A run while CPU hogs occupy every core twice over records a more starved
// generator than a quiet run: later sends (schedule lag), and where the
// kernel reports them, its threads' longer waits for a CPU, a longer run
// queue and higher CPU pressure. Bounds are tolerant (strictly higher) so
// that a shared machine's own noise does not fail it.
func TestHealthSeesCPUHog(t *testing.T) {
	quiet := runYAML(t, context.Background(), healthScenario).Cells[0].Health
	stop := startHogs(t, 2*runtime.NumCPU())
	hog := runYAML(t, context.Background(), healthScenario).Cells[0].Health
	stop()
	for name, h := range map[string]*results.Health{"quiet": quiet, "hog": hog} {
		if h == nil || h.Samples < 1 || h.Lag.Count() == 0 || h.CPU == nil || h.GOMAXPROCS < 1 {
			t.Fatalf("%s run: health not recorded: %+v", name, h)
		}
		t.Logf("%s: samples %d cpu %.2f run delay %v pressure %v run queue %v other %v lag p50 %v p99 %v gc %d/%v unavailable %q",
			name, h.Samples, h.CPU.Mean, h.RunDelay, h.Pressure, h.RunQueue, h.OtherCPU, h.Lag.Quantile(0.5), h.Lag.Quantile(0.99), h.GCCount, h.GCPauses, h.Unavailable)
	}
	if q, h := quiet.Lag.Quantile(0.5), hog.Lag.Quantile(0.5); h <= q {
		t.Errorf("lag p50 %v with hogs, %v without: want higher", h, q)
	}
	if quiet.RunDelay != nil && hog.RunDelay != nil && !higherShare(hog.RunDelay.Mean, quiet.RunDelay.Mean) {
		t.Errorf("run delay %.3f with hogs, %.3f without: want higher", hog.RunDelay.Mean, quiet.RunDelay.Mean)
	}
	if quiet.RunQueue != nil && hog.RunQueue != nil && hog.RunQueue.Mean <= quiet.RunQueue.Mean {
		t.Errorf("run queue %.1f with hogs, %.1f without: want higher", hog.RunQueue.Mean, quiet.RunQueue.Mean)
	}
	if quiet.Pressure != nil && hog.Pressure != nil && !higherShare(hog.Pressure.Mean, quiet.Pressure.Mean) {
		t.Errorf("pressure %.3f with hogs, %.3f without: want higher", hog.Pressure.Mean, quiet.Pressure.Mean)
	}
}

// higherShare reports whether share a is above b, or both are at the top
// (a machine already saturated without the hogs cannot show more).
func higherShare(a, b float64) bool { return a > b || (a >= 0.99 && b >= 0.99) }
