package lb

import (
	"slices"
	"testing"
	"time"

	"google.golang.org/grpc/balancer"
)

func TestDetect(t *testing.T) {
	sr := &srSettings{stdevFactor: 1.9, enforcement: 100, minimumHosts: 3, requestVolume: 10}
	fp := &fpSettings{threshold: 50, enforcement: 100, minimumHosts: 3, requestVolume: 10}
	ok := func(n uint64) epSample { return epSample{succ: n} }
	bad := func(succ, fail uint64) epSample { return epSample{succ: succ, fail: fail} }
	many := []epSample{ok(100), ok(100), ok(100), ok(100), ok(100), ok(100), ok(100), ok(100), ok(100), bad(50, 50)}
	tests := []struct {
		name string
		s    odSettings
		eps  []epSample
		roll int
		want []verdict
	}{
		{"success rate: one low among ten", odSettings{maxEjectionPercent: 10, sr: sr}, many, 0,
			[]verdict{{9, EjectSuccessRate}}},
		// mean 2/3, stdev 0.47: 0 is above mean − 1.9·stdev, so nothing.
		{"success rate: one of three fails, too few to stand out", odSettings{maxEjectionPercent: 100, sr: sr},
			[]epSample{bad(0, 100), ok(100), ok(100)}, 0, nil},
		{"success rate: below minimum hosts", odSettings{maxEjectionPercent: 100, sr: sr}, many[8:], 0, nil},
		{"success rate: low volume not judged", odSettings{maxEjectionPercent: 100, sr: sr},
			append(slices.Clone(many[:9]), bad(5, 4)), 0, nil},
		{"success rate: factor 0 ejects below mean", odSettings{maxEjectionPercent: 100,
			sr: &srSettings{enforcement: 100, minimumHosts: 3, requestVolume: 10}},
			[]epSample{ok(100), bad(90, 10), ok(100)}, 0, []verdict{{1, EjectSuccessRate}}},
		{"failure percentage above threshold", odSettings{maxEjectionPercent: 100, fp: fp},
			[]epSample{bad(0, 100), ok(100), bad(49, 51), bad(50, 50)}, 0,
			[]verdict{{0, EjectFailurePercentage}, {2, EjectFailurePercentage}}},
		{"failure percentage: below minimum hosts", odSettings{maxEjectionPercent: 100, fp: fp},
			[]epSample{bad(0, 100), ok(100)}, 0, nil},
		{"failure percentage: low volume", odSettings{maxEjectionPercent: 100, fp: fp},
			[]epSample{bad(0, 9), ok(100), ok(100)}, 0, nil},
		{"max ejection percent 34 of 3: one", odSettings{maxEjectionPercent: 34, fp: fp},
			[]epSample{bad(0, 100), bad(0, 100), ok(100)}, 0, []verdict{{0, EjectFailurePercentage}}},
		{"max ejection percent 67 of 3: two", odSettings{maxEjectionPercent: 67, fp: fp},
			[]epSample{bad(0, 100), bad(0, 100), ok(100)}, 0,
			[]verdict{{0, EjectFailurePercentage}, {1, EjectFailurePercentage}}},
		{"max ejection percent 10: one always allowed", odSettings{maxEjectionPercent: 10, fp: fp},
			[]epSample{bad(0, 100), ok(100), ok(100)}, 0, []verdict{{0, EjectFailurePercentage}}},
		{"max ejection percent counts ejected ones", odSettings{maxEjectionPercent: 34, fp: fp},
			[]epSample{{ejected: true}, bad(0, 100), ok(100)}, 0, nil},
		{"already ejected not judged", odSettings{maxEjectionPercent: 100, fp: fp},
			[]epSample{{fail: 100, ejected: true}, ok(100), ok(100)}, 0, nil},
		{"enforcement: roll below", odSettings{maxEjectionPercent: 100,
			fp: &fpSettings{threshold: 50, enforcement: 30, minimumHosts: 1, requestVolume: 1}},
			[]epSample{bad(0, 10)}, 29, []verdict{{0, EjectFailurePercentage}}},
		{"enforcement: roll at or above", odSettings{maxEjectionPercent: 100,
			fp: &fpSettings{threshold: 50, enforcement: 30, minimumHosts: 1, requestVolume: 1}},
			[]epSample{bad(0, 10)}, 30, nil},
		{"both algorithms, one verdict per endpoint", odSettings{maxEjectionPercent: 100, sr: sr, fp: fp}, many, 0,
			[]verdict{{9, EjectSuccessRate}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := detect(&tt.s, tt.eps, func() int { return tt.roll })
			if !slices.Equal(got, tt.want) {
				t.Errorf("detect = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestEjectionTime(t *testing.T) {
	s := &odSettings{baseEjection: 30 * time.Second, maxEjection: 100 * time.Second}
	for n, want := range []time.Duration{0, 30 * time.Second, 60 * time.Second, 90 * time.Second, 100 * time.Second} {
		if got := ejectionTime(s, n); got != want {
			t.Errorf("ejectionTime(%d) = %v, want %v", n, got, want)
		}
	}
	if got := ejectionTime(s, 1<<40); got != 100*time.Second {
		t.Errorf("ejectionTime(huge) = %v, want the cap", got)
	}
	s.maxEjection = time.Second // max(base, max) is the cap
	if got := ejectionTime(s, 3); got != 30*time.Second {
		t.Errorf("ejectionTime with max < base = %v, want base", got)
	}
}

func TestEndpointCounts(t *testing.T) {
	e := newEndpoint("a:1")
	for range 5 {
		e.done(balancer.DoneInfo{})
	}
	for range 3 {
		e.done(balancer.DoneInfo{Err: errEjected})
	}
	if s, f := e.take(); s != 5 || f != 3 {
		t.Errorf("take = %d, %d, want 5, 3", s, f)
	}
	if s, f := e.take(); s != 0 || f != 0 {
		t.Errorf("take after take = %d, %d, want 0, 0", s, f)
	}
}

// fixedPicker is a child picker that always picks the same SubConn, so the
// benchmark below measures the outlier picker's own work.
type fixedPicker struct{ r balancer.PickResult }

func (p fixedPicker) Pick(balancer.PickInfo) (balancer.PickResult, error) { return p.r, nil }

// BenchmarkOutlierPickDone measures the per-call bookkeeping of outlier
// detection: the wrapped pick and the Done that counts the result (one
// atomic add). It must not allocate.
func BenchmarkOutlierPickDone(b *testing.B) {
	e := newEndpoint("127.0.0.1:1")
	sc := &subConn{ep: e, done: e.done}
	p := &odPicker{child: fixedPicker{balancer.PickResult{SubConn: sc}}}
	fail := balancer.DoneInfo{Err: errEjected}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		r, err := p.Pick(balancer.PickInfo{})
		if err != nil {
			b.Fatal(err)
		}
		if i++; i%4 == 0 {
			r.Done(fail)
		} else {
			r.Done(balancer.DoneInfo{})
		}
	}
	if s, f := e.take(); s+f == 0 {
		b.Fatal("nothing counted")
	}
}

// FuzzOutlierParseConfig feeds JSON configs to the balancer's parser: it
// never panics, and every config it accepts runs with settings in range
// (the sweep cannot spin, an ejection has a length, the shares are
// percentages) and a registered child policy.
func FuzzOutlierParseConfig(f *testing.F) {
	for _, s := range []string{
		`{"interval":"1s","baseEjectionTime":"30s","maxEjectionTime":"300s","maxEjectionPercent":10,` +
			`"successRateEjection":{"stdevFactor":1900,"enforcementPercentage":100,"minimumHosts":5,"requestVolume":100},` +
			`"childPolicy":[{"round_robin":{}}]}`,
		`{"failurePercentageEjection":{},"childPolicy":[{"nope":{}},{"least_request_experimental":{"choiceCount":3}}]}`,
		`{"failurePercentageEjection":{"threshold":101},"childPolicy":[{"round_robin":{}}]}`,
		`{"interval":"-1s","successRateEjection":{},"childPolicy":[]}`,
		`{}`, `[`, `{"eventLog":"1","successRateEjection":{},"childPolicy":[{"round_robin":{}}]}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := odBuilder{}.ParseConfig(data)
		if err != nil {
			return
		}
		cfg := c.(*odConfig)
		s := cfg.s
		pct := func(v int) bool { return v >= 0 && v <= 100 }
		switch {
		case cfg.child == nil:
			t.Fatalf("%s: no child policy", data)
		case s.interval < minODInterval || s.baseEjection <= 0 || s.maxEjection <= 0:
			t.Fatalf("%s: times out of range: %+v", data, s)
		case s.maxEjectionPercent < 1 || s.maxEjectionPercent > 100:
			t.Fatalf("%s: max ejection percent %d", data, s.maxEjectionPercent)
		case s.sr == nil && s.fp == nil:
			t.Fatalf("%s: no algorithm", data)
		case s.sr != nil && (!pct(s.sr.enforcement) || s.sr.minimumHosts < 1 || s.sr.requestVolume < 1 ||
			s.sr.stdevFactor < 0 || s.sr.stdevFactor > maxStdevFactor):
			t.Fatalf("%s: success rate settings %+v", data, *s.sr)
		case s.fp != nil && (!pct(s.fp.enforcement) || !pct(s.fp.threshold) || s.fp.minimumHosts < 1 || s.fp.requestVolume < 1):
			t.Fatalf("%s: failure percentage settings %+v", data, *s.fp)
		}
		if d := ejectionTime(&s, 1<<20); d <= 0 || d > max(s.baseEjection, s.maxEjection) {
			t.Fatalf("%s: ejection time %v", data, d)
		}
	})
}

// TestJudgeMultiplier runs sweeps by hand over three endpoints, one of
// which fails: A50's multiplier grows with each ejection in a row, the
// ejection lasts base × multiplier, and each sweep in service lowers it.
func TestJudgeMultiplier(t *testing.T) {
	const base = 10 * time.Second
	b := &ejector{cfg: &odConfig{s: odSettings{interval: time.Hour, baseEjection: base, maxEjection: time.Minute,
		maxEjectionPercent: 100, fp: &fpSettings{threshold: 50, enforcement: 100, minimumHosts: 3, requestVolume: 10}}}}
	bad, good1, good2 := newEndpoint("a:1"), newEndpoint("b:1"), newEndpoint("c:1")
	b.order = []*endpoint{bad, good1, good2}
	t0 := time.Now()
	sweep := func(at time.Duration, badFails bool) []pendingEvent {
		for range 20 {
			good1.done(balancer.DoneInfo{})
			good2.done(balancer.DoneInfo{})
			if badFails {
				bad.done(balancer.DoneInfo{Err: errEjected})
			} else {
				bad.done(balancer.DoneInfo{})
			}
		}
		ev := b.judge(t0.Add(at))
		b.timer.Stop()
		return ev
	}
	steps := []struct {
		at        time.Duration
		badFails  bool
		want      EjectionKind // "" for no event
		times     int
		ejectTime time.Duration
	}{
		{1 * time.Second, true, Ejected, 1, base},
		{5 * time.Second, true, "", 1, 0},              // still out
		{12 * time.Second, true, Unejected, 1, 0},      // 11s after: back
		{13 * time.Second, true, Ejected, 2, 2 * base}, // at once out again, twice as long
		{34 * time.Second, false, Unejected, 2, 0},
		{35 * time.Second, false, "", 1, 0}, // a sweep in service lowers the multiplier
		{36 * time.Second, false, "", 0, 0},
		{37 * time.Second, true, Ejected, 1, base},
	}
	for i, s := range steps {
		ev := sweep(s.at, s.badFails)
		switch {
		case s.want == "" && len(ev) != 0:
			t.Fatalf("step %d: events %+v, want none", i, ev)
		case s.want != "" && (len(ev) != 1 || ev[0].ev.Kind != s.want || ev[0].ep != bad):
			t.Fatalf("step %d: events %+v, want one %s of a:1", i, ev, s.want)
		case s.want == Ejected && (ev[0].ev.Times != s.times || ev[0].ev.For != s.ejectTime):
			t.Fatalf("step %d: ejection %+v, want times %d for %v", i, ev[0].ev, s.times, s.ejectTime)
		}
		if bad.times != s.times {
			t.Fatalf("step %d: multiplier %d, want %d", i, bad.times, s.times)
		}
	}
}
