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
	// Method is the method checked; empty for all methods.
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
}

// Evaluate checks every rule of t against every matching cell of run, each
// repeat separately, and returns one Verdict per (rule check, cell), in rule
// then cell order. Run Thresholds.Validate first to reject bad rules before
// the run; here they come back as failed verdicts, never as silent passes.
func Evaluate(run *results.Run, t Thresholds) []Verdict {
	var out []Verdict
	var dims []string
	var cells []*results.Cell
	if run != nil {
		dims, cells = run.Dimensions, run.Cells
	}
	for ri, r := range t.Rules {
		var sels []Selector
		var selErr error
		for _, text := range r.Cells {
			s, err := ParseSelector(text, dims)
			if err != nil {
				selErr = err
				break
			}
			sels = append(sels, s)
		}
		for _, ch := range r.Checks {
			base := Verdict{Method: r.Method, Metric: ch.Metric, Expr: strings.TrimSpace(ch.Expr), Rule: ri, Display: "n/a"}
			m, err := ParseMetric(ch.Metric)
			if err == nil {
				base.Metric = m.Name
			}
			var ex Expr
			if err == nil {
				ex, err = ParseExpr(m, ch.Expr)
			}
			if err == nil && m.PerCell && r.Method != "" {
				err = fmt.Errorf("%s describes the whole cell, not one method", m.Name)
			}
			if err == nil {
				err = selErr
			}
			if err != nil {
				v := base
				v.Cell = selectorsText(r.Cells)
				v.Note = "invalid: " + err.Error()
				out = append(out, v)
				continue
			}
			matched := false
			for _, c := range cells {
				if c == nil || !matchAll(sels, CellRef{ID: c.ID, Params: c.Params}) {
					continue
				}
				matched = true
				v := base
				v.Cell = c.ID
				val, ok, why := m.Value(c, r.Method)
				switch {
				case !ok:
					v.Note = "no data: " + why
				default:
					v.Value, v.Display = val, m.Format(val)
					v.Pass = ex.Op.Holds(val, ex.Limit)
				}
				if c.Error != "" {
					v.Pass = false
					v.Note = strings.TrimPrefix(v.Note+"; ", "; ") + "cell failed: " + c.Error
				}
				out = append(out, v)
			}
			if !matched {
				v := base
				v.Cell = selectorsText(r.Cells)
				v.Note = "matches no cell of the run"
				out = append(out, v)
			}
		}
	}
	return out
}

func matchAll(sels []Selector, c CellRef) bool {
	if len(sels) == 0 {
		return true
	}
	for _, s := range sels {
		if s.Match(c) {
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

// WriteVerdicts prints verdicts as an aligned table, failures marked FAIL,
// followed by a summary line:
//
//	FAIL  pool.size=4#0  GetUser  p99         118ms   < 100ms
//	ok    pool.size=4#0  *        error_rate  0.2%    < 1%
//	thresholds: 1 of 2 checks failed
func WriteVerdicts(w io.Writer, vs []Verdict) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
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
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", res, v.Cell, method, v.Metric, v.Display, v.Expr, v.Note)
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("gates: writing verdicts: %w", err)
	}
	failed := len(Failures(vs))
	var err error
	if failed == 0 {
		_, err = fmt.Fprintf(w, "thresholds: all %d checks passed\n", len(vs))
	} else {
		_, err = fmt.Fprintf(w, "thresholds: %d of %d checks failed\n", failed, len(vs))
	}
	if err != nil {
		return fmt.Errorf("gates: writing verdicts: %w", err)
	}
	return nil
}
