package retry_test

import (
	"testing"
	"time"

	"google.golang.org/grpc/codes"

	"github.com/grpcbench/grpcbench/internal/testutil"
	"github.com/grpcbench/grpcbench/internal/yamlx"
	"github.com/grpcbench/grpcbench/retry"
)

func TestDelay(t *testing.T) {
	ms := time.Millisecond
	tests := []struct {
		name    string
		p       retry.Policy
		attempt int
		u       float64
		want    time.Duration
	}{
		{"exponential first", retry.Policy{BaseDelay: 10 * ms, MaxDelay: time.Second}, 1, 0.5, 10 * ms},
		{"exponential third", retry.Policy{BaseDelay: 10 * ms, MaxDelay: time.Second}, 3, 0.5, 40 * ms},
		{"exponential x3", retry.Policy{BaseDelay: 10 * ms, MaxDelay: time.Second, Multiplier: 3}, 3, 0.5, 90 * ms},
		{"exponential capped", retry.Policy{BaseDelay: 10 * ms, MaxDelay: 50 * ms}, 10, 0.5, 50 * ms},
		{"exponential huge attempt", retry.Policy{BaseDelay: 10 * ms, MaxDelay: 50 * ms}, 100000, 0.5, 50 * ms},
		{"linear", retry.Policy{Kind: retry.Linear, BaseDelay: 10 * ms, MaxDelay: time.Second}, 4, 0.5, 40 * ms},
		{"linear capped", retry.Policy{Kind: retry.Linear, BaseDelay: 10 * ms, MaxDelay: 25 * ms}, 4, 0.5, 25 * ms},
		{"fixed", retry.Policy{Kind: retry.Fixed, BaseDelay: 10 * ms}, 7, 0.5, 10 * ms},
		{"immediate", retry.Policy{Kind: retry.Immediate, BaseDelay: 10 * ms, Jitter: 1}, 3, 0.9, 0},
		{"jitter low", retry.Policy{Kind: retry.Fixed, BaseDelay: 100 * ms, Jitter: 0.2}, 1, 0, 80 * ms},
		{"jitter mid", retry.Policy{Kind: retry.Fixed, BaseDelay: 100 * ms, Jitter: 0.2}, 1, 0.5, 100 * ms},
		{"jitter high", retry.Policy{Kind: retry.Fixed, BaseDelay: 100 * ms, Jitter: 0.2}, 1, 0.75, 110 * ms},
		{"jitter capped by max", retry.Policy{Kind: retry.Fixed, BaseDelay: 100 * ms, MaxDelay: 100 * ms, Jitter: 0.5}, 1, 0.99, 100 * ms},
		{"defaults", retry.Policy{}, 2, 0.5, 200 * ms},
		{"attempt 0 treated as 1", retry.Policy{BaseDelay: 10 * ms}, 0, 0.5, 10 * ms},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.p.Delay(tt.attempt, tt.u); got != tt.want {
				t.Fatalf("Delay(%d, %v) = %s, want %s", tt.attempt, tt.u, got, tt.want)
			}
		})
	}
}

func FuzzDelay(f *testing.F) {
	f.Add(int64(time.Millisecond), int64(time.Second), 2.0, 0.2, 3, 0.5, uint8(0))
	f.Add(int64(0), int64(0), 1.0, 1.0, 1000, 0.999, uint8(2))
	f.Fuzz(func(t *testing.T, base, maxD int64, mult, jitter float64, attempt int, u float64, kind uint8) {
		kinds := []retry.Kind{retry.Exponential, retry.Linear, retry.Fixed, retry.Immediate}
		p := retry.Policy{Kind: kinds[int(kind)%len(kinds)], BaseDelay: time.Duration(base), MaxDelay: time.Duration(maxD),
			Multiplier: mult, Jitter: jitter}
		if p.Validate() != nil || u < 0 || u >= 1 {
			return
		}
		d := p.Delay(attempt, u)
		if d < 0 || d > p.WithDefaults().MaxDelay {
			t.Fatalf("Delay(%d, %v) = %s outside [0, %s] for %+v", attempt, u, d, p.WithDefaults().MaxDelay, p)
		}
	})
}

func TestWithDefaults(t *testing.T) {
	d := retry.Policy{}.WithDefaults()
	if d.Kind != retry.Exponential || d.MaxAttempts != 3 || d.BaseDelay != 100*time.Millisecond || d.MaxDelay != 30*time.Second ||
		d.Multiplier != 2 || d.MaxBuffer != 64<<10 || d.Mode != retry.ModeWrapper || len(d.Codes) != 5 {
		t.Fatalf("defaults = %+v", d)
	}
	kept := retry.Policy{MaxAttempts: 1, Codes: []codes.Code{codes.Unavailable}}.WithDefaults()
	if kept.MaxAttempts != 1 || len(kept.Codes) != 1 {
		t.Fatalf("explicit values overwritten: %+v", kept)
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name string
		p    retry.Policy
		want []string // substrings of the error, each "path: …"; none means valid
	}{
		{"zero is valid", retry.Policy{}, nil},
		{"full", retry.Policy{Kind: retry.Linear, MaxAttempts: 4, BaseDelay: time.Millisecond, MaxDelay: time.Second, Jitter: 0.3,
			Codes: []codes.Code{codes.Unavailable}, PerAttemptTimeout: time.Second, MaxBuffer: 1024}, nil},
		{"bad kind", retry.Policy{Kind: "quadratic"}, []string{`policy: unknown policy "quadratic"`}},
		{"bad mode", retry.Policy{Mode: "magic"}, []string{`mode: unknown mode "magic"`}},
		{"attempts", retry.Policy{MaxAttempts: -1}, []string{"max_attempts: must be at least 1"}},
		{"attempts too many", retry.Policy{MaxAttempts: 101}, []string{"max_attempts: must be at most 100"}},
		{"negative delays", retry.Policy{BaseDelay: -1, MaxDelay: -1}, []string{"base_delay: must not be negative", "max_delay: must not be negative"}},
		{"base above max", retry.Policy{BaseDelay: time.Second, MaxDelay: time.Millisecond}, []string{"max_delay: must be at least base_delay"}},
		{"multiplier", retry.Policy{Multiplier: 0.5}, []string{"multiplier: must be a number of at least 1"}},
		{"jitter", retry.Policy{Jitter: 1.5}, []string{"jitter: must be between 0 and 1"}},
		{"codes", retry.Policy{Codes: []codes.Code{codes.OK, codes.Unavailable, codes.Unavailable, 99}},
			[]string{"codes[0]: OK is not an error", "codes[2]: UNAVAILABLE is listed twice", "codes[3]: unknown status code 99"}},
		{"per attempt", retry.Policy{PerAttemptTimeout: -time.Second}, []string{"per_attempt_timeout: must not be negative"}},
		{"buffer", retry.Policy{MaxBuffer: -1}, []string{"max_buffer: must not be negative"}},
		{"native ok", retry.Policy{Mode: retry.ModeNative, MaxAttempts: 5, Jitter: 0.2}, nil},
		{"native limits", retry.Policy{Mode: retry.ModeNative, Kind: retry.Linear, MaxAttempts: 6, Jitter: 0.5, PerAttemptTimeout: time.Second},
			[]string{"policy: native mode supports exponential and fixed", "max_attempts: native mode allows at most 5",
				"jitter: native mode always applies", "per_attempt_timeout: not supported in native mode"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { testutil.FieldErrors(t, tt.p.Validate(), tt.want...) })
	}
}

func TestValidateFromYAML(t *testing.T) {
	src := "policy: linear\nmax_attempts: 0\nbase_delay: 50ms\nmax_delay: 1s\njitter: 2\ncodes: [UNAVAILABLE, ABORTED]\n"
	node, err := yamlx.Parse("r.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	var p retry.Policy
	pos, err := yamlx.Decode("r.yaml", node, &p)
	if err != nil {
		t.Fatal(err)
	}
	if p.Kind != retry.Linear || p.BaseDelay != 50*time.Millisecond || len(p.Codes) != 2 || p.Codes[1] != codes.Aborted {
		t.Fatalf("decoded %+v", p)
	}
	got := pos.Locate("r.yaml", p.Validate())
	if got == nil || got.Error() != "r.yaml:5: jitter: must be between 0 and 1, got 2" {
		t.Fatalf("located error = %v", got)
	}
}
