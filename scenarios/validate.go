package scenarios

import (
	"errors"
	"fmt"
	"math"
	"net"
	"strings"
	"time"

	"github.com/grpcbench/grpcbench/fakeserver"
	"github.com/grpcbench/grpcbench/field"
	"github.com/grpcbench/grpcbench/internal/yamlx"
	"github.com/grpcbench/grpcbench/lb"
	"github.com/grpcbench/grpcbench/retry"
)

// Validate checks a scenario with defaults filled. Errors are *field.Error
// values with paths from the root ("load.rate").
func (s *Scenario) Validate() error {
	v := &validator{}
	v.server(s)
	v.load(&s.Load)
	v.mix(s)
	v.client(s)
	if s.Repeat < 1 || s.Repeat > MaxRepeat {
		v.fail("repeat", "must be between 1 and %d, got %d", MaxRepeat, s.Repeat)
	}
	return errors.Join(v.errs...)
}

// validator collects field errors.
type validator struct{ errs []error }

func (v *validator) fail(path, format string, args ...any) {
	v.errs = append(v.errs, field.Errorf(path, format, args...))
}

func (v *validator) add(err error) {
	if err != nil {
		v.errs = append(v.errs, err)
	}
}

func (v *validator) server(s *Scenario) {
	srv := &s.Server
	v.add(field.Prefix("server", srv.Target.Validate()))
	if !srv.Target.IsZero() {
		if len(srv.Faults) > 0 || srv.Backends != 0 || srv.Config.TLS != nil || len(srv.Addrs) > 0 {
			v.fail("server", "target (an external server) cannot have backends, addrs, faults or tls; those configure the embedded fake server")
		}
	} else {
		for _, a := range srv.Addrs {
			if host, _, err := net.SplitHostPort(a); err == nil && !isLoopback(host) {
				v.fail("server.addrs", "%q is not a loopback address", a)
			}
		}
		v.add(field.Prefix("server", srv.Config.Validate()))
	}
	if len(srv.Protoset) > 0 && len(srv.Proto) > 0 {
		v.fail("server.proto", "give proto or protoset, not both")
	}
	if srv.Reflection != nil && *srv.Reflection && (len(srv.Protoset) > 0 || len(srv.Proto) > 0) {
		v.fail("server.reflection", "reflection and descriptor files exclude each other: leave reflection out to use the files")
	}
	if len(srv.ImportPaths) > 0 && len(srv.Proto) == 0 {
		v.fail("server.import_paths", "applies to server.proto files")
	}
}

func (v *validator) load(l *Load) {
	switch l.Model {
	case ModelOpen:
		v.openLoad(l)
	case ModelClosed:
		if l.Rate != 0 || len(l.Stages) > 0 {
			v.fail("load.rate", "belongs to the open model; the closed model uses workers")
		}
		if l.Workers < 1 || l.Workers > MaxWorkers {
			v.fail("load.workers", "must be between 1 and %d, got %d", MaxWorkers, l.Workers)
		}
		if l.Think < 0 {
			v.fail("load.think", "must not be negative")
		}
		if l.Arrivals != "" {
			v.fail("load.arrivals", "belongs to the open model")
		}
	default:
		v.fail("load.model", "must be open or closed, got %q", l.Model)
	}
	if l.Duration <= 0 || l.Duration > MaxDuration {
		v.fail("load.duration", "must be between 1ns and %s, got %s", MaxDuration, l.Duration)
	}
	if l.Warmup < 0 || l.Warmup > MaxDuration {
		v.fail("load.warmup", "must be between 0 and %s, got %s", MaxDuration, l.Warmup)
	}
	if l.MaxCalls < 1 {
		v.fail("load.max_calls", "must be at least 1, got %d", l.MaxCalls)
	}
}

func (v *validator) openLoad(l *Load) {
	if len(l.Stages) > 0 && l.Rate != 0 {
		v.fail("load.rate", "give rate or stages, not both")
	}
	if l.Rate < 0 || l.Rate > MaxRate || math.IsNaN(l.Rate) {
		v.fail("load.rate", "must be between 0 and %d calls/s, got %g", MaxRate, l.Rate)
	}
	var sum time.Duration
	for i, st := range l.Stages {
		p := fmt.Sprintf("load.stages[%d]", i)
		if st.Duration <= 0 {
			v.fail(p+".duration", "must be positive")
		}
		if st.Rate < 0 || st.Rate > MaxRate || math.IsNaN(st.Rate) {
			v.fail(p+".rate", "must be between 0 and %d calls/s, got %g", MaxRate, st.Rate)
		}
		sum += st.Duration
	}
	if len(l.Stages) > 0 && sum != l.Duration {
		v.fail("load.duration", "is %s but the stages add up to %s; leave it out", l.Duration, sum)
	}
	switch l.Arrivals {
	case "uniform", "poisson":
	default:
		v.fail("load.arrivals", "must be uniform or poisson, got %q", l.Arrivals)
	}
	if l.MaxInflight < 1 || l.MaxInflight > MaxWorkers {
		v.fail("load.max_inflight", "must be between 1 and %d, got %d", MaxWorkers, l.MaxInflight)
	}
	if l.Workers != 0 {
		v.fail("load.workers", "belongs to the closed model; the open model uses max_inflight")
	}
	if l.Think != 0 {
		v.fail("load.think", "belongs to the closed model")
	}
}

func (v *validator) mix(s *Scenario) {
	total := 0.0
	for i, e := range s.Mix {
		p := fmt.Sprintf("mix[%d]", i)
		if strings.TrimSpace(e.Call) == "" {
			v.fail(p+".call", "is required: the method to call, e.g. package.Service/Method")
		}
		if e.Weight < 0 || math.IsNaN(e.Weight) || math.IsInf(e.Weight, 0) {
			v.fail(p+".weight", "must be positive, got %g", e.Weight)
		}
		total += e.Weight
		if e.Messages < 0 || e.Messages > MaxMessages {
			v.fail(p+".messages", "must be between 1 and %d, got %d", MaxMessages, e.Messages)
		}
		if e.DataFile != "" && !e.Data.IsZero() {
			v.fail(p+".data_file", "give data or data_file, not both")
		}
	}
	if total <= 0 && len(s.Mix) > 0 {
		v.fail("mix", "weights add up to 0")
	}
	if s.Payload.RequestBytes < 0 || s.Payload.RequestBytes > fakeserver.MaxPadding {
		v.fail("payload.request_bytes", "must be between 0 and %d, got %d", fakeserver.MaxPadding, s.Payload.RequestBytes)
	}
	if s.Payload.ResponseBytes < 0 || s.Payload.ResponseBytes > fakeserver.MaxPadding {
		v.fail("payload.response_bytes", "must be between 0 and %d, got %d", fakeserver.MaxPadding, s.Payload.ResponseBytes)
	}
}

func (v *validator) client(s *Scenario) {
	c := &s.Client
	if c.Timeout < 0 {
		v.fail("client.timeout", "must not be negative")
	}
	v.add(field.Prefix("client", c.CallOptions.Validate()))
	v.add(field.Prefix("client", c.Config.Validate()))
	v.add(field.Prefix("client.metadata", c.Config.CheckMetadata(c.Metadata)))
	for i, e := range s.Mix {
		v.add(field.Prefix(fmt.Sprintf("mix[%d].metadata", i), c.Config.CheckMetadata(e.Metadata)))
	}
	v.add(field.Prefix("client.pool", c.Pool.Validate()))
	v.add(field.Prefix("client.lb", c.LB.Validate()))
	if c.Retry != nil {
		v.add(field.Prefix("client.retry", c.Retry.Validate()))
	}
	if c.Breaker != nil {
		v.add(field.Prefix("client.breaker", c.Breaker.Validate()))
	}
	v.resilience(s)
}

// resilience checks hedging, throttling, per-method policies and discovery.
func (v *validator) resilience(s *Scenario) {
	c := &s.Client
	native := c.Retry != nil && c.Retry.Mode == retry.ModeNative
	if c.Hedging != nil {
		v.add(field.Prefix("client.hedging", c.Hedging.Validate()))
		if c.Retry != nil {
			v.fail("client.hedging", "a method has retry or hedging, not both (gRPC's service config allows one): remove client.retry, or give retry or hedging per mix entry")
		}
	}
	if c.RetryThrottling != nil {
		v.add(field.Prefix("client.retry_throttling", c.RetryThrottling.Validate()))
	}
	v.add(field.Prefix("client.discovery", c.Discovery.Validate()))
	if c.Discovery.EffectiveSource() != lb.SourceStatic && !s.Server.Target.IsZero() {
		v.fail("client.discovery.source", "file and etcd discovery follow the embedded fake server's backends (server.events); for your own service give server.target (e.g. dns:///name:port) or server.targets")
	}
	for i, e := range s.Mix {
		p := fmt.Sprintf("mix[%d]", i)
		if e.Retry != nil {
			v.add(field.Prefix(p+".retry", e.Retry.Validate()))
			if e.Retry.Mode == retry.ModeNative || native {
				v.fail(p+".retry", "per-method retry runs in the wrapper mode (gRPC's native mode is configured for the whole client)")
			}
		}
		if e.Hedging != nil {
			v.add(field.Prefix(p+".hedging", e.Hedging.Validate()))
			if e.Retry != nil {
				v.fail(p+".hedging", "a method has retry or hedging, not both")
			}
		}
		if (e.Hedging != nil || c.Hedging != nil) && native {
			v.fail(p+".hedging", "hedging cannot run beside native retries: gRPC's service config would retry the same method")
		}
		if e.Timeout != nil && *e.Timeout <= 0 {
			v.fail(p+".timeout", "must be positive: leave it out for the client's %s", c.Timeout)
		}
	}
}

// explicitRule is a field whose zero value, when written, means nothing:
// left out it gets its default, written as zero (or empty) it is an error
// that says what to write instead.
type explicitRule struct {
	path string // may hold [*] for every element of a list
	zero func(s *Scenario, i int) bool
	msg  string
}

var explicitRules = []explicitRule{
	{"name", func(s *Scenario, _ int) bool { return s.Name == "" }, "is empty: leave it out to name the run after the file"},
	{"server.backends", func(s *Scenario, _ int) bool { return s.Server.Backends == 0 }, "0 backends serve nothing: leave it out for 1"},
	{"server.store_size", func(s *Scenario, _ int) bool { return s.Server.StoreSize == 0 }, "must be at least 1: leave it out for the default"},
	{"load.model", func(s *Scenario, _ int) bool { return s.Load.Model == "" }, "is empty: write open or closed, or leave it out for open"},
	{"load.rate", func(s *Scenario, _ int) bool { return s.Load.Rate == 0 && len(s.Load.Stages) == 0 }, "0 calls/s sends nothing: leave it out for 100, or use stages with a zero-rate stage for a pause"},
	{"load.stages", func(s *Scenario, _ int) bool { return len(s.Load.Stages) == 0 }, "is empty: give stages or leave it out and set rate"},
	{"load.arrivals", func(s *Scenario, _ int) bool { return s.Load.Arrivals == "" }, "is empty: write uniform or poisson, or leave it out for uniform"},
	{"load.max_inflight", func(s *Scenario, _ int) bool { return s.Load.MaxInflight == 0 }, "0 allows no call in flight: leave it out for 64"},
	{"load.workers", func(s *Scenario, _ int) bool { return s.Load.Workers == 0 }, "0 workers make no call: leave it out for 8"},
	{"load.duration", func(s *Scenario, _ int) bool { return s.Load.Duration == 0 }, "0s records nothing: leave it out for 10s"},
	{"load.max_calls", func(s *Scenario, _ int) bool { return s.Load.MaxCalls == 0 }, "0 calls is no run: leave it out for the schedule's count"},
	{"mix", func(s *Scenario, _ int) bool { return len(s.Mix) == 0 }, "is empty: give at least one {call: package.Service/Method}, or leave it out to call GetUser"},
	{"mix[*].weight", func(s *Scenario, i int) bool { return s.Mix[i].Weight == 0 }, "0 never picks this call: remove the entry, or leave weight out for 1"},
	{"mix[*].messages", func(s *Scenario, i int) bool { return s.Mix[i].Messages == 0 }, "0 makes an empty stream: leave it out for the default (10, or the number of messages in data)"},
	{"client.timeout", func(s *Scenario, _ int) bool { return s.Client.Timeout == 0 }, "0 is no deadline: leave it out for 5s, or give a long one"},
	{"client.pool.size", func(s *Scenario, _ int) bool { return s.Client.Pool.Size == 0 }, "0 connections carry no call: leave it out for 1"},
	{"client.pool.pick", func(s *Scenario, _ int) bool { return s.Client.Pool.Pick == "" }, "is empty: name a pick strategy, or leave it out for round_robin"},
	{"client.lb.policy", func(s *Scenario, _ int) bool { return s.Client.LB.Policy == "" }, "is empty: name a policy, or leave it out for round_robin"},
	{"client.retry.max_attempts", func(s *Scenario, _ int) bool { return s.Client.Retry != nil && s.Client.Retry.MaxAttempts == 0 }, "0 attempts never calls: max_attempts: 1 means no retries; leave it out for 3"},
	{"repeat", func(s *Scenario, _ int) bool { return s.Repeat == 0 }, "0 repeats run nothing: leave it out for 1"},
}

// checkExplicit reports the fields written with a value that has no meaning
// (see explicitRules). It runs on the decoded scenario before defaults are
// filled; pos tells which fields were written.
func checkExplicit(pos yamlx.Positions, s *Scenario) error {
	var errs []error
	for _, r := range explicitRules {
		if base, rest, each := strings.Cut(r.path, "[*]"); each {
			// Only mix entries have such rules.
			for i := range s.Mix {
				p := fmt.Sprintf("%s[%d]%s", base, i, rest)
				if _, written := pos[p]; written && r.zero(s, i) {
					errs = append(errs, field.Errorf(p, "%s", r.msg))
				}
			}
			continue
		}
		if _, written := pos[r.path]; written && r.zero(s, 0) {
			errs = append(errs, field.Errorf(r.path, "%s", r.msg))
		}
	}
	return errors.Join(errs...)
}
