package pool_test

import (
	"context"
	"testing"

	"google.golang.org/grpc"

	"github.com/grpcbench/grpcbench/fakeserver"
	"github.com/grpcbench/grpcbench/internal/testserver"
	"github.com/grpcbench/grpcbench/pool"
	"github.com/grpcbench/grpcbench/proto/userpb"
)

// BenchmarkInvoke compares a unary GetUser through the generated stub on a
// raw *grpc.ClientConn with the same call through pools over the same kind
// of connection to a fake server on 127.0.0.1. The difference is the pool's
// cost per call (pick, in-flight counting).
func BenchmarkInvoke(b *testing.B) {
	cl := testserver.Fake(b, fakeserver.Config{Seed: 1})
	addr := cl.Addrs()[0]
	raw, err := grpc.NewClient(addr, insecureCreds)
	if err != nil {
		b.Fatal(err)
	}
	defer raw.Close()
	cases := []struct {
		name string
		cc   grpc.ClientConnInterface
	}{
		{"raw_conn", raw},
		{"pool1_round_robin", newPool(b, addr, pool.Config{Size: 1, Warmup: true})},
	}
	for _, pick := range pool.Picks {
		cases = append(cases, struct {
			name string
			cc   grpc.ClientConnInterface
		}{"pool4_" + string(pick), newPool(b, addr, pool.Config{Size: 4, Pick: pick, Warmup: true})})
	}
	req := &userpb.GetUserRequest{UserId: "u-1"}
	for _, bc := range cases {
		b.Run(bc.name, func(b *testing.B) {
			stub := userpb.NewUserServiceClient(bc.cc)
			ctx := context.Background()
			if _, err := stub.GetUser(ctx, req); err != nil { // connect
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := stub.GetUser(ctx, req); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
