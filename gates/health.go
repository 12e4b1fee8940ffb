package gates

import (
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/grpcbench/grpcbench/results"
)

// Limits of [Saturation]: beyond any of them the load generator, not the
// service, was the bottleneck of a cell.
const (
	// SaturatedDropped is the share of the open model's scheduled arrivals
	// that may be dropped because max_inflight calls were outstanding.
	SaturatedDropped = 0.001
	// SaturatedCPU is the mean share of its cores the process may use.
	SaturatedCPU = 0.90
	// SaturatedRunDelay is the mean share of its runnable time the
	// process's threads may spend waiting for a CPU: at 0.5 they waited as
	// long as they ran.
	SaturatedRunDelay = 0.5
	// SaturatedPressure is the mean CPU pressure (PSI "some") of the
	// machine, judged only where the process's own run delay is not
	// measured.
	SaturatedPressure = 0.5
	// SaturatedSteal is the mean share of CPU time the hypervisor may take.
	SaturatedSteal = 0.10
	// SaturatedLagShare is the share of the latency p99 that the schedule
	// lag p99 may reach (open model), and SaturatedLagFloor the lag p99
	// below which it is never judged: a pacer's timer may wake about a
	// millisecond late on an idle machine.
	SaturatedLagShare = 0.5
	SaturatedLagFloor = 2 * time.Millisecond
)

// Saturation reports whether the load generator was the bottleneck of cell
// c — the results then measure the client, not the service — and why
// ("the in-flight cap was full: 1284 of 15000 arrivals dropped; threads
// waited for a CPU 87 % of their runnable time"). It judges, each beyond
// its limit above: dropped arrivals (open model), the process's CPU use of
// its cores, its threads' run delay (or, where that is not measured, the
// machine's CPU pressure), steal, and a schedule lag p99 that is a large
// share of the latency p99 (open model: the tail is the generator's own
// delay). A cell without health figures (an older results file) is judged
// on dropped arrivals alone.
func Saturation(c *results.Cell) (bool, string) {
	if c == nil {
		return false, ""
	}
	var why []string
	l := c.Load
	open := l.Model == results.ModelOpen
	if open && l.Scheduled > 0 && float64(l.Dropped) > SaturatedDropped*float64(l.Scheduled) {
		why = append(why, fmt.Sprintf("the in-flight cap (%d) was full: %d of %d arrivals dropped", l.Workers, l.Dropped, l.Scheduled))
	}
	if h := c.Health; h != nil {
		if h.CPU != nil && h.CPU.Mean >= SaturatedCPU {
			why = append(why, fmt.Sprintf("it used %s of its %d cores", pct(h.CPU.Mean), h.Cores))
		}
		switch {
		case h.RunDelay != nil:
			if h.RunDelay.Mean >= SaturatedRunDelay {
				why = append(why, fmt.Sprintf("its threads waited for a CPU %s of their runnable time", pct(h.RunDelay.Mean)))
			}
		case h.Pressure != nil && h.Pressure.Mean >= SaturatedPressure:
			why = append(why, fmt.Sprintf("CPU pressure %s", pct(h.Pressure.Mean)))
		}
		if h.Steal != nil && h.Steal.Mean >= SaturatedSteal {
			why = append(why, fmt.Sprintf("steal %s", pct(h.Steal.Mean)))
		}
		if open && h.Lag.Count() > 0 && c.All != nil && c.All.Latency.Count() > 0 {
			lag, lat := h.Lag.Quantile(0.99), c.All.Latency.Quantile(0.99)
			if lag >= SaturatedLagFloor && float64(lag) >= SaturatedLagShare*float64(lat) {
				why = append(why, fmt.Sprintf("schedule lag p99 %s is %s of the latency p99 %s", fmtDur(lag), pct(float64(lag)/float64(lat)), fmtDur(lat)))
			}
		}
	}
	return len(why) > 0, strings.Join(why, "; ")
}

// pct renders a share as "61 %".
func pct(f float64) string { return formatNumber(math.Round(f*1000)/10) + " %" }

func fmtDur(d time.Duration) string { return formatDuration(d.Seconds()) }

// Limits of the environment comparison in [Compare]: how much more CPU
// contention the new run's generator must have seen than the base run's —
// in the medians over repeats, and significantly where the repeats allow a
// test — for a regression to be inconclusive.
const (
	// StarvedRunDelay is the rise of the process's run delay (its
	// threads' share of runnable time spent waiting for a CPU).
	StarvedRunDelay = 0.15
	// StarvedPressure is the rise of the machine's CPU pressure, judged
	// where the run delay is not measured on both sides.
	StarvedPressure = 0.15
	// StarvedOtherCPU is the rise of other processes' share of the
	// machine's CPU, judged where neither is measured.
	StarvedOtherCPU = 0.25
	// StarvedSteal is the rise of the steal share.
	StarvedSteal = 0.05
)

// healthSignal is one health figure read from each repeat of both sides.
type healthSignal struct {
	name  string
	limit float64 // the material rise; 0: context only
	read  func(*results.Health) (float64, bool)
	show  func(float64) string
}

func shareOf(get func(*results.Health) *results.Share) func(*results.Health) (float64, bool) {
	return func(h *results.Health) (float64, bool) {
		if s := get(h); s != nil {
			return s.Mean, true
		}
		return 0, false
	}
}

var (
	sigRunDelay = healthSignal{"run delay", StarvedRunDelay, shareOf(func(h *results.Health) *results.Share { return h.RunDelay }), pct}
	sigPressure = healthSignal{"pressure", StarvedPressure, shareOf(func(h *results.Health) *results.Share { return h.Pressure }), pct}
	sigOther    = healthSignal{"other processes' CPU", StarvedOtherCPU, shareOf(func(h *results.Health) *results.Share { return h.OtherCPU }), pct}
	sigSteal    = healthSignal{"steal", StarvedSteal, shareOf(func(h *results.Health) *results.Share { return h.Steal }), pct}
	sigLag      = healthSignal{"lag p99", 0, func(h *results.Health) (float64, bool) {
		return h.Lag.Quantile(0.99).Seconds(), h.Lag.Count() > 0
	}, func(v float64) string { return formatDuration(v) }}
)

// values returns the signal of every usable repeat, or nil when a repeat
// lacks it.
func (s healthSignal) values(cells []*results.Cell) []float64 {
	var out []float64
	for _, c := range cells {
		if c.Error != "" {
			continue
		}
		if c.Health == nil {
			return nil
		}
		v, ok := s.read(c.Health)
		if !ok {
			return nil
		}
		out = append(out, v)
	}
	return out
}

// rose reports whether the signal's median rose from x to y by its limit
// and, where the repeats allow the test, significantly.
func (s healthSignal) rose(x, y []float64, alpha float64) bool {
	if len(x) == 0 || len(y) == 0 || Median(y)-Median(x) < s.limit {
		return false
	}
	if len(x) >= MinRepeats && len(y) >= MinRepeats && MinP(len(x), len(y)) < alpha {
		return MannWhitney(x, y).P < alpha
	}
	return true
}

// starvedVs compares the generator health of the repeats of one cell and
// says, when nw's generator was CPU-starved relative to base's beyond
// noise, how ("run delay 87 % vs 51 %, pressure 96 % vs 58 %, lag p99
// 81ms vs 4.2ms"); "" otherwise. The process's own run delay decides where
// both sides measured it; else the machine's pressure; else other
// processes' CPU; steal always counts. Pressure and lag p99 are added as
// context.
func starvedVs(base, nw []*results.Cell, alpha float64) string {
	primary := []healthSignal{sigRunDelay, sigPressure, sigOther}
	var moved []healthSignal
	for _, s := range primary {
		x, y := s.values(base), s.values(nw)
		if len(x) == 0 || len(y) == 0 {
			continue
		}
		if s.rose(x, y, alpha) {
			moved = append(moved, s)
		}
		break // the first signal both sides measured decides
	}
	if sigSteal.rose(sigSteal.values(base), sigSteal.values(nw), alpha) {
		moved = append(moved, sigSteal)
	}
	if len(moved) == 0 {
		return ""
	}
	show := moved
	for _, s := range []healthSignal{sigPressure, sigLag} {
		if !containsSignal(show, s.name) {
			show = append(show, s)
		}
	}
	var parts []string
	for _, s := range show {
		x, y := s.values(base), s.values(nw)
		if len(x) == 0 || len(y) == 0 {
			continue
		}
		parts = append(parts, fmt.Sprintf("%s %s vs %s", s.name, s.show(Median(y)), s.show(Median(x))))
	}
	return strings.Join(parts, ", ")
}

func containsSignal(ss []healthSignal, name string) bool {
	for _, s := range ss {
		if s.name == name {
			return true
		}
	}
	return false
}

// environment is what Compare knows of the generators' health for one
// cell: why the new side (or the base side) was starved relative to the
// other, and why either side's generator was saturated.
type environment struct {
	newStarved, baseStarved string
	newSaturated            string
}

func compareEnvironment(bc, nc []*results.Cell, alpha float64) environment {
	env := environment{newStarved: starvedVs(bc, nc, alpha), baseStarved: starvedVs(nc, bc, alpha)}
	n, why := 0, ""
	for _, c := range nc {
		if ok, w := Saturation(c); ok && c.Error == "" {
			n++
			if why == "" {
				why = w
			}
		}
	}
	if n > 0 {
		env.newSaturated = fmt.Sprintf("new run's load generator was saturated in %d of %d repeats (%s)", n, len(nc), why)
	}
	return env
}
