package fakeserver

import (
	"context"
	"sync/atomic"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/tap"

	"github.com/grpcbench/grpcbench/internal/statuscode"
)

const numCodes = 17

// counters are a backend's live counters: atomics only, so the serving path
// takes no lock.
type counters struct {
	calls, retries, msgsIn, msgsOut [numMethods]atomic.Int64
	arrived                         [numMethods]atomic.Int64
	codes                           [numCodes]atomic.Int64
	faults                          [numKinds][numCodes]atomic.Int64
	inflight, maxInflight           atomic.Int64
	conns, connsTotal               atomic.Int64
}

// numKinds is len(Kinds): a Kind's index in kinds is its row in
// counters.faults.
const numKinds = 12

func kindIndex(k Kind) int {
	for i, x := range Kinds {
		if x == k {
			return i
		}
	}
	return 0
}

func (c *counters) fault(k Kind, code codes.Code) {
	if code >= numCodes {
		code = codes.Unknown
	}
	c.faults[kindIndex(k)][code].Add(1)
}

func (c *counters) code(code codes.Code) {
	if code >= numCodes {
		code = codes.Unknown
	}
	c.codes[code].Add(1)
}

// Stats is a snapshot of a cluster's counters.
type Stats struct {
	Backends []BackendStats `json:"backends"`
}

// BackendStats is a snapshot of one backend's counters. Maps hold only
// non-zero entries.
type BackendStats struct {
	// Index is the backend's position in the cluster, from 0.
	Index int `json:"index"`
	// Addr is the backend's listen address.
	Addr string `json:"addr"`
	// Calls counts calls that reached the backend, per short method name
	// (every attempt counts: this is what a client's attempt count must
	// equal).
	Calls map[string]int64 `json:"calls,omitempty"`
	// Arrived counts, per method, the calls whose headers reached the
	// backend (counted by the transport, before the handler): also those a
	// client cancelled before the handler ran or read the request, which
	// Calls misses. It is what a hedging client's attempt count must equal;
	// Arrived − Calls is the work the server never started.
	Arrived map[string]int64 `json:"arrived,omitempty"`
	// Retries counts calls carrying grpc-previous-rpc-attempts, per method.
	Retries map[string]int64 `json:"retries,omitempty"`
	// MessagesIn and MessagesOut count stream messages received and sent,
	// per method (unary calls count one each way).
	MessagesIn  map[string]int64 `json:"messages_in,omitempty"`
	MessagesOut map[string]int64 `json:"messages_out,omitempty"`
	// Codes counts finished calls by status code name.
	Codes map[string]int64 `json:"codes,omitempty"`
	// Faults counts injected faults: "kind" for faults without a code
	// (latency, stall, pause, kill, down), "kind/CODE" for the others
	// (error/UNAVAILABLE, abort/ABORTED, capacity/RESOURCE_EXHAUSTED).
	Faults map[string]int64 `json:"faults,omitempty"`
	// Inflight is the number of calls in flight now; MaxInflight the most
	// seen at once.
	Inflight    int64 `json:"inflight"`
	MaxInflight int64 `json:"max_inflight"`
	// Connections is the number of open connections; ConnectionsTotal the
	// number ever accepted.
	Connections      int64 `json:"connections"`
	ConnectionsTotal int64 `json:"connections_total"`
	// Error is the last failure to listen again after a down window, or
	// to listen at all for a backend added mid-run ("" if none).
	Error string `json:"error,omitempty"`
	// AddedAt is when the backend joined, from the cluster's start (0 for
	// the initial backends).
	AddedAt time.Duration `json:"added_at,omitempty"`
	// Removed reports whether the backend has left the membership, at
	// RemovedAt from the cluster's start.
	Removed   bool          `json:"removed,omitempty"`
	RemovedAt time.Duration `json:"removed_at,omitempty"`
}

// TotalCalls sums Calls over methods.
func (b BackendStats) TotalCalls() int64 { return sum(b.Calls) }

// TotalRetries sums Retries over methods.
func (b BackendStats) TotalRetries() int64 { return sum(b.Retries) }

// TotalCalls sums calls over backends and methods.
func (s Stats) TotalCalls() int64 {
	var n int64
	for _, b := range s.Backends {
		n += b.TotalCalls()
	}
	return n
}

// TotalRetries sums retry attempts over backends and methods.
func (s Stats) TotalRetries() int64 {
	var n int64
	for _, b := range s.Backends {
		n += b.TotalRetries()
	}
	return n
}

// Fault sums an injected-fault counter ("error/UNAVAILABLE", "pause") over
// backends.
func (s Stats) Fault(key string) int64 {
	var n int64
	for _, b := range s.Backends {
		n += b.Faults[key]
	}
	return n
}

func sum(m map[string]int64) int64 {
	var n int64
	for _, v := range m {
		n += v
	}
	return n
}

func (c *counters) snapshot(index int, addr string) BackendStats {
	b := BackendStats{
		Index: index, Addr: addr,
		Calls: map[string]int64{}, Arrived: map[string]int64{}, Retries: map[string]int64{},
		MessagesIn: map[string]int64{}, MessagesOut: map[string]int64{},
		Codes: map[string]int64{}, Faults: map[string]int64{},
		Inflight: c.inflight.Load(), MaxInflight: c.maxInflight.Load(),
		Connections: c.conns.Load(), ConnectionsTotal: c.connsTotal.Load(),
	}
	put := func(m map[string]int64, k string, v int64) {
		if v != 0 {
			m[k] = v
		}
	}
	for m := range numMethods {
		put(b.Calls, m.String(), c.calls[m].Load())
		put(b.Arrived, m.String(), c.arrived[m].Load())
		put(b.Retries, m.String(), c.retries[m].Load())
		put(b.MessagesIn, m.String(), c.msgsIn[m].Load())
		put(b.MessagesOut, m.String(), c.msgsOut[m].Load())
	}
	for i := range numCodes {
		put(b.Codes, codeName(codes.Code(i)), c.codes[i].Load())
	}
	for ki, k := range Kinds {
		for ci := range numCodes {
			key := string(k)
			if ci != 0 {
				key += "/" + codeName(codes.Code(ci))
			}
			put(b.Faults, key, c.faults[ki][ci].Load())
		}
	}
	return b
}

func codeName(c codes.Code) string { return statuscode.Name(c) }

// arrived is the backend's tap.ServerInHandle: it counts every stream whose
// headers arrive, on the transport's reader goroutine (no allocation).
func (b *backend) arrived(ctx context.Context, info *tap.Info) (context.Context, error) {
	for m := range numMethods {
		if info.FullMethodName == fullMethodNames[m] {
			b.ctr.arrived[m].Add(1)
			break
		}
	}
	return ctx, nil
}
