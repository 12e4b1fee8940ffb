package fakeserver

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// Cluster is a set of running fake backends. Its backend set may change
// while it runs (Config.Events, AddBackend, RemoveBackend, ReplaceBackend);
// every backend it ever started keeps its number and its counters.
type Cluster struct {
	cfg      Config
	sec      security
	start    time.Time
	stopCh   chan struct{}
	stopOnce sync.Once
	wg       sync.WaitGroup // scheduler and context watcher
	wake     chan struct{}  // a change the scheduler must look at
	hook     func(addrs []string) error

	mu       sync.RWMutex // guards backends (append only)
	backends []*backend

	memberMu sync.Mutex     // serialises membership changes and hook calls
	stopped  bool           // guarded by memberMu: no change after Stop
	retiring sync.WaitGroup // removed backends stopping
	logMu    sync.Mutex     // guards changes
	changes  []Change
}

// Option configures Start.
type Option func(*Cluster)

// OnMembership makes the cluster call publish with the member backends'
// addresses (in backend order): once in Start, when every initial backend
// listens (an error there fails Start), and after every membership change,
// after added backends listen and before removed ones stop. It is the place
// to write the list where clients discover it (a file, etcd). Calls are
// serialised; an error after Start is recorded in the change's Err and does
// not undo the change.
func OnMembership(publish func(addrs []string) error) Option {
	return func(cl *Cluster) { cl.hook = publish }
}

// Start validates cfg and starts its backends, each a grpc.Server on its own
// port. The cluster runs until Stop is called or ctx is done. Fault windows
// and events are timed from just before the first backend listens
// (Started).
func Start(ctx context.Context, cfg Config, opts ...Option) (*Cluster, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("fakeserver: invalid configuration: %w", err)
	}
	cfg = cfg.withDefaults()
	sec, err := loadSecurity(cfg)
	if err != nil {
		return nil, fmt.Errorf("fakeserver: %w", err)
	}
	cl := &Cluster{cfg: cfg, sec: sec, start: time.Now(), stopCh: make(chan struct{}), wake: make(chan struct{}, 1)}
	for _, o := range opts {
		o(cl)
	}
	for i := range cfg.Backends {
		addr := "127.0.0.1:0"
		if len(cfg.Addrs) > 0 {
			addr = cfg.Addrs[i]
		}
		if _, err := cl.startBackend(addr, 0); err != nil {
			cl.Stop()
			return nil, fmt.Errorf("fakeserver: %w", err)
		}
	}
	cl.apply(-1, cl.elapsed())
	if cl.hook != nil {
		if err := cl.hook(cl.Addrs()); err != nil {
			cl.Stop()
			return nil, fmt.Errorf("fakeserver: publishing the initial membership: %w", err)
		}
	}
	cl.wg.Add(2)
	go func() {
		defer cl.wg.Done()
		cl.schedule()
	}()
	go func() {
		defer cl.wg.Done()
		select {
		case <-ctx.Done():
			go cl.Stop() // Stop waits for this goroutine
		case <-cl.stopCh:
		}
	}()
	return cl, nil
}

// startBackend starts a backend with the next number, added at elapsed
// time at.
func (cl *Cluster) startBackend(addr string, at time.Duration) (*backend, error) {
	cl.mu.Lock()
	idx := len(cl.backends)
	if idx >= maxBackendsEver {
		cl.mu.Unlock()
		return nil, fmt.Errorf("backend %d: at most %d backends over a run", idx, maxBackendsEver)
	}
	b := newBackend(cl, idx, addr, cl.cfg)
	b.addedAt = at
	cl.backends = append(cl.backends, b)
	cl.mu.Unlock()
	b.mu.Lock()
	err := b.up()
	b.mu.Unlock()
	if err != nil {
		b.mu.Lock()
		b.removed, b.removedAt = true, b.addedAt
		b.mu.Unlock()
		b.setErr(err)
	}
	return b, err
}

// all returns every backend ever started.
func (cl *Cluster) all() []*backend {
	cl.mu.RLock()
	defer cl.mu.RUnlock()
	return cl.backends[:len(cl.backends):len(cl.backends)]
}

// elapsed is the time since the cluster started: the clock of every fault
// window.
func (cl *Cluster) elapsed() time.Duration { return time.Since(cl.start) }

// Started returns when the cluster's fault clock started.
func (cl *Cluster) Started() time.Time { return cl.start }

// Addrs returns the addresses of the member backends (those not removed),
// "127.0.0.1:port" (or the unix socket address as configured), in backend
// order. Addresses stay the same across down windows. Before any membership
// change this is every backend.
func (cl *Cluster) Addrs() []string {
	var out []string
	for _, b := range cl.all() {
		if !b.isRemoved() {
			out = append(out, b.address())
		}
	}
	return out
}

// CAPEM returns the PEM certificate of the CA that signed the backends'
// certificate when Config.TLS.SelfSigned is set (clients trust it as their
// ca_file), and nil otherwise.
func (cl *Cluster) CAPEM() []byte { return cl.sec.caPEM }

// Stats returns a snapshot of the counters of every backend the cluster
// ever started, indexed by backend number. It is safe to call while the
// cluster serves.
func (cl *Cluster) Stats() Stats {
	all := cl.all()
	s := Stats{Backends: make([]BackendStats, len(all))}
	for i, b := range all {
		s.Backends[i] = b.ctr.snapshot(i, b.address())
		s.Backends[i].Error = b.getErr()
		b.mu.Lock()
		s.Backends[i].AddedAt = b.addedAt
		s.Backends[i].Removed, s.Backends[i].RemovedAt = b.removed, b.removedAt
		b.mu.Unlock()
	}
	return s
}

// Stop stops every backend: listeners and connections are closed and
// in-flight calls are cancelled; it returns when every goroutine the
// cluster started has ended. It is safe to call more than once.
func (cl *Cluster) Stop() {
	cl.stopOnce.Do(func() {
		cl.memberMu.Lock()
		cl.stopped = true
		cl.memberMu.Unlock()
		close(cl.stopCh)
		cl.wg.Wait()
		cl.retiring.Wait()
		for _, b := range cl.all() {
			b.mu.Lock()
			b.down = true
			b.stop()
			b.mu.Unlock()
			b.hs.Shutdown()
		}
	})
}

// poke asks the scheduler to recompute its next edge.
func (cl *Cluster) poke() {
	select {
	case cl.wake <- struct{}{}:
	default:
	}
}

// nextEdge returns the first time after t at which a backend's rules
// change, a drained backend stops or an event is due.
func (cl *Cluster) nextEdge(t time.Duration, events []int, nextEvent int) (time.Duration, bool) {
	var next time.Duration
	found := false
	consider := func(e time.Duration, ok bool) {
		if ok && (!found || e < next) {
			next, found = e, true
		}
	}
	for _, b := range cl.all() {
		if stopAt, ok := b.pendingStop(); ok {
			consider(max(stopAt, t), true)
		}
		if !b.isRemoved() {
			consider(b.rules.nextEdge(t))
		}
	}
	if nextEvent < len(events) {
		consider(max(cl.cfg.Events[events[nextEvent]].At, t), true)
	}
	return next, found
}

// schedule applies down, health and kill edges, drained stops and events
// at their times.
func (cl *Cluster) schedule() {
	events := sortedEvents(cl.cfg.Events)
	nextEvent := 0
	last := cl.elapsed()
	for {
		next, found := cl.nextEdge(last, events, nextEvent)
		var timer *time.Timer
		var fire <-chan time.Time
		if found {
			timer = time.NewTimer(time.Until(cl.start.Add(next)))
			fire = timer.C
		}
		woken := false
		select {
		case <-cl.stopCh:
		case <-cl.wake:
			woken = true
		case <-fire:
		}
		if timer != nil {
			timer.Stop()
		}
		select {
		case <-cl.stopCh:
			return
		default:
		}
		if woken {
			continue
		}
		now := max(cl.elapsed(), next)
		for nextEvent < len(events) && cl.cfg.Events[events[nextEvent]].At <= now {
			cl.applyEvent(events[nextEvent])
			nextEvent++
		}
		cl.apply(last, now)
		cl.stopDrained(now)
		last = now
	}
}

// apply brings every member backend to its state at elapsed time now;
// kills due in (from, now] are carried out.
func (cl *Cluster) apply(from, now time.Duration) {
	for _, b := range cl.all() {
		cl.applyOne(b, from, now)
	}
}

// applyOne brings one member backend to its state at now; kills due in
// (from, now] and after it was added are carried out.
func (cl *Cluster) applyOne(b *backend, from, now time.Duration) {
	if b.isRemoved() {
		return
	}
	from = max(from, b.addedAt)
	for _, k := range b.rules.kills {
		if k.due(from, now) {
			b.kill()
		}
	}
	if len(b.rules.downs) > 0 {
		if err := b.setDown(b.rules.isDown(now)); err != nil {
			// The backend stays down; the next edge tries again.
			b.setErr(err)
		}
	}
	if len(b.rules.health) > 0 {
		b.setHealth(b.rules.healthAt(now))
	}
}
