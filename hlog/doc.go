// Package hlog writes a cell's per-second latency as an HdrHistogram
// interval log (.hlog), the format HdrHistogram's own tools read
// (HistogramLogProcessor, HdrHistogramVisualizer, hdrhistogram-go's
// HistogramLogReader).
//
// One file holds one cell: a header (format version, StartTime and BaseTime
// at the cell's recorded-phase start, a comment naming the cell and the
// unit, the legend), then for every second T of the recorded phase an
// untagged interval with all methods' calls and one interval tagged with
// the method's name ("Tag=GetUser,") per method that had calls.
//
// Invariants:
//
//   - Untagged intervals cover the cell without gaps: a second without
//     calls gets an empty interval, up to the cell's duration.
//   - Summed over the file, the untagged counts equal the cell's calls and
//     each tag's counts its method's calls (a second delivered twice by
//     the recorder, for a late call, appears twice with the same start).
//   - Values are microseconds with 2 significant digits (the recorder's
//     series resolution); the Interval_Max column is in seconds, because
//     hdrhistogram-go's writer divides by 10^6. Java's
//     HistogramLogProcessor needs -outputValueUnitRatio 1000 to print
//     milliseconds.
//   - Writing never blocks the recorder: intervals are queued and written
//     by the Writer's own goroutine.
package hlog
