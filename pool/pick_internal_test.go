package pool

import (
	"context"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/connectivity"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/grpcbench/grpcbench/internal/testutil"
)

// idlePool makes a pool whose connections never connect (no call is made),
// so the tests below control the in-flight counts and cached states.
func idlePool(t *testing.T, size int, pick Pick) *Pool {
	t.Helper()
	p, err := New(context.Background(), "127.0.0.1:1", Config{Size: size, Pick: pick},
		grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Close() })
	return p
}

func TestChooseTable(t *testing.T) {
	tests := []struct {
		name     string
		pick     Pick
		inflight []int64
		states   []connectivity.State
		// want counts picks per slot over 12 choices.
		want []int
	}{
		{"round robin", PickRoundRobin, nil, nil, []int{4, 4, 4}},
		{"least inflight avoids busy", PickLeastInflight, []int64{5, 0, 0}, nil, []int{0, 8, 4}},
		{"least inflight prefers the least", PickLeastInflight, []int64{3, 1, 2}, nil, []int{0, 12, 0}},
		{"first ready skips not ready", PickFirstReady, nil,
			[]connectivity.State{connectivity.TransientFailure, connectivity.Ready, connectivity.Connecting}, []int{0, 12, 0}},
		{"first ready takes idle", PickFirstReady, nil,
			[]connectivity.State{connectivity.Idle, connectivity.TransientFailure, connectivity.Ready}, []int{4, 0, 8}},
		{"first ready with none ready falls back to round robin", PickFirstReady, nil,
			[]connectivity.State{connectivity.TransientFailure, connectivity.Connecting, connectivity.TransientFailure}, []int{4, 4, 4}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := idlePool(t, 3, tt.pick)
			for i, n := range tt.inflight {
				p.slots[i].cur.Load().inflight.Store(n)
			}
			for i, st := range tt.states {
				p.slots[i].cur.Load().state.Store(int32(st))
			}
			got := make([]int, 3)
			for range 12 {
				got[p.choose()]++
			}
			for i := range got {
				if got[i] != tt.want[i] {
					t.Fatalf("picks per slot = %v, want %v", got, tt.want)
				}
			}
			for i := range tt.inflight {
				p.slots[i].cur.Load().inflight.Store(0)
			}
		})
	}
}

func TestPickAllocs(t *testing.T) {
	for _, pick := range picks {
		t.Run(string(pick), func(t *testing.T) {
			p := idlePool(t, 4, pick)
			if n := testing.AllocsPerRun(1000, func() { p.release(p.acquire()) }); n != 0 {
				t.Fatalf("acquire+release allocates %.1f times, want 0", n)
			}
		})
	}
}

func BenchmarkPick(b *testing.B) {
	for _, pick := range picks {
		b.Run(string(pick), func(b *testing.B) {
			p, err := New(context.Background(), "127.0.0.1:1", Config{Size: 4, Pick: pick},
				grpc.WithTransportCredentials(insecure.NewCredentials()))
			if err != nil {
				b.Fatal(err)
			}
			defer p.Close()
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					p.release(p.acquire())
				}
			})
		})
	}
}

// TestStreamReleasesOnce: however many of a stream's end paths run — the
// caller's (RecvMsg, SendMsg, Header errors: finish) and its context's
// (AfterFunc: end) — its connection is released exactly once.
func TestStreamReleasesOnce(t *testing.T) {
	p := idlePool(t, 1, PickRoundRobin)
	inflight := func() int64 { return p.slots[0].cur.Load().inflight.Load() }
	open := func(ctx context.Context) *stream {
		s := &stream{p: p, c: p.acquire(), serverStreams: true}
		s.stop = context.AfterFunc(ctx, s.end)
		return s
	}

	// The caller ends it first: the context's callback is dropped.
	ctx, cancel := context.WithCancel(context.Background())
	s := open(ctx)
	s.finish()
	s.finish()
	s.end()
	if n := inflight(); n != 0 {
		t.Fatalf("in flight %d after three ends by the caller, want 0", n)
	}
	cancel() // a no-op for the released stream: its callback was stopped
	if s.stop() {
		t.Fatal("the context callback was still registered after finish")
	}

	// The context ends it first; the caller's later ends are no-ops.
	ctx, cancel = context.WithCancel(context.Background())
	s = open(ctx)
	cancel()
	testutil.Eventually(t, 5*time.Second, "the context callback to release the stream", func() bool { return inflight() == 0 })
	s.finish()
	s.end()
	if n := inflight(); n != 0 {
		t.Fatalf("in flight %d after the context and the caller ended the stream, want 0", n)
	}
}
