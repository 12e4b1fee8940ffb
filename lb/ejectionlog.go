package lb

import (
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// EjectionKind says whether an EjectionEvent took an endpoint out or put it
// back.
type EjectionKind string

// The kinds of EjectionEvent.
const (
	Ejected   EjectionKind = "eject"
	Unejected EjectionKind = "uneject"
)

// EjectionEvent is one ejection or return of one endpoint by the outlier
// detection balancer of one ClientConn.
type EjectionEvent struct {
	// At is when the sweep that decided it ran (monotonic clock included).
	At time.Time
	// Conn numbers the ClientConn whose balancer decided it, from 1, in
	// the order the balancers first reported to the log (a pool of N
	// ClientConns has N balancers, each ejecting on its own).
	Conn int
	// Addr is the endpoint's "host:port".
	Addr string
	// Kind is Ejected or Unejected.
	Kind EjectionKind
	// Reason is EjectSuccessRate or EjectFailurePercentage for an
	// ejection, ReturnExpired or ReturnRemoved for a return.
	Reason string
	// Times is, for an ejection, how many times in a row the endpoint has
	// now been ejected (the multiplier of the base ejection time).
	Times int
	// For is, for an ejection, the ejection time: min(base × Times,
	// max(base, max_ejection_time)). The endpoint returns at the first
	// sweep after it has passed.
	For time.Duration
	// Calls and Failures are, for an ejection, the endpoint's finished
	// calls and failed calls in the interval that led to it.
	Calls, Failures uint64
}

// EjectionLog collects the EjectionEvents of every outlier detection
// balancer built from a service config that names it (see
// Config.WithEjectionLog). Balancers are built by grpc-go inside each
// ClientConn; they find the log through a process-wide registry keyed by
// the log's id, which the service config carries. Appending happens only at
// sweeps, never on the call path. Its methods are safe for concurrent use.
type EjectionLog struct {
	id    string
	mu    sync.Mutex
	ev    []EjectionEvent
	conns int
}

var (
	logSeq   atomic.Uint64
	logsMu   sync.Mutex
	logsByID = map[string]*EjectionLog{}
)

// NewEjectionLog returns an empty log, registered until Close.
func NewEjectionLog() *EjectionLog {
	l := &EjectionLog{id: strconv.FormatUint(logSeq.Add(1), 10)}
	logsMu.Lock()
	logsByID[l.id] = l
	logsMu.Unlock()
	return l
}

// Close unregisters the log: balancers built afterwards from a service
// config naming it record nothing, and balancers already attached keep
// recording into it. Its events stay readable.
func (l *EjectionLog) Close() {
	logsMu.Lock()
	delete(logsByID, l.id)
	logsMu.Unlock()
}

// Events returns a copy of the events so far, in the order they were
// recorded (At increases within each Conn).
func (l *EjectionLog) Events() []EjectionEvent {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.ev)
}

// lookupLog returns the registered log with this id, or nil.
func lookupLog(id string) *EjectionLog {
	if id == "" {
		return nil
	}
	logsMu.Lock()
	defer logsMu.Unlock()
	return logsByID[id]
}

// attach returns the next Conn number.
func (l *EjectionLog) attach() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.conns++
	return l.conns
}

func (l *EjectionLog) add(ev ...EjectionEvent) {
	l.mu.Lock()
	l.ev = append(l.ev, ev...)
	l.mu.Unlock()
}
