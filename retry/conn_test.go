package retry_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/grpcbench/grpcbench/retry"
)

var (
	errUnavailable = status.Error(codes.Unavailable, "down")
	errNotFound    = status.Error(codes.NotFound, "no such user")
)

func fail(err error) attemptResult { return attemptResult{err: err} }

func pushback(v string) attemptResult {
	return attemptResult{err: errUnavailable, trailer: metadata.Pairs("grpc-retry-pushback-ms", v)}
}

var ok = attemptResult{}

func TestUnaryRetries(t *testing.T) {
	ms := time.Millisecond
	base := retry.Policy{BaseDelay: 10 * ms, MaxDelay: time.Second, MaxAttempts: 4}
	tests := []struct {
		name      string
		p         retry.Policy
		script    []attemptResult
		ctxTO     time.Duration // call deadline on the fake clock's timeline (0: none)
		wantCode  codes.Code
		wantCalls int
		wantWaits []time.Duration
		want      retry.Stats // Calls, Attempts, Retried, GaveUp, PushbackWaits, PushbackStops compared
	}{
		{"success first", base, []attemptResult{ok}, 0, codes.OK, 1, nil,
			retry.Stats{Calls: 1, Attempts: 1}},
		{"exponential then success", base, []attemptResult{fail(errUnavailable), fail(errUnavailable), ok}, 0, codes.OK, 3,
			[]time.Duration{10 * ms, 20 * ms}, retry.Stats{Calls: 1, Attempts: 3, Retried: 1}},
		{"gives up after max attempts", base, []attemptResult{fail(errUnavailable)}, 0, codes.Unavailable, 4,
			[]time.Duration{10 * ms, 20 * ms, 40 * ms}, retry.Stats{Calls: 1, Attempts: 4, Retried: 1, GaveUp: 1}},
		{"linear", retry.Policy{Kind: retry.Linear, BaseDelay: 10 * ms, MaxAttempts: 4}, []attemptResult{fail(errUnavailable)}, 0,
			codes.Unavailable, 4, []time.Duration{10 * ms, 20 * ms, 30 * ms}, retry.Stats{Calls: 1, Attempts: 4, Retried: 1, GaveUp: 1}},
		{"fixed", retry.Policy{Kind: retry.Fixed, BaseDelay: 10 * ms, MaxAttempts: 3}, []attemptResult{fail(errUnavailable)}, 0,
			codes.Unavailable, 3, []time.Duration{10 * ms, 10 * ms}, retry.Stats{Calls: 1, Attempts: 3, Retried: 1, GaveUp: 1}},
		{"immediate", retry.Policy{Kind: retry.Immediate, MaxAttempts: 3}, []attemptResult{fail(errUnavailable)}, 0,
			codes.Unavailable, 3, nil, retry.Stats{Calls: 1, Attempts: 3, Retried: 1, GaveUp: 1}},
		{"max attempts 1 never retries", retry.Policy{MaxAttempts: 1}, []attemptResult{fail(errUnavailable)}, 0,
			codes.Unavailable, 1, nil, retry.Stats{Calls: 1, Attempts: 1, GaveUp: 1}},
		{"not retryable", base, []attemptResult{fail(errNotFound)}, 0, codes.NotFound, 1, nil,
			retry.Stats{Calls: 1, Attempts: 1}},
		{"code outside the policy", retry.Policy{Codes: []codes.Code{codes.Aborted}}, []attemptResult{fail(errUnavailable)}, 0,
			codes.Unavailable, 1, nil, retry.Stats{Calls: 1, Attempts: 1}},
		{"pushback replaces backoff", base, []attemptResult{pushback("250"), pushback("0"), ok}, 0, codes.OK, 3,
			[]time.Duration{250 * ms}, retry.Stats{Calls: 1, Attempts: 3, Retried: 1, PushbackWaits: 2}},
		{"negative pushback stops", base, []attemptResult{pushback("-1")}, 0, codes.Unavailable, 1, nil,
			retry.Stats{Calls: 1, Attempts: 1, GaveUp: 1, PushbackStops: 1}},
		{"malformed pushback stops", base, []attemptResult{pushback("soon")}, 0, codes.Unavailable, 1, nil,
			retry.Stats{Calls: 1, Attempts: 1, GaveUp: 1, PushbackStops: 1}},
		// Waits 10ms and 20ms fit in 35ms; the next wait (40ms) would end past the deadline.
		{"deadline stops retries", base, []attemptResult{fail(errUnavailable)}, 35 * ms, codes.Unavailable, 3,
			[]time.Duration{10 * ms, 20 * ms}, retry.Stats{Calls: 1, Attempts: 3, Retried: 1, GaveUp: 1}},
		{"pushback past the deadline stops", base, []attemptResult{pushback("5000")}, time.Second, codes.Unavailable, 1, nil,
			retry.Stats{Calls: 1, Attempts: 1, GaveUp: 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk := newFakeClock()
			sc := &scriptConn{script: tt.script}
			obs := &recordingObserver{}
			c := retry.Wrap(sc, tt.p, retry.WithClock(clk), retry.WithObserver(obs))
			ctx := context.Background()
			if tt.ctxTO > 0 {
				var cancel context.CancelFunc
				// The deadline is on the fake timeline; the real deadline is
				// far enough that it never fires during the test.
				ctx, cancel = context.WithDeadline(ctx, clk.Now().Add(tt.ctxTO))
				defer cancel()
			}
			err := c.Invoke(ctx, "/svc/M", nil, nil)
			if got := status.Code(err); got != tt.wantCode {
				t.Fatalf("code = %s (%v), want %s", got, err, tt.wantCode)
			}
			if sc.calls != tt.wantCalls {
				t.Fatalf("attempts reaching the connection = %d, want %d", sc.calls, tt.wantCalls)
			}
			if got := clk.Waits(); !slices.Equal(got, tt.wantWaits) {
				t.Fatalf("waits = %v, want %v", got, tt.wantWaits)
			}
			for i, prev := range sc.previous {
				want := ""
				if i > 0 {
					want = string(rune('0' + i))
				}
				if prev != want {
					t.Fatalf("attempt %d carried %s=%q, want %q", i+1, "grpc-previous-rpc-attempts", prev, want)
				}
			}
			st := c.Stats()
			if got := scalars(st); got != scalars(tt.want) {
				t.Fatalf("stats = %+v, want %+v", got, scalars(tt.want))
			}
			if len(st.AttemptsPerCall) != tt.wantCalls+1 || st.AttemptsPerCall[tt.wantCalls] != 1 {
				t.Fatalf("AttemptsPerCall = %v, want one call at %d", st.AttemptsPerCall, tt.wantCalls)
			}
			if len(obs.attempts) != tt.wantCalls || obs.attempts[len(obs.attempts)-1] != tt.wantCalls {
				t.Fatalf("observer saw attempts %v, want 1..%d", obs.attempts, tt.wantCalls)
			}
		})
	}
}

func TestJitterUsesRand(t *testing.T) {
	clk := newFakeClock()
	sc := &scriptConn{script: []attemptResult{fail(errUnavailable)}}
	us := []float64{0, 0.999999}
	i := 0
	c := retry.Wrap(sc, retry.Policy{Kind: retry.Fixed, BaseDelay: 100 * time.Millisecond, Jitter: 0.5, MaxAttempts: 3},
		retry.WithClock(clk), retry.WithRand(func() float64 { u := us[i]; i++; return u }))
	_ = c.Invoke(context.Background(), "/svc/M", nil, nil)
	w := clk.Waits()
	if len(w) != 2 || w[0] != 50*time.Millisecond || w[1] < 149*time.Millisecond || w[1] > 150*time.Millisecond {
		t.Fatalf("waits = %v, want [50ms ~150ms]", w)
	}
}

func TestPerAttemptTimeout(t *testing.T) {
	sc := &scriptConn{script: []attemptResult{fail(status.Error(codes.DeadlineExceeded, "attempt timed out")), ok}}
	c := retry.Wrap(sc, retry.Policy{Kind: retry.Immediate, PerAttemptTimeout: time.Minute}, retry.WithClock(newFakeClock()))
	if err := c.Invoke(context.Background(), "/svc/M", nil, nil); err != nil {
		t.Fatalf("Invoke = %v", err)
	}
	if !slices.Equal(sc.hasDL, []bool{true, true}) {
		t.Fatalf("attempt deadlines = %v, want both set", sc.hasDL)
	}
}

func TestCancelledCallStops(t *testing.T) {
	sc := &scriptConn{script: []attemptResult{fail(status.Error(codes.DeadlineExceeded, "caller's deadline"))}}
	c := retry.Wrap(sc, retry.Policy{Kind: retry.Immediate, MaxAttempts: 5})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := c.Invoke(ctx, "/svc/M", nil, nil); status.Code(err) != codes.DeadlineExceeded {
		t.Fatalf("Invoke = %v", err)
	}
	if sc.calls != 1 || c.Stats().GaveUp != 1 {
		t.Fatalf("attempts = %d, stats %+v; want 1 attempt, gave up", sc.calls, c.Stats())
	}
}

func TestRealClockWaitInterruptedByCancel(t *testing.T) {
	sc := &scriptConn{script: []attemptResult{fail(errUnavailable)}}
	c := retry.Wrap(sc, retry.Policy{Kind: retry.Fixed, BaseDelay: time.Hour, MaxDelay: time.Hour, MaxAttempts: 2})
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(20*time.Millisecond, cancel)
	done := make(chan error, 1)
	go func() { done <- c.Invoke(ctx, "/svc/M", nil, nil) }()
	select {
	case err := <-done:
		if status.Code(err) != codes.Unavailable || sc.calls != 1 {
			t.Fatalf("Invoke = %v after %d attempts", err, sc.calls)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("an hour-long backoff was not interrupted by cancellation")
	}
	cancel()
}

// scalarStats is Stats without its slice, so it can be compared.
type scalarStats struct{ Calls, Attempts, Retried, GaveUp, PushbackWaits, PushbackStops int64 }

func scalars(s retry.Stats) scalarStats {
	return scalarStats{s.Calls, s.Attempts, s.Retried, s.GaveUp, s.PushbackWaits, s.PushbackStops}
}
