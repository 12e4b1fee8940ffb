package pool_test

import (
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/backoff"
)

// grpcConnectParams holds a failed connection in TRANSIENT_FAILURE for d
// before it reconnects.
func grpcConnectParams(d time.Duration) grpc.ConnectParams {
	return grpc.ConnectParams{Backoff: backoff.Config{BaseDelay: d, Multiplier: 1, MaxDelay: d}, MinConnectTimeout: time.Second}
}
