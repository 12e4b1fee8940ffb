package lb_test

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc/codes"

	"github.com/grpcbench/grpcbench/fakeserver"
	"github.com/grpcbench/grpcbench/field"
	"github.com/grpcbench/grpcbench/lb"
)

func ptr[T any](v T) *T { return &v }

// failing returns a fault that fails every GetUser call on the backends.
func failing(backends ...int) fakeserver.Fault {
	return fakeserver.Fault{Backend: backends, Method: fakeserver.MethodList{"GetUser"},
		Error: &fakeserver.ErrorRule{Code: codes.Unavailable, Rate: ptr(1.0)}}
}

// sample is one reading of the per-backend GetUser counters, taken
// between at and done.
type sample struct {
	at, done time.Time
	calls    []int64
}

// driver runs calls (do) on a few goroutines and samples the server's
// per-backend GetUser counters every 20 ms until stopped.
type driver struct {
	stop    chan struct{}
	wg      sync.WaitGroup
	mu      sync.Mutex
	samples []sample
}

func drive(t *testing.T, cl *fakeserver.Cluster, do func(), workers int) *driver {
	d := &driver{stop: make(chan struct{})}
	for range workers {
		d.wg.Add(1)
		go func() {
			defer d.wg.Done()
			for n := 0; n < 200000; n++ {
				select {
				case <-d.stop:
					return
				default:
				}
				do()
			}
		}()
	}
	d.wg.Add(1)
	go func() {
		defer d.wg.Done()
		tk := time.NewTicker(20 * time.Millisecond)
		defer tk.Stop()
		for {
			s := sample{at: time.Now(), calls: getUserCalls(cl)}
			s.done = time.Now()
			d.mu.Lock()
			d.samples = append(d.samples, s)
			d.mu.Unlock()
			select {
			case <-d.stop:
				return
			case <-tk.C:
			}
		}
	}()
	t.Cleanup(d.halt)
	return d
}

func (d *driver) halt() {
	select {
	case <-d.stop:
	default:
		close(d.stop)
	}
	d.wg.Wait()
}

// callsBetween returns how many calls backend i received between the first
// sample begun at or after from and the last sample done at or before to:
// a count of calls that arrived within [from, to].
func (d *driver) callsBetween(i int, from, to time.Time) (int64, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	var first, last *sample
	for k := range d.samples {
		s := &d.samples[k]
		if first == nil && !s.at.Before(from) {
			first = s
		}
		if !s.done.After(to) {
			last = s
		}
	}
	if first == nil || last == nil || last.at.Before(first.at) {
		return 0, false
	}
	return last.calls[i] - first.calls[i], true
}

// settle is how long calls picked just before an ejection may take to reach
// the server on a busy machine.
const settle = 200 * time.Millisecond

// waitEvents waits until the log holds events matching ok, or fails.
func waitEvents(t *testing.T, log *lb.EjectionLog, d time.Duration, what string, ok func([]lb.EjectionEvent) bool) []lb.EjectionEvent {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		ev := log.Events()
		if ok(ev) {
			return ev
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s; events: %+v", d, what, ev)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func count(ev []lb.EjectionEvent, kind lb.EjectionKind, addr string) int {
	n := 0
	for _, e := range ev {
		if e.Kind == kind && (addr == "" || e.Addr == addr) {
			n++
		}
	}
	return n
}

func TestOutlierEjectionOfFailingBackend(t *testing.T) {
	cl := startCluster(t, fakeserver.Config{Faults: []fakeserver.Fault{failing(0)}})
	addrs := cl.Addrs()
	const (
		interval = 200 * time.Millisecond
		base     = time.Second
	)
	log := lb.NewEjectionLog()
	defer log.Close()
	cfg := lb.Config{Policy: lb.RoundRobin, OutlierDetection: &lb.OutlierDetection{
		Interval: ptr(interval), BaseEjectionTime: ptr(base), MaxEjectionTime: ptr(10 * time.Second),
		MaxEjectionPercent: ptr(34),
		FailurePercentage:  &lb.FailurePercentageEjection{Threshold: ptr(50), MinimumHosts: ptr(3), RequestVolume: ptr(10)},
	}}.WithEjectionLog(log)
	start := time.Now()
	c := dial(t, cfg, lb.NewStaticResolver(addrs...))
	warmUp(t, cl, c, 0, 1, 2)
	d := drive(t, cl, func() { _ = call(context.Background(), c) }, 4)

	// Ejected within the interval (plus the time to fill request_volume
	// and some scheduling slack), back after base_ejection_time, ejected
	// again for twice as long.
	ev := waitEvents(t, log, 10*time.Second, "eject, uneject, eject of backend 0", func(ev []lb.EjectionEvent) bool {
		return count(ev, lb.Ejected, addrs[0]) >= 2
	})
	d.halt()
	for _, e := range ev {
		t.Logf("%v +%v %s %s %s times=%d for=%v calls=%d failures=%d", e.Conn, e.At.Sub(start).Round(time.Millisecond),
			e.Kind, e.Addr, e.Reason, e.Times, e.For, e.Calls, e.Failures)
	}
	first, back := checkEjectAndReturn(t, ev, addrs[0], start, interval, base)
	// No calls reach backend 0 while it is ejected (allowing calls picked
	// just before the ejection 200ms to arrive), while the others keep
	// serving.
	n0, ok := d.callsBetween(0, first.At.Add(settle), back.At)
	n1, _ := d.callsBetween(1, first.At.Add(settle), back.At)
	if !ok || n0 != 0 || n1 == 0 {
		t.Errorf("while ejected: backend 0 got %d calls (want 0), backend 1 got %d (want > 0), sampled %v", n0, n1, ok)
	}
	// It came back: it received calls between its return and the next
	// ejection.
	var again lb.EjectionEvent
	for _, e := range ev {
		if e.Kind == lb.Ejected && e.At.After(back.At) {
			again = e
			break
		}
	}
	if n, _ := d.callsBetween(0, back.At, again.At); n == 0 {
		t.Errorf("backend 0 got no calls between its return and its next ejection")
	}
	// Ejected again at the first sweep after its return, it is out for
	// twice as long; each sweep it spends in service first lowers the
	// multiplier by one (A50), which a slow machine may cause.
	if again.Times < 1 || again.Times > 2 || again.For != time.Duration(again.Times)*base {
		t.Errorf("second ejection %+v, want times 1 or 2 and for = times × %v", again, base)
	}
	for i := 1; i < len(ev); i++ {
		if !ev[i].At.After(ev[i-1].At) {
			t.Errorf("event %d at %v is not after event %d at %v", i, ev[i].At, i-1, ev[i-1].At)
		}
	}
}

// checkEjectAndReturn checks the first ejection of addr (by
// failure_percentage on conn 1, within about two intervals of start, for
// base) and its return on expiry after base, and returns both events.
func checkEjectAndReturn(t *testing.T, ev []lb.EjectionEvent, addr string, start time.Time, interval, base time.Duration) (first, back lb.EjectionEvent) {
	t.Helper()
	first = ev[0]
	if first.Kind != lb.Ejected || first.Addr != addr || first.Reason != lb.EjectFailurePercentage || first.Conn != 1 {
		t.Fatalf("first event %+v, want ejection of %s by failure_percentage on conn 1", first, addr)
	}
	if lag := first.At.Sub(start); lag > 2*interval+500*time.Millisecond {
		t.Errorf("first ejection %v after the client started, want within ~2 intervals (%v)", lag, interval)
	}
	if first.Times != 1 || first.For != base || first.Calls < 10 || first.Failures != first.Calls {
		t.Errorf("first ejection %+v: want times 1, for %v, every counted call failed", first, base)
	}
	for _, e := range ev {
		if e.Kind == lb.Unejected {
			back = e
			break
		}
	}
	if back.Addr != addr || back.Reason != lb.ReturnExpired {
		t.Fatalf("return %+v, want backend 0 back on expiry", back)
	}
	if got := back.At.Sub(first.At); got < base || got > base+interval+300*time.Millisecond {
		t.Errorf("ejected for %v, want base_ejection_time %v up to one interval more", got, base)
	}
	return first, back
}

func TestOutlierMaxEjectionPercent(t *testing.T) {
	for _, tt := range []struct {
		pct, want int
	}{{34, 1}, {67, 2}} {
		t.Run(strconv.Itoa(tt.pct)+"%", func(t *testing.T) {
			cl := startCluster(t, fakeserver.Config{Faults: []fakeserver.Fault{failing(0, 1)}})
			addrs := cl.Addrs()
			log := lb.NewEjectionLog()
			defer log.Close()
			cfg := lb.Config{Policy: lb.RoundRobin, OutlierDetection: &lb.OutlierDetection{
				Interval: ptr(100 * time.Millisecond), BaseEjectionTime: ptr(30 * time.Second),
				MaxEjectionPercent: ptr(tt.pct),
				FailurePercentage:  &lb.FailurePercentageEjection{MinimumHosts: ptr(3), RequestVolume: ptr(5)},
			}}.WithEjectionLog(log)
			c := dial(t, cfg, lb.NewStaticResolver(addrs...))
			warmUp(t, cl, c, 0, 1, 2)
			d := drive(t, cl, func() { _ = call(context.Background(), c) }, 4)
			waitEvents(t, log, 10*time.Second, "an ejection", func(ev []lb.EjectionEvent) bool {
				return count(ev, lb.Ejected, "") >= tt.want
			})
			// Let several more sweeps run: no further ejection may happen
			// while the limit holds.
			time.Sleep(600 * time.Millisecond) // the observation window: six sweeps
			d.halt()
			ev := log.Events()
			if got := count(ev, lb.Ejected, ""); got != tt.want {
				t.Fatalf("max_ejection_percent %d: %d ejections, want %d: %+v", tt.pct, got, tt.want, ev)
			}
			for _, e := range ev {
				if e.Addr == addrs[2] {
					t.Errorf("healthy backend 2 was ejected: %+v", e)
				}
			}
		})
	}
}

func TestOutlierDetectionConfigErrors(t *testing.T) {
	tests := []struct {
		name  string
		cfg   lb.Config
		paths []string
	}{
		{"no algorithm", lb.Config{OutlierDetection: &lb.OutlierDetection{}}, []string{"outlier_detection"}},
		{"pick_first", lb.Config{Policy: lb.PickFirst, OutlierDetection: &lb.OutlierDetection{SuccessRate: &lb.SuccessRateEjection{}}},
			[]string{"outlier_detection"}},
		{"ranges", lb.Config{OutlierDetection: &lb.OutlierDetection{
			Interval: ptr(time.Duration(0)), BaseEjectionTime: ptr(-time.Second), MaxEjectionPercent: ptr(0),
			SuccessRate: &lb.SuccessRateEjection{StdevFactor: ptr(1900.0), EnforcementPercentage: ptr(101),
				MinimumHosts: ptr(0), RequestVolume: ptr(0)},
			FailurePercentage: &lb.FailurePercentageEjection{Threshold: ptr(101), EnforcementPercentage: ptr(-1)},
		}}, []string{"outlier_detection.interval", "outlier_detection.base_ejection_time", "outlier_detection.max_ejection_percent",
			"outlier_detection.success_rate.stdev_factor", "outlier_detection.success_rate.enforcement_percentage",
			"outlier_detection.success_rate.minimum_hosts", "outlier_detection.success_rate.request_volume",
			"outlier_detection.failure_percentage.threshold", "outlier_detection.failure_percentage.enforcement_percentage"}},
		{"max below base", lb.Config{OutlierDetection: &lb.OutlierDetection{BaseEjectionTime: ptr(time.Minute),
			MaxEjectionTime: ptr(time.Second), FailurePercentage: &lb.FailurePercentageEjection{}}},
			[]string{"outlier_detection.max_ejection_time"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.cfg.Validate()
			if err == nil {
				t.Fatal("Validate = nil, want errors")
			}
			got := map[string]bool{}
			for _, e := range field.Flatten(err) {
				var fe *field.Error
				if !errors.As(e, &fe) {
					t.Errorf("not a *field.Error: %v", e)
					continue
				}
				got[fe.Path] = true
			}
			for _, p := range tt.paths {
				if !got[p] {
					t.Errorf("no error at %s; got %v", p, err)
				}
			}
			if len(got) != len(tt.paths) {
				t.Errorf("errors at %v, want exactly %v", got, tt.paths)
			}
			if _, err := tt.cfg.ServiceConfig(); err == nil {
				t.Errorf("ServiceConfig accepted an invalid config")
			}
		})
	}
}

func TestOutlierDetectionServiceConfig(t *testing.T) {
	log := lb.NewEjectionLog()
	defer log.Close()
	cfg := lb.Config{Policy: lb.LeastRequest, ChoiceCount: 3,
		OutlierDetection: &lb.OutlierDetection{SuccessRate: &lb.SuccessRateEjection{StdevFactor: ptr(1.5)}}}
	sc, err := cfg.WithEjectionLog(log).ServiceConfig()
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"grpcbench_outlier_detection"`, `"interval":"10s"`, `"baseEjectionTime":"30s"`,
		`"maxEjectionTime":"300s"`, `"maxEjectionPercent":10`, `"stdevFactor":1500`, `"minimumHosts":5`,
		`"requestVolume":100`, `"childPolicy":[{"least_request_experimental":{"choiceCount":3}}]`, `"eventLog":"`} {
		if !strings.Contains(sc, want) {
			t.Errorf("service config %s lacks %s", sc, want)
		}
	}
	if strings.Contains(sc, "failurePercentageEjection") {
		t.Errorf("service config %s enables failure percentage, which was not set", sc)
	}
	if cfg.OutlierDetection.Log != nil {
		t.Errorf("WithEjectionLog changed the original config")
	}
}

// BenchmarkUnaryOutlier measures one GetUser call over 3 local backends
// with and without outlier detection around round_robin and least_request.
// Compare allocs/op between the pairs: the bookkeeping adds none under
// round_robin; under least_request, whose pick returns its own Done, it
// adds one closure.
func BenchmarkUnaryOutlier(b *testing.B) {
	od := &lb.OutlierDetection{Interval: ptr(time.Second), FailurePercentage: &lb.FailurePercentageEjection{}}
	for _, bc := range []struct {
		name string
		cfg  lb.Config
	}{
		{"round_robin", lb.Config{Policy: lb.RoundRobin}},
		{"round_robin+outlier", lb.Config{Policy: lb.RoundRobin, OutlierDetection: od}},
		{"least_request", lb.Config{Policy: lb.LeastRequest}},
		{"least_request+outlier", lb.Config{Policy: lb.LeastRequest, OutlierDetection: od}},
	} {
		b.Run(bc.name, func(b *testing.B) { benchGetUser(b, bc.cfg) })
	}
}

// TestOutlierEjectionUnderEachPolicy shows the ejection reaching the child
// policy's picks under every policy it may wrap: once backend 0 is
// ejected, it gets no more calls.
func TestOutlierEjectionUnderEachPolicy(t *testing.T) {
	period := 100 * time.Millisecond
	for _, cfg := range []lb.Config{
		{Policy: lb.RoundRobin},
		{Policy: lb.WeightedRoundRobin, BlackoutPeriod: &period, WeightUpdatePeriod: &period},
		{Policy: lb.LeastRequest},
		{Policy: lb.RingHash, HashHeader: "x-key"}, // calls without the header hash at random
	} {
		t.Run(string(cfg.Policy), func(t *testing.T) {
			cl := startCluster(t, fakeserver.Config{Faults: []fakeserver.Fault{failing(0)}})
			addrs := cl.Addrs()
			log := lb.NewEjectionLog()
			defer log.Close()
			cfg.OutlierDetection = &lb.OutlierDetection{Interval: ptr(100 * time.Millisecond), BaseEjectionTime: ptr(time.Minute),
				FailurePercentage: &lb.FailurePercentageEjection{MinimumHosts: ptr(3), RequestVolume: ptr(5)}}
			c := dial(t, cfg.WithEjectionLog(log), lb.NewStaticResolver(addrs...))
			d := drive(t, cl, func() { _ = call(context.Background(), c) }, 4)
			ev := waitEvents(t, log, 10*time.Second, "backend 0 ejected", func(ev []lb.EjectionEvent) bool {
				return count(ev, lb.Ejected, addrs[0]) == 1
			})
			waitUntil(ev[0].At.Add(settle))
			before := getUserCalls(cl)
			waitUntil(time.Now().Add(400 * time.Millisecond))
			after := getUserCalls(cl)
			d.halt()
			if n := after[0] - before[0]; n != 0 {
				t.Errorf("backend 0 got %d calls in 400ms after its ejection", n)
			}
			if after[1] == before[1] && after[2] == before[2] {
				t.Errorf("backends 1 and 2 got no calls after backend 0's ejection")
			}
			if ev := log.Events(); len(ev) != 1 || ev[0].Addr != addrs[0] {
				t.Errorf("events %+v, want only backend 0's ejection", ev)
			}
		})
	}
}

// TestOutlierEjectedEndpointRemoved: an ejected endpoint that leaves the
// resolver's set is recorded as returned ("removed"), so every ejection in
// the log has an end.
func TestOutlierEjectedEndpointRemoved(t *testing.T) {
	cl := startCluster(t, fakeserver.Config{Faults: []fakeserver.Fault{failing(0)}})
	addrs := cl.Addrs()
	log := lb.NewEjectionLog()
	defer log.Close()
	cfg := lb.Config{OutlierDetection: &lb.OutlierDetection{Interval: ptr(100 * time.Millisecond), BaseEjectionTime: ptr(time.Minute),
		FailurePercentage: &lb.FailurePercentageEjection{MinimumHosts: ptr(3), RequestVolume: ptr(5)}}}.WithEjectionLog(log)
	r := lb.NewStaticResolver(addrs...)
	c := dial(t, cfg, r)
	d := drive(t, cl, func() { _ = call(context.Background(), c) }, 2)
	waitEvents(t, log, 10*time.Second, "backend 0 ejected", func(ev []lb.EjectionEvent) bool { return count(ev, lb.Ejected, addrs[0]) == 1 })
	if err := r.SetAddrs(addrs[1:]); err != nil {
		t.Fatal(err)
	}
	ev := waitEvents(t, log, 10*time.Second, "backend 0 returned", func(ev []lb.EjectionEvent) bool { return count(ev, lb.Unejected, addrs[0]) == 1 })
	d.halt()
	if last := ev[len(ev)-1]; last.Reason != lb.ReturnRemoved || !last.At.After(ev[0].At) {
		t.Errorf("return %+v, want reason %q after the ejection", last, lb.ReturnRemoved)
	}
}
