package pool

// ConnStats describes connection i of a pool. Counters add up over the
// connections that held position i, across recycling.
type ConnStats struct {
	// Index is the connection's position in the pool, from 0.
	Index int `json:"index"`
	// Target is the target the connection was made for.
	Target string `json:"target"`
	// State is the connection's connectivity state now: IDLE, CONNECTING,
	// READY, TRANSIENT_FAILURE or SHUTDOWN.
	State string `json:"state"`
	// Picks counts the calls and streams started on it.
	Picks int64 `json:"picks"`
	// Inflight counts the calls and streams not yet ended, including those
	// still on a replaced connection.
	Inflight int64 `json:"inflight"`
	// StateChanges counts the state changes observed (a change faster than
	// the watcher may be seen as one).
	StateChanges int64 `json:"state_changes"`
	// Reconnects counts the times a connection became READY again after it
	// had been READY (it lost its transport and gRPC reconnected it); a
	// replacement connection's first READY is not one.
	Reconnects int64 `json:"reconnects"`
	// Recycled counts the times the connection was replaced for its age;
	// RecycleFailures the attempts that failed (the old one was kept).
	Recycled        int64 `json:"recycled"`
	RecycleFailures int64 `json:"recycle_failures"`
}

// Stats is a snapshot of a pool's counters.
type Stats struct {
	// Conns holds one entry per connection, in pool order.
	Conns []ConnStats `json:"conns"`
	// Totals over Conns.
	Picks        int64 `json:"picks"`
	Inflight     int64 `json:"inflight"`
	StateChanges int64 `json:"state_changes"`
	Reconnects   int64 `json:"reconnects"`
	Recycled     int64 `json:"recycled"`
	// Draining is the number of replaced connections still waiting for
	// their calls to end before they are closed.
	Draining int `json:"draining"`
}

// Stats returns a snapshot of the pool's counters. It is safe to call at
// any time, also after Close.
func (p *Pool) Stats() Stats {
	st := Stats{Conns: make([]ConnStats, len(p.slots))}
	p.mu.Lock()
	draining := make(map[int]int64, len(p.retiring))
	for c := range p.retiring {
		draining[c.slot.index] += c.inflight.Load()
	}
	st.Draining = len(p.retiring)
	p.mu.Unlock()
	for i, s := range p.slots {
		c := s.cur.Load()
		cs := ConnStats{
			Index:           i,
			Target:          p.target,
			State:           c.cc.GetState().String(),
			Picks:           s.picks.Load(),
			Inflight:        c.inflight.Load() + draining[i],
			StateChanges:    s.stateChanges.Load(),
			Reconnects:      s.reconnects.Load(),
			Recycled:        s.recycled.Load(),
			RecycleFailures: s.recycleFails.Load(),
		}
		st.Conns[i] = cs
		st.Picks += cs.Picks
		st.Inflight += cs.Inflight
		st.StateChanges += cs.StateChanges
		st.Reconnects += cs.Reconnects
		st.Recycled += cs.Recycled
	}
	return st
}
