package gates_test

import (
	"strings"
	"testing"
	"time"

	"github.com/grpcbench/grpcbench/gates"
	"github.com/grpcbench/grpcbench/results"
)

// withHealth sets the generator health of every cell of run: run delay
// (nil when < 0), pressure (nil when < 0) and a lag recorded n times.
func withHealth(run *results.Run, runDelay, pressure float64, lag time.Duration) *results.Run {
	for i, c := range run.Cells {
		h := &results.Health{Samples: 5, Cores: 2, CPU: &results.Share{Mean: 0.3, Max: 0.4}, Lag: results.NewHistogram()}
		// A little spread between repeats, so the test has ranks to read.
		eps := 0.002 * float64(i%5)
		if runDelay >= 0 {
			h.RunDelay = &results.Share{Mean: runDelay + eps, Max: runDelay + eps}
		}
		if pressure >= 0 {
			h.Pressure = &results.Share{Mean: pressure + eps, Max: pressure + eps}
		}
		for range 100 {
			h.Lag.Record(lag)
		}
		c.Health = h
	}
	return run
}

func TestSaturation(t *testing.T) {
	lat := func(d time.Duration) *results.MethodStats {
		m := &results.MethodStats{Calls: 100, Latency: results.NewHistogram()}
		for range 100 {
			m.Latency.Record(d)
		}
		return m
	}
	lagged := func(model string, lag, latency time.Duration) *results.Cell {
		h := &results.Health{Lag: results.NewHistogram()}
		for range 100 {
			h.Lag.Record(lag)
		}
		return &results.Cell{Load: results.Load{Model: model}, Health: h, All: lat(latency)}
	}
	tests := []struct {
		name string
		cell *results.Cell
		want string // "" for not saturated
	}{
		{"quiet", &results.Cell{Load: results.Load{Model: results.ModelOpen, Scheduled: 10000, Dropped: 5},
			Health: &results.Health{CPU: &results.Share{Mean: 0.4}, RunDelay: &results.Share{Mean: 0.1}, Pressure: &results.Share{Mean: 0.9}}}, ""},
		{"no health", &results.Cell{Load: results.Load{Model: results.ModelOpen}}, ""},
		{"cap full", &results.Cell{Load: results.Load{Model: results.ModelOpen, Workers: 64, Scheduled: 10000, Dropped: 50}},
			"the in-flight cap (64) was full: 50 of 10000 arrivals dropped"},
		{"cpu bound", &results.Cell{Health: &results.Health{Cores: 2, CPU: &results.Share{Mean: 0.95}}}, "it used 95 % of its 2 cores"},
		{"run delay", &results.Cell{Health: &results.Health{RunDelay: &results.Share{Mean: 0.61}}},
			"its threads waited for a CPU 61 % of their runnable time"},
		{"pressure without run delay", &results.Cell{Health: &results.Health{Pressure: &results.Share{Mean: 0.7}}}, "CPU pressure 70 %"},
		{"steal", &results.Cell{Health: &results.Health{Steal: &results.Share{Mean: 0.2}}}, "steal 20 %"},
		{"lag is the tail", lagged(results.ModelOpen, 8*time.Millisecond, 10*time.Millisecond), "schedule lag p99 8"},
		{"lag small against latency", lagged(results.ModelOpen, 2*time.Millisecond, 10*time.Millisecond), ""},
		{"lag below the floor", lagged(results.ModelOpen, 1500*time.Microsecond, 1600*time.Microsecond), ""},
		{"closed model lag is the service's", lagged(results.ModelClosed, 8*time.Millisecond, 10*time.Millisecond), ""},
	}
	for _, tc := range tests {
		sat, why := gates.Saturation(tc.cell)
		if sat != (tc.want != "") || !strings.Contains(why, tc.want) {
			t.Errorf("%s: Saturation = %v, %q; want %q", tc.name, sat, why, tc.want)
		}
	}
}

// The case: the same build, the new run's generator starved. Its
// tail regression is inconclusive, with the reason, and fails as such —
// never as a regression; with InconclusivePass it passes.
func TestCompareStarvedGeneratorIsInconclusive(t *testing.T) {
	meds := map[string]time.Duration{"1": 2 * time.Millisecond}
	slow := map[string]time.Duration{"1": 7 * time.Millisecond}
	base := withHealth(mkRun("s", 5, meds, 1), 0.05, 0.02, 3100*time.Microsecond)
	nw := withHealth(mkRun("s", 5, slow, 2), 0.80, 0.61, 8600*time.Microsecond)
	opts := gates.CompareOptions{Gates: mustGates(t, "p99=+10%")}
	c := compare(t, base, nw, opts)
	r := c.Rows[0]
	if r.Status != gates.StatusInconclusive || r.Pass || c.Count(gates.StatusRegression) != 0 {
		t.Fatalf("row %s pass %v:\n%s", r.Status, r.Pass, text(t, c))
	}
	wantEnv := "new run's load generator was CPU-starved: run delay 80.4 % vs 5.4 %, pressure 61.4 % vs 2.4 %, lag p99 8.6"
	if !strings.HasPrefix(r.Env, wantEnv) {
		t.Fatalf("env %q, want it to start %q", r.Env, wantEnv)
	}
	out := text(t, c)
	for _, want := range []string{"INCONCLUSIVE", "note: pool.size=1 p99=+10%: " + wantEnv, "INCONCLUSIVE: 1 check, 1 inconclusive (load generator starved)"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if !c.InconclusiveOnly() || !c.Failed() {
		t.Fatalf("InconclusiveOnly %v Failed %v", c.InconclusiveOnly(), c.Failed())
	}
	opts.InconclusivePass = true
	if c := compare(t, base, nw, opts); c.Failed() || c.Rows[0].Status != gates.StatusInconclusive {
		t.Fatalf("with InconclusivePass: failed %v status %s", c.Failed(), c.Rows[0].Status)
	}
}

// Health that differs only within noise, or in lag alone (a slower service
// fills the in-flight cap and lags every send: that is a regression),
// leaves the regression a regression. Without run delay the machine's
// pressure decides.
func TestCompareEnvironmentNeedsCPUEvidence(t *testing.T) {
	meds := map[string]time.Duration{"1": 2 * time.Millisecond}
	slow := map[string]time.Duration{"1": 7 * time.Millisecond}
	opts := gates.CompareOptions{Gates: mustGates(t, "p99=+10%")}
	tests := []struct {
		name               string
		base, nw           [3]float64 // run delay, pressure, lag ms
		want               gates.Status
		wantEnvContains    string
		wantEnvNotContains string
	}{
		{"same machine", [3]float64{0.10, 0.20, 3}, [3]float64{0.15, 0.30, 3.5}, gates.StatusRegression, "", ""},
		{"lag alone", [3]float64{0.05, 0.02, 3}, [3]float64{0.05, 0.02, 40}, gates.StatusRegression, "", ""},
		{"pressure when no run delay", [3]float64{-1, 0.05, 3}, [3]float64{-1, 0.70, 9}, gates.StatusInconclusive, "pressure 70.4 % vs 5.4 %", "run delay"},
		{"busy machine, process fine", [3]float64{0.05, 0.10, 3}, [3]float64{0.06, 0.90, 3}, gates.StatusRegression, "", ""},
	}
	for _, tc := range tests {
		base := withHealth(mkRun("s", 5, meds, 1), tc.base[0], tc.base[1], time.Duration(tc.base[2]*float64(time.Millisecond)))
		nw := withHealth(mkRun("s", 5, slow, 2), tc.nw[0], tc.nw[1], time.Duration(tc.nw[2]*float64(time.Millisecond)))
		r := compare(t, base, nw, opts).Rows[0]
		if r.Status != tc.want || !strings.Contains(r.Env, tc.wantEnvContains) || (tc.wantEnvNotContains != "" && strings.Contains(r.Env, tc.wantEnvNotContains)) {
			t.Errorf("%s: status %s env %q", tc.name, r.Status, r.Env)
		}
	}
}

// A base run whose generator was starved makes the new run look better:
// the improvement says so.
func TestCompareStarvedBaseNotesImprovement(t *testing.T) {
	slow := map[string]time.Duration{"1": 7 * time.Millisecond}
	meds := map[string]time.Duration{"1": 2 * time.Millisecond}
	base := withHealth(mkRun("s", 5, slow, 1), 0.8, 0.6, 9*time.Millisecond)
	nw := withHealth(mkRun("s", 5, meds, 2), 0.05, 0.02, 3*time.Millisecond)
	r := compare(t, base, nw, gates.CompareOptions{Gates: mustGates(t, "p99=+10%")}).Rows[0]
	if r.Status != gates.StatusImprovement || !strings.HasPrefix(r.Env, "base run's load generator was CPU-starved: run delay 80.4 % vs 5.4 %") {
		t.Fatalf("status %s env %q", r.Status, r.Env)
	}
}

// Thresholds on a saturated cell say so next to their value; pass or fail
// is unchanged.
func TestEvaluateSaturatedIsInconclusive(t *testing.T) {
	run := mkRun("s", 1, map[string]time.Duration{"1": 2 * time.Millisecond, "4": 2 * time.Millisecond}, 1)
	run.Cells[1].Load.Scheduled, run.Cells[1].Load.Dropped, run.Cells[1].Load.Workers = 1000, 300, 8
	vs := gates.Evaluate(run, gates.Thresholds{Rules: []gates.Rule{{Checks: []gates.Check{{Metric: "p99", Expr: "< 1s"}}}}})
	if len(vs) != 2 || vs[0].Inconclusive != "" || !strings.Contains(vs[1].Inconclusive, "in-flight cap (8) was full") || !vs[1].Pass {
		t.Fatalf("verdicts %+v", vs)
	}
	var b strings.Builder
	if err := gates.WriteVerdicts(&b, vs); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"(inconclusive)", "inconclusive: cell pool.size=4#0: the load generator was saturated (the in-flight cap (8) was full: 300 of 1000 arrivals dropped): these values measure the client, not the service",
		"thresholds: all 2 checks passed (1 inconclusive)"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, b.String())
		}
	}
}
