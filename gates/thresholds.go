package gates

import (
	"errors"
	"fmt"
	"strconv"

	"gopkg.in/yaml.v3"

	"github.com/grpcbench/grpcbench/field"
	"github.com/grpcbench/grpcbench/internal/yamlx"
	"github.com/grpcbench/grpcbench/results"
)

// Thresholds are absolute limits a run must meet, from a scenario's
// `thresholds` key. Two YAML forms are accepted:
//
//	# one rule (here for every cell and all methods together)
//	thresholds: {p99: "< 150ms", error_rate: "< 1%", rps: "> 1800"}
//
//	# a list of rules, each optionally narrowed to cells and a method
//	thresholds:
//	  - {p99: "< 150ms", error_rate: "< 1%"}                 # every cell
//	  - {cells: "pool.size=4", method: GetUser, p99: "< 100ms"}
//	  - {cells: ["pool.size=1", "lb.policy=pick_first"], retries_per_call: "< 0.2"}
//
// In a rule, `cells` is a selector or a list of them (any may match;
// absent means every cell), `method` a method of the scenario (absent
// means all methods aggregated), and every other key a metric name with an
// expression. Quote expressions that start with ">" — YAML reads a bare >
// as a folded block. The package documentation gives the grammars.
//
// A method is named in full without the leading slash
// ("grpcbench.user.v1.UserService/GetUser"), or by a short form that names
// one method of the scenario only: "GetUser" or "UserService/GetUser".
//
// A threshold applies to every repeat of a matching cell separately.
type Thresholds struct {
	// Rules are the rules in file order.
	Rules []Rule
	// mapForm records that the YAML used the single-mapping form, so field
	// paths are "p99" rather than "[0].p99".
	mapForm bool
	line    int
}

// Rule is one set of checks on the cells its selectors choose.
type Rule struct {
	// Cells are selectors; empty means every cell.
	Cells []string
	// Method selects one method ("GetUser", "UserService/GetUser" or the
	// full name; see [results.MatchMethod]); empty means all methods.
	Method string
	// Checks are metric: expression pairs in file order.
	Checks []Check

	line, cellsLine, methodLine int
}

// Check is one metric compared with an expression.
type Check struct {
	Metric string
	Expr   string

	line int
}

// UnmarshalYAML implements yaml.Unmarshaler (and so yamlx decoding) for
// both forms. It checks the shape only; [Thresholds.Validate] checks the
// metric names, expressions and selectors.
func (t *Thresholds) UnmarshalYAML(n *yaml.Node) error {
	*t = Thresholds{line: n.Line}
	switch n.Kind {
	case yaml.MappingNode:
		r, err := decodeRule(n, "")
		if err != nil {
			return err
		}
		t.mapForm = true
		t.Rules = []Rule{r}
	case yaml.SequenceNode:
		var errs []error
		for i, item := range n.Content {
			r, err := decodeRule(item, fmt.Sprintf("[%d]", i))
			errs = append(errs, err)
			t.Rules = append(t.Rules, r)
		}
		if err := errors.Join(errs...); err != nil {
			return err
		}
	case yaml.ScalarNode:
		if n.Tag == "!!null" {
			return nil
		}
		return fmt.Errorf("expected a mapping of metric: expression, or a list of rules, got %q", n.Value)
	default:
		return errors.New("expected a mapping of metric: expression, or a list of rules")
	}
	return nil
}

func decodeRule(n *yaml.Node, path string) (Rule, error) {
	r := Rule{line: n.Line}
	if n.Kind != yaml.MappingNode {
		return r, shapeErr(n, path, "expected a mapping such as {cells: \"pool.size=4\", p99: \"< 100ms\"}")
	}
	var errs []error
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		p := field.Join(path, k.Value)
		if seen[k.Value] {
			errs = append(errs, shapeErr(k, p, "given twice"))
			continue
		}
		seen[k.Value] = true
		switch {
		case k.Value == "cells":
			r.cellsLine = v.Line
			switch v.Kind {
			case yaml.ScalarNode:
				r.Cells = []string{v.Value}
			case yaml.SequenceNode:
				for j, s := range v.Content {
					if s.Kind != yaml.ScalarNode {
						errs = append(errs, shapeErr(s, fmt.Sprintf("%s[%d]", p, j), "expected a selector string"))
						continue
					}
					r.Cells = append(r.Cells, s.Value)
				}
			default:
				errs = append(errs, shapeErr(v, p, "expected a selector or a list of selectors"))
			}
		case k.Value == "method":
			r.methodLine = v.Line
			if v.Kind != yaml.ScalarNode {
				errs = append(errs, shapeErr(v, p, "expected a method name such as GetUser or UserService/GetUser"))
				continue
			}
			r.Method = v.Value
		default:
			if v.Kind != yaml.ScalarNode {
				errs = append(errs, shapeErr(v, p, "expected an expression such as \"< 150ms\""))
				continue
			}
			r.Checks = append(r.Checks, Check{Metric: k.Value, Expr: v.Value, line: v.Line})
		}
	}
	return r, errors.Join(errs...)
}

// shapeErr reports a structural problem of the thresholds value. The
// decoder locates it at the thresholds key, so the message names the
// sub-path and its own line.
func shapeErr(n *yaml.Node, path, msg string) error {
	return fmt.Errorf("%s (line %d): %s", path, n.Line, msg)
}

// Positions returns the YAML line of every rule, selector list, method and
// check, keyed by field path under prefix (normally "thresholds"), for a
// loader to merge into the positions of the whole file so that errors of
// [Thresholds.Validate] point at the right line. yamlx does not descend
// into types that decode themselves.
func (t Thresholds) Positions(prefix string) yamlx.Positions {
	pos := yamlx.Positions{}
	if t.line > 0 {
		pos[prefix] = t.line
	}
	for i, r := range t.Rules {
		rp := t.rulePath(prefix, i)
		if r.line > 0 {
			pos[rp] = r.line
		}
		if r.cellsLine > 0 {
			pos[field.Join(rp, "cells")] = r.cellsLine
		}
		if r.methodLine > 0 {
			pos[field.Join(rp, "method")] = r.methodLine
		}
		for _, c := range r.Checks {
			if c.line > 0 {
				pos[field.Join(rp, c.Metric)] = c.line
			}
		}
	}
	return pos
}

func (t Thresholds) rulePath(prefix string, i int) string {
	if t.mapForm {
		return prefix
	}
	return field.Join(prefix, "["+strconv.Itoa(i)+"]")
}

// Empty reports whether there is nothing to check.
func (t Thresholds) Empty() bool {
	for _, r := range t.Rules {
		if len(r.Checks) > 0 {
			return false
		}
	}
	return true
}

// Validate checks every rule against the run to come: dims are the
// scenario's matrix paths, cells the cells it will run and methods the full
// names of the methods it will call ("grpcbench.user.v1.UserService/GetUser").
// It reports, as errors.Join of *field.Error with paths relative to the
// thresholds value ("p99", "[2].cells"), every unknown metric, malformed
// expression, unknown or ambiguous method, metric that cannot be asked of
// one method, and selector that matches no cell:
//
//	p99: malformed expression "<< 1": bad value "< 1" ...
//	[2].cells: selector "pool.size=9" matches no cell
//	[1].method: method "Get" is ambiguous: it names a.v1.S/Get and b.v1.T/Get
func (t Thresholds) Validate(dims []string, cells []CellRef, methods []string) error {
	var errs []error
	for i, r := range t.Rules {
		rp := t.rulePath("", i)
		if len(r.Checks) == 0 {
			errs = append(errs, field.Errorf(rp, "rule checks no metric"))
		}
		for j, sel := range r.Cells {
			sp := field.Join(rp, "cells")
			if len(r.Cells) > 1 {
				sp = field.Join(sp, "["+strconv.Itoa(j)+"]")
			}
			s, err := parseSelector(sel, dims)
			if err != nil {
				errs = append(errs, field.Errorf(sp, "%v", err))
				continue
			}
			if !matchesAny(s, cells) {
				errs = append(errs, field.Errorf(sp, "selector %q matches no cell", sel))
			}
		}
		if r.Method != "" {
			if _, err := results.MatchMethod(r.Method, methods); err != nil {
				errs = append(errs, field.Errorf(field.Join(rp, "method"), "%v", err))
			}
		}
		seen := map[string]bool{}
		for _, c := range r.Checks {
			cp := field.Join(rp, c.Metric)
			m, err := parseMetric(c.Metric)
			if err != nil {
				errs = append(errs, field.Errorf(cp, "%v", err))
				continue
			}
			if seen[m.Name] {
				errs = append(errs, field.Errorf(cp, "metric %s checked twice in one rule", m.Name))
			}
			seen[m.Name] = true
			if m.PerCell && r.Method != "" {
				errs = append(errs, field.Errorf(cp, "%s describes the whole cell: put it in a rule without method", m.Name))
			}
			if _, err := parseExpr(m, c.Expr); err != nil {
				errs = append(errs, field.Errorf(cp, "%v", err))
			}
		}
	}
	return errors.Join(errs...)
}

func matchesAny(s selector, cells []CellRef) bool {
	for _, c := range cells {
		if s.match(c) {
			return true
		}
	}
	return false
}
