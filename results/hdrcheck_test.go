package results

import (
	"bytes"
	"compress/zlib"
	"encoding/base64"
	"encoding/binary"
	"math"
	"testing"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
)

// TestBucketsOfMatchesLibrary checks bucketsOf against the counts array
// hdrhistogram-go allocates for the same geometry.
func TestBucketsOfMatchesLibrary(t *testing.T) {
	for _, g := range []struct {
		lowest, highest int64
		digits          int
	}{
		{1, HistogramMax, 3}, {1, HistogramMax, 2}, {1, 3_600_000_000, 3}, {1, 2, 1},
		{1000, 1_000_000_000, 2}, {7, 1 << 40, 4}, {1, 3_600_000_000, 5}, {1, math.MaxInt64 / 4, 1},
	} {
		n, ok := bucketsOf(g.lowest, g.highest, g.digits)
		want := len(hdrhistogram.New(g.lowest, g.highest, g.digits).Export().Counts)
		if !ok || n != int64(want) {
			t.Errorf("bucketsOf(%d, %d, %d) = %d, %v; hdrhistogram-go has %d", g.lowest, g.highest, g.digits, n, ok, want)
		}
	}
	if _, ok := bucketsOf(1<<60, math.MaxInt64, 5); ok {
		t.Error("unrepresentable geometry accepted")
	}
}

// TestCheckHDRAcceptsOurs checks that every histogram grpcbench writes
// passes the header check, full or not, with its true payload length.
func TestCheckHDRAcceptsOurs(t *testing.T) {
	for _, digits := range []int{SeriesDigits, HistogramDigits} {
		h := newHistogramDigits(digits)
		for i := range 20000 {
			h.Record(time.Duration(i*i%60_000_000) * time.Microsecond)
		}
		h.Record(time.Hour) // clamped to the top
		s, err := h.Encode()
		if err != nil {
			t.Fatal(err)
		}
		for _, full := range []bool{false, true} {
			n, err := checkHDR(s, full)
			if err != nil || n <= 0 || n > maxHistogramPayload {
				t.Fatalf("digits %d full %v: payload %d, %v", digits, full, n, err)
			}
		}
	}
}

// encodeRaw builds a V2 compressed encoding around an arbitrary payload.
func encodeRaw(digits int32, lowest, highest int64, payload []byte) string {
	inner := make([]byte, 40, 40+len(payload))
	binary.BigEndian.PutUint32(inner[0:], uint32(hdrhistogram.V2EncodingCookieBase|0x10))
	binary.BigEndian.PutUint32(inner[4:], uint32(len(payload)))
	binary.BigEndian.PutUint32(inner[12:], uint32(digits))
	binary.BigEndian.PutUint64(inner[16:], uint64(lowest))
	binary.BigEndian.PutUint64(inner[24:], uint64(highest))
	binary.BigEndian.PutUint64(inner[32:], math.Float64bits(1))
	var zb bytes.Buffer
	w := zlib.NewWriter(&zb)
	_, _ = w.Write(append(inner, payload...))
	_ = w.Close()
	out := binary.BigEndian.AppendUint32(nil, uint32(hdrhistogram.V2CompressedEncodingCookieBase|0x10))
	out = binary.BigEndian.AppendUint32(out, uint32(zb.Len()))
	return base64.StdEncoding.EncodeToString(append(out, zb.Bytes()...))
}

// withCompressedLength returns the encoding s with its outer compressed
// length replaced by n.
func withCompressedLength(s string, n uint32) string {
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil || len(b) < 8 {
		panic("not an encoding")
	}
	binary.BigEndian.PutUint32(b[4:], n)
	return base64.StdEncoding.EncodeToString(b)
}

// FuzzDecodeHistogram feeds arbitrary strings to DecodeHistogram: it must
// never panic or accept more than its bounds, whatever decodes re-encodes
// to the same buckets, and the full header check accepts whatever decodes.
func FuzzDecodeHistogram(f *testing.F) {
	h := NewHistogram()
	for i := range 500 {
		h.Record(time.Duration(i*37) * time.Microsecond)
	}
	ours, _ := h.Encode()
	f.Add(ours)
	wide := hdrhistogram.New(1, 3_600_000_000, 3)
	_ = wide.RecordValue(2_000_000_000)
	enc, _ := wide.Encode(hdrhistogram.V2CompressedEncodingCookieBase)
	f.Add(string(enc))
	f.Add(encodeRaw(3, 1, HistogramMax, []byte{2, 2, 0x7f, 4}))               // zero-run and counts
	f.Add(encodeRaw(5, 1, math.MaxInt64/2, bytes.Repeat([]byte{2}, 4096)))    // geometry too large
	f.Add(encodeRaw(3, 1, HistogramMax, bytes.Repeat([]byte{0xff}, 9)))       // a huge count
	f.Add(encodeRaw(3, 1, HistogramMax, []byte{1}))                           // a zero-run of 1 (negative count)
	f.Add(encodeRaw(3, 1, HistogramMax, append([]byte{0xfd, 0xff, 0x03}, 2))) // zero-run past the end
	f.Add(encodeRaw(9, 1, HistogramMax, nil))                                 // digits out of range
	f.Add(encodeRaw(3, -5, -1, []byte{2}))                                    // negative geometry
	f.Add(ours[:len(ours)/2])                                                 // truncated
	f.Add(withCompressedLength(ours, 1<<30))                                  // claims 1 GB
	f.Add("")
	f.Add("HISTFAAAAB") // a V1/uncompressed-looking prefix
	f.Fuzz(func(t *testing.T, s string) {
		h, err := DecodeHistogram(s)
		if err != nil {
			return
		}
		n, cerr := checkHDR(s, true)
		if cerr != nil || n > maxHistogramPayload {
			t.Fatalf("decoded, but the full check says %d, %v", n, cerr)
		}
		if h.h.TotalCount() < 0 {
			t.Fatalf("negative total %d", h.h.TotalCount())
		}
		again, err := h.Encode()
		if err != nil {
			t.Fatalf("re-encode: %v", err)
		}
		back, err := DecodeHistogram(again)
		if err != nil {
			t.Fatalf("re-encoded histogram does not decode: %v", err)
		}
		if back.Count() != h.Count() {
			t.Fatalf("count %d after a round trip, want %d", back.Count(), h.Count())
		}
	})
}
