package gates

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/grpcbench/grpcbench/results"
)

// kind is what a metric measures, which decides the values it may be
// compared with and how it is printed.
type kind int

// Metric kinds.
const (
	// kindDuration is a latency; values are seconds and expressions need a
	// unit ("150ms", "2s", "300us").
	kindDuration kind = iota
	// kindFraction is a share between 0 and 1; expressions take a
	// percentage ("1%") or a plain fraction ("0.01").
	kindFraction
	// kindRate is calls per second; expressions take a plain number.
	kindRate
	// kindRatio is a dimensionless ratio; expressions take a plain number
	// ("0.95") or a percentage ("95%").
	kindRatio
	// kindCount is a whole count; expressions take a plain integer.
	kindCount
)

// Histogram names accepted as metric prefixes. A latency metric without a
// prefix reads the call latency of all calls, failed ones included.
var histograms = map[string]func(*results.MethodStats) *results.Histogram{
	"latency": func(m *results.MethodStats) *results.Histogram { return m.Latency },
	"ok":      func(m *results.MethodStats) *results.Histogram { return m.OK },
	"attempt": func(m *results.MethodStats) *results.Histogram { return m.Attempt },
	"service": func(m *results.MethodStats) *results.Histogram { return m.Service },
	"ttfm":    func(m *results.MethodStats) *results.Histogram { return m.TTFM },
	"rtt":     func(m *results.MethodStats) *results.Histogram { return m.MessageRTT },
}

// metric is a parsed metric name. The grammar is:
//
//	metric  = [hist "."] latstat | "error_rate" | "rps" | "rps_ratio"
//	        | "retries_per_call" | "breaker_trips" | "breaker_rejections"
//	hist    = "latency" | "ok" | "attempt" | "service" | "ttfm" | "rtt"
//	latstat = "p" number | "mean" | "max" | "min"
//
// A latency statistic reads one of the histograms of [results.MethodStats]:
// latency (call latency from intended start of every call, failed ones
// included — the default: "p99" is "latency.p99"), ok (the same for the
// calls that ended OK only: "ok.p99"), attempt (each attempt), service
// (from the actual send), ttfm (time to first response message, streams)
// and rtt (per-message round trip, bidi). "pN" is the N-th percentile for
// 0 < N ≤ 100 ("p50", "p99.9"; "p100" is the maximum).
//
// error_rate is failed/finished calls; rps is achieved calls per second
// (Load.AchievedRate for the cell, calls/duration for one method);
// rps_ratio is achieved/target rate (open model only); retries_per_call is
// (attempts − calls)/calls of the retry layer; breaker_trips and
// breaker_rejections count the circuit breaker's trips and refused calls.
// The last four describe the whole cell and cannot be asked of one method.
type metric struct {
	// Name is the canonical name ("p99", "attempt.p99.9", "error_rate").
	Name string
	// Kind is what the metric measures.
	Kind kind
	// PerCell is true for metrics that describe the whole cell only.
	PerCell bool
	// HigherIsWorse is true for metrics where a rise is a regression
	// (latency, errors, retries, breaker activity) and false for rps and
	// rps_ratio.
	HigherIsWorse bool

	hist string  // histogram name for latency metrics
	stat string  // "p", "mean", "max", "min"
	q    float64 // quantile in (0, 1] for stat "p"
}

// parseMetric parses a metric name (see [metric] for the grammar).
func parseMetric(s string) (metric, error) {
	switch s {
	case "error_rate":
		return metric{Name: s, Kind: kindFraction, HigherIsWorse: true}, nil
	case "rps":
		return metric{Name: s, Kind: kindRate}, nil
	case "rps_ratio":
		return metric{Name: s, Kind: kindRatio, PerCell: true}, nil
	case "retries_per_call":
		return metric{Name: s, Kind: kindRatio, PerCell: true, HigherIsWorse: true}, nil
	case "breaker_trips", "breaker_rejections":
		return metric{Name: s, Kind: kindCount, PerCell: true, HigherIsWorse: true}, nil
	}
	hist, stat := "latency", s
	if i := strings.IndexByte(s, '.'); i > 0 {
		if _, ok := histograms[s[:i]]; ok {
			hist, stat = s[:i], s[i+1:]
		}
	}
	m := metric{Kind: kindDuration, HigherIsWorse: true, hist: hist, stat: stat}
	switch {
	case stat == "mean" || stat == "max" || stat == "min":
	case strings.HasPrefix(stat, "p") && len(stat) > 1:
		num := stat[1:]
		if num[0] < '0' || num[0] > '9' {
			return metric{}, unknownMetric(s)
		}
		p, err := strconv.ParseFloat(num, 64)
		if err != nil || strings.ContainsAny(num, "eE_") {
			return metric{}, unknownMetric(s)
		}
		if p <= 0 || p > 100 {
			return metric{}, fmt.Errorf("percentile %q must be above 0 and at most 100 (write p99.9, not p999)", stat)
		}
		m.stat, m.q = "p", p/100
	default:
		return metric{}, unknownMetric(s)
	}
	if hist == "latency" {
		m.Name = stat
	} else {
		m.Name = hist + "." + stat
	}
	return m, nil
}

func unknownMetric(s string) error {
	return fmt.Errorf("unknown metric %q (want p50, p99.9, mean, max, min, optionally after latency., ok., attempt., service., ttfm. or rtt.; or error_rate, rps, rps_ratio, retries_per_call, breaker_trips, breaker_rejections)", s)
}

// value reads the metric from cell c, for method (a key of c.Methods), or
// for all methods together when method is empty. ok is false, with a
// reason, when the cell has no data for it (the method was not called, the
// histogram is empty, the load model has no target rate). Durations are
// returned in seconds.
func (m metric) value(c *results.Cell, method string) (v float64, ok bool, why string) {
	if c == nil {
		return 0, false, "no cell"
	}
	var ms *results.MethodStats
	if method == "" {
		ms = c.Aggregate()
	} else {
		ms = c.Methods[method]
	}
	switch m.Name {
	case "error_rate":
		if ms == nil || ms.Calls == 0 {
			return 0, false, "no calls"
		}
		return ms.ErrorRate(), true, ""
	case "rps":
		if method == "" {
			if c.Load.AchievedRate > 0 {
				return c.Load.AchievedRate, true, ""
			}
			if c.Duration <= 0 {
				return 0, false, "no duration"
			}
			return c.Rate(), true, ""
		}
		if c.Duration <= 0 {
			return 0, false, "no duration"
		}
		if ms == nil {
			return 0, false, "no calls"
		}
		return float64(ms.Calls) / c.Duration.Seconds(), true, ""
	case "rps_ratio":
		if c.Load.TargetRate <= 0 {
			return 0, false, "no target rate (closed model)"
		}
		achieved := c.Load.AchievedRate
		if achieved == 0 {
			achieved = c.Rate()
		}
		return achieved / c.Load.TargetRate, true, ""
	case "retries_per_call":
		if c.Retry.Calls == 0 {
			return 0, false, "no calls went through the retry layer"
		}
		return c.Retry.RetriesPerCall(), true, ""
	case "breaker_trips":
		return float64(c.Breaker.Trips), true, ""
	case "breaker_rejections":
		return float64(c.Breaker.Rejections), true, ""
	}
	get := histograms[m.hist]
	if get == nil {
		return 0, false, "unknown metric"
	}
	if ms == nil {
		return 0, false, "no calls"
	}
	h := get(ms)
	if h.Count() == 0 {
		return 0, false, "no " + m.hist + " samples"
	}
	var d time.Duration
	switch m.stat {
	case "mean":
		d = h.Mean()
	case "max":
		d = h.Max()
	case "min":
		d = h.Min()
	default:
		d = h.Quantile(m.q)
	}
	return d.Seconds(), true, ""
}

// format renders a value of the metric for people: "12.3ms", "0.52%",
// "1834/s", "0.97", "3".
func (m metric) format(v float64) string { return formatValue(m.Kind, v) }

func formatValue(k kind, v float64) string {
	if math.IsNaN(v) {
		return "n/a"
	}
	switch k {
	case kindDuration:
		return formatDuration(v)
	case kindFraction:
		return formatNumber(v*100) + "%"
	case kindRate:
		return formatNumber(v) + "/s"
	case kindCount:
		return strconv.FormatFloat(v, 'f', -1, 64)
	}
	return formatNumber(v)
}

// formatDuration prints seconds with 3 significant digits in the largest
// unit that keeps the number at least 1.
func formatDuration(sec float64) string {
	a := math.Abs(sec)
	switch {
	case a == 0:
		return "0s"
	case a >= 1:
		return formatNumber(sec) + "s"
	case a >= 1e-3:
		return formatNumber(sec*1e3) + "ms"
	case a >= 1e-6:
		return formatNumber(sec*1e6) + "µs"
	}
	return formatNumber(sec*1e9) + "ns"
}

// formatNumber prints v with 3 significant digits, without exponent for
// ordinary magnitudes and without trailing zeros.
func formatNumber(v float64) string {
	if math.IsInf(v, 0) {
		if v > 0 {
			return "+Inf"
		}
		return "-Inf"
	}
	a := math.Abs(v)
	if a >= 1000 || a == 0 {
		return strconv.FormatFloat(math.Round(v), 'f', -1, 64)
	}
	digits := 2 - int(math.Floor(math.Log10(a)))
	if digits < 0 {
		digits = 0
	}
	return strconv.FormatFloat(roundTo(v, digits), 'f', -1, 64)
}

func roundTo(v float64, digits int) float64 {
	p := math.Pow(10, float64(digits))
	return math.Round(v*p) / p
}
