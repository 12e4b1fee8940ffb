package lb

import (
	"math"
	"time"
)

// This file holds outlier detection's arithmetic (gRFC A50) as pure
// functions of one interval's counts, so it is tested as tables.

// epSample is one endpoint's state at a sweep: the calls that finished in
// the last interval and whether it is ejected now.
type epSample struct {
	succ, fail uint64
	ejected    bool
}

func (s epSample) volume() uint64 { return s.succ + s.fail }

// verdict is one ejection decided by a sweep.
type verdict struct {
	idx    int    // index into the samples
	reason string // EjectSuccessRate or EjectFailurePercentage
}

// Reasons recorded with ejections and returns.
const (
	// EjectSuccessRate: the success rate was below mean − stdev_factor·stdev.
	EjectSuccessRate = "success_rate"
	// EjectFailurePercentage: the failure percentage was above threshold.
	EjectFailurePercentage = "failure_percentage"
	// ReturnExpired: the ejection time had passed at a sweep.
	ReturnExpired = "expired"
	// ReturnRemoved: the endpoint left the resolver's address set while
	// ejected.
	ReturnRemoved = "removed"
)

// ejectionAllowed reports whether one more endpoint may be ejected when
// ejected of total already are: the ejected share, counting the new one,
// must stay within maxPercent, except that one endpoint may always be
// ejected (Envoy's rule; A50's text compares before counting the new one,
// which lets 2 of 3 go at 34 %).
func ejectionAllowed(ejected, total, maxPercent int) bool {
	return ejected == 0 || (ejected+1)*100 <= maxPercent*total
}

// detect runs the configured algorithms over one interval's samples, in
// A50's order (success rate, then failure percentage), and returns the
// endpoints to eject. Endpoints already ejected are not judged again.
// roll returns a uniform integer in [0, 100) for enforcement percentages
// below 100.
func detect(s *odSettings, eps []epSample, roll func() int) []verdict {
	ejected := 0
	for _, e := range eps {
		if e.ejected {
			ejected++
		}
	}
	var out []verdict
	taken := make([]bool, len(eps))
	try := func(i int, enforcement int, reason string) {
		if taken[i] || !ejectionAllowed(ejected, len(eps), s.maxEjectionPercent) {
			return
		}
		if enforcement < 100 && roll() >= enforcement {
			return
		}
		taken[i] = true
		ejected++
		out = append(out, verdict{idx: i, reason: reason})
	}
	if sr := s.sr; sr != nil {
		for _, i := range successRateOutliers(sr, eps) {
			try(i, sr.enforcement, EjectSuccessRate)
		}
	}
	if fp := s.fp; fp != nil {
		for _, i := range failurePercentageOutliers(fp, eps) {
			try(i, fp.enforcement, EjectFailurePercentage)
		}
	}
	return out
}

// successRateOutliers returns the endpoints (not ejected, with enough
// volume) whose success rate is below mean − stdevFactor·stdev, where mean
// and the population standard deviation are taken over the success rates
// of the endpoints with enough volume; nothing when fewer than
// minimumHosts endpoints have enough volume.
func successRateOutliers(sr *srSettings, eps []epSample) []int {
	var rates []float64
	var idx []int
	for i, e := range eps {
		if v := e.volume(); v >= uint64(sr.requestVolume) && v > 0 {
			rates = append(rates, float64(e.succ)/float64(v))
			idx = append(idx, i)
		}
	}
	if len(rates) < sr.minimumHosts || len(rates) == 0 {
		return nil
	}
	var mean float64
	for _, r := range rates {
		mean += r
	}
	mean /= float64(len(rates))
	var ss float64
	for _, r := range rates {
		ss += (r - mean) * (r - mean)
	}
	limit := mean - sr.stdevFactor*math.Sqrt(ss/float64(len(rates)))
	var out []int
	for k, r := range rates {
		if r < limit && !eps[idx[k]].ejected {
			out = append(out, idx[k])
		}
	}
	return out
}

// failurePercentageOutliers returns the endpoints (not ejected, with enough
// volume) whose failure percentage is above threshold; nothing when there
// are fewer than minimumHosts endpoints.
func failurePercentageOutliers(fp *fpSettings, eps []epSample) []int {
	if len(eps) < fp.minimumHosts {
		return nil
	}
	var out []int
	for i, e := range eps {
		v := e.volume()
		if e.ejected || v == 0 || v < uint64(fp.requestVolume) {
			continue
		}
		if float64(e.fail)*100/float64(v) > float64(fp.threshold) {
			out = append(out, i)
		}
	}
	return out
}

// ejectionTime is how long the n-th ejection in a row lasts:
// min(base·n, max(base, maxTime)).
func ejectionTime(s *odSettings, n int) time.Duration {
	limit := max(s.baseEjection, s.maxEjection)
	if n <= 0 {
		return 0
	}
	if s.baseEjection > 0 && int64(n) > int64(limit/s.baseEjection) {
		return limit
	}
	return min(s.baseEjection*time.Duration(n), limit)
}
