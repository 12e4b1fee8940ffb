package testutil_test

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/grpcbench/grpcbench/field"
	"github.com/grpcbench/grpcbench/internal/testutil"
)

// recorder is a testing.TB that records failures instead of stopping the
// test, so the helpers' own failures can be checked.
type recorder struct {
	testing.TB
	failed string
}

func (r *recorder) Helper() {}
func (r *recorder) Fatalf(format string, args ...any) {
	r.failed = fmt.Sprintf(format, args...)
	panic(r)
}
func (r *recorder) Errorf(format string, args ...any) { r.failed = fmt.Sprintf(format, args...) }

// run calls f with a recorder and returns what it failed with ("" when it
// passed).
func run(f func(tb testing.TB)) (failed string) {
	r := &recorder{}
	defer func() {
		if p := recover(); p != nil && p != r {
			panic(p)
		}
		failed = r.failed
	}()
	f(r)
	return ""
}

func TestEventually(t *testing.T) {
	var n atomic.Int64
	go func() {
		for range 3 {
			n.Add(1)
		}
	}()
	testutil.Eventually(t, 5*time.Second, "three increments", func() bool { return n.Load() == 3 })

	msg := run(func(tb testing.TB) {
		testutil.Eventually(tb, 20*time.Millisecond, "never", func() bool { return false })
	})
	if msg != "timed out after 20ms waiting for never" {
		t.Fatalf("failure %q", msg)
	}
}

func TestFieldErrors(t *testing.T) {
	two := errors.Join(field.Errorf("a", "bad"), errors.Join(field.Errorf("b[1]", "worse")))
	tests := []struct {
		name string
		err  error
		want []string
		fail string // prefix of the failure; "" passes
	}{
		{"none", nil, nil, ""},
		{"unexpected", field.Errorf("a", "bad"), nil, "error a: bad, want none"},
		{"missing", nil, []string{"a: bad"}, "no error"},
		{"two in order", two, []string{"a: bad", "b[1]: worse"}, ""},
		{"wrong order", two, []string{"b[1]: worse", "a: bad"}, "error 1 ="},
		{"too few wanted", two, []string{"a: bad"}, "2 errors, want 1"},
		{"not a field error", errors.New("a: bad"), []string{"a: bad"}, "error 0 (a: bad) is not a *field.Error"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			msg := run(func(tb testing.TB) { testutil.FieldErrors(tb, tt.err, tt.want...) })
			if (tt.fail == "") != (msg == "") || !strings.HasPrefix(msg, tt.fail) {
				t.Fatalf("failure %q, want prefix %q", msg, tt.fail)
			}
		})
	}
}

func TestBuffer(t *testing.T) {
	var b testutil.Buffer
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for range 100 {
				_, _ = b.Write([]byte("ab"))
				_ = b.String()
			}
		})
	}
	wg.Wait()
	if n := len(b.String()); n != 800 {
		t.Fatalf("%d bytes, want 800", n)
	}
}

func TestGolden(t *testing.T) {
	t.Chdir(t.TempDir())
	defer func(u bool) { *testutil.Update = u }(*testutil.Update)

	if msg := run(func(tb testing.TB) { testutil.Golden(tb, "out.txt", []byte("a\n")) }); !strings.Contains(msg, "go test -update creates it") {
		t.Fatalf("missing golden file: failure %q", msg)
	}
	*testutil.Update = true
	testutil.Golden(t, "out.txt", []byte("a\n"))
	*testutil.Update = false
	if msg := run(func(tb testing.TB) { testutil.Golden(tb, "out.txt", []byte("a\n")) }); msg != "" {
		t.Fatalf("same bytes: failure %q", msg)
	}
	if msg := run(func(tb testing.TB) { testutil.Golden(tb, "out.txt", []byte("b\n")) }); !strings.Contains(msg, "out.txt differs") {
		t.Fatalf("other bytes: failure %q", msg)
	}
}
