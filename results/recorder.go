package results

import (
	"maps"
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
	// peers counts attempts per backend: the one count behind
	// Backend.ClientCalls, fed by Shard.Peer and by whoever else sees
	// attempts (a stats.Handler on gRPC's goroutines).
	peers *PeerCounter

	// The series: a shard hands each second it has finished to the
	// recorder (once per second, never per call), and seconds more than
	// sealLag behind the newest are reduced to their summary and encoded
	// histogram, so memory does not grow with workers × seconds.
	smu    sync.Mutex
	sealed []sealedSecond
	open   []int // indexes of sealed seconds still held as histograms
	newest int
	// subs receive each second, per method, when it is finalized.
	subs []func(Interval)

	// acc holds each method's histograms gathered from the shards: a shard
	// hands its histograms over with each second it seals and starts new
	// ones, so a worker holds one second's values at most and memory does
	// not grow with workers × the spread a long run reaches.
	accMu       sync.Mutex
	acc         []methodHists
	backendSecs map[int]map[string]int64
	lag         Histogram // the shards' schedule lag, handed over the same way
}

// methodHists are one method's histograms.
type methodHists struct {
	latency, service, ok, attempt, ttfm, rtt Histogram
}

// absorb adds h's values to m and empties h (its memory is released).
func (m *methodHists) absorb(h *methodHists) {
	for _, p := range [...][2]*Histogram{{&m.latency, &h.latency}, {&m.service, &h.service}, {&m.ok, &h.ok},
		{&m.attempt, &h.attempt}, {&m.ttfm, &h.ttfm}, {&m.rtt, &h.rtt}} {
		if p[1].h != nil {
			p[0].Merge(p[1])
			*p[1] = Histogram{}
		}
	}
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
	// detail is the per-method data not yet handed to subscribers (nil
	// without subscribers).
	detail []methodSecond
}

// NewRecorder returns a Recorder for the given method short names; a Shard's
// method argument is an index into methods. start is the start of the
// recorded phase; it becomes Cell.Start, and the at offsets passed to
// [Shard.Call] are relative to it.
func NewRecorder(methods []string, start time.Time) *Recorder {
	return &Recorder{methods: slices.Clone(methods), start: start, acc: make([]methodHists, len(methods)), peers: NewPeerCounter()}
}

// Methods returns the method names, indexed as in Shard calls.
func (r *Recorder) Methods() []string { return slices.Clone(r.methods) }

// Start returns the start of the recorded phase.
func (r *Recorder) Start() time.Time { return r.start }

// SetPeerCounter makes p the recorder's count of attempts per backend
// (Backend.ClientCalls): Shard.Peer adds to it, and so may any other
// goroutine that sees attempts. Call it before the shards record.
func (r *Recorder) SetPeerCounter(p *PeerCounter) { r.peers = p }

// Shard returns a new shard for one worker. Call it once per worker, not per
// call: a shard holds that worker's histograms until Cell merges them.
func (r *Recorder) Shard() *Shard {
	s := &Shard{methods: make([]shardMethod, len(r.methods)), live: new(liveCounters), r: r, cur: -1,
		curSec: newSecond(len(r.methods)), lateSec: newSecond(len(r.methods))}
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
	lag           Histogram // schedule lag since the last hand-over (Health.Lag)
	bytesSent     int64
	bytesRecv     int64
	backendSecs   map[int]map[string]int64 // attempts per backend per second, since the last hand-over
	live          *liveCounters
}

type shardMethod struct {
	calls, errors int64
	codes         [numCodes]int64
	otherCodes    map[codes.Code]int64
	// methodHists are the values since the shard last handed them to the
	// recorder (ok is the latency of calls that ended OK).
	methodHists
}

// second aggregates one second of one shard's series, per method.
type second struct {
	calls   int64
	methods []methodSecond
}

// methodSecond is one method's calls in one second.
type methodSecond struct {
	// codes counts calls by status code; the last slot counts codes beyond
	// the standard ones.
	codes [numCodes + 1]int64
	// h is their latency (SeriesDigits), allocated on first use.
	h *hdrhistogram.PackedHistogram
}

func newSecond(methods int) second { return second{methods: make([]methodSecond, methods)} }

// reset empties the second for reuse, keeping its histograms' memory.
func (sc *second) reset() {
	sc.calls = 0
	for i := range sc.methods {
		m := &sc.methods[i]
		if m.h != nil {
			m.codes = [numCodes + 1]int64{}
			m.h.Reset()
		}
	}
}

// calls returns the number of calls counted in m.
func (m *methodSecond) calls() int64 {
	if m.h == nil {
		return 0
	}
	return m.h.TotalCount()
}

// Call records one finished call of method with its final status code, its
// latency (completion − intended start), its service time (completion −
// actual send) and at, the offset from the recorder's start that places it in
// the one-second series (normally its completion time).
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
	m.service.Record(service)
	if code == codes.OK {
		m.ok.Record(latency)
	}

	sec := secondOf(at)
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
	ms := &sc.methods[method]
	ms.codes[min(int(code), numCodes)]++
	if ms.h == nil {
		ms.h = hdrhistogram.NewPacked(HistogramMin, HistogramMax, SeriesDigits)
	}
	v, _ := clampMicros(latency, HistogramMax)
	_ = ms.h.RecordValue(v) // in range: cannot fail
	if sc == &s.lateSec {
		s.r.addSecond(sec, sc)
		sc.reset()
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
	s.curSec.reset()
	s.handOver()
}

// handOver gives the shard's histograms to the recorder and starts new
// ones: once per second per shard, never per call.
func (s *Shard) handOver() {
	s.r.accMu.Lock()
	defer s.r.accMu.Unlock()
	for i := range s.methods {
		s.r.acc[i].absorb(&s.methods[i].methodHists)
	}
	for t, m := range s.backendSecs {
		if s.r.backendSecs == nil {
			s.r.backendSecs = map[int]map[string]int64{}
		}
		acc := s.r.backendSecs[t]
		if acc == nil {
			acc = map[string]int64{}
			s.r.backendSecs[t] = acc
		}
		for a, n := range m {
			acc[a] += n
		}
	}
	s.backendSecs = nil
	if s.lag.h != nil {
		s.r.lag.Merge(&s.lag)
		s.lag = Histogram{}
	}
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
	switch {
	case acc.final:
		// A late shard: reopen the finalized second by decoding it; it is
		// finalized again when the series moves on.
		h, err := decodeHistogram(acc.done.HDR)
		if err != nil {
			h = newHistogramDigits(SeriesDigits)
		}
		acc.h, acc.final = h, false
		r.open = append(r.open, t)
	case acc.h == nil:
		acc.h = newHistogramDigits(SeriesDigits)
		r.open = append(r.open, t)
	}
	acc.calls += sc.calls
	for i := range sc.methods {
		m := &sc.methods[i]
		n := m.calls()
		if n == 0 {
			continue
		}
		acc.errors += n - m.codes[codes.OK]
		acc.h.Merge(&Histogram{h: m.h, digits: SeriesDigits})
		if len(r.subs) > 0 {
			if acc.detail == nil {
				acc.detail = make([]methodSecond, len(sc.methods))
			}
			d := &acc.detail[i]
			for c, k := range m.codes {
				d.codes[c] += k
			}
			if d.h == nil {
				d.h = hdrhistogram.NewPacked(HistogramMin, HistogramMax, SeriesDigits)
			}
			d.h.Merge(m.h)
		}
	}
	if t > r.newest {
		r.newest = t
		keep := r.open[:0]
		for _, i := range r.open {
			if i < t-sealLag {
				r.finalize(i)
			} else {
				keep = append(keep, i)
			}
		}
		r.open = keep
	}
}

// finalize reduces open second t to its summary and encoding, and hands
// its per-method detail to the subscribers. r.smu is held.
func (r *Recorder) finalize(t int) {
	acc := &r.sealed[t]
	acc.done = Second{T: t, Calls: acc.calls, Errors: acc.errors}
	if acc.h != nil && acc.h.Count() > 0 {
		fillSecond(&acc.done, acc.h)
	}
	acc.h, acc.final = nil, true
	if acc.detail == nil {
		return
	}
	iv := Interval{T: t, Methods: make([]IntervalMethod, len(acc.detail))}
	for i := range acc.detail {
		d := &acc.detail[i]
		n := d.calls()
		if n == 0 {
			continue
		}
		im := &iv.Methods[i]
		im.Calls, im.Errors = n, n-d.codes[codes.OK]
		im.Codes = make(map[string]int64, 2)
		for c, k := range d.codes {
			if k == 0 {
				continue
			}
			name := OtherCodes
			if c < numCodes {
				name = statuscode.Name(codes.Code(c))
			}
			im.Codes[name] += k
		}
		im.Latency = &Histogram{h: d.h, digits: SeriesDigits}
	}
	acc.detail = nil
	for _, fn := range r.subs {
		fn(iv)
	}
}

// flush hands every shard's unfinished second to the series and finalizes
// every open second, in order. The shards' workers must have stopped.
func (r *Recorder) flush(shards []*Shard) {
	for _, s := range shards {
		s.seal()
		s.handOver()
	}
	r.smu.Lock()
	defer r.smu.Unlock()
	slices.Sort(r.open)
	for _, i := range r.open {
		r.finalize(i)
	}
	r.open = r.open[:0]
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

// Lag records the delay between a call's intended start and its actual send:
// its distribution (Health.Lag) and maximum (Load.MaxLag). A negative delay
// counts as 0.
func (s *Shard) Lag(d time.Duration) {
	d = max(d, 0)
	if d > s.maxLag {
		s.maxLag = d
	}
	s.lag.Record(d)
}

// Bytes adds payload bytes sent and received.
func (s *Shard) Bytes(sent, received int64) {
	s.bytesSent += sent
	s.bytesRecv += received
}

// Peer counts one attempt that landed on the backend at addr (from the
// call's peer) in the recorder's PeerCounter; it feeds
// Backend.ClientCalls.
func (s *Shard) Peer(addr string) { s.r.peers.Add(addr, 1) }

// Backend counts one attempt of a recorded call on the backend at addr in
// the second that at (the offset Call was given) places the call in; it
// feeds Cell.BackendSeries, each backend's share over time. A map a second
// is made when a second's first attempt is counted.
func (s *Shard) Backend(addr string, at time.Duration) {
	t := secondOf(at)
	if s.backendSecs == nil {
		s.backendSecs = map[int]map[string]int64{}
	}
	m := s.backendSecs[t]
	if m == nil {
		m = map[string]int64{}
		s.backendSecs[t] = m
	}
	m[addr]++
}

// secondOf is the second of the series an offset falls in.
func secondOf(at time.Duration) int {
	if at <= 0 {
		return 0
	}
	return min(int(at/time.Second), maxSeriesSeconds-1)
}

// Cell merges every shard into a new Cell with Start, Methods, All, Load
// (Completed, MaxLag), Health (Lag, when Lag was used), Retry (Calls,
// Attempts, Retried, AttemptsPerCall, when CallAttempts was used), Backends (ClientCalls),
// BytesSent, BytesReceived and Series filled. The caller fills the rest (ID,
// Params, Duration, the remaining Load fields, Breaker, Pool, server-side
// Backend counters, Faults) from the runner and the client stack.
//
// Cell must be called after every shard's worker has stopped. It first
// hands every shard's unfinished second to the series, which delivers the
// cell's last seconds to OnInterval subscribers; it may be called again
// (with the same result).
func (r *Recorder) Cell() *Cell {
	r.mu.Lock()
	shards := slices.Clone(r.shards)
	r.mu.Unlock()
	r.flush(shards)

	c := &Cell{Start: r.start}
	var attempts [maxAttemptsTracked + 1]int64
	var extraAttempts int64
	for _, s := range shards {
		c.BytesSent += s.bytesSent
		c.BytesReceived += s.bytesRecv
		c.Load.MaxLag = max(c.Load.MaxLag, s.maxLag)
		for i, n := range s.attempts {
			attempts[i] += n
		}
		extraAttempts += s.extraAttempts
	}
	all := &MethodStats{}
	r.accMu.Lock()
	defer r.accMu.Unlock()
	if lag := mergeUsed(nil, &r.lag); lag != nil {
		c.Health = &Health{Lag: lag}
	}
	for i, name := range r.methods {
		ms := methodStats(shards, i, &r.acc[i])
		if ms == nil {
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
	c.Retry = retryFrom(attempts, extraAttempts)
	for a, n := range r.peers.Counts() {
		c.Backends = append(c.Backends, Backend{Addr: a, ClientCalls: n})
	}
	sort.Slice(c.Backends, func(i, j int) bool { return c.Backends[i].Addr < c.Backends[j].Addr })
	c.Series = r.series()
	if len(c.Series) == 0 {
		c.Series = nil
	}
	c.BackendSeries = r.backendSeries()
	return c
}

// backendSeries lists the seconds of attempts per backend, in order.
func (r *Recorder) backendSeries() []BackendSecond {
	secs := make([]int, 0, len(r.backendSecs))
	for t := range r.backendSecs {
		secs = append(secs, t)
	}
	slices.Sort(secs)
	var out []BackendSecond
	for _, t := range secs {
		out = append(out, BackendSecond{T: t, Calls: maps.Clone(r.backendSecs[t])})
	}
	return out
}

// methodStats sums method i's counters over the shards and takes its
// histograms from acc (every shard has handed its histograms over), or
// returns nil when nothing was recorded for it.
func methodStats(shards []*Shard, i int, acc *methodHists) *MethodStats {
	ms := &MethodStats{}
	for _, s := range shards {
		m := &s.methods[i]
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
	}
	ms.Latency = mergeUsed(nil, &acc.latency)
	ms.Service = mergeUsed(nil, &acc.service)
	ms.OK = mergeUsed(nil, &acc.ok)
	ms.Attempt = mergeUsed(nil, &acc.attempt)
	ms.TTFM = mergeUsed(nil, &acc.ttfm)
	ms.MessageRTT = mergeUsed(nil, &acc.rtt)
	if ms.Calls == 0 && ms.Attempt == nil && ms.TTFM == nil && ms.MessageRTT == nil {
		return nil
	}
	return ms
}

// retryFrom turns the attempts-per-call counts into Retry's call, attempt
// and retried totals (zero when no call reported its attempts).
func retryFrom(attempts [maxAttemptsTracked + 1]int64, extra int64) Retry {
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
	r.Attempts += extra
	last := len(attempts)
	for last > 0 && attempts[last-1] == 0 {
		last--
	}
	r.AttemptsPerCall = slices.Clone(attempts[:last])
	return r
}

// series returns the one-second series. Cell has flushed every shard, so
// every second with calls is finalized.
func (r *Recorder) series() []Second {
	r.smu.Lock()
	defer r.smu.Unlock()
	out := make([]Second, len(r.sealed))
	for t := range r.sealed {
		if acc := &r.sealed[t]; acc.final {
			out[t] = acc.done
		} else {
			out[t] = Second{T: t, Calls: acc.calls, Errors: acc.errors}
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
	dst.Service = mergeHist(dst.Service, src.Service)
	dst.OK = mergeHist(dst.OK, src.OK)
	dst.Attempt = mergeHist(dst.Attempt, src.Attempt)
	dst.TTFM = mergeHist(dst.TTFM, src.TTFM)
	dst.MessageRTT = mergeHist(dst.MessageRTT, src.MessageRTT)
}
