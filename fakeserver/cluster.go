package fakeserver

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// Cluster is a set of running fake backends.
type Cluster struct {
	backends []*backend
	sec      security
	start    time.Time
	stopCh   chan struct{}
	stopOnce sync.Once
	wg       sync.WaitGroup // scheduler and context watcher
}

// Start validates cfg and starts its backends, each a grpc.Server on its own
// port. The cluster runs until Stop is called or ctx is done. Fault windows
// are timed from just before the first backend listens (Started).
func Start(ctx context.Context, cfg Config) (*Cluster, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("fakeserver: invalid configuration: %w", err)
	}
	cfg = cfg.withDefaults()
	sec, err := loadSecurity(cfg)
	if err != nil {
		return nil, fmt.Errorf("fakeserver: %w", err)
	}
	cl := &Cluster{sec: sec, start: time.Now(), stopCh: make(chan struct{})}
	for i := range cfg.Backends {
		addr := "127.0.0.1:0"
		if len(cfg.Addrs) > 0 {
			addr = cfg.Addrs[i]
		}
		b := newBackend(cl, i, addr, cfg)
		cl.backends = append(cl.backends, b)
		b.mu.Lock()
		err := b.up()
		b.mu.Unlock()
		if err != nil {
			cl.Stop()
			return nil, fmt.Errorf("fakeserver: %w", err)
		}
	}
	cl.apply(-1, cl.elapsed())
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

// elapsed is the time since the cluster started: the clock of every fault
// window.
func (cl *Cluster) elapsed() time.Duration { return time.Since(cl.start) }

// Started returns when the cluster's fault clock started.
func (cl *Cluster) Started() time.Time { return cl.start }

// Addrs returns each backend's address, "127.0.0.1:port" (or the unix
// socket address as configured), in backend order. Addresses stay the same
// across down windows.
func (cl *Cluster) Addrs() []string {
	out := make([]string, len(cl.backends))
	for i, b := range cl.backends {
		out[i] = b.address()
	}
	return out
}

// CAPEM returns the PEM certificate of the CA that signed the backends'
// certificate when Config.TLS.SelfSigned is set (clients trust it as their
// ca_file), and nil otherwise.
func (cl *Cluster) CAPEM() []byte { return cl.sec.caPEM }

// Stats returns a snapshot of every backend's counters. It is safe to call
// while the cluster serves.
func (cl *Cluster) Stats() Stats {
	s := Stats{Backends: make([]BackendStats, len(cl.backends))}
	for i, b := range cl.backends {
		s.Backends[i] = b.ctr.snapshot(i, b.address())
		s.Backends[i].Error = b.getErr()
	}
	return s
}

// Stop stops every backend: listeners and connections are closed and
// in-flight calls are cancelled; it returns when every goroutine the
// cluster started has ended. It is safe to call more than once.
func (cl *Cluster) Stop() {
	cl.stopOnce.Do(func() {
		close(cl.stopCh)
		cl.wg.Wait()
		for _, b := range cl.backends {
			b.mu.Lock()
			b.down = true
			b.stop()
			b.mu.Unlock()
			b.hs.Shutdown()
		}
	})
}

// schedule applies down, health and kill edges at their times.
func (cl *Cluster) schedule() {
	last := cl.elapsed()
	for {
		var next time.Duration
		found := false
		for _, b := range cl.backends {
			if e, ok := b.rules.nextEdge(last); ok && (!found || e < next) {
				next, found = e, true
			}
		}
		if !found {
			<-cl.stopCh
			return
		}
		t := time.NewTimer(time.Until(cl.start.Add(next)))
		select {
		case <-cl.stopCh:
			t.Stop()
			return
		case <-t.C:
		}
		now := max(cl.elapsed(), next)
		cl.apply(last, now)
		last = now
	}
}

// apply brings every backend to its state at elapsed time now; kills due in
// (from, now] are carried out.
func (cl *Cluster) apply(from, now time.Duration) {
	for _, b := range cl.backends {
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
}
