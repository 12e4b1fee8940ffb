// Package userpb holds user.proto, the UserService grpcbench drives, and its
// generated Go code.
//
// UserService covers the four gRPC call patterns: CreateUser and GetUser are
// unary, ListUsers streams from the server, BatchCreateUsers streams from the
// client and SyncUsers streams both ways. Every request carries padding bytes
// and a response_padding size so a scenario controls message sizes in both
// directions.
//
// The *.pb.go files are generated: run `make proto` after editing user.proto.
package userpb

//go:generate make -C ../.. proto
