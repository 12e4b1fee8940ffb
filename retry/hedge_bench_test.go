package retry_test

import (
	"context"
	"testing"
	"time"

	"github.com/grpcbench/grpcbench/internal/testserver"
	"github.com/grpcbench/grpcbench/proto/userpb"
	"github.com/grpcbench/grpcbench/retry"
)

// noHedge is a policy whose hedge never fires in a benchmark: the delay is
// far longer than any call.
func noHedge() retry.HedgingPolicy {
	n := 3
	return retry.HedgingPolicy{MaxAttempts: &n, HedgingDelay: time.Hour}
}

// BenchmarkHedgeUnary compares GetUser through the raw stub with the same
// call through retry.Hedge (no hedge fires) on one TCP connection to the
// fake server, with a context that cannot be cancelled and with one that has
// a deadline (the hedge layer then forwards its cancellation: that
// allocates).
func BenchmarkHedgeUnary(b *testing.B) {
	_, cc := startCluster(b)
	layers := []testserver.Layer{
		{Name: "raw", Conn: cc},
		{Name: "hedge", Conn: retry.Hedge(cc, noHedge())},
		{Name: "hedge_observer", Conn: retry.Hedge(cc, noHedge(), retry.WithObserver(nopObserver{}))},
		{Name: "hedge_throttle", Conn: retry.Hedge(cc, noHedge(), retry.WithThrottle(retry.NewThrottle(retry.ThrottlePolicy{MaxTokens: 10, TokenRatio: 0.1})))},
	}
	testserver.BenchGetUser(b, layers...)
	req := &userpb.GetUserRequest{UserId: "1"}
	for _, l := range layers {
		client := userpb.NewUserServiceClient(l.Conn)
		b.Run(l.Name+"_deadline", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
				_, _ = client.GetUser(ctx, req)
				cancel()
			}
		})
	}
}

// BenchmarkHedgeOverhead measures the hedge layer alone over a connection
// that answers at once.
func BenchmarkHedgeOverhead(b *testing.B) {
	c := retry.Hedge(testserver.NopConn{}, noHedge())
	ctx := context.Background()
	reply := &userpb.GetUserResponse{}
	b.ReportAllocs()
	for b.Loop() {
		_ = c.Invoke(ctx, "/svc/M", nil, reply)
	}
}

// BenchmarkThrottle measures the throttle's bookkeeping: a success on a full
// bucket (the common case) and a failure followed by a success.
func BenchmarkThrottle(b *testing.B) {
	t := retry.NewThrottle(retry.ThrottlePolicy{MaxTokens: 1000, TokenRatio: 1})
	b.Run("success", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			t.Success()
		}
	})
	b.Run("failure_success", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			t.Failure()
			t.Success()
		}
	})
}
