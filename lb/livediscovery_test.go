package lb_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/peer"

	"github.com/grpcbench/grpcbench/fakeserver"
	"github.com/grpcbench/grpcbench/field"
	"github.com/grpcbench/grpcbench/internal/testutil"
	"github.com/grpcbench/grpcbench/lb"
	"github.com/grpcbench/grpcbench/proto/userpb"
)

// peerCounts counts calls per backend address on the client side, from
// the peer of each call.
type peerCounts struct {
	mu     sync.Mutex
	n      map[string]int64
	failed int64
}

func (p *peerCounts) call(c userpb.UserServiceClient) {
	var pr peer.Peer
	ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
	defer cancel()
	_, err := c.GetUser(ctx, &userpb.GetUserRequest{UserId: "1"}, grpc.Peer(&pr))
	p.mu.Lock()
	defer p.mu.Unlock()
	if err != nil {
		p.failed++
		return
	}
	if p.n == nil {
		p.n = map[string]int64{}
	}
	p.n[pr.Addr.String()]++
}

// at returns the first sample time at which backend i's count exceeds v.
func (d *driver) firstAbove(i int, v int64) (time.Time, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, s := range d.samples {
		if i < len(s.calls) && s.calls[i] > v {
			return s.at, true
		}
	}
	return time.Time{}, false
}

// lastIncrease returns the time of the last sample at which backend i's
// count had grown since the sample before.
func (d *driver) lastIncrease(i int) time.Time {
	d.mu.Lock()
	defer d.mu.Unlock()
	var at time.Time
	for k := 1; k < len(d.samples); k++ {
		a, b := d.samples[k-1].calls, d.samples[k].calls
		if i < len(b) && (i >= len(a) || b[i] > a[i]) {
			at = d.samples[k].at
		}
	}
	return at
}

func (d *driver) last() []int64 {
	d.mu.Lock()
	defer d.mu.Unlock()
	if len(d.samples) == 0 {
		return make([]int64, 3)
	}
	return d.samples[len(d.samples)-1].calls
}

// waitUntil polls until t has passed (a measurement window, bounded).
func waitUntil(t time.Time) {
	for time.Now().Before(t) {
		time.Sleep(10 * time.Millisecond)
	}
}

// TestLiveDiscoveryChurn runs load through a ClientConn whose resolver is
// bound to a discovery source while the fake server's backend set changes,
// published through the cluster's membership hook: a removed backend that
// keeps serving for a drain gets no calls a second after its removal
// (so it is discovery, not a closed port, that moved the load), an added
// backend gets calls within a second, nothing fails, and the calls the
// client made per backend equal what each backend counted.
func TestLiveDiscoveryChurn(t *testing.T) {
	for _, source := range []lb.SourceKind{lb.SourceFile, lb.SourceEtcd} {
		t.Run(string(source), func(t *testing.T) {
			dc := lb.DiscoveryConfig{Source: source}
			switch source {
			case lb.SourceFile:
				dc.File = filepath.Join(t.TempDir(), "backends.txt")
				dc.PollInterval = ptr(100 * time.Millisecond)
			case lb.SourceEtcd:
				dc.Etcd = &lb.EtcdConfig{Endpoints: []string{startEtcd(t)}, Prefix: "grpcbench/users"}
			}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			pub, err := dc.NewPublisher(ctx)
			if err != nil {
				t.Fatal(err)
			}
			defer pub.Close()
			cl := startCluster(t, fakeserver.Config{},
				fakeserver.OnMembership(func(addrs []string) error { return pub.Publish(ctx, addrs) }))
			src, err := dc.NewSource(nil)
			if err != nil {
				t.Fatal(err)
			}
			r := lb.NewStaticResolver()
			b, err := lb.Bind(ctx, src, r, func(err error) { t.Errorf("discovery: %v", err) })
			if err != nil {
				t.Fatal(err)
			}
			c := dial(t, lb.Config{Policy: lb.RoundRobin}, r)
			var pc peerCounts
			d := drive(t, cl, func() { pc.call(c) }, 4)
			testutil.Eventually(t, 10*time.Second, "every backend to get calls", func() bool {
				calls := d.last()
				return calls[0] > 0 && calls[1] > 0 && calls[2] > 0
			})

			removed := time.Now()
			if err := cl.RemoveBackend(0, 3*time.Second); err != nil {
				t.Fatal(err)
			}
			waitUntil(removed.Add(1500 * time.Millisecond))
			added := time.Now()
			idx, err := cl.AddBackend("")
			if err != nil || idx != 3 {
				t.Fatalf("AddBackend = %d, %v", idx, err)
			}
			testutil.Eventually(t, 10*time.Second, "the added backend to get calls", func() bool {
				calls := d.last()
				return len(calls) > 3 && calls[3] > 0
			})
			waitUntil(time.Now().Add(500 * time.Millisecond))
			d.halt()
			cancel()
			_ = b.Wait()

			if stop := d.lastIncrease(0); stop.Sub(removed) > time.Second {
				t.Errorf("backend 0 still got calls %v after its removal, want none after 1s", stop.Sub(removed))
			}
			if first, ok := d.firstAbove(3, 0); !ok || first.Sub(added) > time.Second {
				t.Errorf("the added backend's first calls came %v after it was added (seen %v), want within 1s", first.Sub(added), ok)
			}
			if pc.failed != 0 {
				t.Errorf("%d calls failed; a drained removal and an addition should fail none", pc.failed)
			}
			st := cl.Stats()
			for _, bs := range st.Backends {
				if got := pc.n[bs.Addr]; got != bs.Calls["GetUser"] {
					t.Errorf("backend %d (%s): the client counted %d calls, the server %d", bs.Index, bs.Addr, got, bs.Calls["GetUser"])
				}
			}
			t.Logf("%s: per-backend calls %v; backend 0 stopped %v after removal",
				source, d.last(), d.lastIncrease(0).Sub(removed).Round(time.Millisecond))
		})
	}
}

func TestPublishFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "backends.txt")
	for _, set := range [][]string{{"127.0.0.1:1", "[::1]:2"}, {"127.0.0.1:3"}} {
		if err := lb.PublishFile(path, set); err != nil {
			t.Fatal(err)
		}
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		got, err := lb.ParseAddrList(path, data)
		if err != nil || !slices.Equal(got, set) {
			t.Errorf("published %q, read back %q, %v", set, got, err)
		}
	}
	if err := lb.PublishFile(path, []string{"a:1", "a:1"}); err == nil {
		t.Error("PublishFile accepted a repeated address")
	}
	if err := lb.PublishFile(filepath.Join(dir, "missing", "x.txt"), []string{"a:1"}); err == nil {
		t.Error("PublishFile into a missing directory succeeded")
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 {
		t.Errorf("directory holds %d entries, want only the file (no temporary left)", len(entries))
	}
}

func TestDiscoveryConfigValidate(t *testing.T) {
	etcd := &lb.EtcdConfig{Endpoints: []string{"http://127.0.0.1:2379"}, Prefix: "svc"}
	tests := []struct {
		name  string
		cfg   lb.DiscoveryConfig
		paths map[string]string // path → a substring of its message
	}{
		{"zero value is static", lb.DiscoveryConfig{}, nil},
		{"file", lb.DiscoveryConfig{Source: lb.SourceFile, File: "b.txt", PollInterval: ptr(time.Second)}, nil},
		{"etcd", lb.DiscoveryConfig{Source: lb.SourceEtcd, Etcd: etcd}, nil},
		{"unknown source", lb.DiscoveryConfig{Source: "consul"}, map[string]string{"source": `unknown source "consul" (want static, file or etcd)`}},
		{"file missing", lb.DiscoveryConfig{Source: lb.SourceFile}, map[string]string{"file": "is required"}},
		{"etcd missing", lb.DiscoveryConfig{Source: lb.SourceEtcd}, map[string]string{"etcd": "is required"}},
		{"fields of other sources", lb.DiscoveryConfig{File: "x", Etcd: etcd, PollInterval: ptr(time.Second)},
			map[string]string{"file": "only with source: file", "etcd": "only with source: etcd", "poll_interval": "only with source: file"}},
		{"poll interval range", lb.DiscoveryConfig{Source: lb.SourceFile, File: "x", PollInterval: ptr(time.Millisecond)},
			map[string]string{"poll_interval": "between"}},
		{"etcd fields", lb.DiscoveryConfig{Source: lb.SourceEtcd, Etcd: &lb.EtcdConfig{
			Endpoints: []string{"127.0.0.1:2379", "https://e:2379", "ftp://e:1", "nope"}, Prefix: "svc/", DialTimeout: ptr(time.Duration(0))}},
			map[string]string{"etcd.endpoints[1]": "TLS", "etcd.endpoints[2]": "scheme must be http", "etcd.endpoints[3]": "missing port",
				"etcd.prefix": "trailing /", "etcd.dial_timeout": "positive"}},
		{"etcd empty", lb.DiscoveryConfig{Source: lb.SourceEtcd, Etcd: &lb.EtcdConfig{}},
			map[string]string{"etcd.endpoints": "is required", "etcd.prefix": "is required"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.cfg.Validate()
			got := map[string]string{}
			for _, e := range field.Flatten(err) {
				var fe *field.Error
				if !errors.As(e, &fe) {
					t.Fatalf("not a *field.Error: %v", e)
				}
				got[fe.Path] = fe.Msg
			}
			if len(got) != len(tt.paths) {
				t.Errorf("errors %v, want at %v", got, tt.paths)
			}
			for p, sub := range tt.paths {
				if !strings.Contains(got[p], sub) {
					t.Errorf("%s: %q, want it to contain %q", p, got[p], sub)
				}
			}
			if _, serr := tt.cfg.NewSource([]string{"127.0.0.1:1"}); (serr == nil) != (err == nil) {
				t.Errorf("NewSource error %v disagrees with Validate %v", serr, err)
			}
		})
	}
}

func TestStaticDiscoveryConfig(t *testing.T) {
	dc := lb.DiscoveryConfig{}
	src, err := dc.NewSource([]string{"127.0.0.1:1", "127.0.0.1:2"})
	if err != nil {
		t.Fatal(err)
	}
	r := lb.NewStaticResolver()
	b, err := lb.Bind(context.Background(), src, r, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Wait(); err != nil || !slices.Equal(r.Addrs(), []string{"127.0.0.1:1", "127.0.0.1:2"}) {
		t.Errorf("static binding: %v, addrs %q", err, r.Addrs())
	}
	pub, err := dc.NewPublisher(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if err := pub.Publish(context.Background(), []string{"127.0.0.1:3"}); err != nil || pub.Close() != nil {
		t.Errorf("the static publisher does nothing and never fails: %v", err)
	}
}
