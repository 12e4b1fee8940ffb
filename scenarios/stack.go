package scenarios

import (
	"context"
	"fmt"
	"net"

	"google.golang.org/grpc"
	"google.golang.org/grpc/peer"

	"github.com/grpcbench/grpcbench/breaker"
	"github.com/grpcbench/grpcbench/client"
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
	resolver *lb.Resolver
	retries  []*retry.Conn // wrapper mode: one per worker
}

// newStack dials addrs with the scenario's client configuration. In native
// retry mode gRPC retries inside the ClientConn, where only a stats.Handler
// sees which backend each attempt reached; it counts into peers.
func newStack(ctx context.Context, s *Scenario, addrs []string, peers *results.PeerCounter) (*stack, error) {
	st := &stack{resolver: lb.NewStaticResolver(addrs...)}
	var methodConfig []any
	var extra []grpc.DialOption
	if p := s.Client.Retry; p != nil && p.Mode == retry.ModeNative {
		methodConfig = append(methodConfig, retry.ServiceConfigMethod(*p))
		st.native = retry.NewAttemptCounter(*p)
		extra = append(extra, st.native.DialOptions()...)
		extra = append(extra, grpc.WithStatsHandler(peers.StatsHandler()))
	}
	dial, err := s.Client.LB.DialOptionsWith(methodConfig)
	if err != nil {
		return nil, fmt.Errorf("client.lb: %w", err)
	}
	dial = append(append(dial, extra...), st.resolver.DialOption())
	p, err := pool.New(ctx, st.resolver.Target(), s.Client.Pool, dial...)
	if err != nil {
		return nil, err
	}
	st.pool, st.cc = p, p
	if b := s.Client.Breaker; b != nil {
		st.breaker = breaker.New(*b)
		st.cc = breaker.Wrap(p, st.breaker)
	}
	return st, nil
}

// close closes the pool's connections.
func (st *stack) close() { st.pool.Close() }

// workerClient builds a worker's own top of the stack: the recording of
// each attempt's backend (below the retry layer, so every attempt is seen;
// not in native mode, where the stats handler counts them), the retry
// layer in wrapper mode, and the client with the scenario's call options.
func (st *stack) workerClient(s *Scenario, w *worker) (*client.Client, error) {
	cc := st.cc
	if st.native == nil {
		w.peers = newPeerRecorder(w.shard)
		cc = &peerConn{cc: cc, p: w.peers}
	}
	if p := s.Client.Retry; p != nil && p.Mode != retry.ModeNative {
		rc := retry.Wrap(cc, *p, retry.WithObserver(w), retry.WithRand(w.rng.Float64))
		st.retries = append(st.retries, rc)
		cc = rc
	}
	return client.New(cc).With(s.Client.CallOptions)
}

// fill copies the stack's counters into a cell's results.
func (st *stack) fill(rc *results.Cell, workers []*worker) {
	if st.native != nil {
		rs := st.native.Stats()
		rc.Retry = results.Retry{Calls: rs.Calls, Attempts: rs.Attempts, Retried: rs.Retried, GaveUp: rs.GaveUp,
			PushbackWaits: rs.PushbackWaits, AttemptsPerCall: rs.AttemptsPerCall}
	} else if len(st.retries) > 0 {
		// Calls, attempts and their distribution come from the recorded
		// phase (the recorder); so does GaveUp. Pushback waits are counted
		// over the whole cell.
		for _, r := range st.retries {
			rc.Retry.PushbackWaits += r.Stats().PushbackWaits
		}
		for _, w := range workers {
			rc.Retry.GaveUp += w.gaveUp
		}
	}
	if st.breaker != nil {
		bs := st.breaker.Stats()
		rc.Breaker = results.Breaker{Trips: bs.Trips, Rejections: bs.Rejections, TimeOpen: bs.TimeOpen}
	}
	for _, c := range st.pool.Stats().Conns {
		rc.Pool.Conns = append(rc.Pool.Conns, results.ConnStats{Target: c.Target, State: c.State, Picks: c.Picks, StateChanges: c.StateChanges})
	}
}

// peerRecorder counts the backend of each attempt of one worker into its
// shard: grpc.Peer fills peer when an attempt ends; names caches each
// address's string. The whole cell is counted, warm-up included, like the
// server's own counters.
type peerRecorder struct {
	shard *results.Shard
	peer  peer.Peer
	opt   grpc.CallOption
	opts  []grpc.CallOption
	names map[net.Addr]string
}

func newPeerRecorder(sh *results.Shard) *peerRecorder {
	p := &peerRecorder{shard: sh, names: map[net.Addr]string{}}
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
	name, ok := p.names[a]
	if !ok {
		name = a.String()
		p.names[a] = name
	}
	p.shard.Peer(name)
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
