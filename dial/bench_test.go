package dial_test

import (
	"context"
	"testing"

	"github.com/grpcbench/grpcbench/dial"
	"github.com/grpcbench/grpcbench/fakeserver"
	"github.com/grpcbench/grpcbench/internal/testserver"
	"github.com/grpcbench/grpcbench/lb"
	"github.com/grpcbench/grpcbench/proto/userpb"
)

// BenchmarkCall measures a unary call through a Dialer's options, plain
// and with a bearer token as per-RPC credentials (what the token costs per
// call: grpc-go merges per-RPC headers into a new map on every call).
func BenchmarkCall(b *testing.B) {
	b.Setenv("DIAL_BENCH_TOKEN", "bench-token-value")
	cases := []struct {
		name string
		cfg  dial.Config
	}{
		{"plaintext", dial.Config{}},
		{"plaintext+token", dial.Config{InsecureCredentials: true, Credentials: &dial.Credentials{BearerTokenEnv: "DIAL_BENCH_TOKEN"}}},
	}
	for _, bc := range cases {
		b.Run(bc.name, func(b *testing.B) {
			cl := testserver.Fake(b, fakeserver.Config{})
			d, err := bc.cfg.NewDialer(dial.Target{Target: cl.Addrs()[0]}, nil)
			if err != nil {
				b.Fatal(err)
			}
			lbOpts, err := lb.Config{Policy: lb.PickFirst}.DialOptions()
			if err != nil {
				b.Fatal(err)
			}
			cc, err := newClient(d, lbOpts)
			if err != nil {
				b.Fatal(err)
			}
			defer cc.Close()
			c := userpb.NewUserServiceClient(cc)
			req := &userpb.GetUserRequest{UserId: "u1"}
			ctx := context.Background()
			if _, err := c.GetUser(ctx, req); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := c.GetUser(ctx, req); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
