package client

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"

	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"

	"github.com/grpcbench/grpcbench/methods"
)

// Client calls any gRPC method over a grpc.ClientConnInterface. It is safe
// for concurrent use; its options are fixed when it is made.
//
// Requests and replies are proto.Message values (generated or dynamicpb) or
// the client's own *Payload (bytes encoded once, sent as they are) and
// *Reply (a reply counted and, when it holds a message, decoded). Every call
// uses the client's codec, which is gRPC's proto codec for proto.Message
// values, so the wire format is always application/grpc+proto.
//
// RPC failures are returned as the status errors grpc-go produces (use
// status.Code or Classify on them). Errors returned by a callback are wrapped
// with the method name and can be found with errors.Is / errors.As.
type Client struct {
	cc   grpc.ClientConnInterface
	opts CallOptions
	c    compiled
}

// New returns a client over cc with the zero CallOptions. Use With to set
// options.
func New(cc grpc.ClientConnInterface) *Client {
	return &Client{cc: cc, c: CallOptions{}.compile()}
}

// With returns a client over the same connection whose calls use o. It
// validates o and converts it once into gRPC call options.
func (c *Client) With(o CallOptions) (*Client, error) {
	if err := o.Validate(); err != nil {
		return nil, fmt.Errorf("client: call options: %w", err)
	}
	o.Metadata = maps.Clone(o.Metadata)
	return &Client{cc: c.cc, opts: o, c: o.compile()}, nil
}

// Options returns the options the client's calls use.
func (c *Client) Options() CallOptions {
	o := c.opts
	o.Metadata = maps.Clone(o.Metadata)
	return o
}

// CallOptions returns the gRPC call options every call passes, starting with
// grpc.StaticMethod() and the client's codec. The slice is shared: do not
// modify it.
func (c *Client) CallOptions() []grpc.CallOption { return c.c.opts }

// unaryContext adds the configured metadata and deadline to ctx. cancel is
// nil when no deadline is configured, so no timer is made.
func (c *Client) unaryContext(ctx context.Context) (context.Context, context.CancelFunc) {
	if c.c.mdPairs != nil {
		ctx = metadata.AppendToOutgoingContext(ctx, c.c.mdPairs...)
	}
	if c.c.timeout > 0 {
		return context.WithTimeout(ctx, c.c.timeout)
	}
	return ctx, nil
}

// streamContext is like unaryContext but always returns a cancel function:
// cancelling a stream's context is what guarantees it ends on every path.
func (c *Client) streamContext(ctx context.Context) (context.Context, context.CancelFunc) {
	if c.c.mdPairs != nil {
		ctx = metadata.AppendToOutgoingContext(ctx, c.c.mdPairs...)
	}
	if c.c.timeout > 0 {
		return context.WithTimeout(ctx, c.c.timeout)
	}
	return context.WithCancel(ctx)
}

// errKind is returned when a helper is used with a method of another kind.
func errKind(m *methods.Method, want methods.Kind) error {
	return fmt.Errorf("client: %s is %s, not %s", m.Name(), m.Kind(), want)
}

// Unary calls a unary method: req is sent, the response is read into reply.
// req is only read, so a caller may reuse it once Unary has returned.
func (c *Client) Unary(ctx context.Context, m *methods.Method, req, reply any) error {
	if m.Kind() != methods.Unary {
		return errKind(m, methods.Unary)
	}
	ctx, cancel := c.unaryContext(ctx)
	err := c.cc.Invoke(ctx, m.FullMethod(), req, reply, c.c.opts...)
	if cancel != nil {
		cancel()
	}
	return err
}

// ServerStream calls a server-streaming method: req is sent, then every
// response is read into reply and onMsg(i) is called with its index. It
// returns the number of responses and nil once the server has ended the
// stream with OK.
//
// onMsg runs on the calling goroutine right after each receive and before
// the next, so the time of its first call is the time to first message.
// reply is reused for every message: onMsg must not keep what it holds. If
// onMsg returns an error, the stream is cancelled and ServerStream returns
// that error wrapped. onMsg may be nil.
func (c *Client) ServerStream(ctx context.Context, m *methods.Method, req, reply any, onMsg func(i int) error) (int, error) {
	if m.Kind() != methods.ServerStream {
		return 0, errKind(m, methods.ServerStream)
	}
	ctx, cancel := c.streamContext(ctx)
	defer cancel()
	s, err := c.cc.NewStream(ctx, m.StreamDesc(), m.FullMethod(), c.c.opts...)
	if err != nil {
		return 0, err
	}
	// io.EOF from SendMsg means the stream already ended; RecvMsg below
	// returns its status.
	if err := s.SendMsg(req); err != nil && !errors.Is(err, io.EOF) {
		return 0, err
	}
	if err := s.CloseSend(); err != nil {
		return 0, err
	}
	n := 0
	for {
		if err := s.RecvMsg(reply); err != nil {
			if errors.Is(err, io.EOF) {
				return n, nil
			}
			return n, err
		}
		n++
		if onMsg != nil {
			if err := onMsg(n - 1); err != nil {
				return n, fmt.Errorf("client: %s: callback on message %d: %w", m.Short(), n, err)
			}
		}
	}
}

// ClientStream calls a client-streaming method with n requests, each
// next(i) for i = 0..n-1, and reads the server's reply. It returns the number
// of requests sent.
//
// next runs right before each send; the value it returns is only read
// during the send, so it may be reused. (gRPC encodes a message inside
// SendMsg; a ClientConnInterface layer that keeps sent messages must copy
// them.) If the server ends the stream before all n requests are sent,
// ClientStream returns the server's status, or an error saying how many were
// sent when the server ended it with OK.
func (c *Client) ClientStream(ctx context.Context, m *methods.Method, n int, next func(i int) any, reply any) (int, error) {
	if m.Kind() != methods.ClientStream {
		return 0, errKind(m, methods.ClientStream)
	}
	ctx, cancel := c.streamContext(ctx)
	defer cancel()
	s, err := c.cc.NewStream(ctx, m.StreamDesc(), m.FullMethod(), c.c.opts...)
	if err != nil {
		return 0, err
	}
	sent := 0
	for ; sent < n; sent++ {
		if err := s.SendMsg(next(sent)); err != nil {
			if errors.Is(err, io.EOF) {
				break // the stream ended; RecvMsg returns why
			}
			return sent, err
		}
	}
	if err := s.CloseSend(); err != nil {
		return sent, err
	}
	// For a client-streaming method RecvMsg also reads the end of the
	// stream, so the stream is finished when it returns.
	if err := s.RecvMsg(reply); err != nil {
		return sent, err
	}
	if sent < n {
		return sent, fmt.Errorf("client: %s: server ended the stream after %d of %d requests", m.Short(), sent, n)
	}
	return sent, nil
}

// Bidi calls a bidirectional-streaming method in lock step: for i = 0..n-1
// it sends next(i), waits for one reply (read into reply) and calls
// onReply(i). Then it closes its side and reads the stream to its end. It
// returns the number of replies received.
//
// next runs right before the send and onReply right after the reply, both
// on the calling goroutine, so the time between them is the message's round
// trip. A server that answers a request with more than one message, or
// with none, breaks the lock step: the extra replies are read by later
// receives and the call ends with an error saying so. onReply may be nil;
// if it returns an error, the stream is cancelled and Bidi returns that
// error wrapped.
func (c *Client) Bidi(ctx context.Context, m *methods.Method, n int, next func(i int) any, reply any, onReply func(i int) error) (int, error) {
	if m.Kind() != methods.Bidi {
		return 0, errKind(m, methods.Bidi)
	}
	ctx, cancel := c.streamContext(ctx)
	defer cancel()
	s, err := c.cc.NewStream(ctx, m.StreamDesc(), m.FullMethod(), c.c.opts...)
	if err != nil {
		return 0, err
	}
	for i := 0; i < n; i++ {
		if err := s.SendMsg(next(i)); err != nil {
			if !errors.Is(err, io.EOF) {
				return i, err
			}
			// The stream ended: fall through to RecvMsg for its status.
		}
		if err := s.RecvMsg(reply); err != nil {
			if errors.Is(err, io.EOF) {
				return i, fmt.Errorf("client: %s: server ended the stream after %d of %d replies", m.Short(), i, n)
			}
			return i, err
		}
		if onReply != nil {
			if err := onReply(i); err != nil {
				return i + 1, fmt.Errorf("client: %s: callback on reply %d: %w", m.Short(), i, err)
			}
		}
	}
	if err := s.CloseSend(); err != nil {
		return n, err
	}
	switch err := s.RecvMsg(reply); {
	case errors.Is(err, io.EOF):
		return n, nil
	case err == nil:
		return n, fmt.Errorf("client: %s: server sent more than %d replies", m.Short(), n)
	default:
		return n, err
	}
}
