package client_test

import (
	"context"
	"fmt"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	"github.com/grpcbench/grpcbench/client"
	"github.com/grpcbench/grpcbench/fakeserver"
	"github.com/grpcbench/grpcbench/methods"
	"github.com/grpcbench/grpcbench/proto/userpb"
)

// A client calls methods of the built-in UserService, found by name in the
// built-in method set, on the fake server over TCP on 127.0.0.1: a unary
// call decoded into the generated response type, and a server stream whose
// replies are only counted.
func Example() {
	ctx := context.Background()
	cl, err := fakeserver.Start(ctx, fakeserver.Config{Seed: 1})
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

	c, err := client.New(cc).With(client.CallOptions{Timeout: 10 * time.Second, Metadata: map[string]string{"x-tenant": "t-1"}})
	if err != nil {
		fmt.Println(err)
		return
	}
	set := methods.Builtin()
	getUser, _ := set.Lookup("GetUser")
	reply := &userpb.GetUserResponse{}
	err = c.Unary(ctx, getUser, &userpb.GetUserRequest{UserId: "u42"}, reply)
	fmt.Println(reply.GetUser().GetUsername(), err)

	listUsers, _ := set.Lookup("ListUsers")
	counted := &client.Reply{} // no Msg: replies are counted, not decoded
	n, err := c.ServerStream(ctx, listUsers, &userpb.ListUsersRequest{PageSize: 3}, counted, nil)
	fmt.Println(n, "users,", err)
	// Output:
	// user42 <nil>
	// 3 users, <nil>
}

// Classify sorts a call's error into the classes a benchmark reports.
func ExampleClassify() {
	for _, err := range []error{
		nil,
		status.Error(codes.Unavailable, "no backend"),
		status.Error(codes.NotFound, "no such user"),
		status.Error(codes.Internal, "bug"),
		status.Error(codes.DeadlineExceeded, "too slow"),
		context.Canceled,
	} {
		fmt.Printf("%-38v %v\n", err, client.Classify(err))
	}
	// Output:
	// <nil>                                  ok
	// rpc error: code = Unavailable desc = no backend retryable
	// rpc error: code = NotFound desc = no such user client_error
	// rpc error: code = Internal desc = bug  server_error
	// rpc error: code = DeadlineExceeded desc = too slow deadline
	// context canceled                       cancelled
}
