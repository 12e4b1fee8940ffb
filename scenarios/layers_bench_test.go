package scenarios

import (
	"context"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/dynamicpb"

	"github.com/grpcbench/grpcbench/breaker"
	"github.com/grpcbench/grpcbench/client"
	"github.com/grpcbench/grpcbench/fakeserver"
	"github.com/grpcbench/grpcbench/lb"
	"github.com/grpcbench/grpcbench/methods"
	"github.com/grpcbench/grpcbench/pool"
	"github.com/grpcbench/grpcbench/proto/userpb"
	"github.com/grpcbench/grpcbench/results"
	"github.com/grpcbench/grpcbench/retry"
)

// noopConn answers every unary call at once: the layers above it are all
// that is measured.
type noopConn struct{}

func (noopConn) Invoke(context.Context, string, any, any, ...grpc.CallOption) error { return nil }
func (noopConn) NewStream(context.Context, *grpc.StreamDesc, string, ...grpc.CallOption) (grpc.ClientStream, error) {
	return nil, nil
}

// BenchmarkLayers measures what grpcbench's client stack adds to a unary
// call: over a no-op connection (the layers' own CPU and allocations, free
// of network noise), and end to end against the fake server over TCP, raw
// generated stub versus client → retry → breaker → pool on the same
// server. Goal: ≤ 10 allocations and ≤ 2 µs added by all layers together.
func BenchmarkLayers(b *testing.B) {
	ctx := context.Background()
	req := &userpb.GetUserRequest{UserId: "u1"}
	policy := retry.Policy{MaxAttempts: 3}.WithDefaults()
	brk := breaker.Config{FailureThreshold: 1000}.WithDefaults()
	getUser, err := methods.Builtin().Lookup("GetUser")
	if err != nil {
		b.Fatal(err)
	}
	rec := results.NewRecorder([]string{getUser.Name()}, time.Now())
	shard := rec.Shard()
	resp := new(userpb.GetUserResponse)

	b.Run("noop/raw-stub", func(b *testing.B) {
		c := userpb.NewUserServiceClient(noopConn{})
		b.ReportAllocs()
		for range b.N {
			_, _ = c.GetUser(ctx, req)
		}
	})
	b.Run("noop/client+retry+breaker+record", func(b *testing.B) {
		cc := retry.Wrap(breaker.Wrap(noopConn{}, breaker.New(brk)), policy)
		c := client.New(cc)
		b.ReportAllocs()
		for range b.N {
			t0 := time.Now()
			err := c.Unary(ctx, getUser, req, resp)
			d := time.Since(t0)
			_ = client.Classify(err)
			shard.Call(0, 0, d, d, 0)
		}
	})

	cl, err := fakeserver.Start(ctx, fakeserver.Config{})
	if err != nil {
		b.Fatal(err)
	}
	defer cl.Stop()
	addr := cl.Addrs()[0]
	b.Run("tcp/raw-stub", func(b *testing.B) {
		cc, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
		if err != nil {
			b.Fatal(err)
		}
		defer cc.Close()
		c := userpb.NewUserServiceClient(cc)
		b.ReportAllocs()
		b.ResetTimer()
		for range b.N {
			if _, err := c.GetUser(ctx, req); err != nil {
				b.Fatal(err)
			}
		}
	})
	// fullStack calls GetUser through the whole stack with the request and
	// reply given: generated messages, or bytes encoded once (the runner's
	// path) with the reply decoded into a dynamic message or only counted.
	fullStack := func(name string, req, reply any, extra ...grpc.DialOption) {
		b.Run(name, func(b *testing.B) {
			r := lb.NewStaticResolver(addr)
			dial, err := lb.Config{}.DialOptions()
			if err != nil {
				b.Fatal(err)
			}
			dial = append(append(dial, r.DialOption()), extra...)
			p, err := pool.New(ctx, r.Target(), pool.Config{Size: 1, Warmup: true}, dial...)
			if err != nil {
				b.Fatal(err)
			}
			defer p.Close()
			c := client.New(retry.Wrap(breaker.Wrap(p, breaker.New(brk)), policy))
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				t0 := time.Now()
				err := c.Unary(ctx, getUser, req, reply)
				d := time.Since(t0)
				if err != nil {
					b.Fatal(err)
				}
				shard.Call(0, 0, d, d, 0)
			}
		})
	}
	encoded, err := proto.Marshal(req)
	if err != nil {
		b.Fatal(err)
	}
	payload := &client.Payload{B: encoded}
	fullStack("tcp/full-stack", req, resp)
	fullStack("tcp/full-stack-payload-decode", payload, &client.Reply{Msg: dynamicpb.NewMessage(getUser.Output())})
	fullStack("tcp/full-stack-payload-count", payload, &client.Reply{})
	// What per-backend attempt counting with a stats.Handler would add (the
	// runner uses it only in native retry mode, where attempts happen inside
	// gRPC; otherwise each worker reads its attempts' peers via grpc.Peer).
	fullStack("tcp/full-stack+stats-handler", req, resp, grpc.WithStatsHandler(results.NewPeerCounter(addr).StatsHandler()))
}
