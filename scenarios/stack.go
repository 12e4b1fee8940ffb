package scenarios

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/peer"

	"github.com/grpcbench/grpcbench/breaker"
	"github.com/grpcbench/grpcbench/client"
	"github.com/grpcbench/grpcbench/dial"
	"github.com/grpcbench/grpcbench/lb"
	"github.com/grpcbench/grpcbench/pool"
	"github.com/grpcbench/grpcbench/results"
	"github.com/grpcbench/grpcbench/retry"
)

// stack is one cell's client stack, built in one place:
//
//	client → retry (wrapper mode) → peer recording → breaker → pool → ClientConn (LB inside)
//
// The layers from the breaker down are shared by the cell's workers; each
// worker gets its own client, retry layer and peer recording on top (see
// workerClient), so nothing on a call's path is shared but atomics.
type stack struct {
	pool     *pool.Pool
	breaker  *breaker.Breaker
	cc       grpc.ClientConnInterface // breaker over pool, or pool
	native   *retry.AttemptCounter    // gRPC's own retries (native mode)
	throttle *retry.Throttle          // A6 retry throttling, shared by the workers
	ejection *lb.EjectionLog          // outlier detection's events
	retries  []*retry.Conn            // wrapper mode: one per worker and policy
	hedges   []*retry.HedgeConn       // hedging: one per worker and policy
	// statsPeers counts each attempt's backend with a stats handler (gRPC's
	// own retries, and concurrent hedges, leave no single peer per worker).
	statsPeers bool
	epoch      time.Time // the schedule's zero: breaker and throttle times count from it
	// callOpts are the scenario's call options with the plain metadata
	// (values from ${env:}/${file:} go as per-RPC credentials instead).
	callOpts client.CallOptions
}

// newStack builds the shared layers over the dialer's connections. In
// native retry mode gRPC retries inside the ClientConn, where only a
// stats.Handler sees which backend each attempt reached; it counts into
// peers.
func newStack(ctx context.Context, s *Scenario, d *dial.Dialer, plainMD map[string]string, peers *results.PeerCounter, epoch time.Time) (*stack, error) {
	c := &s.Client
	st := &stack{callOpts: c.CallOptions, statsPeers: hedges(s), epoch: epoch}
	st.callOpts.Metadata = plainMD
	if c.RetryThrottling != nil {
		st.throttle = retry.NewThrottle(*c.RetryThrottling, retry.WithThrottleEpoch(epoch))
	}
	var methodConfig []any
	var throttling any
	var extra []grpc.DialOption
	if p := c.Retry; p != nil && p.Mode == retry.ModeNative {
		methodConfig = append(methodConfig, retry.ServiceConfigMethod(*p))
		var opts []retry.Option
		if st.throttle != nil {
			// gRPC keeps its own bucket; the mirror infers what it refused.
			throttling = c.RetryThrottling.ServiceConfig()
			opts = append(opts, retry.WithThrottle(st.throttle))
		}
		st.native = retry.NewAttemptCounter(*p, opts...)
		extra = append(extra, st.native.DialOptions()...)
		st.statsPeers = true
	}
	if st.statsPeers {
		extra = append(extra, grpc.WithStatsHandler(peers.StatsHandler()))
	}
	lbCfg := c.LB
	if lbCfg.OutlierDetection != nil {
		st.ejection = lb.NewEjectionLog()
		lbCfg = lbCfg.WithEjectionLog(st.ejection)
	}
	lbOpts, err := lbCfg.DialOptionsFor(methodConfig, throttling)
	if err != nil {
		st.close()
		return nil, fmt.Errorf("client.lb: %w", err)
	}
	opts := append(append(d.DialOptions(), lbOpts...), extra...)
	p, err := pool.New(ctx, d.Target(), c.Pool, opts...)
	if err != nil {
		st.close()
		return nil, err
	}
	st.pool, st.cc = p, p
	if b := c.Breaker; b != nil {
		st.breaker = breaker.New(*b, breaker.WithEpoch(epoch))
		st.cc = breaker.Wrap(p, st.breaker)
	}
	return st, nil
}

// hedges reports whether any call of s is hedged.
func hedges(s *Scenario) bool {
	if s.Client.Hedging != nil {
		return true
	}
	for _, e := range s.Mix {
		if e.Hedging != nil {
			return true
		}
	}
	return false
}

// close closes the pool's connections and the ejection log.
func (st *stack) close() {
	if st.pool != nil {
		st.pool.Close()
	}
	if st.ejection != nil {
		st.ejection.Close()
	}
}

// workerClients builds a worker's own top of the stack, one client per
// mix entry (entries with the same policies share one): the recording of
// each attempt's backend (below the retry layer, so every attempt is seen;
// unless a stats handler counts them), then the entry's retry layer
// (wrapper mode) or hedging layer, then the client with the scenario's call
// options and the entry's overrides.
func (st *stack) workerClients(cs *callSet, w *worker) ([]*client.Client, error) {
	base := st.cc
	if !st.statsPeers {
		w.peers = newPeerRecorder(w.d.peers)
		base = &peerConn{cc: base, p: w.peers}
	}
	type key struct {
		retry        *retry.Policy
		hedging      *retry.HedgingPolicy
		timeout      *time.Duration
		waitForReady *bool
		creds        grpc.CallOption
	}
	made := map[key]*client.Client{}
	out := make([]*client.Client, len(cs.calls))
	for i := range cs.calls {
		c := &cs.calls[i]
		k := key{c.retry, c.hedging, c.timeout, c.waitForReady, c.creds}
		if cl, ok := made[k]; ok {
			out[i] = cl
			continue
		}
		cc := base
		var ropts []retry.Option
		if st.throttle != nil {
			ropts = append(ropts, retry.WithThrottle(st.throttle))
		}
		switch {
		case c.hedging != nil:
			h := retry.Hedge(base, *c.hedging, append(ropts, retry.WithObserver(w))...)
			st.hedges = append(st.hedges, h)
			cc = h
		case c.retry != nil:
			rc := retry.Wrap(base, *c.retry, append(ropts, retry.WithObserver(w), retry.WithRand(w.rng.Float64))...)
			st.retries = append(st.retries, rc)
			cc = rc
		}
		cl, err := client.New(cc).With(c.callOptions(st.callOpts))
		if err != nil {
			return nil, err
		}
		made[k], out[i] = cl, cl
	}
	return out, nil
}

// fill copies the stack's counters into a cell's results; times are
// offsets from start (the recorded phase's start).
func (st *stack) fill(rc *results.Cell, workers []*worker, start time.Time) {
	st.fillRetry(rc, workers)
	if st.breaker != nil {
		bs := st.breaker.Stats()
		rc.Breaker = results.Breaker{Trips: bs.Trips, Rejections: bs.Rejections, TimeOpen: bs.TimeOpen}
		// The breaker's epoch is the schedule's zero; results count from
		// the recorded phase.
		shift := start.Sub(st.epoch)
		for _, t := range bs.Log {
			rc.Breaker.Transitions = append(rc.Breaker.Transitions, results.Transition{At: t.At - shift, From: t.From.String(), To: t.To.String()})
		}
	}
	for _, c := range st.pool.Stats().Conns {
		rc.Pool.Conns = append(rc.Pool.Conns, results.ConnStats{Target: c.Target, State: c.State, Picks: c.Picks,
			StateChanges: c.StateChanges, Reconnects: c.Reconnects, Recycled: c.Recycled})
	}
	if st.throttle != nil {
		ts := st.throttle.Stats()
		rc.Throttle = &results.Throttle{MaxTokens: ts.MaxTokens, Tokens: ts.Tokens, Throttled: ts.Throttled}
		if st.native != nil {
			// gRPC throttles by itself; the count is the retry counter's
			// inference (see retry.AttemptCounter).
			rc.Throttle.Throttled = rc.Retry.Throttled
		}
		for _, e := range ts.Log {
			rc.Throttle.Changes = append(rc.Throttle.Changes, results.ThrottleChange{At: e.At - start.Sub(st.epoch), Throttling: e.Throttling, Tokens: e.Tokens})
		}
	}
	if st.ejection != nil {
		for _, e := range st.ejection.Events() {
			rc.Ejections = append(rc.Ejections, results.Ejection{At: e.At.Sub(start), Conn: e.Conn, Addr: e.Addr,
				Kind: string(e.Kind), Reason: e.Reason, For: e.For})
		}
	}
}

// fillRetry copies the retry and hedging layers' counters.
func (st *stack) fillRetry(rc *results.Cell, workers []*worker) {
	if st.native != nil {
		rs := st.native.Stats()
		rc.Retry = results.Retry{Calls: rs.Calls, Attempts: rs.Attempts, Retried: rs.Retried, GaveUp: rs.GaveUp,
			PushbackWaits: rs.PushbackWaits, AttemptsPerCall: rs.AttemptsPerCall, Throttled: rs.Throttled,
			PushbackStops: rs.PushbackStops, TransparentRetries: rs.TransparentRetries}
	} else if len(st.retries) > 0 {
		// Calls, attempts and their distribution come from the recorded
		// phase (the recorder); so does GaveUp. The layers' own counters
		// cover the whole cell.
		for _, r := range st.retries {
			rs := r.Stats()
			rc.Retry.PushbackWaits += rs.PushbackWaits
			rc.Retry.PushbackStops += rs.PushbackStops
			rc.Retry.Throttled += rs.Throttled
		}
		for _, w := range workers {
			rc.Retry.GaveUp += w.gaveUp
		}
	}
	if len(st.hedges) == 0 {
		return
	}
	h := &results.Hedging{}
	for _, hc := range st.hedges {
		hs := hc.Stats()
		h.Calls += hs.Calls
		h.Attempts += hs.Attempts
		h.Hedges += hs.Hedges
		h.Failed += hs.Failed
		h.Cancelled += hs.Cancelled
		h.PushbackWaits += hs.PushbackWaits
		h.PushbackStops += hs.PushbackStops
		h.Throttled += hs.Throttled
		h.Unhedged += hs.Unhedged
		for i, n := range hs.Won {
			for len(h.WonBy) <= i {
				h.WonBy = append(h.WonBy, 0)
			}
			h.WonBy[i] += n
		}
	}
	rc.Hedging = h
}

// peerRecorder counts the backend of each attempt of one worker into its
// shard: grpc.Peer fills peer when an attempt ends; names caches each
// address's string. The whole cell is counted, warm-up included, like the
// server's own counters.
type peerRecorder struct {
	peers *results.PeerCounter
	peer  peer.Peer
	opt   grpc.CallOption
	opts  []grpc.CallOption
	// names caches each TCP backend's name by value: every connection has
	// its own *net.TCPAddr, so a cache keyed by the pointer would grow with
	// every reconnect.
	names map[netip.AddrPort]string
	// seen lists the backends of the current call's attempts, for the
	// per-second share (reset by the worker at each call).
	seen []string
}

func newPeerRecorder(peers *results.PeerCounter) *peerRecorder {
	p := &peerRecorder{peers: peers, names: map[netip.AddrPort]string{}}
	p.opt = grpc.Peer(&p.peer)
	return p
}

// flush counts the backend of the attempt that just ended, if any.
func (p *peerRecorder) flush() {
	a := p.peer.Addr
	if a == nil {
		return
	}
	p.peer = peer.Peer{}
	ta, ok := a.(*net.TCPAddr)
	var name string
	if !ok { // a unix socket: rare enough to name each time
		name = a.String()
	} else {
		ap := ta.AddrPort()
		if name, ok = p.names[ap]; !ok {
			name = a.String()
			p.names[ap] = name
		}
	}
	p.peers.Add(name, 1)
	p.seen = append(p.seen, name)
}

// peerConn adds a worker's grpc.Peer option to every attempt. One worker
// makes one attempt at a time, so the option buffer is reused.
type peerConn struct {
	cc grpc.ClientConnInterface
	p  *peerRecorder
}

// Invoke implements grpc.ClientConnInterface.
func (c *peerConn) Invoke(ctx context.Context, method string, args, reply any, opts ...grpc.CallOption) error {
	c.p.flush()
	c.p.opts = append(append(c.p.opts[:0], opts...), c.p.opt)
	err := c.cc.Invoke(ctx, method, args, reply, c.p.opts...)
	c.p.flush()
	return err
}

// NewStream implements grpc.ClientConnInterface. The stream keeps its
// options until it ends, so they get their own slice; the peer is counted
// when the next attempt starts or the worker's call ends.
func (c *peerConn) NewStream(ctx context.Context, desc *grpc.StreamDesc, method string, opts ...grpc.CallOption) (grpc.ClientStream, error) {
	c.p.flush()
	o := make([]grpc.CallOption, 0, len(opts)+1)
	return c.cc.NewStream(ctx, desc, method, append(append(o, opts...), c.p.opt)...)
}
