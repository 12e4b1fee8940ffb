package scenarios

import (
	"time"

	"github.com/grpcbench/grpcbench/internal/hostload"
	"github.com/grpcbench/grpcbench/results"
)

// healthSampler measures the load generator's health over a cell's
// recorded phase (results.Cell.Health): it reads the process's and the
// machine's CPU counters once a second, never per call. The schedule lag
// comes from the recorder's shards.
type healthSampler struct {
	s   *hostload.Sampler
	sum *hostload.Summary
}

// startHealth starts sampling at from, the start of the recorded phase.
func startHealth(from time.Time) *healthSampler {
	return &healthSampler{s: hostload.Start(from, time.Second)}
}

// stop ends the sampling (the end of the recorded phase); it may be
// called more than once.
func (h *healthSampler) stop() {
	if h.sum == nil {
		sum := h.s.Stop()
		h.sum = &sum
	}
}

// fill stops the sampler if needed and adds what it measured to rc.Health
// beside the lag the recorder put there.
func (h *healthSampler) fill(rc *results.Cell) {
	h.stop()
	sum := h.sum
	if sum.Intervals == 0 && rc.Health == nil {
		return // interrupted before the recorded phase: nothing measured
	}
	if rc.Health == nil {
		rc.Health = &results.Health{}
	}
	hh := rc.Health
	hh.Generators = 1
	hh.Samples = sum.Intervals
	hh.GOMAXPROCS, hh.Cores, hh.CPUs = sum.GOMAXPROCS, sum.Cores, sum.CPUs
	if sum.Intervals == 0 {
		hh.Unavailable = []string{"machine figures: the recorded phase was not sampled"}
		return
	}
	hh.CPUTime = sum.ProcCPU
	hh.CPU, hh.RunDelay, hh.OtherCPU = share(sum.CPU), share(sum.Wait), share(sum.OtherCPU)
	hh.Steal, hh.Pressure = share(sum.Steal), share(sum.Pressure)
	if rq := sum.RunQueue; rq != nil {
		hh.RunQueue = &results.Gauge{Mean: rq.Mean, Max: rq.Max}
	}
	hh.GCPauses, hh.GCCount = sum.GCPause, sum.GCCount
	hh.Unavailable = sum.Unavailable
}

func share(s *hostload.Share) *results.Share {
	if s == nil {
		return nil
	}
	return &results.Share{Mean: s.Mean, Max: s.Max}
}
