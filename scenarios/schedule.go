package scenarios

import (
	"math"
	"time"
)

// schedule is the open model's arrival profile, without a clock: a warm-up
// at the first stage's rate, then the stages (constant or ramped rates), up
// to End. A scenario with a plain rate is one constant stage. The pacer asks
// it for intended arrival times (At); the same profile gives the expected
// counts behind the target rate and the default call bound (Arrivals), so
// it is computed in one place.
type schedule struct {
	warmup time.Duration
	stages []Stage
}

// newSchedule returns the schedule of an open-model load.
func newSchedule(l Load) schedule {
	st := l.Stages
	if len(st) == 0 {
		st = []Stage{{Duration: l.Duration, Rate: l.Rate}}
	}
	return schedule{warmup: l.Warmup, stages: st}
}

// End is the offset at which the schedule stops: warm-up plus every stage.
func (s schedule) End() time.Duration {
	end := s.warmup
	for _, st := range s.stages {
		end += st.Duration
	}
	return end
}

// Rate is the intended arrival rate in calls/s at offset t. The warm-up runs
// at the first stage's rate; a ramp moves linearly from the previous stage's
// rate (0 before the first stage) to its own; outside [0, End) the rate is 0.
func (s schedule) Rate(t time.Duration) float64 {
	for _, sg := range s.segments() {
		if t >= sg.from && t < sg.to {
			return sg.rateAt(t.Seconds())
		}
	}
	return 0
}

// At is the time by which n arrivals are expected: the t with
// Arrivals(t) = n, taken where the rate is positive (a stage whose rate is
// 0 is skipped). ok is false when that falls at or after End.
//
// The pacer keeps the cumulative count n and hands out At(0), At(n₁), …:
// adding 1 each time spaces arrivals evenly; adding an exponential variate
// with mean 1 gives Poisson arrivals, also under ramps (time rescaling of a
// non-homogeneous Poisson process). Working from the count, not from the
// previous time, keeps a long run from drifting.
func (s schedule) At(n float64) (time.Duration, bool) {
	cum := 0.0
	for _, sg := range s.segments() {
		a, b := sg.from.Seconds(), sg.to.Seconds()
		area := (sg.r0 + sg.r1) / 2 * (b - a)
		if cum+area <= n {
			cum += area
			continue
		}
		u := n - cum
		var d float64
		if slope := sg.slope(); slope == 0 {
			d = u / sg.r0
		} else {
			d = (-sg.r0 + math.Sqrt(max(sg.r0*sg.r0+2*slope*u, 0))) / slope
		}
		t := sg.from + time.Duration(d*float64(time.Second))
		if t >= s.End() {
			return 0, false
		}
		return t, true
	}
	return 0, false
}

// segment is a stretch of the profile where the rate moves linearly from r0
// at from to r1 at to.
type segment struct {
	from, to time.Duration
	r0, r1   float64
}

func (sg segment) slope() float64 {
	if sg.to <= sg.from {
		return 0
	}
	return (sg.r1 - sg.r0) / (sg.to - sg.from).Seconds()
}

func (sg segment) rateAt(x float64) float64 {
	return sg.r0 + sg.slope()*(x-sg.from.Seconds())
}

// segments lists the profile: the warm-up, then each stage.
func (s schedule) segments() []segment {
	if len(s.stages) == 0 {
		return nil
	}
	out := make([]segment, 0, len(s.stages)+1)
	if s.warmup > 0 {
		out = append(out, segment{0, s.warmup, s.stages[0].Rate, s.stages[0].Rate})
	}
	at, prev := s.warmup, 0.0
	for _, st := range s.stages {
		r0 := st.Rate
		if st.Ramp {
			r0 = prev
		}
		out = append(out, segment{at, at + st.Duration, r0, st.Rate})
		at += st.Duration
		prev = st.Rate
	}
	return out
}

// Arrivals is the expected number of arrivals in [0, t): the integral of
// Rate.
func (s schedule) Arrivals(t time.Duration) float64 {
	n := 0.0
	x := t.Seconds()
	for _, sg := range s.segments() {
		a, b := sg.from.Seconds(), min(sg.to.Seconds(), x)
		if b <= a {
			break
		}
		n += (sg.rateAt(a) + sg.rateAt(b)) / 2 * (b - a)
	}
	return n
}

// TargetRate is the average intended rate of the recorded phase (after the
// warm-up).
func (s schedule) TargetRate() float64 {
	d := s.End() - s.warmup
	if d <= 0 {
		return 0
	}
	return (s.Arrivals(s.End()) - s.Arrivals(s.warmup)) / d.Seconds()
}

// MaxCalls is the bound on calls the schedule implies: every expected
// arrival, warm-up included, plus one.
func (s schedule) MaxCalls() int64 {
	return int64(math.Ceil(s.Arrivals(s.End()))) + 1
}
