package retry

import (
	"context"
	"errors"
	"io"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/proto"
)

type streamer = func(ctx context.Context, desc *grpc.StreamDesc, method string, opts ...grpc.CallOption) (grpc.ClientStream, error)

// newStream opens a retrying stream: opening itself is retried like a unary
// call, and the stream is retried later while uncommitted.
func (k *core) newStream(ctx context.Context, desc *grpc.StreamDesc, method string, opts []grpc.CallOption, open streamer) (grpc.ClientStream, error) {
	s := &stream{k: k, ctx: ctx, desc: desc, method: method, opts: opts, open: open}
	if k.p.MaxAttempts <= 1 {
		s.committed = true
	}
	for {
		err := s.openAttempt()
		if err == nil {
			return s, nil
		}
		if !s.retryAfter(err, nil) {
			k.finish(s.attempt)
			return nil, err
		}
	}
}

// stream is a grpc.ClientStream that replays its sent messages on a new
// attempt when the current one fails before it is committed.
type stream struct {
	k      *core
	ctx    context.Context
	desc   *grpc.StreamDesc
	method string
	opts   []grpc.CallOption
	open   streamer

	mu         sync.Mutex
	cur        grpc.ClientStream
	attempt    int       // attempts started
	start      time.Time // start of the current attempt (with an observer)
	committed  bool      // no more retries: a response arrived or the buffer overflowed
	closedSend bool
	sent       []any // copies of the messages sent, for replay
	sentBytes  int
	done       bool
}

// openAttempt starts the next attempt and replays what was sent. It is
// called with s.mu held, or before the stream is shared.
func (s *stream) openAttempt() error {
	s.attempt++
	ctx := s.ctx
	if s.attempt > 1 {
		ctx = retryContext(ctx, s.attempt)
	}
	if s.k.obs != nil {
		s.start = s.k.now()
	}
	cs, err := s.open(ctx, s.desc, s.method, s.opts...)
	if err != nil {
		s.observe(err)
		return err
	}
	s.cur = cs
	for _, m := range s.sent {
		if err := cs.SendMsg(m); err != nil {
			// The attempt broke while replaying; RecvMsg reports why.
			return nil
		}
	}
	if s.closedSend {
		_ = cs.CloseSend() // a failure shows up in RecvMsg
	}
	return nil
}

func (s *stream) observe(err error) {
	if s.k.obs != nil {
		s.k.obs.Attempt(s.method, s.attempt, s.k.now().Sub(s.start), err)
	}
}

// retryAfter decides about a failed attempt and waits; it reports whether a
// new attempt should be opened.
func (s *stream) retryAfter(err error, trailer metadata.MD) bool {
	if s.committed {
		if s.k.retryable.has(statusCode(err)) {
			s.k.gaveUp.Add(1)
		}
		return false
	}
	wait, again := s.k.afterFailure(s.ctx, s.attempt, err, trailer)
	return again && s.k.wait(s.ctx, wait)
}

// Header returns the current attempt's header. A successful Header commits
// the stream: the caller has seen this attempt's response.
func (s *stream) Header() (metadata.MD, error) {
	s.mu.Lock()
	cs := s.cur
	s.mu.Unlock()
	md, err := cs.Header()
	if err == nil {
		s.commit()
	}
	return md, err
}

// Trailer returns the current attempt's trailer.
func (s *stream) Trailer() metadata.MD {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cur.Trailer()
}

// CloseSend closes the send direction of this and any later attempt.
func (s *stream) CloseSend() error {
	s.mu.Lock()
	s.closedSend = true
	cs := s.cur
	s.mu.Unlock()
	return cs.CloseSend()
}

// Context returns the current attempt's context.
func (s *stream) Context() context.Context {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cur.Context()
}

// commit stops retries and drops the replay buffer.
func (s *stream) commit() {
	s.mu.Lock()
	s.committed = true
	s.sent, s.sentBytes = nil, 0
	s.mu.Unlock()
}

// SendMsg sends m on the current attempt, keeping a copy for replay while
// the stream is uncommitted.
func (s *stream) SendMsg(m any) error {
	s.mu.Lock()
	if !s.committed {
		c, n, ok := replayCopy(m)
		if !ok || s.sentBytes+n > s.k.p.MaxBuffer {
			s.committed = true
			s.sent, s.sentBytes = nil, 0
		} else {
			s.sent = append(s.sent, c)
			s.sentBytes += n
		}
	}
	cs := s.cur
	s.mu.Unlock()
	err := cs.SendMsg(m)
	if err != nil {
		s.mu.Lock()
		replaced, kept := s.cur != cs, !s.committed
		s.mu.Unlock()
		if replaced || (kept && errors.Is(err, io.EOF)) {
			// Either a retry replaced the attempt meanwhile and replayed m,
			// or the attempt has ended and m waits in the replay buffer:
			// RecvMsg will learn the status and retry if it may. Returning
			// io.EOF here would make the caller stop sending and a retry
			// would then replay a truncated stream.
			return nil
		}
	}
	return err
}

// RecvMsg receives on the current attempt. The first message commits the
// stream; an error before it starts a new attempt when the policy allows.
func (s *stream) RecvMsg(m any) error {
	for {
		s.mu.Lock()
		cs, committed := s.cur, s.committed
		s.mu.Unlock()
		err := cs.RecvMsg(m)
		if err == nil {
			if !committed {
				s.commit()
			}
			if !s.desc.ServerStreams {
				// A single response: grpc-go has already read the status,
				// so the call is over (callers do not read io.EOF).
				s.mu.Lock()
				if !s.done {
					s.finishLocked(nil)
				}
				s.mu.Unlock()
			}
			return nil
		}
		s.mu.Lock()
		if s.done {
			s.mu.Unlock()
			return err
		}
		if s.cur != cs {
			// Another goroutine already moved to a new attempt.
			s.mu.Unlock()
			continue
		}
		if err == io.EOF || s.committed {
			s.finishLocked(err)
			s.mu.Unlock()
			return err
		}
		s.observe(err)
		for {
			if !s.retryAfter(err, cs.Trailer()) {
				s.done = true
				s.k.finish(s.attempt)
				s.mu.Unlock()
				return err
			}
			if oerr := s.openAttempt(); oerr != nil {
				err = oerr
				continue
			}
			break
		}
		s.mu.Unlock()
	}
}

// finishLocked books the end of the call (committed or successful).
func (s *stream) finishLocked(err error) {
	s.done = true
	if errors.Is(err, io.EOF) {
		err = nil
	}
	s.observe(err)
	if err != nil && s.k.retryable.has(statusCode(err)) {
		s.k.gaveUp.Add(1)
	}
	if err == nil && s.k.throttle != nil {
		s.k.throttle.Success()
	}
	s.k.finish(s.attempt)
}

// Copier is implemented by messages that are not proto.Message values but
// can still be replayed, such as pre-encoded request bytes: CopyMessage
// returns a copy the layer may keep, and its size in bytes.
type Copier interface {
	CopyMessage() (any, int)
}

// replayCopy returns a copy of a sent message to keep for replay, its size,
// and whether the message can be replayed at all.
func replayCopy(m any) (any, int, bool) {
	switch x := m.(type) {
	case proto.Message:
		return proto.Clone(x), proto.Size(x), true
	case Copier:
		c, n := x.CopyMessage()
		return c, n, true
	}
	return nil, 0, false
}
