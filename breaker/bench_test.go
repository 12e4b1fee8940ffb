package breaker_test

import (
	"context"
	"testing"

	"google.golang.org/grpc"

	"github.com/grpcbench/grpcbench/breaker"
	"github.com/grpcbench/grpcbench/proto/userpb"
)

// BenchmarkWrapUnary compares GetUser through the raw stub and through
// breaker.Wrap on the same TCP connection to the fake server.
func BenchmarkWrapUnary(b *testing.B) {
	_, cc := startCluster(b)
	req := &userpb.GetUserRequest{UserId: "1"}
	for _, l := range []struct {
		name string
		conn grpc.ClientConnInterface
	}{
		{"raw", cc},
		{"wrap", breaker.Wrap(cc, breaker.New(breaker.Config{FailureThreshold: 5}))},
		{"wrap_ratio", breaker.Wrap(cc, breaker.New(breaker.Config{FailureThreshold: 5, FailureRatio: 0.5}))},
	} {
		b.Run(l.name, func(b *testing.B) {
			client := userpb.NewUserServiceClient(l.conn)
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				_, _ = client.GetUser(ctx, req)
			}
		})
	}
}

// BenchmarkWrapOverhead measures the breaker alone over a connection that
// answers at once.
func BenchmarkWrapOverhead(b *testing.B) {
	for _, l := range []struct {
		name string
		cfg  breaker.Config
	}{{"threshold", breaker.Config{FailureThreshold: 5}}, {"ratio", breaker.Config{FailureThreshold: 5, FailureRatio: 0.5}}} {
		b.Run(l.name, func(b *testing.B) {
			c := breaker.Wrap(nopConn{}, breaker.New(l.cfg))
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				_ = c.Invoke(ctx, "/svc/M", nil, nil)
			}
		})
	}
}

type nopConn struct{}

func (nopConn) Invoke(context.Context, string, any, any, ...grpc.CallOption) error { return nil }
func (nopConn) NewStream(context.Context, *grpc.StreamDesc, string, ...grpc.CallOption) (grpc.ClientStream, error) {
	return nil, nil
}
