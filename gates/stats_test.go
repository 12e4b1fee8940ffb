package gates_test

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/grpcbench/grpcbench/gates"
)

func near(a, b, tol float64) bool { return math.Abs(a-b) <= tol }

func TestMannWhitneyTextbook(t *testing.T) {
	tests := []struct {
		name  string
		x, y  []float64
		u1    float64
		p     float64
		tol   float64
		exact bool
	}{
		{
			// Conover, Practical Nonparametric Statistics (the example of
			// scipy.stats.mannwhitneyu): U1 = 17, exact two-sided p =
			// 2·7/126 = 0.1111.
			name: "conover", x: []float64{19, 22, 16, 29, 24}, y: []float64{20, 11, 17, 12},
			u1: 17, p: 14.0 / 126, tol: 1e-12, exact: true,
		},
		{
			// Hollander & Wolfe (R's wilcox.test example): W = 35, one-sided
			// exact p = 0.1272, so two-sided 0.2544.
			name: "hollander-wolfe",
			x:    []float64{0.80, 0.83, 1.89, 1.04, 1.45, 1.38, 1.91, 1.64, 0.73, 1.46},
			y:    []float64{1.15, 0.88, 0.90, 0.74, 1.21},
			u1:   35, p: 0.2544, tol: 0.0001, exact: true,
		},
		{name: "separated 5+5", x: []float64{1, 2, 3, 4, 5}, y: []float64{6, 7, 8, 9, 10}, u1: 0, p: 2.0 / 252, tol: 1e-12, exact: true},
		{name: "separated 3+3", x: []float64{4, 5, 6}, y: []float64{1, 2, 3}, u1: 9, p: 0.1, tol: 1e-12, exact: true},
		{name: "identical samples", x: []float64{1, 2, 3}, y: []float64{1, 2, 3}, u1: 4.5, p: 1, tol: 1e-12},
		{
			// Ties → normal approximation. Midranks: x = 1, 3, 3, 5.5 so
			// R1 = 12.5, U1 = 2.5; tie groups of 3, 2, 2 give Σ(t³−t) = 36;
			// σ² = 20/12·(10 − 36/72) = 15.8333; z = (7.5 − 0.5)/σ =
			// 1.7592; p = 0.0786 (R: wilcox.test(..., exact=FALSE) gives
			// W = 2.5, p-value = 0.07855).
			name: "ties", x: []float64{1, 2, 2, 3}, y: []float64{2, 3, 4, 4, 5},
			u1: 2.5, p: math.Erfc(7 / math.Sqrt(95.0/6) / math.Sqrt2), tol: 1e-12,
		},
		{name: "empty", x: nil, y: []float64{1}, u1: 0, p: 1, tol: 0},
		{name: "all equal", x: []float64{3, 3}, y: []float64{3, 3, 3}, u1: 3, p: 1, tol: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := gates.MannWhitney(tt.x, tt.y)
			if got.U1 != tt.u1 || !near(got.P, tt.p, tt.tol) || got.Exact != tt.exact {
				t.Fatalf("MannWhitney = %+v, want U1 %v, p %v (±%v), exact %v", got, tt.u1, tt.p, tt.tol, tt.exact)
			}
			// Symmetry: swapping the samples gives U2 and the same p.
			sw := gates.MannWhitney(tt.y, tt.x)
			if len(tt.x) > 0 && (!near(sw.P, got.P, 1e-12) || sw.U1 != float64(len(tt.x)*len(tt.y))-got.U1) {
				t.Fatalf("swapped = %+v, original %+v", sw, got)
			}
		})
	}
	if p := gates.MannWhitney([]float64{1, 2, 2, 3}, []float64{2, 3, 4, 4, 5}).P; !near(p, 0.07855, 0.00005) {
		t.Fatalf("ties example p = %v, want 0.07855", p)
	}
}

// TestMannWhitneyExactMatchesEnumeration checks the exact p-values against
// counting every split of the pooled ranks.
func TestMannWhitneyExactMatchesEnumeration(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for trial := range 40 {
		n1, n2 := 1+rng.IntN(6), 1+rng.IntN(6)
		perm := rng.Perm(n1 + n2)
		x, y := make([]float64, n1), make([]float64, n2)
		for i := range n1 {
			x[i] = float64(perm[i])
		}
		for i := range n2 {
			y[i] = float64(perm[n1+i])
		}
		got := gates.MannWhitney(x, y)
		// Enumerate all subsets of size n1 of ranks 0..N-1 as "x".
		N := n1 + n2
		var total, le, ge float64
		for mask := 0; mask < 1<<N; mask++ {
			if popcount(mask) != n1 {
				continue
			}
			u := 0
			for i := range N {
				if mask&(1<<i) == 0 {
					continue
				}
				for j := range N {
					if mask&(1<<j) == 0 && i > j {
						u++
					}
				}
			}
			total++
			if float64(u) <= got.U1 {
				le++
			}
			if float64(u) >= got.U1 {
				ge++
			}
		}
		want := math.Min(1, 2*math.Min(le, ge)/total)
		if !got.Exact || !near(got.P, want, 1e-12) {
			t.Fatalf("trial %d: x=%v y=%v: p %v (exact %v), enumeration %v", trial, x, y, got.P, got.Exact, want)
		}
	}
}

func popcount(m int) int {
	n := 0
	for ; m != 0; m &= m - 1 {
		n++
	}
	return n
}

func TestMinP(t *testing.T) {
	tests := []struct {
		n1, n2 int
		want   float64
	}{
		{3, 3, 0.1}, {4, 4, 2.0 / 70}, {5, 5, 2.0 / 252}, {2, 2, 1.0 / 3}, {0, 4, 1}, {1, 1, 1},
	}
	for _, tt := range tests {
		if got := gates.MinP(tt.n1, tt.n2); !near(got, tt.want, 1e-12) {
			t.Errorf("MinP(%d, %d) = %v, want %v", tt.n1, tt.n2, got, tt.want)
		}
	}
}

func TestRepeatsFor(t *testing.T) {
	for alpha, want := range map[float64]int{0.05: 4, 0.01: 5, 0.001: 7, 0.2: 3} {
		if got := gates.RepeatsFor(alpha); got != want {
			t.Errorf("RepeatsFor(%v) = %d, want %d", alpha, got, want)
		}
	}
}

func TestMedian(t *testing.T) {
	tests := []struct {
		in   []float64
		want float64
	}{
		{[]float64{3, 1, 2}, 2}, {[]float64{4, 1, 3, 2}, 2.5}, {[]float64{7}, 7},
	}
	for _, tt := range tests {
		if got := gates.Median(tt.in); got != tt.want {
			t.Errorf("Median(%v) = %v, want %v", tt.in, got, tt.want)
		}
	}
	if !math.IsNaN(gates.Median(nil)) {
		t.Error("Median(nil) is not NaN")
	}
}

// TestBootstrapCoversTrueShift simulates base and new samples where new is
// base scaled by 1.2, and checks the 95 % interval of the relative median
// delta covers the true shift (+20 %) and excludes 0.
func TestBootstrapCoversTrueShift(t *testing.T) {
	rng := rand.New(rand.NewPCG(42, 1))
	draw := func(n int, scale float64) []float64 {
		out := make([]float64, n)
		for i := range out {
			out[i] = scale * 10 * math.Exp(0.1*rng.NormFloat64())
		}
		return out
	}
	x, y := draw(30, 1), draw(30, 1.2)
	lo, hi := gates.BootstrapMedianDelta(rand.New(rand.NewPCG(1, 2)), x, y, true, 4000, 0.95)
	if !(lo < 0.2 && 0.2 < hi) || lo <= 0 {
		t.Fatalf("relative CI [%v, %v] should cover 0.2 and exclude 0", lo, hi)
	}
	alo, ahi := gates.BootstrapMedianDelta(rand.New(rand.NewPCG(1, 2)), x, y, false, 4000, 0.95)
	if !(alo < 2 && 2 < ahi) {
		t.Fatalf("absolute CI [%v, %v] should cover 2", alo, ahi)
	}

	// Coverage over many simulated experiments: a percentile bootstrap of
	// the median is somewhat liberal for small samples, so ask for 85 %.
	covered, trials := 0, 200
	for range trials {
		x, y := draw(15, 1), draw(15, 1.2)
		lo, hi := gates.BootstrapMedianDelta(rng, x, y, true, 500, 0.95)
		if lo <= 0.2 && 0.2 <= hi {
			covered++
		}
	}
	if covered < trials*85/100 {
		t.Fatalf("interval covered the true shift in %d of %d experiments", covered, trials)
	}
	t.Logf("coverage %d/%d", covered, trials)

	if lo, hi := gates.BootstrapMedianDelta(rng, nil, y, true, 10, 0.95); !math.IsNaN(lo) || !math.IsNaN(hi) {
		t.Fatal("empty sample should give NaN bounds")
	}
	if lo, hi := gates.BootstrapMedianDelta(rng, []float64{0, 0}, []float64{1}, true, 10, 0.95); !math.IsNaN(lo) || !math.IsNaN(hi) {
		t.Fatal("zero base medians should give NaN relative bounds")
	}
}
