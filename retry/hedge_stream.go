package retry

import (
	"context"
	"errors"
	"io"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// errSendAfterClose mirrors grpc-go's error for a second message on a
// stream whose client does not stream.
var errSendAfterClose = status.Error(codes.Internal, "SendMsg called after CloseSend")

// NewStream opens a stream. Streams whose client sends a single message
// (server-streaming methods, and unary methods called as streams) are hedged
// until they commit, as A6 allows: the request is kept (cloned) and the
// attempts start when the caller closes its send side (or first calls
// RecvMsg or Header); each attempt opens its own stream, sends the request
// and waits for the response headers. The first attempt to receive headers
// (or to end with OK) commits the call and the others are cancelled; a
// fatal error decides it too; non-fatal errors, pushback and the throttle
// act as for unary calls. Errors — including one opening the stream —
// surface from RecvMsg, never from NewStream.
//
// Client-streaming and bidirectional streams are not hedged: they are
// opened on the wrapped connection as they are (counted in
// HedgeStats.Unhedged), because replaying a message stream to several
// attempts at once is not implemented.
func (h *HedgeConn) NewStream(ctx context.Context, desc *grpc.StreamDesc, method string, opts ...grpc.CallOption) (grpc.ClientStream, error) {
	if desc.ClientStreams || h.max < 2 {
		h.unhedged.Add(1)
		return h.cc.NewStream(ctx, desc, method, opts...)
	}
	c := newHedgeCall(h)
	s := &hedgeStream{c: c, desc: desc, decidedCh: make(chan struct{})}
	c.stream, c.ctx, c.method, c.opts, c.limit = s, ctx, method, opts, h.max
	return s, nil
}

// hedgeStream is the caller's view of a hedged stream: before the call is
// decided it holds the request; afterwards it forwards to the winning
// attempt's stream.
type hedgeStream struct {
	c         *hedgeCall
	desc      *grpc.StreamDesc
	decidedCh chan struct{} // closed when the call is decided

	mu       sync.Mutex // guards the caller's side below
	req      any
	hasReq   bool
	started  bool
	finished bool
	finalErr error // a committed stream's error at its end (nil: OK)
}

// runAttempt performs attempt n of the stream on the current goroutine:
// open, send the request, close the send side, wait for the headers.
func (s *hedgeStream) runAttempt(n int, actx context.Context, start time.Time) {
	c := s.c
	var fin struct {
		once sync.Once
		err  error
	}
	opts := append(c.attemptOpts(n), grpc.OnFinish(func(err error) { fin.once.Do(func() { fin.err = err }) }))
	if !start.IsZero() {
		c.starts[n] = start
	}
	cs, err := c.h.cc.NewStream(actx, s.desc, c.method, opts...)
	if err == nil {
		c.mu.Lock()
		c.streams[n] = cs
		c.mu.Unlock()
		err = s.sendRequest(cs)
	}
	if err == nil {
		if md, _ := cs.Header(); md == nil {
			// Ended without headers: grpc-go finished the stream inside
			// Header and its OnFinish holds the status (nil: OK, no
			// messages).
			fin.once.Do(func() {})
			err = fin.err
		}
	}
	c.attemptDone(n, err, start)
}

// sendRequest sends the kept request, if any, and closes the send side.
// A failure here shows up in Header as the stream's status.
func (s *hedgeStream) sendRequest(cs grpc.ClientStream) error {
	s.mu.Lock()
	req, has := s.req, s.hasReq
	s.mu.Unlock()
	if has {
		if err := cs.SendMsg(req); err != nil && !errors.Is(err, io.EOF) {
			return err
		}
	}
	_ = cs.CloseSend()
	return nil
}

// start begins the attempts once the request is known.
func (s *hedgeStream) start() {
	s.mu.Lock()
	if s.started {
		s.mu.Unlock()
		return
	}
	s.started = true
	s.mu.Unlock()
	c := s.c
	c.mu.Lock()
	n, actx := c.startLocked()
	if c.h.delay == 0 {
		for c.started < c.limit {
			m, mctx := c.startLocked()
			if m == 0 {
				break
			}
			go c.run(m, mctx)
		}
	} else if c.limit > 1 {
		c.armLocked(c.h.delay)
	}
	c.mu.Unlock()
	go c.run(n, actx)
}

// winner waits until the call is decided and returns the committed stream,
// or nil and the error that decided the call.
func (s *hedgeStream) winner() (grpc.ClientStream, error) {
	s.start()
	<-s.decidedCh
	c := s.c
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err != nil {
		return nil, c.err
	}
	return c.streams[c.winner], nil
}

// finish books the end of the call once: the losers have been cancelled, so
// it waits for them, then reports.
func (s *hedgeStream) finish(err error) {
	s.mu.Lock()
	if s.finished {
		s.mu.Unlock()
		return
	}
	s.finished = true
	s.mu.Unlock()
	c := s.c
	c.wait()
	if c.err == nil && err != nil {
		s.finalErr = err
	}
	if c.h.obs != nil && c.winner > 0 && c.err == nil {
		c.durs[c.winner], c.errs[c.winner] = time.Since(c.starts[c.winner]), err
	}
	if c.winner > 0 && c.cancels[c.winner] != nil {
		c.cancels[c.winner]()
	}
	c.report()
}

// SendMsg keeps the request for every attempt. The client of a hedged stream
// sends one message; a second one fails as it would in grpc-go.
func (s *hedgeStream) SendMsg(m any) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.hasReq || s.started {
		return errSendAfterClose
	}
	req, ok := cloneMsg(m)
	if !ok {
		// Cannot be copied for hedges: send it as it is, once.
		req, s.c.limit = m, 1
		s.c.h.unhedged.Add(1)
	}
	s.req, s.hasReq = req, true
	return nil
}

// CloseSend starts the attempts.
func (s *hedgeStream) CloseSend() error {
	s.start()
	return nil
}

// RecvMsg receives from the committed attempt, waiting for the call to be
// decided first; the error that decided a failed call is returned as is.
func (s *hedgeStream) RecvMsg(m any) error {
	cs, err := s.winner()
	if err != nil {
		s.finish(err)
		return err
	}
	err = cs.RecvMsg(m)
	switch {
	case errors.Is(err, io.EOF):
		s.finish(nil)
	case err != nil:
		s.finish(err)
	case !s.desc.ServerStreams:
		s.finish(nil)
	}
	return err
}

// Header returns the committed attempt's header (nil for a failed call).
func (s *hedgeStream) Header() (metadata.MD, error) {
	cs, err := s.winner()
	if err != nil {
		return nil, nil // as grpc-go: the error comes from RecvMsg
	}
	return cs.Header()
}

// Trailer returns the trailer of the attempt that decided the call (for a
// call every attempt of which failed, the last failure's). Call it after
// RecvMsg returned an error.
func (s *hedgeStream) Trailer() metadata.MD {
	select {
	case <-s.decidedCh:
	default:
		return nil
	}
	c := s.c
	c.mu.Lock()
	defer c.mu.Unlock()
	switch {
	case c.winner > 0 && c.streams[c.winner] != nil && c.err == nil:
		return c.streams[c.winner].Trailer()
	case c.winner > 0:
		return c.trailers[c.winner]
	}
	return c.trailers[c.lastN]
}

// Context returns the committed attempt's context once decided, else the
// caller's.
func (s *hedgeStream) Context() context.Context {
	select {
	case <-s.decidedCh:
	default:
		return s.c.ctx
	}
	c := s.c
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.winner > 0 && c.streams[c.winner] != nil {
		return c.streams[c.winner].Context()
	}
	return c.ctx
}
