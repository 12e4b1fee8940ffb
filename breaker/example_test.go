package breaker_test

import (
	"context"
	"fmt"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/grpcbench/grpcbench/breaker"
	"github.com/grpcbench/grpcbench/fakeserver"
	"github.com/grpcbench/grpcbench/proto/userpb"
)

// A breaker over a fake server that fails every call trips after two
// consecutive failures; the third call fails fast and never reaches the
// server.
func ExampleWrap() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cl, err := fakeserver.Start(ctx, fakeserver.Config{Seed: 1, Faults: []fakeserver.Fault{{
		Error: &fakeserver.ErrorRule{Code: codes.Unavailable, EveryNth: 1},
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

	b := breaker.New(breaker.Config{FailureThreshold: 2, OpenFor: time.Minute})
	users := userpb.NewUserServiceClient(breaker.Wrap(cc, b))
	for i := range 3 {
		_, err := users.GetUser(ctx, &userpb.GetUserRequest{UserId: "u1"})
		fmt.Printf("call %d: %v (breaker %s)\n", i+1, err, b.State())
	}
	st := b.Stats()
	fmt.Printf("trips %d, rejections %d; the server received %d\n", st.Trips, st.Rejections, cl.Stats().Backends[0].Calls["GetUser"])
	// Output:
	// call 1: rpc error: code = Unavailable desc = fakeserver: injected error UNAVAILABLE (breaker closed)
	// call 2: rpc error: code = Unavailable desc = fakeserver: injected error UNAVAILABLE (breaker open)
	// call 3: rpc error: code = Unavailable desc = circuit breaker is open (breaker open)
	// trips 1, rejections 1; the server received 2
}
