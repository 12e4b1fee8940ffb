package gates_test

import (
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/grpcbench/grpcbench/gates"
)

// FuzzParseExpr: parsing never panics, and an accepted expression's
// canonical text parses back to the same operator and limit.
func FuzzParseExpr(f *testing.F) {
	for _, s := range []string{"< 150ms", "<= 1%", "> 1800", "== 0", "!= 0", "<< 1", ">= 95%", "< 1.5s", "<", "< -1", "< 1e3", "<0x1p3"} {
		f.Add("p99", s)
		f.Add("error_rate", s)
		f.Add("rps", s)
		f.Add("breaker_trips", s)
	}
	f.Fuzz(func(t *testing.T, metric, expr string) {
		m, err := gates.ParseMetric(metric)
		if err != nil {
			return
		}
		e, err := gates.ParseExpr(m, expr)
		if err != nil {
			return
		}
		again, err := gates.ParseExpr(m, e.Text)
		if err != nil || again.Op != e.Op || again.Limit != e.Limit {
			t.Fatalf("%q → %+v, re-parsed %+v, %v", expr, e, again, err)
		}
		if e.Limit < 0 {
			t.Fatalf("negative limit accepted: %+v", e)
		}
	})
}

// FuzzParseGate: parsing never panics and an accepted gate's text parses
// back to the same gate.
func FuzzParseGate(f *testing.F) {
	for _, s := range []string{"p99=+10%", "rps=-5%", "error_rate=+0.01", "attempt.p99@GetUser=+2ms", "p99=+-1%", "=", "p99@=1%"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		g, err := gates.ParseGate(s)
		if err != nil {
			return
		}
		again, err := gates.ParseGate(g.Text)
		if err != nil || again.Text != g.Text || again.Limit != g.Limit || again.Relative != g.Relative || again.Method != g.Method {
			t.Fatalf("%q → %+v, re-parsed %+v, %v", s, g, again, err)
		}
	})
}

// FuzzThresholdsYAML: any YAML either fails to decode or validates and
// evaluates without panicking; an accepted set yields a verdict for every
// check (gates never drop a check silently).
func FuzzThresholdsYAML(f *testing.F) {
	for _, s := range []string{
		`{p99: "< 150ms", error_rate: "< 1%"}`,
		"- {cells: \"pool.size=1\", method: GetUser, p99: \"< 100ms\"}\n- {rps: \"> 10\"}",
		"- {cells: [\"size!=4\", \"*\"], ttfm.p99: \"< 5ms\"}",
		"- {cells: {a: 1}}", "fast", "- p99", "{p99: [1]}",
	} {
		f.Add(s)
	}
	run := mkRun("fuzz", 1, map[string]time.Duration{"1": time.Millisecond, "4": 2 * time.Millisecond}, 1)
	refs := gates.CellRefs(run)
	f.Fuzz(func(t *testing.T, src string) {
		var th gates.Thresholds
		if err := yaml.Unmarshal([]byte(src), &th); err != nil {
			return
		}
		_ = th.Positions("thresholds")
		valid := th.Validate(run.Dimensions, refs, run.MethodNames()) == nil
		vs := gates.Evaluate(run, th)
		checks := 0
		for _, r := range th.Rules {
			checks += len(r.Checks)
		}
		if len(vs) < checks {
			t.Fatalf("%d verdicts for %d checks", len(vs), checks)
		}
		if !valid {
			return
		}
		for _, v := range vs {
			if v.Note == "matches no cell of the run" || (len(v.Note) > 8 && v.Note[:8] == "invalid:") {
				t.Fatalf("validated thresholds gave %+v", v)
			}
		}
	})
}
