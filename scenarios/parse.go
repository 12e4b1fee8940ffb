package scenarios

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/grpcbench/grpcbench/field"
	"github.com/grpcbench/grpcbench/gates"
	"github.com/grpcbench/grpcbench/internal/yamlx"
	"github.com/grpcbench/grpcbench/results"
)

// Spec is a loaded scenario file: the resolved scenario (overrides applied,
// defaults filled, validated, its calls resolved) and its cells.
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
	dir        string     // relative paths in the scenario are relative to it
	resolver   *resolver  // method descriptors and compiled calls, cached
}

// LoadFile reads, overrides, decodes and validates a scenario file, and
// resolves its calls (which may ask the target for its methods over server
// reflection; ctx bounds that). sets are "path=value" overrides (--set),
// applied before validation; a value is YAML ("8", "[1, 2]", "{size: 4}").
// Errors name file, line and field. Paths in the scenario (protoset, proto,
// data_file, …) are relative to the file's directory.
func LoadFile(ctx context.Context, path string, sets ...string) (*Spec, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return Parse(ctx, path, data, sets...)
}

// Parse is LoadFile on bytes already read; relative paths are relative to
// the directory of file.
func Parse(ctx context.Context, file string, data []byte, sets ...string) (*Spec, error) {
	root, err := yamlx.Parse(file, data)
	if err != nil {
		return nil, err
	}
	empty := len(root.Content) == 0 || (root.Content[0].Kind == yaml.MappingNode && len(root.Content[0].Content) == 0)
	if empty && len(sets) == 0 {
		return nil, &yamlx.Error{File: file, Msg: "the scenario is empty: write at least mix: [{call: package.Service/Method}] (grpcbench init writes a commented example)"}
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
	sp := &Spec{File: file, Sets: sets, root: root, dir: filepath.Dir(file)}
	sp.resolver = newResolver(ctx, sp.dir)
	defer sp.resolver.close()
	s, err := sp.decode(root, setPaths)
	if err != nil {
		return nil, err
	}
	sp.Scenario = s
	if err := sp.checkMatrix(); err != nil {
		return nil, err
	}
	if err := sp.loadThresholds(); err != nil {
		return nil, err
	}
	return sp, nil
}

// decode turns a document into a validated Scenario with defaults and its
// calls resolved.
func (sp *Spec) decode(root *yaml.Node, setPaths map[string]string) (*Scenario, error) {
	file := sp.File
	s := &Scenario{}
	pos, err := yamlx.Decode(file, root, s)
	if err == nil {
		err = pos.Locate(file, checkExplicit(pos, s))
	}
	if err == nil {
		s.withDefaults(file)
		s.resolvePaths(sp.dir)
		err = pos.Locate(file, s.Validate())
	}
	if err == nil {
		dataPositions(pos, s)
		err = pos.Locate(file, sp.resolver.compile(s))
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
			// The most specific --set that covers the field names it
			// (mix[0].data over mix), whatever the map's order.
			best := ""
			for p, kv := range setPaths {
				if (e.Path == p || strings.HasPrefix(e.Path, p+".") || strings.HasPrefix(e.Path, p+"[")) && len(p) > len(best) {
					best, e.File = p, file+" (--set "+kv+")"
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

// Document returns the scenario document with the overrides applied, as
// YAML: what a one-line run would be as a file.
func (sp *Spec) Document() ([]byte, error) {
	doc := sp.root
	if doc.Kind == yaml.DocumentNode && len(doc.Content) == 1 {
		doc = doc.Content[0]
	}
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(doc); err != nil {
		return nil, err
	}
	if err := enc.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
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
		s, err := sp.decode(root, nil)
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
	var methods []string
	for i, c := range sp.cells {
		refs[i] = gates.CellRef{ID: c.ID, Params: c.Params}
		for _, n := range c.Scenario.calls.names {
			if !slices.Contains(methods, n) {
				methods = append(methods, n)
			}
		}
	}
	if err := th.Positions("thresholds").Locate(sp.File, field.Prefix("thresholds", th.Validate(sp.Dimensions(), refs, methods))); err != nil {
		return err
	}
	sp.Thresholds = th
	return nil
}

// dataPositions adds the lines of the fields inside each mix entry's data to
// pos, so errors in request data name their own line.
func dataPositions(pos yamlx.Positions, s *Scenario) {
	for i, e := range s.Mix {
		if e.Data.Node != nil {
			addPositions(pos, fmt.Sprintf("mix[%d].data", i), e.Data.Node)
		}
	}
}

func addPositions(pos yamlx.Positions, path string, n *yaml.Node) {
	if n.Line > 0 {
		pos[path] = n.Line
	}
	switch n.Kind {
	case yaml.MappingNode:
		for j := 0; j+1 < len(n.Content); j += 2 {
			addPositions(pos, path+"."+n.Content[j].Value, n.Content[j+1])
		}
	case yaml.SequenceNode:
		for j, c := range n.Content {
			addPositions(pos, fmt.Sprintf("%s[%d]", path, j), c)
		}
	}
}
