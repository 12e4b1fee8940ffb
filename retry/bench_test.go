package retry_test

import (
	"context"
	"testing"
	"time"

	"github.com/grpcbench/grpcbench/internal/testserver"
	"github.com/grpcbench/grpcbench/retry"
)

// BenchmarkWrapUnary compares a GetUser call through the raw stub with the
// same call through retry.Wrap on the same TCP connection to the fake
// server (no faults: the success path).
func BenchmarkWrapUnary(b *testing.B) {
	_, cc := startCluster(b)
	testserver.BenchGetUser(b,
		testserver.Layer{Name: "raw", Conn: cc},
		testserver.Layer{Name: "wrap", Conn: retry.Wrap(cc, retry.Policy{})},
		testserver.Layer{Name: "wrap_observer", Conn: retry.Wrap(cc, retry.Policy{}, retry.WithObserver(nopObserver{}))})
}

// BenchmarkWrapOverhead measures the decorator alone over a connection that
// answers at once, so grpc-go's own cost does not hide it.
func BenchmarkWrapOverhead(b *testing.B) {
	sc := testserver.NopConn{}
	c := retry.Wrap(sc, retry.Policy{})
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		_ = c.Invoke(ctx, "/svc/M", nil, nil)
	}
}

type nopObserver struct{}

func (nopObserver) Attempt(string, int, time.Duration, error) {}
