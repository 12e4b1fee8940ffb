package retry_test

import (
	"context"
	"fmt"
	"strings"
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

// throttleRun is what one mode recorded in the three phases of
// TestThrottlingStopsAndResumes.
type throttleRun struct {
	throttled1, retried1 int64 // after phase 1
	tokens2              float64
	retried3, throttled3 int64 // gained in phase 3
}

// TestThrottlingStopsAndResumes is the "Must show" for throttling,
// driven deterministically: GetUser fails every 2nd call (50 % UNAVAILABLE),
// CreateUser never fails. Phase 1 (GetUser) spends the bucket until retries
// stop; phase 2 (CreateUser successes) refills it by token_ratio each; in
// phase 3 (GetUser again) retries resume. Wrapper and native mode must
// record the same story: native's throttled count is inferred by the
// AttemptCounter, its tokens come from the mirror bucket.
func TestThrottlingStopsAndResumes(t *testing.T) {
	tp := retry.ThrottlePolicy{MaxTokens: 10, TokenRatio: 0.1}
	p := retry.Policy{Kind: retry.Fixed, MaxAttempts: 2, BaseDelay: time.Millisecond, MaxDelay: time.Millisecond, Codes: []codes.Code{codes.Unavailable}}
	fault := fakeserver.Fault{Method: fakeserver.MethodList{"GetUser"}, Error: &fakeserver.ErrorRule{Code: codes.Unavailable, EveryNth: 2}}
	phases := func(t *testing.T, conn grpc.ClientConnInterface, stats func() retry.Stats, th *retry.Throttle) throttleRun {
		client := userpb.NewUserServiceClient(conn)
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		get := func(n int) {
			for range n {
				if _, err := client.GetUser(ctx, &userpb.GetUserRequest{UserId: "u1"}); err != nil &&
					status.Code(err) != codes.NotFound && status.Code(err) != codes.Unavailable {
					t.Fatalf("GetUser: %v", err)
				}
			}
		}
		var r throttleRun
		get(30)
		s := stats()
		r.throttled1, r.retried1 = s.Throttled, s.Retried
		if th.Tokens() > 5 {
			t.Fatalf("after phase 1 the bucket holds %v tokens, want at most 5 (throttling)", th.Tokens())
		}
		before := th.Tokens()
		for range 80 {
			if _, err := client.CreateUser(ctx, &userpb.CreateUserRequest{Username: "a"}); err != nil {
				t.Fatalf("CreateUser: %v", err)
			}
		}
		r.tokens2 = th.Tokens()
		if want := min(before+8, 10); r.tokens2 < want-1e-9 || r.tokens2 > want+1e-9 {
			t.Fatalf("80 successes took the bucket from %v to %v, want %v", before, r.tokens2, want)
		}
		get(6)
		s = stats()
		r.retried3, r.throttled3 = s.Retried-r.retried1, s.Throttled-r.throttled1
		return r
	}

	wrapTh := retry.NewThrottle(tp)
	_, cc := startCluster(t, fault)
	wc := retry.Wrap(cc, p, retry.WithThrottle(wrapTh))
	wrapper := phases(t, wc, wc.Stats, wrapTh)

	np := p
	np.Mode = retry.ModeNative
	sc, err := retry.ServiceConfigJSONWith(np, &tp)
	if err != nil {
		t.Fatal(err)
	}
	mirror := retry.NewThrottle(tp)
	ac := retry.NewAttemptCounter(np, retry.WithThrottle(mirror))
	_, ncc := startClusterWith(t, append(ac.DialOptions(), grpc.WithDefaultServiceConfig(sc)), fault)
	native := phases(t, ncc, ac.Stats, mirror)

	t.Logf("wrapper %+v; native %+v; throttle log %+v", wrapper, native, wrapTh.Stats().Log)
	if wrapper.throttled1 == 0 || wrapper.retried1 == 0 || wrapper.retried3 == 0 {
		t.Fatalf("wrapper %+v: want retries, then throttled calls in phase 1, and retries again in phase 3", wrapper)
	}
	if native != wrapper {
		t.Fatalf("native mode recorded %+v, wrapper mode %+v: gRPC's throttling should match", native, wrapper)
	}
	log := wrapTh.Stats().Log
	if len(log) < 2 {
		t.Fatalf("throttle log %+v: want throttling on, then off", log)
	}
	for i, e := range log {
		if e.Throttling != (i%2 == 0) || (i > 0 && e.At < log[i-1].At) {
			t.Fatalf("throttle log %+v: want on/off alternating in time order", log)
		}
	}
}

func TestThrottleBucket(t *testing.T) {
	th := retry.NewThrottle(retry.ThrottlePolicy{MaxTokens: 3, TokenRatio: 0.5})
	steps := []struct {
		op      string
		allowed bool
		tokens  float64
	}{
		{"fail", true, 2}, {"fail", false, 1}, {"ok", false, 1.5}, {"ok", true, 2}, {"ok", true, 2.5},
		{"ok", true, 3}, {"ok", true, 3}, {"fail", true, 2}, {"fail", false, 1}, {"fail", false, 0}, {"fail", false, 0},
	}
	for i, s := range steps {
		if s.op == "fail" {
			if got := th.Failure(); got != s.allowed {
				t.Fatalf("step %d: Failure() = %v, want %v", i, got, s.allowed)
			}
		} else {
			th.Success()
		}
		if th.Tokens() != s.tokens || th.Allowed() != s.allowed {
			t.Fatalf("step %d (%s): tokens %v allowed %v, want %v %v", i, s.op, th.Tokens(), th.Allowed(), s.tokens, s.allowed)
		}
	}
	st := th.Stats()
	if st.Failures != 6 || st.Successes != 5 || len(st.Log) != 3 || st.LogDropped != 0 {
		t.Fatalf("stats %+v", st)
	}
}

func TestThrottlePolicyValidate(t *testing.T) {
	tests := []struct {
		p    retry.ThrottlePolicy
		want []string
	}{
		{retry.ThrottlePolicy{MaxTokens: 10, TokenRatio: 0.1}, nil},
		{retry.ThrottlePolicy{MaxTokens: 1000, TokenRatio: 1}, nil},
		{retry.ThrottlePolicy{MaxTokens: 1, TokenRatio: 0.001}, nil},
		{retry.ThrottlePolicy{}, []string{"max_tokens: is required", "token_ratio: is required"}},
		{retry.ThrottlePolicy{MaxTokens: 1001, TokenRatio: 1.5}, []string{"max_tokens: is required and must be between 1 and 1000", "token_ratio: is required and must be in (0, 1]"}},
		{retry.ThrottlePolicy{MaxTokens: 10, TokenRatio: 0.1234}, []string{"token_ratio: at most 3 decimal places"}},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%+v", tt.p), func(t *testing.T) { testutil.FieldErrors(t, tt.p.Validate(), tt.want...) })
	}
	sc, err := retry.ServiceConfigJSONWith(retry.Policy{}, &retry.ThrottlePolicy{MaxTokens: 10, TokenRatio: 0.1})
	if err != nil || !strings.Contains(sc, `"retryThrottling":{"maxTokens":10,"tokenRatio":0.1}`) {
		t.Fatalf("ServiceConfigJSONWith = %s, %v", sc, err)
	}
	if _, err := retry.ServiceConfigJSONWith(retry.Policy{}, &retry.ThrottlePolicy{}); err == nil || !strings.Contains(err.Error(), "throttle.max_tokens") {
		t.Fatalf("ServiceConfigJSONWith with a bad throttle = %v", err)
	}
}

// FuzzParsePushback checks the pushback reader never panics and keeps its
// contract: a wait is never negative nor beyond A6's 32-bit milliseconds,
// and a stop carries no wait.
func FuzzParsePushback(f *testing.F) {
	for _, s := range []string{"0", "250", "-1", "abc", "2147483647", "2147483648", "+5", "007", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		wait, stop, present := retry.ParsePushbackForTest([]string{s})
		if !present || (stop && wait != 0) || wait < 0 || wait > 2147483647*time.Millisecond {
			t.Fatalf("parsePushback(%q) = %v %v %v", s, wait, stop, present)
		}
		if _, stop2, _ := retry.ParsePushbackForTest([]string{s, s}); !stop2 {
			t.Fatalf("two values must mean stop")
		}
	})
}
