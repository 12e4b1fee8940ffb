package breaker

import (
	"context"
	"errors"
	"io"
	"sync/atomic"

	"google.golang.org/grpc"
	"google.golang.org/grpc/status"
)

// Conn is a grpc.ClientConnInterface guarded by a Breaker.
type Conn struct {
	cc grpc.ClientConnInterface
	b  *Breaker
}

var _ grpc.ClientConnInterface = (*Conn)(nil)

// Wrap returns cc guarded by b: each call asks b first and reports its
// outcome when it ends. A stream ends when RecvMsg returns an error (io.EOF
// counts as success), after its single response for non-server-streaming
// methods, or when its context ends.
func Wrap(cc grpc.ClientConnInterface, b *Breaker) *Conn { return &Conn{cc: cc, b: b} }

// Invoke performs a unary call unless the breaker rejects it.
func (c *Conn) Invoke(ctx context.Context, method string, args, reply any, opts ...grpc.CallOption) error {
	t, err := c.b.allow()
	if err != nil {
		return err
	}
	err = c.cc.Invoke(ctx, method, args, reply, opts...)
	t.Done(err)
	return err
}

// NewStream opens a stream unless the breaker rejects it.
func (c *Conn) NewStream(ctx context.Context, desc *grpc.StreamDesc, method string, opts ...grpc.CallOption) (grpc.ClientStream, error) {
	return newStream(ctx, c.b, desc, method, opts, c.cc.NewStream)
}

func newStream(ctx context.Context, b *Breaker, desc *grpc.StreamDesc, method string, opts []grpc.CallOption,
	open func(context.Context, *grpc.StreamDesc, string, ...grpc.CallOption) (grpc.ClientStream, error)) (grpc.ClientStream, error) {
	t, err := b.allow()
	if err != nil {
		return nil, err
	}
	cs, err := open(ctx, desc, method, opts...)
	if err != nil {
		t.Done(err)
		return nil, err
	}
	s := &stream{ClientStream: cs, t: t, single: !desc.ServerStreams}
	s.stop = context.AfterFunc(ctx, func() { s.end(status.FromContextError(ctx.Err()).Err(), false) })
	return s, nil
}

// stream reports its outcome to the breaker once, when it ends.
type stream struct {
	grpc.ClientStream
	t      ticket
	single bool
	done   atomic.Bool
	stop   func() bool
}

func (s *stream) finish(err error) { s.end(err, true) }

// end reports err once; stopWatch removes the context watch (not needed when
// the watch itself is reporting).
func (s *stream) end(err error, stopWatch bool) {
	if s.done.Swap(true) {
		return
	}
	if stopWatch {
		s.stop()
	}
	s.t.Done(err)
}

func (s *stream) RecvMsg(m any) error {
	err := s.ClientStream.RecvMsg(m)
	switch {
	case err == nil && s.single:
		s.finish(nil)
	case errors.Is(err, io.EOF):
		s.finish(nil)
	case err != nil:
		s.finish(err)
	}
	return err
}

// UnaryClientInterceptor returns an interceptor guarding unary calls with b.
func UnaryClientInterceptor(b *Breaker) grpc.UnaryClientInterceptor {
	return func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
		t, err := b.allow()
		if err != nil {
			return err
		}
		err = invoker(ctx, method, req, reply, cc, opts...)
		t.Done(err)
		return err
	}
}

// StreamClientInterceptor returns an interceptor guarding streams with b.
func StreamClientInterceptor(b *Breaker) grpc.StreamClientInterceptor {
	return func(ctx context.Context, desc *grpc.StreamDesc, cc *grpc.ClientConn, method string, streamer grpc.Streamer, opts ...grpc.CallOption) (grpc.ClientStream, error) {
		return newStream(ctx, b, desc, method, opts, func(ctx context.Context, desc *grpc.StreamDesc, method string, opts ...grpc.CallOption) (grpc.ClientStream, error) {
			return streamer(ctx, desc, cc, method, opts...)
		})
	}
}
