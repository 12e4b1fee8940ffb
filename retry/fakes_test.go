package retry_test

import (
	"context"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"

	"github.com/grpcbench/grpcbench/retry"
)

// fakeClock is an auto-advancing clock: a timer fires at once and moves
// virtual time forward by its duration, recording every wait.
type fakeClock struct {
	mu    sync.Mutex
	now   time.Time
	waits []time.Duration
}

func newFakeClock() *fakeClock { return &fakeClock{now: time.Now()} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) NewTimer(d time.Duration) retry.Timer {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	c.waits = append(c.waits, d)
	ch := make(chan time.Time, 1)
	ch <- c.now
	return firedTimer(ch)
}

func (c *fakeClock) Waits() []time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]time.Duration(nil), c.waits...)
}

type firedTimer chan time.Time

func (t firedTimer) C() <-chan time.Time { return t }
func (t firedTimer) Stop() bool          { return false }

// attemptResult is what the scripted connection answers to one attempt.
type attemptResult struct {
	err     error
	trailer metadata.MD
}

// scriptConn is a grpc.ClientConnInterface answering unary attempts from a
// script (the last entry repeats) and recording what each attempt carried.
type scriptConn struct {
	mu       sync.Mutex
	script   []attemptResult
	calls    int
	previous []string // grpc-previous-rpc-attempts of each attempt ("" if none)
	hasDL    []bool
}

func (s *scriptConn) Invoke(ctx context.Context, method string, args, reply any, opts ...grpc.CallOption) error {
	s.mu.Lock()
	i := min(s.calls, len(s.script)-1)
	s.calls++
	md, _ := metadata.FromOutgoingContext(ctx)
	prev := ""
	if v := md.Get("grpc-previous-rpc-attempts"); len(v) > 0 {
		prev = v[len(v)-1]
	}
	s.previous = append(s.previous, prev)
	_, ok := ctx.Deadline()
	s.hasDL = append(s.hasDL, ok)
	r := s.script[i]
	s.mu.Unlock()
	for _, o := range opts {
		if t, ok := o.(grpc.TrailerCallOption); ok {
			*t.TrailerAddr = r.trailer
		}
	}
	return r.err
}

func (s *scriptConn) NewStream(context.Context, *grpc.StreamDesc, string, ...grpc.CallOption) (grpc.ClientStream, error) {
	panic("scriptConn: streams are tested against the fake server")
}

// recordingObserver keeps every attempt it is told about.
type recordingObserver struct {
	mu       sync.Mutex
	attempts []int
	errs     int
}

func (o *recordingObserver) Attempt(_ string, attempt int, _ time.Duration, err error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.attempts = append(o.attempts, attempt)
	if err != nil {
		o.errs++
	}
}
