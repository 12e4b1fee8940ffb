package gates

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/grpcbench/grpcbench/results"
)

// Verdict is the outcome of one threshold check on one cell.
type Verdict struct {
	// Cell is the cell's ID (with its repeat suffix); for a rule whose
	// selectors match no cell of the run it is the selectors, joined.
	Cell string
	// Method is the method checked, as the rule names it ("GetUser");
	// empty for all methods.
	Method string
	// Metric is the canonical metric name; Expr the expression as written.
	Metric string
	Expr   string
	// Rule is the index of the rule in Thresholds.Rules.
	Rule int
	// Value is the measured value in the metric's base unit (seconds for
	// latencies, a fraction for error_rate, calls/s for rps); Display is
	// it for people ("12.3ms", "0.5%").
	Value   float64
	Display string
	// Pass reports whether the value satisfies the expression. A check
	// without data (method never called, empty histogram, no target rate),
	// on a cell that failed, or that cannot be parsed does not pass: gates
	// fail closed.
	Pass bool
	// Note says why a check failed without a comparison.
	Note string
	// Inconclusive, when set, says why the value measures the load
	// generator rather than the service: the cell was saturated (see
	// [Saturation]). Pass is unchanged: a failing check still fails.
	Inconclusive string
}

// Evaluate checks every rule of t against every matching cell of run, each
// repeat separately, and returns one Verdict per (rule check, cell), in rule
// then cell order. A rule's method is resolved among the methods the run
// called ([results.MatchMethod]). Run Thresholds.Validate first to reject
// bad rules before the run; here they come back as failed verdicts, never
// as silent passes.
func Evaluate(run *results.Run, t Thresholds) []Verdict {
	if run == nil {
		run = &results.Run{}
	}
	methods := run.MethodNames()
	var out []Verdict
	for ri, r := range t.Rules {
		var sels []selector
		var ruleErr error
		for _, text := range r.Cells {
			s, err := parseSelector(text, run.Dimensions)
			if err != nil {
				ruleErr = err
				break
			}
			sels = append(sels, s)
		}
		method := ""
		if r.Method != "" && ruleErr == nil {
			method, ruleErr = results.MatchMethod(r.Method, methods)
		}
		for _, ch := range r.Checks {
			out = append(out, evaluateCheck(run.Cells, r, ri, ch, sels, method, ruleErr)...)
		}
	}
	return out
}

// evaluateCheck returns the verdicts of one check of rule r (index ri) on
// the cells its selectors choose, reading method (a key of Cell.Methods;
// empty for all methods). ruleErr is a problem of the rule itself.
func evaluateCheck(cells []*results.Cell, r Rule, ri int, ch Check, sels []selector, method string, ruleErr error) []Verdict {
	base := Verdict{Method: r.Method, Metric: ch.Metric, Expr: strings.TrimSpace(ch.Expr), Rule: ri, Display: "n/a"}
	m, err := parseMetric(ch.Metric)
	if err == nil {
		base.Metric = m.Name
	}
	var ex expr
	if err == nil {
		ex, err = parseExpr(m, ch.Expr)
	}
	if err == nil && m.PerCell && r.Method != "" {
		err = fmt.Errorf("%s describes the whole cell, not one method", m.Name)
	}
	if err == nil {
		err = ruleErr
	}
	if err != nil {
		base.Cell = selectorsText(r.Cells)
		base.Note = "invalid: " + err.Error()
		return []Verdict{base}
	}
	var out []Verdict
	for _, c := range cells {
		if c == nil || !matchAll(sels, CellRef{ID: c.ID, Params: c.Params}) {
			continue
		}
		v := base
		v.Cell = c.ID
		val, ok, why := m.value(c, method)
		switch {
		case !ok:
			v.Note = "no data: " + why
		default:
			v.Value, v.Display = val, m.format(val)
			v.Pass = ex.Op.holds(val, ex.Limit)
		}
		if c.Error != "" {
			v.Pass = false
			v.Note = strings.TrimPrefix(v.Note+"; ", "; ") + "cell failed: " + c.Error
		}
		if sat, why := Saturation(c); sat {
			v.Inconclusive = why
		}
		out = append(out, v)
	}
	if len(out) == 0 {
		base.Cell = selectorsText(r.Cells)
		base.Note = "matches no cell of the run"
		out = append(out, base)
	}
	return out
}

func matchAll(sels []selector, c CellRef) bool {
	if len(sels) == 0 {
		return true
	}
	for _, s := range sels {
		if s.match(c) {
			return true
		}
	}
	return false
}

func selectorsText(cells []string) string {
	if len(cells) == 0 {
		return "*"
	}
	return strings.Join(cells, " | ")
}

// Failures returns the verdicts that did not pass.
func Failures(vs []Verdict) []Verdict {
	var out []Verdict
	for _, v := range vs {
		if !v.Pass {
			out = append(out, v)
		}
	}
	return out
}

// WriteVerdicts prints verdicts as an aligned table, failures marked FAIL
// and values measured on a saturated cell marked inconclusive, then one
// line per such cell saying why, and a summary line:
//
//	result  cell           method   metric      value                limit   note
//	FAIL    pool.size=4#1  GetUser  p99         118ms (inconclusive)  < 100ms
//	ok      pool.size=4#1  *        error_rate  0.2% (inconclusive)   < 1%
//	inconclusive: cell pool.size=4#1: the load generator was saturated (…): these values measure the client, not the service
//	thresholds: 1 of 2 checks failed (2 inconclusive)
func WriteVerdicts(w io.Writer, vs []Verdict) error {
	var b strings.Builder
	tw := tabwriter.NewWriter(&b, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "result\tcell\tmethod\tmetric\tvalue\tlimit\tnote")
	for _, v := range vs {
		res := "ok"
		if !v.Pass {
			res = "FAIL"
		}
		method := v.Method
		if method == "" {
			method = "*"
		}
		value := v.Display
		if v.Inconclusive != "" {
			value += " (inconclusive)"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", res, v.Cell, method, v.Metric, value, v.Expr, v.Note)
	}
	_ = tw.Flush() // into a strings.Builder: cannot fail
	out := trimLines(b.String())
	inconc, seen := 0, map[string]bool{}
	for _, v := range vs {
		if v.Inconclusive == "" {
			continue
		}
		inconc++
		if !seen[v.Cell] {
			seen[v.Cell] = true
			out += fmt.Sprintf("inconclusive: cell %s: the load generator was saturated (%s): these values measure the client, not the service\n", v.Cell, v.Inconclusive)
		}
	}
	tail := ""
	if inconc > 0 {
		tail = fmt.Sprintf(" (%d inconclusive)", inconc)
	}
	if failed := len(Failures(vs)); failed == 0 {
		out += fmt.Sprintf("thresholds: all %d checks passed%s\n", len(vs), tail)
	} else {
		out += fmt.Sprintf("thresholds: %d of %d checks failed%s\n", failed, len(vs), tail)
	}
	if _, err := io.WriteString(w, out); err != nil {
		return fmt.Errorf("gates: writing verdicts: %w", err)
	}
	return nil
}

// trimLines removes the spaces a tabwriter leaves at the end of lines whose
// last cells are empty.
func trimLines(s string) string {
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		lines[i] = strings.TrimRight(l, " ")
	}
	return strings.Join(lines, "\n")
}
