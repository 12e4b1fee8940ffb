package fakeserver

import (
	"math"
	"sync/atomic"
	"time"
)

// draws is a counter-based random stream: the n-th draw depends only on the
// seed and n, never on timing. Concurrent calls take numbers from an atomic
// counter, so the sequence of fault decisions by arrival order is the same
// in every run with the same seed, and no lock is taken.
type draws struct {
	seed uint64
	n    atomic.Uint64
}

func newDraws(seed int64, salt ...uint64) *draws {
	s := uint64(seed)
	for _, x := range salt {
		s = splitmix(s ^ splitmix(x+0x632be59bd9b4e019))
	}
	return &draws{seed: s}
}

// next reserves the next draw number.
func (d *draws) next() uint64 { return d.n.Add(1) - 1 }

// unit returns the k-th uniform number in [0, 1) of draw n.
func (d *draws) unit(n, k uint64) float64 {
	return float64(splitmix(d.seed^splitmix(n<<2|k&3))>>11) / (1 << 53)
}

// splitmix is SplitMix64's finaliser: a bijective mix of 64 bits.
func splitmix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ x>>30) * 0xbf58476d1ce4e5b9
	x = (x ^ x>>27) * 0x94d049bb133111eb
	return x ^ x>>31
}

// z99 is the 0.99 quantile of the standard normal distribution.
const z99 = 2.3263478740408408

// maxDelay caps a drawn delay so a heavy tail cannot overflow a Duration.
const maxDelay = 10 * time.Minute

// Sample draws a delay from the distribution given two independent uniform
// numbers in [0, 1). It is a pure function:
//
//	fixed        Value
//	uniform      Min + u1·(Max − Min)
//	normal       max(0, Mean + z·Stddev)            z = √(−2 ln(1−u1))·cos(2π·u2)
//	lognormal    exp(μ + σ·z)                       μ = ln Median, σ = (ln P99 − μ)/z₀.₉₉
//	exponential  −Mean·ln(1 − u1)
//	pareto       Min / (1 − u1)^(1/Alpha)
//
// Results are capped at 10 minutes.
func (l *Latency) Sample(u1, u2 float64) time.Duration {
	var s float64 // seconds
	switch l.Dist {
	case DistFixed:
		return l.Value
	case DistUniform:
		s = l.Min.Seconds() + u1*(l.Max-l.Min).Seconds()
	case DistNormal:
		s = l.Mean.Seconds() + normal(u1, u2)*l.Stddev.Seconds()
	case DistLognormal:
		mu := math.Log(l.Median.Seconds())
		sigma := (math.Log(l.P99.Seconds()) - mu) / z99
		s = math.Exp(mu + sigma*normal(u1, u2))
	case DistExponential:
		s = -l.Mean.Seconds() * math.Log(1-u1)
	case DistPareto:
		s = l.Min.Seconds() / math.Pow(1-u1, 1/l.Alpha)
	}
	switch {
	case s <= 0 || math.IsNaN(s):
		return 0
	case s >= maxDelay.Seconds():
		return maxDelay
	}
	return time.Duration(s * float64(time.Second))
}

// normal turns two uniforms into a standard normal draw (Box–Muller).
func normal(u1, u2 float64) float64 {
	return math.Sqrt(-2*math.Log(1-u1)) * math.Cos(2*math.Pi*u2)
}
