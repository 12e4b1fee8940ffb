package retry_test

import (
	"context"
	"testing"
	"time"

	"google.golang.org/grpc"

	"github.com/grpcbench/grpcbench/proto/userpb"
	"github.com/grpcbench/grpcbench/retry"
)

// BenchmarkWrapUnary compares a GetUser call through the raw stub with the
// same call through retry.Wrap on the same TCP connection to the fake
// server (no faults: the success path).
func BenchmarkWrapUnary(b *testing.B) {
	_, cc := startCluster(b)
	layers := []struct {
		name string
		conn grpc.ClientConnInterface
	}{
		{"raw", cc},
		{"wrap", retry.Wrap(cc, retry.Policy{})},
		{"wrap_observer", retry.Wrap(cc, retry.Policy{}, retry.WithObserver(nopObserver{}))},
	}
	req := &userpb.GetUserRequest{UserId: "1"}
	for _, l := range layers {
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

// BenchmarkWrapOverhead measures the decorator alone over a connection that
// answers at once, so grpc-go's own cost does not hide it.
func BenchmarkWrapOverhead(b *testing.B) {
	sc := &nopConn{}
	c := retry.Wrap(sc, retry.Policy{})
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		_ = c.Invoke(ctx, "/svc/M", nil, nil)
	}
}

type nopObserver struct{}

func (nopObserver) Attempt(string, int, time.Duration, error) {}

type nopConn struct{}

func (nopConn) Invoke(context.Context, string, any, any, ...grpc.CallOption) error { return nil }
func (nopConn) NewStream(context.Context, *grpc.StreamDesc, string, ...grpc.CallOption) (grpc.ClientStream, error) {
	return nil, nil
}
