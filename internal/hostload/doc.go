// Package hostload measures the health of the load generator itself: how
// much CPU the process used, how busy the rest of the machine was, whether
// runnable tasks waited for a CPU, and how much the Go runtime paused for
// garbage collection. A benchmark whose generator is starved measures the
// generator, not the service; these figures let a gate say so.
//
// A [Sampler] reads the counters once per interval (normally a second) from
// a start time until it is stopped, never per call, and reduces them to a
// [Summary]: the mean over the whole window (from the first reading to the
// last) and the maximum over whole intervals.
//
// # Sources (Linux)
//
//   - process CPU time: getrusage(RUSAGE_SELF), user + system; its
//     utilisation is divided by Cores = min(GOMAXPROCS, runtime.NumCPU()),
//     and runtime.NumCPU reflects the CPU affinity mask
//     (sched_getaffinity) at start-up;
//   - machine CPU: the aggregate "cpu" line of /proc/stat, in clock ticks:
//     busy = total − idle − iowait, steal = the steal column; the CPU share
//     of other processes is busy/total minus this process's CPU time over
//     (elapsed × online CPUs), never below 0;
//   - run queue: "procs_running" of /proc/stat (runnable tasks on the
//     machine, this process's running threads included), read at every
//     reading;
//   - CPU pressure: the "some" line of /proc/pressure/cpu (PSI, Linux ≥ 4.20
//     with PSI enabled): the share of wall time in which at least one
//     runnable task waited for a CPU, from the difference of its total
//     (µs) between readings — exact, not the kernel's smoothed avg10;
//   - garbage collection: runtime/debug.ReadGCStats (pause total and count;
//     it does not stop the world).
//
// Where a file is missing or unreadable (another OS, a kernel without PSI
// or booted with psi=0, a sandbox hiding /proc) the figures it feeds are
// nil in the Summary and Summary.Unavailable says which and why; the others
// are still measured. Nothing here fails a run.
//
// Invariants: every share is a fraction in [0, 1] (process CPU may exceed
// 1 by rounding of the clocks; it is clamped); a Summary with Intervals == 0
// measured nothing; a Sampler's goroutine ends in Stop.
package hostload
