package scenarios

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/stats"

	"github.com/grpcbench/grpcbench/breaker"
	"github.com/grpcbench/grpcbench/fakeserver"
	"github.com/grpcbench/grpcbench/lb"
	"github.com/grpcbench/grpcbench/pool"
	"github.com/grpcbench/grpcbench/results"
	"github.com/grpcbench/grpcbench/retry"
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
	// Shard, when Count > 1, runs only this shard's part of every cell
	// (Scenario.Sharded); the results record it.
	Shard Shard
	// StartAt, when set, starts cell k at its place on the common schedule
	// CellStarts(StartAt, cells, CellGap), so shards line up.
	StartAt time.Time
	// CellGap is the setup time between cells on that schedule (default
	// DefaultCellGap).
	CellGap time.Duration
	// Observe, when set, is called on the runner's goroutine before each
	// cell's load starts; the function it returns (if not nil) is called
	// with the finished cell, after its recorder delivered its last second.
	Observe func(Watch) (done func(*results.Cell))
}

// Run executes every cell of the spec in order and returns the results.
// When ctx is cancelled (SIGINT), the running cell stops within about a
// second, the remaining cells are skipped, and the results so far are
// returned marked partial (with a nil error): they are valid results.
func Run(ctx context.Context, sp *Spec, opts Options) (*results.Run, error) {
	cells, err := sp.Expand()
	if err == nil {
		cells, err = ShardCells(cells, opts.Shard)
	}
	if err != nil {
		return nil, err
	}
	starts := CellStarts(opts.StartAt, cells, cmp.Or(opts.CellGap, DefaultCellGap))
	run := &results.Run{
		Schema:     results.Schema,
		Name:       sp.Scenario.Name,
		Started:    time.Now(),
		Provenance: results.CollectProvenance(opts.Args),
		Scenario:   sp.Scenario.Resolved(),
		Dimensions: sp.Dimensions(),
		// Shard and ScenarioHash let Merge check it combines shards of one scenario.
		Shard:        shardInfo(opts.Shard),
		ScenarioHash: sp.Scenario.Hash(),
	}
	var failed []string
	for i, c := range cells {
		if ctx.Err() != nil || (starts != nil && !waitUntil(ctx, starts[i])) {
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
		}, opts.Observe)
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

// stack is the client stack of one cell.
type stack struct {
	pool     *pool.Pool
	breaker  *breaker.Breaker
	cc       grpc.ClientConnInterface // pool, or breaker over pool
	native   *retry.AttemptCounter
	peers    *peerCounter
	resolver *lb.Resolver
}

func buildStack(ctx context.Context, s *Scenario, addrs []string) (*stack, error) {
	st := &stack{peers: newPeerCounter(addrs), resolver: lb.NewStaticResolver(addrs...)}
	var methodConfig []any
	var extra []grpc.DialOption
	if p := s.Client.Retry; p != nil && p.Mode == retry.ModeNative {
		methodConfig = append(methodConfig, retry.ServiceConfigMethod(*p))
		st.native = retry.NewAttemptCounter(*p)
		extra = append(extra, st.native.DialOptions()...)
	}
	dial, err := s.Client.LB.DialOptionsWith(methodConfig)
	if err != nil {
		return nil, fmt.Errorf("client.lb: %w", err)
	}
	dial = append(dial, extra...)
	dial = append(dial, st.resolver.DialOption())
	if st.native != nil {
		// gRPC's own retries happen inside the ClientConn: only a
		// stats.Handler sees which backend each attempt reached. Otherwise
		// each worker reads its attempts' peers (cheaper: no stats events).
		dial = append(dial, grpc.WithStatsHandler(st.peers))
	}
	p, err := pool.New(ctx, st.resolver.Target(), s.Client.Pool, dial...)
	if err != nil {
		return nil, err
	}
	st.pool = p
	st.cc = p
	if b := s.Client.Breaker; b != nil {
		st.breaker = breaker.New(*b)
		st.cc = breaker.Wrap(p, st.breaker)
	}
	return st, nil
}

// runCell runs one cell and returns its results; failures are in
// Cell.Error.
func runCell(ctx context.Context, c *Cell, progress func(Event), observe func(Watch) func(*results.Cell)) *results.Cell {
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
	st, err := buildStack(cellCtx, s, addrs)
	if err != nil {
		return fail(err)
	}
	defer st.pool.Close()

	epoch := time.Now()
	if cl != nil {
		epoch = cl.Started() // fault windows and the schedule share a clock
	}
	recordFrom := epoch.Add(s.Load.Warmup)
	rec := results.NewRecorder(Methods, recordFrom)
	ld, err := newLoad(s, st, rec, epoch)
	if err != nil {
		return fail(err)
	}

	var observed func(*results.Cell)
	if observe != nil {
		observed = observe(Watch{Cell: c, Recorder: rec, Stack: func() StackGauges { return gauges(st, ld) }})
	}

	done := make(chan struct{})
	go func() {
		defer close(done)
		ld.run(cellCtx)
	}()
	total := s.Load.Warmup + s.Load.Duration
	tick := time.NewTicker(time.Second)
	interrupted := false
loop:
	for {
		select {
		case <-done:
			break loop
		case <-tick.C:
			progress(Event{Kind: "tick", Elapsed: time.Since(epoch), Total: total, Live: rec.Live()})
		case <-ctx.Done():
			interrupted = true
			<-done
			break loop
		}
	}
	tick.Stop()
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
	}
	if interrupted {
		rc.Partial = true
		rc.Error = "interrupted"
	}
	ld.fill(rc)
	if rc.Duration > 0 {
		rc.Load.AchievedRate = float64(rc.Load.Completed) / rc.Duration.Seconds()
	}
	fillStack(rc, st, ld)
	if st.native == nil {
		for _, w := range ld.workers {
			w.flushPeer()
			for addr, n := range w.peers {
				st.peers.add(addr, n)
			}
		}
	}
	if cl != nil {
		fillServer(rc, cl.Stats(), st.peers)
		rc.Faults = faultWindows(s.Server.Faults, s.Load.Warmup, total)
	} else {
		fillPeers(rc, st.peers)
	}
	if observed != nil {
		observed(rc)
	}
	return rc
}

func fillStack(rc *results.Cell, st *stack, ld *load) {
	if st.native != nil {
		rs := st.native.Stats()
		rc.Retry = results.Retry{Calls: rs.Calls, Attempts: rs.Attempts, Retried: rs.Retried, GaveUp: rs.GaveUp,
			PushbackWaits: rs.PushbackWaits, AttemptsPerCall: rs.AttemptsPerCall}
	} else if len(ld.retries) > 0 {
		// Calls, attempts and the distribution come from the recorded
		// phase (the recorder); so does GaveUp. Pushback waits are counted
		// over the whole cell.
		var push int64
		for _, r := range ld.retries {
			push += r.Stats().PushbackWaits
		}
		rc.Retry.PushbackWaits = push
		for _, w := range ld.workers {
			rc.Retry.GaveUp += w.gaveUp
		}
	}
	if st.breaker != nil {
		bs := st.breaker.Stats()
		rc.Breaker = results.Breaker{Trips: bs.Trips, Rejections: bs.Rejections, TimeOpen: bs.TimeOpen}
	}
	ps := st.pool.Stats()
	for _, c := range ps.Conns {
		rc.Pool.Conns = append(rc.Pool.Conns, results.ConnStats{Target: c.Target, State: c.State, Picks: c.Picks, StateChanges: c.StateChanges})
	}
}

// fillServer merges the fake server's counters and the client's per-backend
// attempt counts into rc.Backends.
func fillServer(rc *results.Cell, ss fakeserver.Stats, peers *peerCounter) {
	rc.Backends = rc.Backends[:0]
	for _, b := range ss.Backends {
		rc.Backends = append(rc.Backends, results.Backend{
			Addr:          b.Addr,
			ClientCalls:   peers.count(b.Addr),
			ServerCalls:   b.TotalCalls(),
			ServerRetries: b.TotalRetries(),
			ServerCodes:   b.Codes,
			ServerFaults:  b.Faults,
		})
	}
	// Kept in backend index order, so "backend i" in reports is the fake
	// server's backend i.
}

func fillPeers(rc *results.Cell, peers *peerCounter) {
	rc.Backends = rc.Backends[:0]
	for addr, n := range peers.snapshot() {
		rc.Backends = append(rc.Backends, results.Backend{Addr: addr, ClientCalls: n})
	}
	sort.Slice(rc.Backends, func(i, j int) bool { return rc.Backends[i].Addr < rc.Backends[j].Addr })
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

// peerCounter counts attempts per backend address from the client's side
// (a stats.Handler on every pooled connection). Known addresses are counted
// with atomics in a map fixed at start; others in a sync.Map.
type peerCounter struct {
	known map[string]*atomic.Int64
	other sync.Map // string → *atomic.Int64
}

func newPeerCounter(addrs []string) *peerCounter {
	p := &peerCounter{known: map[string]*atomic.Int64{}}
	for _, a := range addrs {
		p.known[a] = new(atomic.Int64)
	}
	return p
}

func (p *peerCounter) count(addr string) int64 {
	if c, ok := p.known[addr]; ok {
		return c.Load()
	}
	if c, ok := p.other.Load(addr); ok {
		return c.(*atomic.Int64).Load()
	}
	return 0
}

// add counts n attempts on addr.
func (p *peerCounter) add(addr string, n int64) {
	if c, ok := p.known[addr]; ok {
		c.Add(n)
		return
	}
	c, _ := p.other.LoadOrStore(addr, new(atomic.Int64))
	c.(*atomic.Int64).Add(n)
}

func (p *peerCounter) snapshot() map[string]int64 {
	out := map[string]int64{}
	for a, c := range p.known {
		if n := c.Load(); n > 0 {
			out[a] = n
		}
	}
	p.other.Range(func(k, v any) bool {
		out[k.(string)] = v.(*atomic.Int64).Load()
		return true
	})
	return out
}

// TagRPC implements stats.Handler.
func (p *peerCounter) TagRPC(ctx context.Context, _ *stats.RPCTagInfo) context.Context { return ctx }

// HandleRPC implements stats.Handler: every attempt sends headers once.
func (p *peerCounter) HandleRPC(_ context.Context, s stats.RPCStats) {
	h, ok := s.(*stats.OutHeader)
	if !ok || !h.Client || h.RemoteAddr == nil {
		return
	}
	addr := h.RemoteAddr.String()
	if c, ok := p.known[addr]; ok {
		c.Add(1)
		return
	}
	c, _ := p.other.LoadOrStore(addr, new(atomic.Int64))
	c.(*atomic.Int64).Add(1)
}

// TagConn implements stats.Handler.
func (p *peerCounter) TagConn(ctx context.Context, _ *stats.ConnTagInfo) context.Context { return ctx }

// HandleConn implements stats.Handler.
func (p *peerCounter) HandleConn(context.Context, stats.ConnStats) {}
