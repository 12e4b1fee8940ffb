package scenarios

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/grpcbench/grpcbench/fakeserver"
	"github.com/grpcbench/grpcbench/results"
)

// ErrCellFailed is returned (wrapped) by Run when at least one cell could
// not be carried out; the run's results are still returned.
var ErrCellFailed = errors.New("a cell could not be carried out")

// Event reports progress to Options.Progress.
type Event struct {
	// Kind is "start" (a cell begins), "tick" (about once a second while it
	// runs) or "done" (it ended; Result is set).
	Kind string
	// Cell is the cell's position (0-based) of Cells.
	Cell, Cells int
	ID          string
	// Elapsed is the time since the cell started (warm-up included).
	Elapsed time.Duration
	// Total is the cell's planned length (warm-up + duration).
	Total time.Duration
	// Live is the recorder's snapshot (cumulative, recorded phase only).
	Live results.LiveSnapshot
	// Result is the finished cell (Kind "done").
	Result *results.Cell
}

// Options tune Run.
type Options struct {
	// Progress, when set, receives events on the runner's goroutine; it
	// must return quickly.
	Progress func(Event)
	// Args are the command line, for the results' provenance.
	Args []string
}

// Run executes every cell of the spec in order and returns the results.
// When ctx is cancelled (SIGINT), the running cell stops within about a
// second, the remaining cells are skipped, and the results so far are
// returned marked partial (with a nil error): they are valid results.
func Run(ctx context.Context, sp *Spec, opts Options) (*results.Run, error) {
	cells, err := sp.Expand()
	if err != nil {
		return nil, err
	}
	run := &results.Run{
		Schema:     results.Schema,
		Name:       sp.Scenario.Name,
		Started:    time.Now(),
		Provenance: results.CollectProvenance(opts.Args),
		Scenario:   sp.Scenario.Resolved(),
		Dimensions: sp.Dimensions(),
	}
	var failed []string
	for i, c := range cells {
		if ctx.Err() != nil {
			run.Partial = true
			break
		}
		if opts.Progress != nil {
			opts.Progress(Event{Kind: "start", Cell: i, Cells: len(cells), ID: c.ID, Total: c.Scenario.Load.Warmup + c.Scenario.Load.Duration})
		}
		rc := runCell(ctx, c, func(ev Event) {
			if opts.Progress != nil {
				ev.Cell, ev.Cells, ev.ID = i, len(cells), c.ID
				opts.Progress(ev)
			}
		})
		run.Cells = append(run.Cells, rc)
		if rc.Partial {
			run.Partial = true
		}
		if rc.Error != "" && !rc.Partial {
			failed = append(failed, c.ID+": "+rc.Error)
		}
		if opts.Progress != nil {
			opts.Progress(Event{Kind: "done", Cell: i, Cells: len(cells), ID: c.ID, Result: rc})
		}
	}
	run.Finished = time.Now()
	if len(failed) > 0 {
		return run, fmt.Errorf("%w: %s", ErrCellFailed, failed[0])
	}
	return run, nil
}

// runCell runs one cell and returns its results; failures are in
// Cell.Error.
func runCell(ctx context.Context, c *Cell, progress func(Event)) *results.Cell {
	s := c.Scenario
	fail := func(err error) *results.Cell {
		return &results.Cell{ID: c.ID, Index: c.Index, Repeat: c.Repeat, Params: c.Params, Error: err.Error(),
			Start: time.Now(), Load: results.Load{Model: s.Load.Model, TargetRate: s.TargetRate()}}
	}
	cellCtx, cancel := context.WithCancel(ctx)
	defer cancel()

	var cl *fakeserver.Cluster
	addrs := []string{s.Server.Target}
	if s.Server.Target == "" {
		var err error
		cl, err = fakeserver.Start(cellCtx, s.Server.Config)
		if err != nil {
			return fail(err)
		}
		defer cl.Stop()
		addrs = cl.Addrs()
	}
	peers := results.NewPeerCounter(addrs...)
	st, err := newStack(cellCtx, s, addrs, peers)
	if err != nil {
		return fail(err)
	}
	defer st.close()

	epoch := time.Now()
	if cl != nil {
		epoch = cl.Started() // fault windows and the schedule share a clock
	}
	recordFrom := epoch.Add(s.Load.Warmup)
	rec := results.NewRecorder(s.calls.names, recordFrom)
	rec.SetPeerCounter(peers)
	d, err := newDriver(c, st, rec, epoch)
	if err != nil {
		return fail(err)
	}
	interrupted := drive(ctx, cellCtx, d, epoch, progress)
	end := time.Now()

	rc := rec.Cell()
	rc.ID, rc.Index, rc.Repeat, rc.Params = c.ID, c.Index, c.Repeat, c.Params
	rc.Start = recordFrom
	// Rates are over the planned recorded phase: the schedule's last
	// arrival comes just before its end, and calls still in flight at the
	// end are waited for and recorded. An interrupted cell counts the time
	// it ran.
	rc.Duration = s.Load.Duration
	if interrupted {
		rc.Duration = max(end.Sub(recordFrom), 0)
		rc.Partial = true
		rc.Error = "interrupted"
	}
	d.fill(rc)
	if rc.Duration > 0 {
		rc.Load.AchievedRate = float64(rc.Load.Completed) / rc.Duration.Seconds()
	}
	st.fill(rc, d.workers)
	if cl != nil {
		fillServer(rc, cl.Stats())
		rc.Faults = faultWindows(s.Server.Faults, s.Load.Warmup, s.Load.Warmup+s.Load.Duration)
	}
	return rc
}

// drive runs the driver, reporting progress about once a second. It
// reports whether ctx (the run's, not the cell's) ended the cell early.
func drive(ctx, cellCtx context.Context, d *driver, epoch time.Time, progress func(Event)) bool {
	done := make(chan struct{})
	go func() {
		defer close(done)
		d.run(cellCtx)
	}()
	total := d.end
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		select {
		case <-done:
			return false
		case <-tick.C:
			progress(Event{Kind: "tick", Elapsed: time.Since(epoch), Total: total, Live: d.rec.Live()})
		case <-ctx.Done():
			<-done
			return true
		}
	}
}

// fillServer adds the fake server's counters to the per-backend counts the
// recorder took from the client side, in backend order, so "backend i" in
// reports is the fake server's backend i.
func fillServer(rc *results.Cell, ss fakeserver.Stats) {
	client := map[string]int64{}
	for _, b := range rc.Backends {
		client[b.Addr] = b.ClientCalls
	}
	rc.Backends = rc.Backends[:0]
	for _, b := range ss.Backends {
		rc.Backends = append(rc.Backends, results.Backend{
			Addr:          b.Addr,
			ClientCalls:   client[b.Addr],
			ServerCalls:   b.TotalCalls(),
			ServerRetries: b.TotalRetries(),
			ServerCodes:   b.Codes,
			ServerFaults:  b.Faults,
		})
	}
}

// faultWindows lists the windows of timed faults that fall in the cell,
// as offsets from the start of the recorded phase.
func faultWindows(faults []fakeserver.Fault, warmup, total time.Duration) []results.FaultWindow {
	var out []results.FaultWindow
	add := func(kind string, backends []int, w fakeserver.Window) {
		if w.IsZero() {
			return
		}
		for start := w.At; start < total; start += w.Every {
			end := total
			if w.For > 0 {
				end = min(start+w.For, total)
			}
			if end > warmup {
				out = append(out, results.FaultWindow{Kind: kind, Backends: backends,
					Start: max(start-warmup, 0), End: end - warmup})
			}
			if w.Every <= 0 || len(out) > 10_000 {
				break
			}
		}
	}
	for i := range faults {
		f := &faults[i]
		b := []int(f.Backend)
		switch k := f.Kind(); k {
		case fakeserver.KindPause:
			add(string(k), b, f.Pause.Window)
		case fakeserver.KindDown:
			add(string(k), b, f.Down.Window)
		case fakeserver.KindHealth:
			add(string(k), b, f.Health.Window)
		case fakeserver.KindKill:
			add(string(k), b, fakeserver.Window{At: f.Kill.At, For: 10 * time.Millisecond, Every: f.Kill.Every})
		default:
			add(string(k), b, f.Window)
		}
	}
	return out
}
