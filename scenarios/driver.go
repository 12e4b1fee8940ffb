package scenarios

import (
	"context"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/grpcbench/grpcbench/results"
)

// driver drives one cell's calls: it owns the workers and, in the open
// model, the pacer that hands them intended start times.
type driver struct {
	s       *Scenario
	st      *stack
	rec     *results.Recorder
	peers   *results.PeerCounter // attempts per backend
	calls   *callSet
	cellID  string
	repeat  int
	epoch   time.Time     // the schedule's zero (the fake server's start)
	warmup  time.Duration // arrivals before it are not recorded
	end     time.Duration // no arrival at or after it
	closed  bool          // the closed model
	wrapper bool          // retries by the wrapper layer (one per worker)
	workers []*worker
	// Arrivals of the recorded phase: scheduled = sent + dropped.
	scheduled atomic.Int64
	dropped   atomic.Int64
	sent      atomic.Int64
}

// arrival is one intended call of the open model: its offset from the
// epoch and its number in the cell.
type arrival struct {
	at  time.Duration
	seq int64
}

func newDriver(c *Cell, st *stack, rec *results.Recorder, peers *results.PeerCounter, epoch time.Time) (*driver, error) {
	s := c.Scenario
	d := &driver{s: s, st: st, rec: rec, peers: peers, calls: s.calls, cellID: c.ID, repeat: c.Repeat, epoch: epoch,
		warmup: s.Load.Warmup, end: s.Load.Warmup + s.Load.Duration, closed: s.Load.Model == ModelClosed,
		wrapper: wrapperRetries(s)}
	n := s.Load.Workers
	if !d.closed {
		n = s.Load.MaxInflight
	}
	perWorker := s.Load.MaxCalls / int64(n)
	for i := range n {
		w, err := newWorker(d, i)
		if err != nil {
			return nil, err
		}
		w.quota = perWorker
		if int64(i) < s.Load.MaxCalls%int64(n) {
			w.quota++
		}
		d.workers = append(d.workers, w)
	}
	return d, nil
}

// run drives the load until the schedule ends, the call bound is reached
// or ctx is done, then waits for the calls in flight.
func (d *driver) run(ctx context.Context) {
	var wg sync.WaitGroup
	if d.closed {
		for _, w := range d.workers {
			wg.Go(func() { d.closedLoop(ctx, w) })
		}
		wg.Wait()
		return
	}
	queue := make(chan arrival, len(d.workers))
	for _, w := range d.workers {
		wg.Go(func() {
			for a := range queue {
				if ctx.Err() != nil {
					continue // drain: the pacer stops soon
				}
				w.call(ctx, a.at, a.seq)
			}
		})
	}
	d.pace(ctx, queue)
	close(queue)
	wg.Wait()
}

// pace releases arrivals at their intended times: it sleeps until the next
// one is due, then hands out every arrival that is due, each stamped with
// its own intended time (a late wake-up does not lose arrivals). An arrival
// that finds the queue full is dropped and counted.
func (d *driver) pace(ctx context.Context, queue chan<- arrival) {
	sched := newSchedule(d.s.Load)
	rng := rand.New(rand.NewPCG(uint64(d.s.Seed), 0x9e3779b97f4a7c15))
	u := func() float64 { return 1 }
	if d.s.Load.Arrivals == "poisson" {
		u = rng.ExpFloat64
	}
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	cum := 0.0 // expected arrivals so far: the schedule's clock-free position
	next, ok := sched.At(cum)
	for n := int64(0); ok && n < d.s.Load.MaxCalls; n++ {
		if wait := time.Until(d.epoch.Add(next)); wait > 0 {
			timer.Reset(wait)
			select {
			case <-ctx.Done():
				return
			case <-timer.C:
			}
		} else if ctx.Err() != nil {
			return
		}
		recorded := next >= d.warmup
		if recorded {
			d.scheduled.Add(1)
		}
		select {
		case queue <- arrival{next, n}:
		default:
			if recorded {
				d.dropped.Add(1)
			}
		}
		cum += u()
		next, ok = sched.At(cum)
	}
}

// closedLoop makes a worker's calls back to back (with think time).
func (d *driver) closedLoop(ctx context.Context, w *worker) {
	think := d.s.Load.Think
	var timer *time.Timer
	if think > 0 {
		timer = time.NewTimer(time.Hour)
		defer timer.Stop()
	}
	var intended time.Duration
	for n := int64(0); n < w.quota; n++ {
		now := w.now()
		if now >= d.end || ctx.Err() != nil {
			return
		}
		// A closed-model call is intended to start when the previous one
		// would have ended at the fastest service time seen: the lag is how
		// long a slow reply held this worker (a stall shows up here, not in
		// the latency of the few calls it hit).
		if n == 0 || intended > now {
			intended = now
		}
		w.call(ctx, intended, n*int64(len(d.workers))+int64(w.id))
		intended = w.st.sent + w.minService + think
		if think > 0 {
			timer.Reset(think)
			select {
			case <-ctx.Done():
				return
			case <-timer.C:
			}
		}
	}
}

// fill copies the load counters into the cell.
func (d *driver) fill(rc *results.Cell) {
	l := &rc.Load
	l.Model = d.s.Load.Model
	l.TargetRate = d.s.TargetRate()
	l.Workers = len(d.workers)
	l.Scheduled = d.scheduled.Load()
	l.Dropped = d.dropped.Load()
	l.Sent = d.sent.Load()
	if d.closed {
		l.Scheduled = l.Sent
	}
	var completed int64
	for _, w := range d.workers {
		completed += w.completed
	}
	l.Completed = completed
}

// topErrors merges the workers' failure tallies.
func (d *driver) topErrors() []results.ErrorCount {
	all := map[results.ErrorCount]int64{}
	for _, w := range d.workers {
		for k, n := range w.errs {
			all[k] += n
		}
	}
	return results.TopErrorCounts(all)
}

// wrapperRetries reports whether calls are retried or hedged by the
// per-worker layers (whose observer counts each call's attempts).
func wrapperRetries(s *Scenario) bool {
	for i := range s.calls.calls {
		if c := &s.calls.calls[i]; c.retry != nil || c.hedging != nil {
			return true
		}
	}
	return false
}
