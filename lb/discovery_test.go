package lb_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/grpcbench/grpcbench/internal/testutil"
	"github.com/grpcbench/grpcbench/lb"
)

func TestParseAddrList(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    []string
		wantErr []string // substrings, all must appear
	}{
		{name: "empty", in: "", want: nil},
		{name: "lines, comments, blanks, CRLF", in: "# backends\n127.0.0.1:50051\r\n\n  localhost:80  # web\n[::1]:9000\n",
			want: []string{"127.0.0.1:50051", "localhost:80", "[::1]:9000"}},
		{name: "no trailing newline", in: "a:1", want: []string{"a:1"}},
		{name: "missing port", in: "127.0.0.1\n", wantErr: []string{"f:1:", "missing port"}},
		{name: "bad port", in: "a:0\nb:65536\nc:http\nd:+80\n",
			wantErr: []string{"f:1:", "f:2:", "f:3:", "f:4:", "port must be a number from 1 to 65535"}},
		{name: "missing host", in: ":80", wantErr: []string{"f:1:", "missing host"}},
		{name: "two per line", in: "a:1 b:2", wantErr: []string{"f:1:", "one address per line"}},
		{name: "duplicate", in: "a:1\n\na:1", wantErr: []string{`f:3: "a:1": already listed on line 1`}},
		{name: "every error reported", in: "a:1\nbad\nb:2\n:3\n", wantErr: []string{"f:2:", "f:4:"}},
		{name: "unbracketed ipv6", in: "::1:80", wantErr: []string{"f:1:", "too many colons"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := lb.ParseAddrList("f", []byte(tt.in))
			if len(tt.wantErr) > 0 {
				if err == nil {
					t.Fatalf("ParseAddrList = %q, nil; want an error", got)
				}
				for _, w := range tt.wantErr {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("error %q does not contain %q", err, w)
					}
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseAddrList error: %v", err)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("ParseAddrList = %q, want %q", got, tt.want)
			}
		})
	}
}

// FuzzParseAddrList checks the parser's invariants: it never panics; what it
// accepts are valid, unique addresses; writing them back one a line parses to
// the same list.
func FuzzParseAddrList(f *testing.F) {
	for _, s := range []string{"", "127.0.0.1:1\n", "# c\n[::1]:80 # x\nhost:65535\r\n", "a:1\na:1", "a b", ":0", "\x00:1"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		addrs, err := lb.ParseAddrList("fuzz", data)
		if err != nil {
			if addrs != nil {
				t.Fatalf("addresses %q returned with error %v", addrs, err)
			}
			return
		}
		seen := map[string]bool{}
		for _, a := range addrs {
			if err := lb.ValidateAddr(a); err != nil {
				t.Fatalf("accepted invalid address: %v", err)
			}
			if seen[a] {
				t.Fatalf("accepted %q twice", a)
			}
			seen[a] = true
		}
		again, err := lb.ParseAddrList("again", []byte(strings.Join(addrs, "\n")))
		if err != nil || !slices.Equal(again, addrs) {
			t.Fatalf("round trip of %q = %q, %v", addrs, again, err)
		}
		if err := lb.NewStaticResolver().SetAddrs(addrs); err != nil {
			t.Fatalf("SetAddrs rejects parsed addresses %q: %v", addrs, err)
		}
	})
}

func TestSetAddrsRejectsBadSets(t *testing.T) {
	r := lb.NewStaticResolver("127.0.0.1:1")
	for _, addrs := range [][]string{{"nope"}, {"a:1", "a:1"}, {"a:1", "b:99999"}, {"unix:"}, {"unix://rel/x"}, {"unix:@"}} {
		if err := r.SetAddrs(addrs); err == nil {
			t.Errorf("SetAddrs(%q) = nil, want an error", addrs)
		}
	}
	if got := r.Addrs(); !slices.Equal(got, []string{"127.0.0.1:1"}) {
		t.Errorf("a rejected set changed the addresses to %q", got)
	}
	if err := r.SetAddrs(nil); err != nil {
		t.Errorf("SetAddrs(empty) = %v; an empty set is allowed", err)
	}
	if err := r.SetAddrs([]string{"unix:///tmp/a.sock", "unix:rel.sock", "unix:@abstract", "[::1]:1"}); err != nil {
		t.Errorf("SetAddrs rejects unix socket addresses: %v", err)
	}
}

func TestStaticSource(t *testing.T) {
	ctx := context.Background()
	ch, err := lb.Static("a:1", "b:2").Watch(ctx)
	if err != nil {
		t.Fatal(err)
	}
	u, ok := <-ch
	if !ok || u.Err != nil || !slices.Equal(u.Addrs, []string{"a:1", "b:2"}) {
		t.Fatalf("first update = %+v, %v", u, ok)
	}
	if _, ok := <-ch; ok {
		t.Fatal("static source sent a second update")
	}
	for _, s := range []lb.Source{lb.Static(), lb.Static("bad")} {
		if _, err := s.Watch(ctx); err == nil {
			t.Error("Watch of an empty or bad static source succeeded")
		}
	}
}

// writeAtomic replaces path's content the way the File source asks for.
func writeAtomic(t *testing.T, path, content string) {
	t.Helper()
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

func nextUpdate(t *testing.T, ch <-chan lb.Update) lb.Update {
	t.Helper()
	select {
	case u, ok := <-ch:
		if !ok {
			t.Fatal("source closed its channel")
		}
		return u
	case <-time.After(10 * time.Second):
		t.Fatal("no update within 10s")
	}
	return lb.Update{}
}

// expectUpdate reads the next update of step i: the address set want, or an
// error containing wantErr when that is not empty.
func expectUpdate(t *testing.T, ch <-chan lb.Update, i int, want []string, wantErr string) {
	t.Helper()
	u := nextUpdate(t, ch)
	if wantErr != "" {
		if u.Err == nil || !strings.Contains(u.Err.Error(), wantErr) {
			t.Fatalf("step %d: update %+v, want error %q", i, u, wantErr)
		}
		return
	}
	if u.Err != nil || !slices.Equal(u.Addrs, want) {
		t.Fatalf("step %d: update %+v, want %q", i, u, want)
	}
}

func TestFileSource(t *testing.T) {
	path := filepath.Join(t.TempDir(), "backends.txt")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	if _, err := lb.File(path, 5*time.Millisecond).Watch(ctx); err == nil {
		t.Fatal("Watch of a missing file succeeded")
	}
	writeAtomic(t, path, "a:1\nnot an address\n")
	if _, err := lb.File(path, 5*time.Millisecond).Watch(ctx); err == nil || !strings.Contains(err.Error(), ":2:") {
		t.Fatalf("Watch of a bad file = %v, want a line-2 error", err)
	}

	writeAtomic(t, path, "a:1\nb:2\n")
	ch, err := lb.File(path, 5*time.Millisecond).Watch(ctx)
	if err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		write   string
		want    []string
		wantErr string
	}{
		{want: []string{"a:1", "b:2"}},
		{write: "a:1\nb:2\nc:3\n", want: []string{"a:1", "b:2", "c:3"}},
		{write: "a:1\nc:3\nc:3\n", wantErr: "already listed"},
		{write: "# nothing\n", wantErr: "lists no address"},
		{write: "c:3\n", want: []string{"c:3"}},
	}
	for i, s := range steps {
		if s.write != "" {
			writeAtomic(t, path, s.write)
		}
		expectUpdate(t, ch, i, s.want, s.wantErr)
	}
	// Unchanged content sends nothing.
	select {
	case u := <-ch:
		t.Fatalf("update %+v without a change", u)
	case <-time.After(50 * time.Millisecond):
	}
	cancel()
	for range ch { // the source closes its channel when ctx ends
	}
}

func TestBind(t *testing.T) {
	path := filepath.Join(t.TempDir(), "backends.txt")
	writeAtomic(t, path, "127.0.0.1:1\n")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	r := lb.NewStaticResolver()
	errs := make(chan error, 10)
	b, err := lb.Bind(ctx, lb.File(path, 5*time.Millisecond), r, func(err error) { errs <- err })
	if err != nil {
		t.Fatal(err)
	}
	if got := r.Addrs(); !slices.Equal(got, []string{"127.0.0.1:1"}) {
		t.Fatalf("after Bind, Addrs() = %q; the first set must be applied before Bind returns", got)
	}
	writeAtomic(t, path, "127.0.0.1:1\nbroken\n")
	select {
	case err := <-errs:
		if !strings.Contains(err.Error(), ":2:") {
			t.Errorf("onError got %v, want a line-2 parse error", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("parse error not reported within 10s")
	}
	if got := r.Addrs(); !slices.Equal(got, []string{"127.0.0.1:1"}) {
		t.Fatalf("a bad file changed Addrs() to %q", got)
	}
	writeAtomic(t, path, "127.0.0.1:2\n")
	testutil.Eventually(t, 10*time.Second, "Addrs() to follow the file", func() bool { return slices.Equal(r.Addrs(), []string{"127.0.0.1:2"}) })
	cancel()
	if err := b.Wait(); !errors.Is(err, context.Canceled) {
		t.Errorf("Wait() = %v, want context.Canceled", err)
	}
}

func TestBindWithoutErrorCallback(t *testing.T) {
	path := filepath.Join(t.TempDir(), "backends.txt")
	writeAtomic(t, path, "127.0.0.1:1\n")
	r := lb.NewStaticResolver()
	b, err := lb.Bind(context.Background(), lb.File(path, 5*time.Millisecond), r, nil)
	if err != nil {
		t.Fatal(err)
	}
	writeAtomic(t, path, "oops\n")
	select {
	case <-b.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("binding did not stop on an update error")
	}
	if err := b.Wait(); err == nil || !strings.Contains(err.Error(), "missing port") {
		t.Errorf("Wait() = %v, want the parse error", err)
	}

	// A static source ends the binding cleanly; a bad one fails Bind.
	b, err = lb.Bind(context.Background(), lb.Static("127.0.0.1:3"), r, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Wait(); err != nil {
		t.Errorf("Wait() on a static source = %v", err)
	}
	if !slices.Equal(r.Addrs(), []string{"127.0.0.1:3"}) {
		t.Errorf("Addrs() = %q", r.Addrs())
	}
	if _, err := lb.Bind(context.Background(), lb.Static("x"), r, nil); err == nil {
		t.Error("Bind with a bad static source succeeded")
	}
}
