package client

import (
	"context"
	"errors"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// Class is the outcome class of a call, as a benchmark reports it.
type Class uint8

// The classes, from a call's error.
const (
	// OK is a call that succeeded (nil error).
	OK Class = iota
	// Retryable is a failure worth retrying: UNAVAILABLE,
	// RESOURCE_EXHAUSTED, ABORTED.
	Retryable
	// ClientError is a failure caused by the request: INVALID_ARGUMENT,
	// NOT_FOUND, ALREADY_EXISTS, PERMISSION_DENIED, UNAUTHENTICATED,
	// FAILED_PRECONDITION, OUT_OF_RANGE, UNIMPLEMENTED.
	ClientError
	// ServerError is a failure of the server: INTERNAL, UNKNOWN, DATA_LOSS,
	// and any error that carries no gRPC status (gRPC itself reports those
	// as UNKNOWN).
	ServerError
	// Deadline is a call that ran out of time: DEADLINE_EXCEEDED or
	// context.DeadlineExceeded.
	Deadline
	// Cancelled is a call that was cancelled: CANCELLED or context.Canceled.
	Cancelled
)

// numClasses is the number of classes, for arrays indexed by Class.
const numClasses = int(Cancelled) + 1

var classNames = [numClasses]string{"ok", "retryable", "client_error", "server_error", "deadline", "cancelled"}

// String returns the class's snake_case name, e.g. "client_error".
func (c Class) String() string {
	if int(c) < numClasses {
		return classNames[c]
	}
	return "class(" + itoa(int(c)) + ")"
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var b [20]byte
	i := len(b)
	for ; n > 0; n /= 10 {
		i--
		b[i] = byte('0' + n%10)
	}
	return string(b[i:])
}

// Classify returns the class of a call's error. A gRPC status error
// (possibly wrapped) is classified by its code; otherwise
// context.DeadlineExceeded and context.Canceled (possibly wrapped) are
// Deadline and Cancelled; any other error is ServerError, matching the
// UNKNOWN code gRPC gives errors without a status. Classify(nil) is OK.
func Classify(err error) Class {
	if err == nil {
		return OK
	}
	// Look for the status without status.FromError, which copies the
	// status of a wrapped error.
	if se, ok := err.(grpcStatus); ok {
		if st := se.GRPCStatus(); st != nil {
			return classOf(st.Code())
		}
	} else if st := wrappedStatus(err); st != nil {
		return classOf(st.Code())
	}
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return Deadline
	case errors.Is(err, context.Canceled):
		return Cancelled
	}
	return ServerError
}

// wrappedStatus returns the status of a gRPC status error wrapped in err, or
// nil. It is apart from Classify so that the unwrapped path does not
// allocate.
func wrappedStatus(err error) *status.Status {
	var se grpcStatus
	if errors.As(err, &se) {
		return se.GRPCStatus()
	}
	return nil
}

// grpcStatus is implemented by gRPC status errors.
type grpcStatus interface{ GRPCStatus() *status.Status }

// classOf returns the class of a status code. Codes outside the 17 gRPC
// defines are ServerError.
func classOf(c codes.Code) Class {
	switch c {
	case codes.OK:
		return OK
	case codes.Unavailable, codes.ResourceExhausted, codes.Aborted:
		return Retryable
	case codes.InvalidArgument, codes.NotFound, codes.AlreadyExists, codes.PermissionDenied,
		codes.Unauthenticated, codes.FailedPrecondition, codes.OutOfRange, codes.Unimplemented:
		return ClientError
	case codes.DeadlineExceeded:
		return Deadline
	case codes.Canceled:
		return Cancelled
	default: // Internal, Unknown, DataLoss and undefined codes
		return ServerError
	}
}
