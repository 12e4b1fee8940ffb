package results

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"

	"github.com/grpcbench/grpcbench/field"
)

// Histogram geometry: values are microseconds from 1 µs to 60 s.
const (
	// HistogramMin is the lowest discernible value, in microseconds.
	HistogramMin = 1
	// HistogramMax is the highest trackable value, in microseconds (60 s).
	// Larger durations are recorded as HistogramMax and counted as clamped.
	HistogramMax = 60_000_000
	// histogramDigits is the number of significant digits of call histograms.
	histogramDigits = 3
	// SeriesDigits is the number of significant digits of the per-second
	// histograms behind Cell.Series.
	SeriesDigits = 2
)

// Histogram is an HdrHistogram of durations, in microseconds, 1 µs to 60 s,
// 3 significant digits. Durations out of range are clamped into it and
// counted (see Clamped), never dropped.
//
// The zero value is an empty histogram ready to use. Every read method is
// safe on a nil *Histogram and reports an empty histogram. A Histogram is not
// safe for concurrent use.
//
// It is backed by hdrhistogram-go's PackedHistogram, which stores only the
// populated buckets; [Histogram.Dense] returns a regular
// *hdrhistogram.Histogram copy for the full hdrhistogram-go API.
type Histogram struct {
	h       *hdrhistogram.PackedHistogram
	clamped int64
	digits  int
}

// NewHistogram returns an empty histogram with the standard geometry.
func NewHistogram() *Histogram {
	return &Histogram{h: hdrhistogram.NewPacked(HistogramMin, HistogramMax, histogramDigits), digits: histogramDigits}
}

func newHistogramDigits(digits int) *Histogram {
	return &Histogram{h: hdrhistogram.NewPacked(HistogramMin, HistogramMax, digits), digits: digits}
}

func (h *Histogram) init() {
	if h.h == nil {
		if h.digits == 0 {
			h.digits = histogramDigits
		}
		h.h = hdrhistogram.NewPacked(HistogramMin, HistogramMax, h.digits)
	}
}

// clampMicros converts d to microseconds clamped to [0, max] and reports
// whether it had to clamp.
func clampMicros(d time.Duration, max int64) (int64, bool) {
	v := int64(d / time.Microsecond)
	switch {
	case v < 0:
		return 0, true
	case v > max:
		return max, true
	}
	return v, false
}

// Record adds one duration. A negative duration is recorded as 0 and a
// duration above 60 s as 60 s; both are counted in Clamped. Record never
// allocates once the value's bucket has been populated.
func (h *Histogram) Record(d time.Duration) {
	h.init()
	v, clamped := clampMicros(d, h.h.HighestTrackableValue())
	if clamped {
		h.clamped++
	}
	// v is within [0, HighestTrackableValue] and n is 1: RecordValue cannot
	// fail short of 2^63 recorded values.
	_ = h.h.RecordValue(v)
}

// Merge adds every value of o to h and returns the number of values h could
// not hold (values beyond h's range when o has a wider geometry, which only a
// foreign decoded histogram can have); those are also counted in Clamped
// rather than lost silently. A nil o is empty.
func (h *Histogram) Merge(o *Histogram) (dropped int64) {
	if o == nil {
		return 0
	}
	h.init()
	h.clamped += o.clamped
	if o.h == nil || o.h.TotalCount() == 0 {
		return 0
	}
	dropped = h.h.Merge(o.h)
	if dropped > 0 {
		// Re-record what did not fit at the top of the range.
		top := h.h.HighestTrackableValue()
		if err := h.h.RecordValues(top, dropped); err == nil {
			h.clamped += dropped
		}
	}
	return dropped
}

// Clone returns an independent copy of h (nil for nil).
func (h *Histogram) Clone() *Histogram {
	if h == nil {
		return nil
	}
	c := &Histogram{clamped: h.clamped, digits: h.digits}
	if h.h != nil {
		c.h = h.h.Clone()
	}
	return c
}

// Count returns the number of recorded values.
func (h *Histogram) Count() int64 {
	if h == nil || h.h == nil {
		return 0
	}
	return h.h.TotalCount()
}

// Clamped returns how many recorded values were out of range and clamped to
// 0 or 60 s.
func (h *Histogram) Clamped() int64 {
	if h == nil {
		return 0
	}
	return h.clamped
}

// Quantile returns the value at quantile q in [0, 1] (0.99 for p99): the
// highest value equivalent (within the histogram's precision) to the
// smallest recorded value that at least a fraction q of values do not
// exceed. q outside [0, 1] is clamped. It returns 0 for an empty histogram.
func (h *Histogram) Quantile(q float64) time.Duration {
	if h.Count() == 0 {
		return 0
	}
	if math.IsNaN(q) || q < 0 {
		q = 0
	}
	if q > 1 {
		q = 1
	}
	// hdrhistogram-go takes a percentile in 0..100.
	return micros(h.h.ValueAtPercentile(q * 100))
}

// Quantiles returns the values at each quantile in qs (each in [0, 1]), in
// the order given.
func (h *Histogram) Quantiles(qs ...float64) []time.Duration {
	out := make([]time.Duration, len(qs))
	for i, q := range qs {
		out[i] = h.Quantile(q)
	}
	return out
}

// Mean returns the approximate mean of the recorded values (0 when empty).
func (h *Histogram) Mean() time.Duration {
	if h.Count() == 0 {
		return 0
	}
	return time.Duration(h.h.Mean() * float64(time.Microsecond))
}

// Min returns the approximate smallest recorded value (0 when empty).
func (h *Histogram) Min() time.Duration {
	if h.Count() == 0 {
		return 0
	}
	return micros(h.h.Min())
}

// Max returns the approximate largest recorded value: the highest value
// equivalent to it within the histogram's precision (0 when empty).
func (h *Histogram) Max() time.Duration {
	if h.Count() == 0 {
		return 0
	}
	return micros(h.h.Max())
}

// Buckets calls fn for every populated bucket in ascending order with the
// bucket's lowest equivalent value and its count, until fn returns false.
// Its signature is an iter.Seq2, so `for v, n := range h.Buckets` works.
func (h *Histogram) Buckets(fn func(value time.Duration, count int64) bool) {
	if h == nil || h.h == nil {
		return
	}
	h.h.ForEachBucket(func(v, c int64) bool { return fn(micros(v), c) })
}

// Dense returns a copy of h as a regular hdrhistogram-go histogram (values
// in microseconds), for APIs only it offers. It returns an empty standard
// histogram for a nil or empty h.
func (h *Histogram) Dense() *hdrhistogram.Histogram {
	if h == nil || h.h == nil {
		return hdrhistogram.New(HistogramMin, HistogramMax, histogramDigits)
	}
	d := hdrhistogram.New(h.h.LowestTrackableValue(), h.h.HighestTrackableValue(), int(h.h.SignificantFigures()))
	h.h.MergeInto(d)
	return d
}

// Encode returns the HdrHistogram V2 compressed base64 encoding of h, which
// any HdrHistogram implementation (hdrhistogram.Decode, Java's
// Histogram.decodeFromCompressedByteBuffer, HistogramLogProcessor) reads.
func (h *Histogram) Encode() (string, error) {
	if h == nil || h.h == nil {
		h = NewHistogram()
	}
	b, err := h.h.Encode()
	if err != nil {
		return "", fmt.Errorf("encode histogram: %w", err)
	}
	return string(b), nil
}

// decodeHistogram decodes an HdrHistogram V2 compressed base64 encoding
// (values in microseconds) into a Histogram. The geometry stored in the
// encoding is kept. The headers are checked before anything is inflated
// (see [checkHDR]): an encoding whose counts would exceed 1 MiB of payload
// or 2^21 buckets is refused, so a few bytes of hostile input cannot make it
// allocate without bound.
func decodeHistogram(s string) (*Histogram, error) {
	if _, err := checkHDR(s, false); err != nil {
		return nil, fmt.Errorf("decode histogram: %w", err)
	}
	p, err := hdrhistogram.DecodePacked([]byte(s))
	if err != nil {
		return nil, fmt.Errorf("decode histogram: %w", err)
	}
	return &Histogram{h: p, digits: int(p.SignificantFigures())}, nil
}

// histogramJSON is the JSON form of a Histogram. Only HDR and Clamped are read
// back; the rest is a summary for people and other tools.
type histogramJSON struct {
	Count   int64   `json:"count"`
	Min     int64   `json:"min_us"`
	Mean    float64 `json:"mean_us"`
	P50     int64   `json:"p50_us"`
	P90     int64   `json:"p90_us"`
	P99     int64   `json:"p99_us"`
	P999    int64   `json:"p999_us"`
	Max     int64   `json:"max_us"`
	Clamped int64   `json:"clamped,omitempty"`
	HDR     string  `json:"hdr"`
}

// MarshalJSON encodes h as an object with a summary in microseconds (count,
// min_us, mean_us, p50_us, p90_us, p99_us, p999_us, max_us), the number of
// clamped values and "hdr", the V2 compressed base64 encoding.
func (h *Histogram) MarshalJSON() ([]byte, error) {
	enc, err := h.Encode()
	if err != nil {
		return nil, err
	}
	j := histogramJSON{
		Count:   h.Count(),
		Min:     h.Min().Microseconds(),
		Mean:    math.Round(float64(h.Mean())/float64(time.Microsecond)*1000) / 1000,
		P50:     h.Quantile(0.50).Microseconds(),
		P90:     h.Quantile(0.90).Microseconds(),
		P99:     h.Quantile(0.99).Microseconds(),
		P999:    h.Quantile(0.999).Microseconds(),
		Max:     h.Max().Microseconds(),
		Clamped: h.Clamped(),
		HDR:     enc,
	}
	return json.Marshal(j)
}

// errNoHDR is returned when a histogram object lacks its encoding.
var errNoHDR = field.Errorf("hdr", `histogram: missing "hdr"`)

// UnmarshalJSON decodes the object written by MarshalJSON. The summary fields
// are ignored: the histogram is rebuilt from "hdr" alone. Errors are
// [*field.Error] values naming the member at fault ("hdr", "clamped").
func (h *Histogram) UnmarshalJSON(b []byte) error {
	var j histogramJSON
	if err := json.Unmarshal(b, &j); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) && te.Field != "" {
			return field.Errorf(te.Field, "%s", typeMessage(te))
		}
		return fmt.Errorf("histogram: %w", err)
	}
	if j.HDR == "" {
		return errNoHDR
	}
	d, err := decodeHistogram(j.HDR)
	if err != nil {
		return field.Errorf("hdr", "%v", err)
	}
	if j.Clamped < 0 {
		return field.Errorf("clamped", "%d is negative", j.Clamped)
	}
	*h = Histogram{h: d.h, digits: d.digits, clamped: j.Clamped}
	return nil
}

// micros converts a microsecond count to a Duration, saturating.
func micros(v int64) time.Duration {
	if v > math.MaxInt64/int64(time.Microsecond) {
		return time.Duration(math.MaxInt64)
	}
	return time.Duration(v) * time.Microsecond
}

// mergeHist returns dst with src added, allocating dst when nil and src is
// not empty-nil.
func mergeHist(dst, src *Histogram) *Histogram {
	if src == nil {
		return dst
	}
	if dst == nil {
		return src.Clone()
	}
	dst.Merge(src)
	return dst
}
