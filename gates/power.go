package gates

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
)

// DetectPower is the power at which [Detectable] states the smallest
// detectable change: a true change of that size is found significant by the
// Mann–Whitney test at α in 80 % of comparisons with the same repeats and
// spread.
const DetectPower = 0.8

// MaxRepeatsAdvice bounds the repeats per side [Detectable] looks at when it
// says how many a gate would need.
const MaxRepeatsAdvice = 100

// Detectable is the smallest change one comparison row could have
// detected, and what the gate would need.
//
// The model: each side's repeat values scatter around their own centre with
// a common spread σ — of the logarithms for a relative gate (a log-normal
// spread, so that a change is a ratio; the raw values when a value is 0 or
// below), of the values themselves for an absolute gate — estimated as the
// pooled within-side standard deviation (n1 + n2 − 2 degrees of freedom). A
// true change shifts the new side by δ. Under a normal model the power of
// the Mann–Whitney test at α depends only on δ/σ and the repeats; the
// smallest δ/σ with power [DetectPower] is found by simulation (2000
// samples per repeats and α, a fixed seed, the test's own exact critical
// values) and cached.
type Detectable struct {
	// Change is that smallest detectable change in the gate's terms, in the
	// metric's worse direction and without sign: a fraction of the base
	// value for a relative gate (0.14 for 14 %), an amount in the metric's
	// base unit for an absolute one. It is 0 when the repeats showed no
	// spread (any change is detectable), +Inf when no difference can be
	// significant with these repeats (see [MinP]) and NaN when the spread
	// is unknown (one repeat per side, or a relative gate on a base median
	// of 0).
	Change float64
	// Sigma is the spread σ the change was computed from.
	Sigma float64
	// Repeats is, when the gate's limit is below Change, the smallest
	// number of repeats per side with which the limit would be detectable
	// at this spread (−1 when more than MaxRepeatsAdvice would be needed);
	// 0 otherwise.
	Repeats int
	// N1 and N2 are the repeats per side it was computed for.
	N1, N2 int
}

// Enough reports whether the gate's limit is at or above the detectable
// change (an unknown change is not known to be too large).
func (d Detectable) Enough(g Gate) bool {
	return math.IsNaN(d.Change) || d.Change <= g.Limit
}

// detectable returns the smallest change gate g could have detected with
// samples x (base) and y (new) at alpha.
func detectable(g Gate, x, y []float64, alpha float64) Detectable {
	d := Detectable{Change: math.NaN(), Sigma: math.NaN(), N1: len(x), N2: len(y)}
	// scale converts a shift of k standard deviations into the gate's
	// terms; target is the gate's limit as a shift in standard deviations'
	// units (times σ).
	var scale func(k float64) float64
	var target float64
	worse := 1.0
	if !g.metric.HigherIsWorse {
		worse = -1
	}
	switch {
	case g.Relative && allPositive(x) && allPositive(y):
		d.Sigma = pooledSD(logs(x), logs(y))
		scale = func(k float64) float64 { return worse * (math.Exp(worse*k*d.Sigma) - 1) }
		target = worse * math.Log1p(worse*g.Limit)
		if worse < 0 && g.Limit >= 1 {
			target = math.Inf(1)
		}
	case g.Relative:
		m := math.Abs(Median(x))
		if m == 0 {
			return d
		}
		d.Sigma = pooledSD(x, y)
		scale = func(k float64) float64 { return k * d.Sigma / m }
		target = g.Limit * m
	default:
		d.Sigma = pooledSD(x, y)
		scale = func(k float64) float64 { return k * d.Sigma }
		target = g.Limit
	}
	if math.IsNaN(d.Sigma) {
		return d
	}
	k := effectSize(len(x), len(y), alpha)
	switch {
	case math.IsInf(k, 1):
		d.Change = math.Inf(1)
	case d.Sigma == 0:
		d.Change = 0
	default:
		d.Change = scale(k)
	}
	if !d.Enough(g) {
		d.Repeats = repeatsFor(target/d.Sigma, max(len(x), len(y))+1, alpha)
	}
	return d
}

// repeatsFor returns the smallest n ≥ from (per side) whose effect size is
// at most want standard deviations, or −1 beyond MaxRepeatsAdvice.
func repeatsFor(want float64, from int, alpha float64) int {
	lo, hi := max(from, MinRepeats), MaxRepeatsAdvice
	if lo > hi || effectSize(hi, hi, alpha) > want {
		return -1
	}
	for lo < hi { // effectSize falls as n grows
		mid := (lo + hi) / 2
		if effectSize(mid, mid, alpha) <= want {
			hi = mid
		} else {
			lo = mid + 1
		}
	}
	return lo
}

func allPositive(xs []float64) bool {
	return !slices.ContainsFunc(xs, func(v float64) bool { return !(v > 0) })
}

func logs(xs []float64) []float64 {
	out := make([]float64, len(xs))
	for i, v := range xs {
		out[i] = math.Log(v)
	}
	return out
}

// pooledSD returns the pooled within-sample standard deviation of x and y
// (NaN without a degree of freedom).
func pooledSD(x, y []float64) float64 {
	df := len(x) + len(y) - 2
	if df < 1 || len(x) == 0 || len(y) == 0 {
		return math.NaN()
	}
	ss := 0.0
	for _, s := range [][]float64{x, y} {
		m := 0.0
		for _, v := range s {
			m += v
		}
		m /= float64(len(s))
		for _, v := range s {
			ss += (v - m) * (v - m)
		}
	}
	return math.Sqrt(ss / float64(df))
}

// Simulation parameters of effectSize.
const (
	powerSims = 2000
	powerSeed = 0x5eed_90a7e5
)

type powerKey struct {
	n1, n2 int
	alpha  float64
}

var powerCache = struct {
	sync.Mutex
	m map[powerKey]float64
}{m: map[powerKey]float64{}}

// effectSize returns the smallest shift δ/σ at which the two-sided
// Mann–Whitney test at alpha rejects, for normal samples of n1 and n2
// values, with probability DetectPower (+Inf when it never can).
func effectSize(n1, n2 int, alpha float64) float64 {
	if n1 < 1 || n2 < 1 || MinP(n1, n2) >= alpha {
		return math.Inf(1)
	}
	key := powerKey{n1, n2, alpha}
	powerCache.Lock()
	k, ok := powerCache.m[key]
	powerCache.Unlock()
	if ok {
		return k
	}
	k = newPowerSim(n1, n2, alpha).solve(DetectPower)
	powerCache.Lock()
	powerCache.m[key] = k
	powerCache.Unlock()
	return k
}

// powerSim holds fixed standard normal samples (common random numbers for
// every shift) and the test's rejection region.
type powerSim struct {
	n1, n2 int
	xs, ys [][]float64 // sorted
	reject []bool      // by U1 (pairs x > y), no ties
}

func newPowerSim(n1, n2 int, alpha float64) *powerSim {
	rng := rand.New(rand.NewPCG(powerSeed, uint64(n1)<<32|uint64(n2)))
	p := &powerSim{n1: n1, n2: n2, xs: make([][]float64, powerSims), ys: make([][]float64, powerSims), reject: rejection(n1, n2, alpha)}
	for i := range powerSims {
		x, y := make([]float64, n1), make([]float64, n2)
		for j := range x {
			x[j] = rng.NormFloat64()
		}
		for j := range y {
			y[j] = rng.NormFloat64()
		}
		slices.Sort(x)
		slices.Sort(y)
		p.xs[i], p.ys[i] = x, y
	}
	return p
}

// rejection returns, for each value of U1 without ties, whether
// [MannWhitney] would find p < alpha: from the exact distribution when it
// would use it (n1·n2 ≤ 2500), from its normal approximation otherwise.
func rejection(n1, n2 int, alpha float64) []bool {
	m := n1 * n2
	out := make([]bool, m+1)
	if m <= exactLimit {
		c := uCounts(n1, n2)
		total := 0.0
		for _, k := range c {
			total += k
		}
		le := 0.0
		for u := range out {
			le += c[u]
			ge := total - le + c[u]
			out[u] = math.Min(1, 2*math.Min(le, ge)/total) < alpha
		}
		return out
	}
	fn1, fn2 := float64(n1), float64(n2)
	sigma := math.Sqrt(fn1 * fn2 / 12 * (fn1 + fn2 + 1))
	for u := range out {
		d := math.Max(math.Abs(float64(u)-fn1*fn2/2)-0.5, 0)
		out[u] = math.Erfc(d/sigma/math.Sqrt2) < alpha
	}
	return out
}

// power returns the share of samples in which the test rejects when the
// second sample is shifted up by d.
func (p *powerSim) power(d float64) float64 {
	hits := 0
	for i, x := range p.xs {
		y := p.ys[i]
		u, j := 0, 0
		for _, v := range x {
			for j < len(y) && y[j]+d < v {
				j++
			}
			u += j
		}
		if p.reject[u] {
			hits++
		}
	}
	return float64(hits) / float64(len(p.xs))
}

// solve returns the smallest shift with at least the given power.
func (p *powerSim) solve(want float64) float64 {
	lo, hi := 0.0, 1.0
	for p.power(hi) < want {
		if hi >= 64 {
			return math.Inf(1)
		}
		lo, hi = hi, hi*2
	}
	for range 30 {
		mid := (lo + hi) / 2
		if p.power(mid) >= want {
			hi = mid
		} else {
			lo = mid
		}
	}
	return hi
}

// Sentence says what the row could detect, in the words of the output:
// "can detect ≥ 14% at p99 with 5+5 repeats", or why it could not.
func (d Detectable) Sentence(g Gate) string {
	reps := fmt.Sprintf("%d+%d repeats", d.N1, d.N2)
	switch {
	case math.IsNaN(d.Change):
		return "power unknown: the spread between repeats cannot be estimated from " + reps
	case math.IsInf(d.Change, 1):
		return fmt.Sprintf("no change at %s is detectable with %s: %s", g.metric.Name, reps, d.advice())
	case d.Change == 0:
		return fmt.Sprintf("can detect any change at %s with %s (no spread between repeats)", g.metric.Name, reps)
	case !d.Enough(g):
		return fmt.Sprintf("this gate (%s) is below what %s can detect (≥ %s): %s", gateAmount(g), reps, d.amount(g), d.advice())
	}
	return fmt.Sprintf("can detect ≥ %s at %s with %s", d.amount(g), g.metric.Name, reps)
}

// Short is the detectable change in a table cell: "≥14%", "any", "none",
// "n/a".
func (d Detectable) Short(g Gate) string {
	switch {
	case math.IsNaN(d.Change):
		return "n/a"
	case math.IsInf(d.Change, 1):
		return "none"
	case d.Change == 0:
		return "any"
	}
	return "≥" + d.amount(g)
}

func (d Detectable) amount(g Gate) string {
	if g.Relative {
		return formatNumber(d.Change*100) + "%"
	}
	if g.metric.Kind == kindFraction {
		return formatNumber(d.Change*100) + "pp"
	}
	return g.metric.format(d.Change)
}

func (d Detectable) advice() string {
	if d.Repeats < 0 {
		return fmt.Sprintf("more than %d repeats would be needed: use longer cells (less spread)", MaxRepeatsAdvice)
	}
	return fmt.Sprintf("use ≥ %d repeats or longer cells", d.Repeats)
}

// gateAmount is the gate's limit as written, with its sign.
func gateAmount(g Gate) string {
	_, amount, _ := strings.Cut(g.Text, "=")
	return amount
}
