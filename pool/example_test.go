package pool_test

import (
	"context"
	"fmt"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/grpcbench/grpcbench/fakeserver"
	"github.com/grpcbench/grpcbench/pool"
	"github.com/grpcbench/grpcbench/proto/userpb"
)

// A pool of three connections to one fake server on 127.0.0.1 stands in
// for a *grpc.ClientConn under the generated stub; round robin spreads six
// calls two to a connection.
func ExampleNew() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cl, err := fakeserver.Start(ctx, fakeserver.Config{Seed: 1})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer cl.Stop()

	p, err := pool.New(ctx, cl.Addrs()[0], pool.Config{Size: 3, Pick: pool.PickRoundRobin, Warmup: true},
		grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer p.Close()

	users := userpb.NewUserServiceClient(p)
	for range 6 {
		if _, err := users.GetUser(ctx, &userpb.GetUserRequest{UserId: "u1"}); err != nil {
			fmt.Println(err)
			return
		}
	}
	for _, c := range p.Stats().Conns {
		fmt.Printf("connection %d: %s, %d calls\n", c.Index, c.State, c.Picks)
	}
	fmt.Println("the server counted", cl.Stats().Backends[0].Calls["GetUser"])
	// Output:
	// connection 0: READY, 2 calls
	// connection 1: READY, 2 calls
	// connection 2: READY, 2 calls
	// the server counted 6
}
