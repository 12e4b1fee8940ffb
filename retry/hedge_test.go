package retry_test

import (
	"context"
	"errors"
	"io"
	"slices"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/grpcbench/grpcbench/fakeserver"
	"github.com/grpcbench/grpcbench/internal/testutil"
	"github.com/grpcbench/grpcbench/proto/userpb"
	"github.com/grpcbench/grpcbench/retry"
)

func hedging(max int, delay time.Duration, nonFatal ...codes.Code) retry.HedgingPolicy {
	p := retry.HedgingPolicy{MaxAttempts: &max, HedgingDelay: delay}
	if len(nonFatal) > 0 {
		p.NonFatalCodes = nonFatal
	}
	return p
}

// waitServerCalls waits (bounded) until the server has seen want calls of
// method arrive (fakeserver's Arrived: every stream whose headers reached it,
// also those cancelled before the handler ran) and returns what it saw.
func waitServerCalls(t *testing.T, cl *fakeserver.Cluster, method string, want int64) int64 {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		var got int64
		for _, b := range cl.Stats().Backends {
			got += b.Arrived[method]
		}
		if got == want || time.Now().After(deadline) {
			return got
		}
		time.Sleep(time.Millisecond)
	}
}

// p99 returns the 99th percentile of ds (nearest rank).
func p99(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[(len(s)*99+99)/100-1]
}

// TestHedgingCutsTail is the "Must show": against a backend with a
// slow lognormal tail (median 2ms, p99 60ms, so p95 ≈ 22ms), hedging after
// 20ms lowers the p99 of 400 sequential calls; hedges were sent and won, and
// the client's attempts equal the calls the server saw (cancelled ones
// included). The server's extra work is logged.
func TestHedgingCutsTail(t *testing.T) {
	const calls = 400
	lat := fakeserver.Fault{Method: fakeserver.MethodList{"GetUser"},
		Latency: &fakeserver.Latency{Dist: fakeserver.DistLognormal, Median: 2 * time.Millisecond, P99: 60 * time.Millisecond}}
	run := func(conn func(grpc.ClientConnInterface) grpc.ClientConnInterface) ([]time.Duration, *fakeserver.Cluster) {
		cl, cc := startCluster(t, lat)
		client := userpb.NewUserServiceClient(conn(cc))
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		var ds []time.Duration
		for range calls {
			start := time.Now()
			if _, err := client.GetUser(ctx, &userpb.GetUserRequest{UserId: "u1"}); err != nil && status.Code(err) != codes.NotFound {
				t.Fatalf("GetUser: %v", err)
			}
			ds = append(ds, time.Since(start))
		}
		return ds, cl
	}
	plain, _ := run(func(cc grpc.ClientConnInterface) grpc.ClientConnInterface { return cc })
	var h *retry.HedgeConn
	hedged, cl := run(func(cc grpc.ClientConnInterface) grpc.ClientConnInterface {
		h = retry.Hedge(cc, hedging(3, 20*time.Millisecond))
		return h
	})
	st := h.Stats()
	server := waitServerCalls(t, cl, "GetUser", st.Attempts)
	t.Logf("p99 plain %v, hedged %v; stats %+v; server calls %d, extra work %d (%.1f%%)",
		p99(plain), p99(hedged), st, server, server-calls, 100*float64(server-calls)/calls)
	if st.Calls != calls || st.Hedges == 0 || len(st.Won) < 2 || st.Won[2] == 0 {
		t.Fatalf("stats %+v: want %d calls, hedges sent and won by attempt 2", st, calls)
	}
	if server != st.Attempts {
		t.Fatalf("server saw %d calls, client sent %d attempts", server, st.Attempts)
	}
	if p99(hedged) > p99(plain)*3/4 {
		t.Fatalf("p99 with hedging %v is not clearly below p99 without %v", p99(hedged), p99(plain))
	}
}

// TestHedgeWinsAndCancelsLoser: the original attempt stalls, the hedge
// answers; the original is cancelled (the server sees CANCELLED) and the
// hedge carried grpc-previous-rpc-attempts.
func TestHedgeWinsAndCancelsLoser(t *testing.T) {
	// GetUser calls 2, 4, … stall: call 1 warms up, the hedged call's
	// original attempt is call 2 and its hedge call 3.
	cl, cc := startCluster(t, fakeserver.Fault{Method: fakeserver.MethodList{"GetUser"}, Stall: &fakeserver.Stall{EveryNth: 2}})
	obs := &recordingObserver{}
	h := retry.Hedge(cc, hedging(2, 30*time.Millisecond), retry.WithObserver(obs))
	client := userpb.NewUserServiceClient(h)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := userpb.NewUserServiceClient(cc).GetUser(ctx, &userpb.GetUserRequest{UserId: "u1"}); status.Code(err) != codes.NotFound && err != nil {
		t.Fatal(err)
	}
	resp := &userpb.GetUserResponse{}
	if err := h.Invoke(ctx, userpb.UserService_GetUser_FullMethodName, &userpb.GetUserRequest{UserId: "u1"}, resp); err != nil && status.Code(err) != codes.NotFound {
		t.Fatalf("hedged GetUser: %v", err)
	}
	_ = client
	st := h.Stats()
	if st.Calls != 1 || st.Attempts != 2 || st.Cancelled != 1 || len(st.Won) != 3 || st.Won[2] != 1 {
		t.Fatalf("stats %+v: want 1 call, 2 attempts, won by attempt 2, 1 cancelled", st)
	}
	waitServerCalls(t, cl, "GetUser", 3)
	testutil.Eventually(t, 5*time.Second, "the cancelled original to end", func() bool { return cl.Stats().Backends[0].Codes["CANCELLED"] == 1 })
	b := cl.Stats().Backends[0]
	if b.Codes["CANCELLED"] != 1 || b.Retries["GetUser"] != 1 {
		t.Fatalf("server codes %v retries %v: want the original CANCELLED and one call marked as a retry", b.Codes, b.Retries)
	}
	obs.mu.Lock()
	defer obs.mu.Unlock()
	if !slices.Equal(obs.attempts, []int{1, 2}) {
		t.Fatalf("observer saw attempts %v, want [1 2]", obs.attempts)
	}
}

// TestHedgeDecisions covers A6's table for hedging with every call failing:
// a non-fatal code sends the next hedge at once (the 1h delay never
// passes), a pushback saying "do not retry" stops hedging, a positive
// pushback delays the next hedge, and a fatal code ends the call.
func TestHedgeDecisions(t *testing.T) {
	pbStop, pbWait := -time.Millisecond, 150*time.Millisecond
	tests := []struct {
		name      string
		code      codes.Code
		pushback  *time.Duration
		wantCode  codes.Code
		wantCalls int64
		minTime   time.Duration
		check     func(retry.HedgeStats) bool
	}{
		{"non-fatal sends next at once", codes.Unavailable, nil, codes.Unavailable, 3, 0,
			func(s retry.HedgeStats) bool { return s.Failed == 1 && s.Hedges == 2 }},
		{"pushback stops", codes.Unavailable, &pbStop, codes.Unavailable, 1, 0,
			func(s retry.HedgeStats) bool { return s.PushbackStops == 1 && s.Hedges == 0 }},
		{"pushback delays", codes.Unavailable, &pbWait, codes.Unavailable, 3, 2 * pbWait,
			func(s retry.HedgeStats) bool { return s.PushbackWaits == 2 && s.Hedges == 2 }},
		{"fatal ends the call", codes.InvalidArgument, nil, codes.InvalidArgument, 1, 0,
			func(s retry.HedgeStats) bool { return s.Failed == 1 && s.Hedges == 0 }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cl, cc := startCluster(t, fakeserver.Fault{Method: fakeserver.MethodList{"CreateUser"},
				Error: &fakeserver.ErrorRule{Code: tt.code, EveryNth: 1, Pushback: tt.pushback}})
			h := retry.Hedge(cc, hedging(3, time.Hour, codes.Unavailable))
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			start := time.Now()
			_, err := userpb.NewUserServiceClient(h).CreateUser(ctx, &userpb.CreateUserRequest{Username: "a"})
			took := time.Since(start)
			if status.Code(err) != tt.wantCode {
				t.Fatalf("CreateUser = %v, want %s", err, tt.wantCode)
			}
			if took < tt.minTime {
				t.Fatalf("call took %v, the pushback asked for at least %v", took, tt.minTime)
			}
			st := h.Stats()
			if got := waitServerCalls(t, cl, "CreateUser", tt.wantCalls); got != tt.wantCalls || st.Attempts != got || !tt.check(st) {
				t.Fatalf("server calls %d, stats %+v; want %d calls", got, st, tt.wantCalls)
			}
			if _, retries := serverCalls(cl, "CreateUser"); retries != tt.wantCalls-1 {
				t.Fatalf("server saw %d calls marked as retries, want %d", retries, tt.wantCalls-1)
			}
		})
	}
}

// TestHedgeDeadline: when the caller's deadline passes while the original
// attempt runs, the call ends with DEADLINE_EXCEEDED (not the CANCELLED of
// the layer's own context) and no hedge outlives it.
func TestHedgeDeadline(t *testing.T) {
	_, cc := startCluster(t, fakeserver.Fault{Method: fakeserver.MethodList{"GetUser"}, Stall: &fakeserver.Stall{EveryNth: 1}})
	h := retry.Hedge(cc, hedging(2, time.Hour))
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, err := userpb.NewUserServiceClient(h).GetUser(ctx, &userpb.GetUserRequest{UserId: "u1"})
	if status.Code(err) != codes.DeadlineExceeded {
		t.Fatalf("GetUser = %v, want DEADLINE_EXCEEDED", err)
	}
	// A second call reuses the pooled state: it must not inherit the
	// cancellation.
	ctx2, cancel2 := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel2()
	if _, err := userpb.NewUserServiceClient(h).GetUser(ctx2, &userpb.GetUserRequest{UserId: "u1"}); status.Code(err) != codes.DeadlineExceeded {
		t.Fatalf("second GetUser = %v, want DEADLINE_EXCEEDED", err)
	}
}

// TestHedgeThrottled: with a bucket of 2 tokens, the original attempt's
// failure leaves 1 (≤ 2/2), so no hedge is sent (A6).
func TestHedgeThrottled(t *testing.T) {
	cl, cc := startCluster(t, fakeserver.Fault{Method: fakeserver.MethodList{"CreateUser"},
		Error: &fakeserver.ErrorRule{Code: codes.Unavailable, EveryNth: 1}})
	th := retry.NewThrottle(retry.ThrottlePolicy{MaxTokens: 2, TokenRatio: 0.5})
	h := retry.Hedge(cc, hedging(3, time.Hour), retry.WithThrottle(th))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := userpb.NewUserServiceClient(h).CreateUser(ctx, &userpb.CreateUserRequest{Username: "a"}); status.Code(err) != codes.Unavailable {
		t.Fatalf("CreateUser = %v", err)
	}
	st, ts := h.Stats(), th.Stats()
	if got := waitServerCalls(t, cl, "CreateUser", 1); got != 1 || st.Throttled != 1 || ts.Throttled != 1 || ts.Tokens != 1 || !ts.Throttling {
		t.Fatalf("server calls %d, hedge stats %+v, throttle %+v: want 1 call, the hedge throttled", got, st, ts)
	}
}

// TestHedgedServerStream: a server stream whose original attempt stalls is
// answered by its hedge; every message arrives, the original is cancelled.
func TestHedgedServerStream(t *testing.T) {
	cl, cc := startCluster(t, fakeserver.Fault{Method: fakeserver.MethodList{"ListUsers"}, Stall: &fakeserver.Stall{EveryNth: 2}})
	h := retry.Hedge(cc, hedging(2, 30*time.Millisecond))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	recv := func(client userpb.UserServiceClient) int {
		s, err := client.ListUsers(ctx, &userpb.ListUsersRequest{PageSize: 5})
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for {
			_, err := s.Recv()
			if errors.Is(err, io.EOF) {
				return n
			}
			if err != nil {
				t.Fatalf("Recv after %d: %v", n, err)
			}
			n++
		}
	}
	if n := recv(userpb.NewUserServiceClient(cc)); n != 5 {
		t.Fatalf("warm-up stream got %d messages", n)
	}
	if n := recv(userpb.NewUserServiceClient(h)); n != 5 {
		t.Fatalf("hedged stream got %d messages, want 5", n)
	}
	st := h.Stats()
	if st.Calls != 1 || st.Attempts != 2 || st.Cancelled != 1 || len(st.Won) != 3 || st.Won[2] != 1 {
		t.Fatalf("stats %+v: want won by the hedge, the original cancelled", st)
	}
	if got := waitServerCalls(t, cl, "ListUsers", 3); got != 3 {
		t.Fatalf("server saw %d streams, want 3", got)
	}
}

// TestHedgeConcurrent runs many hedged calls at once against a jittery
// backend (under -race this checks the per-call state), then checks the
// client/server identity.
func TestHedgeConcurrent(t *testing.T) {
	cl, cc := startCluster(t, fakeserver.Fault{Method: fakeserver.MethodList{"GetUser"},
		Latency: &fakeserver.Latency{Dist: fakeserver.DistUniform, Min: 0, Max: 4 * time.Millisecond}})
	h := retry.Hedge(cc, hedging(3, time.Millisecond))
	client := userpb.NewUserServiceClient(h)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 50 {
				resp, err := client.GetUser(ctx, &userpb.GetUserRequest{UserId: "u1"})
				if err != nil && status.Code(err) != codes.NotFound {
					t.Errorf("GetUser: %v", err)
					return
				}
				_ = resp
			}
		}()
	}
	wg.Wait()
	st := h.Stats()
	if got := waitServerCalls(t, cl, "GetUser", st.Attempts); st.Calls != 400 || got != st.Attempts {
		t.Fatalf("stats %+v, server calls %d", st, got)
	}
}

func TestHedgingPolicyValidate(t *testing.T) {
	n := func(v int) *int { return &v }
	tests := []struct {
		name string
		p    retry.HedgingPolicy
		want []string
	}{
		{"zero is valid", retry.HedgingPolicy{}, nil},
		{"full", retry.HedgingPolicy{MaxAttempts: n(5), HedgingDelay: time.Millisecond, NonFatalCodes: []codes.Code{codes.Unavailable}, MaxBuffer: n(0)}, nil},
		{"attempts low", retry.HedgingPolicy{MaxAttempts: n(1)}, []string{"max_attempts: must be between 2 and 5"}},
		{"attempts zero", retry.HedgingPolicy{MaxAttempts: n(0)}, []string{"max_attempts: must be between 2 and 5"}},
		{"attempts high", retry.HedgingPolicy{MaxAttempts: n(6)}, []string{"max_attempts: must be between 2 and 5"}},
		{"delay", retry.HedgingPolicy{HedgingDelay: -1}, []string{"hedging_delay: must not be negative"}},
		{"empty codes", retry.HedgingPolicy{NonFatalCodes: []codes.Code{}}, []string{"non_fatal_codes: must not be empty"}},
		{"bad codes", retry.HedgingPolicy{NonFatalCodes: []codes.Code{codes.OK, codes.Canceled, codes.Aborted, codes.Aborted, 42}},
			[]string{"non_fatal_codes[0]: OK", "non_fatal_codes[1]: CANCELLED", "non_fatal_codes[3]: ABORTED is listed twice", "non_fatal_codes[4]: unknown"}},
		{"buffer", retry.HedgingPolicy{MaxBuffer: n(-1)}, []string{"max_buffer: must not be negative"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { testutil.FieldErrors(t, tt.p.Validate(), tt.want...) })
	}
	d := retry.HedgingPolicy{}.WithDefaults()
	if *d.MaxAttempts != 2 || d.HedgingDelay != 0 || len(d.NonFatalCodes) != 3 || *d.MaxBuffer != 64<<10 {
		t.Fatalf("defaults %+v", d)
	}
}
