package client_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/grpcbench/grpcbench/client"
	"github.com/grpcbench/grpcbench/fakeserver"
	"github.com/grpcbench/grpcbench/internal/testserver"
	"github.com/grpcbench/grpcbench/internal/testutil"
	"github.com/grpcbench/grpcbench/proto/userpb"
)

func TestUnaryAgainstFakeServer(t *testing.T) {
	cl, cc := testserver.FakeConn(t, fakeserver.Config{Seed: 1})
	c := client.New(cc)
	ctx := context.Background()

	u, err := createUser(ctx, c, &userpb.CreateUserRequest{Username: "ada", Email: "ada@example.test"})
	if err != nil {
		t.Fatalf("CreateUser: %v", err)
	}
	if u.GetUsername() != "ada" || u.GetId() == "" {
		t.Fatalf("CreateUser returned %v, want username ada and an id", u)
	}
	got, err := getUser(ctx, c, &userpb.GetUserRequest{UserId: u.GetId(), ResponsePadding: 100})
	if err != nil {
		t.Fatalf("GetUser: %v", err)
	}
	if got.GetId() != u.GetId() || len(got.GetPadding()) != 100 {
		t.Fatalf("GetUser returned id %q with %d padding bytes, want %q with 100", got.GetId(), len(got.GetPadding()), u.GetId())
	}
	_, err = getUser(ctx, c, &userpb.GetUserRequest{})
	if client.Classify(err) != client.ClientError {
		t.Fatalf("GetUser without id: err %v classified %v, want client_error", err, client.Classify(err))
	}
	st := cl.Stats().Backends[0]
	if st.Calls["CreateUser"] != 1 || st.Calls["GetUser"] != 2 {
		t.Fatalf("server calls = %v, want CreateUser 1, GetUser 2", st.Calls)
	}
}

func TestStreamsAgainstFakeServer(t *testing.T) {
	cl, cc := testserver.FakeConn(t, fakeserver.Config{Seed: 1})
	c := client.New(cc)
	ctx := context.Background()

	t.Run("ListUsers", func(t *testing.T) {
		var ids []string
		var ptrs = map[*userpb.User]bool{}
		n, err := listUsers(ctx, c, &userpb.ListUsersRequest{PageSize: 25}, func(u *userpb.User) error {
			ids = append(ids, u.GetId())
			ptrs[u] = true
			return nil
		})
		if err != nil || n != 25 || len(ids) != 25 {
			t.Fatalf("ListUsers = %d, %v with %d callbacks; want 25, nil, 25", n, err, len(ids))
		}
		if ids[0] == ids[1] {
			t.Fatalf("callbacks saw the same user twice: %q", ids[0])
		}
		if len(ptrs) != 1 {
			t.Fatalf("callbacks got %d distinct *User, want 1 reused message", len(ptrs))
		}
	})
	t.Run("BatchCreateUsers", func(t *testing.T) {
		var filled []int
		resp, err := batchCreateUsers(ctx, c, 20, func(i int, req *userpb.CreateUserRequest) {
			filled = append(filled, i)
			req.Username = fmt.Sprintf("batch%d", i)
		})
		if err != nil {
			t.Fatalf("BatchCreateUsers: %v", err)
		}
		if resp.GetCreated() != 20 || len(filled) != 20 || filled[19] != 19 {
			t.Fatalf("created %d with fill calls %v, want 20 and 0..19", resp.GetCreated(), filled)
		}
	})
	t.Run("SyncUsers", func(t *testing.T) {
		var seqs []int64
		n, err := syncUsers(ctx, c, 15,
			func(i int, req *userpb.SyncUserRequest) { req.Seq = int64(100 + i); req.UserId = "u-1" },
			func(i int, reply *userpb.SyncUserResponse) error {
				if reply.GetSeq() != int64(100+i) {
					return fmt.Errorf("reply %d has seq %d", i, reply.GetSeq())
				}
				seqs = append(seqs, reply.GetSeq())
				return nil
			})
		if err != nil || n != 15 || len(seqs) != 15 {
			t.Fatalf("SyncUsers = %d, %v with %d replies; want 15, nil, 15", n, err, len(seqs))
		}
	})
	st := cl.Stats().Backends[0]
	want := map[string]int64{"ListUsers": 25, "BatchCreateUsers": 1, "SyncUsers": 15}
	for m, w := range want {
		if got := st.MessagesOut[m]; got != w {
			t.Errorf("server MessagesOut[%s] = %d, want %d", m, got, w)
		}
	}
	if got := st.MessagesIn["BatchCreateUsers"]; got != 20 {
		t.Errorf("server MessagesIn[BatchCreateUsers] = %d, want 20", got)
	}
	if got := st.Codes["OK"]; got != 3 {
		t.Errorf("server OK calls = %d, want 3 (codes %v)", got, st.Codes)
	}
}

// TestStreamFaults drives the helpers into server-side failures and checks
// the error is the server's status and the stream ended on both sides.
func TestStreamFaults(t *testing.T) {
	cl, cc := testserver.FakeConn(t, fakeserver.Config{Seed: 1, Faults: []fakeserver.Fault{
		{Method: fakeserver.MethodList{"ListUsers", "SyncUsers", "BatchCreateUsers"}, Abort: &fakeserver.Abort{After: 3, Code: codes.Aborted}},
	}})
	tr := &tracker{ClientConnInterface: cc}
	c := client.New(tr)
	ctx := context.Background()

	n, err := listUsers(ctx, c, &userpb.ListUsersRequest{PageSize: 10}, nil)
	if status.Code(err) != codes.Aborted || n != 3 {
		t.Errorf("ListUsers = %d, %v; want 3, ABORTED", n, err)
	}
	n, err = syncUsers(ctx, c, 10, nil, nil)
	if status.Code(err) != codes.Aborted || n != 3 {
		t.Errorf("SyncUsers = %d, %v; want 3, ABORTED", n, err)
	}
	_, err = batchCreateUsers(ctx, c, 10, nil)
	if status.Code(err) != codes.Aborted {
		t.Errorf("BatchCreateUsers err = %v, want ABORTED", err)
	}
	if client.Classify(err) != client.Retryable {
		t.Errorf("Classify(%v) = %v, want retryable", err, client.Classify(err))
	}
	tr.waitEnded(t)
	if got := cl.Stats().Fault("abort/ABORTED"); got != 3 {
		t.Errorf("server aborts = %d, want 3", got)
	}
}

// TestStreamsEndOnEveryPath checks that each way out of a stream helper
// ends the stream: the server's handler returns.
func TestStreamsEndOnEveryPath(t *testing.T) {
	r, cc := startRecorder(t)
	stop := errors.New("stop")
	tests := []struct {
		name    string
		ctxFor  func() (context.Context, context.CancelFunc)
		run     func(ctx context.Context, c *client.Client) error
		wantErr func(error) bool
	}{
		{
			name: "ListUsers callback error",
			run: func(ctx context.Context, c *client.Client) error {
				_, err := listUsers(ctx, c, &userpb.ListUsersRequest{PageSize: -1}, func(*userpb.User) error { return stop })
				return err
			},
			wantErr: func(err error) bool { return errors.Is(err, stop) },
		},
		{
			name: "ListUsers context cancelled",
			ctxFor: func() (context.Context, context.CancelFunc) {
				return context.WithTimeout(context.Background(), 50*time.Millisecond)
			},
			run: func(ctx context.Context, c *client.Client) error {
				_, err := listUsers(ctx, c, &userpb.ListUsersRequest{PageSize: -1}, nil)
				return err
			},
			wantErr: func(err error) bool { return client.Classify(err) == client.Deadline },
		},
		{
			name: "SyncUsers reply callback error",
			run: func(ctx context.Context, c *client.Client) error {
				_, err := syncUsers(ctx, c, 10, nil, func(i int, _ *userpb.SyncUserResponse) error {
					if i == 2 {
						return stop
					}
					return nil
				})
				return err
			},
			wantErr: func(err error) bool { return errors.Is(err, stop) },
		},
		{
			name: "SyncUsers extra reply",
			run: func(ctx context.Context, c *client.Client) error {
				_, err := syncUsers(ctx, c, 2, func(i int, req *userpb.SyncUserRequest) { req.Seq = int64(i - 1) }, nil)
				return err
			},
			wantErr: func(err error) bool { return err != nil },
		},
		{
			name: "SyncUsers success",
			run: func(ctx context.Context, c *client.Client) error {
				_, err := syncUsers(ctx, c, 3, func(i int, req *userpb.SyncUserRequest) { req.Seq = int64(i) }, nil)
				return err
			},
			wantErr: func(err error) bool { return err == nil },
		},
		{
			name:   "BatchCreateUsers context cancelled while sending",
			ctxFor: func() (context.Context, context.CancelFunc) { return context.WithCancel(context.Background()) },
			run: func(ctx context.Context, c *client.Client) error {
				_, err := batchCreateUsers(ctx, c, 1000, func(i int, _ *userpb.CreateUserRequest) {
					if i == 5 {
						cancelFrom(ctx)()
					}
				})
				return err
			},
			wantErr: func(err error) bool { return client.Classify(err) == client.Cancelled },
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.Background(), context.CancelFunc(func() {})
			if tt.ctxFor != nil {
				ctx, cancel = tt.ctxFor()
			}
			defer cancel()
			ctx = withCancelFunc(ctx, cancel)
			before := r.streamsEnded.Load()
			tr := &tracker{ClientConnInterface: cc}
			err := tt.run(ctx, client.New(tr))
			if !tt.wantErr(err) {
				t.Fatalf("unexpected error %v", err)
			}
			tr.waitEnded(t)
			testutil.Eventually(t, 5*time.Second, "the server handler to return (else the stream leaked)", func() bool { return r.streamsEnded.Load() != before })
		})
	}
}

type cancelKey struct{}

func withCancelFunc(ctx context.Context, cancel context.CancelFunc) context.Context {
	return context.WithValue(ctx, cancelKey{}, cancel)
}

func cancelFrom(ctx context.Context) context.CancelFunc {
	return ctx.Value(cancelKey{}).(context.CancelFunc)
}

// TestCallOptionsOnTheWire checks each option where the server (or the
// transport) can see it.
func TestCallOptionsOnTheWire(t *testing.T) {
	r, cc := startRecorder(t)
	ctx := context.Background()

	t.Run("zero options", func(t *testing.T) {
		if _, err := getUser(ctx, client.New(cc), &userpb.GetUserRequest{UserId: "a"}); err != nil {
			t.Fatal(err)
		}
		s := r.last(t)
		if s.hasDeadline || s.compression != "" || len(s.md.Get("x-tenant")) != 0 {
			t.Fatalf("server saw deadline=%v compression=%q md=%v, want none", s.hasDeadline, s.compression, s.md)
		}
	})
	t.Run("timeout metadata gzip", func(t *testing.T) {
		c, err := client.New(cc).With(client.CallOptions{
			Timeout: 5 * time.Second, Compression: "gzip",
			Metadata: map[string]string{"X-Tenant": "bench", "trace-bin": "\x00\x01"},
		})
		if err != nil {
			t.Fatal(err)
		}
		// Metadata already in the context must be kept.
		octx := metadata.AppendToOutgoingContext(ctx, "x-key", "k1")
		for _, call := range []func() error{
			func() error { _, err := getUser(octx, c, &userpb.GetUserRequest{UserId: "a"}); return err },
			func() error { _, err := createUser(octx, c, &userpb.CreateUserRequest{}); return err },
			func() error { _, err := listUsers(octx, c, &userpb.ListUsersRequest{PageSize: 1}, nil); return err },
			func() error { _, err := batchCreateUsers(octx, c, 1, nil); return err },
			func() error { _, err := syncUsers(octx, c, 1, nil, nil); return err },
		} {
			if err := call(); err != nil {
				t.Fatal(err)
			}
			s := r.last(t)
			if !s.hasDeadline {
				t.Error("server saw no deadline")
			}
			if s.compression != "gzip" {
				t.Errorf("server saw compression %q, want gzip", s.compression)
			}
			if got := s.md.Get("x-tenant"); len(got) != 1 || got[0] != "bench" {
				t.Errorf("server saw x-tenant %v, want [bench]", got)
			}
			if got := s.md.Get("trace-bin"); len(got) != 1 || got[0] != "\x00\x01" {
				t.Errorf("server saw trace-bin %q, want [\\x00\\x01]", got)
			}
			if got := s.md.Get("x-key"); len(got) != 1 || got[0] != "k1" {
				t.Errorf("server saw x-key %v, want the caller's [k1]", got)
			}
		}
	})
	t.Run("max recv size", func(t *testing.T) {
		c, err := client.New(cc).With(client.CallOptions{MaxRecvMsgSize: 1000})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := getUser(ctx, c, &userpb.GetUserRequest{UserId: "a", ResponsePadding: 100}); err != nil {
			t.Fatalf("small response: %v", err)
		}
		_, err = getUser(ctx, c, &userpb.GetUserRequest{UserId: "a", ResponsePadding: 2000})
		if status.Code(err) != codes.ResourceExhausted {
			t.Fatalf("large response: err %v, want RESOURCE_EXHAUSTED", err)
		}
	})
	t.Run("max send size", func(t *testing.T) {
		c, err := client.New(cc).With(client.CallOptions{MaxSendMsgSize: 1000})
		if err != nil {
			t.Fatal(err)
		}
		n := r.count()
		_, err = getUser(ctx, c, &userpb.GetUserRequest{UserId: "a", Padding: make([]byte, 2000)})
		if status.Code(err) != codes.ResourceExhausted {
			t.Fatalf("large request: err %v, want RESOURCE_EXHAUSTED", err)
		}
		if r.count() != n {
			t.Fatal("the oversized request reached the server")
		}
	})
}

// TestWaitForReady compares fail-fast and wait-for-ready on a target where
// nothing listens.
func TestWaitForReady(t *testing.T) {
	cc := testserver.Dial(t, testserver.ClosedAddr(t))
	tests := []struct {
		name string
		wfr  bool
		want codes.Code
	}{
		{"fail fast", false, codes.Unavailable},
		{"wait for ready", true, codes.DeadlineExceeded},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := client.New(cc).With(client.CallOptions{Timeout: 300 * time.Millisecond, WaitForReady: tt.wfr})
			if err != nil {
				t.Fatal(err)
			}
			_, err = getUser(context.Background(), c, &userpb.GetUserRequest{UserId: "a"})
			if status.Code(err) != tt.want {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestWithDoesNotAliasMetadata(t *testing.T) {
	md := map[string]string{"a": "1"}
	c, err := client.New(nil).With(client.CallOptions{Metadata: md})
	if err != nil {
		t.Fatal(err)
	}
	md["a"] = "2"
	if got := c.Options().Metadata["a"]; got != "1" {
		t.Fatalf("options metadata changed with the caller's map: %q", got)
	}
	if got := len(c.CallOptions()); got != 2 {
		t.Fatalf("%d call options for metadata only, want 2 (StaticMethod, codec)", got)
	}
}

func TestWithRejectsInvalid(t *testing.T) {
	_, err := client.New(nil).With(client.CallOptions{Compression: "zstd"})
	if err == nil || !strings.Contains(err.Error(), "compression") {
		t.Fatalf("err = %v, want a compression error", err)
	}
}
