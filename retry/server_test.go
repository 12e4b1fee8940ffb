package retry_test

import (
	"context"
	"errors"
	"io"
	"math"
	"strconv"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	"github.com/grpcbench/grpcbench/fakeserver"
	"github.com/grpcbench/grpcbench/internal/testserver"
	"github.com/grpcbench/grpcbench/proto/userpb"
	"github.com/grpcbench/grpcbench/retry"
)

func ptr[T any](v T) *T { return &v }

// startCluster starts a one-backend fake server with faults and returns it
// with a plain client connection to it.
func startCluster(t testing.TB, faults ...fakeserver.Fault) (*fakeserver.Cluster, *grpc.ClientConn) {
	t.Helper()
	return startClusterWith(t, nil, faults...)
}

// startClusterWith is startCluster with extra dial options.
func startClusterWith(t testing.TB, dial []grpc.DialOption, faults ...fakeserver.Fault) (*fakeserver.Cluster, *grpc.ClientConn) {
	t.Helper()
	return testserver.FakeConn(t, fakeserver.Config{Backends: 1, Seed: 7, Faults: faults}, dial...)
}

func serverCalls(cl *fakeserver.Cluster, method string) (calls, retries int64) {
	for _, b := range cl.Stats().Backends {
		calls += b.Calls[method]
		retries += b.Retries[method]
	}
	return calls, retries
}

// binomialOK reports whether successes out of n is within 4.5 standard
// deviations of the expected rate p (a false alarm about once in 150,000 runs).
func binomialOK(successes, n int, p float64) (bool, float64) {
	sd := math.Sqrt(float64(n) * p * (1 - p))
	return math.Abs(float64(successes)-float64(n)*p) <= 4.5*sd+1, float64(n) * p
}

const unaryCalls = 300

// TestUnaryUnderErrorRate is the "Must show" for unary calls: under 30 %
// UNAVAILABLE the success rate is 1 − 0.3^n for n attempts, and the client's
// attempt count equals the calls the fake server received, in wrapper,
// interceptor and native mode.
func TestUnaryUnderErrorRate(t *testing.T) {
	fault := fakeserver.Fault{Method: fakeserver.MethodList{"GetUser"}, Error: &fakeserver.ErrorRule{Code: codes.Unavailable, Rate: ptr(0.3)}}
	type setup struct {
		dial  []grpc.DialOption
		wrap  func(grpc.ClientConnInterface) grpc.ClientConnInterface
		stats func() retry.Stats
	}
	modes := map[string]func(p retry.Policy) setup{
		"wrapper": func(p retry.Policy) setup {
			var c *retry.Conn
			return setup{wrap: func(cc grpc.ClientConnInterface) grpc.ClientConnInterface { c = retry.Wrap(cc, p); return c },
				stats: func() retry.Stats { return c.Stats() }}
		},
		"interceptor": func(p retry.Policy) setup {
			in := retry.NewInterceptors(p)
			return setup{dial: []grpc.DialOption{grpc.WithChainUnaryInterceptor(in.Unary()), grpc.WithChainStreamInterceptor(in.Stream())},
				stats: in.Stats}
		},
		"native": func(p retry.Policy) setup {
			p.Mode = retry.ModeNative
			sc, err := retry.ServiceConfigJSON(p, "grpcbench.user.v1.UserService")
			if err != nil {
				t.Fatal(err)
			}
			ac := retry.NewAttemptCounter(p)
			return setup{dial: append(ac.DialOptions(), grpc.WithDefaultServiceConfig(sc)), stats: ac.Stats}
		},
	}
	for _, mode := range []string{"wrapper", "interceptor", "native"} {
		for n := 1; n <= 4; n++ {
			t.Run(mode+"/attempts="+string(rune('0'+n)), func(t *testing.T) {
				p := retry.Policy{Kind: retry.Fixed, MaxAttempts: n, BaseDelay: time.Millisecond, MaxDelay: time.Millisecond,
					Codes: []codes.Code{codes.Unavailable}}
				s := modes[mode](p)
				cl, cc := startClusterWith(t, s.dial, fault)
				var conn grpc.ClientConnInterface = cc
				if s.wrap != nil {
					conn = s.wrap(cc)
				}
				client := userpb.NewUserServiceClient(conn)
				ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
				defer cancel()
				okCalls := 0
				for i := range unaryCalls {
					_, err := client.GetUser(ctx, &userpb.GetUserRequest{UserId: strconv.Itoa(i + 1)})
					switch status.Code(err) {
					case codes.OK, codes.NotFound:
						okCalls++
					case codes.Unavailable:
					default:
						t.Fatalf("call %d: unexpected error %v", i, err)
					}
				}
				want := 1 - math.Pow(0.3, float64(n))
				if good, mean := binomialOK(okCalls, unaryCalls, want); !good {
					t.Errorf("%d of %d calls succeeded, expected about %.0f (rate %.3f)", okCalls, unaryCalls, mean, want)
				}
				st := s.stats()
				calls, retries := serverCalls(cl, "GetUser")
				if st.Calls != unaryCalls || st.Attempts != calls {
					t.Errorf("client counted %d calls, %d attempts; server received %d calls", st.Calls, st.Attempts, calls)
				}
				if retries != st.Attempts-st.Calls {
					t.Errorf("server saw %d retries marked %s, client made %d", retries, "grpc-previous-rpc-attempts", st.Attempts-st.Calls)
				}
				if fails := int64(unaryCalls - okCalls); st.GaveUp != fails {
					t.Errorf("GaveUp = %d, want %d failed calls", st.GaveUp, fails)
				}
				t.Logf("%s n=%d: %d/%d ok (expected %.1f%%), attempts %d, per call %v", mode, n, okCalls, unaryCalls, 100*want, st.Attempts, st.AttemptsPerCall)
			})
		}
	}
}

// TestPushbackFromServer checks that the wait after a failure is the one the
// server's grpc-retry-pushback-ms trailer asked for, not the backoff.
func TestPushbackFromServer(t *testing.T) {
	tests := []struct {
		name      string
		pushback  time.Duration
		wantCalls int64
		wantWaits []time.Duration
	}{
		{"wait as told", 250 * time.Millisecond, 2, []time.Duration{250 * time.Millisecond}},
		{"negative means stop", -time.Millisecond, 1, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// Every call fails with the pushback trailer.
			cl, cc := startCluster(t, fakeserver.Fault{Error: &fakeserver.ErrorRule{Code: codes.Unavailable, EveryNth: 1, Pushback: &tt.pushback},
				Window: fakeserver.Window{}, Method: fakeserver.MethodList{"CreateUser"}})
			clk := newFakeClock()
			c := retry.Wrap(cc, retry.Policy{BaseDelay: time.Second, MaxDelay: time.Second, MaxAttempts: 2}, retry.WithClock(clk))
			_, err := userpb.NewUserServiceClient(c).CreateUser(context.Background(), &userpb.CreateUserRequest{Username: "a"})
			if status.Code(err) != codes.Unavailable {
				t.Fatalf("CreateUser = %v, want UNAVAILABLE (every call fails)", err)
			}
			if got := clk.Waits(); len(got) != len(tt.wantWaits) || (len(got) == 1 && got[0] != tt.wantWaits[0]) {
				t.Fatalf("waits = %v, want %v", got, tt.wantWaits)
			}
			if calls, _ := serverCalls(cl, "CreateUser"); calls != tt.wantCalls {
				t.Fatalf("server received %d calls, want %d", calls, tt.wantCalls)
			}
		})
	}
}

// TestNativePushback checks the native counter sees pushback waits.
func TestNativePushback(t *testing.T) {
	p := retry.Policy{Mode: retry.ModeNative, MaxAttempts: 3, BaseDelay: time.Millisecond, MaxDelay: time.Millisecond}
	sc, err := retry.ServiceConfigJSON(p)
	if err != nil {
		t.Fatal(err)
	}
	ac := retry.NewAttemptCounter(p)
	pb := 5 * time.Millisecond
	cl, cc := startClusterWith(t, append(ac.DialOptions(), grpc.WithDefaultServiceConfig(sc)),
		fakeserver.Fault{Method: fakeserver.MethodList{"CreateUser"}, Error: &fakeserver.ErrorRule{Code: codes.Unavailable, Pushback: &pb}})
	_, err = userpb.NewUserServiceClient(cc).CreateUser(context.Background(), &userpb.CreateUserRequest{Username: "a"})
	if status.Code(err) != codes.Unavailable {
		t.Fatalf("CreateUser = %v", err)
	}
	st := ac.Stats()
	calls, _ := serverCalls(cl, "CreateUser")
	if st.Calls != 1 || st.Attempts != 3 || calls != 3 || st.PushbackWaits != 2 || st.GaveUp != 1 {
		t.Fatalf("stats %+v, server calls %d; want 1 call, 3 attempts, 2 pushback waits, gave up", st, calls)
	}
}

// TestStreamsRetriedWhileUncommitted covers the three streaming shapes: a
// failure before the first response message is retried with the sent
// messages replayed; a failure after it is not.
func TestStreamsRetriedWhileUncommitted(t *testing.T) {
	for _, tt := range []struct {
		name string
		run  func(*testing.T)
	}{
		{"server stream fails first then succeeds", serverStreamRetried},
		{"server stream aborted after first message is not retried", serverStreamCommitted},
		{"client stream replays sent messages", clientStreamReplayed},
		{"bidi replays and echoes", bidiReplayed},
		{"buffer overflow commits", bufferOverflowCommits},
	} {
		t.Run(tt.name, tt.run)
	}
}

// uncommitted is the policy of the streaming tests: immediate retries of
// UNAVAILABLE, three attempts.
var uncommitted = retry.Policy{Kind: retry.Immediate, MaxAttempts: 3, Codes: []codes.Code{codes.Unavailable}}

// streamCtx bounds a streaming test's calls.
func streamCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// serverStreamRetried: a server stream failing before its first message is retried, whole.
func serverStreamRetried(t *testing.T) {
	ctx := streamCtx(t)
	cl, cc := startCluster(t, fakeserver.Fault{Method: fakeserver.MethodList{"ListUsers"},
		Error: &fakeserver.ErrorRule{Code: codes.Unavailable, EveryNth: 2}})
	c := retry.Wrap(cc, uncommitted)
	client := userpb.NewUserServiceClient(c)
	for i := range 4 {
		st, err := client.ListUsers(ctx, &userpb.ListUsersRequest{PageSize: 5})
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for {
			_, err := st.Recv()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatalf("stream %d: %v after %d users", i, err, n)
			}
			n++
		}
		if n != 5 {
			t.Fatalf("stream %d: %d users, want 5", i, n)
		}
	}
	calls, retries := serverCalls(cl, "ListUsers")
	s := c.Stats()
	if s.Calls != 4 || s.Attempts != calls || retries != s.Attempts-s.Calls || s.Retried == 0 {
		t.Fatalf("client %+v; server calls %d retries %d", s, calls, retries)
	}
}

// serverStreamCommitted: a server stream aborted after its first message is not retried.
func serverStreamCommitted(t *testing.T) {
	ctx := streamCtx(t)
	cl, cc := startCluster(t, fakeserver.Fault{Method: fakeserver.MethodList{"ListUsers"},
		Abort: &fakeserver.Abort{After: 1, Code: codes.Unavailable}})
	c := retry.Wrap(cc, uncommitted)
	st, err := userpb.NewUserServiceClient(c).ListUsers(ctx, &userpb.ListUsersRequest{PageSize: 5})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.Recv(); err != nil {
		t.Fatalf("first message: %v", err)
	}
	if _, err := st.Recv(); status.Code(err) != codes.Unavailable {
		t.Fatalf("second Recv = %v, want the abort's UNAVAILABLE", err)
	}
	calls, _ := serverCalls(cl, "ListUsers")
	s := c.Stats()
	if calls != 1 || s.Attempts != 1 || s.GaveUp != 1 {
		t.Fatalf("server calls %d, client %+v; want 1 attempt and a give-up", calls, s)
	}
}

// clientStreamReplayed: a client stream replays every message sent, copied (the caller reuses one).
func clientStreamReplayed(t *testing.T) {
	ctx := streamCtx(t)
	cl, cc := startCluster(t, fakeserver.Fault{Method: fakeserver.MethodList{"BatchCreateUsers"},
		Error: &fakeserver.ErrorRule{Code: codes.Unavailable, EveryNth: 2}})
	c := retry.Wrap(cc, uncommitted)
	client := userpb.NewUserServiceClient(c)
	for i := range 2 {
		st, err := client.BatchCreateUsers(ctx)
		if err != nil {
			t.Fatal(err)
		}
		req := &userpb.CreateUserRequest{}
		for j := range 5 {
			req.Username = "u" + string(rune('a'+j)) // reused message: the buffer must hold copies
			if err := st.Send(req); err != nil && !errors.Is(err, io.EOF) {
				t.Fatal(err)
			}
		}
		resp, err := st.CloseAndRecv()
		if err != nil {
			t.Fatalf("batch %d: %v", i, err)
		}
		if resp.GetCreated() != 5 {
			t.Fatalf("batch %d: created %d, want 5", i, resp.GetCreated())
		}
	}
	calls, _ := serverCalls(cl, "BatchCreateUsers")
	if s := c.Stats(); s.Calls != 2 || s.Attempts != calls {
		t.Fatalf("client %+v; server calls %d", s, calls)
	}
}

// bidiReplayed: a bidi stream replays and echoes.
func bidiReplayed(t *testing.T) {
	ctx := streamCtx(t)
	cl, cc := startCluster(t, fakeserver.Fault{Method: fakeserver.MethodList{"SyncUsers"},
		Error: &fakeserver.ErrorRule{Code: codes.Unavailable, EveryNth: 2}})
	c := retry.Wrap(cc, uncommitted)
	client := userpb.NewUserServiceClient(c)
	for i := range 2 {
		st, err := client.SyncUsers(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for seq := int64(1); seq <= 3; seq++ {
			if err := st.Send(&userpb.SyncUserRequest{Seq: seq, UserId: "1"}); err != nil && !errors.Is(err, io.EOF) {
				t.Fatal(err)
			}
			resp, err := st.Recv()
			if err != nil {
				t.Fatalf("stream %d seq %d: %v", i, seq, err)
			}
			if resp.GetSeq() != seq {
				t.Fatalf("stream %d: echo seq %d, want %d", i, resp.GetSeq(), seq)
			}
		}
		if err := st.CloseSend(); err != nil {
			t.Fatal(err)
		}
		if _, err := st.Recv(); !errors.Is(err, io.EOF) {
			t.Fatalf("end of stream %d: %v", i, err)
		}
	}
	calls, _ := serverCalls(cl, "SyncUsers")
	if s := c.Stats(); s.Calls != 2 || s.Attempts != calls || s.Attempts < 3 {
		t.Fatalf("client %+v; server calls %d", s, calls)
	}
}

// bufferOverflowCommits: a stream that sends more than max_buffer commits and is not retried.
func bufferOverflowCommits(t *testing.T) {
	ctx := streamCtx(t)
	cl, cc := startCluster(t, fakeserver.Fault{Method: fakeserver.MethodList{"BatchCreateUsers"},
		Error: &fakeserver.ErrorRule{Code: codes.Unavailable}})
	small := uncommitted
	small.MaxBuffer = 10
	c := retry.Wrap(cc, small)
	st, err := userpb.NewUserServiceClient(c).BatchCreateUsers(ctx)
	if err != nil {
		t.Fatal(err)
	}
	_ = st.Send(&userpb.CreateUserRequest{Username: "a-name-longer-than-ten-bytes"})
	if _, err := st.CloseAndRecv(); status.Code(err) != codes.Unavailable {
		t.Fatalf("CloseAndRecv = %v", err)
	}
	if calls, _ := serverCalls(cl, "BatchCreateUsers"); calls != 1 {
		t.Fatalf("server calls %d, want 1 (committed stream not retried)", calls)
	}
}

// TestClientStreamAbortedMidwayIsReplayedWhole aborts client streams after
// two messages: the caller, following gRPC's rules, stops sending at the
// first io.EOF; the retry must still deliver every message, never a
// truncated batch.
func TestClientStreamAbortedMidwayIsReplayedWhole(t *testing.T) {
	cl, cc := startCluster(t, fakeserver.Fault{Method: fakeserver.MethodList{"BatchCreateUsers"},
		Abort: &fakeserver.Abort{After: 2, Code: codes.Unavailable, Rate: ptr(0.5)}})
	c := retry.Wrap(cc, retry.Policy{Kind: retry.Immediate, MaxAttempts: 10, Codes: []codes.Code{codes.Unavailable}})
	client := userpb.NewUserServiceClient(c)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	const batches, perBatch = 20, 10
	for i := range batches {
		st, err := client.BatchCreateUsers(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for j := range perBatch {
			if err := st.Send(&userpb.CreateUserRequest{Username: "u" + strconv.Itoa(j), Padding: make([]byte, 512)}); err != nil {
				break // io.EOF: the stream ended; its status comes from CloseAndRecv
			}
			time.Sleep(time.Millisecond) // let an abort arrive between sends
		}
		resp, err := st.CloseAndRecv()
		if err != nil {
			t.Fatalf("batch %d: %v", i, err)
		}
		if resp.GetCreated() != perBatch {
			t.Fatalf("batch %d: server created %d users, want %d (a truncated replay)", i, resp.GetCreated(), perBatch)
		}
	}
	calls, _ := serverCalls(cl, "BatchCreateUsers")
	s := c.Stats()
	if s.Calls != batches || s.Attempts != calls || s.Retried == 0 {
		t.Fatalf("client %+v, server calls %d", s, calls)
	}
	t.Logf("attempts per call %v", s.AttemptsPerCall)
}

// TestNativeStreamsAndObserver counts native retries of a server stream
// that fails before its first message, and checks the observer sees every
// attempt numbered in order.
func TestNativeStreamsAndObserver(t *testing.T) {
	p := retry.Policy{Mode: retry.ModeNative, MaxAttempts: 3, BaseDelay: time.Millisecond, MaxDelay: time.Millisecond,
		Codes: []codes.Code{codes.Unavailable}}
	sc, err := retry.ServiceConfigJSON(p)
	if err != nil {
		t.Fatal(err)
	}
	obs := &recordingObserver{}
	ac := retry.NewAttemptCounter(p, retry.WithObserver(obs))
	cl, cc := startClusterWith(t, append(ac.DialOptions(), grpc.WithDefaultServiceConfig(sc)),
		fakeserver.Fault{Method: fakeserver.MethodList{"ListUsers"}, Error: &fakeserver.ErrorRule{Code: codes.Unavailable, EveryNth: 2}})
	client := userpb.NewUserServiceClient(cc)
	const streams = 6
	for i := range streams {
		st, err := client.ListUsers(context.Background(), &userpb.ListUsersRequest{PageSize: 3})
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for {
			if _, err := st.Recv(); err != nil {
				if !errors.Is(err, io.EOF) {
					t.Fatalf("stream %d: %v", i, err)
				}
				break
			}
			n++
		}
		if n != 3 {
			t.Fatalf("stream %d: %d users", i, n)
		}
	}
	s := ac.Stats()
	calls, retries := serverCalls(cl, "ListUsers")
	if s.Calls != streams || s.Attempts != calls || retries != s.Attempts-s.Calls || s.Retried == 0 {
		t.Fatalf("client %+v; server calls %d, retries %d", s, calls, retries)
	}
	obs.mu.Lock()
	defer obs.mu.Unlock()
	if int64(len(obs.attempts)) != s.Attempts || int64(obs.errs) != s.Attempts-s.Calls {
		t.Fatalf("observer saw attempts %v with %d errors; stats %+v", obs.attempts, obs.errs, s)
	}
}

func TestServiceConfigMethod(t *testing.T) {
	got, err := retry.ServiceConfigJSON(retry.Policy{Kind: retry.Fixed, MaxAttempts: 4, BaseDelay: 50 * time.Millisecond,
		MaxDelay: 2 * time.Second, Codes: []codes.Code{codes.Unavailable, codes.Aborted}}, "grpcbench.user.v1.UserService")
	if err != nil {
		t.Fatal(err)
	}
	want := `{"methodConfig":[{"name":[{"service":"grpcbench.user.v1.UserService"}],"retryPolicy":{"backoffMultiplier":1,` +
		`"initialBackoff":"0.05s","maxAttempts":4,"maxBackoff":"2s","retryableStatusCodes":["UNAVAILABLE","ABORTED"]}}]}`
	if got != want {
		t.Fatalf("ServiceConfigJSON =\n%s\nwant\n%s", got, want)
	}
	if _, err := retry.ServiceConfigJSON(retry.Policy{MaxAttempts: 6}); err == nil || !strings.Contains(err.Error(), "max_attempts") {
		t.Fatalf("6 attempts accepted in native mode: %v", err)
	}
	if m := retry.ServiceConfigMethod(retry.Policy{MaxAttempts: 1}); m["retryPolicy"] != nil {
		t.Fatalf("max_attempts 1 produced a retryPolicy: %v", m)
	}
	// grpc-go itself must accept what we produce.
	cc, err := grpc.NewClient("passthrough:///127.0.0.1:1", grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultServiceConfig(got))
	if err != nil {
		t.Fatalf("grpc-go rejected the service config: %v", err)
	}
	_ = cc.Close()
}

// TestDeadlineStopsRetriesOverTCP: with every call failing, a 50ms fixed
// backoff and 100 allowed attempts, a 300ms deadline ends the retries: the
// call returns the server's UNAVAILABLE (the wrapper never sleeps into the
// deadline) after at most 7 attempts, each of which reached the server.
func TestDeadlineStopsRetriesOverTCP(t *testing.T) {
	cl, cc := startCluster(t, fakeserver.Fault{Method: fakeserver.MethodList{"GetUser"}, Error: &fakeserver.ErrorRule{Code: codes.Unavailable}})
	c := retry.Wrap(cc, retry.Policy{Kind: retry.Fixed, BaseDelay: 50 * time.Millisecond, MaxDelay: 50 * time.Millisecond, MaxAttempts: 100})
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	_, err := userpb.NewUserServiceClient(c).GetUser(ctx, &userpb.GetUserRequest{UserId: "1"})
	if status.Code(err) != codes.Unavailable {
		t.Fatalf("GetUser = %v, want the last attempt's UNAVAILABLE", err)
	}
	s := c.Stats()
	calls, _ := serverCalls(cl, "GetUser")
	if s.Attempts < 1 || s.Attempts > 7 || s.Attempts != calls || s.GaveUp != 1 {
		t.Fatalf("client %+v, server calls %d; want 1–7 attempts, all received, one give-up", s, calls)
	}
}
