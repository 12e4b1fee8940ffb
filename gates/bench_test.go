package gates_test

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/grpcbench/grpcbench/gates"
)

// BenchmarkCompare compares two runs of 36 cells × 5 repeats with the
// default gates (108 rows, 2000 bootstrap rounds each).
func BenchmarkCompare(b *testing.B) {
	medians := map[string]time.Duration{}
	for i := range 36 {
		medians[fmt.Sprint(i)] = time.Duration(5+i) * time.Millisecond
	}
	base, nw := mkRun("s", 5, medians, 1), mkRun("s", 5, medians, 2)
	b.ReportAllocs()
	for b.Loop() {
		if c := compare(b, base, nw, gates.CompareOptions{}); len(c.Rows) != 108 {
			b.Fatal(len(c.Rows))
		}
	}
}

// BenchmarkMannWhitneyExact is the exact test of 5 + 5 values.
func BenchmarkMannWhitneyExact(b *testing.B) {
	x, y := []float64{1, 3, 5, 7, 9}, []float64{2, 4, 6, 8, 10}
	b.ReportAllocs()
	for b.Loop() {
		gates.MannWhitney(x, y)
	}
}

// BenchmarkBootstrap is one 2000-round interval of 5 + 5 values.
func BenchmarkBootstrap(b *testing.B) {
	x, y := []float64{1, 3, 5, 7, 9}, []float64{2, 4, 6, 8, 10}
	rng := rand.New(rand.NewPCG(1, 2))
	b.ReportAllocs()
	for b.Loop() {
		gates.BootstrapMedianDelta(rng, x, y, true, 2000, 0.95)
	}
}
