package client_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/grpcbench/grpcbench/client"
)

func TestClassify(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want client.Class
	}{
		{"nil", nil, client.OK},
		{"OK status", status.Error(codes.OK, ""), client.OK},
		{"UNAVAILABLE", status.Error(codes.Unavailable, "x"), client.Retryable},
		{"RESOURCE_EXHAUSTED", status.Error(codes.ResourceExhausted, "x"), client.Retryable},
		{"ABORTED", status.Error(codes.Aborted, "x"), client.Retryable},
		{"INVALID_ARGUMENT", status.Error(codes.InvalidArgument, "x"), client.ClientError},
		{"NOT_FOUND", status.Error(codes.NotFound, "x"), client.ClientError},
		{"ALREADY_EXISTS", status.Error(codes.AlreadyExists, "x"), client.ClientError},
		{"PERMISSION_DENIED", status.Error(codes.PermissionDenied, "x"), client.ClientError},
		{"UNAUTHENTICATED", status.Error(codes.Unauthenticated, "x"), client.ClientError},
		{"FAILED_PRECONDITION", status.Error(codes.FailedPrecondition, "x"), client.ClientError},
		{"OUT_OF_RANGE", status.Error(codes.OutOfRange, "x"), client.ClientError},
		{"UNIMPLEMENTED", status.Error(codes.Unimplemented, "x"), client.ClientError},
		{"INTERNAL", status.Error(codes.Internal, "x"), client.ServerError},
		{"UNKNOWN", status.Error(codes.Unknown, "x"), client.ServerError},
		{"DATA_LOSS", status.Error(codes.DataLoss, "x"), client.ServerError},
		{"undefined code 42", status.Error(codes.Code(42), "x"), client.ServerError},
		{"DEADLINE_EXCEEDED", status.Error(codes.DeadlineExceeded, "x"), client.Deadline},
		{"CANCELLED", status.Error(codes.Canceled, "x"), client.Cancelled},
		{"context.DeadlineExceeded", context.DeadlineExceeded, client.Deadline},
		{"context.Canceled", context.Canceled, client.Cancelled},
		{"wrapped context.Canceled", fmt.Errorf("op: %w", context.Canceled), client.Cancelled},
		{"wrapped status", fmt.Errorf("op: %w", status.Error(codes.Unavailable, "x")), client.Retryable},
		{"joined status", errors.Join(errors.New("a"), status.Error(codes.NotFound, "x")), client.ClientError},
		{"status wins over context", fmt.Errorf("%w: %w", status.Error(codes.Unavailable, "x"), context.Canceled), client.Retryable},
		{"plain error", io.ErrUnexpectedEOF, client.ServerError},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := client.Classify(tt.err); got != tt.want {
				t.Fatalf("Classify(%v) = %v, want %v", tt.err, got, tt.want)
			}
		})
	}
}

func TestClassifyCoversEveryCode(t *testing.T) {
	counts := map[client.Class]int{}
	for c := codes.OK; c <= codes.Unauthenticated; c++ {
		counts[client.Classify(status.Error(c, "x"))]++
	}
	want := map[client.Class]int{client.OK: 1, client.Retryable: 3, client.ClientError: 8, client.ServerError: 3, client.Deadline: 1, client.Cancelled: 1}
	for cl, n := range want {
		if counts[cl] != n {
			t.Errorf("%v: %d codes, want %d", cl, counts[cl], n)
		}
	}
}

func TestClassString(t *testing.T) {
	tests := []struct {
		c    client.Class
		want string
	}{
		{client.OK, "ok"}, {client.Retryable, "retryable"}, {client.ClientError, "client_error"},
		{client.ServerError, "server_error"}, {client.Deadline, "deadline"}, {client.Cancelled, "cancelled"},
		{client.Class(17), "class(17)"},
	}
	for _, tt := range tests {
		if got := tt.c.String(); got != tt.want {
			t.Errorf("Class(%d).String() = %q, want %q", tt.c, got, tt.want)
		}
	}
}

func TestClassifyAllocs(t *testing.T) {
	err := status.Error(codes.Unavailable, "x")
	if n := testing.AllocsPerRun(100, func() { _ = client.Classify(err) }); n != 0 {
		t.Fatalf("Classify allocates %.0f times, want 0", n)
	}
}
