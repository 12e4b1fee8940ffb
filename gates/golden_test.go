package gates_test

import (
	"bytes"
	"testing"
	"time"

	"github.com/grpcbench/grpcbench/gates"
	"github.com/grpcbench/grpcbench/internal/testutil"
)

// TestGoldenOutputs pins the three renderings of one comparison: a
// significant regression, an unchanged cell, a cell absent from the base,
// and a cell with too few repeats whose regression does not fail.
func TestGoldenOutputs(t *testing.T) {
	base := fixedRun("base", map[string][]float64{"a": {10, 10.1, 9.9, 10, 10.2}, "b": {5, 5, 5, 5, 5}})
	nw := fixedRun("new", map[string][]float64{"a": {13, 13.1, 12.9, 13.2, 13}, "b": {5, 5.1, 5, 4.9, 5}, "c": {1}})
	base.Cells = append(base.Cells, fixedCell("d", 0, 10*time.Millisecond, 0))
	nw.Cells = append(nw.Cells, fixedCell("d", 0, 20*time.Millisecond, 0))
	c := compare(t, base, nw, gates.CompareOptions{Gates: mustGates(t, "p99=+10%", "error_rate=+0.01")})
	c.Base, c.New = "base.json", "new.json"
	for _, tt := range []struct {
		file  string
		write func(*bytes.Buffer, *gates.Comparison) error
	}{
		{"compare.txt", func(b *bytes.Buffer, c *gates.Comparison) error { return gates.WriteText(b, c) }},
		{"compare.md", func(b *bytes.Buffer, c *gates.Comparison) error { return gates.WriteMarkdown(b, c) }},
		{"compare.junit.xml", func(b *bytes.Buffer, c *gates.Comparison) error { return gates.WriteJUnit(b, c) }},
	} {
		var b bytes.Buffer
		if err := tt.write(&b, c); err != nil {
			t.Fatal(err)
		}
		testutil.Golden(t, tt.file, b.Bytes())
	}
}
