package pool

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/connectivity"
	"google.golang.org/grpc/metadata"
)

// recycleRetry is how long the recycler waits before trying again when a
// replacement connection could not be made ready.
const recycleRetry = time.Second

// Pool is a fixed number of *grpc.ClientConn to one target behind one
// grpc.ClientConnInterface. It is safe for concurrent use.
type Pool struct {
	target   string
	cfg      Config
	dialOpts []grpc.DialOption
	pick     Pick
	slots    []*slot

	next   atomic.Uint64 // round-robin cursor, also the tie-breaker of other picks
	closed atomic.Bool

	// ctx lives until Close; it stops the state watchers, the recycler and
	// the goroutines closing retired connections.
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu       sync.Mutex         // guards retiring
	retiring map[*conn]struct{} // replaced connections waiting for their calls to end
}

// slot is position i of the pool: the connection it holds now and counters
// that survive recycling.
type slot struct {
	index        int
	cur          atomic.Pointer[conn]
	picks        atomic.Int64
	stateChanges atomic.Int64
	reconnects   atomic.Int64
	recycled     atomic.Int64
	recycleFails atomic.Int64
	_            [64]byte // keep hot counters of neighbouring slots apart
}

// conn is one *grpc.ClientConn with its in-flight count.
type conn struct {
	cc       *grpc.ClientConn
	slot     *slot
	born     time.Time
	state    atomic.Int32 // connectivity.State, kept by the watcher for first_ready
	inflight atomic.Int64
	retired  atomic.Bool
	drained  chan struct{} // closed once retired and no call is in flight
	drainOne sync.Once
}

func (c *conn) signalDrained() { c.drainOne.Do(func() { close(c.drained) }) }

// New makes a pool of cfg.Size connections to target with grpc.NewClient and
// dialOpts (which must include transport credentials). Zero fields of cfg
// take their defaults. With cfg.Warmup it connects them all and waits until
// each is READY, within cfg.WarmupTimeout and ctx; otherwise connections are
// made lazily by the first call on each, as grpc.NewClient does.
//
// ctx bounds only the construction; the pool lives until Close.
func New(ctx context.Context, target string, cfg Config, dialOpts ...grpc.DialOption) (*Pool, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("pool: config: %w", err)
	}
	cfg = cfg.WithDefaults()
	p := &Pool{
		target:   target,
		cfg:      cfg,
		dialOpts: dialOpts,
		pick:     cfg.Pick,
		slots:    make([]*slot, cfg.Size),
		retiring: make(map[*conn]struct{}),
	}
	p.ctx, p.cancel = context.WithCancel(context.Background())
	for i := range p.slots {
		p.slots[i] = &slot{index: i}
		c, err := p.dial(p.slots[i])
		if err != nil {
			_ = p.Close()
			return nil, err
		}
		p.slots[i].cur.Store(c)
	}
	if cfg.Warmup {
		wctx, cancel := context.WithTimeout(ctx, cfg.WarmupTimeout)
		defer cancel()
		for _, s := range p.slots {
			c := s.cur.Load()
			c.cc.Connect()
		}
		for _, s := range p.slots {
			if err := p.warm(wctx, s.cur.Load()); err != nil {
				_ = p.Close()
				return nil, err
			}
		}
	}
	if cfg.MaxAge > 0 {
		p.wg.Add(1)
		go p.recycleLoop()
	}
	return p, nil
}

// dial makes a connection for s and starts its state watcher.
func (p *Pool) dial(s *slot) (*conn, error) {
	cc, err := grpc.NewClient(p.target, p.dialOpts...)
	if err != nil {
		return nil, fmt.Errorf("pool: connection %d to %q: %w", s.index, p.target, err)
	}
	c := &conn{cc: cc, slot: s, born: time.Now(), drained: make(chan struct{})}
	st := cc.GetState()
	c.state.Store(int32(st))
	p.wg.Add(1)
	go p.watch(c, st)
	return c, nil
}

// watch follows c's connectivity state until c is shut down or the pool is
// closed, counting changes and caching the state for first_ready.
func (p *Pool) watch(c *conn, st connectivity.State) {
	defer p.wg.Done()
	wasReady := st == connectivity.Ready
	for c.cc.WaitForStateChange(p.ctx, st) {
		ns := c.cc.GetState()
		if ns == connectivity.Shutdown {
			c.state.Store(int32(ns))
			return
		}
		if ns != st {
			c.state.Store(int32(ns))
			c.slot.stateChanges.Add(1)
			if ns == connectivity.Ready {
				if wasReady {
					c.slot.reconnects.Add(1)
				}
				wasReady = true
			}
			st = ns
		}
	}
}

// warm connects c and waits until it is READY or ctx ends.
func (p *Pool) warm(ctx context.Context, c *conn) error {
	start := time.Now()
	c.cc.Connect()
	for {
		st := c.cc.GetState()
		switch st {
		case connectivity.Ready:
			// Tell first_ready now rather than when the watcher wakes up.
			c.state.Store(int32(st))
			return nil
		case connectivity.Idle:
			c.cc.Connect()
		case connectivity.Shutdown:
			return fmt.Errorf("pool: warm-up of connection %d to %q: connection shut down", c.slot.index, p.target)
		}
		if !c.cc.WaitForStateChange(ctx, st) {
			return fmt.Errorf("pool: warm-up of connection %d to %q: still %s after %v: %w",
				c.slot.index, p.target, c.cc.GetState(), time.Since(start).Round(time.Millisecond), ctx.Err())
		}
	}
}

// choose returns the index of the slot to use.
func (p *Pool) choose() int {
	n := uint64(len(p.slots))
	if n == 1 {
		return 0
	}
	switch p.pick {
	case PickRandom:
		return int(rand.Uint64N(n))
	case PickLeastInflight:
		start := p.next.Add(1) - 1
		best, bestN := int(start%n), int64(-1)
		for i := uint64(0); i < n; i++ {
			idx := int((start + i) % n)
			v := p.slots[idx].cur.Load().inflight.Load()
			if bestN < 0 || v < bestN {
				best, bestN = idx, v
				if v == 0 {
					break
				}
			}
		}
		return best
	case PickFirstReady:
		start := p.next.Add(1) - 1
		for i := uint64(0); i < n; i++ {
			idx := int((start + i) % n)
			switch connectivity.State(p.slots[idx].cur.Load().state.Load()) {
			case connectivity.Ready, connectivity.Idle:
				return idx
			}
		}
		return int(start % n)
	default: // round robin
		return int((p.next.Add(1) - 1) % n)
	}
}

// acquire picks a connection and counts a call in flight on it. A retired
// connection is never returned: the in-flight increment comes before the
// retired check, and the recycler marks a connection retired before it
// reads the count, so either the caller sees retired and moves on, or the
// recycler sees the call and waits for it.
func (p *Pool) acquire() *conn {
	for {
		s := p.slots[p.choose()]
		c := s.cur.Load()
		c.inflight.Add(1)
		if !c.retired.Load() {
			s.picks.Add(1)
			return c
		}
		p.release(c)
	}
}

// release ends a call on c.
func (p *Pool) release(c *conn) {
	if c.inflight.Add(-1) == 0 && c.retired.Load() {
		c.signalDrained()
	}
}

// Invoke performs a unary call on a picked connection. It implements
// grpc.ClientConnInterface.
func (p *Pool) Invoke(ctx context.Context, method string, args, reply any, opts ...grpc.CallOption) error {
	c := p.acquire()
	err := c.cc.Invoke(ctx, method, args, reply, opts...)
	p.release(c)
	return err
}

// NewStream opens a stream on a picked connection. It implements
// grpc.ClientConnInterface. The stream counts as in flight on its connection
// until it ends: RecvMsg returns an error (io.EOF included) or, for a method
// without server streaming, returns the response; SendMsg or Header returns
// an error other than io.EOF; or ctx is done. Those are the ways grpc-go
// itself releases a stream.
func (p *Pool) NewStream(ctx context.Context, desc *grpc.StreamDesc, method string, opts ...grpc.CallOption) (grpc.ClientStream, error) {
	c := p.acquire()
	cs, err := c.cc.NewStream(ctx, desc, method, opts...)
	if err != nil {
		p.release(c)
		return nil, err
	}
	s := &stream{ClientStream: cs, p: p, c: c, serverStreams: desc.ServerStreams}
	s.stop = context.AfterFunc(ctx, s.end)
	return s, nil
}

// stream releases its connection exactly once when it ends.
type stream struct {
	grpc.ClientStream
	p             *Pool
	c             *conn
	serverStreams bool
	ended         atomic.Bool
	stop          func() bool
}

func (s *stream) end() {
	if s.ended.CompareAndSwap(false, true) {
		s.p.release(s.c)
	}
}

// finish ends the stream from the caller's goroutine and drops the context
// callback.
func (s *stream) finish() {
	s.stop()
	s.end()
}

// RecvMsg implements grpc.ClientStream.
func (s *stream) RecvMsg(m any) error {
	err := s.ClientStream.RecvMsg(m)
	if err != nil || !s.serverStreams {
		s.finish()
	}
	return err
}

// SendMsg implements grpc.ClientStream.
func (s *stream) SendMsg(m any) error {
	err := s.ClientStream.SendMsg(m)
	if err != nil && !errors.Is(err, io.EOF) {
		s.finish()
	}
	return err
}

// Header implements grpc.ClientStream.
func (s *stream) Header() (md metadata.MD, err error) {
	md, err = s.ClientStream.Header()
	if err != nil {
		s.finish()
	}
	return md, err
}

// recycleLoop replaces connections older than MaxAge until Close.
func (p *Pool) recycleLoop() {
	defer p.wg.Done()
	t := time.NewTimer(p.cfg.MaxAge)
	defer t.Stop()
	for {
		select {
		case <-p.ctx.Done():
			return
		case <-t.C:
		}
		next := p.cfg.MaxAge
		for _, s := range p.slots {
			c := s.cur.Load()
			age := time.Since(c.born)
			if age < p.cfg.MaxAge {
				next = min(next, p.cfg.MaxAge-age)
				continue
			}
			if err := p.recycle(s, c); err != nil {
				s.recycleFails.Add(1)
				next = min(next, recycleRetry)
			} else {
				next = min(next, p.cfg.MaxAge)
			}
			if p.ctx.Err() != nil {
				return
			}
		}
		t.Reset(next)
	}
}

// recycle replaces old in s with a new connection that is READY, and closes
// old once its calls have ended. If the new connection cannot be made ready
// within WarmupTimeout, old stays.
func (p *Pool) recycle(s *slot, old *conn) error {
	nc, err := p.dial(s)
	if err != nil {
		return err
	}
	wctx, cancel := context.WithTimeout(p.ctx, p.cfg.WarmupTimeout)
	err = p.warm(wctx, nc)
	cancel()
	if err != nil {
		_ = nc.cc.Close()
		return err
	}
	p.mu.Lock()
	p.retiring[old] = struct{}{}
	p.mu.Unlock()
	s.cur.Store(nc)
	old.retired.Store(true)
	if old.inflight.Load() == 0 {
		old.signalDrained()
	}
	s.recycled.Add(1)
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		select {
		case <-old.drained:
		case <-p.ctx.Done():
		}
		_ = old.cc.Close()
		p.mu.Lock()
		delete(p.retiring, old)
		p.mu.Unlock()
	}()
	return nil
}

// Connect asks every connection to connect now, without waiting; calls
// would otherwise connect each lazily.
func (p *Pool) Connect() {
	for _, s := range p.slots {
		s.cur.Load().cc.Connect()
	}
}

// Target returns the target the pool's connections were made for.
func (p *Pool) Target() string { return p.target }

// Close stops the pool's goroutines and closes every connection, including
// replaced ones still finishing calls (those calls fail with CANCELED).
// Calls made after Close fail. Close returns the errors of closing the
// connections; calling it again returns nil.
func (p *Pool) Close() error {
	if !p.closed.CompareAndSwap(false, true) {
		return nil
	}
	p.cancel()
	p.wg.Wait()
	var errs []error
	for _, s := range p.slots {
		if s == nil {
			continue
		}
		if c := s.cur.Load(); c != nil {
			if err := c.cc.Close(); err != nil {
				errs = append(errs, fmt.Errorf("pool: close connection %d: %w", s.index, err))
			}
		}
	}
	return errors.Join(errs...)
}

var _ grpc.ClientConnInterface = (*Pool)(nil)
