package client

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"

	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"

	"github.com/grpcbench/grpcbench/proto/userpb"
)

// Stream descriptions of UserService, looked up once by name.
var (
	listUsersDesc        = streamDesc("ListUsers")
	batchCreateUsersDesc = streamDesc("BatchCreateUsers")
	syncUsersDesc        = streamDesc("SyncUsers")
)

func streamDesc(name string) *grpc.StreamDesc {
	for i := range userpb.UserService_ServiceDesc.Streams {
		if userpb.UserService_ServiceDesc.Streams[i].StreamName == name {
			return &userpb.UserService_ServiceDesc.Streams[i]
		}
	}
	panic("client: UserService has no stream " + name)
}

// Client is a typed UserService client over a grpc.ClientConnInterface.
// It is safe for concurrent use; its options are fixed when it is made.
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

// Conn returns the connection the client calls through.
func (c *Client) Conn() grpc.ClientConnInterface { return c.cc }

// CallOptions returns the gRPC call options every call passes, starting with
// grpc.StaticMethod(). The slice is shared: do not modify it.
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

// CreateUser calls the unary CreateUser method and returns the created user.
// req is only read, so a caller may reuse it for its next call once
// CreateUser has returned.
func (c *Client) CreateUser(ctx context.Context, req *userpb.CreateUserRequest) (*userpb.User, error) {
	ctx, cancel := c.unaryContext(ctx)
	resp := new(userpb.CreateUserResponse)
	err := c.cc.Invoke(ctx, userpb.UserService_CreateUser_FullMethodName, req, resp, c.c.opts...)
	if cancel != nil {
		cancel()
	}
	if err != nil {
		return nil, err
	}
	return resp.GetUser(), nil
}

// GetUser calls the unary GetUser method and returns the user. req is only
// read, so a caller may reuse it for its next call once GetUser has returned.
func (c *Client) GetUser(ctx context.Context, req *userpb.GetUserRequest) (*userpb.User, error) {
	ctx, cancel := c.unaryContext(ctx)
	resp := new(userpb.GetUserResponse)
	err := c.cc.Invoke(ctx, userpb.UserService_GetUser_FullMethodName, req, resp, c.c.opts...)
	if cancel != nil {
		cancel()
	}
	if err != nil {
		return nil, err
	}
	return resp.GetUser(), nil
}

// ListUsers calls the server-streaming ListUsers method and calls onUser for
// every user received. It returns the number of users received and nil once
// the server has ended the stream with OK.
//
// onUser runs on the calling goroutine immediately after each message is
// received and before the next receive, so the time of its first call is the
// time to first message. The *User it gets is reused for the next message:
// onUser must not keep it (copy it with proto.Clone to keep it). If onUser
// returns an error, the stream is cancelled and ListUsers returns that error
// wrapped. onUser may be nil.
func (c *Client) ListUsers(ctx context.Context, req *userpb.ListUsersRequest, onUser func(*userpb.User) error) (int, error) {
	ctx, cancel := c.streamContext(ctx)
	defer cancel()
	s, err := c.cc.NewStream(ctx, listUsersDesc, userpb.UserService_ListUsers_FullMethodName, c.c.opts...)
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
	u := new(userpb.User)
	n := 0
	for {
		if err := s.RecvMsg(u); err != nil {
			if errors.Is(err, io.EOF) {
				return n, nil
			}
			return n, err
		}
		n++
		if onUser != nil {
			if err := onUser(u); err != nil {
				return n, fmt.Errorf("client: ListUsers: callback on message %d: %w", n, err)
			}
		}
	}
}

// BatchCreateUsers calls the client-streaming BatchCreateUsers method with n
// requests and returns the server's reply.
//
// fill is called before each send with the index (0..n-1) and the request to
// send. The same request message is reused for every send and still holds
// what the previous fill set: fill overwrites the fields it needs. (gRPC
// encodes a message inside SendMsg, so reuse is safe; a ClientConnInterface
// layer that keeps sent messages must copy them.) fill may be nil, which
// sends empty requests.
//
// If the server ends the stream before all n requests are sent,
// BatchCreateUsers returns the server's status, or an error saying how many
// were sent when the server ended it with OK.
func (c *Client) BatchCreateUsers(ctx context.Context, n int, fill func(i int, req *userpb.CreateUserRequest)) (*userpb.BatchCreateUsersResponse, error) {
	ctx, cancel := c.streamContext(ctx)
	defer cancel()
	s, err := c.cc.NewStream(ctx, batchCreateUsersDesc, userpb.UserService_BatchCreateUsers_FullMethodName, c.c.opts...)
	if err != nil {
		return nil, err
	}
	req := new(userpb.CreateUserRequest)
	sent := 0
	for ; sent < n; sent++ {
		if fill != nil {
			fill(sent, req)
		}
		if err := s.SendMsg(req); err != nil {
			if errors.Is(err, io.EOF) {
				break // the stream ended; RecvMsg returns why
			}
			return nil, err
		}
	}
	if err := s.CloseSend(); err != nil {
		return nil, err
	}
	resp := new(userpb.BatchCreateUsersResponse)
	// For a client-streaming method RecvMsg also reads the end of the
	// stream, so the stream is finished when it returns.
	if err := s.RecvMsg(resp); err != nil {
		return nil, err
	}
	if sent < n {
		return resp, fmt.Errorf("client: BatchCreateUsers: server ended the stream after %d of %d requests", sent, n)
	}
	return resp, nil
}

// SyncUsers calls the bidirectional SyncUsers method in lock step: for
// i = 0..n-1 it calls fill(i, req), sends req, waits for one reply and calls
// onReply(i, reply). Then it closes its side and reads the stream to its end.
// It returns the number of replies received.
//
// fill runs immediately before the send and onReply immediately after the
// reply is received, both on the calling goroutine, so the time between them
// is the message's round trip. The request and reply messages are reused
// for every exchange (see BatchCreateUsers for what that means for fill);
// onReply must not keep the reply. fill and onReply may be nil. If onReply
// returns an error, the stream is cancelled and SyncUsers returns that error
// wrapped.
func (c *Client) SyncUsers(ctx context.Context, n int, fill func(i int, req *userpb.SyncUserRequest), onReply func(i int, reply *userpb.SyncUserResponse) error) (int, error) {
	ctx, cancel := c.streamContext(ctx)
	defer cancel()
	s, err := c.cc.NewStream(ctx, syncUsersDesc, userpb.UserService_SyncUsers_FullMethodName, c.c.opts...)
	if err != nil {
		return 0, err
	}
	req := new(userpb.SyncUserRequest)
	reply := new(userpb.SyncUserResponse)
	for i := 0; i < n; i++ {
		if fill != nil {
			fill(i, req)
		}
		if err := s.SendMsg(req); err != nil {
			if !errors.Is(err, io.EOF) {
				return i, err
			}
			// The stream ended: fall through to RecvMsg for its status.
		}
		if err := s.RecvMsg(reply); err != nil {
			if errors.Is(err, io.EOF) {
				return i, fmt.Errorf("client: SyncUsers: server ended the stream after %d of %d replies", i, n)
			}
			return i, err
		}
		if onReply != nil {
			if err := onReply(i, reply); err != nil {
				return i + 1, fmt.Errorf("client: SyncUsers: callback on reply %d: %w", i, err)
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
		return n, fmt.Errorf("client: SyncUsers: server sent more than %d replies", n)
	default:
		return n, err
	}
}
