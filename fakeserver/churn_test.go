package fakeserver

import (
	"context"
	"errors"
	"net"
	"slices"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/grpcbench/grpcbench/field"
	"github.com/grpcbench/grpcbench/internal/testutil"
	"github.com/grpcbench/grpcbench/proto/userpb"
)

// published records what a cluster publishes.
type published struct {
	mu    sync.Mutex
	lists [][]string
}

func (p *published) hook(addrs []string) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.lists = append(p.lists, slices.Clone(addrs))
	return nil
}

func (p *published) get() [][]string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.lists)
}

func getUser(c userpb.UserServiceClient) error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_, err := c.GetUser(ctx, &userpb.GetUserRequest{UserId: "u1"})
	return err
}

// refuses reports whether nothing accepts connections on addr.
func refuses(addr string) bool {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return true
	}
	c.Close()
	return false
}

func TestAddRemoveReplaceBackend(t *testing.T) {
	var pub published
	cl, err := Start(context.Background(), Config{Backends: 2}, OnMembership(pub.hook))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Stop)
	initial := cl.Addrs()

	i, err := cl.AddBackend("")
	if err != nil || i != 2 {
		t.Fatalf("AddBackend = %d, %v; want backend 2", i, err)
	}
	added := cl.Addrs()[2]
	_, c2 := dial(t, added)
	if err := getUser(c2); err != nil {
		t.Fatalf("call to the added backend: %v", err)
	}

	_, c0 := dial(t, initial[0])
	if err := getUser(c0); err != nil {
		t.Fatal(err)
	}
	if err := cl.RemoveBackend(0, 0); err != nil {
		t.Fatal(err)
	}
	if !refuses(initial[0]) {
		t.Errorf("removed backend 0 still accepts connections on %s", initial[0])
	}
	if err := cl.RemoveBackend(0, 0); !errors.Is(err, errNoBackend) {
		t.Errorf("removing backend 0 twice = %v, want errNoBackend", err)
	}

	// Replace with a drain: backend 1 keeps serving until the drain ends.
	_, c1 := dial(t, initial[1])
	j, err := cl.ReplaceBackend(1, 300*time.Millisecond)
	if err != nil || j != 3 {
		t.Fatalf("ReplaceBackend = %d, %v; want backend 3", j, err)
	}
	if err := getUser(c1); err != nil {
		t.Errorf("call to backend 1 while it drains: %v", err)
	}
	testutil.Eventually(t, 5*time.Second, "backend 1 to stop after its drain", func() bool { return refuses(initial[1]) })

	st := cl.Stats()
	if len(st.Backends) != 4 {
		t.Fatalf("Stats has %d backends, want every one ever started (4)", len(st.Backends))
	}
	for i, b := range st.Backends {
		wantRemoved := i < 2
		if b.Index != i || b.Removed != wantRemoved {
			t.Errorf("backend %d: index %d removed %v, want removed %v", i, b.Index, b.Removed, wantRemoved)
		}
	}
	if st.Backends[0].Calls["GetUser"] != 1 || st.Backends[1].Calls["GetUser"] != 1 || st.Backends[2].Calls["GetUser"] != 1 {
		t.Errorf("GetUser counts %v %v %v, want 1 each on 0..2 (counters of removed backends stay)",
			st.Backends[0].Calls, st.Backends[1].Calls, st.Backends[2].Calls)
	}
	if st.Backends[0].Addr != initial[0] || st.Backends[2].Addr != added {
		t.Errorf("addresses moved: %s, %s", st.Backends[0].Addr, st.Backends[2].Addr)
	}
	want := [][]string{
		initial,
		{initial[0], initial[1], added},
		{initial[1], added},
		{added, st.Backends[3].Addr},
	}
	if got := pub.get(); !slices.EqualFunc(got, want, slices.Equal) {
		t.Errorf("published %q, want %q", got, want)
	}
	if got := cl.Addrs(); !slices.Equal(got, want[3]) || !slices.Equal(cl.Members(), []int{2, 3}) {
		t.Errorf("Addrs %q Members %v after the changes", got, cl.Members())
	}
	ch := cl.Changes()
	if len(ch) != 4 || ch[3].Err != "" || !slices.Equal(ch[3].Added, []int{3}) || !slices.Equal(ch[3].Removed, []int{1}) || ch[1].Err != "" || ch[2].Err == "" {
		t.Errorf("changes %+v", ch)
	}
}

func TestEventsOnSchedule(t *testing.T) {
	var pub published
	cfg := Config{Backends: 3,
		Faults: []Fault{{Backend: IntList{3}, Method: MethodList{"GetUser"}, Error: &ErrorRule{Code: codes.Internal}}},
		Events: []Event{
			{At: 400 * time.Millisecond, Replace: ptr(0)},
			{At: 200 * time.Millisecond, Remove: ptr(1)},
			{At: 300 * time.Millisecond, Add: ptr(1)},
		}}
	cl, err := Start(context.Background(), cfg, OnMembership(pub.hook))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Stop)
	a := cl.Addrs()
	testutil.Eventually(t, 10*time.Second, "three changes", func() bool { return len(cl.Changes()) == 3 })
	ch := cl.Changes()
	for k, want := range []struct {
		event          int
		at             time.Duration
		added, removed []int
	}{{1, 200 * time.Millisecond, nil, []int{1}}, {2, 300 * time.Millisecond, []int{3}, nil}, {0, 400 * time.Millisecond, []int{4}, []int{0}}} {
		c := ch[k]
		if c.Event != want.event || c.At < want.at || !slices.Equal(c.Added, want.added) || !slices.Equal(c.Removed, want.removed) || c.Err != "" {
			t.Errorf("change %d = %+v, want event %d at ≥ %v adding %v removing %v", k, c, want.event, want.at, want.added, want.removed)
		}
	}
	st := cl.Stats()
	if len(st.Backends) != 5 || st.Backends[0].Addr != a[0] || st.Backends[1].Addr != a[1] || st.Backends[2].Addr != a[2] {
		t.Fatalf("stats backends %+v", st.Backends)
	}
	members := []string{st.Backends[2].Addr, st.Backends[3].Addr, st.Backends[4].Addr}
	if got := pub.get(); len(got) != 4 || !slices.Equal(got[0], a) || !slices.Equal(got[3], members) {
		t.Errorf("published %q, last want %q", got, members)
	}
	// The fault on backend 3 (started by the add event) applies to it.
	_, c3 := dial(t, st.Backends[3].Addr)
	if err := getUser(c3); status.Code(err) != codes.Internal {
		t.Errorf("call to backend 3 = %v, want the INTERNAL fault that selects it", err)
	}
	_, c4 := dial(t, st.Backends[4].Addr)
	if err := getUser(c4); err != nil {
		t.Errorf("call to backend 4: %v", err)
	}
}

func TestEventsValidation(t *testing.T) {
	tests := []struct {
		name   string
		cfg    Config
		path   string
		substr string
	}{
		{"remove a backend that does not exist", Config{Backends: 2, Events: []Event{{At: time.Second, Remove: ptr(2)}}},
			"events[0].remove", "backend 2 does not exist at 1s (backends then: 0, 1)"},
		{"remove twice", Config{Backends: 3, Events: []Event{{At: 2 * time.Second, Remove: ptr(1)}, {At: time.Second, Remove: ptr(1)}}},
			"events[0].remove", "no longer exists at 2s: removed at 1s by events[1]"},
		{"replace before it is added", Config{Backends: 1, Events: []Event{{At: time.Second, Replace: ptr(1)}, {At: 2 * time.Second, Add: ptr(1)}}},
			"events[0].replace", "backend 1 does not exist at 1s"},
		{"remove the last", Config{Backends: 1, Events: []Event{{At: time.Second, Remove: ptr(0)}}},
			"events[0].remove", "would leave no backend"},
		{"no kind", Config{Backends: 1, Events: []Event{{At: time.Second}}}, "events[0]", "exactly one of add, remove and replace"},
		{"two kinds", Config{Backends: 2, Events: []Event{{Add: ptr(1), Remove: ptr(0)}}}, "events[0]", "exactly one"},
		{"add zero", Config{Backends: 1, Events: []Event{{Add: ptr(0)}}}, "events[0].add", "between 1 and 64"},
		{"negative at", Config{Backends: 1, Events: []Event{{At: -time.Second, Add: ptr(1)}}}, "events[0].at", "must not be negative"},
		{"drain on add", Config{Backends: 1, Events: []Event{{Add: ptr(1), Drain: ptr(time.Second)}}}, "events[0].drain", "remove and replace only"},
		{"negative drain", Config{Backends: 2, Events: []Event{{Remove: ptr(0), Drain: ptr(-time.Second)}}}, "events[0].drain", "between 0"},
		{"too many at once", Config{Backends: 60, Events: []Event{{Add: ptr(5)}}}, "events[0]", "at most 64"},
		{"fault on a backend never started", Config{Backends: 2, Events: []Event{{Add: ptr(1)}},
			Faults: []Fault{{Backend: IntList{3}, Stall: &Stall{}}}}, "faults[0].backend[0]", "backend 3 does not exist"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.cfg.Validate()
			var found bool
			for _, e := range field.Flatten(err) {
				var fe *field.Error
				if errors.As(e, &fe) && fe.Path == tt.path && contains(fe.Msg, tt.substr) {
					found = true
				}
			}
			if !found {
				t.Errorf("Validate = %v; want %s: …%s…", err, tt.path, tt.substr)
			}
		})
	}
	// A fault may select a backend an event adds.
	ok := Config{Backends: 2, Events: []Event{{At: time.Second, Add: ptr(1)}, {At: 2 * time.Second, Replace: ptr(2)}},
		Faults: []Fault{{Backend: IntList{3}, Stall: &Stall{}}}}
	if err := ok.Validate(); err != nil {
		t.Errorf("valid events: %v", err)
	}
}

func TestParseEventsNamesFileLine(t *testing.T) {
	src := "backends: 2\nevents:\n  - {at: 10s, remove: 1}\n  - {at: 20s, add: 1}\n  - {at: 30s, replace: 5}\n"
	_, err := Parse("server.yaml", []byte(src))
	if err == nil || !contains(err.Error(), "server.yaml:5: events[2].replace: backend 5 does not exist at 30s (backends then: 0, 2)") {
		t.Fatalf("Parse = %v", err)
	}
	cfg, err := Parse("server.yaml", []byte("backends: 2\nevents:\n  - {at: 10s, remove: 1, drain: 2s}\n  - {at: 20s, add: 2}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if e := cfg.Events[0]; e.At != 10*time.Second || *e.Remove != 1 || *e.Drain != 2*time.Second || *cfg.Events[1].Add != 2 {
		t.Errorf("parsed events %+v", cfg.Events)
	}
}
