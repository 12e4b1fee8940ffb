package lb

import (
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/grpc/balancer"
	"google.golang.org/grpc/connectivity"
	"google.golang.org/grpc/resolver"
	"google.golang.org/grpc/serviceconfig"
)

// outlierDetectionName is the name grpcbench's outlier detection balancer is
// registered under. grpc-go's own (outlier_detection_experimental) lives in
// an internal package, is registered only by importing the whole xds
// package, and reports no per-endpoint ejections; this one follows gRFC A50
// and records every ejection and return in an EjectionLog.
const outlierDetectionName = "grpcbench_outlier_detection"

func init() { balancer.Register(odBuilder{}) }

// errEjected is the connection error the child policy sees for an ejected
// endpoint.
var errEjected = errors.New("endpoint ejected by outlier detection")

type odBuilder struct{}

func (odBuilder) Name() string { return outlierDetectionName }

func (odBuilder) Build(cc balancer.ClientConn, opts balancer.BuildOptions) balancer.Balancer {
	return &ejector{ClientConn: cc, opts: opts, eps: resolver.NewEndpointMap[*endpoint]()}
}

// odConfig is the parsed JSON config.
type odConfig struct {
	serviceconfig.LoadBalancingConfig
	s         odSettings
	child     balancer.Builder
	childConf serviceconfig.LoadBalancingConfig
	logID     string
}

// ParseConfig implements balancer.ConfigParser. Absent fields take A50's
// defaults; values out of A50's ranges are errors.
func (odBuilder) ParseConfig(js json.RawMessage) (serviceconfig.LoadBalancingConfig, error) {
	var j odJSON
	if err := json.Unmarshal(js, &j); err != nil {
		return nil, fmt.Errorf("%s: %w", outlierDetectionName, err)
	}
	o, err := j.toYAMLShape()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", outlierDetectionName, err)
	}
	if err := o.Validate(); err != nil {
		return nil, fmt.Errorf("%s: %w", outlierDetectionName, err)
	}
	cfg := &odConfig{s: o.settings(), logID: j.EventLog}
	for _, entry := range j.ChildPolicy {
		for name, raw := range entry {
			if cfg.child != nil {
				break
			}
			b := balancer.Get(name)
			if b == nil {
				continue
			}
			cfg.child = b
			if p, ok := b.(balancer.ConfigParser); ok {
				if cfg.childConf, err = p.ParseConfig(raw); err != nil {
					return nil, fmt.Errorf("%s: child policy %s: %w", outlierDetectionName, name, err)
				}
			}
		}
	}
	if cfg.child == nil {
		return nil, fmt.Errorf("%s: childPolicy names no registered balancer", outlierDetectionName)
	}
	return cfg, nil
}

// toYAMLShape converts the JSON form into an OutlierDetection, so both are
// checked by one Validate.
func (j odJSON) toYAMLShape() (*OutlierDetection, error) {
	o := &OutlierDetection{MaxEjectionPercent: j.MaxEjectionPercent}
	for _, d := range []struct {
		name string
		s    string
		dst  **time.Duration
	}{{"interval", j.Interval, &o.Interval}, {"baseEjectionTime", j.BaseEjectionTime, &o.BaseEjectionTime},
		{"maxEjectionTime", j.MaxEjectionTime, &o.MaxEjectionTime}} {
		if d.s == "" {
			continue
		}
		v, err := time.ParseDuration(d.s)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", d.name, err)
		}
		*d.dst = &v
	}
	if sr := j.SuccessRateEjection; sr != nil {
		o.SuccessRate = &SuccessRateEjection{EnforcementPercentage: sr.EnforcementPercentage,
			MinimumHosts: sr.MinimumHosts, RequestVolume: sr.RequestVolume}
		if sr.StdevFactor != nil {
			f := float64(*sr.StdevFactor) / 1000
			o.SuccessRate.StdevFactor = &f
		}
	}
	if fp := j.FailurePercentageEjection; fp != nil {
		o.FailurePercentage = &FailurePercentageEjection{Threshold: fp.Threshold,
			EnforcementPercentage: fp.EnforcementPercentage, MinimumHosts: fp.MinimumHosts, RequestVolume: fp.RequestVolume}
	}
	return o, nil
}

// ejector is the outlier detection balancer of one ClientConn. It sits
// between grpc-go and the child policy: it wraps the SubConns the child
// creates, counts call results in the picker, and ejects an endpoint by
// making its SubConns report TRANSIENT_FAILURE to the child's health
// listeners (gRFC A50 with A61's health listener).
//
// Locks: childMu serialises every call into the child policy and every
// listener delivered to it (grpc-go's calls, sweeps); mu guards the
// endpoint map and settings. The order is childMu, then mu, then a
// subConn's mu.
type ejector struct {
	balancer.ClientConn
	opts balancer.BuildOptions

	childMu   sync.Mutex
	child     balancer.Balancer
	childName string
	closed    bool

	mu        sync.Mutex
	cfg       *odConfig
	eps       *resolver.EndpointMap[*endpoint]
	order     []*endpoint // in resolver order, for sweeps
	byAddr    map[string]*endpoint
	timer     *time.Timer
	lastSweep time.Time
	log       *EjectionLog
	conn      int
}

// endpoint is one resolver endpoint's outlier state.
type endpoint struct {
	addr string // its first address, as recorded in events
	// counts holds the current interval's successes (low 32 bits) and
	// failures (high 32 bits); one atomic add per finished call.
	counts atomic.Uint64
	done   func(balancer.DoneInfo) // counts one finished call

	// Guarded by ejector.mu.
	ejectedAt time.Time // zero when not ejected
	times     int       // A50's ejection time multiplier
	subConns  map[*subConn]struct{}
}

func newEndpoint(addr string) *endpoint {
	e := &endpoint{addr: addr, subConns: map[*subConn]struct{}{}}
	e.done = e.record
	return e
}

const failureUnit = 1 << 32

func (e *endpoint) record(di balancer.DoneInfo) {
	if di.Err == nil {
		e.counts.Add(1)
	} else {
		e.counts.Add(failureUnit)
	}
}

// take returns and resets the interval's counts.
func (e *endpoint) take() (succ, fail uint64) {
	v := e.counts.Swap(0)
	return v & (failureUnit - 1), v >> 32
}

func (e *endpoint) ejected() bool { return !e.ejectedAt.IsZero() }

// UpdateClientConnState implements balancer.Balancer.
func (b *ejector) UpdateClientConnState(s balancer.ClientConnState) error {
	cfg, ok := s.BalancerConfig.(*odConfig)
	if !ok {
		return fmt.Errorf("%s: unexpected config type %T", outlierDetectionName, s.BalancerConfig)
	}
	b.childMu.Lock()
	defer b.childMu.Unlock()
	if b.closed {
		return nil
	}
	if b.child == nil || b.childName != cfg.child.Name() {
		if b.child != nil {
			b.child.Close()
		}
		b.child = cfg.child.Build(b, b.opts)
		b.childName = cfg.child.Name()
	}
	events := b.update(cfg, s.ResolverState.Endpoints)
	for _, u := range events {
		b.setEjected(u.ep, false)
	}
	b.record(events)
	return b.child.UpdateClientConnState(balancer.ClientConnState{
		ResolverState:  s.ResolverState,
		BalancerConfig: cfg.childConf,
	})
}

// pendingEvent is an ejection or return decided under mu, applied to the
// child and recorded after.
type pendingEvent struct {
	ep *endpoint
	ev EjectionEvent
}

// update applies a new config and endpoint set; it returns the returns of
// ejected endpoints that left the set. Called with childMu held.
func (b *ejector) update(cfg *odConfig, eps []resolver.Endpoint) []pendingEvent {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.log == nil {
		if b.log = lookupLog(cfg.logID); b.log != nil {
			b.conn = b.log.attach()
		}
	}
	b.cfg = cfg
	next := resolver.NewEndpointMap[*endpoint]()
	b.order = b.order[:0]
	b.byAddr = map[string]*endpoint{}
	for _, ep := range eps {
		if len(ep.Addresses) == 0 {
			continue
		}
		e, ok := b.eps.Get(ep)
		if !ok {
			e = newEndpoint(ep.Addresses[0].Addr)
		}
		if _, dup := next.Get(ep); dup {
			continue
		}
		next.Set(ep, e)
		b.order = append(b.order, e)
		for _, a := range ep.Addresses {
			if _, dup := b.byAddr[a.Addr]; !dup {
				b.byAddr[a.Addr] = e
			}
		}
	}
	var gone []pendingEvent
	now := time.Now()
	for ep, e := range b.eps.All() {
		if _, ok := next.Get(ep); !ok && e.ejected() {
			e.ejectedAt = time.Time{}
			gone = append(gone, pendingEvent{ep: e, ev: EjectionEvent{At: now, Addr: e.addr, Kind: Unejected, Reason: ReturnRemoved}})
		}
	}
	b.eps = next
	b.schedule(now)
	return gone
}

// schedule (re)starts the sweep timer as A50 says: a first config starts a
// full interval and resets the counters; a later one keeps the phase of
// the previous sweep. Called with mu held.
func (b *ejector) schedule(now time.Time) {
	if b.timer != nil {
		b.timer.Stop()
	}
	wait := b.cfg.s.interval
	if b.lastSweep.IsZero() {
		b.lastSweep = now
		for _, e := range b.order {
			e.take()
		}
	} else {
		wait = max(0, wait-now.Sub(b.lastSweep))
	}
	b.timer = time.AfterFunc(wait, b.sweep)
}

// sweep is A50's interval timer: judge the last interval, eject and return
// endpoints, and start the next interval.
func (b *ejector) sweep() {
	b.childMu.Lock()
	defer b.childMu.Unlock()
	if b.closed {
		return
	}
	events := b.judge(time.Now())
	for _, u := range events {
		b.setEjected(u.ep, u.ev.Kind == Ejected)
	}
	b.record(events)
}

// judge decides the sweep's ejections and returns. Called with childMu held.
func (b *ejector) judge(now time.Time) []pendingEvent {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.lastSweep = now
	s := &b.cfg.s
	samples := make([]epSample, len(b.order))
	for i, e := range b.order {
		succ, fail := e.take()
		samples[i] = epSample{succ: succ, fail: fail, ejected: e.ejected()}
	}
	var out []pendingEvent
	for _, v := range detect(s, samples, func() int { return rand.IntN(100) }) {
		e := b.order[v.idx]
		e.ejectedAt = now
		e.times++
		out = append(out, pendingEvent{ep: e, ev: EjectionEvent{At: now, Addr: e.addr, Kind: Ejected, Reason: v.reason,
			Times: e.times, For: ejectionTime(s, e.times), Calls: samples[v.idx].volume(), Failures: samples[v.idx].fail}})
	}
	for i, e := range b.order {
		switch {
		case !samples[i].ejected:
			if !e.ejected() && e.times > 0 {
				e.times--
			}
		case now.After(e.ejectedAt.Add(ejectionTime(s, e.times))):
			e.ejectedAt = time.Time{}
			out = append(out, pendingEvent{ep: e, ev: EjectionEvent{At: now, Addr: e.addr, Kind: Unejected, Reason: ReturnExpired}})
		}
	}
	b.timer = time.AfterFunc(s.interval, b.sweep)
	return out
}

// setEjected tells the child about an ejection or return of every SubConn
// of e. Called with childMu held.
func (b *ejector) setEjected(e *endpoint, ejected bool) {
	b.mu.Lock()
	scs := make([]*subConn, 0, len(e.subConns))
	for sc := range e.subConns {
		scs = append(scs, sc)
	}
	b.mu.Unlock()
	for _, sc := range scs {
		sc.setEjected(ejected)
	}
}

func (b *ejector) record(events []pendingEvent) {
	if b.log == nil || len(events) == 0 {
		return
	}
	ev := make([]EjectionEvent, len(events))
	for i, u := range events {
		ev[i] = u.ev
		ev[i].Conn = b.conn
	}
	b.log.add(ev...)
}

// ResolverError implements balancer.Balancer.
func (b *ejector) ResolverError(err error) {
	b.childMu.Lock()
	defer b.childMu.Unlock()
	if b.child != nil && !b.closed {
		b.child.ResolverError(err)
	}
}

// UpdateSubConnState implements balancer.Balancer; grpc-go delivers SubConn
// states to the listeners instead.
func (b *ejector) UpdateSubConnState(balancer.SubConn, balancer.SubConnState) {}

// ExitIdle implements balancer.Balancer.
func (b *ejector) ExitIdle() {
	b.childMu.Lock()
	defer b.childMu.Unlock()
	if b.child != nil && !b.closed {
		b.child.ExitIdle()
	}
}

// Close implements balancer.Balancer.
func (b *ejector) Close() {
	b.childMu.Lock()
	b.closed = true
	if b.child != nil {
		b.child.Close()
	}
	b.childMu.Unlock()
	b.mu.Lock()
	if b.timer != nil {
		b.timer.Stop()
	}
	b.mu.Unlock()
}

// NewSubConn implements balancer.ClientConn for the child: the SubConn is
// wrapped so its health can be overridden and its calls counted.
func (b *ejector) NewSubConn(addrs []resolver.Address, opts balancer.NewSubConnOptions) (balancer.SubConn, error) {
	sc := &subConn{b: b, listener: opts.StateListener, done: noteNothing}
	opts.StateListener = sc.onState
	real, err := b.ClientConn.NewSubConn(addrs, opts)
	if err != nil {
		return nil, err
	}
	sc.SubConn = real
	if len(addrs) == 1 {
		b.mu.Lock()
		if e, ok := b.byAddr[addrs[0].Addr]; ok {
			sc.ep = e
			sc.done = e.done
			sc.ejected = e.ejected()
			e.subConns[sc] = struct{}{}
		}
		b.mu.Unlock()
	}
	return sc, nil
}

func noteNothing(balancer.DoneInfo) {}

// RemoveSubConn implements balancer.ClientConn (deprecated in grpc-go).
func (b *ejector) RemoveSubConn(sc balancer.SubConn) {
	if w, ok := sc.(*subConn); ok {
		sc = w.SubConn
	}
	b.ClientConn.RemoveSubConn(sc)
}

// UpdateAddresses implements balancer.ClientConn (deprecated in grpc-go).
func (b *ejector) UpdateAddresses(sc balancer.SubConn, addrs []resolver.Address) {
	if w, ok := sc.(*subConn); ok {
		sc = w.SubConn
	}
	b.ClientConn.UpdateAddresses(sc, addrs)
}

// UpdateState implements balancer.ClientConn: the child's picker is wrapped
// to count call results.
func (b *ejector) UpdateState(s balancer.State) {
	s.Picker = &odPicker{child: s.Picker}
	b.ClientConn.UpdateState(s)
}

// forget drops a shut-down SubConn from its endpoint.
func (b *ejector) forget(sc *subConn) {
	if sc.ep == nil {
		return
	}
	b.mu.Lock()
	delete(sc.ep.subConns, sc)
	b.mu.Unlock()
}

// odPicker delegates to the child's picker and counts each finished call
// on the picked endpoint: one atomic add, no allocation when the child's
// pick has no Done callback of its own.
type odPicker struct{ child balancer.Picker }

func (p *odPicker) Pick(info balancer.PickInfo) (balancer.PickResult, error) {
	r, err := p.child.Pick(info)
	if err != nil {
		return r, err
	}
	sc, ok := r.SubConn.(*subConn)
	if !ok {
		return r, nil
	}
	r.SubConn = sc.SubConn
	if r.Done == nil {
		r.Done = sc.done
	} else {
		childDone, done := r.Done, sc.done
		r.Done = func(di balancer.DoneInfo) {
			done(di)
			childDone(di)
		}
	}
	return r, nil
}

// subConn wraps a SubConn of the child policy.
type subConn struct {
	balancer.SubConn
	b        *ejector
	ep       *endpoint                   // nil when not tracked (several addresses, unknown address)
	done     func(balancer.DoneInfo)     // ep.done, or a no-op
	listener func(balancer.SubConnState) // the child's state listener

	mu         sync.Mutex
	state      connectivity.State
	health     func(balancer.SubConnState) // the child's health listener
	gen        uint64                      // registration generation of health
	lastHealth *balancer.SubConnState      // latest health update of gen
	ejected    bool
}

// onState receives the SubConn's connectivity state from grpc-go. A new
// state ends the health listener registration, as in grpc-go: the child
// registers again when the SubConn is READY.
func (sc *subConn) onState(s balancer.SubConnState) {
	sc.mu.Lock()
	sc.state = s.ConnectivityState
	sc.health = nil
	sc.gen++
	sc.lastHealth = nil
	sc.mu.Unlock()
	if s.ConnectivityState == connectivity.Shutdown {
		sc.b.forget(sc)
	}
	sc.b.childMu.Lock()
	defer sc.b.childMu.Unlock()
	if !sc.b.closed && sc.listener != nil {
		sc.listener(s)
	}
}

// RegisterHealthListener implements balancer.SubConn: the child's listener
// is kept, and a listener of ours is registered with the real SubConn so
// that its updates can be held back while the endpoint is ejected.
func (sc *subConn) RegisterHealthListener(l func(balancer.SubConnState)) {
	sc.mu.Lock()
	defer sc.mu.Unlock()
	if sc.state != connectivity.Ready {
		return
	}
	sc.gen++
	gen := sc.gen
	sc.health = l
	sc.lastHealth = nil
	if l == nil {
		sc.SubConn.RegisterHealthListener(nil)
		return
	}
	sc.SubConn.RegisterHealthListener(func(s balancer.SubConnState) { sc.onHealth(gen, s) })
}

func (sc *subConn) onHealth(gen uint64, s balancer.SubConnState) {
	sc.b.childMu.Lock()
	defer sc.b.childMu.Unlock()
	sc.mu.Lock()
	if gen != sc.gen {
		sc.mu.Unlock()
		return
	}
	sc.lastHealth = &s
	l, ejected := sc.health, sc.ejected
	sc.mu.Unlock()
	if !ejected && l != nil && !sc.b.closed {
		l(s)
	}
}

// setEjected reports TRANSIENT_FAILURE to the child's health listener on
// ejection, and the latest real health state on return. Called with
// childMu held.
func (sc *subConn) setEjected(ejected bool) {
	sc.mu.Lock()
	if sc.ejected == ejected {
		sc.mu.Unlock()
		return
	}
	sc.ejected = ejected
	l, last := sc.health, sc.lastHealth
	sc.mu.Unlock()
	switch {
	case l == nil:
	case ejected:
		l(balancer.SubConnState{ConnectivityState: connectivity.TransientFailure, ConnectionError: errEjected})
	case last != nil:
		l(*last)
	}
}
