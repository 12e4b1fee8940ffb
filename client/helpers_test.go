package client_test

import (
	"context"
	"io"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"
	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/stats"

	"github.com/grpcbench/grpcbench/internal/testserver"
	"github.com/grpcbench/grpcbench/internal/testutil"
	"github.com/grpcbench/grpcbench/proto/userpb"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// seen is what the recording server observed of one call.
type seen struct {
	md          metadata.MD
	hasDeadline bool
	compression string
}

// recorder is a small in-test UserService over bufconn that records the
// metadata, deadline and request compression of every call.
type recorder struct {
	userpb.UnimplementedUserServiceServer

	mu    sync.Mutex
	calls []seen
	// compression of the last InHeader seen by the stats handler.
	compression atomic.Value
	// streamsEnded counts server-side stream handlers that returned.
	streamsEnded atomic.Int64
}

func (r *recorder) record(ctx context.Context) {
	md, _ := metadata.FromIncomingContext(ctx)
	_, dl := ctx.Deadline()
	c, _ := r.compression.Load().(string)
	r.mu.Lock()
	r.calls = append(r.calls, seen{md: md, hasDeadline: dl, compression: c})
	r.mu.Unlock()
}

func (r *recorder) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.calls)
}

func (r *recorder) last(t *testing.T) seen {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.calls) == 0 {
		t.Fatal("the server saw no call")
	}
	return r.calls[len(r.calls)-1]
}

func (r *recorder) GetUser(ctx context.Context, req *userpb.GetUserRequest) (*userpb.GetUserResponse, error) {
	r.record(ctx)
	return &userpb.GetUserResponse{User: &userpb.User{Id: req.GetUserId(), Padding: make([]byte, req.GetResponsePadding())}}, nil
}

func (r *recorder) CreateUser(ctx context.Context, req *userpb.CreateUserRequest) (*userpb.CreateUserResponse, error) {
	r.record(ctx)
	return &userpb.CreateUserResponse{User: &userpb.User{Id: "u1", Username: req.GetUsername()}}, nil
}

// ListUsers sends page_size users, or streams until the client goes away
// when page_size is negative.
func (r *recorder) ListUsers(req *userpb.ListUsersRequest, s grpc.ServerStreamingServer[userpb.User]) error {
	defer r.streamsEnded.Add(1)
	r.record(s.Context())
	for i := int32(0); req.GetPageSize() < 0 || i < req.GetPageSize(); i++ {
		if err := s.Send(&userpb.User{Id: "u"}); err != nil {
			return err
		}
		if req.GetPageSize() < 0 {
			time.Sleep(time.Millisecond)
		}
	}
	return nil
}

func (r *recorder) BatchCreateUsers(s grpc.ClientStreamingServer[userpb.CreateUserRequest, userpb.BatchCreateUsersResponse]) error {
	defer r.streamsEnded.Add(1)
	r.record(s.Context())
	var n int32
	for {
		_, err := s.Recv()
		if err == io.EOF {
			return s.SendAndClose(&userpb.BatchCreateUsersResponse{Created: n})
		}
		if err != nil {
			return err
		}
		n++
	}
}

// SyncUsers echoes; a request with seq < 0 makes it send two replies.
func (r *recorder) SyncUsers(s grpc.BidiStreamingServer[userpb.SyncUserRequest, userpb.SyncUserResponse]) error {
	defer r.streamsEnded.Add(1)
	r.record(s.Context())
	for {
		req, err := s.Recv()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		if err := s.Send(&userpb.SyncUserResponse{Seq: req.GetSeq()}); err != nil {
			return err
		}
		if req.GetSeq() < 0 {
			if err := s.Send(&userpb.SyncUserResponse{Seq: req.GetSeq()}); err != nil {
				return err
			}
		}
	}
}

// recStats records the compression of incoming request headers.
type recStats struct{ r *recorder }

func (h recStats) TagRPC(ctx context.Context, _ *stats.RPCTagInfo) context.Context { return ctx }
func (h recStats) HandleRPC(_ context.Context, s stats.RPCStats) {
	if in, ok := s.(*stats.InHeader); ok {
		h.r.compression.Store(in.Compression)
	}
}
func (h recStats) TagConn(ctx context.Context, _ *stats.ConnTagInfo) context.Context { return ctx }
func (h recStats) HandleConn(context.Context, stats.ConnStats)                       {}

// startRecorder serves a recorder over bufconn and returns it with a client
// connection to it.
func startRecorder(t testing.TB) (*recorder, *grpc.ClientConn) {
	t.Helper()
	r := &recorder{}
	srv := grpc.NewServer(grpc.StatsHandler(recStats{r}))
	userpb.RegisterUserServiceServer(srv, r)
	return r, testserver.ServeBufconn(t, srv)
}

// tracker is a ClientConnInterface that records whether every stream it
// opened has ended: RecvMsg returned an error, or the stream's context is
// done.
type tracker struct {
	grpc.ClientConnInterface
	opened atomic.Int64
	ended  atomic.Int64
}

func (tr *tracker) NewStream(ctx context.Context, desc *grpc.StreamDesc, method string, opts ...grpc.CallOption) (grpc.ClientStream, error) {
	s, err := tr.ClientConnInterface.NewStream(ctx, desc, method, opts...)
	if err != nil {
		return nil, err
	}
	tr.opened.Add(1)
	ts := &trackedStream{ClientStream: s, tr: tr, desc: desc}
	ts.stop = context.AfterFunc(ctx, ts.end)
	return ts, nil
}

type trackedStream struct {
	grpc.ClientStream
	tr   *tracker
	desc *grpc.StreamDesc
	once sync.Once
	stop func() bool
}

func (s *trackedStream) end() { s.once.Do(func() { s.tr.ended.Add(1) }) }

func (s *trackedStream) RecvMsg(m any) error {
	err := s.ClientStream.RecvMsg(m)
	if err != nil || !s.desc.ServerStreams {
		s.end()
	}
	return err
}

// waitEnded waits (at most 2 s, for AfterFunc callbacks) until every
// stream the tracker opened has ended.
func (tr *tracker) waitEnded(t testing.TB) {
	t.Helper()
	testutil.Eventually(t, 2*time.Second, "every opened stream to end", func() bool { return tr.ended.Load() == tr.opened.Load() })
}
