package breaker

import (
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/grpcbench/grpcbench/internal/eventlog"
)

// State is a breaker state.
type State int32

// The breaker states.
const (
	Closed   State = iota // calls pass
	Open                  // calls are rejected
	HalfOpen              // a few probe calls pass
	numStates
)

// String returns "closed", "open" or "half-open".
func (s State) String() string {
	switch s {
	case Closed:
		return "closed"
	case Open:
		return "open"
	case HalfOpen:
		return "half-open"
	}
	return "State(" + strconv.Itoa(int(s)) + ")"
}

// Rejection errors. Both are UNAVAILABLE and their messages contain
// "circuit breaker is open"; they are allocated once.
var (
	// ErrOpen is returned by calls rejected while the breaker is open.
	ErrOpen = status.Error(codes.Unavailable, "circuit breaker is open")
	// ErrProbesBusy is returned by calls rejected while half-open because
	// every probe slot is taken.
	ErrProbesBusy = status.Error(codes.Unavailable, "circuit breaker is open (half-open: probe calls in flight)")
)

// clock is the breaker's time source.
type clock interface{ Now() time.Time }

type systemClock struct{}

func (systemClock) Now() time.Time { return time.Now() }

// Option configures New.
type Option func(*Breaker)

// withClock sets the clock (default the system clock); tests use a fake
// one (export_test.go).
func withClock(c clock) Option { return func(b *Breaker) { b.clock = c } }

// WithEpoch sets the time TransitionEvent.At counts from (default: when New
// was called, on the breaker's clock), e.g. the start of a run.
func WithEpoch(t time.Time) Option { return func(b *Breaker) { b.logEpoch = t } }

// WithLogCap sets how many transitions the log keeps (n ≤ 0: the default,
// 10 000); later ones are counted in Stats.LogDropped.
func WithLogCap(n int) Option { return func(b *Breaker) { b.log = eventlog.New[TransitionEvent](n) } }

// TransitionEvent is one change of state: At is the time since the
// breaker's epoch (see WithEpoch), From and To the states.
type TransitionEvent struct {
	At       time.Duration
	From, To State
}

const windowBuckets = 10

type bucket struct {
	slot         int64
	total, fails int64
}

// Breaker is a circuit breaker. It is safe for concurrent use.
type Breaker struct {
	cfg      Config
	failures uint32 // bit set of failure codes
	clock    clock

	state  atomic.Int32
	gen    atomic.Uint64 // bumped on every transition; tickets of an older generation are stale
	consec atomic.Int64  // consecutive failures while closed

	mu             sync.Mutex
	openedAt       time.Time
	probesInFlight int
	probeSuccesses int
	epoch          time.Time
	bucketWidth    time.Duration
	buckets        [windowBuckets]bucket
	timeOpen       time.Duration
	logEpoch       time.Time
	lastAt         time.Duration // the latest logged time
	log            *eventlog.Log[TransitionEvent]

	trips, rejections, successes, fails, ignored atomic.Int64
	transitions                                  [numStates][numStates]atomic.Int64
}

// New returns a closed breaker configured by cfg (defaults filled in; cfg
// should have passed Validate).
func New(cfg Config, opts ...Option) *Breaker {
	cfg = cfg.WithDefaults()
	b := &Breaker{cfg: cfg, clock: systemClock{}}
	for _, c := range cfg.Codes {
		if c < 32 {
			b.failures |= 1 << c
		}
	}
	for _, o := range opts {
		o(b)
	}
	b.epoch = b.clock.Now()
	if b.logEpoch.IsZero() {
		b.logEpoch = b.epoch
	}
	if b.log == nil {
		b.log = eventlog.New[TransitionEvent](0)
	}
	b.bucketWidth = max(cfg.Window/windowBuckets, 1)
	return b
}

// State returns the current state. An open breaker whose open period has
// passed still reports Open until the next call moves it to half-open.
func (b *Breaker) State() State { return State(b.state.Load()) }

// ticket is the permission to make one call. Pass the call's outcome to Done
// exactly once. The zero ticket's Done does nothing.
type ticket struct {
	b     *Breaker
	gen   uint64
	probe bool
}

// allow asks to make a call. It returns a ticket, or ErrOpen/ErrProbesBusy
// when the call must fail fast. No lock is held after it returns.
func (b *Breaker) allow() (ticket, error) {
	if State(b.state.Load()) == Closed {
		return ticket{b: b, gen: b.gen.Load()}, nil
	}
	now := b.clock.Now()
	b.mu.Lock()
	defer b.mu.Unlock()
	switch State(b.state.Load()) {
	case Closed:
		return ticket{b: b, gen: b.gen.Load()}, nil
	case Open:
		if now.Sub(b.openedAt) < b.cfg.OpenFor {
			b.rejections.Add(1)
			return ticket{}, ErrOpen
		}
		b.transitionLocked(HalfOpen, now)
	}
	if b.probesInFlight >= b.cfg.HalfOpenProbes {
		b.rejections.Add(1)
		return ticket{}, ErrProbesBusy
	}
	b.probesInFlight++
	return ticket{b: b, gen: b.gen.Load(), probe: true}, nil
}

// outcome of a call as the breaker sees it.
type outcome int

const (
	success outcome = iota
	failure
	ignored // cancelled by the caller: says nothing about the server
)

func (b *Breaker) classify(err error) outcome {
	if err == nil {
		return success
	}
	c := status.Code(err)
	switch {
	case c < 32 && b.failures&(1<<c) != 0:
		return failure
	case c == codes.Canceled:
		return ignored
	}
	return success // the server answered (e.g. NOT_FOUND): it is healthy
}

// Done reports the outcome of the call the ticket allowed. Outcomes of calls
// that started before the breaker last changed state are counted in Stats
// but do not move the state machine.
func (t ticket) Done(err error) {
	b := t.b
	if b == nil {
		return
	}
	o := b.classify(err)
	switch o {
	case success:
		b.successes.Add(1)
	case failure:
		b.fails.Add(1)
	default:
		b.ignored.Add(1)
	}
	if t.probe {
		b.probeDone(t, o)
		return
	}
	if b.gen.Load() != t.gen {
		return
	}
	if b.cfg.FailureThreshold > 0 {
		if o == failure {
			if b.consec.Add(1) >= int64(b.cfg.FailureThreshold) {
				b.trip(t.gen, b.clock.Now())
				return
			}
		} else if o == success && b.consec.Load() != 0 {
			b.consec.Store(0)
		}
	}
	if b.cfg.FailureRatio > 0 && o != ignored {
		b.record(t.gen, o == failure)
	}
}

func (b *Breaker) probeDone(t ticket, o outcome) {
	now := b.clock.Now()
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.gen.Load() != t.gen || State(b.state.Load()) != HalfOpen {
		return
	}
	b.probesInFlight--
	switch o {
	case failure:
		b.transitionLocked(Open, now)
	case success:
		b.probeSuccesses++
		if b.probeSuccesses >= b.cfg.HalfOpenProbes {
			b.transitionLocked(Closed, now)
		}
	}
}

// trip opens a closed breaker of generation gen.
func (b *Breaker) trip(gen uint64, now time.Time) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.gen.Load() == gen && State(b.state.Load()) == Closed {
		b.transitionLocked(Open, now)
	}
}

// record adds an outcome to the rolling window and trips on the ratio.
func (b *Breaker) record(gen uint64, failed bool) {
	now := b.clock.Now()
	slot := int64(now.Sub(b.epoch) / b.bucketWidth)
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.gen.Load() != gen || State(b.state.Load()) != Closed {
		return
	}
	bk := &b.buckets[slot%windowBuckets]
	if bk.slot != slot {
		*bk = bucket{slot: slot}
	}
	bk.total++
	if failed {
		bk.fails++
	}
	var total, fails int64
	for i := range b.buckets {
		if x := b.buckets[i]; x.slot > slot-windowBuckets {
			total += x.total
			fails += x.fails
		}
	}
	if total >= int64(b.cfg.MinRequests) && float64(fails) >= b.cfg.FailureRatio*float64(total) {
		b.transitionLocked(Open, now)
	}
}

// transitionLocked moves to state to; b.mu is held.
func (b *Breaker) transitionLocked(to State, now time.Time) {
	from := State(b.state.Load())
	b.transitions[from][to].Add(1)
	// The clock is read before the lock is taken, so a concurrent later
	// reading may come first: clamp so the log never goes back in time.
	b.lastAt = max(b.lastAt, now.Sub(b.logEpoch))
	b.log.Add(TransitionEvent{At: b.lastAt, From: from, To: to})
	if from == Open {
		b.timeOpen += now.Sub(b.openedAt)
	}
	switch to {
	case Open:
		b.trips.Add(1)
		b.openedAt = now
	case HalfOpen:
		b.probesInFlight, b.probeSuccesses = 0, 0
	case Closed:
		b.consec.Store(0)
		b.buckets = [windowBuckets]bucket{}
	}
	b.gen.Add(1)
	b.state.Store(int32(to))
}

// Transition counts the moves from one state to another.
type Transition struct {
	From, To State
	Count    int64
}

// Stats are a breaker's counters.
type Stats struct {
	State      State
	Trips      int64 // moves into open (from closed or half-open)
	Rejections int64 // calls failed fast
	Successes  int64 // allowed calls that ended without a failure code
	Failures   int64 // allowed calls that ended with a failure code
	Ignored    int64 // allowed calls cancelled by the caller
	// TimeOpen is the total time spent open, the current period included.
	TimeOpen time.Duration
	// Transitions lists every from→to move that happened, with its count.
	Transitions []Transition
	// Log lists the transitions in order with their times (the first
	// WithLogCap of them); LogDropped counts those not kept. Their sum is
	// the sum of the Transitions counts.
	Log        []TransitionEvent
	LogDropped int64
}

// Stats returns the counters so far.
func (b *Breaker) Stats() Stats {
	now := b.clock.Now()
	b.mu.Lock()
	s := Stats{State: State(b.state.Load()), TimeOpen: b.timeOpen}
	if s.State == Open {
		s.TimeOpen += now.Sub(b.openedAt)
	}
	b.mu.Unlock()
	s.Trips, s.Rejections = b.trips.Load(), b.rejections.Load()
	s.Successes, s.Failures, s.Ignored = b.successes.Load(), b.fails.Load(), b.ignored.Load()
	s.Log, s.LogDropped = b.log.Snapshot()
	for from := range numStates {
		for to := range numStates {
			if n := b.transitions[from][to].Load(); n > 0 {
				s.Transitions = append(s.Transitions, Transition{From: from, To: to, Count: n})
			}
		}
	}
	return s
}

func itoa(i int) string { return strconv.Itoa(i) }
