package client_test

import (
	"context"

	"github.com/grpcbench/grpcbench/client"
	"github.com/grpcbench/grpcbench/methods"
	"github.com/grpcbench/grpcbench/proto/userpb"
)

// The tests drive the generic client through the built-in UserService with
// its generated messages; these helpers give its five methods typed shapes.

func method(name string) *methods.Method {
	m, err := methods.Builtin().Lookup(name)
	if err != nil {
		panic(err)
	}
	return m
}

var (
	mCreateUser       = method("CreateUser")
	mGetUser          = method("GetUser")
	mListUsers        = method("ListUsers")
	mBatchCreateUsers = method("BatchCreateUsers")
	mSyncUsers        = method("SyncUsers")
)

func createUser(ctx context.Context, c *client.Client, req *userpb.CreateUserRequest) (*userpb.User, error) {
	resp := new(userpb.CreateUserResponse)
	err := c.Unary(ctx, mCreateUser, req, resp)
	return resp.GetUser(), err
}

func getUser(ctx context.Context, c *client.Client, req *userpb.GetUserRequest) (*userpb.User, error) {
	resp := new(userpb.GetUserResponse)
	err := c.Unary(ctx, mGetUser, req, resp)
	return resp.GetUser(), err
}

func listUsers(ctx context.Context, c *client.Client, req *userpb.ListUsersRequest, onUser func(*userpb.User) error) (int, error) {
	u := new(userpb.User)
	return c.ServerStream(ctx, mListUsers, req, u, func(int) error {
		if onUser == nil {
			return nil
		}
		return onUser(u)
	})
}

func batchCreateUsers(ctx context.Context, c *client.Client, n int, fill func(int, *userpb.CreateUserRequest)) (*userpb.BatchCreateUsersResponse, error) {
	req, resp := new(userpb.CreateUserRequest), new(userpb.BatchCreateUsersResponse)
	_, err := c.ClientStream(ctx, mBatchCreateUsers, n, func(i int) any {
		if fill != nil {
			fill(i, req)
		}
		return req
	}, resp)
	return resp, err
}

func syncUsers(ctx context.Context, c *client.Client, n int, fill func(int, *userpb.SyncUserRequest), onReply func(int, *userpb.SyncUserResponse) error) (int, error) {
	req, reply := new(userpb.SyncUserRequest), new(userpb.SyncUserResponse)
	return c.Bidi(ctx, mSyncUsers, n, func(i int) any {
		if fill != nil {
			fill(i, req)
		}
		return req
	}, reply, func(i int) error {
		if onReply == nil {
			return nil
		}
		return onReply(i, reply)
	})
}
