package gates

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/grpcbench/grpcbench/results"
)

// CellRef names a cell a selector may match: its ID and matrix coordinates.
// The scenario loader builds them from the expanded matrix for
// [Thresholds.Validate].
type CellRef struct {
	ID     string
	Params []results.Param
}

// BaseID returns a cell ID without its "#repeat" suffix: the key that groups
// the repeats of one matrix point. "pool.size=4#2" → "pool.size=4".
func BaseID(id string) string {
	i := strings.LastIndexByte(id, '#')
	if i < 0 {
		return id
	}
	if _, err := strconv.Atoi(id[i+1:]); err != nil {
		return id
	}
	return id[:i]
}

// selector chooses cells. Its grammar is
//
//	selector = "*" | id | cond { "," cond }
//	cond     = path ( "=" | "!=" ) value
//
// "*" selects every cell. A list of conditions selects the cells whose
// matrix params satisfy all of them; path is a matrix dimension
// ("client.pool.size") or an unambiguous dotted suffix of one
// ("pool.size", "size"); value is compared as text with the cell's param.
// Anything without "=" is a cell ID, matched against the ID without its
// "#repeat" suffix (every repeat), or exactly when it has one ("x#1").
//
// A rule's cells may list several selectors; a cell matches when any does.
type selector struct {
	all   bool
	id    string
	conds []cond
}

type cond struct {
	dim   string // full dimension path
	neg   bool
	value string
}

// parseSelector parses a selector against the run's matrix dimensions.
func parseSelector(text string, dims []string) (selector, error) {
	t := strings.TrimSpace(text)
	var s selector
	switch {
	case t == "":
		return s, errors.New("empty selector")
	case t == "*":
		s.all = true
		return s, nil
	case !strings.Contains(t, "=") || strings.Contains(t, "#"):
		s.id = t
		return s, nil
	}
	var errs []error
	for term := range strings.SplitSeq(t, ",") {
		term = strings.TrimSpace(term)
		path, value, ok := strings.Cut(term, "=")
		neg := strings.HasSuffix(path, "!")
		path = strings.TrimSpace(strings.TrimSuffix(path, "!"))
		value = strings.TrimSpace(value)
		if !ok || path == "" || value == "" || strings.Contains(value, "=") {
			errs = append(errs, fmt.Errorf("selector %q: malformed condition %q (want path=value or path!=value)", t, term))
			continue
		}
		dim, err := resolveDim(path, dims)
		if err != nil {
			errs = append(errs, fmt.Errorf("selector %q: %w", t, err))
			continue
		}
		s.conds = append(s.conds, cond{dim: dim, neg: neg, value: value})
	}
	if err := errors.Join(errs...); err != nil {
		return selector{}, err
	}
	return s, nil
}

// resolveDim finds the dimension path names: itself or a unique dotted
// suffix.
func resolveDim(path string, dims []string) (string, error) {
	if slices.Contains(dims, path) {
		return path, nil
	}
	var found []string
	for _, d := range dims {
		if strings.HasSuffix(d, "."+path) {
			found = append(found, d)
		}
	}
	switch len(found) {
	case 1:
		return found[0], nil
	case 0:
		if len(dims) == 0 {
			return "", fmt.Errorf("no matrix dimension %q: the scenario has no matrix", path)
		}
		return "", fmt.Errorf("no matrix dimension %q (dimensions: %s)", path, strings.Join(dims, ", "))
	}
	return "", fmt.Errorf("%q is ambiguous: it names %s", path, strings.Join(found, " and "))
}

// match reports whether the selector chooses the cell.
func (s selector) match(c CellRef) bool {
	switch {
	case s.all:
		return true
	case s.id != "":
		if strings.Contains(s.id, "#") {
			return c.ID == s.id
		}
		return BaseID(c.ID) == s.id
	}
	for _, cd := range s.conds {
		v, ok := paramValue(c.Params, cd.dim)
		if !ok || (v == cd.value) == cd.neg {
			return false
		}
	}
	return true
}

func paramValue(ps []results.Param, path string) (string, bool) {
	for _, p := range ps {
		if p.Path == path {
			return p.Value, true
		}
	}
	return "", false
}
