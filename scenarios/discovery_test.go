package scenarios

import (
	"context"
	"fmt"
	"path/filepath"

	"testing"

	"github.com/grpcbench/grpcbench/internal/testserver"
)

// Endpoint churn through a watched file and through etcd: the embedded
// fake server removes backend 1 at 2 s (it serves on for 500 ms while
// clients move away) and adds a backend at 3 s,
// publishing each set where the client's discovery watches. The removed
// backend's calls drop to 0 within a second, the added one gets calls, and
// every backend's client count equals its server count.
func TestDiscoveryChurn(t *testing.T) {
	t.Run("file", func(t *testing.T) {
		checkChurn(t, fmt.Sprintf("{source: file, file: %q}", filepath.Join(t.TempDir(), "backends.txt")))
	})
	t.Run("etcd", func(t *testing.T) {
		checkChurn(t, fmt.Sprintf("{source: etcd, etcd: {endpoints: [%q], prefix: grpcbench/churn}}", testserver.Etcd(t)))
	})
}

func checkChurn(t *testing.T, discovery string) {
	run := runYAML(t, context.Background(), fmt.Sprintf(`
seed: 2
server: {backends: 3, events: [{at: 2s, remove: 1, drain: 500ms}, {at: 3s, add: 1}]}
load: {rate: 300, duration: 5s, max_inflight: 64}
mix: [{call: GetUser}]
client: {discovery: %s}
`, discovery))
	c := run.Cells[0]
	if len(c.Backends) != 4 || len(c.Membership) != 2 {
		t.Fatalf("backends %+v, membership %+v", c.Backends, c.Membership)
	}
	removed, added := c.Backends[1].Addr, c.Backends[3].Addr
	for _, b := range c.Backends {
		if b.ClientCalls != b.ServerCalls {
			t.Errorf("backend %s: client saw %d attempts, server %d", b.Addr, b.ClientCalls, b.ServerCalls)
		}
	}
	for _, s := range c.BackendSeries {
		t.Logf("second %d: %v", s.T, s.Calls)
		if s.T >= 3 && s.Calls[removed] != 0 {
			t.Errorf("second %d: the removed backend %s still got %d calls", s.T, removed, s.Calls[removed])
		}
		if s.T < 3 && s.Calls[added] != 0 {
			t.Errorf("second %d: the backend added at 3s got calls", s.T)
		}
	}
	if last := c.BackendSeries[len(c.BackendSeries)-1]; last.Calls[added] == 0 {
		t.Errorf("the added backend %s got no calls in the last second: %v", added, last.Calls)
	}
	if c.All.Errors != 0 {
		t.Errorf("%d calls failed during the churn: %v", c.All.Errors, c.All.Codes)
	}
}
