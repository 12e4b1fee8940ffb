package gates

import (
	"math"
	"math/rand/v2"
	"slices"
)

// UTest is the result of a two-sided Mann–Whitney U test of two samples.
type UTest struct {
	// U1 is the U statistic of the first sample: the number of pairs (x, y)
	// with x > y, ties counting ½. U1 + U2 = n1·n2.
	U1 float64
	// U is min(U1, n1·n2 − U1), the statistic tables are indexed by.
	U float64
	// P is the two-sided p-value.
	P float64
	// Exact reports whether P comes from the exact distribution of U
	// (small samples without ties) rather than the normal approximation.
	Exact bool
	// Z is the standardised statistic of the normal approximation (0 when
	// Exact).
	Z float64
}

// exactLimit bounds n1·n2 for the exact distribution; benchstat uses the
// exact distribution for small samples too.
const exactLimit = 2500

// MannWhitney runs a two-sided Mann–Whitney U (Wilcoxon rank-sum) test of
// the hypothesis that x and y come from the same distribution.
//
// U1 = R1 − n1(n1+1)/2, where R1 is the sum of the (mid)ranks of x in the
// pooled sample. Without ties and with n1·n2 ≤ 2500 the p-value is exact:
// 2·min(P(U ≤ U1), P(U ≥ U1)), capped at 1, counting the arrangements of
// the pooled ranks that give each U (as benchstat does). Otherwise it uses
// the normal approximation with tie correction and continuity correction:
//
//	σ² = n1·n2/12 · ((N+1) − Σ(t³−t)/(N(N−1)))
//	z  = (|U1 − n1·n2/2| − ½) / σ
//
// where t runs over the sizes of groups of tied values. An empty sample
// gives P = 1; so do two samples in which every value is the same.
func MannWhitney(x, y []float64) UTest {
	n1, n2 := len(x), len(y)
	if n1 == 0 || n2 == 0 {
		return UTest{P: 1}
	}
	type obs struct {
		v     float64
		first bool
	}
	all := make([]obs, 0, n1+n2)
	for _, v := range x {
		all = append(all, obs{v, true})
	}
	for _, v := range y {
		all = append(all, obs{v, false})
	}
	slices.SortFunc(all, func(a, b obs) int {
		switch {
		case a.v < b.v:
			return -1
		case a.v > b.v:
			return 1
		}
		return 0
	})
	N := n1 + n2
	var r1, tieSum float64
	ties := false
	for i := 0; i < N; {
		j := i + 1
		for j < N && all[j].v == all[i].v {
			j++
		}
		t := float64(j - i)
		if t > 1 {
			ties = true
			tieSum += t*t*t - t
		}
		mid := float64(i+j+1) / 2 // ranks are 1-based: (i+1 + j) / 2
		for k := i; k < j; k++ {
			if all[k].first {
				r1 += mid
			}
		}
		i = j
	}
	fn1, fn2, fN := float64(n1), float64(n2), float64(N)
	u1 := r1 - fn1*(fn1+1)/2
	res := UTest{U1: u1, U: math.Min(u1, fn1*fn2-u1)}
	if !ties && n1*n2 <= exactLimit {
		res.Exact = true
		res.P = exactP(n1, n2, int(math.Round(u1)))
		return res
	}
	sigma2 := fn1 * fn2 / 12 * ((fN + 1) - tieSum/(fN*(fN-1)))
	if sigma2 <= 0 {
		res.P = 1
		return res
	}
	d := math.Abs(u1-fn1*fn2/2) - 0.5
	if d < 0 {
		d = 0
	}
	res.Z = d / math.Sqrt(sigma2)
	res.P = math.Min(1, math.Erfc(res.Z/math.Sqrt2))
	return res
}

// uCounts returns c where c[u] is the number of arrangements of n1 x's and
// n2 y's (without ties) whose statistic U1 equals u, for u in 0..n1·n2.
// It uses the recurrence f(n1, n2, u) = f(n1−1, n2, u−n2) + f(n1, n2−1, u):
// the largest value is either an x (beating all n2 y's) or a y.
func uCounts(n1, n2 int) []float64 {
	// prev[b][u] holds f(a−1, b, u) while row a is computed.
	m := n1 * n2
	prev := make([][]float64, n2+1)
	for b := range prev {
		prev[b] = make([]float64, m+1)
		prev[b][0] = 1 // f(0, b, 0) = 1
	}
	for a := 1; a <= n1; a++ {
		cur := make([][]float64, n2+1)
		for b := 0; b <= n2; b++ {
			cur[b] = make([]float64, m+1)
			for u := 0; u <= a*b; u++ {
				var v float64
				if u >= b {
					v += prev[b][u-b]
				}
				if b > 0 {
					v += cur[b-1][u]
				}
				cur[b][u] = v
			}
		}
		prev = cur
	}
	return prev[n2]
}

// exactP returns the exact two-sided p-value of U1 = u without ties.
func exactP(n1, n2, u int) float64 {
	c := uCounts(n1, n2)
	var total, le, ge float64
	for v, k := range c {
		total += k
		if v <= u {
			le += k
		}
		if v >= u {
			ge += k
		}
	}
	return math.Min(1, 2*math.Min(le, ge)/total)
}

// MinP returns the smallest two-sided p-value the exact Mann–Whitney test
// can reach with samples of n1 and n2 values: 2 / C(n1+n2, n1), when every
// value of one sample is above every value of the other. With 3 + 3 repeats
// it is 0.1, so no difference can be significant at α = 0.05 however large;
// with 4 + 4 it is 0.029 and with 5 + 5 it is 0.0079.
func MinP(n1, n2 int) float64 {
	if n1 == 0 || n2 == 0 {
		return 1
	}
	// C(n1+n2, n1) computed in floating point.
	c := 1.0
	for i := 1; i <= n1; i++ {
		c = c * float64(n2+i) / float64(i)
	}
	return math.Min(1, 2/c)
}

// RepeatsFor returns the smallest number of repeats n (at least
// MinRepeats) for which n + n samples let the exact Mann–Whitney test reach
// a p-value below alpha: 4 for α = 0.05, 5 for 0.01, 7 for 0.001.
func RepeatsFor(alpha float64) int {
	n := MinRepeats
	for MinP(n, n) >= alpha && n < 1000 {
		n++
	}
	return n
}

// Median returns the median of xs (the mean of the two middle values for an
// even count), or NaN for an empty slice. xs is not modified.
func Median(xs []float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	return medianInPlace(slices.Clone(xs))
}

// bootstrapMedianDelta returns a percentile bootstrap confidence interval at
// level conf (e.g. 0.95) of the difference of medians median(y) − median(x),
// or of the relative difference median(y)/median(x) − 1 when relative is
// set. Each of the iters rounds resamples x and y with replacement using
// rng. Rounds whose base median is 0 are skipped in relative mode; NaN
// bounds are returned when no round could be used or a sample is empty.
func bootstrapMedianDelta(rng *rand.Rand, x, y []float64, relative bool, iters int, conf float64) (lo, hi float64) {
	if len(x) == 0 || len(y) == 0 || iters <= 0 {
		return math.NaN(), math.NaN()
	}
	bx := make([]float64, len(x))
	by := make([]float64, len(y))
	deltas := make([]float64, 0, iters)
	for range iters {
		for i := range bx {
			bx[i] = x[rng.IntN(len(x))]
		}
		for i := range by {
			by[i] = y[rng.IntN(len(y))]
		}
		mx, my := medianInPlace(bx), medianInPlace(by)
		if relative {
			if mx == 0 {
				continue
			}
			deltas = append(deltas, my/mx-1)
		} else {
			deltas = append(deltas, my-mx)
		}
	}
	if len(deltas) == 0 {
		return math.NaN(), math.NaN()
	}
	slices.Sort(deltas)
	a := (1 - conf) / 2
	return quantileSorted(deltas, a), quantileSorted(deltas, 1-a)
}

// medianInPlace sorts s (not empty) and returns its median.
func medianInPlace(s []float64) float64 {
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// quantileSorted returns the q-quantile of sorted s by linear interpolation
// between closest ranks.
func quantileSorted(s []float64, q float64) float64 {
	if len(s) == 1 {
		return s[0]
	}
	pos := q * float64(len(s)-1)
	i := int(math.Floor(pos))
	if i >= len(s)-1 {
		return s[len(s)-1]
	}
	f := pos - float64(i)
	return s[i] + f*(s[i+1]-s[i])
}
