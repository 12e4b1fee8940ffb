package breaker_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/grpcbench/grpcbench/breaker"
	"github.com/grpcbench/grpcbench/fakeserver"
	"github.com/grpcbench/grpcbench/internal/testserver"
	"github.com/grpcbench/grpcbench/internal/testutil"
	"github.com/grpcbench/grpcbench/proto/userpb"
)

// startCluster starts one fake backend with faults and returns it with a
// plain connection to it.
func startCluster(t testing.TB, faults ...fakeserver.Fault) (*fakeserver.Cluster, *grpc.ClientConn) {
	t.Helper()
	return testserver.FakeConn(t, fakeserver.Config{Backends: 1, Seed: 3, Faults: faults})
}

// TestDownWindow is the "Must show": the breaker trips while the
// backend is down, rejects fast without reaching it while open, and
// half-open probes close it once the backend is back; the counters match
// the server's.
func TestDownWindow(t *testing.T) {
	const downAt, downFor = 300 * time.Millisecond, 700 * time.Millisecond
	cl, cc := startCluster(t, fakeserver.Fault{Down: &fakeserver.Down{Window: fakeserver.Window{At: downAt, For: downFor}}})
	b := breaker.New(breaker.Config{FailureThreshold: 3, OpenFor: 150 * time.Millisecond, HalfOpenProbes: 2})
	client := userpb.NewUserServiceClient(breaker.Wrap(cc, b))

	var sawOpen, checkedFastReject bool
	var okCalls, failedCalls, rejected int64
	deadline := time.Now().Add(15 * time.Second)
	for i := 0; i < 5000 && time.Now().Before(deadline); i++ {
		sinceStart := time.Since(cl.Started())
		if sinceStart > downAt+downFor+300*time.Millisecond && b.State() == breaker.Closed && sawOpen {
			break
		}
		before := testserver.Calls(cl, "GetUser")
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		_, err := client.GetUser(ctx, &userpb.GetUserRequest{UserId: "1"})
		cancel()
		s := status.Convert(err)
		switch {
		case err == nil || s.Code() == codes.NotFound:
			okCalls++
		case strings.Contains(s.Message(), "circuit breaker is open"):
			rejected++
			if s.Code() != codes.Unavailable {
				t.Fatalf("rejection has code %s", s.Code())
			}
			if after := testserver.Calls(cl, "GetUser"); after != before {
				t.Fatalf("a rejected call reached the server (%d → %d calls)", before, after)
			}
			checkedFastReject = true
		default:
			failedCalls++
		}
		if b.State() == breaker.Open {
			sawOpen = true
		}
		time.Sleep(5 * time.Millisecond)
	}
	st := b.Stats()
	t.Logf("ok %d, failed %d, rejected %d; breaker %+v", okCalls, failedCalls, rejected, st)
	if !sawOpen || st.Trips < 1 || !checkedFastReject {
		t.Fatalf("breaker never tripped/rejected during the down window: %+v", st)
	}
	if st.State != breaker.Closed {
		t.Fatalf("breaker %s after the backend recovered", st.State)
	}
	closedByProbes := false
	for _, tr := range st.Transitions {
		if tr.From == breaker.HalfOpen && tr.To == breaker.Closed {
			closedByProbes = true
		}
	}
	if !closedByProbes {
		t.Fatalf("no half-open → closed transition: %+v", st.Transitions)
	}
	if st.Rejections != rejected || st.Successes != okCalls || st.Failures != failedCalls {
		t.Fatalf("breaker counted %d/%d/%d rejections/successes/failures, client saw %d/%d/%d",
			st.Rejections, st.Successes, st.Failures, rejected, okCalls, failedCalls)
	}
	// Calls that reached the server are exactly the successful ones: calls
	// during the down window fail before reaching a handler, rejected ones
	// never leave the client.
	if got := testserver.Calls(cl, "GetUser"); got != okCalls {
		t.Fatalf("server received %d calls, client had %d successes", got, okCalls)
	}
}

// TestStreamOutcome checks that streams count when they end.
func TestStreamOutcome(t *testing.T) {
	_, cc := startCluster(t, fakeserver.Fault{Method: fakeserver.MethodList{"ListUsers"},
		Abort: &fakeserver.Abort{After: 2, Code: codes.Unavailable}})
	b := breaker.New(breaker.Config{FailureThreshold: 2})
	client := userpb.NewUserServiceClient(breaker.Wrap(cc, b))
	ctx := context.Background()
	for range 2 {
		st, err := client.ListUsers(ctx, &userpb.ListUsersRequest{PageSize: 5})
		if err != nil {
			t.Fatal(err)
		}
		for {
			if _, err := st.Recv(); err != nil {
				break
			}
		}
	}
	if s := b.Stats(); s.Failures != 2 || s.State != breaker.Open {
		t.Fatalf("after two aborted streams: %+v", s)
	}
	// A cancelled stream is reported through its context and is ignored.
	b2 := breaker.New(breaker.Config{FailureThreshold: 1})
	cctx, cancel := context.WithCancel(ctx)
	if _, err := userpb.NewUserServiceClient(breaker.Wrap(cc, b2)).SyncUsers(cctx); err != nil {
		t.Fatal(err)
	}
	cancel()
	testutil.Eventually(t, 5*time.Second, "the cancelled stream to be ignored", func() bool { return b2.Stats().Ignored == 1 })
	if s := b2.Stats(); s.Ignored != 1 || s.State != breaker.Closed {
		t.Fatalf("cancelled stream: %+v", s)
	}
}
