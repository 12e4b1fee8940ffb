package results_test

import (
	"testing"
	"time"

	"google.golang.org/grpc/codes"

	"github.com/grpcbench/grpcbench/results"
)

// Calls recorded by several shards in random order (many land in seconds
// already delivered) reach the subscriber exactly once: the intervals add up
// to the cell's per-method counts, codes and series histograms.
func TestIntervalsAddUpToTheCell(t *testing.T) {
	r := results.NewRecorder(testMethods, time.Time{})
	var got []results.Interval
	r.OnInterval(func(iv results.Interval) { got = append(got, iv) })
	shards := []*results.Shard{r.Shard(), r.Shard(), r.Shard()}
	events := randomEvents(3, 30000)
	for i, e := range events {
		shards[i%len(shards)].Call(e.method, e.code, e.lat, e.svc, e.at)
	}
	c := r.Cell()
	if again := r.Cell(); again.All.Calls != c.All.Calls {
		t.Fatalf("a second Cell() differs: %d calls, then %d", c.All.Calls, again.All.Calls)
	}

	sum := make([]results.MethodStats, len(testMethods))
	lat := results.NewHistogram()
	seriesLat := results.NewHistogram()
	for _, iv := range got {
		if iv.T < 0 || iv.T >= 5 || len(iv.Methods) != len(testMethods) {
			t.Fatalf("interval T=%d with %d methods", iv.T, len(iv.Methods))
		}
		for m, im := range iv.Methods {
			if im.Calls == 0 {
				if im.Codes != nil || im.Latency != nil {
					t.Fatalf("empty method %d carries data: %+v", m, im)
				}
				continue
			}
			s := &sum[m]
			s.Calls += im.Calls
			s.Errors += im.Errors
			if im.Latency.Count() != im.Calls {
				t.Fatalf("T=%d %s: histogram count %d, calls %d", iv.T, testMethods[m], im.Latency.Count(), im.Calls)
			}
			lat.Merge(im.Latency)
			for k, n := range im.Codes {
				if s.Codes == nil {
					s.Codes = map[string]int64{}
				}
				s.Codes[k] += n
			}
		}
	}
	for _, sec := range c.Series {
		h, err := results.DecodeHistogram(sec.HDR)
		if sec.HDR != "" && err != nil {
			t.Fatal(err)
		}
		seriesLat.Merge(h)
	}
	for m, name := range testMethods {
		want, s := c.Methods[name], sum[m]
		if s.Calls != want.Calls || s.Errors != want.Errors {
			t.Errorf("%s: intervals %d calls %d errors, cell %d, %d", name, s.Calls, s.Errors, want.Calls, want.Errors)
		}
		for k, n := range want.Codes {
			if k == "CODE_17" {
				k = results.OtherCodes
			}
			if s.Codes[k] != n {
				t.Errorf("%s: code %s: intervals %d, cell %d", name, k, s.Codes[k], n)
			}
		}
	}
	if lat.Count() != int64(len(events)) || lat.Quantile(0.99) != seriesLat.Quantile(0.99) || lat.Max() != seriesLat.Max() {
		t.Errorf("interval latency: count %d p99 %v max %v; series: count %d p99 %v max %v",
			lat.Count(), lat.Quantile(0.99), lat.Max(), seriesLat.Count(), seriesLat.Quantile(0.99), seriesLat.Max())
	}
}

// A call that completes in a second already delivered is delivered again
// with the same T, alone; in-order seconds arrive in order, each once.
func TestIntervalLateCallIsDeliveredAgain(t *testing.T) {
	r := results.NewRecorder([]string{"GetUser"}, time.Time{})
	var got []results.Interval
	r.OnInterval(func(iv results.Interval) { got = append(got, iv) })
	a, b := r.Shard(), r.Shard()
	for sec := range 6 {
		for range 10 {
			a.Call(0, codes.OK, time.Millisecond, time.Millisecond, time.Duration(sec)*time.Second)
		}
	}
	// Second 5 is still the shard's own; 0..4 are sealed, and 0..1 are
	// complete (sealLag behind the newest).
	if len(got) != 2 || got[0].T != 0 || got[1].T != 1 {
		t.Fatalf("before the late call: %d intervals %+v", len(got), got)
	}
	b.Call(0, codes.Unavailable, 2*time.Millisecond, time.Millisecond, 0)
	b.Call(0, codes.OK, time.Millisecond, time.Millisecond, 6*time.Second)
	r.Cell()
	seen := map[int]int{}
	var total int64
	var late *results.IntervalMethod
	for i, iv := range got {
		seen[iv.T]++
		total += iv.Methods[0].Calls
		if iv.T == 0 && seen[0] == 2 {
			late = &got[i].Methods[0]
		}
	}
	for sec := range 7 {
		if want := 1 + btoi(sec == 0); seen[sec] != want {
			t.Fatalf("second %d delivered %d times, want %d: %+v", sec, seen[sec], want, got)
		}
	}
	if late == nil || late.Calls != 1 || late.Errors != 1 || late.Codes["UNAVAILABLE"] != 1 || total != 62 {
		t.Fatalf("late delivery %+v, total %d", late, total)
	}
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// BenchmarkShardCallSubscribed is BenchmarkShardCall with an interval
// subscriber: the per-method detail costs nothing per call (0 allocs/op).
func BenchmarkShardCallSubscribed(b *testing.B) {
	r := results.NewRecorder([]string{"GetUser"}, time.Time{})
	var n int64
	r.OnInterval(func(iv results.Interval) { n += iv.Methods[0].Calls })
	benchShardCalls(b, r.Shard())
	b.StopTimer()
	if n == 0 {
		b.Fatal("no interval delivered")
	}
}
