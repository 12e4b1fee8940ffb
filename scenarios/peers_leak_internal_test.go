package scenarios

import (
	"net"
	"testing"
	"time"

	"github.com/grpcbench/grpcbench/results"
)

// A worker's peerRecorder caches the name of each peer address in a map
// keyed by the net.Addr interface (stack.go, peerRecorder.names), that is
// by the *net.TCPAddr pointer of the connection the attempt used. Every new
// connection — a reconnect after kill, down or GOAWAY — brings a new
// pointer for the same backend, so the map gains an entry per worker per
// connection and keeps every old address alive: memory grows for as long
// as connections are replaced. The soak (make soak) showed it as the
// second-largest growing heap item (4.6 MB after 3 minutes, 512 workers,
// a GOAWAY every 15 s on one backend). The cache must stay bounded by the
// backends, not the connections.
//
// This test reaches inside the runner (package scenarios) because the
// cache is not visible from outside; it fails until the cache is bounded.
func TestPeerNameCacheBoundedByBackends(t *testing.T) {
	rec := results.NewRecorder([]string{"GetUser"}, time.Now())
	peers := results.NewPeerCounter()
	rec.SetPeerCounter(peers)
	p := newPeerRecorder(peers)
	for range 1000 {
		// One attempt on each of 1000 successive connections to the same
		// backend: grpc.Peer hands out the connection's own address value.
		p.peer.Addr = &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 50051}
		p.flush()
	}
	if n := len(p.names); n > 1 {
		t.Errorf("the peer name cache holds %d entries after 1000 connections to one backend; want 1", n)
	}
	if c := rec.Cell(); len(c.Backends) != 1 || c.Backends[0].ClientCalls != 1000 {
		t.Errorf("backends %+v; want 127.0.0.1:50051 with 1000 attempts", c.Backends)
	}
}
