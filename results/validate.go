package results

import (
	"errors"
	"fmt"
	"math"
	"sort"
	"strconv"

	"github.com/grpcbench/grpcbench/field"
)

// maxProblems bounds the problems Validate lists; the rest are counted.
const maxProblems = 20

// problems collects validation errors, each a *field.Error with a path.
type problems struct {
	errs []error
	more int
}

func (p *problems) addf(path, format string, args ...any) {
	if len(p.errs) < maxProblems {
		p.errs = append(p.errs, field.Errorf(path, format, args...))
		return
	}
	p.more++
}

// count checks the counter path.name: never negative. The path is built
// only for a problem.
func (p *problems) count(path, name string, v int64) {
	if v < 0 {
		p.addf(field.Join(path, name), "%d is negative", v)
	}
}

// rate checks the rate path.name: a finite number, never negative.
func (p *problems) rate(path, name string, v float64) {
	if math.IsNaN(v) || math.IsInf(v, 0) || v < 0 {
		p.addf(field.Join(path, name), "%v is not a finite non-negative rate", v)
	}
}

// counts checks the map of counters path.name, in key order.
func (p *problems) counts(path, name string, m map[string]int64) {
	var bad []string
	for k, v := range m {
		if v < 0 {
			bad = append(bad, k)
		}
	}
	sort.Strings(bad)
	for _, k := range bad {
		p.addf(pathKey(field.Join(path, name), k), "%d is negative", m[k])
	}
}

func (p *problems) err() error {
	if p.more > 0 {
		p.errs = append(p.errs, fmt.Errorf("… and %d more problems", p.more))
	}
	return errors.Join(p.errs...)
}

// Validate checks the structure of a run: the schema; cells present, with
// unique non-empty IDs and one param per dimension, in the dimensions'
// order; counters, durations and offsets never negative; errors never
// above calls; rates finite and never negative. It returns the problems
// joined (at most 20 listed), each a *field.Error naming its JSON path, e.g.
// "cells[3].methods.GetUser.errors: 7 not in [0, calls=5]".
func (r *Run) Validate() error {
	var p problems
	if r.Schema != Schema {
		p.addf("schema", "%q is not %q", r.Schema, Schema)
	}
	if sh := r.Shard; sh != nil && (sh.Count < 1 || sh.Index < 0 || sh.Index >= sh.Count) {
		p.addf("shard", "index %d is not in [0, count=%d)", sh.Index, sh.Count)
	}
	seen := make(map[string]int, len(r.Cells))
	for i, c := range r.Cells {
		path := pathIndex("cells", i)
		if c == nil {
			p.addf(path, "null cell")
			continue
		}
		if c.ID == "" {
			p.addf(path+".id", "empty")
		} else if j, dup := seen[c.ID]; dup {
			p.addf(path+".id", "%q duplicates cells[%d]", c.ID, j)
		} else {
			seen[c.ID] = i
		}
		c.validate(&p, path, r.Dimensions)
	}
	return p.err()
}

func (c *Cell) validate(p *problems, path string, dims []string) {
	p.count(path, "index", int64(c.Index))
	p.count(path, "repeat", int64(c.Repeat))
	if len(dims) > 0 && len(c.Params) != len(dims) {
		p.addf(path+".params", "%d params for %d dimensions", len(c.Params), len(dims))
	} else {
		for j, pr := range c.Params {
			if j < len(dims) && pr.Path != dims[j] {
				p.addf(pathIndex(path+".params", j)+".path", "%q is not dimensions[%d] %q", pr.Path, j, dims[j])
			}
		}
	}
	p.count(path, "duration_ns", int64(c.Duration))
	c.Load.validate(p, path+".load")
	if c.Health != nil {
		c.Health.validate(p, path+".health")
	}
	names := make([]string, 0, len(c.Methods))
	for name := range c.Methods {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		mp := pathKey(path+".methods", name)
		if m := c.Methods[name]; m == nil {
			p.addf(mp, "null")
		} else {
			m.validate(p, mp)
		}
	}
	if c.All != nil {
		c.All.validate(p, path+".all")
	}
	c.Retry.validate(p, path+".retry")
	c.Breaker.validate(p, path+".breaker")
	for j, cs := range c.Pool.Conns {
		if cs.Picks < 0 || cs.StateChanges < 0 {
			cp := pathIndex(path+".pool.conns", j)
			p.count(cp, "picks", cs.Picks)
			p.count(cp, "state_changes", cs.StateChanges)
		}
	}
	for j, b := range c.Backends {
		bp := pathIndex(path+".backends", j)
		p.count(bp, "client_calls", b.ClientCalls)
		p.count(bp, "server_calls", b.ServerCalls)
		p.count(bp, "server_retries", b.ServerRetries)
		p.count(bp, "server_max_inflight", b.ServerMaxInflight)
		p.counts(bp, "server_codes", b.ServerCodes)
		p.counts(bp, "server_faults", b.ServerFaults)
	}
	p.count(path, "bytes_sent", c.BytesSent)
	p.count(path, "bytes_received", c.BytesReceived)
	c.validateSeries(p, path+".series")
	for j, f := range c.Faults {
		fp := pathIndex(path+".faults", j)
		p.count(fp, "start_ns", int64(f.Start))
		p.count(fp, "end_ns", int64(f.End))
		for k, b := range f.Backends {
			p.count(fp, "backends["+strconv.Itoa(k)+"]", int64(b))
		}
	}
}

func (l *Load) validate(p *problems, path string) {
	p.rate(path, "target_rate", l.TargetRate)
	p.rate(path, "achieved_rate", l.AchievedRate)
	p.count(path, "workers", int64(l.Workers))
	p.count(path, "scheduled", l.Scheduled)
	p.count(path, "sent", l.Sent)
	p.count(path, "completed", l.Completed)
	p.count(path, "dropped", l.Dropped)
	p.count(path, "max_lag_ns", int64(l.MaxLag))
}

func (m *MethodStats) validate(p *problems, path string) {
	p.count(path, "calls", m.Calls)
	if m.Calls >= 0 && (m.Errors < 0 || m.Errors > m.Calls) {
		p.addf(path+".errors", "%d not in [0, calls=%d]", m.Errors, m.Calls)
	}
	p.counts(path, "codes", m.Codes)
}

func (r *Retry) validate(p *problems, path string) {
	p.count(path, "calls", r.Calls)
	p.count(path, "attempts", r.Attempts)
	p.count(path, "retried", r.Retried)
	p.count(path, "gave_up", r.GaveUp)
	p.count(path, "pushback_waits", r.PushbackWaits)
	for k, n := range r.AttemptsPerCall {
		if n < 0 {
			p.count(path, "attempts_per_call["+strconv.Itoa(k)+"]", n)
		}
	}
}

func (b *Breaker) validate(p *problems, path string) {
	p.count(path, "trips", b.Trips)
	p.count(path, "rejections", b.Rejections)
	p.count(path, "time_open_ns", int64(b.TimeOpen))
}

func (c *Cell) validateSeries(p *problems, path string) {
	for j, s := range c.Series {
		if s.T >= 0 && s.Calls >= 0 && s.Errors >= 0 && s.Errors <= s.Calls && s.P50 >= 0 && s.P99 >= 0 && s.Max >= 0 {
			continue
		}
		sp := pathIndex(path, j)
		p.count(sp, "t", int64(s.T))
		p.count(sp, "calls", s.Calls)
		if s.Calls >= 0 && (s.Errors < 0 || s.Errors > s.Calls) {
			p.addf(sp+".errors", "%d not in [0, calls=%d]", s.Errors, s.Calls)
		}
		p.count(sp, "p50_ns", int64(s.P50))
		p.count(sp, "p99_ns", int64(s.P99))
		p.count(sp, "max_ns", int64(s.Max))
	}
}
