package retry_test

import (
	"context"
	"fmt"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/grpcbench/grpcbench/fakeserver"
	"github.com/grpcbench/grpcbench/proto/userpb"
	"github.com/grpcbench/grpcbench/retry"
)

// Wrap retries the calls a fake server fails: every second GetUser it
// receives ends UNAVAILABLE, so three calls take five attempts, all of
// which the server counted.
func ExampleWrap() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cl, err := fakeserver.Start(ctx, fakeserver.Config{Seed: 1, Faults: []fakeserver.Fault{{
		Method: fakeserver.MethodList{"GetUser"},
		Error:  &fakeserver.ErrorRule{Code: codes.Unavailable, EveryNth: 2},
	}}})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer cl.Stop()
	cc, err := grpc.NewClient(cl.Addrs()[0], grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer cc.Close()

	conn := retry.Wrap(cc, retry.Policy{Kind: retry.Fixed, MaxAttempts: 3, BaseDelay: time.Millisecond, Codes: []codes.Code{codes.Unavailable}})
	users := userpb.NewUserServiceClient(conn)
	for i := range 3 {
		_, err := users.GetUser(ctx, &userpb.GetUserRequest{UserId: "u1"})
		fmt.Printf("call %d: %v\n", i+1, err)
	}
	st := conn.Stats()
	fmt.Printf("calls %d, attempts %d, retried %d; the server received %d\n",
		st.Calls, st.Attempts, st.Retried, cl.Stats().Backends[0].Calls["GetUser"])
	// Output:
	// call 1: <nil>
	// call 2: <nil>
	// call 3: <nil>
	// calls 3, attempts 5, retried 2; the server received 5
}

// Policy.Delay is the pure function behind every wait: the delay before
// retry n, here without jitter and capped at MaxDelay.
func ExamplePolicy_Delay() {
	policies := []retry.Policy{
		{Kind: retry.Exponential, BaseDelay: 100 * time.Millisecond, Multiplier: 2, MaxDelay: time.Second},
		{Kind: retry.Linear, BaseDelay: 100 * time.Millisecond, MaxDelay: time.Second},
		{Kind: retry.Fixed, BaseDelay: 100 * time.Millisecond},
		{Kind: retry.Immediate},
	}
	fmt.Printf("%-12s", "retry")
	for n := 1; n <= 5; n++ {
		fmt.Printf("%8d", n)
	}
	fmt.Println()
	for _, p := range policies {
		fmt.Printf("%-12s", p.Kind)
		for n := 1; n <= 5; n++ {
			fmt.Printf("%8v", p.Delay(n, 0.5))
		}
		fmt.Println()
	}
	// Output:
	// retry              1       2       3       4       5
	// exponential    100ms   200ms   400ms   800ms      1s
	// linear         100ms   200ms   300ms   400ms   500ms
	// fixed          100ms   100ms   100ms   100ms   100ms
	// immediate         0s      0s      0s      0s      0s
}
