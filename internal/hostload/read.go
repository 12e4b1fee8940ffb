package hostload

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"time"
)

// reading is one reading of every counter. A source that could not be read
// leaves its ok flag false and its error in the reading.
type reading struct {
	at time.Time // with its monotonic clock

	proc    time.Duration // this process's user + system CPU time
	procOK  bool
	procErr error

	stat    statCPU
	statOK  bool
	statErr error

	pressure    time.Duration // PSI cpu "some" total
	pressureOK  bool
	pressureErr error

	tasks    map[int]schedTimes // this process's threads, by thread ID
	tasksOK  bool
	tasksErr error

	gcPause time.Duration
	gcCount int64
}

// statCPU is what /proc/stat says of the machine.
type statCPU struct {
	// total, idle (idle + iowait) and steal are clock ticks of the
	// aggregate "cpu" line.
	total, idle, steal uint64
	// online counts the "cpuN" lines; running is procs_running.
	online, running int
}

// schedTimes are one thread's times from its schedstat file: on a CPU,
// and runnable but waiting for one.
type schedTimes struct {
	run, wait time.Duration
}

// reader reads the counters from files under root ("/" normally; tests
// point it at a directory of their own).
type reader struct {
	root string
	gc   debug.GCStats // reused: ReadGCStats keeps its Pause slice
}

func newReader(root string) *reader { return &reader{root: root} }

func (r *reader) path(p string) string { return filepath.Join(r.root, p) }

// read takes one reading.
func (r *reader) read() reading {
	rd := reading{at: time.Now()}
	rd.proc, rd.procErr = processCPU()
	rd.procOK = rd.procErr == nil
	if b, err := os.ReadFile(r.path("proc/stat")); err != nil {
		rd.statErr = err
	} else if rd.stat, err = parseStat(b); err != nil {
		rd.statErr = fmt.Errorf("%s: %w", r.path("proc/stat"), err)
	} else {
		rd.statOK = true
	}
	if b, err := os.ReadFile(r.path("proc/pressure/cpu")); err != nil {
		rd.pressureErr = err
	} else if rd.pressure, err = parsePressure(b); err != nil {
		rd.pressureErr = fmt.Errorf("%s: %w", r.path("proc/pressure/cpu"), err)
	} else {
		rd.pressureOK = true
	}
	rd.tasks, rd.tasksErr = r.readTasks()
	rd.tasksOK = rd.tasksErr == nil
	debug.ReadGCStats(&r.gc)
	rd.gcPause, rd.gcCount = r.gc.PauseTotal, r.gc.NumGC
	return rd
}

// parseStat parses /proc/stat: the aggregate "cpu" line (user nice system
// idle iowait irq softirq steal guest guest_nice, in clock ticks; guest
// time is already counted in user and nice, so it is left out of the
// total), the number of "cpuN" lines and procs_running. Columns a kernel
// does not have (steal before 2.6.11) count as 0.
func parseStat(b []byte) (statCPU, error) {
	var s statCPU
	seenCPU, seenRunning := false, false
	for line := range bytes.Lines(b) {
		f := bytes.Fields(line)
		if len(f) == 0 {
			continue
		}
		switch name := string(f[0]); {
		case name == "cpu":
			if len(f) < 5 {
				return s, fmt.Errorf("cpu line has %d columns, want at least 4 counters", len(f)-1)
			}
			var v [8]uint64
			for i := range min(len(f)-1, len(v)) {
				n, err := strconv.ParseUint(string(f[i+1]), 10, 64)
				if err != nil {
					return s, fmt.Errorf("cpu line column %d: %w", i+1, err)
				}
				v[i] = n
			}
			for _, n := range v {
				if s.total+n < s.total {
					return s, errors.New("cpu line overflows")
				}
				s.total += n
			}
			s.idle, s.steal = v[3]+v[4], v[7]
			seenCPU = true
		case len(name) > 3 && name[:3] == "cpu" && isDigits(name[3:]):
			s.online++
		case name == "procs_running" && len(f) >= 2:
			n, err := strconv.Atoi(string(f[1]))
			if err != nil || n < 0 {
				return s, fmt.Errorf("procs_running %q is not a count", f[1])
			}
			s.running, seenRunning = n, true
		}
	}
	switch {
	case !seenCPU:
		return s, errors.New(`no "cpu" line`)
	case !seenRunning:
		return s, errors.New("no procs_running line")
	}
	return s, nil
}

func isDigits(s string) bool {
	for _, c := range []byte(s) {
		if c < '0' || c > '9' {
			return false
		}
	}
	return s != ""
}

// parsePressure returns the total of the "some" line of a PSI file
// ("some avg10=1.23 avg60=0.50 avg300=0.10 total=123456", µs).
func parsePressure(b []byte) (time.Duration, error) {
	for line := range bytes.Lines(b) {
		f := bytes.Fields(line)
		if len(f) == 0 || string(f[0]) != "some" {
			continue
		}
		for _, kv := range f[1:] {
			k, v, ok := bytes.Cut(kv, []byte("="))
			if !ok || string(k) != "total" {
				continue
			}
			n, err := strconv.ParseUint(string(v), 10, 63)
			if err != nil || n > uint64(1<<63-1)/uint64(time.Microsecond) {
				return 0, fmt.Errorf("some total %q is not a count of µs", v)
			}
			return time.Duration(n) * time.Microsecond, nil
		}
		return 0, errors.New(`"some" line has no total`)
	}
	return 0, errors.New(`no "some" line`)
}

// readTasks reads the schedstat file of every thread of this process
// (/proc/self/task/*/schedstat; the kernel needs CONFIG_SCHED_INFO). A
// thread that ends between the listing and the read is left out.
func (r *reader) readTasks() (map[int]schedTimes, error) {
	dir := r.path("proc/self/task")
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	out := make(map[int]schedTimes, len(ents))
	var firstErr error
	for _, e := range ents {
		tid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, e.Name(), "schedstat"))
		if errors.Is(err, os.ErrNotExist) && len(out) > 0 {
			continue // the thread ended
		}
		if err == nil {
			var st schedTimes
			if st, err = parseSchedstat(b); err == nil {
				out[tid] = st
				continue
			}
			err = fmt.Errorf("%s: %w", filepath.Join(dir, e.Name(), "schedstat"), err)
		}
		firstErr = cmpOr(firstErr, err)
	}
	if len(out) == 0 {
		if firstErr == nil {
			firstErr = fmt.Errorf("%s: no thread", dir)
		}
		return nil, firstErr
	}
	return out, nil
}

func cmpOr(a, b error) error {
	if a != nil {
		return a
	}
	return b
}

// parseSchedstat parses a schedstat file: "run_ns wait_ns timeslices".
func parseSchedstat(b []byte) (schedTimes, error) {
	f := bytes.Fields(b)
	if len(f) < 2 {
		return schedTimes{}, fmt.Errorf("%d fields, want 3", len(f))
	}
	var v [2]int64
	for i := range v {
		n, err := strconv.ParseInt(string(f[i]), 10, 64)
		if err != nil || n < 0 {
			return schedTimes{}, fmt.Errorf("field %d %q is not a count of ns", i+1, f[i])
		}
		v[i] = n
	}
	return schedTimes{run: time.Duration(v[0]), wait: time.Duration(v[1])}, nil
}
