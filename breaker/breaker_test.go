package breaker_test

import (
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/grpcbench/grpcbench/breaker"
	"github.com/grpcbench/grpcbench/internal/testutil"
	"github.com/grpcbench/grpcbench/internal/yamlx"
)

type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

var (
	errUnavailable = status.Error(codes.Unavailable, "down")
	errNotFound    = status.Error(codes.NotFound, "missing")
	errCancelled   = status.Error(codes.Canceled, "caller gave up")
)

// call runs one call through b with outcome err; it reports whether the
// breaker allowed it.
func call(b *breaker.Breaker, err error) bool {
	t, rej := b.Allow()
	if rej != nil {
		return false
	}
	t.Done(err)
	return true
}

func TestStateMachine(t *testing.T) {
	type step struct {
		advance time.Duration
		err     error
		allowed bool
		state   breaker.State // after the step
	}
	ok := (error)(nil)
	tests := []struct {
		name      string
		cfg       breaker.Config
		steps     []step
		trips     int64
		rejected  int64
		timeOpen  time.Duration
		wantTrans string
	}{
		{"consecutive failures trip, probe closes", breaker.Config{FailureThreshold: 3, OpenFor: time.Second},
			[]step{{0, errUnavailable, true, breaker.Closed}, {0, ok, true, breaker.Closed}, // success resets the count
				{0, errUnavailable, true, breaker.Closed}, {0, errUnavailable, true, breaker.Closed}, {0, errUnavailable, true, breaker.Open},
				{500 * time.Millisecond, ok, false, breaker.Open}, {500 * time.Millisecond, ok, true, breaker.Closed}},
			1, 1, time.Second, "closed→open:1 open→half-open:1 half-open→closed:1"},
		{"client errors never count", breaker.Config{FailureThreshold: 2},
			[]step{{0, errNotFound, true, breaker.Closed}, {0, errNotFound, true, breaker.Closed}, {0, errCancelled, true, breaker.Closed},
				{0, status.Error(codes.InvalidArgument, "bad"), true, breaker.Closed}},
			0, 0, 0, ""},
		{"probe failure reopens", breaker.Config{FailureThreshold: 1, OpenFor: time.Second},
			[]step{{0, errUnavailable, true, breaker.Open}, {time.Second, errUnavailable, true, breaker.Open},
				{999 * time.Millisecond, ok, false, breaker.Open}, {time.Millisecond, ok, true, breaker.Closed}},
			2, 1, 2 * time.Second, "closed→open:1 open→half-open:2 half-open→closed:1 half-open→open:1"},
		{"needs all probes to succeed", breaker.Config{FailureThreshold: 1, OpenFor: time.Second, HalfOpenProbes: 2},
			[]step{{0, errUnavailable, true, breaker.Open}, {time.Second, ok, true, breaker.HalfOpen}, {0, ok, true, breaker.Closed}},
			1, 0, time.Second, "closed→open:1 open→half-open:1 half-open→closed:1"},
		{"ratio over window", breaker.Config{FailureRatio: 0.5, MinRequests: 4, Window: 10 * time.Second, OpenFor: time.Second},
			[]step{{0, errUnavailable, true, breaker.Closed}, {0, errUnavailable, true, breaker.Closed}, {0, ok, true, breaker.Closed},
				{0, ok, true, breaker.Open}}, // 2 of 4 failed: 50 % ≥ 50 % with 4 ≥ min_requests
			1, 0, 0, "closed→open:1"},
		{"ratio forgets old buckets", breaker.Config{FailureRatio: 0.5, MinRequests: 3, Window: 10 * time.Second},
			[]step{{0, errUnavailable, true, breaker.Closed}, {0, errUnavailable, true, breaker.Closed},
				{11 * time.Second, ok, true, breaker.Closed}, {0, ok, true, breaker.Closed}, {0, errUnavailable, true, breaker.Closed}},
			0, 0, 0, ""},
		{"off when unconfigured", breaker.Config{},
			[]step{{0, errUnavailable, true, breaker.Closed}, {0, errUnavailable, true, breaker.Closed}, {0, errUnavailable, true, breaker.Closed}},
			0, 0, 0, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk := &fakeClock{now: time.Unix(1000, 0)}
			b := breaker.New(tt.cfg, breaker.WithClock(clk))
			for i, s := range tt.steps {
				clk.Advance(s.advance)
				if got := call(b, s.err); got != s.allowed {
					t.Fatalf("step %d: allowed = %v, want %v", i, got, s.allowed)
				}
				if got := b.State(); got != s.state {
					t.Fatalf("step %d: state %s, want %s", i, got, s.state)
				}
			}
			st := b.Stats()
			if st.Trips != tt.trips || st.Rejections != tt.rejected || st.TimeOpen != tt.timeOpen {
				t.Fatalf("stats %+v; want trips %d, rejections %d, time open %s", st, tt.trips, tt.rejected, tt.timeOpen)
			}
			var parts []string
			for _, tr := range st.Transitions {
				parts = append(parts, tr.From.String()+"→"+tr.To.String()+":"+string(rune('0'+tr.Count)))
			}
			if got := strings.Join(parts, " "); got != tt.wantTrans {
				t.Fatalf("transitions %q, want %q", got, tt.wantTrans)
			}
		})
	}
}

func TestRejectionError(t *testing.T) {
	clk := &fakeClock{now: time.Unix(0, 0)}
	b := breaker.New(breaker.Config{FailureThreshold: 1, OpenFor: time.Second, HalfOpenProbes: 1}, breaker.WithClock(clk))
	call(b, errUnavailable)
	_, err := b.Allow()
	if s := status.Convert(err); s.Code() != codes.Unavailable || !strings.Contains(s.Message(), "circuit breaker is open") {
		t.Fatalf("rejection = %v", err)
	}
	clk.Advance(time.Second)
	probe, err := b.Allow()
	if err != nil {
		t.Fatal(err)
	}
	_, err = b.Allow() // the single probe slot is taken
	if s := status.Convert(err); s.Code() != codes.Unavailable || !strings.Contains(s.Message(), "circuit breaker is open") {
		t.Fatalf("second probe = %v", err)
	}
	probe.Done(nil)
	if b.State() != breaker.Closed {
		t.Fatalf("state %s after a successful probe", b.State())
	}
}

func TestTimeOpenIncludesCurrentPeriod(t *testing.T) {
	clk := &fakeClock{now: time.Unix(0, 0)}
	b := breaker.New(breaker.Config{FailureThreshold: 1, OpenFor: time.Minute}, breaker.WithClock(clk))
	call(b, errUnavailable)
	clk.Advance(7 * time.Second)
	if got := b.Stats().TimeOpen; got != 7*time.Second {
		t.Fatalf("TimeOpen = %s, want 7s", got)
	}
}

func TestStaleOutcomeIgnored(t *testing.T) {
	clk := &fakeClock{now: time.Unix(0, 0)}
	b := breaker.New(breaker.Config{FailureThreshold: 1, OpenFor: time.Second}, breaker.WithClock(clk))
	slow, _ := b.Allow() // starts while closed, ends after the trip and recovery
	call(b, errUnavailable)
	clk.Advance(time.Second)
	call(b, nil) // probe closes it
	slow.Done(errUnavailable)
	if b.State() != breaker.Closed {
		t.Fatalf("a call from before the trip re-opened the breaker")
	}
	if st := b.Stats(); st.Failures != 2 || st.Successes != 1 {
		t.Fatalf("stats %+v: the stale outcome must still be counted", st)
	}
}

// TestConcurrent hammers one breaker from many goroutines under -race and
// checks the counters add up.
func TestConcurrent(t *testing.T) {
	b := breaker.New(breaker.Config{FailureThreshold: 5, FailureRatio: 0.5, MinRequests: 10, Window: time.Second, OpenFor: time.Millisecond, HalfOpenProbes: 2})
	const workers, calls = 16, 2000
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range calls {
				t, err := b.Allow()
				if err != nil {
					continue
				}
				if (i/50+w)%2 == 0 { // bursts of failures trip it, bursts of successes close it
					t.Done(errUnavailable)
				} else {
					t.Done(nil)
				}
			}
		}()
	}
	wg.Wait()
	st := b.Stats()
	if st.Successes+st.Failures+st.Rejections != workers*calls {
		t.Fatalf("successes %d + failures %d + rejections %d != %d calls", st.Successes, st.Failures, st.Rejections, workers*calls)
	}
	var into [3]int64
	for _, tr := range st.Transitions {
		into[tr.To] += tr.Count
	}
	if into[breaker.Open] != st.Trips {
		t.Fatalf("trips %d, transitions into open %d", st.Trips, into[breaker.Open])
	}
	if st.Trips == 0 || st.Rejections == 0 {
		t.Fatalf("the load never tripped the breaker: %+v", st)
	}
	t.Logf("%+v", st)
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name string
		cfg  breaker.Config
		want []string
	}{
		{"zero", breaker.Config{}, nil},
		{"full", breaker.Config{FailureThreshold: 5, FailureRatio: 0.5, Window: time.Second, MinRequests: 10, OpenFor: time.Second,
			HalfOpenProbes: 3, Codes: []codes.Code{codes.Unavailable, codes.Aborted}}, nil},
		{"negatives", breaker.Config{FailureThreshold: -1, Window: -1, MinRequests: -1, OpenFor: -1, HalfOpenProbes: -1},
			[]string{"failure_threshold: must not be negative", "window: must not be negative", "min_requests: must not be negative",
				"open_for: must not be negative", "half_open_probes: must not be negative"}},
		{"ratio", breaker.Config{FailureRatio: 1.5}, []string{"failure_ratio: must be between 0 and 1"}},
		{"client codes", breaker.Config{Codes: []codes.Code{codes.NotFound, codes.InvalidArgument, codes.Unavailable, codes.Unavailable, 40}},
			[]string{"codes[0]: NOT_FOUND describes the request", "codes[1]: INVALID_ARGUMENT describes the request",
				"codes[3]: UNAVAILABLE is listed twice", "codes[4]: unknown status code 40"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { testutil.FieldErrors(t, tt.cfg.Validate(), tt.want...) })
	}
}

func TestConfigFromYAML(t *testing.T) {
	src := "failure_threshold: 20\nfailure_ratio: 0.5\nwindow: 10s\nmin_requests: 50\nopen_for: 2s\nhalf_open_probes: 3\ncodes: [UNAVAILABLE, NOT_FOUND]\n"
	node, err := yamlx.Parse("b.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	var c breaker.Config
	pos, err := yamlx.Decode("b.yaml", node, &c)
	if err != nil {
		t.Fatal(err)
	}
	if c.FailureThreshold != 20 || c.Window != 10*time.Second || c.OpenFor != 2*time.Second || c.HalfOpenProbes != 3 || len(c.Codes) != 2 {
		t.Fatalf("decoded %+v", c)
	}
	got := pos.Locate("b.yaml", c.Validate())
	if got == nil || !strings.HasPrefix(got.Error(), "b.yaml:7: codes[1]: NOT_FOUND describes the request") {
		t.Fatalf("located error = %v", got)
	}
}

// TestTransitionLog drives a breaker through closed → open → half-open →
// open → half-open → closed on a fake clock and checks the log: the moves in
// order, their times since the epoch, and that the log matches the counts.
func TestTransitionLog(t *testing.T) {
	clk := &fakeClock{now: time.Unix(1000, 0)}
	epoch := clk.now.Add(-time.Second) // the run started a second before the breaker
	b := breaker.New(breaker.Config{FailureThreshold: 2, OpenFor: time.Second}, breaker.WithClock(clk), breaker.WithEpoch(epoch))
	call(b, errUnavailable)
	clk.Advance(10 * time.Millisecond)
	call(b, errUnavailable) // trips at 1.01s
	clk.Advance(time.Second)
	call(b, errUnavailable) // half-open at 2.01s, the probe fails: open
	clk.Advance(2 * time.Second)
	call(b, nil) // half-open at 4.01s, the probe succeeds: closed
	st := b.Stats()
	C, O, H := breaker.Closed, breaker.Open, breaker.HalfOpen
	ms := time.Millisecond
	want := []breaker.TransitionEvent{{1010 * ms, C, O}, {2010 * ms, O, H}, {2010 * ms, H, O}, {4010 * ms, O, H}, {4010 * ms, H, C}}
	if !slices.Equal(st.Log, want) || st.LogDropped != 0 {
		t.Fatalf("log %v (dropped %d), want %v", st.Log, st.LogDropped, want)
	}
	assertLogMatchesCounts(t, st)
}

func assertLogMatchesCounts(t *testing.T, st breaker.Stats) {
	t.Helper()
	var counted int64
	perMove := map[[2]breaker.State]int64{}
	for _, tr := range st.Transitions {
		counted += tr.Count
		perMove[[2]breaker.State{tr.From, tr.To}] = tr.Count
	}
	if int64(len(st.Log))+st.LogDropped != counted {
		t.Fatalf("log holds %d + %d dropped, counters %d", len(st.Log), st.LogDropped, counted)
	}
	for i, e := range st.Log {
		if i > 0 && e.At < st.Log[i-1].At {
			t.Fatalf("log goes back in time at %d: %v after %v", i, e.At, st.Log[i-1].At)
		}
		if i > 0 && e.From != st.Log[i-1].To {
			t.Fatalf("log entry %d moves from %s, the previous one ended in %s", i, e.From, st.Log[i-1].To)
		}
		perMove[[2]breaker.State{e.From, e.To}]--
	}
	if st.LogDropped == 0 {
		for mv, n := range perMove {
			if n != 0 {
				t.Fatalf("move %s→%s: log and counter differ by %d", mv[0], mv[1], n)
			}
		}
	}
}

// TestTransitionLogCapped: past the cap transitions are counted as dropped.
func TestTransitionLogCapped(t *testing.T) {
	clk := &fakeClock{now: time.Unix(1000, 0)}
	b := breaker.New(breaker.Config{FailureThreshold: 1, OpenFor: time.Second}, breaker.WithClock(clk), breaker.WithLogCap(3))
	for range 5 { // each round: closed→open, open→half-open, half-open→closed
		call(b, errUnavailable)
		clk.Advance(time.Second)
		call(b, nil)
	}
	st := b.Stats()
	if len(st.Log) != 3 || st.LogDropped != 12 {
		t.Fatalf("log %d entries, %d dropped; want 3 and 12", len(st.Log), st.LogDropped)
	}
	assertLogMatchesCounts(t, st)
}

// TestTransitionLogConcurrent flaps a breaker from many goroutines on the
// real clock: the log never goes back in time and matches the counts.
func TestTransitionLogConcurrent(t *testing.T) {
	b := breaker.New(breaker.Config{FailureThreshold: 1, OpenFor: time.Nanosecond, HalfOpenProbes: 1})
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 200 {
				if (g+i)%2 == 0 {
					call(b, errUnavailable)
				} else {
					call(b, nil)
				}
			}
		}()
	}
	wg.Wait()
	st := b.Stats()
	if len(st.Log) == 0 {
		t.Fatal("no transitions logged")
	}
	assertLogMatchesCounts(t, st)
}
