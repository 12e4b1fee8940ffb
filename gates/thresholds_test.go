package gates_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/grpcbench/grpcbench/field"
	"github.com/grpcbench/grpcbench/gates"
	"github.com/grpcbench/grpcbench/internal/yamlx"
	"github.com/grpcbench/grpcbench/results"
)

// scenario is the part of a scenario file the tests decode.
type scenario struct {
	Name       string           `yaml:"name"`
	Thresholds gates.Thresholds `yaml:"thresholds"`
}

var (
	testDims = []string{"client.pool.size", "client.lb.policy"}
	// testMethods are the scenario's methods; "Delete" is in two services.
	testMethods = []string{getUser, listUsers, "grpcbench.user.v1.UserService/SyncUsers",
		"grpcbench.user.v1.UserService/Delete", "grpcbench.admin.v1.AdminService/Delete"}
	testCells = func() []gates.CellRef {
		var out []gates.CellRef
		for _, size := range []string{"1", "4"} {
			for _, pol := range []string{"pick_first", "round_robin"} {
				for r := range 2 {
					out = append(out, gates.CellRef{
						ID:     "pool.size=" + size + ",lb.policy=" + pol + "#" + string(rune('0'+r)),
						Params: []results.Param{{Path: "client.pool.size", Value: size}, {Path: "client.lb.policy", Value: pol}},
					})
				}
			}
		}
		return out
	}()
)

// load decodes and validates a scenario like the scenario loader will:
// yamlx.Decode, then Validate prefixed with "thresholds", located with the
// thresholds' own positions merged in.
func load(t *testing.T, src string) (scenario, error) {
	t.Helper()
	node, err := yamlx.Parse("s.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	var sc scenario
	pos, err := yamlx.Decode("s.yaml", node, &sc)
	if err != nil {
		return sc, err
	}
	for k, v := range sc.Thresholds.Positions("thresholds") {
		pos[k] = v
	}
	return sc, pos.Locate("s.yaml", field.Prefix("thresholds", sc.Thresholds.Validate(testDims, testCells, testMethods)))
}

func TestThresholdsGrammar(t *testing.T) {
	tests := []struct {
		name string
		src  string
		// rules: per rule "cells|method|metric=expr,metric=expr"
		rules []string
	}{
		{
			name:  "global map",
			src:   "thresholds: {p99: \"< 150ms\", error_rate: \"< 1%\", rps: \"> 1800\"}\n",
			rules: []string{"||p99=< 150ms,error_rate=< 1%,rps=> 1800"},
		},
		{
			name:  "unquoted less-than",
			src:   "thresholds:\n  p99: < 150ms\n  breaker_trips: == 0\n",
			rules: []string{"||p99=< 150ms,breaker_trips=== 0"},
		},
		{
			name: "list of rules",
			src: `thresholds:
  - {p99: "< 150ms"}
  - {cells: "pool.size=4", method: GetUser, p99: "< 100ms", attempt.p99.9: "< 80ms"}
  - cells: ["pool.size=1", "lb.policy=pick_first"]
    retries_per_call: "< 0.2"
  - {cells: "*", rps_ratio: ">= 95%"}
`,
			rules: []string{"||p99=< 150ms", "pool.size=4|GetUser|p99=< 100ms,attempt.p99.9=< 80ms",
				"pool.size=1;lb.policy=pick_first||retries_per_call=< 0.2", "*||rps_ratio=>= 95%"},
		},
		{
			name:  "map with selector",
			src:   "thresholds: {cells: \"size=4,policy=round_robin\", method: ListUsers, ttfm.p99: \"< 5ms\"}\n",
			rules: []string{"size=4,policy=round_robin|ListUsers|ttfm.p99=< 5ms"},
		},
		{name: "absent", src: "name: x\n"},
		{name: "null", src: "thresholds:\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sc, err := load(t, tt.src)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, r := range sc.Thresholds.Rules {
				var checks []string
				for _, c := range r.Checks {
					checks = append(checks, c.Metric+"="+c.Expr)
				}
				got = append(got, strings.Join(r.Cells, ";")+"|"+r.Method+"|"+strings.Join(checks, ","))
			}
			if strings.Join(got, "\n") != strings.Join(tt.rules, "\n") {
				t.Fatalf("rules:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tt.rules, "\n"))
			}
			if sc.Thresholds.Empty() != (len(tt.rules) == 0) {
				t.Fatalf("Empty() = %v", sc.Thresholds.Empty())
			}
		})
	}
}

// TestThresholdsErrors checks that every bad threshold is reported at load
// time with its file, line and field path.
func TestThresholdsErrors(t *testing.T) {
	tests := []struct {
		name string
		src  string
		want []string
	}{
		{"malformed expression", "thresholds: {p99: \"<< 1\"}\n", []string{`s.yaml:1: thresholds.p99: malformed expression "<< 1"`}},
		{"unknown metric", "thresholds:\n  p99: \"< 1s\"\n  p98.x: \"< 1s\"\n", []string{`s.yaml:3: thresholds.p98.x: unknown metric "p98.x"`}},
		{"typo metric", "thresholds:\n  eror_rate: \"< 1%\"\n", []string{`s.yaml:2: thresholds.eror_rate: unknown metric`}},
		{"no unit", "thresholds:\n  - {p99: \"< 150\"}\n", []string{`s.yaml:2: thresholds[0].p99: expression "< 150": p99 is a latency`}},
		{"selector matches nothing", `thresholds:
  - {p99: "< 1s"}
  - {p50: "< 1s"}
  - {cells: "pool.size=9", p99: "< 1s"}
`, []string{`s.yaml:4: thresholds[2].cells: selector "pool.size=9" matches no cell`}},
		{"unknown dimension", "thresholds:\n  - cells: \"pool.sise=4\"\n    p99: \"< 1s\"\n",
			[]string{`s.yaml:2: thresholds[0].cells: selector "pool.sise=4": no matrix dimension "pool.sise" (dimensions: client.pool.size, client.lb.policy)`}},
		{"second selector of list", "thresholds:\n  - cells: [\"pool.size=4\", \"nosuchcell\"]\n    p99: \"< 1s\"\n",
			[]string{`s.yaml:2: thresholds[0].cells[1]: selector "nosuchcell" matches no cell`}},
		{"malformed selector", "thresholds:\n  - {cells: \"pool.size=\", p99: \"< 1s\"}\n", []string{`thresholds[0].cells: selector "pool.size=": malformed condition`}},
		{"unknown method", "thresholds:\n  - {method: GetUsers, p99: \"< 1s\"}\n", []string{`s.yaml:2: thresholds[0].method: unknown method "GetUsers" (methods: grpcbench.user.v1.UserService/GetUser, `}},
		{"ambiguous method", "thresholds:\n  - {method: Delete, p99: \"< 1s\"}\n",
			[]string{`s.yaml:2: thresholds[0].method: method "Delete" is ambiguous: it names grpcbench.user.v1.UserService/Delete and grpcbench.admin.v1.AdminService/Delete`}},
		{"leading slash", "thresholds:\n  - {method: /grpcbench.user.v1.UserService/GetUser, p99: \"< 1s\"}\n", []string{`thresholds[0].method: unknown method "/grpcbench.user.v1.UserService/GetUser"`}},
		{"per-cell metric with method", "thresholds:\n  - method: GetUser\n    breaker_trips: \"== 0\"\n",
			[]string{`s.yaml:3: thresholds[0].breaker_trips: breaker_trips describes the whole cell`}},
		{"rule without checks", "thresholds:\n  - {cells: \"*\"}\n", []string{`s.yaml:2: thresholds[0]: rule checks no metric`}},
		{"same metric twice", "thresholds:\n  - {p99: \"< 1s\", latency.p99: \"< 2s\"}\n", []string{`thresholds[0].latency.p99: metric p99 checked twice`}},
		{"several at once", "thresholds:\n  p99: \"<< 1\"\n  rps: \"> 5%\"\n  x: \"< 1\"\n", []string{
			`s.yaml:2: thresholds.p99: malformed`, `s.yaml:3: thresholds.rps: expression "> 5%": rps is calls per second`, `s.yaml:4: thresholds.x: unknown metric`}},
		// Shape errors come from the decoder.
		{"scalar", "thresholds: fast\n", []string{`s.yaml:1: thresholds: expected a mapping of metric: expression, or a list of rules`}},
		{"nested value", "thresholds:\n  p99: {lt: 1s}\n", []string{`s.yaml:2: thresholds: p99 (line 2): expected an expression`}},
		{"rule not a mapping", "thresholds:\n  - p99\n", []string{`thresholds: [0] (line 2): expected a mapping`}},
		{"duplicate key", "thresholds:\n  - {p99: \"< 1s\", p99: \"< 2s\"}\n", []string{`[0].p99 (line 2): given twice`}},
		{"method not scalar", "thresholds:\n  - {method: [a], p99: \"< 1s\"}\n", []string{`[0].method (line 2): expected a method name`}},
		{"cells not strings", "thresholds:\n  - {cells: [{a: 1}], p99: \"< 1s\"}\n", []string{`[0].cells[0] (line 2): expected a selector string`}},
		{"cells mapping", "thresholds:\n  - {cells: {a: 1}, p99: \"< 1s\"}\n", []string{`[0].cells (line 2): expected a selector or a list`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := load(t, tt.src)
			if err == nil {
				t.Fatal("no error")
			}
			var es yamlx.Errors
			if !errors.As(err, &es) {
				t.Fatalf("error %T is not located: %v", err, err)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error:\n%v\nwant it to contain %q", err, w)
				}
			}
			if n := strings.Count(err.Error(), "\n") + 1; n != len(tt.want) && !strings.HasPrefix(tt.name, "malformed selector") {
				t.Errorf("%d errors, want %d:\n%v", n, len(tt.want), err)
			}
		})
	}
}

func TestSelectors(t *testing.T) {
	ref := func(id, size, pol string) gates.CellRef {
		return gates.CellRef{ID: id, Params: []results.Param{{Path: "client.pool.size", Value: size}, {Path: "client.lb.policy", Value: pol}}}
	}
	a := ref("pool.size=4,lb.policy=round_robin#0", "4", "round_robin")
	b := ref("pool.size=4,lb.policy=pick_first#1", "4", "pick_first")
	c := ref("pool.size=1,lb.policy=round_robin#1", "1", "round_robin")
	tests := []struct {
		sel  string
		want string // which of a, b, c match
		err  string
	}{
		{sel: "*", want: "abc"},
		{sel: "pool.size=4", want: "ab"},
		{sel: "client.pool.size=4", want: "ab"},
		{sel: "size=4", want: "ab"},
		{sel: "pool.size=4, lb.policy=round_robin", want: "a"},
		{sel: "pool.size!=4", want: "c"},
		{sel: "lb.policy!=pick_first,size=1", want: "c"},
		{sel: "pool.size=4,lb.policy=round_robin#0", want: "a"},
		{sel: "pool.size=4,lb.policy=round_robin#1", want: ""},
		{sel: "pool.size=8", want: ""},
		{sel: "", err: "empty selector"},
		{sel: "pool=4", err: `no matrix dimension "pool"`},
		{sel: "size==4", err: "malformed condition"},
		{sel: "=4", err: "malformed condition"},
		{sel: "size=4,", err: "malformed condition"},
	}
	for _, tt := range tests {
		t.Run(tt.sel, func(t *testing.T) {
			s, err := gates.ParseSelector(tt.sel, testDims)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err = %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got := ""
			for i, r := range []gates.CellRef{a, b, c} {
				if s.Match(r) {
					got += string(rune('a' + i))
				}
			}
			if got != tt.want {
				t.Fatalf("matches %q, want %q", got, tt.want)
			}
		})
	}
	if _, err := gates.ParseSelector("size=1", []string{"client.pool.size", "server.size"}); err == nil || !strings.Contains(err.Error(), "ambiguous") {
		t.Fatalf("ambiguous suffix: %v", err)
	}
	if _, err := gates.ParseSelector("size=1", nil); err == nil || !strings.Contains(err.Error(), "no matrix") {
		t.Fatalf("no matrix: %v", err)
	}
	plain := gates.CellRef{ID: "default#2"}
	if s, _ := gates.ParseSelector("default", nil); !s.Match(plain) {
		t.Fatal("ID selector should match every repeat")
	}
	if got := gates.BaseID("a=1#x"); got != "a=1#x" {
		t.Fatalf("BaseID kept non-numeric suffix wrongly: %q", got)
	}
}

func TestEvaluate(t *testing.T) {
	run := mkRun("eval", 2, map[string]time.Duration{"1": 40 * time.Millisecond, "4": 10 * time.Millisecond}, 1)
	run.Cells[3].Error = "dial failed"
	sc, err := load(t, `thresholds:
  - {p99: "< 30ms", error_rate: "< 1%"}
  - {cells: "pool.size=4", method: GetUser, p50: "< 20ms", rps: "> 1"}
  - {cells: "pool.size=4", method: ListUsers, ttfm.p99: "< 5ms", rtt.p99: "< 1s"}
  - {breaker_trips: "== 0", rps_ratio: ">= 0.8"}
`)
	if err != nil {
		t.Fatal(err)
	}
	vs := gates.Evaluate(run, sc.Thresholds)
	type key struct{ cell, metric string }
	got := map[key]gates.Verdict{}
	for _, v := range vs {
		got[key{v.Cell, v.Metric}] = v
	}
	// 4 cells × 2 + 2 × 2 + 2 × 2 + 4 × 2
	if len(vs) != 24 {
		t.Fatalf("%d verdicts, want 24", len(vs))
	}
	tests := []struct {
		cell, metric string
		pass         bool
		note         string
	}{
		{"pool.size=1#0", "p99", false, ""}, // ~80 ms
		{"pool.size=4#0", "p99", true, ""},  // ~20 ms
		{"pool.size=4#1", "p99", false, "cell failed: dial failed"},
		{"pool.size=1#0", "error_rate", true, ""},
		{"pool.size=4#0", "p50", true, ""},
		{"pool.size=4#0", "rps", true, ""},
		{"pool.size=4#0", "ttfm.p99", true, ""},
		{"pool.size=4#0", "rtt.p99", false, "no data: no rtt samples"},
		{"pool.size=4#0", "breaker_trips", false, ""},
		{"pool.size=4#0", "rps_ratio", true, ""}, // 51/60 = 0.85
	}
	for _, tt := range tests {
		v, ok := got[key{tt.cell, tt.metric}]
		if !ok {
			t.Errorf("no verdict for %s %s", tt.cell, tt.metric)
			continue
		}
		if v.Pass != tt.pass || v.Note != tt.note {
			t.Errorf("%s %s: pass %v note %q value %s; want pass %v note %q", tt.cell, tt.metric, v.Pass, v.Note, v.Display, tt.pass, tt.note)
		}
	}
	if v := got[key{"pool.size=1#0", "p99"}]; v.Value < 0.03 || !strings.HasSuffix(v.Display, "ms") || v.Expr != "< 30ms" {
		t.Errorf("verdict %+v", v)
	}

	var b strings.Builder
	if err := gates.WriteVerdicts(&b, vs); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{"FAIL    pool.size=1#0", "GetUser", "thresholds: ", " of 24 checks failed", "no data: no rtt samples"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

// TestEvaluateFailsClosed: rules that were not validated, or that match
// nothing in this run, give failing verdicts rather than none.
func TestEvaluateFailsClosed(t *testing.T) {
	run := mkRun("eval", 1, map[string]time.Duration{"1": time.Millisecond}, 1)
	th := gates.Thresholds{Rules: []gates.Rule{
		{Checks: []gates.Check{{Metric: "p98.x", Expr: "< 1s"}}},
		{Checks: []gates.Check{{Metric: "p99", Expr: "<< 1"}}},
		{Cells: []string{"pool.size=8"}, Checks: []gates.Check{{Metric: "p99", Expr: "< 1s"}}},
		{Cells: []string{"nodim=1"}, Checks: []gates.Check{{Metric: "p99", Expr: "< 1s"}}},
		{Method: "GetUser", Checks: []gates.Check{{Metric: "breaker_trips", Expr: "== 0"}}},
		{Checks: []gates.Check{{Metric: "p99", Expr: "< 1s"}}},
	}}
	vs := gates.Evaluate(run, th)
	if len(vs) != 6 {
		t.Fatalf("%d verdicts: %+v", len(vs), vs)
	}
	for i, v := range vs[:5] {
		if v.Pass || v.Note == "" {
			t.Errorf("verdict %d passed or has no note: %+v", i, v)
		}
	}
	if !vs[5].Pass {
		t.Errorf("valid rule failed: %+v", vs[5])
	}
	if len(gates.Failures(vs)) != 5 {
		t.Errorf("Failures = %d", len(gates.Failures(vs)))
	}
	if vs := gates.Evaluate(nil, th); len(vs) != 6 || len(gates.Failures(vs)) != 6 {
		t.Errorf("nil run: %+v", vs)
	}
}
