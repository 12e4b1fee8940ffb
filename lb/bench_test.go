package lb_test

import (
	"context"
	"testing"
	"time"

	"google.golang.org/grpc/metadata"

	"github.com/grpcbench/grpcbench/fakeserver"
	"github.com/grpcbench/grpcbench/lb"
	"github.com/grpcbench/grpcbench/proto/userpb"
)

// BenchmarkUnaryByPolicy measures one GetUser call through a ClientConn
// balancing over 3 local fake backends, per policy. The difference between
// policies is the policy's per-call cost (picker, ORCA trailer parsing for
// WRR, header hashing for ring_hash); the fake server's work is the same.
func BenchmarkUnaryByPolicy(b *testing.B) {
	period := 100 * time.Millisecond
	for _, bc := range []struct {
		name string
		cfg  lb.Config
		md   []string
	}{
		{"pick_first", lb.Config{Policy: lb.PickFirst}, nil},
		{"round_robin", lb.Config{Policy: lb.RoundRobin}, nil},
		{"round_robin+health", lb.Config{Policy: lb.RoundRobin, HealthCheck: true}, nil},
		{"weighted_round_robin", lb.Config{Policy: lb.WeightedRoundRobin, BlackoutPeriod: &period, WeightUpdatePeriod: &period}, nil},
		{"least_request", lb.Config{Policy: lb.LeastRequest}, nil},
		{"ring_hash", lb.Config{Policy: lb.RingHash, HashHeader: "x-user-key"}, []string{"x-user-key", "user-42"}},
	} {
		b.Run(bc.name, func(b *testing.B) { benchGetUser(b, bc.cfg, bc.md...) })
	}
}

// benchGetUser times GetUser calls (with metadata md) through a ClientConn
// balancing with cfg over 3 local fake backends, after 300 calls that
// connect every backend.
func benchGetUser(b *testing.B, cfg lb.Config, md ...string) {
	cl := startCluster(b, fakeserver.Config{})
	c := dial(b, cfg, lb.NewStaticResolver(cl.Addrs()...))
	ctx := context.Background()
	if md != nil {
		ctx = metadata.AppendToOutgoingContext(ctx, md...)
	}
	req := &userpb.GetUserRequest{UserId: "1"}
	for range 300 {
		if _, err := c.GetUser(ctx, req); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if _, err := c.GetUser(ctx, req); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkServiceConfig measures building and checking a service config
// (done once per ClientConn, not per call).
func BenchmarkServiceConfig(b *testing.B) {
	cfg := lb.Config{Policy: lb.LeastRequest, ChoiceCount: 3, HealthCheck: true}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := cfg.ServiceConfig(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSetAddrs measures pushing a 3-address set to 4 ClientConns.
func BenchmarkSetAddrs(b *testing.B) {
	addrs := startCluster(b, fakeserver.Config{}).Addrs()
	r := lb.NewStaticResolver(addrs...)
	for range 4 {
		dialConn(b, lb.Config{}, r).Connect()
	}
	sets := [][]string{addrs, addrs[:2]}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if err := r.SetAddrs(sets[i%2]); err != nil {
			b.Fatal(err)
		}
		i++
	}
}
