package hlog

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"sync"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"

	"github.com/grpcbench/grpcbench/results"
)

// Writer writes one cell's intervals to an .hlog file. Interval may be
// called from any goroutine (it is a results.Recorder.OnInterval
// subscriber); Close once, after the last interval.
type Writer struct {
	f       *os.File
	bw      *bufio.Writer
	lw      *hdrhistogram.HistogramLogWriter
	methods []string
	startMs int64 // the cell's recorded-phase start, ms since the epoch
	next    int   // the next second without an untagged interval yet

	mu      sync.Mutex
	queue   []results.Interval
	closing bool
	wake    chan struct{}
	done    chan struct{}
	err     error // the writer goroutine's first error
}

// Create creates path and writes the log's header for a cell whose
// recorded phase started at start, with the recorder's methods (in order).
// comment, if not empty, is written as a comment line (no newlines).
func Create(path string, methods []string, start time.Time, comment string) (*Writer, error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("hlog: %w", err)
	}
	w := &Writer{f: f, bw: bufio.NewWriter(f), methods: methods, startMs: start.UnixMilli(),
		wake: make(chan struct{}, 1), done: make(chan struct{})}
	w.lw = hdrhistogram.NewHistogramLogWriter(w.bw)
	// The reader adds BaseTime in whole seconds: keep it whole so that
	// interval timestamps read back exactly.
	base := w.startMs - w.startMs%1000
	w.lw.SetBaseTime(base)
	err = errors.Join(
		w.lw.OutputLogFormatVersion(),
		w.lw.OutputStartTime(w.startMs),
		w.lw.OutputBaseTime(base),
		w.lw.OutputComment("[grpcbench: values in microseconds, Interval_Max in seconds; untagged intervals: all methods, Tag=METHOD: one method]"))
	if comment != "" {
		err = errors.Join(err, w.lw.OutputComment(comment))
	}
	if err = errors.Join(err, w.lw.OutputLegend()); err != nil {
		f.Close()
		return nil, fmt.Errorf("hlog: %s: %w", path, err)
	}
	go w.loop()
	return w, nil
}

// Interval queues one second for writing; it never blocks on I/O.
func (w *Writer) Interval(iv results.Interval) {
	w.mu.Lock()
	w.queue = append(w.queue, iv)
	w.mu.Unlock()
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// loop writes queued intervals until Close.
func (w *Writer) loop() {
	defer close(w.done)
	for range w.wake {
		w.mu.Lock()
		q, closing := w.queue, w.closing
		w.queue = nil
		w.mu.Unlock()
		for _, iv := range q {
			if err := w.write(iv); err != nil && w.err == nil {
				w.err = err
			}
		}
		if closing {
			return
		}
	}
}

// write writes the empty seconds before iv, then iv: all methods untagged,
// then each method with calls under its tag.
func (w *Writer) write(iv results.Interval) error {
	for ; w.next < iv.T; w.next++ {
		if err := w.output(w.next, "", nil); err != nil {
			return err
		}
	}
	all := results.NewHistogram()
	for _, m := range iv.Methods {
		all.Merge(m.Latency)
	}
	if err := w.output(iv.T, "", all); err != nil {
		return err
	}
	w.next = max(w.next, iv.T+1)
	for i, m := range iv.Methods {
		if m.Calls == 0 || i >= len(w.methods) {
			continue
		}
		if err := w.output(iv.T, w.methods[i], m.Latency); err != nil {
			return err
		}
	}
	return nil
}

// output writes one interval of second t.
func (w *Writer) output(t int, tag string, h *results.Histogram) error {
	var d *hdrhistogram.Histogram
	if h == nil {
		d = hdrhistogram.New(results.HistogramMin, results.HistogramMax, results.SeriesDigits)
	} else {
		d = h.Dense()
	}
	d.SetTag(tag)
	d.SetStartTimeMs(w.startMs + int64(t)*1000)
	d.SetEndTimeMs(w.startMs + int64(t+1)*1000)
	if err := w.lw.OutputIntervalHistogram(d); err != nil {
		return fmt.Errorf("hlog: %w", err)
	}
	return nil
}

// Close writes what is queued, empty intervals for the seconds without
// calls up to the cell's duration (rounded up to whole seconds), and
// closes the file. It returns the first error of any write.
func (w *Writer) Close(duration time.Duration) error {
	w.mu.Lock()
	w.closing = true
	w.mu.Unlock()
	select {
	case w.wake <- struct{}{}:
	default:
	}
	<-w.done
	err := w.err
	end := int((duration + time.Second - 1) / time.Second)
	for ; err == nil && w.next < end; w.next++ {
		err = w.output(w.next, "", nil)
	}
	if ferr := w.bw.Flush(); err == nil && ferr != nil {
		err = fmt.Errorf("hlog: %w", ferr)
	}
	if cerr := w.f.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("hlog: %w", cerr)
	}
	return err
}
