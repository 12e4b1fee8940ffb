package results_test

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"

	"github.com/grpcbench/grpcbench/results"
)

// buckets returns the populated buckets of h as value→count.
func buckets(h *results.Histogram) map[time.Duration]int64 {
	m := map[time.Duration]int64{}
	for v, n := range h.Buckets {
		m[v] += n
	}
	return m
}

func sameBuckets(t *testing.T, what string, got, want *results.Histogram) {
	t.Helper()
	if got.Count() != want.Count() {
		t.Fatalf("%s: count %d, want %d", what, got.Count(), want.Count())
	}
	g, w := buckets(got), buckets(want)
	if len(g) != len(w) {
		t.Fatalf("%s: %d buckets, want %d", what, len(g), len(w))
	}
	for v, n := range w {
		if g[v] != n {
			t.Fatalf("%s: bucket %v has %d, want %d", what, v, g[v], n)
		}
	}
	if got.Clamped() != want.Clamped() {
		t.Fatalf("%s: clamped %d, want %d", what, got.Clamped(), want.Clamped())
	}
}

func randomDurations(seed uint64, n int) []time.Duration {
	r := rand.New(rand.NewPCG(seed, 1))
	out := make([]time.Duration, n)
	for i := range out {
		// Log-uniform from 10 µs to ~10 s, with a few out of range.
		switch r.IntN(200) {
		case 0:
			out[i] = -time.Duration(r.IntN(1000))
		case 1:
			out[i] = 61*time.Second + time.Duration(r.IntN(1e9))
		default:
			out[i] = time.Duration(10e3 * math.Pow(10, r.Float64()*6))
		}
	}
	return out
}

func TestHistogramRecordClamp(t *testing.T) {
	tests := []struct {
		name        string
		in          []time.Duration
		wantCount   int64
		wantClamped int64
		wantMax     time.Duration
		wantMin     time.Duration
	}{
		{"empty", nil, 0, 0, 0, 0},
		{"one microsecond", []time.Duration{time.Microsecond}, 1, 0, time.Microsecond, time.Microsecond},
		{"sub-microsecond truncates to 0", []time.Duration{500 * time.Nanosecond}, 1, 0, 0, 0},
		{"negative clamps to 0", []time.Duration{-time.Second}, 1, 1, 0, 0},
		{"exactly 60s", []time.Duration{60 * time.Second}, 1, 0, 60 * time.Second, 60 * time.Second},
		{"above 60s clamps", []time.Duration{time.Hour, 61 * time.Second}, 2, 2, 60 * time.Second, 60 * time.Second},
		{"max duration clamps", []time.Duration{time.Duration(1<<63 - 1)}, 1, 1, 60 * time.Second, 60 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var h results.Histogram // the zero value is ready to use
			for _, d := range tt.in {
				h.Record(d)
			}
			if h.Count() != tt.wantCount || h.Clamped() != tt.wantClamped {
				t.Fatalf("count, clamped = %d, %d; want %d, %d", h.Count(), h.Clamped(), tt.wantCount, tt.wantClamped)
			}
			// Max is the highest equivalent value: within 0.1 % above.
			if got := h.Max(); got < tt.wantMax || float64(got) > float64(tt.wantMax)*1.001+float64(time.Microsecond) {
				t.Fatalf("max = %v, want ≈%v", got, tt.wantMax)
			}
			if got := h.Min(); got > tt.wantMin || float64(got) < float64(tt.wantMin)*0.999 {
				t.Fatalf("min = %v, want ≈%v", got, tt.wantMin)
			}
		})
	}
}

func TestHistogramNilAndEmptyReads(t *testing.T) {
	for _, h := range []*results.Histogram{nil, {}, results.NewHistogram()} {
		if h.Count() != 0 || h.Clamped() != 0 || h.Quantile(0.99) != 0 || h.Mean() != 0 || h.Max() != 0 || h.Min() != 0 {
			t.Fatalf("%#v: non-zero read on empty histogram", h)
		}
		for range h.Buckets {
			t.Fatal("empty histogram has a bucket")
		}
		if h.Dense().TotalCount() != 0 {
			t.Fatal("dense copy of empty histogram is not empty")
		}
		enc, err := h.Encode()
		if err != nil {
			t.Fatal(err)
		}
		d, err := hdrhistogram.Decode([]byte(enc))
		if err != nil || d.TotalCount() != 0 {
			t.Fatalf("decode empty: %v, %v", d, err)
		}
		if h.Clone().Count() != 0 {
			t.Fatal("clone of empty not empty")
		}
	}
	var h results.Histogram
	if h.Merge(nil) != 0 || h.Count() != 0 {
		t.Fatal("merging nil changed the histogram")
	}
}

// The encoding is standard V2: hdrhistogram-go's own dense decoder reads the
// same counts, and the dense encoder produces the same bytes.
func TestHistogramV2Interop(t *testing.T) {
	vals := randomDurations(7, 20000)
	h := results.NewHistogram()
	ref := hdrhistogram.New(results.HistogramMin, results.HistogramMax, results.HistogramDigits)
	for _, d := range vals {
		h.Record(d)
		v := d.Microseconds()
		v = min(max(v, 0), results.HistogramMax)
		if err := ref.RecordValue(v); err != nil {
			t.Fatal(err)
		}
	}
	enc, err := h.Encode()
	if err != nil {
		t.Fatal(err)
	}
	refEnc, err := ref.Encode(hdrhistogram.V2CompressedEncodingCookieBase)
	if err != nil {
		t.Fatal(err)
	}
	if enc != string(refEnc) {
		t.Error("encoding differs from hdrhistogram-go's dense V2 compressed encoding")
	}
	dec, err := hdrhistogram.Decode([]byte(enc))
	if err != nil {
		t.Fatalf("hdrhistogram.Decode: %v", err)
	}
	if !dec.Equals(ref) {
		t.Fatal("decoded histogram differs from the reference")
	}
	if dec.TotalCount() != int64(len(vals)) {
		t.Fatalf("decoded count %d, want %d", dec.TotalCount(), len(vals))
	}
	for _, q := range []float64{0, 0.5, 0.9, 0.99, 0.999, 1} {
		if got, want := h.Quantile(q), time.Duration(ref.ValueAtQuantile(q*100))*time.Microsecond; got != want {
			t.Errorf("Quantile(%v) = %v, reference %v", q, got, want)
		}
	}
	if got, want := h.Max(), time.Duration(ref.Max())*time.Microsecond; got != want {
		t.Errorf("Max = %v, reference %v", got, want)
	}
	if !h.Dense().Equals(ref) {
		t.Error("Dense() differs from reference")
	}
}

func TestHistogramQuantileArgument(t *testing.T) {
	h := results.NewHistogram()
	for i := 1; i <= 100; i++ {
		h.Record(time.Duration(i) * time.Millisecond)
	}
	tests := []struct {
		q    float64
		want time.Duration
	}{
		{-1, time.Millisecond}, {0, time.Millisecond}, {0.5, 50 * time.Millisecond},
		{0.99, 99 * time.Millisecond}, {1, 100 * time.Millisecond}, {7, 100 * time.Millisecond},
	}
	for _, tt := range tests {
		got := h.Quantile(tt.q)
		// 3 significant digits: within 0.1 % (highest equivalent value).
		if got < tt.want || float64(got) > float64(tt.want)*1.001 {
			t.Errorf("Quantile(%v) = %v, want ≈%v", tt.q, got, tt.want)
		}
	}
	if qs := h.Quantiles(0.5, 1); len(qs) != 2 || qs[0] != h.Quantile(0.5) || qs[1] != h.Quantile(1) {
		t.Errorf("Quantiles = %v", qs)
	}
	if m := h.Mean(); m < 50*time.Millisecond || m > 51*time.Millisecond {
		t.Errorf("Mean = %v, want ≈50.5ms", m)
	}
}

func TestHistogramMergeEqualsSingle(t *testing.T) {
	vals := randomDurations(3, 10000)
	all := results.NewHistogram()
	parts := []*results.Histogram{results.NewHistogram(), {}, results.NewHistogram()}
	for i, d := range vals {
		all.Record(d)
		parts[i%len(parts)].Record(d)
	}
	var merged results.Histogram
	for _, p := range parts {
		if dropped := merged.Merge(p); dropped != 0 {
			t.Fatalf("dropped %d", dropped)
		}
	}
	sameBuckets(t, "merged", &merged, all)
}

func TestHistogramJSON(t *testing.T) {
	h := results.NewHistogram()
	for _, d := range randomDurations(11, 5000) {
		h.Record(d)
	}
	b, err := json.Marshal(h)
	if err != nil {
		t.Fatal(err)
	}
	var summary map[string]any
	if err := json.Unmarshal(b, &summary); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"count", "min_us", "mean_us", "p50_us", "p90_us", "p99_us", "p999_us", "max_us", "clamped", "hdr"} {
		if _, ok := summary[k]; !ok {
			t.Errorf("JSON lacks %q: %s", k, b)
		}
	}
	if got := summary["p99_us"].(float64); time.Duration(got)*time.Microsecond != h.Quantile(0.99) {
		t.Errorf("p99_us = %v, want %v", got, h.Quantile(0.99))
	}
	// The summary is ignored on decode: tampering with it changes nothing.
	summary["p99_us"], summary["count"] = 1, 3
	b2, _ := json.Marshal(summary)
	var back results.Histogram
	if err := json.Unmarshal(b2, &back); err != nil {
		t.Fatal(err)
	}
	sameBuckets(t, "decoded", &back, h)

	bad := []struct{ name, in, want string }{
		{"no hdr", `{"count":1}`, "missing"},
		{"not base64", `{"hdr":"***"}`, "decode histogram"},
		{"not an object", `[1]`, "histogram"},
		{"negative clamped", `{"hdr":` + string(mustJSON(t, summary["hdr"])) + `,"clamped":-1}`, "negative"},
	}
	for _, tt := range bad {
		var h results.Histogram
		err := json.Unmarshal([]byte(tt.in), &h)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: err = %v, want containing %q", tt.name, err, tt.want)
		}
	}
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// A foreign histogram with a wider range merges into ours with the excess
// clamped and counted, not lost.
func TestHistogramMergeForeignGeometry(t *testing.T) {
	wide := hdrhistogram.New(1, 3_600_000_000, 3) // up to one hour
	_ = wide.RecordValue(10)
	_ = wide.RecordValue(2_000_000_000)
	enc, err := wide.Encode(hdrhistogram.V2CompressedEncodingCookieBase)
	if err != nil {
		t.Fatal(err)
	}
	foreign, err := results.DecodeHistogram(string(enc))
	if err != nil {
		t.Fatal(err)
	}
	h := results.NewHistogram()
	if dropped := h.Merge(foreign); dropped != 1 {
		t.Fatalf("dropped = %d, want 1", dropped)
	}
	if h.Count() != 2 || h.Clamped() != 1 || h.Max() < 60*time.Second {
		t.Fatalf("count %d clamped %d max %v; want 2, 1, 60s", h.Count(), h.Clamped(), h.Max())
	}
}
