package fakeserver

import (
	"context"
	"testing"
	"time"

	"go.uber.org/goleak"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/grpcbench/grpcbench/proto/userpb"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func ptr[T any](v T) *T { return &v }

// startCluster starts a cluster stopped at the end of the test.
func startCluster(t *testing.T, cfg Config) *Cluster {
	t.Helper()
	cl, err := Start(context.Background(), cfg)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(cl.Stop)
	return cl
}

// dial returns a real grpc-go client over TCP, closed at the end of the test.
func dial(t *testing.T, addr string, opts ...grpc.DialOption) (*grpc.ClientConn, userpb.UserServiceClient) {
	t.Helper()
	opts = append([]grpc.DialOption{grpc.WithTransportCredentials(insecure.NewCredentials())}, opts...)
	cc, err := grpc.NewClient(addr, opts...)
	if err != nil {
		t.Fatalf("NewClient: %v", err)
	}
	t.Cleanup(func() { cc.Close() })
	return cc, userpb.NewUserServiceClient(cc)
}

// ctxFor returns a context bounded by d, cancelled at the end of the test.
func ctxFor(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// sleepUntil sleeps until the cluster's fault clock reads t.
func sleepUntil(cl *Cluster, t time.Duration) { time.Sleep(time.Until(cl.Started().Add(t))) }
