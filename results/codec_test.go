package results_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"

	"github.com/grpcbench/grpcbench/results"
)

// fullRun builds a run with every field populated, from 3000 calls per cell.
func fullRun(t testing.TB) *results.Run {
	t.Helper()
	return fullRunN(t, 3000)
}

// fullRunN builds a run with every field populated, from n calls per cell.
func fullRunN(t testing.TB, n int) *results.Run {
	t.Helper()
	start := time.Date(2026, 3, 1, 12, 0, 0, 123456789, time.UTC)
	run := &results.Run{
		Name:       "pool-vs-lb",
		Partial:    true,
		Started:    start,
		Finished:   start.Add(time.Minute),
		Provenance: results.CollectProvenance([]string{"run", "x.yaml", "--set", "client.pool.size=8"}),
		Scenario: map[string]any{
			"name": "pool-vs-lb", "seed": json.Number("42"),
			"load":   map[string]any{"model": "open", "rate": json.Number("2000"), "duration": "30s"},
			"matrix": map[string]any{"client.pool.size": []any{json.Number("1"), json.Number("4")}},
		},
		Dimensions: []string{"client.pool.size", "client.lb.policy"},
	}
	for i := range 2 {
		rec := results.NewRecorder([]string{"GetUser", "SyncUsers"}, start.Add(time.Duration(i)*time.Second))
		s := rec.Shard()
		for j, e := range randomEvents(uint64(i+1), n) {
			m := e.method % 2
			s.Call(m, e.code, e.lat, e.svc, e.at)
			s.Attempt(m, e.svc)
			s.MessageRTT(1, e.svc/3)
			s.TTFM(1, e.svc/2)
			s.CallAttempts(1 + j%2)
			s.Peer("127.0.0.1:4000")
			s.Lag(e.lat / 10)
			s.Bytes(100, 200)
		}
		c := rec.Cell()
		c.ID = []string{"pool.size=1,lb.policy=round_robin#0", "pool.size=4,lb.policy=pick_first#0"}[i]
		c.Index = i
		c.Params = []results.Param{{Path: "client.pool.size", Value: []string{"1", "4"}[i]}, {Path: "client.lb.policy", Value: "round_robin"}}
		c.Partial = i == 1
		c.Error = map[bool]string{true: "interrupted"}[i == 1]
		c.Duration = 5 * time.Second
		c.Load = results.Load{Model: results.ModelOpen, TargetRate: 600, AchievedRate: c.Rate(), Workers: 64,
			Scheduled: int64(n + 10), Sent: int64(n + 5), Completed: c.Load.Completed, Dropped: 5, MaxLag: c.Load.MaxLag}
		c.Retry.GaveUp, c.Retry.PushbackWaits = 3, 1
		c.Breaker = results.Breaker{Trips: 2, Rejections: 40, TimeOpen: 1500 * time.Millisecond}
		c.Pool.Conns = []results.ConnStats{{Target: "passthrough:///x", State: "READY", Picks: 3000, StateChanges: 2}}
		c.Backends[0].ServerCalls, c.Backends[0].ServerRetries = 3100, 100
		c.Backends[0].ServerCodes = map[string]int64{"OK": 2900, "UNAVAILABLE": 200}
		c.Backends[0].ServerFaults = map[string]int64{"error/UNAVAILABLE": 200}
		c.Faults = []results.FaultWindow{{Kind: "down", Backends: []int{1}, Start: time.Second, End: 3 * time.Second}, {Kind: "latency"}}
		run.Cells = append(run.Cells, c)
	}
	return run
}

func encode(t testing.TB, run *results.Run) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := results.Encode(&buf, run); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestRoundTrip(t *testing.T) {
	run := fullRun(t)
	b1 := encode(t, run)
	back, err := results.Decode(bytes.NewReader(b1))
	if err != nil {
		t.Fatal(err)
	}
	if b2 := encode(t, back); !bytes.Equal(b1, b2) {
		t.Fatalf("encode(decode(x)) != x:\n%s\n---\n%s", firstDiff(b1, b2), "")
	}
	if back.Schema != results.Schema || !back.Partial || back.Name != run.Name || !back.Started.Equal(run.Started) {
		t.Fatalf("header = %+v", back)
	}
	if back.Provenance.GoVersion == "" || back.Provenance.GRPCVersion == "" || len(back.Provenance.Args) != 4 {
		t.Fatalf("provenance = %+v", back.Provenance)
	}
	if back.Scenario.(map[string]any)["seed"] != json.Number("42") {
		t.Fatalf("scenario = %v", back.Scenario)
	}
	for i, c := range run.Cells {
		g := back.Cells[i]
		if g.ID != c.ID || g.Load != c.Load || g.Breaker.TimeOpen != c.Breaker.TimeOpen || g.Retry.Attempts != c.Retry.Attempts {
			t.Fatalf("cell %d differs: %+v", i, g)
		}
		for name, m := range c.Methods {
			sameBuckets(t, name+" latency", g.Methods[name].Latency, m.Latency)
			sameBuckets(t, name+" service", g.Methods[name].Service, m.Service)
		}
		sameBuckets(t, "rtt", g.Methods["SyncUsers"].MessageRTT, c.Methods["SyncUsers"].MessageRTT)
		if len(g.Series) != len(c.Series) || g.Series[0] != c.Series[0] {
			t.Fatalf("series differ")
		}
	}
	if back.Cell(run.Cells[1].ID) != back.Cells[1] || back.Cell("nope") != nil {
		t.Fatal("Run.Cell lookup")
	}
}

func firstDiff(a, b []byte) string {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			lo := max(0, i-80)
			return string(a[lo:min(len(a), i+80)]) + "\n  vs\n" + string(b[lo:min(len(b), i+80)])
		}
	}
	return "lengths differ"
}

func TestEncodeSchema(t *testing.T) {
	if err := results.Encode(&bytes.Buffer{}, nil); err == nil {
		t.Error("nil run encoded")
	}
	if err := results.Encode(&bytes.Buffer{}, &results.Run{Schema: "other/v9"}); err == nil {
		t.Error("foreign schema encoded")
	}
	run := &results.Run{Name: "x"}
	b := encode(t, run)
	if !bytes.Contains(b, []byte(`"schema": "grpcbench/results/v1"`)) {
		t.Errorf("schema not written: %s", b)
	}
	if run.Schema != "" {
		t.Error("Encode modified its argument")
	}
}

func TestDecodeRejects(t *testing.T) {
	valid := string(encode(t, fullRun(t)))
	enc, err := results.NewHistogram().Encode()
	if err != nil {
		t.Fatal(err)
	}
	hist := `{"hdr":"` + enc + `"}`
	tests := []struct {
		name, in, want string
	}{
		{"empty", "", "empty input"},
		{"not JSON", "hello", "not a grpcbench results file"},
		{"array", `[1,2]`, "not a grpcbench results file"},
		{"no schema", `{"name":"x"}`, `no "schema" field`},
		{"foreign schema", `{"schema":"k6/summary"}`, `schema "k6/summary"`},
		{"future version", `{"schema":"grpcbench/results/v2"}`, "unsupported results schema"},
		{"schema wrong type", `{"schema":1}`, "not a grpcbench results file"},
		{"trailing data", `{"schema":"grpcbench/results/v1"} {}`, "trailing data"},
		{"bad histogram", `{"schema":"grpcbench/results/v1","cells":[{"id":"a","all":{"latency":{"hdr":"AAAA"}}}]}`, "cells[0].all.latency.hdr: decode histogram"},
		{"histogram without hdr", `{"schema":"grpcbench/results/v1","cells":[{"id":"a","all":{"latency":{"count":3}}}]}`, `cells[0].all.latency.hdr: histogram: missing "hdr"`},
		{"duplicate cell", `{"schema":"grpcbench/results/v1","cells":[{"id":"a"},{"id":"a"}]}`, "duplicates cells[0]"},
		{"empty cell id", `{"schema":"grpcbench/results/v1","cells":[{"id":""}]}`, "cells[0].id: empty"},
		{"null cell", `{"schema":"grpcbench/results/v1","cells":[null]}`, "null cell"},
		{"params vs dimensions", `{"schema":"grpcbench/results/v1","dimensions":["a"],"cells":[{"id":"x"}]}`, "0 params for 1 dimensions"},
		{"errors above calls", `{"schema":"grpcbench/results/v1","cells":[{"id":"x","methods":{"GetUser":{"calls":1,"errors":2}}}]}`, "methods.GetUser.errors"},
		{"negative duration", `{"schema":"grpcbench/results/v1","cells":[{"id":"x","duration_ns":-1}]}`, "cells[0].duration_ns: -1 is negative"},
		{"wrong type", `{"schema":"grpcbench/results/v1","cells":[{"id":"x","index":"one"}]}`, "cells[0].index: want an integer, got string"},
		{"truncated", valid[:len(valid)/2], "truncated: the file ends inside this value"},
		{"/dev/zero-like", "\x00\x00\x00", "not a grpcbench results file: starts with '\\x00'"},
		{"schema after a syntax error", `{"cells": [}`, "cells[0] (line 1): invalid JSON"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := results.Decode(strings.NewReader(tt.in))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want containing %q", err, tt.want)
			}
		})
	}
	// The scenario echoed in a results file may hold anything: a member
	// named "hdr" in request data is not a histogram.
	if _, err := results.Decode(strings.NewReader(`{"schema":"grpcbench/results/v1","scenario":{"mix":[{"data":{"hdr":"x-trace"}}]},"cells":[]}`)); err != nil {
		t.Fatalf("scenario with an hdr member: %v", err)
	}
	// A well-formed histogram object is accepted.
	in := `{"schema":"grpcbench/results/v1","cells":[{"id":"a","all":{"calls":0,"latency":` + hist + `}}]}`
	if _, err := results.Decode(strings.NewReader(in)); err != nil {
		t.Fatalf("minimal valid file: %v", err)
	}
}

func TestWriteFileAndReadFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "results.json")
	run := fullRun(t)
	if err := results.WriteFile(path, run); err != nil {
		t.Fatal(err)
	}
	back, err := results.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(encode(t, back), encode(t, run)) {
		t.Fatal("file does not round-trip")
	}
	onlyFile(t, dir, "results.json")

	// Overwrite atomically with a smaller run.
	if err := results.WriteFile(path, &results.Run{Name: "second"}); err != nil {
		t.Fatal(err)
	}
	if back, err = results.ReadFile(path); err != nil || back.Name != "second" {
		t.Fatalf("after overwrite: %v, %v", back, err)
	}
	onlyFile(t, dir, "results.json")
}

func TestWriteFileErrorLeavesNoTempFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "results.json")
	if err := results.WriteFile(path, &results.Run{Name: "old"}); err != nil {
		t.Fatal(err)
	}
	before, _ := os.ReadFile(path)
	tests := []struct {
		name string
		path string
		run  *results.Run
	}{
		{"encode fails: foreign schema", path, &results.Run{Schema: "nope"}},
		{"encode fails: nil run", path, nil},
		{"encode fails: unencodable scenario", path, &results.Run{Scenario: map[string]any{"f": func() {}}}},
		{"rename fails: target is a directory", filepath.Join(dir, "sub"), &results.Run{}},
		{"directory does not exist", filepath.Join(dir, "missing", "r.json"), &results.Run{}},
	}
	if err := os.Mkdir(filepath.Join(dir, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "sub", "keep"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := results.WriteFile(tt.path, tt.run); err == nil {
				t.Fatal("no error")
			}
			onlyFile(t, dir, "results.json", "sub")
			after, _ := os.ReadFile(path)
			if !bytes.Equal(before, after) {
				t.Fatal("existing file changed")
			}
		})
	}
}

func onlyFile(t *testing.T, dir string, names ...string) {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range ents {
		got = append(got, e.Name())
	}
	if strings.Join(got, ",") != strings.Join(names, ",") {
		t.Fatalf("directory holds %v, want %v", got, names)
	}
}

func TestReadFileErrors(t *testing.T) {
	dir := t.TempDir()
	if _, err := results.ReadFile(filepath.Join(dir, "missing.json")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
	bad := filepath.Join(dir, "bad.json")
	_ = os.WriteFile(bad, []byte(`{"schema":"x"}`), 0o644)
	if _, err := results.ReadFile(bad); err == nil || !strings.Contains(err.Error(), bad) {
		t.Errorf("bad file: %v (want the path named)", err)
	}
}

func FuzzDecode(f *testing.F) {
	// A small complete run: large seeds make every mutation slow.
	f.Add(encode(f, fullRunN(f, 20)))
	enc, _ := results.NewHistogram().Encode()
	f.Add([]byte(`{"schema":"grpcbench/results/v1","cells":[{"id":"a","all":{"latency":{"hdr":"` + enc + `"}}}]}`))
	f.Add([]byte(`{"schema":"grpcbench/results/v1","cells":[{"id":"a","series":[{"t":1,"calls":2,"hdr":"x"}]}]}`))
	f.Add([]byte(`{"schema":"grpcbench/results/v1"}`))
	f.Add([]byte(`{}`))
	rec := results.NewRecorder([]string{"GetUser"}, time.Time{})
	rec.Shard().Call(0, codes.OK, time.Millisecond, time.Millisecond, 0)
	c := rec.Cell()
	c.ID = "x"
	f.Add(encode(f, &results.Run{Cells: []*results.Cell{c}}))
	// Hostile files: truncated, lying histogram headers, bombs, wrong
	// types, negative counts (testdata/hostile).
	for _, b := range hostileFiles(f) {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		run, err := results.Decode(bytes.NewReader(data))
		if err != nil {
			return
		}
		// Whatever decodes re-encodes, decodes again, and is then stable.
		var b1 bytes.Buffer
		if err := results.Encode(&b1, run); err != nil {
			t.Fatalf("decoded run does not encode: %v", err)
		}
		run2, err := results.Decode(bytes.NewReader(b1.Bytes()))
		if err != nil {
			t.Fatalf("re-encoded run does not decode: %v\n%s", err, b1.Bytes())
		}
		var b2 bytes.Buffer
		if err := results.Encode(&b2, run2); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(b1.Bytes(), b2.Bytes()) {
			t.Fatalf("encoding not stable:\n%s", firstDiff(b1.Bytes(), b2.Bytes()))
		}
		// Merging a decoded run with itself must not panic.
		_, _ = results.Merge(run, run)
	})
}
