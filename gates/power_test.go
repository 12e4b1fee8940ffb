package gates_test

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/grpcbench/grpcbench/gates"
)

// detectionRate draws trials pairs of samples — n1 base values and n2 new
// values, log-normal with spread sigma, the new ones scaled by 1+shift —
// and returns the share in which the Mann–Whitney test finds p < alpha.
func detectionRate(rng *rand.Rand, n1, n2 int, sigma, shift, alpha float64, trials int) float64 {
	hits := 0
	x, y := make([]float64, n1), make([]float64, n2)
	for range trials {
		for i := range x {
			x[i] = 10 * math.Exp(sigma*rng.NormFloat64())
		}
		for i := range y {
			y[i] = 10 * (1 + shift) * math.Exp(sigma*rng.NormFloat64())
		}
		if gates.MannWhitney(x, y).P < alpha {
			hits++
		}
	}
	return float64(hits) / float64(trials)
}

// The stated detectable change is the one the test detects with the stated
// power: injecting exactly that shift into synthetic repeats (a seed of
// their own, the package's MannWhitney) detects it in ≈ 80 % of trials;
// half of it much less often, one and a half times it more often.
func TestStatedPowerMatchesSimulation(t *testing.T) {
	const alpha, trials = 0.05, 4000
	tests := []struct {
		n1, n2 int
		sigma  float64
	}{
		{5, 5, 0.10},
		{4, 4, 0.05},
		{8, 6, 0.20},
		{10, 10, 0.10},
	}
	rng := rand.New(rand.NewPCG(7, 11))
	for _, tc := range tests {
		k := gates.EffectSize(tc.n1, tc.n2, alpha)
		change := math.Exp(k*tc.sigma) - 1
		at := detectionRate(rng, tc.n1, tc.n2, tc.sigma, change, alpha, trials)
		half := detectionRate(rng, tc.n1, tc.n2, tc.sigma, math.Exp(k*tc.sigma/2)-1, alpha, trials)
		more := detectionRate(rng, tc.n1, tc.n2, tc.sigma, math.Exp(1.5*k*tc.sigma)-1, alpha, trials)
		t.Logf("%d+%d σ=%.2f: detectable change %.1f%% (%.2fσ): detected %.3f, at half %.3f, at 1.5× %.3f",
			tc.n1, tc.n2, tc.sigma, 100*change, k, at, half, more)
		if math.Abs(at-gates.DetectPower) > 0.04 {
			t.Errorf("%d+%d σ=%.2f: a shift of the stated %.1f%% is detected in %.3f of trials, want %.2f ± 0.04",
				tc.n1, tc.n2, tc.sigma, 100*change, at, gates.DetectPower)
		}
		if half > gates.DetectPower-0.2 || more < gates.DetectPower+0.1 {
			t.Errorf("%d+%d: detection at half the change %.3f, at 1.5× %.3f: the power curve is not steep around it", tc.n1, tc.n2, half, more)
		}
	}
}

// Fewer repeats can detect less: the effect size falls with the repeats;
// 3+3 can never reach α = 0.05.
func TestEffectSizeFallsWithRepeats(t *testing.T) {
	if k := gates.EffectSize(3, 3, 0.05); !math.IsInf(k, 1) {
		t.Fatalf("3+3 at α=0.05: effect size %v, want +Inf (MinP = 0.1)", k)
	}
	prev := math.Inf(1)
	for _, n := range []int{4, 5, 8, 12, 30, 60} {
		k := gates.EffectSize(n, n, 0.05)
		if !(k < prev) {
			t.Fatalf("effect size at %d+%d = %v, not below %v", n, n, k, prev)
		}
		prev = k
	}
	// Large samples: the normal approximation of the t-test's
	// (z₀.₉₇₅ + z₀.₈)·√(2/n), inflated by the test's efficiency 3/π.
	want := (1.95996 + 0.84162) * math.Sqrt(2.0/60) / math.Sqrt(3/math.Pi)
	if k := gates.EffectSize(60, 60, 0.05); math.Abs(k-want) > 0.06 {
		t.Fatalf("60+60: effect size %.3f, want ≈ %.3f", k, want)
	}
}

func TestDetectableSentences(t *testing.T) {
	base := []float64{10, 10.5, 9.5, 10.2, 9.8}
	nw := []float64{10.1, 10.6, 9.4, 10.3, 9.9}
	tests := []struct {
		name, gate string
		x, y       []float64
		want       string
	}{
		{"enough", "p99=+25%", base, nw, "can detect ≥ "},
		{"below", "p99=+1%", base, nw, "this gate (+1%) is below what 5+5 repeats can detect (≥ "},
		{"too few", "p99=+10%", base[:3], nw[:3], "no change at p99 is detectable with 3+3 repeats: use ≥ "},
		{"no spread", "p99=+10%", []float64{5, 5, 5, 5}, []float64{5, 5, 5, 5}, "can detect any change at p99 with 4+4 repeats"},
		{"one each", "p99=+10%", base[:1], nw[:1], "power unknown"},
		{"zero base", "error_rate=+5%", []float64{0, 0, 0, 0}, []float64{0, 0.01, 0, 0}, "power unknown"},
		{"absolute", "error_rate=+0.5", []float64{0.01, 0.02, 0.01, 0.02}, []float64{0.01, 0.02, 0.01, 0.02}, "can detect ≥ "},
	}
	for _, tc := range tests {
		d, g, err := gates.DetectableFor(tc.gate, tc.x, tc.y, 0.05)
		if err != nil {
			t.Fatal(err)
		}
		if s := d.Sentence(g); !strings.Contains(s, tc.want) {
			t.Errorf("%s: %q, want it to contain %q", tc.name, s, tc.want)
		}
	}
}

// The repeats a gate below the detectable change needs are the fewest with
// which the limit becomes detectable at the measured spread.
func TestDetectableRepeatsAdvice(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	x, y := make([]float64, 5), make([]float64, 5)
	for i := range x {
		x[i], y[i] = 10*math.Exp(0.1*rng.NormFloat64()), 10*math.Exp(0.1*rng.NormFloat64())
	}
	d, g, err := gates.DetectableFor("p99=+5%", x, y, 0.05)
	if err != nil {
		t.Fatal(err)
	}
	if d.Enough(g) || d.Repeats < 6 {
		t.Fatalf("+5%% at σ=%.3f with 5+5: %+v, want too small with advice", d.Sigma, d)
	}
	want := math.Log(1.05) / d.Sigma
	if k := gates.EffectSize(d.Repeats, d.Repeats, 0.05); k > want {
		t.Fatalf("%d repeats: effect size %.3f > %.3f", d.Repeats, k, want)
	}
	if k := gates.EffectSize(d.Repeats-1, d.Repeats-1, 0.05); k <= want {
		t.Fatalf("%d repeats would do (%.3f ≤ %.3f)", d.Repeats-1, k, want)
	}
	sd := gates.PooledSD([]float64{1, 3}, []float64{10, 12, 14})
	if math.Abs(sd-math.Sqrt((2+8)/3.0)) > 1e-12 {
		t.Fatalf("pooled sd %v", sd)
	}
}
