package lb_test

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"

	"github.com/grpcbench/grpcbench/fakeserver"
	"github.com/grpcbench/grpcbench/internal/testserver"
	"github.com/grpcbench/grpcbench/lb"
	"github.com/grpcbench/grpcbench/proto/userpb"
)

// These tests run a real fake server over TCP on 127.0.0.1 and a grpc-go
// ClientConn built from lb.Config.DialOptions and an lb.Resolver. They count
// calls on the server side (fakeserver Stats), never wall-clock speed.

const callTimeout = 5 * time.Second

// startCluster starts a fake cluster (3 backends unless cfg says otherwise,
// seed 1) stopped when the test ends.
func startCluster(t testing.TB, cfg fakeserver.Config, opts ...fakeserver.Option) *fakeserver.Cluster {
	t.Helper()
	if cfg.Backends == 0 {
		cfg.Backends = 3
	}
	cfg.Seed = 1
	return testserver.Fake(t, cfg, opts...)
}

// dialConn returns a plaintext ClientConn balancing with cfg over r's
// addresses, closed when the test ends.
func dialConn(t testing.TB, cfg lb.Config, r *lb.Resolver) *grpc.ClientConn {
	t.Helper()
	opts, err := cfg.DialOptions()
	if err != nil {
		t.Fatalf("DialOptions: %v", err)
	}
	return testserver.Dial(t, r.Target(), append(opts, r.DialOption())...)
}

// dial is dialConn's UserService stub.
func dial(t testing.TB, cfg lb.Config, r *lb.Resolver) userpb.UserServiceClient {
	t.Helper()
	return userpb.NewUserServiceClient(dialConn(t, cfg, r))
}

// getUserCalls returns the GetUser calls each backend has received.
func getUserCalls(cl *fakeserver.Cluster) []int64 { return testserver.CallsByBackend(cl, "GetUser") }

func delta(after, before []int64) []int64 {
	d := make([]int64, len(after))
	for i := range after {
		d[i] = after[i] - before[i]
	}
	return d
}

func sum(v []int64) int64 {
	var s int64
	for _, x := range v {
		s += x
	}
	return s
}

// call makes one GetUser call with optional metadata.
func call(ctx context.Context, c userpb.UserServiceClient, md ...string) error {
	ctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	if len(md) > 0 {
		ctx = metadata.AppendToOutgoingContext(ctx, md...)
	}
	_, err := c.GetUser(ctx, &userpb.GetUserRequest{UserId: "1"})
	return err
}

// load runs at most n GetUser calls on `workers` goroutines, starting no
// call after maxDur, and returns how many were made and how many failed.
// Calls in flight at maxDur finish (each is bounded by callTimeout).
func load(t *testing.T, c userpb.UserServiceClient, workers, n int, maxDur time.Duration) (made, failed int64) {
	t.Helper()
	stopAt := time.Now().Add(maxDur)
	var next, done, errs atomic.Int64
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(stopAt) && next.Add(1) <= int64(n) {
				done.Add(1)
				if err := call(context.Background(), c); err != nil {
					if errs.Add(1) <= 3 {
						t.Logf("call error: %v", err)
					}
				}
			}
		}()
	}
	wg.Wait()
	return done.Load(), errs.Load()
}

// mustLoad is load that fails the test on any call error.
func mustLoad(t *testing.T, c userpb.UserServiceClient, workers, n int) {
	t.Helper()
	made, failed := load(t, c, workers, n, 30*time.Second)
	if failed > 0 || made != int64(n) {
		t.Fatalf("load: %d of %d calls made, %d failed", made, n, failed)
	}
}

// warmUp makes calls until every backend in want has received one, so that
// every subchannel is READY before the measured phase.
func warmUp(t *testing.T, cl *fakeserver.Cluster, c userpb.UserServiceClient, want ...int) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		calls := getUserCalls(cl)
		done := true
		for _, i := range want {
			done = done && calls[i] > 0
		}
		if done {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("warm-up: backends %v never all reached; calls %v", want, calls)
		}
		_ = call(context.Background(), c)
	}
}

func TestRoundRobinSpreadsEvenly(t *testing.T) {
	cl := startCluster(t, fakeserver.Config{})
	r := lb.NewStaticResolver(cl.Addrs()...)
	c := dial(t, lb.Config{Policy: lb.RoundRobin}, r)
	warmUp(t, cl, c, 0, 1, 2)

	before := getUserCalls(cl)
	const n = 900
	mustLoad(t, c, 4, n)
	d := delta(getUserCalls(cl), before)
	t.Logf("round_robin per-backend GetUser calls: %v", d)
	for i, got := range d {
		if want := float64(n) / 3; float64(got) < 0.9*want || float64(got) > 1.1*want {
			t.Errorf("backend %d got %d calls, want %.0f ±10%%", i, got, want)
		}
	}
}

func TestPickFirstSticksToOne(t *testing.T) {
	cl := startCluster(t, fakeserver.Config{})
	r := lb.NewStaticResolver(cl.Addrs()...)
	c := dial(t, lb.Config{Policy: lb.PickFirst}, r)
	const n = 300
	mustLoad(t, c, 4, n)
	d := getUserCalls(cl)
	t.Logf("pick_first per-backend GetUser calls: %v", d)
	if d[0] != n || d[1] != 0 || d[2] != 0 {
		t.Errorf("per-backend calls %v, want all %d on the first address", d, n)
	}
}

func TestWeightedRoundRobinAvoidsBusyBackend(t *testing.T) {
	period := 100 * time.Millisecond
	for _, tt := range []struct {
		name string
		cfg  lb.Config
		// prime loads the backends through another ClientConn first.
		// grpc-go's ORCA service sends an out-of-band report when the
		// stream opens and then at most every 30s (its floor, whatever
		// the client asks), so the one report this test can see must
		// already carry load: qps and utilization.
		prime bool
	}{
		{"per-call ORCA trailers", lb.Config{Policy: lb.WeightedRoundRobin, BlackoutPeriod: &period, WeightUpdatePeriod: &period}, false},
		{"out-of-band ORCA stream", lb.Config{Policy: lb.WeightedRoundRobin, BlackoutPeriod: &period, WeightUpdatePeriod: &period,
			EnableOOBLoadReport: true, OOBReportingPeriod: &period}, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			hi, lo := 0.9, 0.1
			cl := startCluster(t, fakeserver.Config{Faults: []fakeserver.Fault{
				{Backend: fakeserver.IntList{0}, ORCA: &fakeserver.ORCA{Utilization: &hi}},
				{Backend: fakeserver.IntList{1, 2}, ORCA: &fakeserver.ORCA{Utilization: &lo}},
			}})
			r := lb.NewStaticResolver(cl.Addrs()...)
			if tt.prime {
				load(t, dial(t, lb.Config{}, r), 2, 20000, 600*time.Millisecond)
			}
			c := dial(t, tt.cfg, r)
			warmUp(t, cl, c, 0, 1, 2)
			// Let every backend report load for longer than the blackout
			// period and weights be recomputed a few times.
			load(t, c, 4, 20000, time.Second)

			before := getUserCalls(cl)
			made, failed := load(t, c, 4, 600, 30*time.Second)
			d := delta(getUserCalls(cl), before)
			t.Logf("weighted_round_robin per-backend GetUser calls (utilization 0.9, 0.1, 0.1): %v of %d", d, made)
			if failed > 0 || made < 100 {
				t.Fatalf("%d calls made, %d failed", made, failed)
			}
			// Weights are qps/utilization: the busy backend's weight is far
			// below the others'. Round robin would give it a third. (The two
			// idle backends need not split evenly: their utilization is fixed
			// while qps follows the traffic they get, so weights drift.)
			if share := float64(d[0]) / float64(sum(d)); share > 0.2 {
				t.Errorf("busy backend got %.0f%% of calls (%v), want well under a third", 100*share, d)
			}
			if avg := float64(d[1]+d[2]) / 2; float64(d[0]) > avg/2 {
				t.Errorf("busy backend got %d calls, the others %v on average; want under half", d[0], avg)
			}
		})
	}
}

func TestLeastRequestAvoidsSlowBackend(t *testing.T) {
	cl := startCluster(t, fakeserver.Config{Faults: []fakeserver.Fault{
		{Backend: fakeserver.IntList{0}, Method: fakeserver.MethodList{"GetUser"},
			Latency: &fakeserver.Latency{Dist: fakeserver.DistFixed, Value: 50 * time.Millisecond}},
	}})
	r := lb.NewStaticResolver(cl.Addrs()...)
	c := dial(t, lb.Config{Policy: lb.LeastRequest}, r)
	warmUp(t, cl, c, 0, 1, 2)

	before := getUserCalls(cl)
	made, failed := load(t, c, 8, 1500, 30*time.Second)
	d := delta(getUserCalls(cl), before)
	t.Logf("least_request per-backend GetUser calls (backend 0 +50ms): %v of %d", d, made)
	if failed > 0 || made < 100 {
		t.Fatalf("%d calls made, %d failed", made, failed)
	}
	// Round robin would send a third of the calls to the slow backend.
	// least_request samples 2 backends with replacement, so the slow one is
	// still picked when both samples land on it: about 1/9 of the calls.
	if share := float64(d[0]) / float64(sum(d)); share > 1.0/6 {
		t.Errorf("slow backend got %.1f%% of calls (%v), want under half of round robin's third", 100*share, d)
	}
}

func TestRingHashKeepsKeyOnOneBackend(t *testing.T) {
	cl := startCluster(t, fakeserver.Config{})
	r := lb.NewStaticResolver(cl.Addrs()...)
	c := dial(t, lb.Config{Policy: lb.RingHash, HashHeader: "x-user-key", MinRingSize: 64, MaxRingSize: 256}, r)

	used := map[int]bool{}
	for k := range 20 {
		key := fmt.Sprintf("user-%d", k)
		before := getUserCalls(cl)
		for range 20 {
			if err := call(context.Background(), c, "x-user-key", key); err != nil {
				t.Fatalf("key %s: %v", key, err)
			}
		}
		d := delta(getUserCalls(cl), before)
		hit := -1
		for i, n := range d {
			if n == 0 {
				continue
			}
			if hit >= 0 || n != 20 {
				t.Fatalf("key %s spread over backends: %v", key, d)
			}
			hit = i
		}
		used[hit] = true
	}
	if len(used) < 2 {
		t.Errorf("20 keys all hashed to backends %v; the ring should spread keys", used)
	}
}

func TestHealthCheckSkipsNotServingBackend(t *testing.T) {
	for _, tt := range []struct {
		health  bool
		wantHit bool
	}{{health: true, wantHit: false}, {health: false, wantHit: true}} {
		t.Run(fmt.Sprintf("health_check=%v", tt.health), func(t *testing.T) {
			cl := startCluster(t, fakeserver.Config{Faults: []fakeserver.Fault{
				{Backend: fakeserver.IntList{1}, Health: &fakeserver.Health{Status: "NOT_SERVING"}},
			}})
			r := lb.NewStaticResolver(cl.Addrs()...)
			c := dial(t, lb.Config{Policy: lb.RoundRobin, HealthCheck: tt.health}, r)
			warmUp(t, cl, c, 0, 2)
			const n = 300
			mustLoad(t, c, 2, n)
			d := getUserCalls(cl)
			t.Logf("per-backend GetUser calls, backend 1 NOT_SERVING: %v", d)
			if hit := d[1] > 0; hit != tt.wantHit {
				t.Errorf("NOT_SERVING backend got %d calls with health_check=%v", d[1], tt.health)
			}
		})
	}
}

func TestSetAddrsDrainsAndAddsAcrossConns(t *testing.T) {
	cl := startCluster(t, fakeserver.Config{})
	addrs := cl.Addrs()
	r := lb.NewStaticResolver(addrs[:2]...)

	// A pool of three ClientConns built through one resolver.
	var clients []userpb.UserServiceClient
	for range 3 {
		clients = append(clients, dial(t, lb.Config{}, r))
	}
	phase := func(n int) []int64 {
		before := getUserCalls(cl)
		for i := range n {
			if err := call(context.Background(), clients[i%len(clients)]); err != nil {
				t.Fatalf("call %d: %v", i, err)
			}
		}
		return delta(getUserCalls(cl), before)
	}

	d := phase(150)
	if d[2] != 0 || d[0] == 0 || d[1] == 0 {
		t.Fatalf("with backends 0,1 resolved, calls went %v", d)
	}
	if got := r.Conns(); got != 3 {
		t.Fatalf("resolver serves %d ClientConns, want 3", got)
	}

	// Add backend 2: every ClientConn starts using it.
	if err := r.SetAddrs(addrs); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for getUserCalls(cl)[2] == 0 && time.Now().Before(deadline) {
		phase(3)
	}
	warm := time.Now().Add(10 * time.Second)
	for ; time.Now().Before(warm); time.Sleep(10 * time.Millisecond) {
		// Wait until backend 2 holds a connection from each ClientConn.
		if cl.Stats().Backends[2].Connections == 3 {
			break
		}
		phase(3)
	}
	d = phase(300)
	t.Logf("after adding backend 2: %v", d)
	if d[2] == 0 {
		t.Fatalf("added backend got no calls: %v", d)
	}

	// Remove backend 0: no new call reaches it, from any ClientConn.
	if err := r.SetAddrs(addrs[1:]); err != nil {
		t.Fatal(err)
	}
	d = phase(300)
	t.Logf("after removing backend 0: %v", d)
	if d[0] != 0 {
		t.Errorf("removed backend still got %d calls", d[0])
	}
	if d[1] == 0 || d[2] == 0 {
		t.Errorf("remaining backends %v should share the calls", d[1:])
	}
}

func TestFileSourceDrivesClientConn(t *testing.T) {
	cl := startCluster(t, fakeserver.Config{Backends: 2})
	addrs := cl.Addrs()
	path := filepath.Join(t.TempDir(), "backends.txt")
	writeAtomic(t, path, addrs[0]+"\n")

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	r := lb.NewStaticResolver()
	b, err := lb.Bind(ctx, lb.File(path, 10*time.Millisecond), r, func(err error) { t.Errorf("source: %v", err) })
	if err != nil {
		t.Fatal(err)
	}
	c := dial(t, lb.Config{}, r)
	mustLoad(t, c, 1, 50)
	if d := getUserCalls(cl); d[0] != 50 || d[1] != 0 {
		t.Fatalf("calls %v, want all on backend 0", d)
	}

	writeAtomic(t, path, addrs[1]+"\n")
	deadline := time.Now().Add(10 * time.Second)
	for getUserCalls(cl)[1] == 0 && time.Now().Before(deadline) {
		_ = call(ctx, c)
	}
	before := getUserCalls(cl)
	mustLoad(t, c, 1, 50)
	if d := delta(getUserCalls(cl), before); d[0] != 0 || d[1] != 50 {
		t.Fatalf("after the file switched to backend 1, calls went %v", d)
	}
	cancel()
	if err := b.Wait(); err != context.Canceled {
		t.Errorf("Wait() = %v", err)
	}
}
