package results

import (
	"compress/zlib"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"strings"
	"sync"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
)

// Bounds on one encoded histogram, checked from its headers before its
// counts are inflated.
//
// hdrhistogram-go (v1.4.0) already refuses a payload longer than its
// geometry allows (9 bytes per bucket) and compares every length it reads
// with the bytes present, but it trusts the geometry in the header: with 5
// significant digits over the whole int64 range a histogram has 6.2 million
// buckets, so a 60 KB encoding may inflate to 55 MB of payload and millions
// of populated buckets, and nothing bounds the sum over the hundreds of
// histograms of a results file. Ours stay far below these bounds: the
// standard geometry (1 µs–60 s, 3 digits) has 17,408 buckets and a full
// payload of at most 157 KB.
const (
	// maxHistogramPayload bounds the decompressed counts payload of one
	// histogram. Each populated bucket takes at least one payload byte, so
	// it also bounds the buckets a decoded PackedHistogram holds.
	maxHistogramPayload = 1 << 20
	// maxHistogramBuckets bounds the buckets (counts array length) the
	// geometry of a histogram describes: 2^21 holds 5 significant digits
	// from 1 µs to one hour.
	maxHistogramBuckets = 1 << 21
	// hdrHeaderSize is the size of the inner (decompressed) V2 header.
	hdrHeaderSize = 40
)

// zlibReaders recycles zlib readers (and their 32 KB windows) across
// checkHDR calls.
var zlibReaders sync.Pool

// hdrHeader is what checkHDR reads from an encoded histogram.
type hdrHeader struct {
	payload int   // decompressed counts payload, bytes
	buckets int64 // counts array length of the geometry
	digits  int32
	lowest  int64
	highest int64
}

// checkHDR reads the headers of an HdrHistogram V2 compressed base64
// encoding without building any counts and checks them: the cookies, the
// compressed length against the bytes present, the significant digits
// (0–5), the geometry's bucket count (≤ maxHistogramBuckets) and the
// payload length (≤ maxHistogramPayload). With full, it also inflates the
// whole payload and checks its length and the zlib checksum (the counts
// themselves are not interpreted). It returns the payload length.
//
// Only a few hundred bytes of s are decoded unless full is set; the zlib
// reader is pooled, so checking allocates little.
func checkHDR(s string, full bool) (int, error) {
	b64 := base64.NewDecoder(base64.StdEncoding, strings.NewReader(s))
	var outer [8]byte
	if _, err := io.ReadFull(b64, outer[:]); err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			err = fmt.Errorf("%d characters are too few", len(s))
		}
		return 0, fmt.Errorf("not an HdrHistogram V2 compressed base64 encoding: %w", err)
	}
	if c := int32(binary.BigEndian.Uint32(outer[:4])) &^ 0xf0; c != hdrhistogram.V2CompressedEncodingCookieBase {
		return 0, fmt.Errorf("not an HdrHistogram V2 compressed encoding: cookie %#x", uint32(c))
	}
	clen := int64(int32(binary.BigEndian.Uint32(outer[4:])))
	if avail := int64(base64.StdEncoding.DecodedLen(len(s))) - 8; clen < 0 || clen > avail {
		return 0, fmt.Errorf("compressed length %d does not fit the %d bytes present", clen, max(avail, 0))
	}
	z, err := getZlib(io.LimitReader(b64, clen))
	if err != nil {
		return 0, fmt.Errorf("compressed contents: %w", eofAsTruncated(err))
	}
	defer zlibReaders.Put(z)
	var inner [hdrHeaderSize]byte
	if _, err := io.ReadFull(z, inner[:]); err != nil {
		return 0, fmt.Errorf("header: %w", eofAsTruncated(err))
	}
	h, err := parseHDRHeader(inner[:])
	if err != nil {
		return 0, err
	}
	if !full {
		return h.payload, nil
	}
	if n, err := io.CopyN(io.Discard, z, int64(h.payload)); err != nil {
		return 0, fmt.Errorf("payload: %d of the %d bytes claimed: %w", n, h.payload, eofAsTruncated(err))
	}
	// The stream must end here; reading to EOF verifies the checksum.
	if n, err := io.CopyN(io.Discard, z, 1); n != 0 || err != io.EOF {
		if err == nil || err == io.EOF {
			return 0, fmt.Errorf("payload: longer than the %d bytes claimed", h.payload)
		}
		return 0, fmt.Errorf("payload: %w", err)
	}
	return h.payload, nil
}

// parseHDRHeader checks the 40-byte inner V2 header.
func parseHDRHeader(b []byte) (hdrHeader, error) {
	if c := int32(binary.BigEndian.Uint32(b[0:])) &^ 0xf0; c != hdrhistogram.V2EncodingCookieBase {
		return hdrHeader{}, fmt.Errorf("not an HdrHistogram V2 encoding: inner cookie %#x", uint32(c))
	}
	h := hdrHeader{
		digits:  int32(binary.BigEndian.Uint32(b[12:])),
		lowest:  int64(binary.BigEndian.Uint64(b[16:])),
		highest: int64(binary.BigEndian.Uint64(b[24:])),
	}
	if h.digits < 0 || h.digits > 5 {
		return hdrHeader{}, fmt.Errorf("header claims %d significant digits; 0 to 5 are valid", h.digits)
	}
	buckets, ok := bucketsOf(h.lowest, h.highest, int(h.digits))
	if !ok || buckets > maxHistogramBuckets {
		return hdrHeader{}, fmt.Errorf("header claims a geometry of %d to %d with %d digits: %d buckets, at most %d are accepted",
			h.lowest, h.highest, h.digits, buckets, maxHistogramBuckets)
	}
	h.buckets = buckets
	payload := int32(binary.BigEndian.Uint32(b[4:]))
	if payload < 0 || payload > maxHistogramPayload {
		return hdrHeader{}, fmt.Errorf("header claims %d bytes of counts payload; at most %d are accepted", payload, maxHistogramPayload)
	}
	h.payload = int(payload)
	return h, nil
}

// bucketsOf returns the counts array length of an HdrHistogram geometry,
// computed as hdrhistogram-go does (lowest values below 1 read as 1); ok is
// false when the geometry cannot be represented in 64 bits.
func bucketsOf(lowest, highest int64, digits int) (n int64, ok bool) {
	lowest = max(lowest, 1)
	subMag := max(int(math.Ceil(math.Log2(2*math.Pow10(digits)))), 1) - 1 // log2 of half the sub-buckets
	unitMag := int(math.Floor(math.Log2(float64(lowest))))
	if unitMag+subMag > 61 {
		return 0, false
	}
	subCount := int64(1) << (subMag + 1)
	untrackable := subCount << unitMag
	buckets := int64(1)
	for untrackable <= highest {
		if untrackable > math.MaxInt64/2 {
			buckets++
			break
		}
		untrackable <<= 1
		buckets++
	}
	return (buckets + 1) * (subCount / 2), true
}

// getZlib returns a pooled zlib reader reset to r (a new one when the pool
// is empty).
func getZlib(r io.Reader) (io.ReadCloser, error) {
	if z, ok := zlibReaders.Get().(io.ReadCloser); ok {
		if err := z.(zlib.Resetter).Reset(r, nil); err != nil {
			zlibReaders.Put(z)
			return nil, err
		}
		return z, nil
	}
	return zlib.NewReader(r)
}

// eofAsTruncated turns the end-of-input errors of a short read into a
// message that says the data is truncated.
func eofAsTruncated(err error) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return errors.New("truncated")
	}
	return err
}
