package retry

import (
	"context"
	"math/bits"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"
)

// HedgeConn is a grpc.ClientConnInterface that hedges calls on the connection
// it wraps according to a HedgingPolicy (see Hedge). It is safe for
// concurrent use; per-call state is pooled and guarded by a per-call mutex,
// so calls share nothing but atomic counters (and the Throttle, if any).
type HedgeConn struct {
	cc       grpc.ClientConnInterface
	max      int
	delay    time.Duration
	maxBuf   int
	nonFatal codeSet
	obs      Observer
	throttle *Throttle
	calls    sync.Pool // *hedgeCall
	hedgeCounters
}

var _ grpc.ClientConnInterface = (*HedgeConn)(nil)

// Hedge returns a HedgeConn that hedges calls made through cc according to p
// (defaults filled in; p should have passed Validate, out-of-range values
// are clamped). Options honoured: WithObserver (every attempt, reported on
// the caller's goroutine when the call ends) and WithThrottle (a hedge is
// sent only while the bucket allows it; non-fatal failures cost a token,
// successful calls give TokenRatio back). WithRand is ignored: hedging
// waits on the real clock and has no jitter.
//
// Unary calls are hedged when the reply is a proto.Message or a
// HedgeMessage (each hedge decodes into a fresh message of the same type;
// the winner's is copied into reply); other calls are sent once, unhedged
// (HedgeStats.Unhedged). Streams are hedged until they commit (see NewStream).
func Hedge(cc grpc.ClientConnInterface, p HedgingPolicy, opts ...Option) *HedgeConn {
	p = p.WithDefaults()
	k := newCore(Policy{}, opts)
	h := &HedgeConn{cc: cc, max: min(max(*p.MaxAttempts, 1), maxHedgeAttempts), delay: max(p.HedgingDelay, 0),
		maxBuf: max(*p.MaxBuffer, 0), nonFatal: makeCodeSet(p.NonFatalCodes), obs: k.obs, throttle: k.throttle}
	h.calls.New = func() any { return newHedgeCall(h) }
	return h
}

// HedgeStats are the counters of a hedging layer. A call is counted when it
// ends (a stream: when it commits or fails and then ends).
type HedgeStats struct {
	// Calls counts calls finished; Attempts the attempts they sent, and
	// Hedges the attempts beyond the first (Attempts = Calls + Hedges).
	Calls, Attempts, Hedges int64
	// Won[n] counts calls whose response came from attempt n (index 0
	// unused; the slice ends at the last non-zero entry).
	Won []int64
	// Failed counts calls that ended with an error: a fatal code, or every
	// attempt failing with a non-fatal one.
	Failed int64
	// Cancelled counts attempts cancelled because another attempt decided
	// the call (the losers).
	Cancelled int64
	// PushbackWaits counts hedges delayed by the server's pushback;
	// PushbackStops counts calls in which the server's pushback stopped
	// further hedges.
	PushbackWaits, PushbackStops int64
	// Throttled counts hedges not sent because the throttle refused them.
	Throttled int64
	// Unhedged counts calls sent once because they could not be hedged (a
	// reply that is not a proto.Message, or a stream that committed before
	// its first hedge).
	Unhedged int64
}

// hedgeCounters are the atomics behind HedgeStats.
type hedgeCounters struct {
	started   [maxHedgeAttempts + 1]atomic.Int64 // calls that started n attempts
	won       [maxHedgeAttempts + 1]atomic.Int64
	failed    atomic.Int64
	cancelled atomic.Int64
	pushWaits atomic.Int64
	pushStops atomic.Int64
	throttled atomic.Int64
	unhedged  atomic.Int64
}

// Stats returns the counters so far.
func (h *HedgeConn) Stats() HedgeStats {
	var s HedgeStats
	won := make([]int64, maxHedgeAttempts+1)
	last := 0
	for n := 1; n <= maxHedgeAttempts; n++ {
		c := h.started[n].Load()
		s.Calls += c
		s.Attempts += int64(n) * c
		if won[n] = h.won[n].Load(); won[n] != 0 {
			last = n
		}
	}
	s.Hedges = s.Attempts - s.Calls
	s.Won = won[:last+1]
	s.Failed, s.Cancelled = h.failed.Load(), h.cancelled.Load()
	s.PushbackWaits, s.PushbackStops = h.pushWaits.Load(), h.pushStops.Load()
	s.Throttled, s.Unhedged = h.throttled.Load(), h.unhedged.Load()
	return s
}

// hedgeCall is the state of one hedged unary call, pooled across calls. The
// caller's goroutine runs the original attempt; each hedge runs on a
// goroutine of its own (the timer's, or one started when a non-fatal error
// sends the next hedge at once). Everything below mu is guarded by it.
type hedgeCall struct {
	h     *HedgeConn
	timer *time.Timer // runs onTimer; made once, Reset per call
	first firstState
	woke  chan struct{} // capacity 1: something the caller waits for changed

	// Set before any attempt starts, read-only while they run.
	ctx       context.Context
	method    string
	args      any
	reply     any
	replyType any // msgType(reply), taken before attempt 1 decodes into reply
	opts      []grpc.CallOption

	// Set for a hedged stream (nil for a unary call): its attempts all run
	// on goroutines of their own, attempt 1 included.
	stream *hedgeStream
	limit  int // attempts this call may send (HedgeConn.max, or 1)

	mu         sync.Mutex
	started    int       // attempts started
	live       int       // attempts running, plus one while the timer is armed
	running    uint8     // bit n: attempt n is running
	armed      bool      // the timer is armed (and counted in live)
	nextAt     time.Time // no hedge before this time (zero: none pending a pushback)
	decided    bool
	winner     int   // attempt that decided the call (0: all failed)
	err        error // the call's result once decided
	lastErr    error // the latest non-fatal failure
	stopped    bool  // no more hedges: pushback, throttle or the caller's context
	cancelled  uint8 // bit n: attempt n was cancelled by the decision
	unsent     int   // attempts never sent (dropped, or failed before grpc-go made a stream)
	unsentBits uint8 // bit n: attempt n was never sent

	cancels  [maxHedgeAttempts + 1]context.CancelFunc
	replies  [maxHedgeAttempts + 1]any
	trailers [maxHedgeAttempts + 1]metadata.MD
	optBuf   [maxHedgeAttempts + 1][]grpc.CallOption
	peers    [maxHedgeAttempts + 1]peer.Peer         // hedges: set by grpc-go once a transport stream exists
	streams  [maxHedgeAttempts + 1]grpc.ClientStream // hedged stream: each attempt's stream
	starts   [maxHedgeAttempts + 1]time.Time         // hedged stream with an observer
	durs     [maxHedgeAttempts + 1]time.Duration     // for the observer
	errs     [maxHedgeAttempts + 1]error
	lastN    int // the attempt that failed last (its trailer goes with lastErr)
}

func newHedgeCall(h *HedgeConn) *hedgeCall {
	c := &hedgeCall{h: h, woke: make(chan struct{}, 1)}
	c.timer = time.AfterFunc(time.Hour, c.onTimer)
	c.timer.Stop()
	return c
}

// Invoke performs a hedged unary call and returns the winning attempt's
// result: the first OK response or the first fatal error, or the last
// non-fatal error when every attempt failed. It returns only once every
// attempt it started has ended (the losers are cancelled first), so args and
// reply are not touched after it returns.
func (h *HedgeConn) Invoke(ctx context.Context, method string, args, reply any, opts ...grpc.CallOption) error {
	if !hedgeable(reply) || h.max < 2 {
		h.unhedged.Add(1)
		h.started[1].Add(1)
		err := h.cc.Invoke(ctx, method, args, reply, opts...)
		if err != nil && h.throttle != nil && h.nonFatal.has(status.Code(err)) {
			h.throttle.Failure()
		}
		h.book(1, err)
		return err
	}
	c := h.calls.Get().(*hedgeCall)
	c.ctx, c.method, c.args, c.reply, c.opts, c.limit = ctx, method, args, reply, opts, h.max
	c.replyType = msgType(reply)
	c.started, c.live, c.running = 1, 1, 1<<1
	actx := c.first.start(ctx) // before any hedge exists that could cancel it
	if h.delay == 0 {
		c.mu.Lock()
		for c.started < h.max {
			if n, actx := c.startLocked(); n > 0 {
				go c.run(n, actx)
			} else {
				break
			}
		}
		c.mu.Unlock()
	} else {
		c.armed = true
		c.live++
		c.timer.Reset(h.delay)
	}
	var start time.Time
	if h.obs != nil {
		start = time.Now()
	}
	err := h.cc.Invoke(actx, method, args, reply, c.attemptOpts(1)...)
	err = c.first.fixErr(err)
	if !c.attemptDone(1, err, start) {
		c.wait()
	}
	err = c.result()
	c.first.end()
	c.report()
	c.reset()
	h.calls.Put(c)
	return err
}

// book counts a finished call that sent n attempts and ended with err.
func (h *HedgeConn) book(winner int, err error) {
	if err == nil {
		h.won[winner].Add(1)
		if h.throttle != nil {
			h.throttle.Success()
		}
	} else {
		h.failed.Add(1)
	}
}

// attemptOpts returns the call options of attempt n: the caller's plus one
// capturing the trailer (for pushback). The slice is reused across calls.
//
// A hedge also records its peer: grpc-go sets it only when the attempt got a
// transport stream, which is how an attempt cancelled before grpc-go sent it
// is told apart from one the server saw (see attemptDone).
func (c *hedgeCall) attemptOpts(n int) []grpc.CallOption {
	c.optBuf[n] = append(append(c.optBuf[n][:0], c.opts...), grpc.TrailerCallOption{TrailerAddr: &c.trailers[n]})
	if n > 1 {
		c.optBuf[n] = append(c.optBuf[n], grpc.PeerCallOption{PeerAddr: &c.peers[n]})
	}
	return c.optBuf[n]
}

// startLocked prepares the next hedge, if one may be sent now, and returns
// its number and context (0 if none may be sent).
func (c *hedgeCall) startLocked() (int, context.Context) {
	if c.decided || c.stopped || c.started >= c.limit {
		return 0, nil
	}
	if c.ctx.Err() != nil {
		c.stopped = true
		return 0, nil
	}
	if t := c.h.throttle; t != nil && c.started > 0 && !t.Allowed() {
		c.stopped = true
		c.h.throttled.Add(1)
		t.refused()
		return 0, nil
	}
	c.started++
	n := c.started
	actx, cancel := context.WithCancel(c.ctx)
	c.cancels[n] = cancel
	if c.stream == nil {
		c.replies[n] = newOfType(c.replyType)
	}
	c.live++
	c.running |= 1 << n
	if n == 1 {
		return n, actx
	}
	return n, metadata.AppendToOutgoingContext(actx, previousAttemptsHeader, itoa(n-1))
}

// run performs attempt n on the current goroutine, unless the call was
// decided since the attempt was prepared: then it is dropped unsent, so
// Stats.Attempts counts only attempts handed to the connection. (An attempt
// cancelled in the microseconds between this check and grpc-go's own check
// of its context is still counted but never reaches the server.)
func (c *hedgeCall) run(n int, actx context.Context) {
	c.mu.Lock()
	if c.decided {
		c.unsent++
		c.unsentBits |= 1 << n
		c.mu.Unlock()
		c.attemptDone(n, nil, time.Time{})
		return
	}
	c.mu.Unlock()
	var start time.Time
	if c.h.obs != nil {
		start = time.Now()
	}
	if c.stream != nil {
		c.stream.runAttempt(n, actx, start)
		return
	}
	err := c.h.cc.Invoke(actx, c.method, c.args, c.replies[n], c.attemptOpts(n)...)
	c.attemptDone(n, err, start)
}

// attemptDone books the end of attempt n and reports whether the call is
// over (decided, with no attempt or timer left). After it returns true on a
// hedge's goroutine, c must not be touched: the caller may reuse it.
func (c *hedgeCall) attemptDone(n int, err error, start time.Time) bool {
	var d time.Duration
	if c.h.obs != nil && !start.IsZero() {
		d = time.Since(start)
	}
	c.mu.Lock()
	c.live--
	c.running &^= 1 << n
	c.durs[n], c.errs[n] = d, err
	if n > 1 && err != nil && c.peers[n].Addr == nil && c.unsentBits&(1<<n) == 0 {
		// Failed before grpc-go made a transport stream: never sent.
		c.unsent++
		c.unsentBits |= 1 << n
	}
	if !c.decided {
		c.judgeLocked(n, err)
	}
	if c.stream == nil && n > 1 || c.stream != nil && (c.winner != n || c.err != nil) {
		c.cancels[n]() // release the attempt's context (not a committed stream's)
	}
	over := c.decided && c.live == 0
	if over && (n > 1 || c.stream != nil) {
		c.wakeLocked() // a unary caller runs attempt 1: it waits only after it
	}
	c.mu.Unlock()
	return over
}

// judgeLocked decides the call after attempt n ended with err, or schedules
// the next hedge (A6): OK or a fatal code decides; a non-fatal code sends the
// next hedge at once, or after the server's pushback, or never when the
// pushback says not to retry; when nothing is running or pending any more
// the last non-fatal error decides.
func (c *hedgeCall) judgeLocked(n int, err error) {
	if err == nil || !c.h.nonFatal.has(status.Code(err)) || c.ctx.Err() != nil {
		c.decideLocked(n, err)
		return
	}
	if t := c.h.throttle; t != nil {
		t.Failure()
	}
	c.lastErr, c.lastN = err, n
	wait, stop, present := parsePushback(c.trailers[n][pushbackTrailer])
	switch {
	case stop:
		if !c.stopped {
			c.h.pushStops.Add(1)
		}
		c.stopped = true
	case present && wait > 0:
		if !c.stopped && c.started < c.limit {
			c.h.pushWaits.Add(1)
			c.nextAt = time.Now().Add(wait)
			c.armLocked(wait)
		}
	default:
		if m, actx := c.startLocked(); m > 0 {
			go c.run(m, actx)
			if c.started < c.limit && c.h.delay > 0 {
				c.nextAt = time.Now().Add(c.h.delay)
				c.armLocked(c.h.delay)
			}
		}
	}
	if c.stopped || c.started >= c.limit {
		c.disarmLocked() // no hedge left to send
	}
	if c.live == 0 {
		c.decideLocked(0, c.lastErr)
	}
}

// disarmLocked stops a pending hedge timer if it can still be stopped.
func (c *hedgeCall) disarmLocked() {
	if c.armed && c.timer.Stop() {
		c.armed = false
		c.live--
	}
}

// armLocked makes the timer fire after d: it arms it when it is not armed,
// and moves it to d when it is armed and can still be stopped. A timer that
// is already firing re-reads nextAt itself (see onTimer).
func (c *hedgeCall) armLocked(d time.Duration) {
	if !c.armed {
		c.armed = true
		c.live++
		c.timer.Reset(d)
		return
	}
	if c.timer.Stop() {
		c.timer.Reset(d)
	}
}

// onTimer runs when the hedging delay (or a pushback) has passed: it sends
// the next hedge, on this goroutine, unless the call is decided or may send
// no more.
func (c *hedgeCall) onTimer() {
	c.mu.Lock()
	c.armed = false
	c.live--
	if !c.decided && !c.nextAt.IsZero() {
		if rest := time.Until(c.nextAt); rest > 0 {
			c.armLocked(rest)
			c.mu.Unlock()
			return
		}
	}
	n, actx := c.startLocked()
	if n > 0 && c.started < c.limit {
		c.nextAt = time.Time{}
		c.armLocked(c.h.delay)
	}
	if n == 0 && !c.decided && c.live == 0 {
		c.decideLocked(0, c.lastErr)
	}
	if c.decided && c.live == 0 {
		c.wakeLocked()
	}
	c.mu.Unlock()
	if n > 0 {
		c.run(n, actx)
	}
}

// decideLocked ends the call with attempt n's result (n = 0: every attempt
// failed) and cancels every other attempt and the pending hedge.
func (c *hedgeCall) decideLocked(n int, err error) {
	c.decided, c.winner, c.err = true, n, err
	if c.stream != nil {
		close(c.stream.decidedCh)
	}
	for i := 1; i <= c.started; i++ {
		if i == n || c.running&(1<<i) == 0 {
			continue
		}
		c.cancelled |= 1 << i
		if i == 1 && c.stream == nil {
			c.first.cancel()
		} else {
			c.cancels[i]()
		}
	}
	c.disarmLocked()
}

func (c *hedgeCall) wakeLocked() {
	select {
	case c.woke <- struct{}{}:
	default:
	}
}

// wait blocks until the call is decided and every attempt has ended.
func (c *hedgeCall) wait() {
	for {
		c.mu.Lock()
		over := c.decided && c.live == 0
		c.mu.Unlock()
		if over {
			break
		}
		<-c.woke
	}
	select { // drop a wake-up that raced with the last check
	case <-c.woke:
	default:
	}
}

// result returns the call's error and, when a hedge won, copies its reply
// into the caller's (the original attempt has ended: nothing else writes
// reply).
func (c *hedgeCall) result() error {
	if c.winner > 1 && c.err == nil {
		copyInto(c.reply, c.replies[c.winner])
	}
	return c.err
}

// report books the finished call in the counters and tells the observer
// about every attempt, on the caller's goroutine.
func (c *hedgeCall) report() {
	h := c.h
	h.started[c.started-c.unsent].Add(1)
	if n := bits.OnesCount8(c.cancelled &^ c.unsentBits); n > 0 {
		h.cancelled.Add(int64(n))
	}
	if c.stream != nil && c.stream.finalErr != nil {
		h.book(c.winner, c.stream.finalErr) // a committed stream that failed later
	} else {
		h.book(c.winner, c.err)
	}
	if h.obs != nil {
		for n := 1; n <= c.started; n++ {
			if c.unsentBits&(1<<n) == 0 {
				h.obs.Attempt(c.method, n, c.durs[n], c.errs[n])
			}
		}
	}
}

// reset clears c for reuse (dropping references to the call's values).
func (c *hedgeCall) reset() {
	for n := 1; n <= c.started; n++ {
		c.cancels[n], c.replies[n], c.trailers[n], c.errs[n], c.peers[n] = nil, nil, nil, nil, peer.Peer{}
		clear(c.optBuf[n])
		c.optBuf[n] = c.optBuf[n][:0]
	}
	c.ctx, c.args, c.reply, c.replyType, c.opts, c.method = nil, nil, nil, nil, nil, ""
	c.started, c.live, c.running, c.armed = 0, 0, 0, false
	c.nextAt, c.decided, c.winner, c.err, c.lastErr, c.lastN, c.stopped, c.cancelled, c.unsent = time.Time{}, false, 0, nil, nil, 0, false, 0, 0
	c.unsentBits = 0
	select {
	case <-c.woke:
	default:
	}
}
