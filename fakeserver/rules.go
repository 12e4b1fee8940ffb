package fakeserver

import (
	"strings"
	"sync/atomic"
	"time"

	"google.golang.org/grpc/codes"
)

// rule is a call-level fault compiled for one backend: its window, its
// random stream and its every-Nth counter.
type rule struct {
	kind                Kind
	fault               *Fault
	win                 Window
	draws               *draws
	seen                atomic.Int64 // matching calls, for every_nth
	perCall, perMessage bool
}

// fires decides whether the rule applies to this call: by every_nth when
// set, else by rate (nil means 1). It also returns the draw number so a
// latency sample comes from the same stream.
func (r *rule) fires(rate *float64, everyNth int) (bool, uint64) {
	n := r.draws.next()
	if everyNth > 0 {
		return r.seen.Add(1)%int64(everyNth) == 0, n
	}
	if rate == nil || *rate >= 1 {
		return true, n
	}
	return r.draws.unit(n, 0) < *rate, n
}

// rules is everything a backend does besides serving: compiled from the
// faults that select it.
type rules struct {
	calls       [numMethods][]*rule // latency, error, abort, stall, orca in file order
	pauses      []Window
	downs       []Window
	kills       []Kill
	health      []*Health
	goaway      *GoAway
	keepalive   *Keepalive
	maxInflight int64
	mcs         uint32
}

func compile(cfg Config, backend int) *rules {
	rs := &rules{mcs: cfg.MaxConcurrentStreams}
	for i := range cfg.Faults {
		f := &cfg.Faults[i]
		if !selects(f.Backend, backend) {
			continue
		}
		switch k := f.Kind(); k {
		case KindPause:
			rs.pauses = append(rs.pauses, f.Pause.Window)
		case KindDown:
			rs.downs = append(rs.downs, f.Down.Window)
		case KindKill:
			rs.kills = append(rs.kills, *f.Kill)
		case KindHealth:
			rs.health = append(rs.health, f.Health)
		case KindGoAway:
			rs.goaway = f.GoAway
		case KindKeepalive:
			rs.keepalive = f.Keepalive
		case KindCapacity:
			if f.Capacity.MaxInflight > 0 {
				rs.maxInflight = int64(f.Capacity.MaxInflight)
			}
			if f.Capacity.MaxConcurrentStreams > 0 {
				rs.mcs = f.Capacity.MaxConcurrentStreams
			}
		default:
			r := &rule{kind: k, fault: f, win: f.Window,
				draws: newDraws(cfg.Seed, uint64(backend), uint64(i))}
			if k == KindLatency {
				switch f.Latency.Per {
				case "", "call":
					r.perCall = true
				case "message":
					r.perMessage = true
				case "both":
					r.perCall, r.perMessage = true, true
				}
			}
			for m := range numMethods {
				if selectsMethod(f.Method, m) {
					rs.calls[m] = append(rs.calls[m], r)
				}
			}
		}
	}
	return rs
}

func selects(list IntList, backend int) bool {
	if len(list) == 0 {
		return true
	}
	for _, b := range list {
		if b == backend {
			return true
		}
	}
	return false
}

func selectsMethod(list MethodList, m methodID) bool {
	if len(list) == 0 {
		return true
	}
	for _, s := range list {
		if mm, ok := parseMethod(s); ok && mm == m {
			return true
		}
	}
	return false
}

// pauseEnd returns when the pause containing elapsed time t ends, if any.
func (rs *rules) pauseEnd(t time.Duration) (time.Duration, bool) {
	var end time.Duration
	found := false
	for _, w := range rs.pauses {
		if e, ok := w.End(t); ok && e > end {
			end, found = e, true
		}
	}
	return end, found
}

// isDown reports whether a down window covers t.
func (rs *rules) isDown(t time.Duration) bool {
	for _, w := range rs.downs {
		if w.Active(t) {
			return true
		}
	}
	return false
}

// healthAt returns the health status per service at t: the last active
// health fault for a service wins; SERVING otherwise.
func (rs *rules) healthAt(t time.Duration) map[string]string {
	st := map[string]string{}
	for _, h := range rs.health {
		if h.Window.Active(t) {
			s := strings.ToUpper(h.Status)
			if s == "" {
				s = "NOT_SERVING"
			}
			st[h.Service] = s
		}
	}
	return st
}

// nextEdge returns the first time after t at which a down or health window
// opens or closes or a kill is due.
func (rs *rules) nextEdge(t time.Duration) (time.Duration, bool) {
	var next time.Duration
	found := false
	consider := func(e time.Duration, ok bool) {
		if ok && e > t && (!found || e < next) {
			next, found = e, true
		}
	}
	for _, w := range rs.downs {
		consider(w.NextEdge(t))
	}
	for _, h := range rs.health {
		consider(h.Window.NextEdge(t))
	}
	for _, k := range rs.kills {
		consider(k.next(t))
	}
	return next, found
}

// next returns the first kill time after t.
func (k Kill) next(t time.Duration) (time.Duration, bool) {
	if t < k.At {
		return k.At, true
	}
	if k.Every <= 0 {
		return 0, false
	}
	return k.At + ((t-k.At)/k.Every+1)*k.Every, true
}

// due reports whether a kill falls in (from, to].
func (k Kill) due(from, to time.Duration) bool {
	n, ok := k.next(from)
	return ok && n <= to
}

// defaultMessage is the status message of an injected error.
func defaultMessage(kind Kind, c codes.Code, msg string) string {
	if msg != "" {
		return msg
	}
	return "fakeserver: injected " + string(kind) + " " + codeName(c)
}
