package scenarios

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"
)

// arrivals lists every intended time the schedule hands out (bounded).
func arrivals(s schedule, u func() float64) []time.Duration {
	var out []time.Duration
	n := 0.0
	t, ok := s.At(n)
	for ok && len(out) < 1_000_000 {
		out = append(out, t)
		n += u()
		t, ok = s.At(n)
	}
	return out
}

func one() float64 { return 1 }

func ms(n float64) time.Duration { return time.Duration(n * float64(time.Millisecond)) }

func TestScheduleTable(t *testing.T) {
	tests := []struct {
		name       string
		load       Load
		count      int
		first      time.Duration
		last       time.Duration
		rates      map[time.Duration]float64 // Rate(t) checks
		targetRate float64
	}{
		{
			name:  "constant",
			load:  Load{Rate: 100, Duration: time.Second},
			count: 100, first: 0, last: ms(990),
			rates:      map[time.Duration]float64{0: 100, ms(999): 100, time.Second: 0, -1: 0},
			targetRate: 100,
		},
		{
			name:  "constant with warm-up",
			load:  Load{Rate: 200, Duration: time.Second, Warmup: 500 * time.Millisecond},
			count: 300, first: 0, last: ms(1495),
			rates:      map[time.Duration]float64{ms(100): 200, ms(1499): 200},
			targetRate: 200,
		},
		{
			name: "stages",
			load: Load{Stages: []Stage{{Duration: time.Second, Rate: 10}, {Duration: time.Second, Rate: 100}}, Duration: 2 * time.Second},
			// 10 in the first second, then 100: the arrival at 900ms is
			// followed 100ms later by the first of the second stage.
			count: 110, first: 0, last: ms(1990),
			rates:      map[time.Duration]float64{ms(500): 10, ms(1500): 100},
			targetRate: 55,
		},
		{
			name: "ramp from zero",
			load: Load{Stages: []Stage{{Duration: 2 * time.Second, Rate: 100, Ramp: true}}, Duration: 2 * time.Second},
			// Rate 50·t: Arrivals(t) = 25·t², 100 arrivals in 2 s; the
			// first is at the start of the ramp, the k-th at sqrt(k/25).
			count: 100, first: 0, last: time.Duration(math.Sqrt(99.0/25) * float64(time.Second)),
			rates:      map[time.Duration]float64{time.Second: 50, ms(1500): 75},
			targetRate: 50,
		},
		{
			name: "ramp down after a constant stage",
			load: Load{Stages: []Stage{{Duration: time.Second, Rate: 100}, {Duration: time.Second, Rate: 0, Ramp: true}}, Duration: 2 * time.Second},
			// 100 + 50 arrivals.
			count: 150, first: 0,
			rates:      map[time.Duration]float64{ms(1500): 50},
			targetRate: 75,
		},
		{
			name:  "zero-rate stage is skipped",
			load:  Load{Stages: []Stage{{Duration: time.Second, Rate: 10}, {Duration: time.Second, Rate: 0}, {Duration: time.Second, Rate: 10}}, Duration: 3 * time.Second},
			count: 20, first: 0, last: ms(2900),
			rates:      map[time.Duration]float64{ms(1500): 0, ms(2500): 10},
			targetRate: 20.0 / 3,
		},
		{
			name:  "leading zero-rate stage",
			load:  Load{Stages: []Stage{{Duration: time.Second, Rate: 0}, {Duration: time.Second, Rate: 4}}, Duration: 2 * time.Second},
			count: 4, first: time.Second, last: ms(1750),
			targetRate: 2,
		},
		{
			name:  "all zero",
			load:  Load{Stages: []Stage{{Duration: time.Second, Rate: 0}}, Duration: time.Second},
			count: 0,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newSchedule(tt.load)
			got := arrivals(s, one)
			if len(got) != tt.count {
				t.Fatalf("%d arrivals, want %d", len(got), tt.count)
			}
			if tt.count > 0 {
				if got[0] != tt.first {
					t.Errorf("first arrival %v, want %v", got[0], tt.first)
				}
				if tt.last != 0 && (got[len(got)-1]-tt.last).Abs() > time.Microsecond {
					t.Errorf("last arrival %v, want %v", got[len(got)-1], tt.last)
				}
			}
			for i := 1; i < len(got); i++ {
				if got[i] <= got[i-1] || got[i] >= s.End() {
					t.Fatalf("arrival %d at %v after %v (end %v)", i, got[i], got[i-1], s.End())
				}
			}
			for at, want := range tt.rates {
				if r := s.Rate(at); math.Abs(r-want) > 1e-9 {
					t.Errorf("Rate(%v) = %g, want %g", at, r, want)
				}
			}
			if math.Abs(s.TargetRate()-tt.targetRate) > 1e-9 {
				t.Errorf("TargetRate = %g, want %g", s.TargetRate(), tt.targetRate)
			}
			// The expected count over the whole profile matches what the
			// pacer hands out, and bounds it.
			if exp := s.Arrivals(s.End()); math.Abs(exp-float64(tt.count)) > 1 || s.MaxCalls() < int64(tt.count) {
				t.Errorf("Arrivals(End) = %g, MaxCalls = %d for %d arrivals", exp, s.MaxCalls(), tt.count)
			}
		})
	}
}

// Poisson arrivals with a fixed seed: the same sequence every time, the
// expected count within a few standard deviations, and exponential gaps
// (coefficient of variation near 1).
func TestSchedulePoisson(t *testing.T) {
	s := newSchedule(Load{Rate: 1000, Duration: 10 * time.Second})
	draw := func(seed uint64) []time.Duration {
		rng := rand.New(rand.NewPCG(seed, 1))
		return arrivals(s, rng.ExpFloat64)
	}
	a, b := draw(7), draw(7)
	if len(a) != len(b) || a[len(a)/2] != b[len(b)/2] {
		t.Fatal("the same seed gave different arrivals")
	}
	if c := draw(8); len(c) == len(a) && c[len(c)/2] == a[len(a)/2] {
		t.Error("another seed gave the same arrivals")
	}
	n := float64(len(a))
	if math.Abs(n-10000) > 5*math.Sqrt(10000) {
		t.Errorf("%d arrivals, want 10000 ± 500", len(a))
	}
	var sum, sq float64
	for i := 1; i < len(a); i++ {
		g := (a[i] - a[i-1]).Seconds()
		sum += g
		sq += g * g
	}
	mean := sum / (n - 1)
	cv := math.Sqrt(sq/(n-1)-mean*mean) / mean
	if math.Abs(mean-0.001) > 0.0001 || math.Abs(cv-1) > 0.05 {
		t.Errorf("gap mean %.6fs cv %.3f; want 0.001s and 1", mean, cv)
	}
	// Under a ramp, Poisson arrivals follow the rate: the second half of a
	// ramp from 0 to 2000 holds three quarters of the arrivals.
	ramp := newSchedule(Load{Stages: []Stage{{Duration: 10 * time.Second, Rate: 2000, Ramp: true}}, Duration: 10 * time.Second})
	rng := rand.New(rand.NewPCG(3, 1))
	got := arrivals(ramp, rng.ExpFloat64)
	late := 0
	for _, x := range got {
		if x >= 5*time.Second {
			late++
		}
	}
	if frac := float64(late) / float64(len(got)); math.Abs(frac-0.75) > 0.02 || math.Abs(float64(len(got))-10000) > 500 {
		t.Errorf("ramp: %d arrivals, %.3f in the second half; want ~10000 and 0.75", len(got), frac)
	}
}
