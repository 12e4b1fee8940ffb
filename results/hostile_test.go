package results_test

import (
	"bufio"
	"bytes"
	"compress/zlib"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
	"google.golang.org/grpc/codes"

	"github.com/grpcbench/grpcbench/internal/testutil"
	"github.com/grpcbench/grpcbench/results"
)

// hostileDir holds hostile results files, one per case, and want.txt: one
// line per file, "NAME<TAB>substring its error must contain". They are
// also read by cmd/grpcbench's tests (report, compare and merge over the
// real binary) and seed FuzzDecode. Regenerate with
// go test ./results -run TestHostileFiles -update.
const hostileDir = "testdata/hostile"

// hdrSpec describes an HdrHistogram V2 compressed encoding, possibly lying
// about its lengths.
type hdrSpec struct {
	digits          int32
	lowest, highest int64
	payload         []byte
	claimPayload    int32 // payload length in the inner header; -1: the real one
	claimCompressed int32 // compressed length in the outer header; -1: the real one
	badChecksum     bool  // flip a bit of the zlib checksum
}

func (h hdrSpec) encode() string {
	inner := make([]byte, 40, 40+len(h.payload))
	claim := h.claimPayload
	if claim < 0 {
		claim = int32(len(h.payload))
	}
	binary.BigEndian.PutUint32(inner[0:], uint32(hdrhistogram.V2EncodingCookieBase|0x10))
	binary.BigEndian.PutUint32(inner[4:], uint32(claim))
	binary.BigEndian.PutUint32(inner[12:], uint32(h.digits))
	binary.BigEndian.PutUint64(inner[16:], uint64(h.lowest))
	binary.BigEndian.PutUint64(inner[24:], uint64(h.highest))
	binary.BigEndian.PutUint64(inner[32:], math.Float64bits(1))
	inner = append(inner, h.payload...)
	var zb bytes.Buffer
	w, _ := zlib.NewWriterLevel(&zb, zlib.BestCompression)
	_, _ = w.Write(inner)
	_ = w.Close()
	z := zb.Bytes()
	if h.badChecksum {
		z[len(z)-1] ^= 1
	}
	clen := h.claimCompressed
	if clen < 0 {
		clen = int32(len(z))
	}
	out := make([]byte, 8, 8+len(z))
	binary.BigEndian.PutUint32(out[0:], uint32(hdrhistogram.V2CompressedEncodingCookieBase|0x10))
	binary.BigEndian.PutUint32(out[4:], uint32(clen))
	return base64.StdEncoding.EncodeToString(append(out, z...))
}

// ones returns a payload of n buckets holding a count of 1 each (zig-zag 2).
func ones(n int) []byte { return bytes.Repeat([]byte{2}, n) }

// standard is a valid geometry: ours, 1 µs to 60 s, 3 digits.
func standard(payload []byte) hdrSpec {
	return hdrSpec{digits: 3, lowest: 1, highest: results.HistogramMax, payload: payload, claimPayload: -1, claimCompressed: -1}
}

// hostileBase returns a small valid run as a generic JSON tree: two cells,
// GetUser only, with series.
func hostileBase(t *testing.T) map[string]any {
	t.Helper()
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	run := &results.Run{Name: "hostile", Dimensions: []string{"client.pool.size"}, Started: start, Finished: start.Add(time.Minute)}
	for i, size := range []string{"1", "4"} {
		rec := results.NewRecorder([]string{"GetUser"}, start)
		sh := rec.Shard()
		for k := range 40 {
			code := codes.OK
			if k%10 == 0 {
				code = codes.Unavailable
			}
			lat := time.Duration(1+i+k%7) * time.Millisecond
			sh.Call(0, code, lat, lat/2, time.Duration(k)*50*time.Millisecond)
		}
		c := rec.Cell()
		c.ID, c.Index, c.Duration = "client.pool.size="+size+"#0", i, 2*time.Second
		c.Params = []results.Param{{Path: "client.pool.size", Value: size}}
		c.Load = results.Load{Model: results.ModelClosed, Completed: 40, AchievedRate: 20, Workers: 4}
		run.Cells = append(run.Cells, c)
	}
	var b bytes.Buffer
	if err := results.Encode(&b, run); err != nil {
		t.Fatal(err)
	}
	var tree map[string]any
	dec := json.NewDecoder(&b)
	dec.UseNumber()
	if err := dec.Decode(&tree); err != nil {
		t.Fatal(err)
	}
	return tree
}

// at walks a generic JSON tree: strings are keys, ints indexes.
func at(tree any, path ...any) map[string]any {
	for _, p := range path {
		switch k := p.(type) {
		case string:
			tree = tree.(map[string]any)[k]
		case int:
			tree = tree.([]any)[k]
		}
	}
	return tree.(map[string]any)
}

type hostileCase struct {
	name string
	want string // substring of the error
	// Either edit changes the valid base tree, or raw gives the bytes.
	edit func(tree map[string]any)
	raw  func(valid []byte) []byte
	post func(encoded []byte) []byte // optional, after edit
}

// Paths into the base tree, and edits of it.
var (
	cell0 = []any{"cells", 0}
	gu    = []any{"cells", 0, "methods", "GetUser"}
	lat   = []any{"cells", 0, "methods", "GetUser", "latency"}
)

func set(path []any, key string, v any) func(map[string]any) {
	return func(tr map[string]any) { at(tr, path...)[key] = v }
}

func setHDR(path []any, hdr string) func(map[string]any) { return set(path, "hdr", hdr) }

// hostileCases are the hostile files: the document, then its histograms.
func hostileCases() []hostileCase { return append(documentCases(), histogramCases()...) }

// documentCases break the JSON, the schema, types and counts.
func documentCases() []hostileCase {
	return []hostileCase{
		{name: "truncated", want: "truncated: the file ends inside this value", raw: func(v []byte) []byte { return v[:len(v)*2/3] }},
		{name: "empty", want: "empty input", raw: func([]byte) []byte { return nil }},
		{name: "not-json", want: "starts with 'h'", raw: func([]byte) []byte { return []byte("hello\n") }},
		{name: "array", want: "starts with '['", raw: func([]byte) []byte { return []byte(`[{"schema":"grpcbench/results/v1"}]`) }},
		{name: "no-schema", want: `no "schema" field`, edit: func(tr map[string]any) { delete(tr, "schema") }},
		{name: "foreign-schema", want: `schema "k6/summary"`, edit: func(tr map[string]any) { tr["schema"] = "k6/summary" }},
		{name: "future-schema", want: `unsupported results schema "grpcbench/results/v9"`, edit: func(tr map[string]any) { tr["schema"] = "grpcbench/results/v9" }},
		{name: "schema-number", want: "schema is not a string", edit: func(tr map[string]any) { tr["schema"] = 1 }},
		{name: "trailing-data", want: "trailing data", raw: func(v []byte) []byte { return append(v, "{}\n"...) }},
		{name: "deep-nesting", want: "nested deeper than 64 levels", edit: func(tr map[string]any) {
			var v any = 1
			for range 100 {
				v = []any{v}
			}
			tr["scenario"] = v
		}},
		{name: "nan-rate", want: "cells[0].load.achieved_rate (line", raw: func(v []byte) []byte {
			return bytes.Replace(v, []byte(`"achieved_rate": 20`), []byte(`"achieved_rate": NaN`), 1)
		}},
		{name: "huge-number", want: "cells[0].load.achieved_rate: want a number, got number 1e999", edit: set(append(cell0, "load"), "achieved_rate", json.Number("1e999"))},
		{name: "negative-rate", want: "cells[0].load.target_rate: -5 is not a finite non-negative rate", edit: set(append(cell0, "load"), "target_rate", -5)},
		{name: "negative-calls", want: "cells[0].methods.GetUser.calls: -5 is negative", edit: set(gu, "calls", -5)},
		{name: "negative-code-count", want: "cells[0].methods.GetUser.codes.OK: -1 is negative", edit: func(tr map[string]any) { at(tr, append(gu, "codes")...)["OK"] = -1 }},
		{name: "errors-above-calls", want: "cells[0].methods.GetUser.errors: 41 not in [0, calls=40]", edit: set(gu, "errors", 41)},
		{name: "negative-series-calls", want: "cells[1].series[0].calls: -3 is negative", edit: set([]any{"cells", 1, "series", 0}, "calls", -3)},
		{name: "dotted-method", want: `cells[0].methods["pkg.Svc/Get"].calls: -1 is negative`, edit: func(tr map[string]any) {
			at(tr, append(cell0, "methods")...)["pkg.Svc/Get"] = map[string]any{"calls": -1}
		}},
		{name: "cell-without-id", want: "cells[1].id: empty", edit: func(tr map[string]any) { delete(at(tr, "cells", 1), "id") }},
		{name: "duplicate-id", want: `cells[1].id: "client.pool.size=1#0" duplicates cells[0]`, edit: set([]any{"cells", 1}, "id", "client.pool.size=1#0")},
		{name: "null-cell", want: "cells[1]: null cell", edit: func(tr map[string]any) { tr["cells"].([]any)[1] = nil }},
		{name: "params-count", want: "cells[0].params: 0 params for 1 dimensions", edit: func(tr map[string]any) { delete(at(tr, cell0...), "params") }},
		{name: "params-path", want: `cells[0].params[0].path: "client.lb.policy" is not dimensions[0] "client.pool.size"`, edit: set([]any{"cells", 0, "params", 0}, "path", "client.lb.policy")},
		{name: "wrong-type-index", want: "cells[0].index: want an integer, got string", edit: set(cell0, "index", "one")},
		{name: "wrong-type-methods", want: "cells[0].methods: want an object, got an array", edit: set(cell0, "methods", []any{1})},
		{name: "wrong-type-cells", want: "cells: want an array, got an object", edit: func(tr map[string]any) { tr["cells"] = map[string]any{} }},
		{name: "wrong-type-hdr", want: "cells[0].methods.GetUser.latency.hdr: want a string, got number", edit: set(lat, "hdr", 5)},
		{name: "bad-time", want: "cells[0].start:", edit: set(cell0, "start", "yesterday")},
	}
}

// histogramCases break encoded histograms: lying lengths, huge geometry,
// compression bombs, corrupt compression.
func histogramCases() []hostileCase {
	bigGeometry := hdrSpec{digits: 5, lowest: 1, highest: math.MaxInt64 / 2, payload: ones(1 << 20), claimPayload: -1, claimCompressed: -1}
	hourly := hdrSpec{digits: 5, lowest: 1, highest: 3_600_000_000, payload: ones(1 << 20), claimPayload: -1, claimCompressed: -1}
	return []hostileCase{
		{name: "hdr-missing", want: `cells[0].methods.GetUser.latency.hdr: histogram: missing "hdr"`, edit: func(tr map[string]any) { delete(at(tr, lat...), "hdr") }},
		{name: "hdr-negative-clamped", want: "cells[0].methods.GetUser.latency.clamped: -1 is negative", edit: set(lat, "clamped", -1)},
		{name: "hdr-not-base64", want: "cells[0].methods.GetUser.latency.hdr: decode histogram: not an HdrHistogram V2 compressed base64 encoding", edit: setHDR(lat, "***")},
		{name: "hdr-compressed-1gb", want: "cells[0].methods.GetUser.latency.hdr: decode histogram: compressed length 1073741824 does not fit", edit: setHDR(lat, func() string {
			h := standard(ones(10))
			h.claimCompressed = 1 << 30
			return h.encode()
		}())},
		{name: "hdr-payload-1gb", want: "cells[0].methods.GetUser.latency.hdr: decode histogram: header claims 1073741824 bytes of counts payload", edit: setHDR(lat, func() string {
			h := standard(ones(10))
			h.claimPayload = 1 << 30
			return h.encode()
		}())},
		{name: "hdr-huge-geometry", want: "cells[0].methods.GetUser.latency.hdr: decode histogram: header claims a geometry of 1 to 4611686018427387903 with 5 digits", edit: setHDR(lat, bigGeometry.encode())},
		// encoding/json matches keys case-insensitively and after undoing
		// escapes: the checks must see these as "hdr" too.
		{name: "hdr-key-uppercase", want: "cells[0].methods.GetUser.latency.HDR: decode histogram: header claims 1073741824 bytes", edit: func(tr map[string]any) {
			h := standard(ones(10))
			h.claimPayload = 1 << 30
			delete(at(tr, lat...), "hdr")
			at(tr, lat...)["HDR"] = h.encode()
		}},
		{name: "hdr-key-escaped", want: "cells[0].methods.GetUser.latency.hdr: decode histogram: header claims 1073741824 bytes", edit: func(tr map[string]any) {
			h := standard(ones(10))
			h.claimPayload = 1 << 30
			delete(at(tr, lat...), "hdr")
			at(tr, lat...)["h_ESCAPED_r"] = h.encode()
		}, post: func(b []byte) []byte { return bytes.Replace(b, []byte("h_ESCAPED_r"), []byte(`h\u0064r`), 1) }},
		{name: "hdr-budget", want: "bytes of counts in all", edit: func(tr map[string]any) {
			bomb := hourly.encode() // 1 MiB of counts from about a kilobyte
			ms := at(tr, cell0...)["methods"].(map[string]any)
			for i := range 12 {
				ms[fmt.Sprintf("M%02d", i)] = map[string]any{"latency": map[string]any{"hdr": bomb}}
			}
		}},
		{name: "hdr-bad-zlib", want: "cells[0].all.latency.hdr: decode histogram: compressed contents: zlib: invalid header", edit: setHDR([]any{"cells", 0, "all", "latency"},
			base64.StdEncoding.EncodeToString(append([]byte{0x1c, 0x84, 0x93, 0x14, 0, 0, 0, 8}, "garbage!"...)))},
		{name: "hdr-bad-checksum", want: "cells[0].all.latency.hdr: decode histogram: zlib: invalid checksum", edit: setHDR([]any{"cells", 0, "all", "latency"},
			hdrSpec{digits: 3, lowest: 1, highest: results.HistogramMax, payload: ones(3), claimPayload: -1, claimCompressed: -1, badChecksum: true}.encode())},
		{name: "series-bad-checksum", want: "cells[1].series[1].hdr: decode histogram: payload: zlib: invalid checksum", edit: setHDR([]any{"cells", 1, "series", 1},
			hdrSpec{digits: 2, lowest: 1, highest: results.HistogramMax, payload: ones(3), claimPayload: -1, claimCompressed: -1, badChecksum: true}.encode())},
		{name: "series-short-payload", want: "cells[0].series[0].hdr: decode histogram: payload: 3 of the 9 bytes claimed: truncated", edit: setHDR([]any{"cells", 0, "series", 0},
			hdrSpec{digits: 2, lowest: 1, highest: results.HistogramMax, payload: ones(3), claimPayload: 9, claimCompressed: -1}.encode())},
	}
}

// TestHostileFiles decodes every hostile file and checks its error names
// the value at fault; with -update it first rewrites the files.
func TestHostileFiles(t *testing.T) {
	if *testutil.Update {
		writeHostileFiles(t)
	}
	want := readHostileWants(t)
	if len(want) != len(hostileCases()) {
		t.Fatalf("%s/want.txt lists %d files, hostile_test.go generates %d: run go test ./results -run TestHostileFiles -update", hostileDir, len(want), len(hostileCases()))
	}
	for name, w := range want {
		t.Run(name, func(t *testing.T) {
			_, err := results.ReadFile(filepath.Join(hostileDir, name))
			if err == nil || !strings.Contains(err.Error(), w) || !strings.Contains(err.Error(), name) {
				t.Fatalf("err = %v\nwant the file name and %q", err, w)
			}
		})
	}
}

// readHostileWants reads want.txt: file name → expected error substring.
func readHostileWants(t *testing.T) map[string]string {
	t.Helper()
	f, err := os.Open(filepath.Join(hostileDir, "want.txt"))
	if err != nil {
		t.Fatalf("%v (generate with go test ./results -run TestHostileFiles -update)", err)
	}
	defer f.Close()
	out := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		name, w, ok := strings.Cut(sc.Text(), "\t")
		if !ok {
			t.Fatalf("want.txt: bad line %q", sc.Text())
		}
		out[name] = w
	}
	return out
}

func writeHostileFiles(t *testing.T) {
	t.Helper()
	valid := encodeTree(t, hostileBase(t))
	if err := os.RemoveAll(hostileDir); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(hostileDir, 0o755); err != nil {
		t.Fatal(err)
	}
	var wants strings.Builder
	for _, c := range hostileCases() {
		var data []byte
		if c.raw != nil {
			data = c.raw(valid)
		} else {
			tree := hostileBase(t)
			c.edit(tree)
			data = encodeTree(t, tree)
			if c.post != nil {
				data = c.post(data)
			}
		}
		name := c.name + ".json"
		if err := os.WriteFile(filepath.Join(hostileDir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&wants, "%s\t%s\n", name, c.want)
	}
	if err := os.WriteFile(filepath.Join(hostileDir, "want.txt"), []byte(wants.String()), 0o644); err != nil {
		t.Fatal(err)
	}
}

// encodeTree encodes a generic run tree as grpcbench does: indented, with
// "schema" first (encoding/json sorts map keys).
func encodeTree(t *testing.T, tree map[string]any) []byte {
	t.Helper()
	schema, hasSchema := tree["schema"]
	delete(tree, "schema")
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetIndent("", "  ")
	if err := enc.Encode(tree); err != nil {
		t.Fatal(err)
	}
	if !hasSchema {
		return b.Bytes()
	}
	sj, err := json.Marshal(schema)
	if err != nil {
		t.Fatal(err)
	}
	return append([]byte("{\n  \"schema\": "+string(sj)+","), b.Bytes()[1:]...)
}

// hostileFiles returns the contents of every hostile file (fuzz seeds).
func hostileFiles(f *testing.F) [][]byte {
	f.Helper()
	names, err := filepath.Glob(filepath.Join(hostileDir, "*.json"))
	if err != nil || len(names) == 0 {
		f.Fatalf("no hostile files in %s: %v", hostileDir, err)
	}
	var out [][]byte
	for _, n := range names {
		b, err := os.ReadFile(n)
		if err != nil {
			f.Fatal(err)
		}
		out = append(out, b)
	}
	return out
}

// TestHostileHistogramAllocation shows why the headers are checked: the
// encoding in hdr-huge-geometry.json is 1.4 KB, hdrhistogram-go alone decodes
// it into a million buckets, and our decoder refuses it having allocated
// almost nothing.
func TestHostileHistogramAllocation(t *testing.T) {
	bomb := hdrSpec{digits: 5, lowest: 1, highest: math.MaxInt64 / 2, payload: ones(1 << 20), claimPayload: -1, claimCompressed: -1}.encode()
	lib := allocated(func() {
		p, err := hdrhistogram.DecodePacked([]byte(bomb))
		if err != nil || p.TotalCount() != 1<<20 {
			t.Fatalf("hdrhistogram-go: %v (count %v)", err, p)
		}
	})
	ours := allocated(func() {
		if _, err := results.DecodeHistogram(bomb); err == nil {
			t.Fatal("decoded")
		}
	})
	t.Logf("encoding %d bytes; hdrhistogram-go allocates %d bytes to decode it, results.DecodeHistogram %d to refuse it", len(bomb), lib, ours)
	if lib < 8<<20 || ours > 256<<10 {
		t.Fatalf("allocated: library %d, ours %d; want ≥ 8 MiB and ≤ 256 KiB", lib, ours)
	}
	// A whole hostile file within the budget: decoding allocates a bounded
	// multiple of its size, never what its headers claim.
	data, err := os.ReadFile(filepath.Join(hostileDir, "hdr-budget.json"))
	if err != nil {
		t.Fatal(err)
	}
	n := allocated(func() {
		if _, err := results.Decode(bytes.NewReader(data)); err == nil {
			t.Fatal("decoded")
		}
	})
	t.Logf("hdr-budget.json: %d bytes, %d allocated to refuse it", len(data), n)
	if n > 64<<20 {
		t.Fatalf("refusing hdr-budget.json allocated %d bytes", n)
	}
}

func allocated(fn func()) uint64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	fn()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}
