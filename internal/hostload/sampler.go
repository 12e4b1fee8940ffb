package hostload

import (
	"fmt"
	"runtime"
	"sync"
	"time"
)

// Share is a fraction, 0–1, of wall time or of CPU capacity: Mean over
// the whole window and Max over its whole intervals.
type Share struct {
	Mean, Max float64
}

// Gauge is a count read at every reading: its mean and maximum.
type Gauge struct {
	Mean float64
	Max  int
}

// Summary is what a [Sampler] measured between its first and last
// readings. A nil figure could not be measured; Unavailable says why.
type Summary struct {
	// Intervals is the number of intervals the maxima come from (0: nothing
	// was measured); Elapsed spans the first to the last reading.
	Intervals int
	Elapsed   time.Duration
	// GOMAXPROCS is runtime.GOMAXPROCS(0) at the start; Cores is
	// min(GOMAXPROCS, runtime.NumCPU()): the CPUs the Go scheduler may run
	// on; CPUs is the number of online CPUs of the machine.
	GOMAXPROCS, Cores, CPUs int
	// ProcCPU is this process's CPU time (user + system) over the window;
	// CPU is it as a share of Cores.
	ProcCPU time.Duration
	CPU     *Share
	// OtherCPU is the share of the machine's CPU capacity used by other
	// processes; Steal the share stolen by the hypervisor.
	OtherCPU, Steal *Share
	// Pressure is the share of wall time in which some runnable task
	// waited for a CPU (PSI "some").
	Pressure *Share
	// Wait is the share of this process's runnable time its threads spent
	// waiting for a CPU rather than running (their schedstat run delay):
	// near 0 when the process gets a CPU whenever it wants one.
	Wait *Share
	// RunQueue is procs_running (runnable tasks on the machine).
	RunQueue *Gauge
	// GCPause and GCCount are the garbage collector's pauses (total) and
	// cycles in the window.
	GCPause time.Duration
	GCCount int64
	// Unavailable names each figure that could not be measured, with the
	// reason ("pressure: open /proc/pressure/cpu: no such file or
	// directory").
	Unavailable []string
}

// Sampler reads the counters every interval from a start time until Stop.
type Sampler struct {
	r     *reader
	every time.Duration
	stop  chan struct{}
	done  chan struct{}
	once  sync.Once
	acc   accumulator // owned by the sampling goroutine until done closes
}

// Start starts a sampler: its first reading is at from (at once when from
// has passed), then one every interval (a second when every ≤ 0), and a
// last one in Stop. Stop must be called.
func Start(from time.Time, every time.Duration) *Sampler { return start("/", from, every) }

func start(root string, from time.Time, every time.Duration) *Sampler {
	if every <= 0 {
		every = time.Second
	}
	procs := runtime.GOMAXPROCS(0)
	s := &Sampler{r: newReader(root), every: every, stop: make(chan struct{}), done: make(chan struct{}),
		acc: accumulator{gomaxprocs: procs, cores: max(1, min(procs, runtime.NumCPU())), every: every}}
	go s.loop(from)
	return s
}

func (s *Sampler) loop(from time.Time) {
	defer close(s.done)
	t := time.NewTimer(time.Until(from))
	defer t.Stop()
	select {
	case <-s.stop:
		return // stopped before the window opened: nothing measured
	case <-t.C:
	}
	s.acc.add(s.r.read())
	tick := time.NewTicker(s.every)
	defer tick.Stop()
	for {
		select {
		case <-s.stop:
			s.acc.add(s.r.read())
			return
		case <-tick.C:
			s.acc.add(s.r.read())
		}
	}
}

// Stop takes a last reading, stops the sampler and returns what it
// measured. Calling it again returns the same summary.
func (s *Sampler) Stop() Summary {
	s.once.Do(func() { close(s.stop) })
	<-s.done
	return s.acc.summary()
}

// accumulator reduces readings as they come: the first and latest reading
// give the means, each whole interval a candidate maximum.
type accumulator struct {
	gomaxprocs, cores int
	every             time.Duration

	first, prev reading
	readings    int
	intervals   int
	max         figures
	runSum      float64
	runN        int
	runMax      int
}

// figures are the shares of one interval (or of the window); ok flags
// say which could be computed.
type figures struct {
	cpu, other, steal, pressure, wait           float64
	cpuOK, otherOK, stealOK, pressureOK, waitOK bool
}

func (a *accumulator) add(rd reading) {
	if rd.statOK {
		a.runSum += float64(rd.stat.running)
		a.runN++
		a.runMax = max(a.runMax, rd.stat.running)
	}
	a.readings++
	if a.readings == 1 {
		a.first, a.prev = rd, rd
		return
	}
	// A short last interval (Stop soon after a tick) counts in the means
	// only: its shares are too coarse for a maximum.
	if rd.at.Sub(a.prev.at) >= a.every/2 {
		f := a.between(a.prev, rd)
		a.max.raise(f)
		a.intervals++
	}
	a.prev = rd
}

// raise sets each available figure of m to the larger of m's and f's.
func (m *figures) raise(f figures) {
	if f.cpuOK {
		m.cpu, m.cpuOK = max(m.cpu, f.cpu), true
	}
	if f.otherOK {
		m.other, m.otherOK = max(m.other, f.other), true
	}
	if f.stealOK {
		m.steal, m.stealOK = max(m.steal, f.steal), true
	}
	if f.pressureOK {
		m.pressure, m.pressureOK = max(m.pressure, f.pressure), true
	}
	if f.waitOK {
		m.wait, m.waitOK = max(m.wait, f.wait), true
	}
}

// between returns the shares from reading x to reading y.
func (a *accumulator) between(x, y reading) figures {
	var f figures
	dt := y.at.Sub(x.at)
	if dt <= 0 {
		return f
	}
	online := a.online(y)
	if x.procOK && y.procOK && y.proc >= x.proc {
		f.cpu, f.cpuOK = clamp01(float64(y.proc-x.proc)/float64(dt)/float64(a.cores)), true
	}
	if x.statOK && y.statOK && y.stat.total > x.stat.total && y.stat.idle >= x.stat.idle && y.stat.steal >= x.stat.steal {
		total := float64(y.stat.total - x.stat.total)
		idle, steal := float64(y.stat.idle-x.stat.idle), float64(y.stat.steal-x.stat.steal)
		f.steal, f.stealOK = clamp01(steal/total), true
		busy := clamp01((total - idle - steal) / total)
		if f.cpuOK {
			own := float64(y.proc-x.proc) / float64(dt) / float64(online)
			f.other, f.otherOK = clamp01(busy-own), true
		}
	}
	if x.pressureOK && y.pressureOK && y.pressure >= x.pressure {
		f.pressure, f.pressureOK = clamp01(float64(y.pressure-x.pressure)/float64(dt)), true
	}
	if x.tasksOK && y.tasksOK {
		f.wait, f.waitOK = runDelay(x.tasks, y.tasks)
	}
	return f
}

// runDelay returns the share of the threads' runnable time from x to y
// spent waiting: a thread new in y counts from its start, one gone from y
// is left out.
func runDelay(x, y map[int]schedTimes) (float64, bool) {
	var run, wait time.Duration
	for tid, b := range y {
		a := x[tid]
		if b.run < a.run || b.wait < a.wait {
			continue // the thread ID was reused
		}
		run += b.run - a.run
		wait += b.wait - a.wait
	}
	if run+wait <= 0 {
		return 0, false
	}
	return clamp01(float64(wait) / float64(run+wait)), true
}

// online is the number of online CPUs a reading saw (NumCPU when unknown).
func (a *accumulator) online(rd reading) int {
	if rd.statOK && rd.stat.online > 0 {
		return rd.stat.online
	}
	return max(1, runtime.NumCPU())
}

func clamp01(v float64) float64 { return min(max(v, 0), 1) }

// summary reduces what was read.
func (a *accumulator) summary() Summary {
	s := Summary{GOMAXPROCS: a.gomaxprocs, Cores: a.cores, CPUs: a.online(a.prev)}
	if a.readings < 2 {
		return s
	}
	s.Elapsed = a.prev.at.Sub(a.first.at)
	s.Intervals = a.intervals
	mean := a.between(a.first, a.prev)
	mx := a.max
	if a.intervals == 0 {
		// One short window: its maximum is its mean.
		mx, s.Intervals = mean, 1
	}
	share := func(ok bool, m, x float64) *Share {
		if !ok {
			return nil
		}
		return &Share{Mean: m, Max: max(m, x)}
	}
	s.CPU = share(mean.cpuOK, mean.cpu, mx.cpu)
	s.OtherCPU = share(mean.otherOK, mean.other, mx.other)
	s.Steal = share(mean.stealOK, mean.steal, mx.steal)
	s.Pressure = share(mean.pressureOK, mean.pressure, mx.pressure)
	s.Wait = share(mean.waitOK, mean.wait, mx.wait)
	if mean.cpuOK {
		s.ProcCPU = a.prev.proc - a.first.proc
	}
	if a.runN > 0 {
		s.RunQueue = &Gauge{Mean: a.runSum / float64(a.runN), Max: a.runMax}
	}
	s.GCPause = max(a.prev.gcPause-a.first.gcPause, 0)
	s.GCCount = max(a.prev.gcCount-a.first.gcCount, 0)
	s.Unavailable = a.unavailable(mean)
	return s
}

// unavailable explains each figure that could not be computed.
func (a *accumulator) unavailable(mean figures) []string {
	var out []string
	why := func(errs ...error) string {
		for _, err := range errs {
			if err != nil {
				return err.Error()
			}
		}
		return "a counter went backwards"
	}
	if !mean.cpuOK {
		out = append(out, "process CPU: "+why(a.first.procErr, a.prev.procErr))
	}
	if !mean.stealOK {
		out = append(out, "steal, other processes' CPU, run queue: "+why(a.first.statErr, a.prev.statErr))
	} else if !mean.otherOK {
		out = append(out, "other processes' CPU: needs the process CPU time")
	}
	if !mean.pressureOK {
		out = append(out, "pressure: "+why(a.first.pressureErr, a.prev.pressureErr))
	}
	if !mean.waitOK {
		out = append(out, "process run delay: "+why(a.first.tasksErr, a.prev.tasksErr))
	}
	return out
}

// String renders a summary on one line, for logs and tests.
func (s Summary) String() string {
	f := func(sh *Share) string {
		if sh == nil {
			return "n/a"
		}
		return fmt.Sprintf("%.0f%%/%.0f%%", 100*sh.Mean, 100*sh.Max)
	}
	rq := "n/a"
	if s.RunQueue != nil {
		rq = fmt.Sprintf("%.1f/%d", s.RunQueue.Mean, s.RunQueue.Max)
	}
	return fmt.Sprintf("%d intervals over %v: cpu %s of %d cores, run delay %s, other cpu %s, steal %s, pressure %s, run queue %s, gc %d pauses %v",
		s.Intervals, s.Elapsed.Round(time.Millisecond), f(s.CPU), s.Cores, f(s.Wait), f(s.OtherCPU), f(s.Steal), f(s.Pressure), rq, s.GCCount, s.GCPause)
}
