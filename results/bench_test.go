package results_test

import (
	"runtime"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"

	"github.com/grpcbench/grpcbench/results"
)

// latencies is a realistic spread (≈100 µs–20 ms) cycled through by the
// benchmarks, so the histograms' buckets are populated as in a real run.
func latencies() []time.Duration {
	d := randomDurations(42, 4096)
	for i := range d {
		d[i] = min(max(d[i]/50, 100*time.Microsecond), 20*time.Millisecond)
	}
	return d
}

// BenchmarkShardCall measures one recorded call (latency, service time,
// per-second series and live counters) after warm-up. Goal: 0 allocs/op.
func BenchmarkShardCall(b *testing.B) {
	r := results.NewRecorder([]string{"GetUser"}, time.Time{})
	benchShardCalls(b, r.Shard())
}

// benchShardCalls records 100,000 calls on s to populate its histograms'
// buckets and first seconds, then b.N more under the timer: one failed
// call in 64. A worker's completion offsets move forward: here 20,000
// calls a second, so the benchmark also pays for handing each finished
// second to the recorder.
func benchShardCalls(b *testing.B, s *results.Shard) {
	lat := latencies()
	const perSecond = 20000
	at := func(i int) time.Duration { return time.Duration(i) * time.Second / perSecond }
	for i := range 100000 {
		s.Call(0, codes.OK, lat[i&4095], lat[i&4095]/2, at(i))
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		d := lat[i&4095]
		code := codes.OK
		if i&63 == 0 {
			code = codes.Unavailable
		}
		s.Call(0, code, d, d/2, at(100000+i))
	}
}

// BenchmarkShardCallFullUnary records what the runner records for one unary
// call through the stack: call, one attempt, attempts count, lag and peer.
func BenchmarkShardCallFullUnary(b *testing.B) {
	lat := latencies()
	r := results.NewRecorder([]string{"GetUser"}, time.Time{})
	s := r.Shard()
	for i := range 100000 {
		s.Call(0, codes.OK, lat[i&4095], lat[i&4095]/2, 0)
		s.Attempt(0, lat[i&4095])
		s.Lag(lat[i&4095] / 10)
		s.Peer("127.0.0.1:1")
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		d := lat[i&4095]
		s.Call(0, codes.OK, d, d/2, 0)
		s.Attempt(0, d/2)
		s.CallAttempts(1)
		s.Lag(d / 10)
		s.Peer("127.0.0.1:1")
	}
}

// TestShardCallAllocs asserts the zero-allocation property outside the
// benchmark harness.
func TestShardCallAllocs(t *testing.T) {
	lat := latencies()
	r := results.NewRecorder([]string{"GetUser"}, time.Time{})
	s := r.Shard()
	for i := range 50000 {
		s.Call(0, codes.OK, lat[i&4095], lat[i&4095], 0)
		s.Attempt(0, lat[i&4095])
		s.Lag(lat[i&4095] / 10)
		s.Peer("127.0.0.1:1")
		s.Backend("127.0.0.1:1", 0)
	}
	i := 0
	allocs := testing.AllocsPerRun(10000, func() {
		d := lat[i&4095]
		i++
		s.Call(0, codes.Unavailable, d, d, 0)
		s.Attempt(0, d)
		s.CallAttempts(2)
		s.Lag(d / 10)
		s.Peer("127.0.0.1:1")
		s.Backend("127.0.0.1:1", 0)
	})
	if allocs != 0 {
		t.Fatalf("%v allocations per recorded call, want 0", allocs)
	}
}

// BenchmarkRecorderMemory records a 60 s run with 64 workers (4 methods,
// 200 calls/s per worker, latencies 100 µs–20 ms) and reports the heap held
// by the recorder and the size of the merged cell's JSON.
func BenchmarkRecorderMemory(b *testing.B) {
	lat := latencies()
	methods := []string{"GetUser", "ListUsers", "BatchCreateUsers", "SyncUsers"}
	for n := 0; n < b.N; n++ {
		runtime.GC()
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		r := results.NewRecorder(methods, time.Time{})
		shards := make([]*results.Shard, 64)
		for w := range shards {
			shards[w] = r.Shard()
		}
		i := 0
		for sec := range 60 {
			for range 200 {
				for w, s := range shards {
					d := lat[(i+w*7)&4095]
					m := i % len(methods)
					s.Call(m, codes.OK, d, d/2, time.Duration(sec)*time.Second+time.Millisecond)
					s.Attempt(m, d/2)
					if m == 1 {
						s.TTFM(m, d/3)
					}
					if m == 3 {
						s.MessageRTT(m, d/4)
					}
					i++
				}
			}
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/(1<<20), "MiB-held")
		c := r.Cell()
		c.ID = "x"
		var sb strings.Builder
		if err := results.Encode(&sb, &results.Run{Cells: []*results.Cell{c}}); err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(sb.Len())/1024, "KiB-json")
		runtime.KeepAlive(shards)
	}
}

func BenchmarkEncodeDecode(b *testing.B) {
	run := fullRun(b)
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		var sb strings.Builder
		if err := results.Encode(&sb, run); err != nil {
			b.Fatal(err)
		}
		if _, err := results.Decode(strings.NewReader(sb.String())); err != nil {
			b.Fatal(err)
		}
	}
}
