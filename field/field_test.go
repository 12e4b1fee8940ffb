package field_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/grpcbench/grpcbench/field"
)

func TestPrefix(t *testing.T) {
	err := errors.Join(field.Errorf("max_attempts", "must be at least 1"),
		fmt.Errorf("wrapped: %w", field.Errorf("codes[1]", "listed twice")),
		errors.New("plain"))
	got := field.Prefix("client.retry", err)
	want := []string{
		"client.retry.max_attempts: must be at least 1",
		"client.retry.codes[1]: listed twice",
		"client.retry: plain",
	}
	leaves := field.Flatten(got)
	if len(leaves) != len(want) {
		t.Fatalf("got %d errors, want %d: %v", len(leaves), len(want), got)
	}
	for i, e := range leaves {
		if e.Error() != want[i] {
			t.Errorf("error %d = %q, want %q", i, e, want[i])
		}
	}
	if field.Prefix("x", nil) != nil {
		t.Error("Prefix of nil is not nil")
	}
}

func TestJoin(t *testing.T) {
	for _, tt := range []struct{ a, b, want string }{
		{"", "a", "a"}, {"a", "", "a"}, {"a", "b", "a.b"}, {"a", "[2]", "a[2]"},
	} {
		if got := field.Join(tt.a, tt.b); got != tt.want {
			t.Errorf("Join(%q, %q) = %q, want %q", tt.a, tt.b, got, tt.want)
		}
	}
}

// A user of a layer outside grpcbench finds the field at fault with
// errors.As.
func ExampleError() {
	err := field.Prefix("retry", errors.Join(field.Errorf("max_attempts", "must be at least 1, got 0")))
	var fe *field.Error
	if errors.As(err, &fe) {
		fmt.Println(fe.Path, "—", fe.Msg)
	}
	// Output: retry.max_attempts — must be at least 1, got 0
}
