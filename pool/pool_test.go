package pool_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/grpcbench/grpcbench/client"
	"github.com/grpcbench/grpcbench/fakeserver"
	"github.com/grpcbench/grpcbench/internal/testserver"
	"github.com/grpcbench/grpcbench/internal/testutil"
	"github.com/grpcbench/grpcbench/methods"
	"github.com/grpcbench/grpcbench/pool"
	"github.com/grpcbench/grpcbench/proto/userpb"
)

// TestPickSpread checks the spread of each strategy on the server: every
// connection reaches a backend of its own.
func TestPickSpread(t *testing.T) {
	const conns, calls = 4, 400
	tests := []struct {
		pick   pool.Pick
		lo, hi int64 // bounds on each backend's calls
	}{
		{pool.PickRoundRobin, calls / conns, calls / conns},
		// Binomial(400, 1/4): sd ≈ 8.7, so ±40 is beyond 4.5 sd.
		{pool.PickRandom, calls/conns - 40, calls/conns + 40},
		// With nothing in flight every connection ties, and ties rotate.
		{pool.PickLeastInflight, 1, calls},
		{pool.PickFirstReady, calls / conns, calls / conns},
	}
	for _, tt := range tests {
		t.Run(string(tt.pick), func(t *testing.T) {
			cl := testserver.Fake(t, fakeserver.Config{Backends: conns, Seed: 1})
			p := newPool(t, "passthrough:///spread", pool.Config{Size: conns, Pick: tt.pick, Warmup: true}, spreadDialer(cl.Addrs()))
			c := userpb.NewUserServiceClient(p)
			// Four workers, so picks race as they do under load.
			var wg sync.WaitGroup
			errs := make(chan error, calls)
			for w := 0; w < 4; w++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := 0; i < calls/4; i++ {
						if _, err := c.GetUser(context.Background(), &userpb.GetUserRequest{UserId: "u-1"}); err != nil {
							errs <- err
							return
						}
					}
				}()
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Fatal(err)
			}
			st, ps := cl.Stats(), p.Stats()
			var server, picks []int64
			for i := range conns {
				n := st.Backends[i].Calls["GetUser"]
				if n < tt.lo || n > tt.hi {
					t.Errorf("backend %d got %d calls, want %d..%d", i, n, tt.lo, tt.hi)
				}
				server = append(server, n)
				picks = append(picks, ps.Conns[i].Picks)
			}
			slices.Sort(server)
			slices.Sort(picks)
			if !slices.Equal(server, picks) {
				t.Errorf("server calls per backend %v differ from pool picks per connection %v", server, picks)
			}
			if ps.Picks != calls || ps.Inflight != 0 {
				t.Errorf("pool stats picks %d inflight %d, want %d and 0", ps.Picks, ps.Inflight, calls)
			}
		})
	}
}

// TestLeastInflightAvoidsStalledStream holds a stream the server never
// answers on one connection and checks where unary calls go.
func TestLeastInflightAvoidsStalledStream(t *testing.T) {
	const conns, calls = 3, 60
	tests := []struct {
		pick        pool.Pick
		wantStalled int64 // unary calls on the stalled connection's backend
	}{
		{pool.PickLeastInflight, 0},
		{pool.PickRoundRobin, calls / conns},
	}
	for _, tt := range tests {
		t.Run(string(tt.pick), func(t *testing.T) {
			cl := testserver.Fake(t, fakeserver.Config{Backends: conns, Seed: 1, Faults: []fakeserver.Fault{
				{Method: fakeserver.MethodList{"ListUsers"}, Stall: &fakeserver.Stall{}},
			}})
			p := newPool(t, "passthrough:///spread", pool.Config{Size: conns, Pick: tt.pick, Warmup: true}, spreadDialer(cl.Addrs()))
			c := userpb.NewUserServiceClient(p)

			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			go func() {
				st, err := c.ListUsers(ctx, &userpb.ListUsersRequest{PageSize: 5})
				for err == nil {
					_, err = st.Recv()
				}
				done <- err
			}()
			stalled := -1
			testutil.Eventually(t, 5*time.Second, "the stalled stream to reach a backend", func() bool {
				for i, b := range cl.Stats().Backends {
					if b.Calls["ListUsers"] == 1 {
						stalled = i
						return true
					}
				}
				return false
			})
			if got := p.Stats().Inflight; got != 1 {
				t.Fatalf("pool inflight with one stalled stream = %d, want 1", got)
			}
			for i := 0; i < calls; i++ {
				if _, err := c.GetUser(context.Background(), &userpb.GetUserRequest{UserId: "u-1"}); err != nil {
					t.Fatal(err)
				}
			}
			st := cl.Stats()
			if got := st.Backends[stalled].Calls["GetUser"]; got != tt.wantStalled {
				t.Errorf("stalled backend %d got %d GetUser calls, want %d (all: %v)", stalled, got, tt.wantStalled, st.Backends)
			}
			cancel()
			if err := <-done; client.Classify(err) != client.Cancelled {
				t.Errorf("stalled stream ended with %v, want cancelled", err)
			}
			testutil.Eventually(t, 5*time.Second, "the cancelled stream to leave the in-flight count", func() bool { return p.Stats().Inflight == 0 })
		})
	}
}

// TestMaxConcurrentStreams runs 20 concurrent 200 ms calls against a server
// allowing 10 streams per connection.
func TestMaxConcurrentStreams(t *testing.T) {
	const calls, latency = 20, 200 * time.Millisecond
	tests := []struct {
		size         int
		wantMaxInfl  int64
		wantMinTotal time.Duration // a lower bound only: two rounds when queued
	}{
		{1, 10, 2 * latency},
		{4, 20, latency},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("size_%d", tt.size), func(t *testing.T) {
			cl := testserver.Fake(t, fakeserver.Config{Seed: 1, MaxConcurrentStreams: 10, Faults: []fakeserver.Fault{
				{Method: fakeserver.MethodList{"GetUser"}, Latency: &fakeserver.Latency{Dist: fakeserver.DistFixed, Value: latency}},
			}})
			p := newPool(t, cl.Addrs()[0], pool.Config{Size: tt.size, Warmup: true})
			c := userpb.NewUserServiceClient(p)
			start := time.Now()
			var wg sync.WaitGroup
			errs := make(chan error, calls)
			for i := 0; i < calls; i++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
					defer cancel()
					if _, err := c.GetUser(ctx, &userpb.GetUserRequest{UserId: "u-1"}); err != nil {
						errs <- err
					}
				}()
			}
			wg.Wait()
			elapsed := time.Since(start)
			close(errs)
			for err := range errs {
				t.Fatal(err)
			}
			b := cl.Stats().Backends[0]
			if b.MaxInflight != tt.wantMaxInfl {
				t.Errorf("server max in-flight = %d, want %d", b.MaxInflight, tt.wantMaxInfl)
			}
			if b.Calls["GetUser"] != calls {
				t.Errorf("server calls = %d, want %d", b.Calls["GetUser"], calls)
			}
			if elapsed < tt.wantMinTotal {
				t.Errorf("20 calls took %v, less than %v", elapsed, tt.wantMinTotal)
			}
			t.Logf("pool of %d: server max in-flight %d, 20 calls took %v", tt.size, b.MaxInflight, elapsed)
		})
	}
}

// TestFirstReadySkipsFailedConnection makes one connection's only dial fail
// (with a reconnect backoff longer than the test) and checks first_ready
// sends nothing to it while round_robin does.
func TestFirstReadySkipsFailedConnection(t *testing.T) {
	tests := []struct {
		pick       pool.Pick
		wantFailed bool // whether calls fail on the broken connection
	}{
		{pool.PickFirstReady, false},
		{pool.PickRoundRobin, true},
	}
	for _, tt := range tests {
		t.Run(string(tt.pick), func(t *testing.T) {
			cl := testserver.Fake(t, fakeserver.Config{Seed: 1})
			slow := grpc.WithConnectParams(grpcConnectParams(time.Minute))
			p := newPool(t, "passthrough:///spread", pool.Config{Size: 3, Pick: tt.pick}, spreadDialer(cl.Addrs(), 0), slow)
			p.Connect()
			broken := -1
			testutil.Eventually(t, 5*time.Second, "one connection in TRANSIENT_FAILURE and two READY", func() bool {
				ready := 0
				for i, c := range p.Stats().Conns {
					switch c.State {
					case "READY":
						ready++
					case "TRANSIENT_FAILURE":
						broken = i
					}
				}
				return ready == 2 && broken >= 0
			})
			c := userpb.NewUserServiceClient(p)
			failed := 0
			for i := 0; i < 30; i++ {
				_, err := c.GetUser(context.Background(), &userpb.GetUserRequest{UserId: "u-1"})
				if status.Code(err) == codes.Unavailable {
					failed++
				} else if err != nil {
					t.Fatal(err)
				}
			}
			ps := p.Stats()
			if tt.wantFailed {
				if failed != 10 || ps.Conns[broken].Picks != 10 {
					t.Errorf("%d calls failed, %d picks on the broken connection; want 10 and 10", failed, ps.Conns[broken].Picks)
				}
			} else if failed != 0 || ps.Conns[broken].Picks != 0 {
				t.Errorf("%d calls failed, %d picks on the broken connection; want 0 and 0", failed, ps.Conns[broken].Picks)
			}
			if got := cl.Stats().TotalCalls(); got != int64(30-failed) {
				t.Errorf("server saw %d calls, want %d", got, 30-failed)
			}
		})
	}
}

func TestWarmup(t *testing.T) {
	cl := testserver.Fake(t, fakeserver.Config{Seed: 1})
	p := newPool(t, cl.Addrs()[0], pool.Config{Size: 3, Warmup: true})
	// Warm-up returns as soon as every connection is READY; each watcher
	// counts the change when it wakes up, a moment later.
	testutil.Eventually(t, 5*time.Second, "every connection's watcher to see a change", func() bool {
		for _, c := range p.Stats().Conns {
			if c.StateChanges < 1 {
				return false
			}
		}
		return true
	})
	st := p.Stats()
	for _, c := range st.Conns {
		// IDLE→CONNECTING→READY, of which the watcher may see only IDLE→READY.
		if c.State != "READY" || c.StateChanges < 1 || c.Target != cl.Addrs()[0] {
			t.Errorf("conn %d: state %s after %d changes, target %q; want READY after at least 1 change, to %q",
				c.Index, c.State, c.StateChanges, c.Target, cl.Addrs()[0])
		}
	}
	if got := cl.Stats().Backends[0].Connections; got != 3 {
		t.Errorf("server has %d connections, want 3", got)
	}
}

func TestWarmupFailsClearly(t *testing.T) {
	addr := testserver.ClosedAddr(t)
	_, err := pool.New(context.Background(), addr, pool.Config{Size: 2, Warmup: true, WarmupTimeout: 300 * time.Millisecond}, insecureCreds)
	if err == nil {
		t.Fatal("New succeeded with nothing listening")
	}
	msg := err.Error()
	if !strings.Contains(msg, addr) || !(strings.Contains(msg, "TRANSIENT_FAILURE") || strings.Contains(msg, "CONNECTING")) {
		t.Errorf("error %q does not name the target and the state reached", msg)
	}
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("error %q does not wrap context.DeadlineExceeded", msg)
	}
}

func TestNewRejectsBadConfig(t *testing.T) {
	_, err := pool.New(context.Background(), "127.0.0.1:1", pool.Config{Size: -1, Pick: "fastest"}, insecureCreds)
	if err == nil || !strings.Contains(err.Error(), "size") || !strings.Contains(err.Error(), "pick") {
		t.Fatalf("err = %v, want size and pick errors", err)
	}
	// grpc.NewClient itself refuses a target without transport credentials.
	_, err = pool.New(context.Background(), "127.0.0.1:1", pool.Config{Size: 2})
	if err == nil || !strings.Contains(err.Error(), `connection 0 to "127.0.0.1:1"`) {
		t.Fatalf("err = %v, want a NewClient error naming connection 0 and the target", err)
	}
}

// TestStreamInflightEndsOnce checks that every way a stream ends takes it
// out of the in-flight count exactly once.
func TestStreamInflightEndsOnce(t *testing.T) {
	cl := testserver.Fake(t, fakeserver.Config{Seed: 1, Faults: []fakeserver.Fault{
		{Method: fakeserver.MethodList{"SyncUsers"}, Abort: &fakeserver.Abort{After: 2, Code: codes.Aborted}},
	}})
	p := newPool(t, cl.Addrs()[0], pool.Config{Size: 2, Pick: pool.PickLeastInflight})
	c := client.New(p)
	ctx := context.Background()
	user := new(userpb.User)
	listReq := &userpb.ListUsersRequest{PageSize: 3}
	createReq, syncReq := new(userpb.CreateUserRequest), new(userpb.SyncUserRequest)
	list, batch, sync := builtin(t, "ListUsers"), builtin(t, "BatchCreateUsers"), builtin(t, "SyncUsers")
	tests := []struct {
		name string
		run  func() error
	}{
		{"server stream to EOF", func() error { _, err := c.ServerStream(ctx, list, listReq, user, nil); return err }},
		{"client stream reply", func() error {
			_, err := c.ClientStream(ctx, batch, 3, func(int) any { return createReq }, new(userpb.BatchCreateUsersResponse))
			return err
		}},
		{"bidi aborted", func() error {
			_, err := c.Bidi(ctx, sync, 5, func(int) any { return syncReq }, new(userpb.SyncUserResponse), nil)
			if status.Code(err) != codes.Aborted {
				return err
			}
			return nil
		}},
		{"callback error cancels", func() error {
			_, err := c.ServerStream(ctx, list, listReq, user, func(int) error { return context.Canceled })
			if !errors.Is(err, context.Canceled) {
				return err
			}
			return nil
		}},
		{"raw stream, context cancelled, never read", func() error {
			sctx, cancel := context.WithCancel(ctx)
			defer cancel()
			s, err := userpb.NewUserServiceClient(p).SyncUsers(sctx)
			if err != nil {
				return err
			}
			_ = s.Send(&userpb.SyncUserRequest{})
			return nil // the deferred cancel ends the stream
		}},
		{"raw client stream, CloseAndRecv", func() error {
			s, err := userpb.NewUserServiceClient(p).BatchCreateUsers(ctx)
			if err != nil {
				return err
			}
			_, err = s.CloseAndRecv()
			return err
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := p.Stats().Picks
			if err := tt.run(); err != nil {
				t.Fatal(err)
			}
			testutil.Eventually(t, 5*time.Second, "in-flight back to 0", func() bool { return p.Stats().Inflight == 0 })
			if got := p.Stats().Picks - before; got != 1 {
				t.Errorf("%d picks, want 1", got)
			}
			// Released on its connection, not another's (exactly once is
			// TestStreamReleasesOnce's).
			for _, cs := range p.Stats().Conns {
				if cs.Inflight != 0 {
					t.Errorf("conn %d in-flight %d, want 0", cs.Index, cs.Inflight)
				}
			}
		})
	}
}

// TestRecycle replaces connections after max_age while a stream stays open
// on an old one, and checks the old one is closed only after the stream ends.
func TestRecycle(t *testing.T) {
	cl := testserver.Fake(t, fakeserver.Config{Seed: 1})
	const maxAge = 300 * time.Millisecond
	p := newPool(t, cl.Addrs()[0], pool.Config{Size: 2, Warmup: true, MaxAge: maxAge})
	stub := userpb.NewUserServiceClient(p)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()

	s, err := stub.SyncUsers(ctx)
	if err != nil {
		t.Fatal(err)
	}
	exchange := func(seq int64) {
		t.Helper()
		if err := s.Send(&userpb.SyncUserRequest{Seq: seq}); err != nil {
			t.Fatalf("send %d: %v", seq, err)
		}
		r, err := s.Recv()
		if err != nil || r.GetSeq() != seq {
			t.Fatalf("recv %d: %v, %v", seq, r, err)
		}
	}
	exchange(1)
	testutil.Eventually(t, 5*time.Second, "both connections recycled", func() bool {
		st := p.Stats()
		return st.Conns[0].Recycled >= 1 && st.Conns[1].Recycled >= 1
	})
	st := p.Stats()
	if st.Draining < 1 || st.Inflight != 1 {
		t.Fatalf("after recycling with a stream open: draining %d, inflight %d; want ≥1 and 1", st.Draining, st.Inflight)
	}
	// The stream's old connection is still open: the stream works.
	exchange(2)
	// Unary calls meanwhile go to the new connections.
	c := userpb.NewUserServiceClient(p)
	for i := 0; i < 10; i++ {
		if _, err := c.GetUser(ctx, &userpb.GetUserRequest{UserId: "u-1"}); err != nil {
			t.Fatalf("unary call after recycling: %v", err)
		}
	}
	if err := s.CloseSend(); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Recv(); err == nil {
		t.Fatal("stream did not end")
	}
	testutil.Eventually(t, 5*time.Second, "old connections closed", func() bool { return p.Stats().Draining == 0 })
	b := cl.Stats().Backends[0]
	if b.ConnectionsTotal < 4 {
		t.Errorf("server accepted %d connections, want at least 4 (2 + replacements)", b.ConnectionsTotal)
	}
	if b.Codes["OK"] < 11 {
		t.Errorf("server OK calls = %d, want at least 11 (codes %v)", b.Codes["OK"], b.Codes)
	}
	testutil.Eventually(t, 5*time.Second, "server connections back to the pool size", func() bool {
		// A recycle may be under way, adding one connection for a moment.
		n := cl.Stats().Backends[0].Connections
		return n == 2 || n == 3
	})
}

func TestCloseStopsEverything(t *testing.T) {
	cl := testserver.Fake(t, fakeserver.Config{Seed: 1})
	p, err := pool.New(context.Background(), cl.Addrs()[0], pool.Config{Size: 3, Warmup: true, MaxAge: time.Hour}, insecureCreds)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	if err := p.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	for _, c := range p.Stats().Conns {
		if c.State != "SHUTDOWN" {
			t.Errorf("conn %d is %s after Close", c.Index, c.State)
		}
	}
	_, err = userpb.NewUserServiceClient(p).GetUser(context.Background(), &userpb.GetUserRequest{UserId: "u-1"})
	if err == nil {
		t.Fatal("call after Close succeeded")
	}
	testutil.Eventually(t, 5*time.Second, "server connections closed", func() bool { return cl.Stats().Backends[0].Connections == 0 })
	// goleak in TestMain checks the watcher and recycler goroutines ended.
}

// builtin looks up a method of the built-in UserService.
func builtin(t testing.TB, name string) *methods.Method {
	t.Helper()
	m, err := methods.Builtin().Lookup(name)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// TestReconnectsCounted: the server drops every connection once; the pool's
// connection goes back to READY when the next calls reconnect it, and that
// is counted as a reconnect (a warm-up READY is not).
func TestReconnectsCounted(t *testing.T) {
	cl := testserver.Fake(t, fakeserver.Config{Seed: 1, Faults: []fakeserver.Fault{{Kill: &fakeserver.Kill{At: 200 * time.Millisecond}}}})
	p := newPool(t, cl.Addrs()[0], pool.Config{Size: 1, Warmup: true})
	if st := p.Stats(); st.Reconnects != 0 {
		t.Fatalf("after warm-up: %d reconnects, want 0", st.Reconnects)
	}
	c := userpb.NewUserServiceClient(p)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	testutil.Eventually(t, 5*time.Second, "a reconnect after the server dropped the connection", func() bool {
		_, _ = c.GetUser(ctx, &userpb.GetUserRequest{UserId: "u-1"})
		return p.Stats().Reconnects >= 1
	})
	st := p.Stats()
	if st.Conns[0].Reconnects != st.Reconnects || st.StateChanges < 2 {
		t.Fatalf("stats %+v: want the reconnect on connection 0 among ≥ 2 state changes", st)
	}
}
