package results_test

import (
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"

	"github.com/grpcbench/grpcbench/results"
)

func TestShortMethodNames(t *testing.T) {
	tests := []struct {
		names []string
		want  map[string]string
	}{
		{[]string{"grpcbench.user.v1.UserService/GetUser", "grpcbench.user.v1.UserService/ListUsers"},
			map[string]string{"grpcbench.user.v1.UserService/GetUser": "GetUser", "grpcbench.user.v1.UserService/ListUsers": "ListUsers"}},
		// The same method name in two services: the service tells them apart.
		{[]string{"a.v1.UserService/Get", "b.v1.OrderService/Get", "a.v1.UserService/List"},
			map[string]string{"a.v1.UserService/Get": "UserService/Get", "b.v1.OrderService/Get": "OrderService/Get", "a.v1.UserService/List": "List"}},
		// The same service name in two packages: only the full name is unique.
		{[]string{"a.v1.S/Get", "b.v1.S/Get"}, map[string]string{"a.v1.S/Get": "a.v1.S/Get", "b.v1.S/Get": "b.v1.S/Get"}},
		// A service without a package, and a bare name.
		{[]string{"S/Get", "Legacy"}, map[string]string{"S/Get": "Get", "Legacy": "Legacy"}},
		// Duplicates in the input do not make a name ambiguous.
		{[]string{"p.S/Get", "p.S/Get"}, map[string]string{"p.S/Get": "Get"}},
		{nil, map[string]string{}},
	}
	for _, tt := range tests {
		if got := results.ShortMethodNames(tt.names); !maps.Equal(got, tt.want) {
			t.Errorf("ShortMethodNames(%q) = %v, want %v", tt.names, got, tt.want)
		}
	}
}

func TestMatchMethod(t *testing.T) {
	names := []string{"a.v1.UserService/Get", "b.v1.OrderService/Get", "a.v1.UserService/List", "grpc.testing.TestService/UnaryCall"}
	tests := []struct {
		sel, want, err string
	}{
		{"a.v1.UserService/Get", "a.v1.UserService/Get", ""},
		{"UserService/Get", "a.v1.UserService/Get", ""},
		{"List", "a.v1.UserService/List", ""},
		{"UnaryCall", "grpc.testing.TestService/UnaryCall", ""},
		{"Get", "", `method "Get" is ambiguous: it names a.v1.UserService/Get and b.v1.OrderService/Get`},
		{"Put", "", `unknown method "Put" (methods: a.v1.UserService/Get, b.v1.OrderService/Get, a.v1.UserService/List, grpc.testing.TestService/UnaryCall)`},
		{"v1.UserService/Get", "", "unknown method"},
		{"/a.v1.UserService/Get", "", "unknown method"},
	}
	for _, tt := range tests {
		got, err := results.MatchMethod(tt.sel, names)
		switch {
		case tt.err == "" && (err != nil || got != tt.want):
			t.Errorf("MatchMethod(%q) = %q, %v; want %q", tt.sel, got, err, tt.want)
		case tt.err != "" && (err == nil || !strings.Contains(err.Error(), tt.err)):
			t.Errorf("MatchMethod(%q) = %q, %v; want an error containing %q", tt.sel, got, err, tt.err)
		}
	}
	if _, err := results.MatchMethod("Get", nil); err == nil || !strings.Contains(err.Error(), "no method was called") {
		t.Errorf("MatchMethod with no names: %v", err)
	}
}

// Aggregate returns All when the cell has it and otherwise sums the
// methods exactly as the recorder does.
func TestAggregateAndMethodNames(t *testing.T) {
	rec := results.NewRecorder([]string{"p.S/A", "p.S/B"}, time.Time{})
	sh := rec.Shard()
	for i := range 200 {
		code := codes.OK
		if i%10 == 0 {
			code = codes.Unavailable
		}
		sh.Call(i%2, code, time.Duration(i+1)*time.Millisecond, time.Millisecond, 0)
	}
	c := rec.Cell()
	if c.Aggregate() != c.All {
		t.Fatal("Aggregate does not return All when present")
	}
	stripped := *c
	stripped.All = nil
	agg := stripped.Aggregate()
	if agg == nil || agg.Calls != c.All.Calls || agg.Errors != c.All.Errors || agg.Codes["UNAVAILABLE"] != 20 {
		t.Fatalf("Aggregate without All = %+v, want the sum %+v", agg, c.All)
	}
	sameBuckets(t, "latency", agg.Latency, c.All.Latency)
	sameBuckets(t, "ok", agg.OK, c.All.OK)
	if stripped.All != nil {
		t.Error("Aggregate stored its sum in the cell")
	}
	if (&results.Cell{}).Aggregate() != nil {
		t.Error("a cell without statistics has an aggregate")
	}

	run := &results.Run{Cells: []*results.Cell{c, nil, {Methods: map[string]*results.MethodStats{"q.T/C": {}, "p.S/A": {}}}}}
	if got, want := run.MethodNames(), []string{"p.S/A", "p.S/B", "q.T/C"}; !slices.Equal(got, want) {
		t.Errorf("MethodNames = %v, want %v", got, want)
	}
}

// FuzzMatchMethod: matching never panics, a match is one of the names, and
// the short form ShortMethodNames gives every name selects that name again.
func FuzzMatchMethod(f *testing.F) {
	f.Add("GetUser", "a.v1.UserService/GetUser\nb.v1.Other/GetUser\nS/List")
	f.Add("UserService/GetUser", "a.v1.UserService/GetUser\nb.UserService/GetUser")
	f.Add("/x", "x\n/x\n//")
	f.Fuzz(func(t *testing.T, sel, list string) {
		names := slices.Compact(slices.Sorted(slices.Values(strings.Split(list, "\n"))))
		if got, err := results.MatchMethod(sel, names); err == nil && !slices.Contains(names, got) {
			t.Fatalf("MatchMethod(%q, %q) = %q, not a name", sel, names, got)
		}
		for n, short := range results.ShortMethodNames(names) {
			if got, err := results.MatchMethod(short, names); err != nil || got != n {
				t.Fatalf("short form %q of %q selects %q, %v (names %q)", short, n, got, err, names)
			}
		}
	})
}
