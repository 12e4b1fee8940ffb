package scenarios

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/grpcbench/grpcbench/dial"
	"github.com/grpcbench/grpcbench/fakeserver"
	"github.com/grpcbench/grpcbench/internal/redact"
	"github.com/grpcbench/grpcbench/lb"
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
	// Shard, when Count > 1, runs only this shard's part of every cell
	// (Scenario.Sharded); the results record it.
	Shard Shard
	// StartAt, when set, starts cell k at its place on the common schedule
	// cellStarts(StartAt, cells, CellGap), so shards line up.
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
	starts := cellStarts(opts.StartAt, cells, cmp.Or(opts.CellGap, DefaultCellGap))
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
	var failed, secrets []string
	for i, c := range cells {
		if ctx.Err() != nil || (starts != nil && !waitUntil(ctx, starts[i])) {
			run.Partial = true
			break
		}
		if opts.Progress != nil {
			opts.Progress(Event{Kind: "start", Cell: i, Cells: len(cells), ID: c.ID, Total: c.Scenario.Load.Warmup + c.Scenario.Load.Duration})
		}
		rc, cellSecrets := runCell(ctx, c, func(ev Event) {
			if opts.Progress != nil {
				ev.Cell, ev.Cells, ev.ID = i, len(cells), c.ID
				opts.Progress(ev)
			}
		}, opts.Observe)
		secrets = append(secrets, cellSecrets...)
		redactCell(rc, sp.Scenario.Client.Config.Redactor(secrets...))
		run.Cells = append(run.Cells, rc)
		if rc.Partial {
			run.Partial = true
		}
		if rc.Error != "" && !rc.Partial {
			failed = append(failed, "cell "+c.ID+": "+rc.Error)
		}
		if opts.Progress != nil {
			opts.Progress(Event{Kind: "done", Cell: i, Cells: len(cells), ID: c.ID, Result: rc})
		}
	}
	run.Finished = time.Now()
	// The scenario echoes references (${env:API_TOKEN}), never their values;
	// literal values under secret keys (authorization, *-token, …) and any
	// secret value that turns up are replaced.
	run.Scenario = sp.Scenario.Client.Config.Redactor(secrets...).Tree(run.Scenario)
	if len(failed) > 0 {
		return run, &CellsFailedError{Reasons: failed}
	}
	return run, nil
}

// CellsFailedError lists the cells that could not be carried out, each
// with its reason ("cell pool.size=4#1: no call succeeded: UNAVAILABLE
// \"connection refused\" (1200 of 1200)"). It matches ErrCellFailed.
type CellsFailedError struct {
	Reasons []string
}

func (e *CellsFailedError) Error() string {
	return fmt.Sprintf("%d cell(s) failed:\n  %s", len(e.Reasons), strings.Join(e.Reasons, "\n  "))
}

// Is makes errors.Is(err, ErrCellFailed) true.
func (e *CellsFailedError) Is(target error) bool { return target == ErrCellFailed }

// redactCell removes secrets from what a cell's results say in words.
func redactCell(rc *results.Cell, r *redact.Redactor) {
	rc.Error = r.String(rc.Error)
	for i := range rc.TopErrors {
		rc.TopErrors[i].Message = r.String(rc.TopErrors[i].Message)
	}
	rc.Transport.LastError = r.String(rc.Transport.LastError)
}

// runCell runs one cell and returns its results (failures are in
// Cell.Error) and the secret values its connections sent, for redaction.
func runCell(ctx context.Context, c *Cell, progress func(Event), observe func(Watch) func(*results.Cell)) (*results.Cell, []string) {
	s := c.Scenario
	cellCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	cs, err := setUp(cellCtx, s)
	defer cs.close()
	var secrets []string
	if cs.dialer != nil {
		secrets = cs.dialer.SecretValues()
	}
	fail := func(err error) (*results.Cell, []string) {
		rc := &results.Cell{ID: c.ID, Index: c.Index, Repeat: c.Repeat, Params: c.Params, Error: err.Error(),
			Start: time.Now(), Load: results.Load{Model: s.Load.Model, TargetRate: s.TargetRate()}}
		if ctx.Err() != nil { // interrupted while setting up: not a failure of the cell
			rc.Partial, rc.Error = true, "interrupted"
		}
		return rc, secrets
	}
	if err != nil {
		return fail(err)
	}
	recordFrom := cs.epoch.Add(s.Load.Warmup)
	rec := results.NewRecorder(s.calls.names, recordFrom)
	rec.SetPeerCounter(cs.peers)
	shares := &backendShares{peers: cs.peers, start: recordFrom, prev: cs.epoch, last: map[string]int64{}}
	d, err := newDriver(c, cs.stack, rec, cs.peers, cs.epoch)
	if err != nil {
		return fail(err)
	}
	var observed func(*results.Cell)
	if observe != nil {
		observed = observe(Watch{Cell: c, Recorder: rec, Stack: func() StackGauges { return gauges(cs.stack, d) }})
	}
	health := startHealth(recordFrom) // health.go: the generator's CPU and contention, once a second
	interrupted := drive(ctx, cellCtx, d, cs.epoch, func(ev Event) {
		shares.sample(time.Now())
		progress(ev)
	})
	end := time.Now()
	health.stop()

	rc := rec.Cell()
	health.fill(rc)
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
	cs.fill(rc, s, d, shares, recordFrom)
	if !interrupted {
		rc.Error = failedCell(rc)
	}
	if observed != nil {
		observed(rc)
	}
	return rc, secrets
}

// fill completes a cell's results with what the stack, the driver, the
// dialer and the embedded server counted.
func (cs *cellSetup) fill(rc *results.Cell, s *Scenario, d *driver, shares *backendShares, recordFrom time.Time) {
	cs.stack.fill(rc, d.workers, recordFrom)
	if len(rc.BackendSeries) == 0 {
		// gRPC's own retries and hedges leave no backend per call: sampled
		// once a second instead (a second's edge is blurred by up to half).
		rc.BackendSeries = shares.series(time.Now(), s.Load.Duration)
	}
	rc.TopErrors = d.topErrors()
	rc.Transport = transport(cs.dialer.Stats())
	if cs.cluster != nil {
		ss := cs.cluster.Stats()
		fillServer(rc, ss)
		rc.Membership = membership(cs.cluster.Changes(), ss, s.Load.Warmup)
		if rc.Hedging != nil {
			rc.Hedging.ServerExtra = serverExtra(ss, s.calls, rc.Hedging.Calls)
		}
		rc.Faults = faultWindows(s.Server.Faults, s.Load.Warmup, s.Load.Warmup+s.Load.Duration)
	}
}

// cellSetup is what a cell runs against: the embedded fake server (if
// any), the dialer of its connections and its client stack.
type cellSetup struct {
	cluster   *fakeserver.Cluster
	publisher lb.Publisher // where the fake server publishes its backends
	unbind    func()       // stops feeding discovery into the resolver
	dialer    *dial.Dialer
	stack     *stack
	peers     *results.PeerCounter
	epoch     time.Time // the schedule's zero: the fake server's fault clock
	tmpDir    string
}

func (cs *cellSetup) close() {
	if cs.stack != nil {
		cs.stack.close()
	}
	if cs.unbind != nil {
		cs.unbind()
	}
	if cs.cluster != nil {
		cs.cluster.Stop()
	}
	if cs.publisher != nil {
		_ = cs.publisher.Close()
	}
	if cs.tmpDir != "" {
		os.RemoveAll(cs.tmpDir)
	}
}

// probeTimeout bounds waiting for the target before a cell's load starts.
const probeTimeout = 10 * time.Second

// setUp starts the embedded fake server (or takes the external target),
// checks the target answers (a target that cannot be reached, or whose TLS
// handshake fails, fails the cell with the reason before any load) and
// builds the client stack.
func setUp(ctx context.Context, s *Scenario) (*cellSetup, error) {
	cs := &cellSetup{epoch: time.Now()}
	target, cfg := s.Server.Target, s.Client.Config
	var addrs []string
	probe := true
	if target.IsZero() {
		if err := cs.startServer(ctx, s); err != nil {
			return cs, err
		}
		addrs = cs.cluster.Addrs()
		target = dial.Target{Targets: addrs}
		if ca := cs.cluster.CAPEM(); ca != nil {
			var err error
			if cfg, err = trustCA(cs, cfg, ca); err != nil {
				return cs, err
			}
		}
		// A backend that starts down (by design) would fail the probe.
		probe = !startsDown(s.Server.Faults)
	}
	md, err := dial.ExpandMetadata(s.Client.Metadata)
	if err != nil {
		return cs, err
	}
	if cs.dialer, err = cfg.NewDialer(target, md.Secret); err != nil {
		return cs, err
	}
	if probe {
		if err := cs.dialer.Probe(ctx, probeTimeout); err != nil {
			return cs, err
		}
	}
	if err := cs.bind(ctx, s, addrs); err != nil {
		return cs, err
	}
	cs.peers = results.NewPeerCounter(addrs...)
	cs.stack, err = newStack(ctx, s, cs.dialer, md.Plain, cs.peers, cs.epoch)
	return cs, err
}

// startServer starts the embedded fake server; with file or etcd
// discovery it publishes the backend set there on every change.
func (cs *cellSetup) startServer(ctx context.Context, s *Scenario) error {
	var opts []fakeserver.Option
	if dc := s.Client.Discovery; dc.EffectiveSource() != lb.SourceStatic {
		pub, err := dc.NewPublisher(ctx)
		if err != nil {
			return err
		}
		cs.publisher = pub
		opts = append(opts, fakeserver.OnMembership(func(a []string) error { return pub.Publish(ctx, a) }))
	}
	cl, err := fakeserver.Start(ctx, s.Server.Config, opts...)
	if err != nil {
		return err
	}
	cs.cluster, cs.epoch = cl, cl.Started()
	return nil
}

// bind feeds the discovery source into the dialer's resolver (file or
// etcd discovery; the static source is the dialer's own list).
func (cs *cellSetup) bind(ctx context.Context, s *Scenario, addrs []string) error {
	dc := s.Client.Discovery
	if dc.EffectiveSource() == lb.SourceStatic || cs.dialer.Resolver() == nil {
		return nil
	}
	src, err := dc.NewSource(addrs)
	if err != nil {
		return err
	}
	bctx, cancel := context.WithCancel(ctx)
	b, err := lb.Bind(bctx, src, cs.dialer.Resolver(), func(error) {})
	if err != nil {
		cancel()
		return err
	}
	cs.unbind = func() {
		cancel()
		_ = b.Wait()
	}
	return nil
}

// trustCA makes the client trust the embedded fake server's self-signed
// CA (when the scenario names no CA of its own).
func trustCA(cs *cellSetup, cfg dial.Config, ca []byte) (dial.Config, error) {
	if cfg.TLS != nil && cfg.TLS.CAFile != "" {
		return cfg, nil
	}
	dir, err := os.MkdirTemp("", "grpcbench-ca-")
	if err != nil {
		return cfg, err
	}
	cs.tmpDir = dir
	f := filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(f, ca, 0o600); err != nil {
		return cfg, err
	}
	t := dial.TLS{}
	if cfg.TLS != nil {
		t = *cfg.TLS
	}
	t.CAFile = f
	cfg.TLS = &t
	return cfg, nil
}

// startsDown reports whether a down fault holds at the start.
func startsDown(faults []fakeserver.Fault) bool {
	for _, f := range faults {
		if f.Down != nil && f.Down.Active(0) {
			return true
		}
	}
	return false
}

func transport(st dial.Stats) results.Transport {
	return results.Transport{Connections: st.Connections, DialErrors: st.DialErrors, Handshakes: st.Handshakes,
		HandshakeErrors: st.HandshakeErrors, TLSVersion: st.TLSVersion, CipherSuite: st.CipherSuite,
		LastError: cmp.Or(st.LastHandshakeError, st.LastDialError)}
}

// failedCell says why a cell failed although it ran: no call succeeded.
// The reason names the most frequent error and its count.
func failedCell(rc *results.Cell) string {
	if rc.All == nil || rc.All.Calls == 0 {
		return "no call completed in the recorded phase"
	}
	if rc.All.Calls > rc.All.Errors {
		return ""
	}
	reason := "no call succeeded"
	if len(rc.TopErrors) > 0 {
		e := rc.TopErrors[0]
		reason += fmt.Sprintf(": %s %q (%d of %d)", e.Code, e.Message, e.Count, rc.All.Calls)
	}
	return reason
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
			// The most in flight at once: what a stream limit let through.
			ServerMaxInflight: b.MaxInflight,
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

// backendShares samples the attempts per backend about once a second, for
// the share of each backend over time (results.Cell.BackendSeries).
type backendShares struct {
	peers *results.PeerCounter
	start time.Time // the recorded phase's start
	prev  time.Time
	last  map[string]int64
	secs  map[int]map[string]int64
}

// sample attributes the attempts since the previous sample to the second
// holding the middle of the interval (warm-up seconds are left out).
func (b *backendShares) sample(now time.Time) {
	counts := b.peers.Counts()
	if b.last != nil {
		mid := b.prev.Add(now.Sub(b.prev) / 2).Sub(b.start)
		if mid >= 0 {
			t := int(mid / time.Second)
			if b.secs == nil {
				b.secs = map[int]map[string]int64{}
			}
			if b.secs[t] == nil {
				b.secs[t] = map[string]int64{}
			}
			for a, n := range counts {
				if d := n - b.last[a]; d > 0 {
					b.secs[t][a] += d
				}
			}
		}
	}
	b.prev, b.last = now, counts
}

// series takes a last sample and returns the seconds within the recorded
// phase, in order.
func (b *backendShares) series(now time.Time, duration time.Duration) []results.BackendSecond {
	b.sample(now)
	var out []results.BackendSecond
	last := int((duration - 1) / time.Second)
	for t, m := range b.secs {
		if t > last {
			t = last // calls finishing after the phase count in its last second
		}
		i, found := slices.BinarySearchFunc(out, t, func(x results.BackendSecond, t int) int { return cmp.Compare(x.T, t) })
		if !found {
			out = slices.Insert(out, i, results.BackendSecond{T: t, Calls: map[string]int64{}})
		}
		for a, n := range m {
			out[i].Calls[a] += n
		}
	}
	return out
}

// membership turns the fake server's membership changes into results,
// timed from the recorded phase's start.
func membership(changes []fakeserver.Change, ss fakeserver.Stats, warmup time.Duration) []results.MembershipChange {
	addr := func(i int) string {
		if i >= 0 && i < len(ss.Backends) {
			return ss.Backends[i].Addr
		}
		return fmt.Sprintf("backend %d", i)
	}
	var out []results.MembershipChange
	for _, ch := range changes {
		m := results.MembershipChange{At: ch.At - warmup, Addrs: ch.Addrs, Error: ch.Err}
		for _, i := range ch.Added {
			m.Added = append(m.Added, addr(i))
		}
		for _, i := range ch.Removed {
			m.Removed = append(m.Removed, addr(i))
		}
		out = append(out, m)
	}
	return out
}

// serverExtra is the work hedging cost the fake server: calls of hedged
// methods that reached it beyond the logical calls.
func serverExtra(ss fakeserver.Stats, cs *callSet, logical int64) int64 {
	hedged := map[string]bool{}
	for _, c := range cs.calls {
		if c.hedging != nil {
			hedged[c.method.Short()] = true
		}
	}
	var arrived int64
	for _, b := range ss.Backends {
		for m, n := range b.Arrived {
			if hedged[m] {
				arrived += n
			}
		}
	}
	return max(arrived-logical, 0)
}
