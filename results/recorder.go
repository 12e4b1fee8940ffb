package results

import (
	"slices"
	"sort"
	"sync"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
	"google.golang.org/grpc/codes"

	"github.com/grpcbench/grpcbench/internal/statuscode"
)

// maxSeriesSeconds bounds the time series: calls recorded at or after this
// offset are attributed to its last second.
const maxSeriesSeconds = 24 * 60 * 60

// maxAttemptsTracked is the last index of Retry.AttemptsPerCall produced by a
// Recorder: calls with more attempts are counted there.
const maxAttemptsTracked = 16

// numCodes is the number of standard gRPC status codes (OK..UNAUTHENTICATED).
const numCodes = int(codes.Unauthenticated) + 1

// Recorder collects the measurements of one cell from many workers without a
// shared lock on the hot path: each worker records into its own [Shard], and
// [Recorder.Cell] merges the shards when the workers have stopped.
//
// Shard and Live may be called concurrently with each other and with
// recording; Cell must be called only after every Shard has stopped being
// used.
type Recorder struct {
	methods []string
	start   time.Time

	mu     sync.Mutex
	shards []*Shard

	// The series: a shard hands each second it has finished to the
	// recorder (once per second, never per call), and seconds more than
	// sealLag behind the newest are reduced to their summary and encoded
	// histogram, so memory does not grow with workers × seconds.
	smu    sync.Mutex
	sealed []sealedSecond
	open   []int // indexes of sealed seconds still held as histograms
	newest int
}

// sealLag is how many seconds behind the newest sealed second a second
// stays open as a histogram; older seconds are finalized (a late shard's
// data is still merged into them, by decoding).
const sealLag = 2

// sealedSecond is one second of the series gathered from the shards: a
// histogram while open, a summary with its encoding once finalized.
type sealedSecond struct {
	calls, errors int64
	h             *Histogram // nil when finalized or empty
	done          Second     // the summary, when finalized
	final         bool
}

// NewRecorder returns a Recorder for the given methods, named in full
// without the leading slash ("grpcbench.user.v1.UserService/GetUser"): they
// become the keys of Cell.Methods. A Shard's method argument is an index
// into methods. start is the start of the
// recorded phase; it becomes Cell.Start, and the at offsets passed to
// [Shard.Call] are relative to it.
func NewRecorder(methods []string, start time.Time) *Recorder {
	return &Recorder{methods: slices.Clone(methods), start: start}
}

// Shard returns a new shard for one worker. Call it once per worker, not per
// call: a shard holds that worker's histograms until Cell merges them.
func (r *Recorder) Shard() *Shard {
	s := &Shard{methods: make([]shardMethod, len(r.methods)), live: new(liveCounters), r: r, cur: -1}
	r.mu.Lock()
	r.shards = append(r.shards, s)
	r.mu.Unlock()
	return s
}

// Shard records the measurements of one worker. It is not safe for
// concurrent use: exactly one goroutine owns it. Recording allocates nothing
// per value (a histogram bucket, a second of the series or a peer address
// seen for the first time allocate once).
//
// Method arguments are indexes into the Recorder's methods; an index out of
// range panics.
type Shard struct {
	methods []shardMethod
	r       *Recorder
	// cur is the second being recorded (-1: none yet) and curSec its data;
	// completion offsets of one worker only move forward, so a second is
	// finished when a call lands in a later one.
	cur     int
	curSec  second
	lateSec second
	// attempts[n] counts calls that made n attempts (last: n or more).
	attempts      [maxAttemptsTracked + 1]int64
	extraAttempts int64 // attempts beyond maxAttemptsTracked in tail calls
	maxLag        time.Duration
	bytesSent     int64
	bytesRecv     int64
	peers         map[string]int64
	live          *liveCounters
}

type shardMethod struct {
	calls, errors int64
	codes         [numCodes]int64
	otherCodes    map[codes.Code]int64
	latency       Histogram
	ok            Histogram // latency of calls that ended OK
	service       Histogram
	attempt       Histogram
	ttfm          Histogram
	rtt           Histogram
}

// second aggregates one second of one shard's series.
type second struct {
	calls, errors int64
	h             *hdrhistogram.PackedHistogram
}

// Call records one finished call of method with its final status code, its
// latency (completion − intended start), its service time (completion −
// actual send) and at, the offset from the recorder's start that places it in
// the one-second series (normally its completion time). The latency goes
// into MethodStats.Latency and, when code is OK, into MethodStats.OK too.
func (s *Shard) Call(method int, code codes.Code, latency, service, at time.Duration) {
	m := &s.methods[method]
	m.calls++
	isErr := code != codes.OK
	if isErr {
		m.errors++
	}
	if int(code) < numCodes {
		m.codes[code]++
	} else {
		if m.otherCodes == nil {
			m.otherCodes = make(map[codes.Code]int64)
		}
		m.otherCodes[code]++
	}
	m.latency.Record(latency)
	if !isErr {
		m.ok.Record(latency)
	}
	m.service.Record(service)

	sec := 0
	if at > 0 {
		sec = int(at / time.Second)
		if sec >= maxSeriesSeconds {
			sec = maxSeriesSeconds - 1
		}
	}
	switch {
	case s.cur < 0:
		s.cur = sec
	case sec > s.cur:
		s.seal()
		s.cur = sec
	}
	sc := &s.curSec
	if sec < s.cur {
		// An offset before the current second (a worker's completions
		// normally only move forward): hand it to the recorder directly,
		// through a reused scratch second.
		sc = &s.lateSec
	}
	sc.calls++
	if isErr {
		sc.errors++
	}
	if sc.h == nil {
		sc.h = hdrhistogram.NewPacked(histogramMin, histogramMax, seriesDigits)
	}
	v, _ := clampMicros(latency, histogramMax)
	_ = sc.h.RecordValue(v) // in range: cannot fail
	if sc == &s.lateSec {
		s.r.addSecond(sec, sc)
		sc.calls, sc.errors = 0, 0
		sc.h.Reset()
	}

	s.live.record(v, isErr)
}

// seal hands the finished current second to the recorder and resets it
// for reuse.
func (s *Shard) seal() {
	if s.curSec.calls == 0 {
		return
	}
	s.r.addSecond(s.cur, &s.curSec)
	s.curSec.calls, s.curSec.errors = 0, 0
	s.curSec.h.Reset()
}

// addSecond merges one shard's second t into the series and finalizes
// seconds that fell sealLag behind the newest.
func (r *Recorder) addSecond(t int, sc *second) {
	r.smu.Lock()
	defer r.smu.Unlock()
	for len(r.sealed) <= t {
		r.sealed = append(r.sealed, sealedSecond{})
	}
	acc := &r.sealed[t]
	acc.calls += sc.calls
	acc.errors += sc.errors
	switch {
	case acc.final:
		// A late shard: reopen the finalized second by decoding it; it is
		// finalized again when the series moves on.
		h, err := decodeHistogram(acc.done.HDR)
		if err != nil {
			h = &Histogram{digits: seriesDigits}
		}
		h.Merge(&Histogram{h: sc.h, digits: seriesDigits})
		acc.h, acc.final = h, false
		r.open = append(r.open, t)
	case acc.h == nil:
		acc.h = &Histogram{h: sc.h.Clone(), digits: seriesDigits}
		r.open = append(r.open, t)
	default:
		acc.h.Merge(&Histogram{h: sc.h, digits: seriesDigits})
	}
	if t > r.newest {
		r.newest = t
		keep := r.open[:0]
		for _, i := range r.open {
			if i < t-sealLag {
				finalize(i, &r.sealed[i])
			} else {
				keep = append(keep, i)
			}
		}
		r.open = keep
	}
}

// finalize reduces an open second to its summary and encoding.
func finalize(t int, acc *sealedSecond) {
	acc.done = Second{T: t, Calls: acc.calls, Errors: acc.errors}
	if acc.h != nil && acc.h.Count() > 0 {
		fillSecond(&acc.done, acc.h)
	}
	acc.h, acc.final = nil, true
}

// Attempt records the latency of one attempt of a call of method.
func (s *Shard) Attempt(method int, d time.Duration) { s.methods[method].attempt.Record(d) }

// TTFM records the time to the first response message of a stream.
func (s *Shard) TTFM(method int, d time.Duration) { s.methods[method].ttfm.Record(d) }

// MessageRTT records the round trip of one request/response pair of a bidi
// stream.
func (s *Shard) MessageRTT(method int, d time.Duration) { s.methods[method].rtt.Record(d) }

// CallAttempts records that one logical call made n attempts (0 when it was
// rejected before its first attempt). It feeds Retry.Calls, Attempts,
// Retried and AttemptsPerCall.
func (s *Shard) CallAttempts(n int) {
	if n < 0 {
		n = 0
	}
	if n > maxAttemptsTracked {
		// The tail bucket; Retry.Attempts still counts them exactly.
		s.attempts[maxAttemptsTracked]++
		s.extraAttempts += int64(n - maxAttemptsTracked)
		return
	}
	s.attempts[n]++
}

// Lag records the delay between a call's intended start and its actual send.
// Only the maximum is kept (Load.MaxLag).
func (s *Shard) Lag(d time.Duration) {
	if d > s.maxLag {
		s.maxLag = d
	}
}

// Bytes adds payload bytes sent and received.
func (s *Shard) Bytes(sent, received int64) {
	s.bytesSent += sent
	s.bytesRecv += received
}

// Peer counts one attempt that landed on the backend at addr (from the
// call's peer); it feeds Backend.ClientCalls.
func (s *Shard) Peer(addr string) {
	if s.peers == nil {
		s.peers = make(map[string]int64)
	}
	s.peers[addr]++
}

// Cell merges every shard into a new Cell with Start, Methods, All, Load
// (Completed, MaxLag), Retry (Calls, Attempts, Retried,
// AttemptsPerCall, when CallAttempts was used), Backends (ClientCalls),
// BytesSent, BytesReceived and Series filled. The caller fills the rest (ID,
// Params, Duration, the remaining Load fields, Breaker, Pool, server-side
// Backend counters, Faults) from the runner and the client stack.
//
// Cell must be called after every shard's worker has stopped. It does not
// modify the shards, so it may be called again.
func (r *Recorder) Cell() *Cell {
	r.mu.Lock()
	shards := slices.Clone(r.shards)
	r.mu.Unlock()

	c := &Cell{Start: r.start}
	peers := map[string]int64{}
	var attempts [maxAttemptsTracked + 1]int64
	var extraAttempts int64
	for _, s := range shards {
		c.BytesSent += s.bytesSent
		c.BytesReceived += s.bytesRecv
		c.Load.MaxLag = max(c.Load.MaxLag, s.maxLag)
		for a, n := range s.peers {
			peers[a] += n
		}
		for i, n := range s.attempts {
			attempts[i] += n
		}
		extraAttempts += s.extraAttempts
	}
	r.fillMethods(c, shards)
	c.Retry = retryCounts(attempts, extraAttempts)
	for a, n := range peers {
		c.Backends = append(c.Backends, Backend{Addr: a, ClientCalls: n})
	}
	sort.Slice(c.Backends, func(i, j int) bool { return c.Backends[i].Addr < c.Backends[j].Addr })

	c.Series = r.series(shards)
	if len(c.Series) == 0 {
		c.Series = nil
	}
	return c
}

// fillMethods merges the shards' per-method statistics into c.Methods (one
// entry per method that recorded anything), c.All and c.Load.Completed.
func (r *Recorder) fillMethods(c *Cell, shards []*Shard) {
	all := &MethodStats{}
	for i, name := range r.methods {
		ms := &MethodStats{}
		used := false
		for _, s := range shards {
			m := &s.methods[i]
			if m.calls == 0 && m.attempt.Count() == 0 && m.ttfm.Count() == 0 && m.rtt.Count() == 0 {
				continue
			}
			used = true
			ms.Calls += m.calls
			ms.Errors += m.errors
			for code, n := range m.codes {
				if n > 0 {
					addCode(ms, codes.Code(code), n)
				}
			}
			for code, n := range m.otherCodes {
				addCode(ms, code, n)
			}
			ms.Latency = mergeUsed(ms.Latency, &m.latency)
			ms.OK = mergeUsed(ms.OK, &m.ok)
			ms.Service = mergeUsed(ms.Service, &m.service)
			ms.Attempt = mergeUsed(ms.Attempt, &m.attempt)
			ms.TTFM = mergeUsed(ms.TTFM, &m.ttfm)
			ms.MessageRTT = mergeUsed(ms.MessageRTT, &m.rtt)
		}
		if !used {
			continue
		}
		if c.Methods == nil {
			c.Methods = make(map[string]*MethodStats)
		}
		c.Methods[name] = ms
		mergeMethodStats(all, ms)
	}
	if c.Methods != nil {
		c.All = all
	}
	c.Load.Completed = all.Calls
}

// retryCounts turns the calls counted per number of attempts into the
// retry counters (all zero when CallAttempts was never used).
func retryCounts(attempts [maxAttemptsTracked + 1]int64, extraAttempts int64) Retry {
	var r Retry
	var tracked int64
	for n, k := range attempts {
		tracked += k
		r.Attempts += int64(n) * k
		if n > 1 {
			r.Retried += k
		}
	}
	if tracked == 0 {
		return Retry{}
	}
	r.Calls = tracked
	r.Attempts += extraAttempts
	last := len(attempts)
	for last > 0 && attempts[last-1] == 0 {
		last--
	}
	r.AttemptsPerCall = slices.Clone(attempts[:last])
	return r
}

// series builds the one-second series from the sealed seconds and each
// shard's current, unsealed one. It changes neither, so Cell may be called
// again.
func (r *Recorder) series(shards []*Shard) []Second {
	r.smu.Lock()
	n := len(r.sealed)
	type open struct {
		calls, errors int64
		h             *Histogram
		done          *Second
	}
	secs := make([]open, n)
	for t := range r.sealed {
		acc := &r.sealed[t]
		o := open{calls: acc.calls, errors: acc.errors}
		switch {
		case acc.final:
			d := acc.done
			o.done = &d
		case acc.h != nil:
			o.h = acc.h.Clone()
		}
		secs[t] = o
	}
	r.smu.Unlock()
	for _, s := range shards {
		if s.cur < 0 || s.curSec.calls == 0 {
			continue
		}
		for len(secs) <= s.cur {
			secs = append(secs, open{})
		}
		o := &secs[s.cur]
		if o.done != nil { // merge into a finalized second: decode it
			h, err := decodeHistogram(o.done.HDR)
			if err != nil {
				h = &Histogram{digits: seriesDigits}
			}
			o.h, o.done = h, nil
		}
		o.calls += s.curSec.calls
		o.errors += s.curSec.errors
		if o.h == nil {
			o.h = &Histogram{h: s.curSec.h.Clone(), digits: seriesDigits}
		} else {
			o.h.Merge(&Histogram{h: s.curSec.h, digits: seriesDigits})
		}
	}
	out := make([]Second, len(secs))
	for t, o := range secs {
		if o.done != nil {
			out[t] = *o.done
			continue
		}
		out[t] = Second{T: t, Calls: o.calls, Errors: o.errors}
		if o.h != nil && o.h.Count() > 0 {
			fillSecond(&out[t], o.h)
		}
	}
	return out
}

// fillSecond sets the percentile fields and HDR of sec from h.
func fillSecond(sec *Second, h *Histogram) {
	sec.P50 = h.Quantile(0.50)
	sec.P99 = h.Quantile(0.99)
	sec.Max = h.Max()
	// Encoding a well-formed in-memory histogram cannot fail.
	sec.HDR, _ = h.Encode()
}

// mergeUsed merges src into dst when src has values, allocating dst lazily.
func mergeUsed(dst, src *Histogram) *Histogram {
	if src.Count() == 0 && src.Clamped() == 0 {
		return dst
	}
	return mergeHist(dst, src)
}

// addCode adds n calls with code to ms.Codes.
func addCode(ms *MethodStats, code codes.Code, n int64) {
	if ms.Codes == nil {
		ms.Codes = make(map[string]int64)
	}
	ms.Codes[statuscode.Name(code)] += n
}

// mergeMethodStats adds src's counters and histograms to dst.
func mergeMethodStats(dst, src *MethodStats) {
	if src == nil {
		return
	}
	dst.Calls += src.Calls
	dst.Errors += src.Errors
	for k, n := range src.Codes {
		if dst.Codes == nil {
			dst.Codes = make(map[string]int64)
		}
		dst.Codes[k] += n
	}
	dst.Latency = mergeHist(dst.Latency, src.Latency)
	dst.OK = mergeHist(dst.OK, src.OK)
	dst.Service = mergeHist(dst.Service, src.Service)
	dst.Attempt = mergeHist(dst.Attempt, src.Attempt)
	dst.TTFM = mergeHist(dst.TTFM, src.TTFM)
	dst.MessageRTT = mergeHist(dst.MessageRTT, src.MessageRTT)
}
