package fakeserver

import (
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
)

func contains(s, sub string) bool { return strings.Contains(s, sub) }

func TestParseGoodConfig(t *testing.T) {
	src := `
backends: 3
seed: 42
max_concurrent_streams: 100
faults:
  - {backend: 2, latency: {dist: lognormal, median: 20ms, p99: 200ms}}
  - {method: GetUser, error: {code: UNAVAILABLE, rate: 0.05, pushback: 100ms}}
  - {backend: [0, 1], method: [ListUsers, SyncUsers], abort: {after: 5, code: Aborted}}
  - {backend: 1, down: {at: 10s, for: 5s}}
  - {pause: {every: 2s, for: 500ms}}
  - {at: 1s, for: 2s, stall: {every_nth: 10}}
  - {health: {status: NOT_SERVING, at: 3s, for: 1s}}
  - {orca: {utilization: 0.9}, backend: 0}
  - {goaway: {max_connection_age: 30s, grace: 5s}}
  - {kill: {at: 20s}}
  - {capacity: {max_inflight: 64}}
  - {keepalive: {min_time: 1m}}
`
	c, err := Parse("faults.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	if c.Backends != 3 || len(c.Faults) != 12 || c.Faults[1].Error.Code != codes.Unavailable ||
		*c.Faults[1].Error.Pushback != 100*time.Millisecond || c.Faults[2].Abort.Code != codes.Aborted ||
		c.Faults[5].Window.At != time.Second || c.Faults[4].Pause.Every != 2*time.Second {
		t.Fatalf("parsed %+v", c)
	}
	// A bare list is a list of faults.
	c, err = Parse("faults.yaml", []byte("- {error: {code: INTERNAL, every_nth: 3}}\n"))
	if err != nil || len(c.Faults) != 1 || c.Faults[0].Error.EveryNth != 3 {
		t.Fatalf("bare list: %+v, %v", c, err)
	}
}

func TestParseBadConfigNamesFileLineField(t *testing.T) {
	tests := []struct {
		name, src, want string
	}{
		{"unknown kind", "faults:\n  - {latncy: {dist: fixed, value: 1ms}}\n", `faults.yaml:2: faults[0].latncy: unknown field`},
		{"unknown field", "faults:\n  - error: {code: UNAVAILABLE, rat: 0.5}\n", `faults.yaml:2: faults[0].error.rat: unknown field`},
		{"rate above 1", "faults:\n  - error:\n      code: UNAVAILABLE\n      rate: 1.5\n", "faults.yaml:4: faults[0].error.rate: must be between 0 and 1, got 1.5"},
		{"negative rate", "faults:\n  - stall: {rate: -0.1}\n", "faults.yaml:2: faults[0].stall.rate: must be between 0 and 1"},
		{"negative duration", "faults:\n  - down: {at: -1s, for: 1s}\n", "faults.yaml:2: faults[0].down.at: must not be negative"},
		{"unknown code", "faults:\n  - error: {code: UNAVAILBLE}\n", `faults.yaml:2: faults[0].error.code: unknown status code "UNAVAILBLE"`},
		{"code OK", "faults:\n  - error: {code: OK}\n", "faults[0].error.code: is required and must not be OK"},
		{"duration without unit", "faults:\n  - latency: {dist: fixed, value: 5}\n", "faults[0].latency.value"},
		{"two kinds", "faults:\n  - {error: {code: INTERNAL}, stall: {}}\n", "faults[0]: names 2 fault kinds"},
		{"no kind", "faults:\n  - {backend: 0}\n", "faults[0]: names no fault kind"},
		{"backend out of range", "backends: 2\nfaults:\n  - {backend: 2, stall: {}}\n", "faults.yaml:3: faults[0].backend[0]: backend 2 does not exist"},
		{"unknown method", "faults:\n  - {method: GetUsr, stall: {}}\n", `faults[0].method[0]: unknown method "GetUsr"`},
		{"abort on unary", "faults:\n  - {method: GetUser, abort: {after: 1, code: ABORTED}}\n", "abort applies to streams"},
		{"lognormal p99 below median", "faults:\n  - latency: {dist: lognormal, median: 20ms, p99: 10ms}\n", "faults[0].latency.p99: must be greater than median"},
		{"unknown dist", "faults:\n  - latency: {dist: gamma}\n", `faults[0].latency.dist: unknown distribution "gamma"`},
		{"field of another dist", "faults:\n  - latency: {dist: fixed, value: 1ms, median: 2ms}\n", "faults[0].latency.median: is not used by dist fixed"},
		{"pause needs for", "faults:\n  - pause: {every: 1s}\n", "faults[0].pause.for: is required"},
		{"for not shorter than every", "faults:\n  - pause: {every: 1s, for: 1s}\n", "must be shorter than every"},
		{"window on goaway", "faults:\n  - {at: 1s, goaway: {max_connection_age: 1s}}\n", "has its own timing"},
		{"method on down", "faults:\n  - {method: GetUser, down: {for: 1s}}\n", "faults[0].method: down acts on the whole backend"},
		{"health status", "faults:\n  - health: {status: SICK}\n", `faults[0].health.status: must be NOT_SERVING, SERVING or SERVICE_UNKNOWN, got "SICK"`},
		{"orca both", "faults:\n  - orca: {utilization: 0.5, capacity: 10}\n", "faults[0].orca: give utilization"},
		{"orca range", "faults:\n  - orca: {utilization: 2}\n", "faults[0].orca.utilization: must be between 0 and 1"},
		{"capacity empty", "faults:\n  - capacity: {}\n", "sets neither max_inflight nor max_concurrent_streams"},
		{"rate and nth", "faults:\n  - error: {code: INTERNAL, rate: 0.5, every_nth: 2}\n", "give rate or every_nth, not both"},
		{"backends range", "backends: 0\naddrs: []\nbackends: 3\n", "faults.yaml:3: backends: given twice"},
		{"too many backends", "backends: 100\n", "faults.yaml:1: backends: must be between 1 and 64"},
		{"addr", "backends: 1\naddrs: [nonsense]\n", `addrs[0]: "nonsense" is not host:port`},
		{"syntax", "faults: [\n", "faults.yaml:"},
		{"wrong type", "seed: abc\n", "faults.yaml:1: seed:"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("faults.yaml", []byte(tt.src))
			if err == nil {
				t.Fatalf("no error; want %q", tt.want)
			}
			if !contains(err.Error(), tt.want) {
				t.Fatalf("error:\n%v\nwant it to contain %q", err, tt.want)
			}
		})
	}
}

func TestWindow(t *testing.T) {
	ms := time.Millisecond
	w := Window{At: 100 * ms, For: 50 * ms, Every: 200 * ms}
	for _, tt := range []struct {
		t      time.Duration
		active bool
		end    time.Duration
		next   time.Duration
	}{
		{0, false, 0, 100 * ms},
		{100 * ms, true, 150 * ms, 150 * ms},
		{149 * ms, true, 150 * ms, 150 * ms},
		{150 * ms, false, 0, 300 * ms},
		{320 * ms, true, 350 * ms, 350 * ms},
	} {
		if got := w.Active(tt.t); got != tt.active {
			t.Errorf("Active(%v) = %v", tt.t, got)
		}
		if e, ok := w.End(tt.t); ok != tt.active || e != tt.end {
			t.Errorf("End(%v) = %v, %v", tt.t, e, ok)
		}
		if n, ok := w.NextEdge(tt.t); !ok || n != tt.next {
			t.Errorf("NextEdge(%v) = %v, %v; want %v", tt.t, n, ok, tt.next)
		}
	}
	if !(Window{}).Active(time.Hour) || !(Window{At: ms}).Active(time.Hour) {
		t.Error("open windows must stay active")
	}
	if _, ok := (Window{At: ms}).NextEdge(time.Hour); ok {
		t.Error("an open window has no further edge")
	}
	k := Kill{At: 100 * ms, Every: 100 * ms}
	if !k.due(50*ms, 100*ms) || k.due(100*ms, 150*ms) || !k.due(150*ms, 200*ms) {
		t.Error("Kill.due")
	}
}

func TestStoreIsBounded(t *testing.T) {
	s := newStore(8)
	var ids []string
	for range 100 {
		ids = append(ids, s.create(nil).Id)
	}
	// The newest 8 are stored; older ids fall back to synthesised users.
	if u := s.get(ids[99]); u.Id != ids[99] || u.Username != "" {
		t.Fatalf("newest user: %v", u)
	}
	if u := s.get(ids[0]); u.Id != ids[0] || u.Username == "" {
		t.Fatalf("evicted user should be synthesised: %v", u)
	}
	n := 0
	for i := range s.slots {
		if s.slots[i].Load() != nil {
			n++
		}
	}
	if n != 8 {
		t.Fatalf("%d slots used, want 8", n)
	}
	if s.get("someone").Id != s.get("someone").Id {
		t.Fatal("synthesised users must be deterministic")
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte("faults:\n  - {error: {code: UNAVAILABLE, rate: 0.2}}\n"))
	f.Add([]byte("- {latency: {dist: lognormal, median: 1ms, p99: 9ms}, backend: [0]}\n"))
	f.Add([]byte("backends: 2\nfaults: [{down: {at: 1s, for: 2s}}, {pause: {every: 1s, for: 10ms}}]\n"))
	f.Add([]byte("backends: 2\nevents: [{at: 1s, remove: 1, drain: 1s}, {at: 2s, add: 2}, {at: 3s, replace: 3}]\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := Parse("fuzz.yaml", data)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "fuzz.yaml") {
				t.Fatalf("error without file name: %v", err)
			}
			return
		}
		if err := c.Validate(); err != nil {
			t.Fatalf("Parse accepted a config Validate rejects: %v", err)
		}
	})
}

func TestKindsFitCounters(t *testing.T) {
	if len(Kinds) != numKinds {
		t.Fatalf("len(Kinds) = %d, numKinds = %d: update numKinds", len(Kinds), numKinds)
	}
}
