package scenarios

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/grpcbench/grpcbench/field"
	"github.com/grpcbench/grpcbench/gates"
	"github.com/grpcbench/grpcbench/internal/yamlx"
	"github.com/grpcbench/grpcbench/results"
)

// Spec is a loaded scenario file: the resolved scenario (overrides applied,
// defaults filled, validated) and what Expand needs to build its cells.
type Spec struct {
	// File is the file name used in error messages.
	File string
	// Scenario is the base scenario, before the matrix is applied.
	Scenario *Scenario
	// Sets are the overrides applied, "path=value".
	Sets []string
	// Thresholds are the scenario's gates, validated against its cells.
	Thresholds gates.Thresholds
	root       *yaml.Node // the document after overrides
	cells      []*Cell    // the expansion, computed once by Parse
}

// LoadFile reads, overrides, decodes and validates a scenario file. sets
// are "path=value" overrides (--set), applied before validation; a value is
// YAML ("8", "[1, 2]", "{size: 4}"). Errors name file, line and field.
func LoadFile(path string, sets ...string) (*Spec, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return Parse(path, data, sets...)
}

// Parse is LoadFile on bytes already read.
func Parse(file string, data []byte, sets ...string) (*Spec, error) {
	root, err := yamlx.Parse(file, data)
	if err != nil {
		return nil, err
	}
	if len(root.Content) > 0 && root.Content[0].Kind != yaml.MappingNode {
		return nil, &yamlx.Error{File: file, Line: root.Content[0].Line, Msg: "a scenario must be a mapping (name, server, load, mix, client, …)"}
	}
	setPaths := map[string]string{}
	for _, kv := range sets {
		k, v, ok := strings.Cut(kv, "=")
		k = strings.TrimSpace(k)
		if !ok || k == "" {
			return nil, fmt.Errorf("--set %q: want path=value, e.g. client.pool.size=8", kv)
		}
		val, err := yamlx.ParseValue(v)
		if err != nil {
			return nil, fmt.Errorf("--set %s: %w", kv, err)
		}
		if err := yamlx.Set(root, k, val); err != nil {
			return nil, fmt.Errorf("--set %s: %w", kv, err)
		}
		setPaths[k] = kv
	}
	s, err := decode(file, root, setPaths)
	if err != nil {
		return nil, err
	}
	sp := &Spec{File: file, Scenario: s, Sets: sets, root: root}
	if err := sp.checkMatrix(); err != nil {
		return nil, err
	}
	if err := sp.loadThresholds(); err != nil {
		return nil, err
	}
	return sp, nil
}

// decode turns a document into a validated Scenario with defaults.
func decode(file string, root *yaml.Node, setPaths map[string]string) (*Scenario, error) {
	s := &Scenario{}
	pos, err := yamlx.Decode(file, root, s)
	if err == nil {
		s.withDefaults(file)
		err = pos.Locate(file, s.Validate())
	}
	if err == nil {
		return s, nil
	}
	// Errors in overridden values have no line: name the --set instead.
	var es yamlx.Errors
	if errors.As(err, &es) && len(setPaths) > 0 {
		for _, e := range es {
			if e.Line != 0 {
				continue
			}
			for p, kv := range setPaths {
				if e.Path == p || strings.HasPrefix(e.Path, p+".") || strings.HasPrefix(e.Path, p+"[") {
					e.File = file + " (--set " + kv + ")"
				}
			}
		}
	}
	return nil, err
}

// checkMatrix validates the matrix: sizes, and every cell's scenario.
func (sp *Spec) checkMatrix() error {
	s := sp.Scenario
	n := 1
	var errs []error
	for _, d := range s.Matrix {
		line := 0
		if len(d.Values) > 0 {
			line = d.Values[0].Line
		}
		if _, err := yamlx.SplitPath(d.Path); err != nil || d.Path == "" {
			errs = append(errs, &yamlx.Error{File: sp.File, Line: line, Path: "matrix." + d.Path, Msg: "is not a field path"})
			continue
		}
		if strings.HasPrefix(d.Path, "matrix") || strings.HasPrefix(d.Path, "repeat") {
			errs = append(errs, &yamlx.Error{File: sp.File, Line: line, Path: "matrix." + d.Path, Msg: "cannot sweep the matrix or repeat themselves"})
		}
		if len(d.Values) == 0 {
			errs = append(errs, &yamlx.Error{File: sp.File, Line: line, Path: "matrix." + d.Path, Msg: "needs at least one value"})
		}
		n *= max(len(d.Values), 1)
	}
	if n*s.Repeat > MaxCells {
		errs = append(errs, &yamlx.Error{File: sp.File, Path: "matrix", Msg: fmt.Sprintf("expands to %d cells × %d repeats, more than %d", n, s.Repeat, MaxCells)})
	}
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	cells, err := sp.expand()
	sp.cells = cells
	return err
}

// Dimensions returns the matrix paths in order.
func (sp *Spec) Dimensions() []string {
	out := make([]string, len(sp.Scenario.Matrix))
	for i, d := range sp.Scenario.Matrix {
		out[i] = d.Path
	}
	return out
}

// Cell is one matrix point × repeat: a fully resolved scenario.
type Cell struct {
	// ID is stable across runs: the matrix coordinates with "client."
	// dropped, and the repeat, e.g. "pool.size=4,lb.policy=round_robin#2".
	// A scenario without a matrix has cells "base#1", "base#2", ….
	ID string
	// Index is the matrix point (0-based); Repeat the repetition (0-based).
	Index, Repeat int
	// Params are the coordinates, one per dimension.
	Params []results.Param
	// Scenario is the cell's resolved scenario.
	Scenario *Scenario
}

// Expand returns every cell: the Cartesian product of the matrix, in file
// order with the last dimension varying fastest, times Repeat. The whole
// matrix runs once per repeat (A B A B …), so drift over time spreads
// evenly over the points. Repeat r (0-based) runs with seed + r, so repeats
// are independent samples while the points of one repeat share their faults.
// Parse has already expanded and validated every cell, so Expand does not
// fail for a Spec made by Parse or LoadFile.
func (sp *Spec) Expand() ([]*Cell, error) {
	if sp.cells == nil {
		return sp.expand()
	}
	return sp.cells, nil
}

func (sp *Spec) expand() ([]*Cell, error) {
	dims := sp.Scenario.Matrix
	var points [][]int
	var rec func(prefix []int)
	rec = func(prefix []int) {
		if len(prefix) == len(dims) {
			points = append(points, append([]int(nil), prefix...))
			return
		}
		for i := range dims[len(prefix)].Values {
			rec(append(prefix, i))
		}
	}
	rec(nil)
	type point struct {
		id     string
		params []results.Param
		s      *Scenario
	}
	var pts []point
	var errs []error
	seen := map[string]bool{}
	for _, p := range points {
		root := yamlx.Clone(sp.root)
		// The matrix itself stays in each cell's tree: decoding it again is
		// harmless and keeps the positions right.
		var params []results.Param
		var idParts []string
		for di, vi := range p {
			d := dims[di]
			v := d.Values[vi]
			if err := yamlx.Set(root, d.Path, yamlx.Clone(v)); err != nil {
				errs = append(errs, &yamlx.Error{File: sp.File, Line: v.Line, Path: "matrix." + d.Path, Msg: err.Error()})
				continue
			}
			val := nodeString(v)
			params = append(params, results.Param{Path: d.Path, Value: val})
			idParts = append(idParts, strings.TrimPrefix(d.Path, "client.")+"="+val)
		}
		s, err := decode(sp.File, root, nil)
		if err != nil {
			if !seen[err.Error()] {
				seen[err.Error()] = true
				errs = append(errs, err)
			}
			continue
		}
		id := strings.Join(idParts, ",")
		if id == "" {
			id = "base"
		}
		pts = append(pts, point{id, params, s})
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	var cells []*Cell
	for r := range sp.Scenario.Repeat {
		for i, p := range pts {
			sc := p.s
			if r > 0 {
				// Each repeat draws its own faults, call mix and arrivals:
				// repeats with one seed would repeat one sample and hide
				// the run-to-run spread a comparison needs.
				c := *p.s
				c.Seed += int64(r)
				c.Server.Seed += int64(r)
				sc = &c
			}
			cells = append(cells, &Cell{ID: p.id + "#" + strconv.Itoa(r+1), Index: i, Repeat: r, Params: p.params, Scenario: sc})
		}
	}
	return cells, nil
}

// nodeString renders a matrix value compactly: scalars as written, others
// as flow YAML.
func nodeString(n *yaml.Node) string {
	if n.Kind == yaml.ScalarNode {
		return n.Value
	}
	c := yamlx.Clone(n)
	setFlow(c)
	b, err := yaml.Marshal(c)
	if err != nil {
		return "?"
	}
	return strings.TrimSpace(string(b))
}

func setFlow(n *yaml.Node) {
	n.Style = yaml.FlowStyle
	for _, c := range n.Content {
		setFlow(c)
	}
}

// Resolved returns the scenario as a generic tree (maps, lists, scalars)
// with defaults filled, for the results file.
func (s *Scenario) Resolved() any {
	b, err := yaml.Marshal(s)
	if err != nil {
		return map[string]any{"error": err.Error()}
	}
	var out any
	if err := yaml.Unmarshal(b, &out); err != nil {
		return map[string]any{"error": err.Error()}
	}
	return out
}

// MarshalYAML implements yaml.Marshaler: path → values, in order.
func (m Matrix) MarshalYAML() (any, error) {
	n := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
	for _, d := range m {
		n.Content = append(n.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: d.Path},
			&yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq", Content: d.Values, Style: yaml.FlowStyle})
	}
	return n, nil
}

// MarshalYAML implements yaml.Marshaler.
func (r RawYAML) MarshalYAML() (any, error) {
	if r.Node == nil {
		return nil, nil
	}
	return r.Node, nil
}

// loadThresholds decodes and validates the thresholds against the cells,
// before any load is sent: an unknown metric, a malformed expression or a
// selector that matches no cell is an error naming file, line and field.
func (sp *Spec) loadThresholds() error {
	n := sp.Scenario.Thresholds.Node
	if n == nil {
		return nil
	}
	var th gates.Thresholds
	if err := th.UnmarshalYAML(n); err != nil {
		return &yamlx.Error{File: sp.File, Line: n.Line, Path: "thresholds", Msg: err.Error()}
	}
	refs := make([]gates.CellRef, len(sp.cells))
	for i, c := range sp.cells {
		refs[i] = gates.CellRef{ID: c.ID, Params: c.Params}
	}
	if err := th.Positions("thresholds").Locate(sp.File, field.Prefix("thresholds", th.Validate(sp.Dimensions(), refs, Methods))); err != nil {
		return err
	}
	sp.Thresholds = th
	return nil
}
