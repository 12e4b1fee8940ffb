package breaker_test

import (
	"context"
	"testing"

	"github.com/grpcbench/grpcbench/breaker"
	"github.com/grpcbench/grpcbench/internal/testserver"
)

// BenchmarkWrapUnary compares GetUser through the raw stub and through
// breaker.Wrap on the same TCP connection to the fake server.
func BenchmarkWrapUnary(b *testing.B) {
	_, cc := startCluster(b)
	testserver.BenchGetUser(b,
		testserver.Layer{Name: "raw", Conn: cc},
		testserver.Layer{Name: "wrap", Conn: breaker.Wrap(cc, breaker.New(breaker.Config{FailureThreshold: 5}))},
		testserver.Layer{Name: "wrap_ratio", Conn: breaker.Wrap(cc, breaker.New(breaker.Config{FailureThreshold: 5, FailureRatio: 0.5}))})
}

// BenchmarkWrapOverhead measures the breaker alone over a connection that
// answers at once.
func BenchmarkWrapOverhead(b *testing.B) {
	for _, l := range []struct {
		name string
		cfg  breaker.Config
	}{{"threshold", breaker.Config{FailureThreshold: 5}}, {"ratio", breaker.Config{FailureThreshold: 5, FailureRatio: 0.5}}} {
		b.Run(l.name, func(b *testing.B) {
			c := breaker.Wrap(testserver.NopConn{}, breaker.New(l.cfg))
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				_ = c.Invoke(ctx, "/svc/M", nil, nil)
			}
		})
	}
}
