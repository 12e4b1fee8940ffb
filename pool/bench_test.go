package pool_test

import (
	"testing"

	"github.com/grpcbench/grpcbench/fakeserver"
	"github.com/grpcbench/grpcbench/internal/testserver"
	"github.com/grpcbench/grpcbench/pool"
)

// BenchmarkInvoke compares a unary GetUser through the generated stub on a
// raw *grpc.ClientConn with the same call through pools over the same kind
// of connection to a fake server on 127.0.0.1. The difference is the pool's
// cost per call (pick, in-flight counting).
func BenchmarkInvoke(b *testing.B) {
	cl, raw := testserver.FakeConn(b, fakeserver.Config{Seed: 1})
	addr := cl.Addrs()[0]
	layers := []testserver.Layer{
		{Name: "raw_conn", Conn: raw},
		{Name: "pool1_round_robin", Conn: newPool(b, addr, pool.Config{Size: 1, Warmup: true})},
	}
	for _, pick := range []pool.Pick{pool.PickRoundRobin, pool.PickRandom, pool.PickLeastInflight, pool.PickFirstReady} {
		layers = append(layers, testserver.Layer{Name: "pool4_" + string(pick), Conn: newPool(b, addr, pool.Config{Size: 4, Pick: pick, Warmup: true})})
	}
	testserver.BenchGetUser(b, layers...)
}
