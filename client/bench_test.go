package client_test

import (
	"context"
	"errors"
	"io"
	"testing"
	"time"

	"github.com/grpcbench/grpcbench/client"
	"github.com/grpcbench/grpcbench/fakeserver"
	"github.com/grpcbench/grpcbench/internal/testserver"
	"github.com/grpcbench/grpcbench/proto/userpb"
)

// The benchmarks compare each helper with the generated stub on the same
// connection to a fake server on 127.0.0.1, so the difference is the
// helper's own cost. Run with -benchmem and alternate runs (-count) to see
// past the machine's noise.

func BenchmarkGetUser(b *testing.B) {
	_, cc := testserver.FakeConn(b, fakeserver.Config{Seed: 1})
	ctx := context.Background()
	req := &userpb.GetUserRequest{UserId: "u-1"}
	stub := userpb.NewUserServiceClient(cc)
	plain := client.New(cc)
	withTimeout, err := client.New(cc).With(client.CallOptions{Timeout: time.Minute})
	if err != nil {
		b.Fatal(err)
	}
	cases := []struct {
		name string
		call func() error
	}{
		{"raw_stub", func() error { _, err := stub.GetUser(ctx, req); return err }},
		{"client", func() error { _, err := getUser(ctx, plain, req); return err }},
		{"client_timeout", func() error { _, err := getUser(ctx, withTimeout, req); return err }},
	}
	for _, bc := range cases {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if err := bc.call(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkListUsers(b *testing.B) {
	_, cc := testserver.FakeConn(b, fakeserver.Config{Seed: 1})
	ctx := context.Background()
	req := &userpb.ListUsersRequest{PageSize: 10}
	stub := userpb.NewUserServiceClient(cc)
	c := client.New(cc)
	b.Run("raw_stub", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			s, err := stub.ListUsers(ctx, req)
			if err != nil {
				b.Fatal(err)
			}
			for {
				if _, err := s.Recv(); err != nil {
					if !errors.Is(err, io.EOF) {
						b.Fatal(err)
					}
					break
				}
			}
		}
	})
	b.Run("client", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := listUsers(ctx, c, req, nil); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkSyncUsers(b *testing.B) {
	_, cc := testserver.FakeConn(b, fakeserver.Config{Seed: 1})
	ctx := context.Background()
	stub := userpb.NewUserServiceClient(cc)
	c := client.New(cc)
	const n = 10
	b.Run("raw_stub", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			s, err := stub.SyncUsers(ctx)
			if err != nil {
				b.Fatal(err)
			}
			for i := range n {
				if err := s.Send(&userpb.SyncUserRequest{Seq: int64(i), UserId: "u-1"}); err != nil {
					b.Fatal(err)
				}
				if _, err := s.Recv(); err != nil {
					b.Fatal(err)
				}
			}
			if err := s.CloseSend(); err != nil {
				b.Fatal(err)
			}
			if _, err := s.Recv(); !errors.Is(err, io.EOF) {
				b.Fatal(err)
			}
		}
	})
	b.Run("client", func(b *testing.B) {
		b.ReportAllocs()
		fill := func(i int, req *userpb.SyncUserRequest) { req.Seq = int64(i); req.UserId = "u-1" }
		for b.Loop() {
			if _, err := syncUsers(ctx, c, n, fill, nil); err != nil {
				b.Fatal(err)
			}
		}
	})
}
