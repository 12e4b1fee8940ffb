package statuscode

import (
	"fmt"
	"strconv"
	"strings"

	"google.golang.org/grpc/codes"
)

// codeNames are the canonical gRPC status code names (as in the gRPC spec and
// grpc-go's service config), indexed by code.
var codeNames = [...]string{
	codes.OK:                 "OK",
	codes.Canceled:           "CANCELLED",
	codes.Unknown:            "UNKNOWN",
	codes.InvalidArgument:    "INVALID_ARGUMENT",
	codes.DeadlineExceeded:   "DEADLINE_EXCEEDED",
	codes.NotFound:           "NOT_FOUND",
	codes.AlreadyExists:      "ALREADY_EXISTS",
	codes.PermissionDenied:   "PERMISSION_DENIED",
	codes.ResourceExhausted:  "RESOURCE_EXHAUSTED",
	codes.FailedPrecondition: "FAILED_PRECONDITION",
	codes.Aborted:            "ABORTED",
	codes.OutOfRange:         "OUT_OF_RANGE",
	codes.Unimplemented:      "UNIMPLEMENTED",
	codes.Internal:           "INTERNAL",
	codes.Unavailable:        "UNAVAILABLE",
	codes.DataLoss:           "DATA_LOSS",
	codes.Unauthenticated:    "UNAUTHENTICATED",
}

// Name returns the canonical name of a status code, e.g. "UNAVAILABLE".
func Name(c codes.Code) string {
	if int(c) < len(codeNames) {
		return codeNames[c]
	}
	return "CODE_" + strconv.Itoa(int(c))
}

// Parse reads a status code name. It accepts the canonical upper-case
// names (UNAVAILABLE), grpc-go's CamelCase names (Unavailable), the American
// spelling CANCELED, and numbers 0–16.
func Parse(s string) (codes.Code, error) {
	t := strings.ToUpper(strings.TrimSpace(s))
	if n, err := strconv.Atoi(t); err == nil {
		if n >= 0 && n < len(codeNames) {
			return codes.Code(n), nil
		}
		return 0, fmt.Errorf("status code %d is out of range 0..%d", n, len(codeNames)-1)
	}
	if t == "CANCELED" {
		return codes.Canceled, nil
	}
	for i, name := range codeNames {
		if t == name || t == strings.ReplaceAll(name, "_", "") {
			return codes.Code(i), nil
		}
	}
	return 0, fmt.Errorf("unknown status code %q (one of %s)", s, strings.Join(codeNames[:], ", "))
}
