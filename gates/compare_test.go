package gates_test

import (
	"encoding/xml"
	"errors"
	"io"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/grpcbench/grpcbench/gates"
	"github.com/grpcbench/grpcbench/results"
)

func TestParseGate(t *testing.T) {
	tests := []struct {
		in       string
		text     string
		limit    float64
		relative bool
		method   string
		err      string
	}{
		{in: "p99=+10%", text: "p99=+10%", limit: 0.10, relative: true},
		{in: "p99=10%", text: "p99=+10%", limit: 0.10, relative: true},
		{in: " latency.p50 = +5% ", text: "p50=+5%", limit: 0.05, relative: true},
		{in: "attempt.p99@GetUser=+2ms", text: "attempt.p99@GetUser=+2ms", limit: 0.002, method: "GetUser"},
		{in: "error_rate=+0.01", text: "error_rate=+0.01", limit: 0.01},
		{in: "error_rate=+50%", text: "error_rate=+50%", limit: 0.5, relative: true},
		{in: "rps=-5%", text: "rps=-5%", limit: 0.05, relative: true},
		{in: "rps=5%", text: "rps=-5%", limit: 0.05, relative: true},
		{in: "rps@ListUsers=-100", text: "rps@ListUsers=-100", limit: 100, method: "ListUsers"},
		{in: "breaker_trips=+0", text: "breaker_trips=+0", limit: 0},
		{in: "p99", err: "want metric=+N%"},
		{in: "=+10%", err: "want metric=+N%"},
		{in: "p99=", err: "want metric=+N%"},
		{in: "p98.x=+10%", err: "unknown metric"},
		{in: "p99=-10%", err: "regresses in the + direction: write p99=+10%"},
		{in: "rps=+10%", err: "regresses in the - direction: write rps=-10%"},
		{in: "p99=+10", err: "duration with a unit"},
		{in: "p99=+-10%", err: "give the sign once"},
		{in: "p99=+abc", err: "bad"},
		{in: "ok.p99@UserService/GetUser=+10%", text: "ok.p99@UserService/GetUser=+10%", limit: 0.1, relative: true, method: "UserService/GetUser"},
		{in: "breaker_trips@GetUser=+1", err: "whole cell"},
		{in: "error_rate=+2", err: "above 100%"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			g, err := gates.ParseGate(tt.in)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err = %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil || g.Text != tt.text || math.Abs(g.Limit-tt.limit) > 1e-12 || g.Relative != tt.relative || g.Method != tt.method {
				t.Fatalf("ParseGate = %+v, %v", g, err)
			}
		})
	}
	if _, err := gates.ParseGates([]string{"p99=+10%", "bad", "p50=x"}); err == nil || strings.Count(err.Error(), "\n") != 1 {
		t.Fatalf("ParseGates should report both bad gates: %v", err)
	}
}

// fixedCell is a cell whose every GetUser call took d and whose error rate
// is errRate.
func fixedCell(id string, repeat int, d time.Duration, errRate float64) *results.Cell {
	h := results.NewHistogram()
	for range 100 {
		h.Record(d)
	}
	ms := &results.MethodStats{Calls: 100, Errors: int64(math.Round(errRate * 100)), Latency: h}
	return &results.Cell{ID: id + "#" + string(rune('0'+repeat)), Repeat: repeat, Duration: time.Second,
		Load:    results.Load{Model: results.ModelClosed, AchievedRate: 100 * (1 - errRate), Completed: 100},
		Methods: map[string]*results.MethodStats{getUser: ms}, All: ms}
}

func fixedRun(name string, cells map[string][]float64) *results.Run {
	run := &results.Run{Schema: results.Schema, Name: name}
	for _, id := range []string{"a", "b", "c"} {
		for r, ms := range cells[id] {
			run.Cells = append(run.Cells, fixedCell(id, r, time.Duration(ms*float64(time.Millisecond)), 0))
		}
	}
	return run
}

func mustGates(t *testing.T, ss ...string) []gates.Gate {
	t.Helper()
	gs, err := gates.ParseGates(ss)
	if err != nil {
		t.Fatal(err)
	}
	return gs
}

func TestCompareVerdicts(t *testing.T) {
	tests := []struct {
		name       string
		base, new  []float64 // per-repeat p99 in ms of cell "a"
		gate       string
		strict     bool
		status     gates.Status
		low        bool
		pass       bool
		beyond     bool
		verdictHas string
	}{
		{name: "regression", base: []float64{10, 10.2, 9.9, 10.1, 10}, new: []float64{13, 13.1, 12.9, 13.2, 13}, gate: "p99=+10%",
			status: gates.StatusRegression, beyond: true, verdictHas: "REGRESSION"},
		{name: "within gate", base: []float64{10, 10.2, 9.9, 10.1, 10}, new: []float64{10.5, 10.6, 10.4, 10.7, 10.5}, gate: "p99=+10%",
			status: gates.StatusOK, pass: true, verdictHas: "ok"},
		{name: "beyond but not significant", base: []float64{10, 12, 14, 16, 18}, new: []float64{11, 13, 16, 17, 19}, gate: "p99=+10%",
			status: gates.StatusOK, pass: true, beyond: true, verdictHas: "ok (~)"},
		{name: "improvement", base: []float64{10, 10.2, 9.9, 10.1, 10}, new: []float64{7, 7.1, 6.9, 7.2, 7}, gate: "p99=+10%",
			status: gates.StatusImprovement, pass: true, verdictHas: "improvement"},
		{name: "absolute gate", base: []float64{10, 10.2, 9.9, 10.1, 10}, new: []float64{13, 13.1, 12.9, 13.2, 13}, gate: "p99=+5ms",
			status: gates.StatusOK, pass: true},
		// Too few repeats for any difference to be significant: the median
		// regressed, which is reported but fails only with Strict.
		{name: "two repeats: point estimate", base: []float64{10, 10.2}, new: []float64{13, 13.1}, gate: "p99=+10%",
			status: gates.StatusRegression, low: true, pass: true, beyond: true, verdictHas: "regression, low confidence"},
		{name: "two repeats: point estimate, strict", base: []float64{10, 10.2}, new: []float64{13, 13.1}, gate: "p99=+10%", strict: true,
			status: gates.StatusRegression, low: true, beyond: true, verdictHas: "REGRESSION, low confidence"},
		{name: "three repeats cannot reach alpha", base: []float64{10, 10.2, 9.9}, new: []float64{13, 13.1, 12.9}, gate: "p99=+10%",
			status: gates.StatusRegression, low: true, pass: true, beyond: true, verdictHas: "regression, low confidence"},
		{name: "one repeat, strict", base: []float64{10}, new: []float64{13}, gate: "p99=+10%", strict: true,
			status: gates.StatusRegression, low: true, beyond: true, verdictHas: "REGRESSION, low confidence"},
		{name: "one repeat within gate", base: []float64{10}, new: []float64{10.5}, gate: "p99=+10%",
			status: gates.StatusOK, low: true, pass: true, verdictHas: "ok, low confidence"},
		{name: "rps drop", base: []float64{10, 10.2, 9.9, 10.1, 10}, new: []float64{13, 13.1, 12.9, 13.2, 13}, gate: "rps=-5%",
			status: gates.StatusOK, pass: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			base := fixedRun("s", map[string][]float64{"a": tt.base})
			nw := fixedRun("s", map[string][]float64{"a": tt.new})
			c := compare(t, base, nw, gates.CompareOptions{Gates: mustGates(t, tt.gate), Strict: tt.strict})
			if len(c.Rows) != 1 {
				t.Fatalf("%d rows", len(c.Rows))
			}
			warned := strings.Contains(strings.Join(c.Warnings, "\n"), "with too few repeats to test")
			if warned != tt.low {
				t.Errorf("warnings %q: want a too-few-repeats warning: %v", c.Warnings, tt.low)
			}
			r := c.Rows[0]
			if r.Status != tt.status || r.LowConfidence != tt.low || r.Pass != tt.pass || r.Beyond != tt.beyond ||
				!strings.Contains(r.Verdict(), tt.verdictHas) {
				t.Fatalf("row %+v verdict %q; want status %v low %v pass %v beyond %v verdict %q", r, r.Verdict(), tt.status, tt.low, tt.pass, tt.beyond, tt.verdictHas)
			}
			if c.Failed() == tt.pass {
				t.Fatalf("Failed() = %v", c.Failed())
			}
		})
	}
}

func TestCompareNumbers(t *testing.T) {
	base := fixedRun("s", map[string][]float64{"a": {10, 10, 10, 10, 10.5}})
	nw := fixedRun("s", map[string][]float64{"a": {12, 12, 12, 12.5, 12}})
	c := compare(t, base, nw, gates.CompareOptions{Gates: mustGates(t, "p99=+10%", "max=+1ms", "error_rate=+0.01")})
	r := c.Rows[0]
	// The histogram holds 10 ms as 10.007 ms at 3 significant digits.
	if math.Abs(r.Base.Median-0.010) > 0.00002 || math.Abs(r.New.Median-0.012) > 0.00002 || math.Abs(r.Delta-0.2) > 0.005 {
		t.Fatalf("medians %v %v delta %v", r.Base.Median, r.New.Median, r.Delta)
	}
	if r.Exact {
		t.Fatal("repeated equal values are ties: the normal approximation applies")
	}
	if r.P >= 0.05 || r.Status != gates.StatusRegression {
		t.Fatalf("p = %v status %v", r.P, r.Status)
	}
	if !(r.CILow <= r.Delta && r.Delta <= r.CIHigh) || r.CILow <= 0.1 {
		t.Fatalf("CI [%v, %v] around %v", r.CILow, r.CIHigh, r.Delta)
	}
	if r2 := c.Rows[1]; r2.Status != gates.StatusRegression || math.Abs(r2.AbsDelta-0.002) > 0.00002 {
		t.Fatalf("max row %+v", r2)
	}
	if r3 := c.Rows[2]; r3.Status != gates.StatusOK || r3.Delta != 0 || r3.AbsDelta != 0 {
		t.Fatalf("error_rate row %+v", r3)
	}
	// The bootstrap is seeded: the same comparison gives the same interval.
	again := compare(t, base, nw, gates.CompareOptions{Gates: mustGates(t, "p99=+10%")})
	if again.Rows[0].CILow != r.CILow || again.Rows[0].CIHigh != r.CIHigh {
		t.Fatal("bootstrap interval is not reproducible")
	}
}

func TestCompareZeroBase(t *testing.T) {
	mk := func(rate float64) *results.Run {
		run := &results.Run{Schema: results.Schema, Name: "s"}
		for r := range 5 {
			run.Cells = append(run.Cells, fixedCell("a", r, time.Millisecond, rate))
		}
		return run
	}
	c := compare(t, mk(0), mk(0.05), gates.CompareOptions{Gates: mustGates(t, "error_rate=+0.01", "error_rate=+10%")})
	if r := c.Rows[0]; r.Status != gates.StatusRegression || math.Abs(r.AbsDelta-0.05) > 1e-12 {
		t.Fatalf("absolute row %+v", r)
	}
	if r := c.Rows[1]; !math.IsInf(r.Delta, 1) || r.Status != gates.StatusRegression {
		t.Fatalf("relative row from zero %+v", r)
	}
	if out := text(t, c); !strings.Contains(out, "+5pp") || !strings.Contains(out, "+Inf%") {
		t.Fatalf("text:\n%s", out)
	}
}

func TestCompareMissingAndFailed(t *testing.T) {
	base := fixedRun("s", map[string][]float64{"a": {10, 10, 10}, "b": {10, 10, 10}, "c": {10, 10, 10}})
	nw := fixedRun("s", map[string][]float64{"a": {10, 10, 10}, "c": {10, 10, 10}})
	nw.Cells = append(nw.Cells, fixedCell("d", 0, time.Millisecond, 0))
	for _, c := range nw.Cells {
		if strings.HasPrefix(c.ID, "c#") {
			c.Error = "target unreachable"
		}
	}
	nw.Cells[0].Error = "cut short" // a#0: left out, a keeps 2 repeats
	g := mustGates(t, "p99=+10%")
	for _, allow := range []bool{false, true} {
		c := compare(t, base, nw, gates.CompareOptions{Gates: g, AllowMissing: allow})
		byCell := map[string]gates.Row{}
		var order []string
		for _, r := range c.Rows {
			byCell[r.Cell] = r
			order = append(order, r.Cell)
		}
		if strings.Join(order, ",") != "a,b,c,d" {
			t.Fatalf("cell order %v", order)
		}
		if r := byCell["a"]; r.Status != gates.StatusOK || len(r.New.Values) != 2 || r.New.Failed != 1 || !strings.Contains(r.Note, "a#0 failed: cut short") || !r.LowConfidence {
			t.Errorf("a: %+v", r)
		}
		if r := byCell["b"]; r.Status != gates.StatusMissing || r.Pass != allow || !strings.Contains(r.Note, "absent from new") {
			t.Errorf("allow=%v b: %+v", allow, r)
		}
		if r := byCell["d"]; r.Status != gates.StatusMissing || r.Pass != allow || !strings.Contains(r.Note, "absent from base") {
			t.Errorf("allow=%v d: %+v", allow, r)
		}
		if r := byCell["c"]; r.Status != gates.StatusMissing || r.Pass || !strings.Contains(r.Note, "target unreachable") {
			t.Errorf("allow=%v c (every repeat failed) must fail: %+v", allow, r)
		}
		if !c.Failed() {
			t.Errorf("allow=%v: comparison passed with a failed cell", allow)
		}
	}
}

func TestCompareDefaultsAndWarnings(t *testing.T) {
	base := mkRun("s", 5, map[string]time.Duration{"1": 10 * time.Millisecond}, 1)
	nw := mkRun("other", 5, map[string]time.Duration{"1": 10 * time.Millisecond}, 2)
	base.Provenance.GoVersion, nw.Provenance.GoVersion = "go1.26.0", "go1.26.1"
	nw.Partial = true
	c := compare(t, base, nw, gates.CompareOptions{})
	if len(c.Gates) != len(gates.DefaultGates) || len(c.Rows) != len(gates.DefaultGates) || c.Alpha != gates.DefaultAlpha {
		t.Fatalf("defaults: %d gates, %d rows, alpha %v", len(c.Gates), len(c.Rows), c.Alpha)
	}
	w := strings.Join(c.Warnings, "\n")
	for _, want := range []string{`scenarios differ: "s" vs "other"`, "Go version differs", "new run is partial"} {
		if !strings.Contains(w, want) {
			t.Errorf("warnings lack %q:\n%s", want, w)
		}
	}
	if c.Failed() {
		t.Errorf("A/A comparison failed:\n%s", text(t, c))
	}
	if empty := compare(t, nil, nil, gates.CompareOptions{}); len(empty.Rows) != 0 || empty.Failed() {
		t.Errorf("nil runs: %+v", empty)
	}
}

// TestSimulatedGateTrust runs the gate-trust experiment (scripts/gate-trust.sh)
// on synthetic runs: 10 A/A comparisons must raise no alarm and 10 A/B
// comparisons with 20 % more latency must all be detected, with 5 repeats
// per side and ±5 % run-to-run noise on top of sampling noise.
func TestSimulatedGateTrust(t *testing.T) {
	const trials, repeats, shift = 10, 5, 0.20
	medians := map[string]time.Duration{"1": 20 * time.Millisecond, "4": 8 * time.Millisecond}
	shifted := map[string]time.Duration{}
	for k, v := range medians {
		shifted[k] = time.Duration(float64(v) * (1 + shift))
	}
	opts := gates.CompareOptions{Gates: mustGates(t, "p50=+10%", "p99=+10%")}
	falseAlarms, detections := 0, 0
	for i := range trials {
		seed := uint64(100 + 4*i)
		aa := compare(t, mkRun("s", repeats, medians, seed), mkRun("s", repeats, medians, seed+1), opts)
		ab := compare(t, mkRun("s", repeats, medians, seed+2), mkRun("s", repeats, shifted, seed+3), opts)
		if aa.Failed() {
			falseAlarms++
			t.Logf("A/A trial %d:\n%s", i, text(t, aa))
		}
		if ab.Count(gates.StatusRegression) > 0 && ab.Failed() {
			detections++
		}
		// The only warnings may be stated power: with ±5 % run-to-run
		// noise, 5+5 repeats cannot always resolve the +10 % gate (they do
		// resolve the +20 % shift of the A/B runs).
		for _, w := range append(aa.Warnings, ab.Warnings...) {
			if !strings.Contains(w, "is below what 5+5 repeats can detect (≥ ") {
				t.Errorf("trial %d: warning %q with %d repeats", i, w, repeats)
			}
		}
	}
	if falseAlarms != 0 || detections != trials {
		t.Fatalf("false alarms %d/%d (A/A), detections %d/%d (A/B)", falseAlarms, trials, detections, trials)
	}
}

func text(t *testing.T, c *gates.Comparison) string {
	t.Helper()
	var b strings.Builder
	if err := gates.WriteText(&b, c); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

func sampleComparison(t *testing.T) *gates.Comparison {
	t.Helper()
	base := fixedRun("base", map[string][]float64{"a": {10, 10.1, 9.9, 10, 10.2}, "b": {5, 5, 5, 5, 5}})
	nw := fixedRun("new", map[string][]float64{"a": {13, 13.1, 12.9, 13.2, 13}, "b": {5, 5.1, 5, 4.9, 5}, "c": {1}})
	c := compare(t, base, nw, gates.CompareOptions{Gates: mustGates(t, "p99=+10%", "error_rate=+0.01")})
	c.Base, c.New = "base.json", "new.json"
	return c
}

func TestWriteText(t *testing.T) {
	out := text(t, sampleComparison(t))
	for _, want := range []string{
		"cell  gate", "95% CI", "a     p99=+10%", "+30", "p=0.0", "n=5+5", "REGRESSION",
		"c     p99=+10%", "absent", "MISSING", "note: c p99=+10%: cell absent from base run",
		"FAIL: 6 checks, 1 regression, 2 missing",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("text lacks %q:\n%s", want, out)
		}
	}
}

func TestWriteMarkdown(t *testing.T) {
	var b strings.Builder
	if err := gates.WriteMarkdown(&b, sampleComparison(t)); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	lines := strings.Split(out, "\n")
	if !strings.HasPrefix(lines[0], "### ❌ grpcbench compare: FAIL") {
		t.Fatalf("heading %q", lines[0])
	}
	rows := 0
	for _, l := range lines {
		if strings.HasPrefix(l, "| ") && !strings.HasPrefix(l, "| cell") {
			rows++
			if strings.Count(l, " | ")+1 != 10 {
				t.Errorf("row with wrong column count: %q", l)
			}
		}
	}
	if rows != 6 {
		t.Errorf("%d table rows, want 6:\n%s", rows, out)
	}
	for _, want := range []string{"Base `base.json` vs new `new.json`", "`p99=+10%`", "**REGRESSION**", "error\\_rate", "- c p99=+10%: cell absent from base run"} {
		if !strings.Contains(out, want) {
			t.Errorf("markdown lacks %q:\n%s", want, out)
		}
	}
}

func TestWriteJUnit(t *testing.T) {
	c := sampleComparison(t)
	var b strings.Builder
	if err := gates.WriteJUnit(&b, c); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	// Well formed: the tokenizer reads to EOF, with one root element.
	dec := xml.NewDecoder(strings.NewReader(out))
	depth, roots := 0, 0
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("malformed XML: %v\n%s", err, out)
		}
		switch tok.(type) {
		case xml.StartElement:
			if depth == 0 {
				roots++
			}
			depth++
		case xml.EndElement:
			depth--
		}
	}
	if roots != 1 || depth != 0 {
		t.Fatalf("%d roots, depth %d", roots, depth)
	}
	// The common JUnit shape: testsuites > testsuite > testcase > failure.
	var s junitSuites
	if err := xml.Unmarshal([]byte(out), &s); err != nil {
		t.Fatal(err)
	}
	if s.XMLName.Local != "testsuites" || len(s.Suites) != 3 || s.Tests != 6 || s.Failures != 3 || s.Skipped != 0 {
		t.Fatalf("testsuites %+v", s)
	}
	sum := 0
	for _, su := range s.Suites {
		if su.Tests != len(su.Cases) {
			t.Errorf("suite %s: tests=%d, %d cases", su.Name, su.Tests, len(su.Cases))
		}
		for _, tc := range su.Cases {
			if tc.Name == "" || tc.Classname == "" {
				t.Errorf("case without name: %+v", tc)
			}
			if tc.Failure != nil {
				sum++
			}
		}
	}
	if sum != s.Failures {
		t.Errorf("%d failure elements, failures=%d", sum, s.Failures)
	}
	fa := s.Suites[0].Cases[0]
	if fa.Name != "p99=+10%" || fa.Classname != "grpcbench.compare.a" || fa.Failure == nil || fa.Failure.Type != "regression" ||
		!strings.Contains(fa.Failure.Message, "+30") || !strings.Contains(fa.Failure.Message, "p=0.0") || !strings.Contains(fa.Failure.Text, "base 10") {
		t.Fatalf("case a p99: %+v", fa)
	}
	if mc := s.Suites[2].Cases[0]; mc.Failure == nil || mc.Failure.Type != "missing" {
		t.Fatalf("missing case %+v", mc)
	}
	// Allowed missing cells are skipped, not failed.
	base := fixedRun("s", map[string][]float64{"a": {1}})
	nw := fixedRun("s", map[string][]float64{"a": {1}, "b": {1}})
	var b2 strings.Builder
	if err := gates.WriteJUnit(&b2, compare(t, base, nw, gates.CompareOptions{Gates: mustGates(t, "p99=+10%"), AllowMissing: true})); err != nil {
		t.Fatal(err)
	}
	var s2 junitSuites
	if err := xml.Unmarshal([]byte(b2.String()), &s2); err != nil {
		t.Fatal(err)
	}
	if s2.Failures != 0 || s2.Skipped != 1 || s2.Suites[1].Cases[0].Skipped == nil {
		t.Fatalf("allowed missing: %+v", s2)
	}
}

// junitSuites is how a CI system reads the JUnit XML.
type junitSuites struct {
	XMLName  xml.Name
	Tests    int `xml:"tests,attr"`
	Failures int `xml:"failures,attr"`
	Skipped  int `xml:"skipped,attr"`
	Suites   []struct {
		Name  string `xml:"name,attr"`
		Tests int    `xml:"tests,attr"`
		Cases []struct {
			Name      string `xml:"name,attr"`
			Classname string `xml:"classname,attr"`
			Failure   *struct {
				Message string `xml:"message,attr"`
				Type    string `xml:"type,attr"`
				Text    string `xml:",chardata"`
			} `xml:"failure"`
			Skipped *struct{} `xml:"skipped"`
		} `xml:"testcase"`
	} `xml:"testsuite"`
}
