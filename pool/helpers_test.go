package pool_test

import (
	"context"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/grpcbench/grpcbench/pool"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// spreadDialer sends the k-th connection the pool dials to addrs[k%len]:
// with as many connections as backends, each connection has a backend of its
// own, so the server's per-backend counters are per-connection counters.
// fail lists dial numbers that fail instead.
func spreadDialer(addrs []string, fail ...int) grpc.DialOption {
	var n atomic.Int64
	return grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) {
		k := int(n.Add(1) - 1)
		for _, f := range fail {
			if k == f {
				return nil, &net.OpError{Op: "dial", Net: "tcp", Err: errRefused}
			}
		}
		var d net.Dialer
		return d.DialContext(ctx, "tcp", addrs[k%len(addrs)])
	})
}

var errRefused = &net.AddrError{Err: "test: connection refused", Addr: "spread"}

var insecureCreds = grpc.WithTransportCredentials(insecure.NewCredentials())

// newPool makes a pool closed when the test ends.
func newPool(t testing.TB, target string, cfg pool.Config, opts ...grpc.DialOption) *pool.Pool {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	p, err := pool.New(ctx, target, cfg, append([]grpc.DialOption{insecureCreds}, opts...)...)
	if err != nil {
		t.Fatalf("pool.New: %v", err)
	}
	t.Cleanup(func() {
		if err := p.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return p
}
