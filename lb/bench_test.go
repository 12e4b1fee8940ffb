package lb_test

import (
	"context"
	"testing"
	"time"

	"github.com/grpcbench/grpcbench/fakeserver"
	"github.com/grpcbench/grpcbench/lb"
	"github.com/grpcbench/grpcbench/proto/userpb"
	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
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
		b.Run(bc.name, func(b *testing.B) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			cl, err := fakeserver.Start(ctx, fakeserver.Config{Backends: 3, Seed: 1})
			if err != nil {
				b.Fatal(err)
			}
			defer cl.Stop()
			r := lb.NewStaticResolver(cl.Addrs()...)
			opts, err := bc.cfg.DialOptions()
			if err != nil {
				b.Fatal(err)
			}
			cc, err := grpc.NewClient(r.Target(), append(opts, insecureCreds, r.DialOption())...)
			if err != nil {
				b.Fatal(err)
			}
			defer cc.Close()
			c := userpb.NewUserServiceClient(cc)
			callCtx := context.Background()
			if bc.md != nil {
				callCtx = metadata.AppendToOutgoingContext(callCtx, bc.md...)
			}
			req := &userpb.GetUserRequest{UserId: "1"}
			for range 300 { // connect every backend before timing
				if _, err := c.GetUser(callCtx, req); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				if _, err := c.GetUser(callCtx, req); err != nil {
					b.Fatal(err)
				}
			}
		})
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
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cl, err := fakeserver.Start(ctx, fakeserver.Config{Backends: 3, Seed: 1})
	if err != nil {
		b.Fatal(err)
	}
	defer cl.Stop()
	addrs := cl.Addrs()
	r := lb.NewStaticResolver(addrs...)
	opts, err := lb.Config{}.DialOptions()
	if err != nil {
		b.Fatal(err)
	}
	for range 4 {
		cc, err := grpc.NewClient(r.Target(), append(opts, insecureCreds, r.DialOption())...)
		if err != nil {
			b.Fatal(err)
		}
		defer cc.Close()
		cc.Connect()
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
