package results

import (
	"math"
	"slices"
	"time"
)

// Health describes the load generator itself during a cell's recorded
// phase: how much CPU it used, how busy and contended the machine was, the
// garbage collector's pauses and how late calls were sent. A starved
// generator measures itself rather than the service; gates.Saturation and
// gates.Compare judge these figures.
//
// The machine figures are read about once a second (never per call) by the
// runner; Lag is recorded per call by the shards. A figure that could not
// be measured is nil and Unavailable says why (e.g. no /proc/pressure/cpu
// on a kernel without PSI). Shares are fractions in [0, 1].
//
// A merged cell (several load generators, see [Merge]) describes in each
// share and in the run queue the most loaded generator (maxima over
// generators), adds CPU time, GC pauses and lag histograms, and keeps the
// smallest GOMAXPROCS, Cores and CPUs.
type Health struct {
	// Generators is the number of load generators the figures come from
	// (1 for one run; set by Merge).
	Generators int `json:"generators,omitempty"`
	// Samples is the number of (about one-second) intervals the machine
	// figures come from; 0 when they were not measured.
	Samples int `json:"samples"`
	// GOMAXPROCS is the Go scheduler's; Cores the CPUs it could use
	// (min(GOMAXPROCS, the CPUs of the affinity mask)); CPUs the machine's
	// online CPUs.
	GOMAXPROCS int `json:"gomaxprocs,omitempty"`
	Cores      int `json:"cores,omitempty"`
	CPUs       int `json:"cpus,omitempty"`
	// CPUTime is the process's CPU time (user + system) in the phase; CPU is
	// it as a share of Cores, over the phase (Mean) and in the busiest
	// second (Max). The embedded fake server runs in the same process.
	CPUTime time.Duration `json:"cpu_time_ns,omitempty"`
	CPU     *Share        `json:"cpu,omitempty"`
	// RunDelay is the share of the process's runnable time its threads
	// spent waiting for a CPU instead of running (Linux schedstat): the
	// process's own starvation, near 0 when it gets a CPU whenever it
	// wants one.
	RunDelay *Share `json:"run_delay,omitempty"`
	// OtherCPU is the share of the machine's CPU capacity that other
	// processes used; Steal the share the hypervisor took (/proc/stat).
	OtherCPU *Share `json:"other_cpu,omitempty"`
	Steal    *Share `json:"steal,omitempty"`
	// Pressure is the share of wall time in which some runnable task on
	// the machine waited for a CPU (PSI "some", /proc/pressure/cpu).
	Pressure *Share `json:"pressure,omitempty"`
	// RunQueue is the number of runnable tasks on the machine
	// (procs_running, this process's running threads included), read about
	// once a second.
	RunQueue *Gauge `json:"run_queue,omitempty"`
	// GCPauses and GCCount are the garbage collector's stop-the-world
	// pauses (total) and cycles in the phase.
	GCPauses time.Duration `json:"gc_pause_ns"`
	GCCount  int64         `json:"gc_count"`
	// Lag is the distribution of schedule lag: in the open model, from a
	// call's intended start to its send (a late pacer or worker, a full
	// in-flight cap); in the closed model, how long slow replies held a
	// worker past its intended start. Load.MaxLag is its maximum.
	Lag *Histogram `json:"lag,omitempty"`
	// Unavailable names each figure that could not be measured, and why.
	Unavailable []string `json:"unavailable,omitempty"`
}

// Share is a fraction (0–1) of wall time or of CPU capacity: the mean over
// the phase and the largest one-second value.
type Share struct {
	Mean float64 `json:"mean"`
	Max  float64 `json:"max"`
}

// Gauge is a count read about once a second: its mean and maximum.
type Gauge struct {
	Mean float64 `json:"mean"`
	Max  int     `json:"max"`
}

// maxShare returns the larger of two shares figure by figure (nil when
// both are nil).
func maxShare(a, b *Share) *Share {
	switch {
	case a == nil && b == nil:
		return nil
	case a == nil:
		return &Share{Mean: b.Mean, Max: b.Max}
	case b == nil:
		return &Share{Mean: a.Mean, Max: a.Max}
	}
	return &Share{Mean: max(a.Mean, b.Mean), Max: max(a.Max, b.Max)}
}

// minPositive returns the smaller of a and b ignoring zeros.
func minPositive(a, b int) int {
	switch {
	case a <= 0:
		return b
	case b <= 0:
		return a
	}
	return min(a, b)
}

// mergeHealth combines the health of two load generators' parts of one
// cell (see Health); nil is no health recorded.
func mergeHealth(dst, src *Health) *Health {
	if src == nil {
		return dst
	}
	gen := max(src.Generators, 1)
	if dst == nil {
		out := *src
		out.Generators = gen
		out.CPU, out.OtherCPU, out.RunDelay = maxShare(src.CPU, nil), maxShare(src.OtherCPU, nil), maxShare(src.RunDelay, nil)
		out.Steal, out.Pressure = maxShare(src.Steal, nil), maxShare(src.Pressure, nil)
		if src.RunQueue != nil {
			rq := *src.RunQueue
			out.RunQueue = &rq
		}
		out.Lag = src.Lag.Clone()
		out.Unavailable = slices.Clone(src.Unavailable)
		return &out
	}
	dst.Generators += gen
	dst.Samples = max(dst.Samples, src.Samples)
	dst.GOMAXPROCS = minPositive(dst.GOMAXPROCS, src.GOMAXPROCS)
	dst.Cores = minPositive(dst.Cores, src.Cores)
	dst.CPUs = minPositive(dst.CPUs, src.CPUs)
	dst.CPUTime += src.CPUTime
	dst.CPU = maxShare(dst.CPU, src.CPU)
	dst.OtherCPU = maxShare(dst.OtherCPU, src.OtherCPU)
	dst.RunDelay = maxShare(dst.RunDelay, src.RunDelay)
	dst.Steal = maxShare(dst.Steal, src.Steal)
	dst.Pressure = maxShare(dst.Pressure, src.Pressure)
	if rq := src.RunQueue; rq != nil {
		if dst.RunQueue == nil {
			dst.RunQueue = &Gauge{}
		}
		dst.RunQueue.Mean = max(dst.RunQueue.Mean, rq.Mean)
		dst.RunQueue.Max = max(dst.RunQueue.Max, rq.Max)
	}
	dst.GCPauses += src.GCPauses
	dst.GCCount += src.GCCount
	dst.Lag = mergeHist(dst.Lag, src.Lag)
	for _, u := range src.Unavailable {
		if !slices.Contains(dst.Unavailable, u) {
			dst.Unavailable = append(dst.Unavailable, u)
		}
	}
	return dst
}

func (h *Health) validate(p *problems, path string) {
	p.count(path, "generators", int64(h.Generators))
	p.count(path, "samples", int64(h.Samples))
	p.count(path, "gomaxprocs", int64(h.GOMAXPROCS))
	p.count(path, "cores", int64(h.Cores))
	p.count(path, "cpus", int64(h.CPUs))
	p.count(path, "cpu_time_ns", int64(h.CPUTime))
	p.count(path, "gc_pause_ns", int64(h.GCPauses))
	p.count(path, "gc_count", h.GCCount)
	for _, s := range []struct {
		name string
		v    *Share
	}{{"cpu", h.CPU}, {"run_delay", h.RunDelay}, {"other_cpu", h.OtherCPU}, {"steal", h.Steal}, {"pressure", h.Pressure}} {
		if s.v == nil {
			continue
		}
		for _, f := range []struct {
			name string
			v    float64
		}{{"mean", s.v.Mean}, {"max", s.v.Max}} {
			if math.IsNaN(f.v) || f.v < 0 || f.v > 1 {
				p.addf(path+"."+s.name+"."+f.name, "%v is not a share in [0, 1]", f.v)
			}
		}
	}
	if rq := h.RunQueue; rq != nil {
		p.rate(path+".run_queue", "mean", rq.Mean)
		p.count(path+".run_queue", "max", int64(rq.Max))
	}
}
