package scenarios

import (
	"context"
	"testing"
	"time"

	"github.com/grpcbench/grpcbench/gates"
)

// Failures that are fast hide slow successes from a plain p99: with 99.5 %
// of calls failing at once and the rest taking 300 ms, p99 (all calls) is
// fast while ok.p99 (successful calls) is 300 ms, and a gate on ok.p99
// catches what the gate on p99 lets pass.
func TestOKLatencyCatchesWhatP99Hides(t *testing.T) {
	sp, err := Parse(context.Background(), "ok.yaml", []byte(`
seed: 5
server:
  faults:
    - {error: {code: UNAVAILABLE, rate: 0.995}}
    - {latency: {dist: fixed, value: 300ms}}
load: {rate: 800, duration: 2s, max_inflight: 128}
mix: [{call: GetUser}]
thresholds:
  - {p99: "< 150ms"}
  - {ok.p99: "< 150ms"}
`))
	if err != nil {
		t.Fatal(err)
	}
	run, err := Run(context.Background(), sp, Options{})
	if err != nil {
		t.Fatal(err)
	}
	all := run.Cells[0].All
	p99, ok99 := all.Latency.Quantile(0.99), all.OK.Quantile(0.99)
	t.Logf("calls %d, errors %d, p50 %v, p99 %v, ok.p99 %v (%d successes), lag %v", all.Calls, all.Errors, all.Latency.Quantile(0.5), p99, ok99, all.OK.Count(), run.Cells[0].Load.MaxLag)
	if all.OK.Count() == 0 || p99 >= 150*time.Millisecond || ok99 < 300*time.Millisecond {
		t.Fatalf("p99 %v, ok.p99 %v: want p99 under 150ms and ok.p99 ≥ 300ms", p99, ok99)
	}
	verdicts := gates.Evaluate(run, sp.Thresholds)
	failed := gates.Failures(verdicts)
	if len(verdicts) != 2 || len(failed) != 1 || failed[0].Metric != "ok.p99" {
		t.Fatalf("verdicts %+v; want p99 to pass and ok.p99 to fail", verdicts)
	}
}
