package results

import (
	"context"
	"sync"
	"sync/atomic"

	"google.golang.org/grpc/stats"
)

// PeerCounter counts attempts per backend address from any goroutine, for
// callers that cannot own a Shard (a stats.Handler sees gRPC's own retry
// attempts on gRPC's goroutines). Addresses given to NewPeerCounter are
// counted with one atomic add; others through a sync.Map.
type PeerCounter struct {
	known map[string]*atomic.Int64
	other sync.Map // string → *atomic.Int64
}

// NewPeerCounter returns a counter that expects the given addresses.
func NewPeerCounter(addrs ...string) *PeerCounter {
	p := &PeerCounter{known: make(map[string]*atomic.Int64, len(addrs))}
	for _, a := range addrs {
		p.known[a] = new(atomic.Int64)
	}
	return p
}

// Add counts n attempts on addr.
func (p *PeerCounter) Add(addr string, n int64) {
	if c, ok := p.known[addr]; ok {
		c.Add(n)
		return
	}
	c, ok := p.other.Load(addr)
	if !ok {
		// Load first: LoadOrStore would allocate a counter on every call.
		c, _ = p.other.LoadOrStore(addr, new(atomic.Int64))
	}
	c.(*atomic.Int64).Add(n)
}

// Counts returns the counts so far, addresses with none left out.
func (p *PeerCounter) Counts() map[string]int64 {
	out := map[string]int64{}
	for a, c := range p.known {
		if n := c.Load(); n > 0 {
			out[a] = n
		}
	}
	p.other.Range(func(k, v any) bool {
		if n := v.(*atomic.Int64).Load(); n > 0 {
			out[k.(string)] = n
		}
		return true
	})
	return out
}

// StatsHandler returns a stats.Handler that counts every attempt (each
// sends its headers once) of the ClientConns it is installed on.
func (p *PeerCounter) StatsHandler() stats.Handler { return peerHandler{p} }

type peerHandler struct{ p *PeerCounter }

func (h peerHandler) TagRPC(ctx context.Context, _ *stats.RPCTagInfo) context.Context { return ctx }

func (h peerHandler) HandleRPC(_ context.Context, s stats.RPCStats) {
	if oh, ok := s.(*stats.OutHeader); ok && oh.Client && oh.RemoteAddr != nil {
		h.p.Add(oh.RemoteAddr.String(), 1)
	}
}

func (h peerHandler) TagConn(ctx context.Context, _ *stats.ConnTagInfo) context.Context { return ctx }

func (h peerHandler) HandleConn(context.Context, stats.ConnStats) {}
