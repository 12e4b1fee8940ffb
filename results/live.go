package results

import (
	"math/bits"
	"sync/atomic"
	"time"
)

// Live histogram geometry: log-linear buckets over microseconds with
// liveSub sub-buckets per power of two (precision ≈ 12 %), values below
// liveSub each in their own bucket.
const (
	liveSubBits = 3
	liveSub     = 1 << liveSubBits
	// liveBuckets is the number of buckets of a LiveSnapshot; they cover
	// 0 µs up to 2^26 µs (67 s), beyond HistogramMax.
	liveBuckets = liveSub + (26-liveSubBits)*liveSub
)

// liveCounters are one shard's cumulative counters, written by the owning
// worker with atomic adds and read by Live from any goroutine.
type liveCounters struct {
	_       [64]byte // keep off the cache line of neighbouring allocations
	calls   atomic.Int64
	errors  atomic.Int64
	buckets [liveBuckets]atomic.Int64
}

// liveBucket maps a value in microseconds to its bucket.
func liveBucket(v int64) int {
	if v < liveSub {
		if v < 0 {
			return 0
		}
		return int(v)
	}
	e := bits.Len64(uint64(v)) - 1 // e ≥ liveSubBits
	sub := int(v>>(e-liveSubBits)) & (liveSub - 1)
	return min(liveSub+(e-liveSubBits)*liveSub+sub, liveBuckets-1)
}

// liveBucketUpper returns the largest value (µs) that maps to bucket b.
func liveBucketUpper(b int) int64 {
	if b < liveSub {
		return int64(b)
	}
	e := (b-liveSub)/liveSub + liveSubBits
	sub := int64((b - liveSub) % liveSub)
	if e >= 62 {
		return 1<<62 - 1
	}
	return ((liveSub+sub+1)<<(e-liveSubBits) - 1)
}

func (l *liveCounters) record(micros int64, isErr bool) {
	l.calls.Add(1)
	if isErr {
		l.errors.Add(1)
	}
	l.buckets[liveBucket(micros)].Add(1)
}

// LiveSnapshot is an approximate, cumulative view of a recorder's calls for
// progress displays. Counts are cumulative since the recorder was created;
// subtract an earlier snapshot ([LiveSnapshot.Sub]) to describe the interval
// between the two, e.g. the p99 of the last second:
//
//	now := rec.Live()
//	p99 := now.Sub(prev).Quantile(0.99)
//	prev = now
//
// Counters are read one by one without stopping the writers, so a snapshot
// can be off by the calls recorded while it was being taken. Latency is kept
// with about 12 % precision.
type LiveSnapshot struct {
	// Calls and Errors count finished calls and those that failed.
	Calls  int64
	Errors int64
	// Buckets is a coarse latency histogram of the same calls.
	Buckets [liveBuckets]int64
}

// Live returns a snapshot of every shard's counters. It is safe to call
// concurrently with recording and does not block the writers.
func (r *Recorder) Live() LiveSnapshot {
	r.mu.Lock()
	shards := r.shards[:len(r.shards):len(r.shards)]
	r.mu.Unlock()
	var s LiveSnapshot
	for _, sh := range shards {
		l := sh.live
		s.Calls += l.calls.Load()
		s.Errors += l.errors.Load()
		for i := range l.buckets {
			s.Buckets[i] += l.buckets[i].Load()
		}
	}
	return s
}

// Sub returns the difference s − prev: the calls recorded between the two
// snapshots.
func (s LiveSnapshot) Sub(prev LiveSnapshot) LiveSnapshot {
	d := LiveSnapshot{Calls: s.Calls - prev.Calls, Errors: s.Errors - prev.Errors}
	for i := range s.Buckets {
		d.Buckets[i] = s.Buckets[i] - prev.Buckets[i]
	}
	return d
}

// Quantile returns the approximate latency at quantile q in [0, 1] (the
// upper bound of the bucket holding it), or 0 when there are no calls.
func (s LiveSnapshot) Quantile(q float64) time.Duration {
	var total int64
	for _, n := range s.Buckets {
		total += n
	}
	if total <= 0 {
		return 0
	}
	q = min(max(q, 0), 1)
	rank := int64(q * float64(total))
	if rank < 1 {
		rank = 1
	}
	var seen int64
	for i, n := range s.Buckets {
		seen += n
		if seen >= rank {
			return micros(liveBucketUpper(i))
		}
	}
	return micros(liveBucketUpper(liveBuckets - 1))
}
