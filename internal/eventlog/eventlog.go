// Package eventlog is a bounded, append-only log of rare events (state
// changes) for the client-stack packages: the first Cap events are kept and
// later ones are only counted, so memory stays bounded however long a run is
// and what was lost is reported, never hidden.
//
// Appending takes a short mutex and allocates only while the backing slice
// grows (at most Cap entries); callers append on state changes, never per
// call.
package eventlog

import "sync"

// DefaultCap is the number of events kept when New is given a cap ≤ 0.
const DefaultCap = 10000

// Log keeps at most Cap events of type T. The zero Log is not usable; make
// one with New. It is safe for concurrent use.
type Log[T any] struct {
	mu      sync.Mutex
	cap     int
	events  []T
	dropped int64
}

// New returns an empty log keeping at most capacity events (DefaultCap when
// capacity ≤ 0).
func New[T any](capacity int) *Log[T] {
	if capacity <= 0 {
		capacity = DefaultCap
	}
	return &Log[T]{cap: capacity}
}

// Add appends e, or counts it as dropped when the log is full.
func (l *Log[T]) Add(e T) {
	l.mu.Lock()
	if len(l.events) < l.cap {
		l.events = append(l.events, e)
	} else {
		l.dropped++
	}
	l.mu.Unlock()
}

// Snapshot returns a copy of the kept events, oldest first, and the number
// of events dropped because the log was full.
func (l *Log[T]) Snapshot() ([]T, int64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]T(nil), l.events...), l.dropped
}

// Cap returns the most events the log keeps.
func (l *Log[T]) Cap() int { return l.cap }
