package testserver

import (
	"context"
	"testing"

	"google.golang.org/grpc"

	"github.com/grpcbench/grpcbench/proto/userpb"
)

// Layer is one grpc.ClientConnInterface a benchmark calls through: the raw
// connection, or a decorator over it.
type Layer struct {
	Name string
	Conn grpc.ClientConnInterface
}

// BenchGetUser runs one sub-benchmark per layer, each calling GetUser
// through it in a loop with allocations reported, after one untimed call
// that connects. Put the raw connection first: a decorator's cost is its
// difference from it. Errors are ignored (a layer may be meant to fail), so
// check behaviour in tests, not here.
func BenchGetUser(b *testing.B, layers ...Layer) {
	req := &userpb.GetUserRequest{UserId: "1"}
	for _, l := range layers {
		b.Run(l.Name, func(b *testing.B) {
			client := userpb.NewUserServiceClient(l.Conn)
			ctx := context.Background()
			_, _ = client.GetUser(ctx, req)
			b.ReportAllocs()
			for b.Loop() {
				_, _ = client.GetUser(ctx, req)
			}
		})
	}
}

// NopConn is a grpc.ClientConnInterface whose unary calls succeed at once
// without a server, to measure a decorator alone. It opens no streams.
type NopConn struct{}

// Invoke returns nil.
func (NopConn) Invoke(context.Context, string, any, any, ...grpc.CallOption) error { return nil }

// NewStream returns nil, nil: benchmarks over NopConn make unary calls only.
func (NopConn) NewStream(context.Context, *grpc.StreamDesc, string, ...grpc.CallOption) (grpc.ClientStream, error) {
	return nil, nil
}
