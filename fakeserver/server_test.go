package fakeserver

import (
	"context"
	"fmt"
	"io"
	"math"
	"sort"
	"sync"
	"testing"
	"time"

	orcapb "github.com/cncf/xds/go/xds/data/orca/v3"
	"golang.org/x/net/http2"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	reflectionpb "google.golang.org/grpc/reflection/grpc_reflection_v1"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/grpcbench/grpcbench/internal/testutil"
	"github.com/grpcbench/grpcbench/proto/userpb"
)

// TestAllMethodsAndCounters calls every UserService method on backend 1 of
// two and checks the backend's counters: calls, messages and codes, and
// nothing on backend 0.
func TestAllMethodsAndCounters(t *testing.T) {
	cl := startCluster(t, Config{Backends: 2})
	_, c := dial(t, cl.Addrs()[1])
	ctx := ctxFor(t, 10*time.Second)
	callUnary(ctx, t, c)
	callListUsers(ctx, t, c)
	callBatchCreateUsers(ctx, t, c)
	callSyncUsers(ctx, t, c)

	testutil.Eventually(t, 2*time.Second, "in-flight calls to end", func() bool { return cl.Stats().Backends[1].Inflight == 0 })
	st := cl.Stats()
	b := st.Backends[1]
	want := map[string]int64{"CreateUser": 1, "GetUser": 3, "ListUsers": 1, "BatchCreateUsers": 1, "SyncUsers": 1}
	for m, w := range want {
		if b.Calls[m] != w {
			t.Errorf("Calls[%s] = %d, want %d", m, b.Calls[m], w)
		}
	}
	if b.MessagesOut["ListUsers"] != 25 || b.MessagesIn["BatchCreateUsers"] != 7 ||
		b.MessagesIn["SyncUsers"] != 5 || b.MessagesOut["SyncUsers"] != 5 {
		t.Errorf("messages: in %v out %v", b.MessagesIn, b.MessagesOut)
	}
	if b.Codes["OK"] != 6 || b.Codes["INVALID_ARGUMENT"] != 1 {
		t.Errorf("codes = %v", b.Codes)
	}
	if st.Backends[0].TotalCalls() != 0 || st.TotalCalls() != 7 {
		t.Errorf("backend 0 calls %d, total %d", st.Backends[0].TotalCalls(), st.TotalCalls())
	}
	if b.Retries["GetUser"] != 0 {
		t.Errorf("retries = %v", b.Retries)
	}
}

// callUnary creates a user, reads it back, reads a synthesised one and
// makes one invalid call (four unary calls, one INVALID_ARGUMENT).
func callUnary(ctx context.Context, t *testing.T, c userpb.UserServiceClient) {
	t.Helper()
	cr, err := c.CreateUser(ctx, &userpb.CreateUserRequest{Username: "ada", Email: "ada@example.test", ResponsePadding: 100})
	if err != nil {
		t.Fatal(err)
	}
	if cr.User.Username != "ada" || len(cr.User.Padding) != 100 {
		t.Fatalf("CreateUser = %v", cr.User)
	}
	gr, err := c.GetUser(ctx, &userpb.GetUserRequest{UserId: cr.User.Id})
	if err != nil || gr.User.Username != "ada" {
		t.Fatalf("GetUser(created) = %v, %v", gr, err)
	}
	gr, err = c.GetUser(ctx, &userpb.GetUserRequest{UserId: "u7"})
	if err != nil || gr.User.Username != "user7" {
		t.Fatalf("GetUser(synth) = %v, %v", gr, err)
	}
	if _, err := c.GetUser(ctx, &userpb.GetUserRequest{}); status.Code(err) != codes.InvalidArgument {
		t.Fatalf("GetUser(empty) err = %v, want INVALID_ARGUMENT", err)
	}
}

// callListUsers streams 25 users from u100 and checks their ids.
func callListUsers(ctx context.Context, t *testing.T, c userpb.UserServiceClient) {
	t.Helper()
	ls, err := c.ListUsers(ctx, &userpb.ListUsersRequest{PageSize: 25, PageToken: "u100"})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for {
		u, err := ls.Recv()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if want := fmt.Sprintf("u%d", 100+n); u.Id != want {
			t.Fatalf("message %d id %s, want %s", n, u.Id, want)
		}
		n++
	}
	if n != 25 {
		t.Fatalf("ListUsers sent %d, want 25", n)
	}
}

// callBatchCreateUsers sends a batch of 7.
func callBatchCreateUsers(ctx context.Context, t *testing.T, c userpb.UserServiceClient) {
	t.Helper()
	bs, err := c.BatchCreateUsers(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 7 {
		if err := bs.Send(&userpb.CreateUserRequest{Username: fmt.Sprint("b", i)}); err != nil {
			t.Fatal(err)
		}
	}
	br, err := bs.CloseAndRecv()
	if err != nil || br.Created != 7 || br.FirstId == "" || br.LastId == "" {
		t.Fatalf("BatchCreateUsers = %v, %v", br, err)
	}
}

// callSyncUsers exchanges 5 messages in lock step and ends the stream.
func callSyncUsers(ctx context.Context, t *testing.T, c userpb.UserServiceClient) {
	t.Helper()
	ss, err := c.SyncUsers(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for i := range int64(5) {
		if err := ss.Send(&userpb.SyncUserRequest{Seq: i, UserId: "u1"}); err != nil {
			t.Fatal(err)
		}
		r, err := ss.Recv()
		if err != nil || r.Seq != i {
			t.Fatalf("SyncUsers reply %d = %v, %v", i, r, err)
		}
	}
	if err := ss.CloseSend(); err != nil {
		t.Fatal(err)
	}
	if _, err := ss.Recv(); err != io.EOF {
		t.Fatalf("after CloseSend: %v, want EOF", err)
	}
}

func TestRetryAttemptsCounted(t *testing.T) {
	cl := startCluster(t, Config{})
	_, c := dial(t, cl.Addrs()[0])
	ctx := metadata.AppendToOutgoingContext(ctxFor(t, 5*time.Second), "grpc-previous-rpc-attempts", "1")
	for range 3 {
		if _, err := c.GetUser(ctx, &userpb.GetUserRequest{UserId: "u1"}); err != nil {
			t.Fatal(err)
		}
	}
	if got := cl.Stats().Backends[0].Retries["GetUser"]; got != 3 {
		t.Fatalf("Retries[GetUser] = %d, want 3", got)
	}
}

// getOutcomes makes n sequential GetUser calls and returns their codes.
func getOutcomes(t *testing.T, c userpb.UserServiceClient, n int) []codes.Code {
	t.Helper()
	ctx := ctxFor(t, 30*time.Second)
	out := make([]codes.Code, n)
	for i := range out {
		_, err := c.GetUser(ctx, &userpb.GetUserRequest{UserId: "u1"})
		out[i] = status.Code(err)
	}
	return out
}

func TestErrorRateWithinBinomialBounds(t *testing.T) {
	const n, p = 2000, 0.2
	cl := startCluster(t, Config{Seed: 42, Faults: []Fault{
		{Method: MethodList{"GetUser"}, Error: &ErrorRule{Code: codes.Unavailable, Rate: ptr(p)}},
	}})
	_, c := dial(t, cl.Addrs()[0])
	got := 0
	for _, code := range getOutcomes(t, c, n) {
		switch code {
		case codes.Unavailable:
			got++
		case codes.OK:
		default:
			t.Fatalf("unexpected code %v", code)
		}
	}
	// Five standard deviations: a false failure is a one-in-a-million event
	// and the seed makes it reproducible anyway.
	mean, sd := n*p, math.Sqrt(n*p*(1-p))
	if math.Abs(float64(got)-mean) > 5*sd {
		t.Fatalf("%d/%d UNAVAILABLE, want %.0f ± %.0f", got, n, mean, 5*sd)
	}
	st := cl.Stats()
	if st.Fault("error/UNAVAILABLE") != int64(got) || st.Backends[0].Codes["UNAVAILABLE"] != int64(got) {
		t.Fatalf("server counted %d faults, codes %v; client saw %d", st.Fault("error/UNAVAILABLE"), st.Backends[0].Codes, got)
	}
	if st.Backends[0].Calls["GetUser"] != n {
		t.Fatalf("server counted %d calls, want %d", st.Backends[0].Calls["GetUser"], n)
	}
}

func TestErrorEveryNthTrailersOnlyWithPushback(t *testing.T) {
	cl := startCluster(t, Config{Faults: []Fault{
		{Error: &ErrorRule{Code: codes.ResourceExhausted, EveryNth: 3, Message: "slow down", Pushback: ptr(250 * time.Millisecond)}},
	}})
	_, c := dial(t, cl.Addrs()[0])
	ctx := ctxFor(t, 5*time.Second)
	for i := 1; i <= 9; i++ {
		var hdr, trl metadata.MD
		_, err := c.GetUser(ctx, &userpb.GetUserRequest{UserId: "u1"}, grpc.Header(&hdr), grpc.Trailer(&trl))
		if i%3 != 0 {
			if err != nil {
				t.Fatalf("call %d: %v", i, err)
			}
			continue
		}
		s := status.Convert(err)
		if s.Code() != codes.ResourceExhausted || s.Message() != "slow down" {
			t.Fatalf("call %d: %v, want RESOURCE_EXHAUSTED slow down", i, err)
		}
		if got := trl.Get("grpc-retry-pushback-ms"); len(got) != 1 || got[0] != "250" {
			t.Fatalf("call %d: pushback trailer %v", i, got)
		}
		// Trailers-only: no response headers were sent before the status.
		if len(hdr) != 0 {
			t.Fatalf("call %d: headers %v sent before the error; want trailers-only", i, hdr)
		}
	}
}

func TestSameSeedSameFaultSequence(t *testing.T) {
	cfg := func(seed int64) Config {
		return Config{Seed: seed, Faults: []Fault{
			{Error: &ErrorRule{Code: codes.Unavailable, Rate: ptr(0.3)}},
			{Error: &ErrorRule{Code: codes.Internal, Rate: ptr(0.2)}},
		}}
	}
	run := func(seed int64) []codes.Code {
		cl, err := Start(context.Background(), cfg(seed))
		if err != nil {
			t.Fatal(err)
		}
		defer cl.Stop()
		_, c := dial(t, cl.Addrs()[0])
		return getOutcomes(t, c, 300)
	}
	a, b, other := run(7), run(7), run(8)
	if fmt.Sprint(a) != fmt.Sprint(b) {
		t.Fatalf("seed 7 gave two different sequences:\n%v\n%v", a, b)
	}
	if fmt.Sprint(a) == fmt.Sprint(other) {
		t.Fatal("seeds 7 and 8 gave the same sequence")
	}
	// Pure draws: same seed, same latency samples.
	l := &Latency{Dist: DistLognormal, Median: time.Millisecond, P99: 10 * time.Millisecond}
	d1, d2 := newDraws(7, 0, 1), newDraws(7, 0, 1)
	for range 100 {
		n1, n2 := d1.next(), d2.next()
		if l.Sample(d1.unit(n1, 1), d1.unit(n1, 2)) != l.Sample(d2.unit(n2, 1), d2.unit(n2, 2)) {
			t.Fatal("same seed gave different latency samples")
		}
	}
}

func quantile(sorted []time.Duration, q float64) time.Duration {
	return sorted[int(math.Ceil(q*float64(len(sorted))))-1]
}

func TestLatencyDistributionsPure(t *testing.T) {
	const n = 200_000
	tests := []struct {
		l        Latency
		q        float64
		want     time.Duration
		tolerPct float64
	}{
		{Latency{Dist: DistFixed, Value: 5 * time.Millisecond}, 0.5, 5 * time.Millisecond, 0},
		{Latency{Dist: DistUniform, Min: 10 * time.Millisecond, Max: 20 * time.Millisecond}, 0.5, 15 * time.Millisecond, 1},
		{Latency{Dist: DistNormal, Mean: 50 * time.Millisecond, Stddev: 10 * time.Millisecond}, 0.5, 50 * time.Millisecond, 1},
		{Latency{Dist: DistNormal, Mean: 50 * time.Millisecond, Stddev: 10 * time.Millisecond}, 0.8413, 60 * time.Millisecond, 1.5},
		{Latency{Dist: DistLognormal, Median: 20 * time.Millisecond, P99: 200 * time.Millisecond}, 0.5, 20 * time.Millisecond, 2},
		{Latency{Dist: DistLognormal, Median: 20 * time.Millisecond, P99: 200 * time.Millisecond}, 0.99, 200 * time.Millisecond, 4},
		{Latency{Dist: DistExponential, Mean: 10 * time.Millisecond}, 0.5, 6931472 * time.Nanosecond, 2},
		{Latency{Dist: DistPareto, Min: 10 * time.Millisecond, Alpha: 2}, 0.75, 20 * time.Millisecond, 2},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%s-q%g", tt.l.Dist, tt.q), func(t *testing.T) {
			d := newDraws(1, 2, 3)
			s := make([]time.Duration, n)
			for i := range s {
				k := d.next()
				s[i] = tt.l.Sample(d.unit(k, 1), d.unit(k, 2))
			}
			sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
			got := quantile(s, tt.q)
			if diff := math.Abs(float64(got-tt.want)) / float64(tt.want) * 100; diff > tt.tolerPct {
				t.Fatalf("q%g = %v, want %v ± %g%%", tt.q, got, tt.want, tt.tolerPct)
			}
		})
	}
}

func TestLognormalLatencyOnTheWire(t *testing.T) {
	// Long delays and few workers keep the test's own CPU use small, so
	// scheduling noise on a loaded machine stays small against the delays.
	const n, workers = 800, 40
	median, p99 := 50*time.Millisecond, 250*time.Millisecond
	cl := startCluster(t, Config{Seed: 3, Faults: []Fault{
		{Latency: &Latency{Dist: DistLognormal, Median: median, P99: p99}},
	}})
	_, c := dial(t, cl.Addrs()[0])
	ctx := ctxFor(t, 60*time.Second)
	lat := make([]time.Duration, n)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < n; i += workers {
				t0 := time.Now()
				_, err := c.GetUser(ctx, &userpb.GetUserRequest{UserId: "u1"})
				lat[i] = time.Since(t0)
				if err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	// The wire and the scheduler only add time, so the bounds are one-sided
	// wider above: -10%/+20% at the median, -25%/+40% at p99 (800 samples
	// leave p99 itself uncertain by about ±20%).
	m, q := quantile(lat, 0.5), quantile(lat, 0.99)
	if m < median*90/100 || m > median*120/100 {
		t.Errorf("median %v, want %v (-10%%/+20%%)", m, median)
	}
	if q < p99*75/100 || q > p99*140/100 {
		t.Errorf("p99 %v, want %v (-25%%/+40%%)", q, p99)
	}
	if got := cl.Stats().Fault("latency"); got != n {
		t.Errorf("latency faults %d, want %d", got, n)
	}
}

func TestPerMessageLatency(t *testing.T) {
	cl := startCluster(t, Config{Faults: []Fault{
		{Method: MethodList{"ListUsers"}, Latency: &Latency{Dist: DistFixed, Value: 20 * time.Millisecond, Per: "message"}},
	}})
	_, c := dial(t, cl.Addrs()[0])
	t0 := time.Now()
	s, err := c.ListUsers(ctxFor(t, 10*time.Second), &userpb.ListUsersRequest{PageSize: 5})
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := s.Recv(); err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
	}
	if d := time.Since(t0); d < 100*time.Millisecond {
		t.Fatalf("5 messages × 20ms took %v, want ≥ 100ms", d)
	}
	if got := cl.Stats().Fault("latency"); got != 5 {
		t.Fatalf("latency faults %d, want 5 (one per message)", got)
	}
}

func TestStreamAbortAfterExactlyN(t *testing.T) {
	cl := startCluster(t, Config{Faults: []Fault{
		{Method: MethodList{"ListUsers"}, Abort: &Abort{After: 3, Code: codes.Aborted, Message: "boom"}},
		{Method: MethodList{"SyncUsers"}, Abort: &Abort{After: 2, Code: codes.DataLoss}},
		{Method: MethodList{"BatchCreateUsers"}, Abort: &Abort{After: 4, Code: codes.Internal}},
	}})
	_, c := dial(t, cl.Addrs()[0])
	ctx := ctxFor(t, 10*time.Second)

	ls, err := c.ListUsers(ctx, &userpb.ListUsersRequest{PageSize: 10})
	if err != nil {
		t.Fatal(err)
	}
	got := 0
	for {
		_, err = ls.Recv()
		if err != nil {
			break
		}
		got++
	}
	if s := status.Convert(err); got != 3 || s.Code() != codes.Aborted || s.Message() != "boom" {
		t.Fatalf("ListUsers: %d messages then %v; want 3 then ABORTED boom", got, err)
	}

	ss, err := c.SyncUsers(ctx)
	if err != nil {
		t.Fatal(err)
	}
	got = 0
	for i := range int64(5) {
		if err = ss.Send(&userpb.SyncUserRequest{Seq: i, UserId: "u1"}); err != nil {
			break
		}
		if _, err = ss.Recv(); err != nil {
			break
		}
		got++
	}
	if err == io.EOF { // Send saw the stream end: the status comes from Recv
		_, err = ss.Recv()
	}
	if got != 2 || status.Code(err) != codes.DataLoss {
		t.Fatalf("SyncUsers: %d replies then %v; want 2 then DATA_LOSS", got, err)
	}

	bs, err := c.BatchCreateUsers(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 10 {
		if bs.Send(&userpb.CreateUserRequest{Username: fmt.Sprint(i)}) != nil {
			break
		}
	}
	_, err = bs.CloseAndRecv()
	if status.Code(err) != codes.Internal {
		t.Fatalf("BatchCreateUsers: %v, want INTERNAL", err)
	}
	testutil.Eventually(t, 2*time.Second, "calls to end", func() bool { return cl.Stats().Backends[0].Inflight == 0 })
	st := cl.Stats().Backends[0]
	if st.MessagesIn["BatchCreateUsers"] < 5 || st.Faults["abort/INTERNAL"] != 1 ||
		st.Faults["abort/ABORTED"] != 1 || st.Faults["abort/DATA_LOSS"] != 1 {
		t.Fatalf("stats: in %v faults %v", st.MessagesIn, st.Faults)
	}
}

func TestStallUntilClientGivesUp(t *testing.T) {
	cl := startCluster(t, Config{Faults: []Fault{{Stall: &Stall{EveryNth: 2}}}})
	_, c := dial(t, cl.Addrs()[0])
	for i := 1; i <= 4; i++ {
		ctx, cancel := context.WithTimeout(context.Background(), 150*time.Millisecond)
		_, err := c.GetUser(ctx, &userpb.GetUserRequest{UserId: "u1"})
		cancel()
		want := codes.OK
		if i%2 == 0 {
			want = codes.DeadlineExceeded
		}
		if status.Code(err) != want {
			t.Fatalf("call %d: %v, want %v", i, err, want)
		}
	}
	testutil.Eventually(t, 2*time.Second, "stalled calls to end", func() bool { return cl.Stats().Backends[0].Inflight == 0 })
	if got := cl.Stats().Fault("stall"); got != 2 {
		t.Fatalf("stall faults %d, want 2", got)
	}
}

func TestPauseHoldsArrivalsUntilWindowEnds(t *testing.T) {
	cl := startCluster(t, Config{Faults: []Fault{
		{Pause: &Pause{Window: Window{At: 300 * time.Millisecond, For: 400 * time.Millisecond, Every: time.Hour}}},
	}})
	_, c := dial(t, cl.Addrs()[0])
	ctx := ctxFor(t, 10*time.Second)
	if _, err := c.GetUser(ctx, &userpb.GetUserRequest{UserId: "u1"}); err != nil { // connect first
		t.Fatal(err)
	}
	sleepUntil(cl, 350*time.Millisecond)
	if _, err := c.GetUser(ctx, &userpb.GetUserRequest{UserId: "u1"}); err != nil {
		t.Fatal(err)
	}
	if done := time.Since(cl.Started()); done < 700*time.Millisecond {
		t.Fatalf("call arriving in the pause finished at %v, before the pause ended at 700ms", done)
	}
	if got := cl.Stats().Fault("pause"); got != 1 {
		t.Fatalf("pause faults %d, want 1", got)
	}
}

func TestCapacityMaxInflight(t *testing.T) {
	cl := startCluster(t, Config{Faults: []Fault{
		{Capacity: &Capacity{MaxInflight: 5}},
		{Method: MethodList{"ListUsers"}, Stall: &Stall{}},
	}})
	_, c := dial(t, cl.Addrs()[0])
	hold, release := context.WithCancel(context.Background())
	defer release()
	var wg sync.WaitGroup
	for range 5 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s, err := c.ListUsers(hold, &userpb.ListUsersRequest{})
			if err == nil {
				_, err = s.Recv()
			}
			if status.Code(err) != codes.Canceled {
				t.Errorf("held call ended with %v, want CANCELLED", err)
			}
		}()
	}
	testutil.Eventually(t, 5*time.Second, "5 calls in flight", func() bool { return cl.Stats().Backends[0].Inflight == 5 })
	ctx := ctxFor(t, 5*time.Second)
	for range 3 {
		_, err := c.GetUser(ctx, &userpb.GetUserRequest{UserId: "u1"})
		if status.Code(err) != codes.ResourceExhausted {
			t.Fatalf("call over capacity: %v, want RESOURCE_EXHAUSTED", err)
		}
	}
	release()
	wg.Wait()
	testutil.Eventually(t, 2*time.Second, "calls to end", func() bool { return cl.Stats().Backends[0].Inflight == 0 })
	if _, err := c.GetUser(ctx, &userpb.GetUserRequest{UserId: "u1"}); err != nil {
		t.Fatalf("after release: %v", err)
	}
	if got := cl.Stats().Fault("capacity/RESOURCE_EXHAUSTED"); got != 3 {
		t.Fatalf("capacity faults %d, want 3", got)
	}
}

// TestMaxConcurrentStreamsQueuesOnOneConnection: the server advertises
// SETTINGS_MAX_CONCURRENT_STREAMS on the wire, and a grpc-go client holding
// two stalled calls on one connection sends a third only once one of them
// has ended.
func TestMaxConcurrentStreamsQueuesOnOneConnection(t *testing.T) {
	cl := startCluster(t, Config{MaxConcurrentStreams: 2, Faults: []Fault{{Stall: &Stall{}}}})
	if v, ok := dialRaw(t, cl.Addrs()[0]).settings().Value(http2.SettingMaxConcurrentStreams); !ok || v != 2 {
		t.Fatalf("SETTINGS_MAX_CONCURRENT_STREAMS = %d (sent: %v), want 2", v, ok)
	}
	_, c := dial(t, cl.Addrs()[0])
	var wg sync.WaitGroup
	call := func() context.CancelFunc {
		ctx, cancel := context.WithCancel(context.Background())
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, _ = c.GetUser(ctx, &userpb.GetUserRequest{UserId: "u1"})
		}()
		return cancel
	}
	first, second := call(), call()
	defer second()
	testutil.Eventually(t, 5*time.Second, "2 calls in flight", func() bool { return cl.Stats().Backends[0].Inflight == 2 })
	third := call()
	defer third()
	first()
	testutil.Eventually(t, 5*time.Second, "the third call to reach the server", func() bool { return cl.Stats().Backends[0].Calls["GetUser"] == 3 })
	if st := cl.Stats().Backends[0]; st.MaxInflight != 2 {
		t.Fatalf("max in flight %d, want 2 (the third call waits for a stream of its own)", st.MaxInflight)
	}
	second()
	third()
	wg.Wait()
}

func TestHealthWatchSeesNotServing(t *testing.T) {
	cl := startCluster(t, Config{Faults: []Fault{
		{Health: &Health{Status: "NOT_SERVING", Window: Window{At: 300 * time.Millisecond, For: 300 * time.Millisecond}}},
	}})
	cc, _ := dial(t, cl.Addrs()[0])
	hc := healthpb.NewHealthClient(cc)
	ctx := ctxFor(t, 10*time.Second)
	r, err := hc.Check(ctx, &healthpb.HealthCheckRequest{})
	if err != nil || r.Status != healthpb.HealthCheckResponse_SERVING {
		t.Fatalf("Check = %v, %v; want SERVING", r, err)
	}
	w, err := hc.Watch(ctx, &healthpb.HealthCheckRequest{Service: userpb.UserService_ServiceDesc.ServiceName})
	if err != nil {
		t.Fatal(err)
	}
	var seen []healthpb.HealthCheckResponse_ServingStatus
	for len(seen) < 3 {
		r, err := w.Recv()
		if err != nil {
			t.Fatalf("Watch after %v: %v", seen, err)
		}
		if len(seen) == 0 || seen[len(seen)-1] != r.Status {
			seen = append(seen, r.Status)
		}
	}
	want := []healthpb.HealthCheckResponse_ServingStatus{healthpb.HealthCheckResponse_SERVING,
		healthpb.HealthCheckResponse_NOT_SERVING, healthpb.HealthCheckResponse_SERVING}
	if fmt.Sprint(seen) != fmt.Sprint(want) {
		t.Fatalf("Watch saw %v, want %v", seen, want)
	}
}

func TestReflectionListsUserService(t *testing.T) {
	cl := startCluster(t, Config{})
	cc, _ := dial(t, cl.Addrs()[0])
	s, err := reflectionpb.NewServerReflectionClient(cc).ServerReflectionInfo(ctxFor(t, 5*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	defer s.CloseSend()
	if err := s.Send(&reflectionpb.ServerReflectionRequest{MessageRequest: &reflectionpb.ServerReflectionRequest_ListServices{}}); err != nil {
		t.Fatal(err)
	}
	r, err := s.Recv()
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, svc := range r.GetListServicesResponse().GetService() {
		names = append(names, svc.Name)
	}
	sort.Strings(names)
	want := []string{"grpc.health.v1.Health", "grpcbench.user.v1.UserService"}
	for _, w := range want {
		if i := sort.SearchStrings(names, w); i == len(names) || names[i] != w {
			t.Fatalf("reflection lists %v; missing %s", names, w)
		}
	}
}

func orcaReport(t *testing.T, trl metadata.MD) *orcapb.OrcaLoadReport {
	t.Helper()
	v := trl.Get("endpoint-load-metrics-bin")
	if len(v) != 1 {
		t.Fatalf("trailer endpoint-load-metrics-bin = %v, want one value (trailers %v)", v, trl)
	}
	r := &orcapb.OrcaLoadReport{}
	if err := proto.Unmarshal([]byte(v[0]), r); err != nil {
		t.Fatal(err)
	}
	return r
}

func TestORCAPerCallReport(t *testing.T) {
	cl := startCluster(t, Config{Backends: 2, Faults: []Fault{
		{Backend: IntList{0}, ORCA: &ORCA{Utilization: ptr(0.7)}},
		{Backend: IntList{1}, ORCA: &ORCA{Capacity: 4}},
	}})
	ctx := ctxFor(t, 5*time.Second)
	for i, want := range []float64{0.7, 0.25} {
		_, c := dial(t, cl.Addrs()[i])
		var trl metadata.MD
		if _, err := c.GetUser(ctx, &userpb.GetUserRequest{UserId: "u1"}, grpc.Trailer(&trl)); err != nil {
			t.Fatal(err)
		}
		r := orcaReport(t, trl)
		if math.Abs(r.ApplicationUtilization-want) > 1e-9 || math.Abs(r.CpuUtilization-want) > 1e-9 || r.RpsFractional <= 0 {
			t.Fatalf("backend %d: report %v, want utilization %g and rps > 0", i, r, want)
		}
	}
}

func TestDownThenRecoveryOnSamePort(t *testing.T) {
	cl := startCluster(t, Config{Faults: []Fault{
		{Down: &Down{Window: Window{At: 400 * time.Millisecond, For: 600 * time.Millisecond}}},
	}})
	addr := cl.Addrs()[0]
	_, c := dial(t, addr)
	deadline := time.Now().Add(8 * time.Second)
	var seq []codes.Code
	for time.Now().Before(deadline) {
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		_, err := c.GetUser(ctx, &userpb.GetUserRequest{UserId: "u1"})
		cancel()
		code := status.Code(err)
		if code == codes.DeadlineExceeded { // connecting: neither up nor refused yet
			continue
		}
		if len(seq) == 0 || seq[len(seq)-1] != code {
			seq = append(seq, code)
		}
		if len(seq) == 3 {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if fmt.Sprint(seq) != fmt.Sprint([]codes.Code{codes.OK, codes.Unavailable, codes.OK}) {
		t.Fatalf("codes over the down window: %v, want [OK Unavailable OK]", seq)
	}
	if got := cl.Addrs()[0]; got != addr {
		t.Fatalf("address changed from %s to %s", addr, got)
	}
	st := cl.Stats()
	if st.Fault("down") != 1 || st.Backends[0].ConnectionsTotal < 2 || st.Backends[0].Error != "" {
		t.Fatalf("stats: faults %v, connections total %d, error %q", st.Backends[0].Faults, st.Backends[0].ConnectionsTotal, st.Backends[0].Error)
	}
}

func TestKillDropsConnections(t *testing.T) {
	cl := startCluster(t, Config{Faults: []Fault{{Kill: &Kill{At: 400 * time.Millisecond}}}})
	_, c := dial(t, cl.Addrs()[0])
	ctx := ctxFor(t, 10*time.Second)
	s, err := c.SyncUsers(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Send(&userpb.SyncUserRequest{Seq: 1, UserId: "u1"}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Recv(); err != nil {
		t.Fatal(err)
	}
	// The open stream dies with the connection.
	_, err = s.Recv()
	if status.Code(err) != codes.Unavailable {
		t.Fatalf("stream across the kill ended with %v, want UNAVAILABLE", err)
	}
	if time.Since(cl.Started()) < 400*time.Millisecond {
		t.Fatal("stream ended before the kill")
	}
	// The client reconnects.
	testutil.Eventually(t, 5*time.Second, "a call to succeed after the kill", func() bool {
		_, err := c.GetUser(ctx, &userpb.GetUserRequest{UserId: "u1"})
		return err == nil
	})
	st := cl.Stats().Backends[0]
	if st.Faults["kill"] != 1 || st.ConnectionsTotal < 2 {
		t.Fatalf("kill faults %d, connections total %d", st.Faults["kill"], st.ConnectionsTotal)
	}
}

func TestStopEndsEverything(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cl, err := Start(ctx, Config{Backends: 3, Faults: []Fault{
		{Stall: &Stall{}},
		{Down: &Down{Window: Window{At: time.Hour, For: time.Second}}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	_, c := dial(t, cl.Addrs()[0])
	errc := make(chan error, 1)
	go func() {
		_, err := c.GetUser(context.Background(), &userpb.GetUserRequest{UserId: "u1"})
		errc <- err
	}()
	testutil.Eventually(t, 5*time.Second, "the stalled call", func() bool { return cl.Stats().Backends[0].Inflight == 1 })
	cancel() // a cancelled context stops the cluster like Stop
	if err := <-errc; status.Code(err) != codes.Unavailable {
		t.Fatalf("stalled call ended with %v, want UNAVAILABLE", err)
	}
	cl.Stop()
	cl.Stop()
}

func TestStartRejectsBadConfig(t *testing.T) {
	_, err := Start(context.Background(), Config{Faults: []Fault{{Error: &ErrorRule{Code: codes.Unavailable, Rate: ptr(1.5)}}}})
	if err == nil || !contains(err.Error(), "faults[0].error.rate: must be between 0 and 1") {
		t.Fatalf("err = %v", err)
	}
}
