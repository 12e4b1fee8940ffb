package fakeserver

import (
	"errors"
	"fmt"
	"slices"
	"time"
)

// retireGrace bounds how long a removed backend waits for its in-flight
// calls to finish before they are cancelled.
const retireGrace = time.Second

// errStopped is returned for a membership change after Stop.
var errStopped = errors.New("fakeserver: cluster stopped")

// Change is one change of the cluster's membership.
type Change struct {
	// At is when it happened, from the cluster's start.
	At time.Duration `json:"at"`
	// Event is the index of the Config.Events entry that made it, or -1
	// for a call of AddBackend, RemoveBackend or ReplaceBackend.
	Event int `json:"event"`
	// Added and Removed are the backends that joined and left.
	Added   []int `json:"added,omitempty"`
	Removed []int `json:"removed,omitempty"`
	// Addrs are the member backends' addresses after the change: what was
	// published.
	Addrs []string `json:"addrs"`
	// Err says what failed: a backend that could not listen, a publish
	// error, or an event naming a backend that is not a member.
	Err string `json:"error,omitempty"`
}

// Changes returns the membership changes so far, in order.
func (cl *Cluster) Changes() []Change {
	cl.logMu.Lock()
	defer cl.logMu.Unlock()
	return slices.Clone(cl.changes)
}

// Members returns the numbers of the member backends, in order.
func (cl *Cluster) Members() []int {
	var out []int
	for _, b := range cl.all() {
		if !b.isRemoved() {
			out = append(out, b.idx)
		}
	}
	return out
}

// AddBackend starts a new backend on addr ("" for a new port on
// 127.0.0.1), publishes the new membership and returns the backend's
// number. Faults that select every backend, or its number, apply to it.
func (cl *Cluster) AddBackend(addr string) (int, error) {
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	added, _, err := cl.change(-1, []string{addr}, -1, 0)
	if len(added) == 0 {
		return -1, err
	}
	return added[0], err
}

// RemoveBackend takes backend i out of the membership, publishes the
// membership without it, and stops it after drain: with 0, before
// RemoveBackend returns (in-flight calls get up to a second to finish);
// otherwise it keeps serving for drain and stops then, while RemoveBackend
// returns at once. Its counters stay readable in Stats.
func (cl *Cluster) RemoveBackend(i int, drain time.Duration) error {
	_, stopped, err := cl.change(-1, nil, i, drain)
	if stopped != nil {
		<-stopped
	}
	return err
}

// ReplaceBackend starts a fresh backend on a new port and removes backend
// i (see RemoveBackend for drain) in one membership change, and returns the
// new backend's number.
func (cl *Cluster) ReplaceBackend(i int, drain time.Duration) (int, error) {
	added, stopped, err := cl.change(-1, []string{"127.0.0.1:0"}, i, drain)
	if stopped != nil {
		<-stopped
	}
	if len(added) == 0 {
		return -1, err
	}
	return added[0], err
}

// applyEvent carries out Config.Events[k]; failures are recorded in its
// Change.
func (cl *Cluster) applyEvent(k int) {
	e := cl.cfg.Events[k]
	drain := time.Duration(0)
	if e.Drain != nil {
		drain = *e.Drain
	}
	switch {
	case e.Add != nil:
		addrs := make([]string, *e.Add)
		for i := range addrs {
			addrs[i] = "127.0.0.1:0"
		}
		_, _, _ = cl.change(k, addrs, -1, 0)
	case e.Remove != nil:
		_, _, _ = cl.change(k, nil, *e.Remove, drain)
	case e.Replace != nil:
		_, _, _ = cl.change(k, []string{"127.0.0.1:0"}, *e.Replace, drain)
	}
}

// change starts backends on addrs, removes backend remove (-1: none),
// publishes the membership and logs the Change. A removed backend stops
// after drain; the returned channel is closed when it has stopped (nil when
// nothing is removed or it drains).
func (cl *Cluster) change(event int, addrs []string, remove int, drain time.Duration) ([]int, <-chan struct{}, error) {
	cl.memberMu.Lock()
	defer cl.memberMu.Unlock()
	if cl.stopped {
		return nil, nil, errStopped
	}
	now := cl.elapsed()
	c := Change{At: now, Event: event}
	var gone *backend
	if remove >= 0 {
		if gone = cl.member(remove); gone == nil {
			err := fmt.Errorf("fakeserver: remove backend %d: %w (members: %s)", remove, errNoBackend, intsList(cl.Members()))
			c.Addrs, c.Err = cl.Addrs(), err.Error()
			cl.logChange(c)
			return nil, nil, err
		}
	}
	var errs []error
	for _, a := range addrs {
		b, err := cl.startBackend(a, now)
		if err != nil {
			errs = append(errs, fmt.Errorf("fakeserver: %w", err))
			continue
		}
		c.Added = append(c.Added, b.idx)
		cl.applyOne(b, now, now)
	}
	if gone != nil {
		gone.mu.Lock()
		gone.removed, gone.removedAt = true, now
		gone.mu.Unlock()
		c.Removed = []int{remove}
	}
	c.Addrs = cl.Addrs()
	if cl.hook != nil {
		if err := cl.hook(c.Addrs); err != nil {
			errs = append(errs, fmt.Errorf("fakeserver: publishing the membership: %w", err))
		}
	}
	var stopped chan struct{}
	switch {
	case gone != nil && drain <= 0:
		stopped = make(chan struct{})
		cl.retire(gone, stopped)
	case gone != nil:
		gone.mu.Lock()
		gone.stopAt = now + drain
		gone.mu.Unlock()
	}
	cl.poke() // new rule edges, or a drain to time
	err := errors.Join(errs...)
	if err != nil {
		c.Err = err.Error()
	}
	cl.logChange(c)
	return c.Added, stopped, err
}

// member returns backend i if it is a member.
func (cl *Cluster) member(i int) *backend {
	all := cl.all()
	if i < 0 || i >= len(all) || all[i].isRemoved() {
		return nil
	}
	return all[i]
}

func (cl *Cluster) logChange(c Change) {
	cl.logMu.Lock()
	cl.changes = append(cl.changes, c)
	cl.logMu.Unlock()
}

// retire stops b in a goroutine that Stop waits for, closing done (if not
// nil) when it has. Called with memberMu held or from the scheduler.
func (cl *Cluster) retire(b *backend, done chan struct{}) {
	cl.retiring.Add(1)
	go func() {
		defer cl.retiring.Done()
		b.retire()
		if done != nil {
			close(done)
		}
	}()
}

// stopDrained stops the removed backends whose drain has ended by now.
func (cl *Cluster) stopDrained(now time.Duration) {
	for _, b := range cl.all() {
		if at, ok := b.pendingStop(); ok && at <= now {
			b.mu.Lock()
			b.stopAt = 0
			b.mu.Unlock()
			cl.retire(b, nil)
		}
	}
}

func (b *backend) isRemoved() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.removed
}

// pendingStop returns when a draining removed backend is due to stop.
func (b *backend) pendingStop() (time.Duration, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.stopAt, b.removed && b.stopAt > 0
}

// retire stops a removed backend for good: its health turns NOT_SERVING,
// it sends GOAWAY and stops accepting, and its in-flight calls get
// retireGrace to finish before they are cancelled.
func (b *backend) retire() {
	b.mu.Lock()
	srv := b.srv
	b.srv = nil
	b.down = true
	b.stopAt = 0
	b.mu.Unlock()
	b.hs.Shutdown()
	if srv == nil {
		return
	}
	done := make(chan struct{})
	go func() {
		srv.GracefulStop()
		close(done)
	}()
	t := time.NewTimer(retireGrace)
	defer t.Stop()
	select {
	case <-done:
	case <-t.C:
		srv.Stop()
		<-done
	}
	b.wg.Wait()
}
