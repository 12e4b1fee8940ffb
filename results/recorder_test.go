package results_test

import (
	"maps"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc/codes"

	"github.com/grpcbench/grpcbench/results"
)

var testMethods = []string{"GetUser", "ListUsers", "SyncUsers"}

type event struct {
	method   int
	code     codes.Code
	lat, svc time.Duration
	at       time.Duration
}

func randomEvents(seed uint64, n int) []event {
	r := rand.New(rand.NewPCG(seed, 2))
	lat := randomDurations(seed, n)
	out := make([]event, n)
	for i := range out {
		code := codes.OK
		if r.IntN(10) == 0 {
			code = codes.Code(r.IntN(18)) // includes a non-standard code 17
		}
		out[i] = event{
			method: r.IntN(len(testMethods)),
			code:   code,
			lat:    lat[i],
			svc:    lat[i] / 2,
			at:     time.Duration(r.Int64N(int64(5 * time.Second))),
		}
	}
	return out
}

// Recording into many shards and merging gives exactly the histograms and
// counters of recording everything into one shard.
func TestRecorderMergeEqualsSingle(t *testing.T) {
	events := randomEvents(5, 30000)
	start := time.Unix(1700000000, 0)

	single := results.NewRecorder(testMethods, start)
	one := single.Shard()
	many := results.NewRecorder(testMethods, start)
	shards := make([]*results.Shard, 7)
	for i := range shards {
		shards[i] = many.Shard()
	}
	for i, e := range events {
		for _, s := range []*results.Shard{one, shards[i%len(shards)]} {
			s.Call(e.method, e.code, e.lat, e.svc, e.at)
			s.Attempt(e.method, e.svc)
			if e.method == 1 {
				s.TTFM(e.method, e.svc/3)
			}
			if e.method == 2 {
				s.MessageRTT(e.method, e.svc/4)
			}
			s.CallAttempts(1 + i%3)
			s.Lag(time.Duration(i))
			s.Bytes(10, 20)
			s.Peer([]string{"127.0.0.1:1", "127.0.0.1:2"}[i%2])
		}
	}
	want, got := single.Cell(), many.Cell()

	if !got.Start.Equal(start) {
		t.Errorf("Start = %v", got.Start)
	}
	if len(got.Methods) != len(testMethods) {
		t.Fatalf("methods %v", got.Methods)
	}
	var calls, errs int64
	for name, w := range want.Methods {
		g := got.Methods[name]
		if g.Calls != w.Calls || g.Errors != w.Errors {
			t.Errorf("%s: calls/errors %d/%d, want %d/%d", name, g.Calls, g.Errors, w.Calls, w.Errors)
		}
		if len(g.Codes) != len(w.Codes) {
			t.Errorf("%s: codes %v, want %v", name, g.Codes, w.Codes)
		}
		for k, n := range w.Codes {
			if g.Codes[k] != n {
				t.Errorf("%s: code %s = %d, want %d", name, k, g.Codes[k], n)
			}
		}
		sameBuckets(t, name+" latency", g.Latency, w.Latency)
		sameBuckets(t, name+" service", g.Service, w.Service)
		sameBuckets(t, name+" attempt", g.Attempt, w.Attempt)
		sameBuckets(t, name+" ok", g.OK, w.OK)
		if g.OK.Count() != w.Codes["OK"] {
			t.Errorf("%s: %d OK latencies, want one per OK call (%d)", name, g.OK.Count(), w.Codes["OK"])
		}
		calls += w.Calls
		errs += w.Errors
	}
	sameBuckets(t, "ttfm", got.Methods["ListUsers"].TTFM, want.Methods["ListUsers"].TTFM)
	sameBuckets(t, "rtt", got.Methods["SyncUsers"].MessageRTT, want.Methods["SyncUsers"].MessageRTT)
	if got.Methods["GetUser"].TTFM != nil || got.Methods["GetUser"].MessageRTT != nil {
		t.Error("GetUser has stream histograms it never recorded")
	}
	if got.Methods["SyncUsers"].Codes["CODE_17"] == 0 {
		t.Error("non-standard status code 17 was not counted")
	}
	sameBuckets(t, "all latency", got.All.Latency, want.All.Latency)
	sameBuckets(t, "all ok", got.All.OK, want.All.OK)
	if got.All.Calls != int64(len(events)) || got.All.Calls != calls || got.All.Errors != errs {
		t.Errorf("all: %d calls %d errors, want %d, %d", got.All.Calls, got.All.Errors, calls, errs)
	}
	if got.Load.Completed != int64(len(events)) || got.Load.MaxLag != time.Duration(len(events)-1) {
		t.Errorf("load = %+v", got.Load)
	}
	if got.BytesSent != 10*int64(len(events)) || got.BytesReceived != 20*int64(len(events)) {
		t.Errorf("bytes = %d/%d", got.BytesSent, got.BytesReceived)
	}
	if len(got.Backends) != 2 || got.Backends[0].Addr != "127.0.0.1:1" || got.Backends[0].ClientCalls+got.Backends[1].ClientCalls != int64(len(events)) {
		t.Errorf("backends = %+v", got.Backends)
	}
	if got.Retry.Calls != int64(len(events)) || got.Retry.Attempts != want.Retry.Attempts || got.Retry.Retried != want.Retry.Retried {
		t.Errorf("retry = %+v, want %+v", got.Retry, want.Retry)
	}

	if len(got.Series) != 5 || len(want.Series) != 5 {
		t.Fatalf("series lengths %d, %d, want 5", len(got.Series), len(want.Series))
	}
	var seriesCalls int64
	for i := range got.Series {
		g, w := got.Series[i], want.Series[i]
		if g != w {
			t.Errorf("second %d: %+v, want %+v", i, g, w)
		}
		seriesCalls += g.Calls
		if g.T != i || g.P99 < g.P50 || g.Max < g.P99 || g.HDR == "" {
			t.Errorf("second %d malformed: %+v", i, g)
		}
	}
	if seriesCalls != int64(len(events)) {
		t.Errorf("series calls %d, want %d", seriesCalls, len(events))
	}
}

// Failed calls count in Latency but not in OK: with fast failures and slow
// successes the two disagree as they should.
func TestRecorderOKLatency(t *testing.T) {
	r := results.NewRecorder([]string{"grpc.testing.TestService/UnaryCall"}, time.Time{})
	s := r.Shard()
	for i := range 1000 {
		if i%2 == 0 {
			s.Call(0, codes.Unavailable, time.Millisecond, time.Millisecond, 0) // fast failure
		} else {
			s.Call(0, codes.OK, 100*time.Millisecond, 90*time.Millisecond, 0) // slow success
		}
	}
	c := r.Cell()
	m := c.Methods["grpc.testing.TestService/UnaryCall"]
	if m.Latency.Count() != 1000 || m.OK.Count() != 500 || c.All.OK.Count() != 500 {
		t.Fatalf("latency %d, ok %d, all ok %d values; want 1000, 500, 500", m.Latency.Count(), m.OK.Count(), c.All.OK.Count())
	}
	if p50 := m.Latency.Quantile(0.5); p50 > 2*time.Millisecond {
		t.Errorf("p50 of all calls = %v, want the fast failures (1ms)", p50)
	}
	if p50 := m.OK.Quantile(0.5); p50 < 99*time.Millisecond {
		t.Errorf("p50 of OK calls = %v, want the slow successes (100ms)", p50)
	}

	// Every call failed: no OK histogram at all.
	r = results.NewRecorder([]string{"m"}, time.Time{})
	r.Shard().Call(0, codes.Internal, time.Millisecond, time.Millisecond, 0)
	if ok := r.Cell().Methods["m"].OK; ok != nil {
		t.Errorf("OK histogram = %v values for a method without a successful call, want nil", ok.Count())
	}
}

func TestRecorderSeriesPlacement(t *testing.T) {
	tests := []struct {
		name    string
		at      time.Duration
		wantLen int
		wantT   int
	}{
		{"negative offset goes to second 0", -time.Second, 1, 0},
		{"zero", 0, 1, 0},
		{"just before 3s", 3*time.Second - 1, 3, 2},
		{"3s", 3 * time.Second, 4, 3},
		{"beyond the bound goes to the last second", 1000 * time.Hour, results.MaxSeriesSeconds, results.MaxSeriesSeconds - 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := results.NewRecorder([]string{"GetUser"}, time.Time{})
			r.Shard().Call(0, codes.Unavailable, 7*time.Millisecond, time.Millisecond, tt.at)
			c := r.Cell()
			if len(c.Series) != tt.wantLen {
				t.Fatalf("len(series) = %d, want %d", len(c.Series), tt.wantLen)
			}
			s := c.Series[tt.wantT]
			if s.T != tt.wantT || s.Calls != 1 || s.Errors != 1 || s.P99 < 7*time.Millisecond || s.P99 > 7100*time.Microsecond {
				t.Fatalf("second = %+v", s)
			}
		})
	}
}

func TestShardCallAttempts(t *testing.T) {
	tests := []struct {
		name                  string
		attempts              []int
		calls, total, retried int64
		perCall               []int64
		retriesPerCall        float64
	}{
		{"none recorded", nil, 0, 0, 0, nil, 0},
		{"no retries", []int{1, 1, 1}, 3, 3, 0, []int64{0, 3}, 0},
		{"rejected before first attempt", []int{0, 1}, 2, 1, 0, []int64{1, 1}, -0.5},
		{"mixed", []int{1, 2, 4}, 3, 7, 2, []int64{0, 1, 1, 0, 1}, 4.0 / 3},
		{"beyond the tracked range", []int{20}, 1, 20, 1, func() []int64 {
			p := make([]int64, results.MaxAttemptsTracked+1)
			p[results.MaxAttemptsTracked] = 1
			return p
		}(), 19},
		{"negative is zero", []int{-3}, 1, 0, 0, []int64{1}, -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := results.NewRecorder([]string{"GetUser"}, time.Time{})
			s := r.Shard()
			for _, n := range tt.attempts {
				s.CallAttempts(n)
			}
			got := r.Cell().Retry
			if got.Calls != tt.calls || got.Attempts != tt.total || got.Retried != tt.retried {
				t.Fatalf("retry = %+v", got)
			}
			if len(got.AttemptsPerCall) != len(tt.perCall) {
				t.Fatalf("attempts per call = %v, want %v", got.AttemptsPerCall, tt.perCall)
			}
			for i := range tt.perCall {
				if got.AttemptsPerCall[i] != tt.perCall[i] {
					t.Fatalf("attempts per call = %v, want %v", got.AttemptsPerCall, tt.perCall)
				}
			}
			if rpc := got.RetriesPerCall(); rpc != tt.retriesPerCall {
				t.Fatalf("RetriesPerCall = %v, want %v", rpc, tt.retriesPerCall)
			}
		})
	}
}

func TestRecorderEmpty(t *testing.T) {
	r := results.NewRecorder(testMethods, time.Time{})
	_ = r.Shard()
	c := r.Cell()
	if c.Methods != nil || c.All != nil || c.Series != nil || c.Backends != nil || c.Load.Completed != 0 {
		t.Fatalf("empty recorder produced %+v", c)
	}
	if c.ErrorRate() != 0 || c.Rate() != 0 {
		t.Fatal("empty cell has rates")
	}
	if l := r.Live(); l.Calls != 0 || l.Quantile(0.99) != 0 {
		t.Fatalf("live = %+v", l)
	}
}

// Many goroutines, each with its own shard, record while another reads the
// live snapshot; the merged cell accounts for every call. Run with -race.
func TestRecorderConcurrentShards(t *testing.T) {
	const workers, perWorker = 16, 2000
	r := results.NewRecorder(testMethods, time.Now())
	var wg sync.WaitGroup
	stop := make(chan struct{})
	liveDone := make(chan results.LiveSnapshot)
	go func() {
		var last results.LiveSnapshot
		for {
			select {
			case <-stop:
				liveDone <- last
				return
			default:
			}
			now := r.Live()
			if now.Calls < last.Calls {
				t.Errorf("live calls went backwards: %d < %d", now.Calls, last.Calls)
			}
			last = now
			time.Sleep(100 * time.Microsecond)
		}
	}()
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s := r.Shard()
			for i := range perWorker {
				code := codes.OK
				if i%10 == 0 {
					code = codes.Unavailable
				}
				d := time.Duration(100+w*10+i) * time.Microsecond
				s.Call(i%len(testMethods), code, d, d/2, time.Duration(i)*time.Millisecond)
				s.Attempt(i%len(testMethods), d/2)
			}
		}()
	}
	wg.Wait()
	close(stop)
	<-liveDone

	c := r.Cell()
	if c.All.Calls != workers*perWorker || c.All.Errors != workers*perWorker/10 {
		t.Fatalf("all = %d calls, %d errors", c.All.Calls, c.All.Errors)
	}
	if c.All.Latency.Count() != workers*perWorker || c.All.Attempt.Count() != workers*perWorker {
		t.Fatalf("histogram counts %d, %d", c.All.Latency.Count(), c.All.Attempt.Count())
	}
	live := r.Live()
	if live.Calls != workers*perWorker || live.Errors != workers*perWorker/10 {
		t.Fatalf("final live = %d calls %d errors", live.Calls, live.Errors)
	}
}

func TestLiveSnapshotQuantile(t *testing.T) {
	r := results.NewRecorder([]string{"GetUser"}, time.Time{})
	s := r.Shard()
	for i := 1; i <= 1000; i++ {
		s.Call(0, codes.OK, time.Duration(i)*time.Microsecond*100, 0, 0)
	}
	first := r.Live()
	tests := []struct {
		q    float64
		want time.Duration
	}{
		{0.5, 50 * time.Millisecond}, {0.99, 99 * time.Millisecond}, {1, 100 * time.Millisecond},
	}
	for _, tt := range tests {
		got := first.Quantile(tt.q)
		// Coarse buckets: the upper bound, at most 12.5 % above.
		if got < tt.want || float64(got) > float64(tt.want)*1.125 {
			t.Errorf("live Quantile(%v) = %v, want within 12.5%% above %v", tt.q, got, tt.want)
		}
	}
	// Then one slow second: the interval p99 sees only it.
	for range 100 {
		s.Call(0, codes.Internal, 2*time.Second, 0, time.Second)
	}
	d := r.Live().Sub(first)
	if d.Calls != 100 || d.Errors != 100 {
		t.Fatalf("interval = %d calls %d errors", d.Calls, d.Errors)
	}
	if p := d.Quantile(0.99); p < 2*time.Second || p > 2250*time.Millisecond {
		t.Fatalf("interval p99 = %v, want ≈2s", p)
	}
	// Beyond the histogram: clamped into the last buckets, not lost.
	s.Call(0, codes.OK, time.Hour, 0, 0)
	if p := r.Live().Quantile(1); p < 60*time.Second {
		t.Fatalf("max live = %v", p)
	}
}

// TestRecorderBackendSeries checks that attempts counted per backend land
// in their second, summed exactly over shards, whether or not the shard
// sealed the second before the cell was taken.
func TestRecorderBackendSeries(t *testing.T) {
	r := results.NewRecorder([]string{"GetUser"}, time.Time{})
	a, b := r.Shard(), r.Shard()
	for i := range 10 {
		at := time.Duration(i) * 300 * time.Millisecond // seconds 0..2
		a.Call(0, codes.OK, time.Millisecond, time.Millisecond, at)
		a.Backend("10.0.0.1:1", at)
		b.Call(0, codes.OK, time.Millisecond, time.Millisecond, at)
		b.Backend("10.0.0.2:1", at)
		b.Backend("10.0.0.1:1", at) // a retry on the other backend
	}
	c := r.Cell()
	want := []map[string]int64{
		{"10.0.0.1:1": 8, "10.0.0.2:1": 4},
		{"10.0.0.1:1": 6, "10.0.0.2:1": 3},
		{"10.0.0.1:1": 6, "10.0.0.2:1": 3},
	}
	if len(c.BackendSeries) != len(want) {
		t.Fatalf("BackendSeries = %+v, want %d seconds", c.BackendSeries, len(want))
	}
	for i, s := range c.BackendSeries {
		if s.T != i || !maps.Equal(s.Calls, want[i]) {
			t.Errorf("second %d = %+v, want T=%d %v", i, s, i, want[i])
		}
	}
}
