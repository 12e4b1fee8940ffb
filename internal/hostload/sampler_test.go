package hostload

import (
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// rd builds a reading at t0+at with the given counters; one thread whose
// run time is proc and wait time a tenth of it.
func rd(t0 time.Time, at time.Duration, proc time.Duration, total, idle, steal uint64, running int, pressure time.Duration) reading {
	return reading{at: t0.Add(at), proc: proc, procOK: true,
		stat: statCPU{total: total, idle: idle, steal: steal, online: 2, running: running}, statOK: true,
		pressure: pressure, pressureOK: true,
		tasks: map[int]schedTimes{1: {run: proc, wait: proc / 10}}, tasksOK: true}
}

func near(a, b float64) bool { return math.Abs(a-b) < 1e-9 }

// The shares follow from the counters exactly: two one-second intervals on
// a 2-CPU machine, 2 cores for the process.
func TestAccumulatorShares(t *testing.T) {
	t0 := time.Now()
	a := accumulator{gomaxprocs: 2, cores: 2, every: time.Second}
	// Interval 1: process 0.5 s CPU (25 % of 2 cores, 25 % of the
	// machine); machine 200 ticks, 100 idle, 0 steal → busy 50 %, others
	// 25 %; pressure 100 ms of 1 s.
	a.add(rd(t0, 0, 0, 1000, 500, 0, 2, 0))
	a.add(rd(t0, time.Second, 500*time.Millisecond, 1200, 600, 0, 4, 100*time.Millisecond))
	// Interval 2: process 1 s (50 %), 200 ticks, 20 idle, 20 steal →
	// busy 80 %, others 30 %, steal 10 %; pressure 600 ms.
	a.add(rd(t0, 2*time.Second, 1500*time.Millisecond, 1400, 620, 20, 6, 700*time.Millisecond))
	s := a.summary()
	if s.Intervals != 2 || s.Elapsed != 2*time.Second {
		t.Fatalf("intervals %d elapsed %v", s.Intervals, s.Elapsed)
	}
	checks := []struct {
		name      string
		got       *Share
		mean, max float64
	}{
		{"cpu", s.CPU, 0.375, 0.5},
		{"other", s.OtherCPU, (0.65 - 0.375) /* busy 260/400 minus own 1.5s/2s/2 */, 0.30},
		{"steal", s.Steal, 0.05, 0.10},
		{"pressure", s.Pressure, 0.35, 0.6},
		{"run delay", s.Wait, 1.0 / 11, 1.0 / 11},
	}
	for _, c := range checks {
		if c.got == nil || !near(c.got.Mean, c.mean) || !near(c.got.Max, c.max) {
			t.Errorf("%s = %+v, want mean %v max %v", c.name, c.got, c.mean, c.max)
		}
	}
	if s.RunQueue == nil || !near(s.RunQueue.Mean, 4) || s.RunQueue.Max != 6 {
		t.Errorf("run queue %+v, want mean 4 max 6", s.RunQueue)
	}
	if s.ProcCPU != 1500*time.Millisecond || len(s.Unavailable) != 0 {
		t.Errorf("proc cpu %v unavailable %v", s.ProcCPU, s.Unavailable)
	}
}

// A source missing from the readings leaves its figure nil and says why;
// the others are still computed. A short last interval counts in the mean,
// not the maximum.
func TestAccumulatorMissingSources(t *testing.T) {
	t0 := time.Now()
	a := accumulator{gomaxprocs: 1, cores: 1, every: time.Second}
	noPSI := errors.New("open /proc/pressure/cpu: no such file or directory")
	r1 := rd(t0, 0, 0, 100, 50, 0, 1, 0)
	r2 := rd(t0, time.Second, 200*time.Millisecond, 300, 150, 0, 1, 0)
	r3 := rd(t0, 1100*time.Millisecond, 300*time.Millisecond, 320, 150, 0, 1, 0)
	for _, r := range []*reading{&r1, &r2, &r3} {
		r.pressureOK, r.pressureErr = false, noPSI
	}
	a.add(r1)
	a.add(r2)
	a.add(r3)
	s := a.summary()
	if s.Pressure != nil {
		t.Fatalf("pressure %+v without a pressure file", s.Pressure)
	}
	if len(s.Unavailable) != 1 || !strings.Contains(s.Unavailable[0], "pressure: open /proc/pressure/cpu") {
		t.Fatalf("unavailable = %q", s.Unavailable)
	}
	// Mean over 1.1 s: 0.3 s of CPU on one core; max from the whole
	// interval only (0.2), so max = mean.
	if s.Intervals != 1 || s.CPU == nil || !near(s.CPU.Mean, 0.3/1.1) || !near(s.CPU.Max, 0.3/1.1) {
		t.Fatalf("intervals %d cpu %+v", s.Intervals, s.CPU)
	}
}

// A machine without /proc (another OS, a sandbox): only the process CPU
// and the GC figures, and every other figure explained.
func TestSamplerWithoutProc(t *testing.T) {
	s := start(t.TempDir(), time.Now(), 20*time.Millisecond)
	waitFor(t, func() bool { return cpuBusy(5*time.Millisecond) > 0 }, s)
	sum := s.Stop()
	if sum.Intervals < 1 || sum.CPU == nil {
		t.Fatalf("summary %v", sum)
	}
	if sum.OtherCPU != nil || sum.Steal != nil || sum.Pressure != nil || sum.RunQueue != nil {
		t.Fatalf("figures from files that do not exist: %v", sum)
	}
	joined := strings.Join(sum.Unavailable, "\n")
	for _, want := range []string{"steal, other processes' CPU, run queue:", "pressure:", "process run delay:"} {
		if !strings.Contains(joined, want) {
			t.Errorf("unavailable %q lacks %q", sum.Unavailable, want)
		}
	}
}

// Files that exist but say nothing useful are reported, not trusted.
func TestSamplerGarbledFiles(t *testing.T) {
	root := t.TempDir()
	if err := os.MkdirAll(filepath.Join(root, "proc", "pressure"), 0o755); err != nil {
		t.Fatal(err)
	}
	for f, text := range map[string]string{"proc/stat": "hello\n", "proc/pressure/cpu": "some avg10=1\n"} {
		if err := os.WriteFile(filepath.Join(root, f), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	s := start(root, time.Now(), 20*time.Millisecond)
	waitFor(t, func() bool { return true }, s)
	sum := s.Stop()
	joined := strings.Join(sum.Unavailable, "\n")
	if !strings.Contains(joined, `no "cpu" line`) || !strings.Contains(joined, "no total") {
		t.Fatalf("unavailable = %q", sum.Unavailable)
	}
}

// On this machine: the real files, a busy loop of our own, and the
// sampler sees the process's CPU time.
func TestSamplerReal(t *testing.T) {
	s := Start(time.Now(), 50*time.Millisecond)
	var burnt time.Duration
	waitFor(t, func() bool { burnt += cpuBusy(20 * time.Millisecond); return burnt >= 100*time.Millisecond }, s)
	sum := s.Stop()
	if sum.CPU == nil || sum.CPU.Mean <= 0 || sum.ProcCPU <= 0 {
		t.Fatalf("no process CPU measured: %v", sum)
	}
	if sum.Cores < 1 || sum.GOMAXPROCS < 1 || sum.CPUs < 1 {
		t.Fatalf("cores %d gomaxprocs %d cpus %d", sum.Cores, sum.GOMAXPROCS, sum.CPUs)
	}
	if _, err := os.Stat("/proc/stat"); err == nil && (sum.RunQueue == nil || sum.RunQueue.Max < 1) {
		t.Fatalf("/proc/stat exists but no run queue (our own thread was running): %v", sum)
	}
	t.Log(sum)
	if again := s.Stop(); again.Elapsed != sum.Elapsed {
		t.Fatalf("second Stop %v differs from first %v", again, sum)
	}
}

// Stopped before its window opened, a sampler has measured nothing.
func TestSamplerStoppedEarly(t *testing.T) {
	s := Start(time.Now().Add(time.Hour), time.Second)
	if sum := s.Stop(); sum.Intervals != 0 || sum.CPU != nil {
		t.Fatalf("measured %v before its start", sum)
	}
}

// waitFor calls step until it reports true and the sampler has taken at
// least two readings (its first one and a tick), within 10 s.
func waitFor(t *testing.T, step func() bool, s *Sampler) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if step() && time.Since(deadline.Add(-10*time.Second)) > 3*s.every {
			return
		}
		time.Sleep(s.every / 4)
	}
	t.Fatal("condition not reached in 10 s")
}

// cpuBusy spins for about d of wall time and returns the wall time spent.
func cpuBusy(d time.Duration) time.Duration {
	start := time.Now()
	x := 0
	for time.Since(start) < d {
		x++
	}
	_ = x
	return time.Since(start)
}

// The run delay adds the threads' waits and runs between two readings: a
// thread new in the second counts from its start, one gone is left out,
// one whose counters went backwards (a reused thread ID) too.
func TestRunDelay(t *testing.T) {
	x := map[int]schedTimes{1: {run: 100, wait: 0}, 2: {run: 50, wait: 50}, 3: {run: 500, wait: 500}, 4: {run: 10, wait: 10}}
	y := map[int]schedTimes{1: {run: 200, wait: 100}, 2: {run: 150, wait: 50}, 4: {run: 5, wait: 1}, 5: {run: 100, wait: 100}}
	// Waits 100 + 0 + 100, runs 100 + 100 + 100.
	got, ok := runDelay(x, y)
	if !ok || !near(got, 200.0/500) {
		t.Fatalf("run delay %v %v, want 0.4", got, ok)
	}
	if _, ok := runDelay(x, x); ok {
		t.Fatal("run delay without any time passing")
	}
}

func FuzzParseSchedstat(f *testing.F) {
	f.Add([]byte("155277645 217938261 578\n"))
	f.Add([]byte("1 -2 3"))
	f.Fuzz(func(t *testing.T, b []byte) {
		st, err := parseSchedstat(b)
		if err == nil && (st.run < 0 || st.wait < 0) {
			t.Fatalf("negative times %+v from %q", st, b)
		}
	})
}
