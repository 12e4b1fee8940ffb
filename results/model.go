package results

import (
	"cmp"
	"slices"
	"time"
)

// Schema identifies the results file format. [Decode] rejects any other value.
const Schema = "grpcbench/results/v1"

// Run is the result of one grpcbench run: every cell of the scenario's matrix,
// with the provenance needed to reproduce or compare it.
//
// Durations in JSON are integer nanoseconds (fields ending in _ns); times are
// RFC 3339 with nanoseconds; histogram summaries are in microseconds.
type Run struct {
	// Schema is always [Schema]; it is set by [Encode] when empty.
	Schema string `json:"schema"`
	// Name is the scenario's name.
	Name string `json:"name"`
	// Partial is true when the run was interrupted (signal, fatal error) and
	// not every cell ran to completion.
	Partial bool `json:"partial"`
	// Started and Finished bound the whole run, wall clock.
	Started  time.Time `json:"started"`
	Finished time.Time `json:"finished"`
	// Provenance describes the tool and machine that produced the run.
	Provenance Provenance `json:"provenance"`
	// Scenario is the resolved scenario (defaults filled, overrides applied)
	// as a generic tree of maps, slices and scalars. After [Decode], numbers
	// in it are json.Number.
	Scenario any `json:"scenario,omitempty"`
	// Dimensions are the matrix paths in order, e.g. "client.pool.size".
	// Every cell has one Param per dimension, in this order.
	Dimensions []string `json:"dimensions,omitempty"`
	// ScenarioHash identifies the resolved scenario before sharding
	// ("sha256:…" of its canonical JSON): runs with equal hashes ran the
	// same scenario with the same overrides.
	ScenarioHash string `json:"scenario_hash,omitempty"`
	// Shard is set when the run is one load generator's part of a sharded
	// run (grpcbench run --shard I/N).
	Shard *ShardInfo `json:"shard,omitempty"`
	// Shards lists the shards a merged run combines, by index (set by
	// [Merge]; fewer than Count when some were allowed to be missing).
	Shards []ShardInfo `json:"shards,omitempty"`
	// Cells are the matrix points × repeats, in execution order.
	Cells []*Cell `json:"cells"`
}

// Provenance records what produced a run, so that results echo their
// configuration and two runs can be judged comparable.
type Provenance struct {
	// Tool is the program name, normally "grpcbench".
	Tool string `json:"tool"`
	// Version is the tool's module version ("(devel)" for a local build).
	Version string `json:"version"`
	// Commit is the VCS revision the tool was built from, if known; a
	// trailing "+dirty" marks a modified tree.
	Commit string `json:"commit,omitempty"`
	// GoVersion is runtime.Version() of the tool.
	GoVersion string `json:"go_version"`
	// GRPCVersion is the grpc-go version linked into the tool.
	GRPCVersion string `json:"grpc_version"`
	// GOMAXPROCS is runtime.GOMAXPROCS(0) during the run.
	GOMAXPROCS int `json:"gomaxprocs"`
	// NumCPU is runtime.NumCPU().
	NumCPU int `json:"num_cpu"`
	// CPU is the CPU model name (from /proc/cpuinfo when readable).
	CPU string `json:"cpu,omitempty"`
	// OS and Arch are runtime.GOOS and runtime.GOARCH.
	OS   string `json:"os"`
	Arch string `json:"arch"`
	// Hostname is the machine's host name, if known.
	Hostname string `json:"hostname,omitempty"`
	// Args is the command line (os.Args[1:]) of the run.
	Args []string `json:"args,omitempty"`
}

// Param is one matrix coordinate of a cell: a dotted scenario path and the
// value it took, rendered as a string.
type Param struct {
	Path  string `json:"path"`
	Value string `json:"value"`
}

// Cell is one matrix point × repeat: one client configuration under one load.
type Cell struct {
	// ID is stable across runs of the same scenario and is how [Merge] and
	// comparisons join cells, e.g. "pool.size=4,lb.policy=round_robin#2".
	ID string `json:"id"`
	// Index is the cell's position in the matrix expansion (0-based, before
	// repeats); Repeat is the repetition number (0-based).
	Index  int `json:"index"`
	Repeat int `json:"repeat"`
	// Params are the cell's matrix coordinates, one per Run.Dimensions entry.
	Params []Param `json:"params,omitempty"`
	// Partial is true when the cell was cut short; its figures cover only the
	// time it ran.
	Partial bool `json:"partial,omitempty"`
	// Error is why the cell could not be carried out (or was cut short), if
	// it failed; its figures cover what was measured before.
	Error string `json:"error,omitempty"`
	// Start is when the recorded (post-warm-up) phase began; Duration is how
	// long it lasted. Rates are computed over Duration.
	Start    time.Time     `json:"start"`
	Duration time.Duration `json:"duration_ns"`
	// Load describes the offered and achieved load.
	Load Load `json:"load"`
	// Health describes the load generator during the recorded phase (CPU,
	// machine contention, GC, schedule lag); nil in files written before it
	// was recorded.
	Health *Health `json:"health,omitempty"`
	// Methods holds statistics per method, keyed by the full method name
	// without the leading slash ("grpcbench.user.v1.UserService/GetUser").
	// [ShortMethodNames] gives the short forms reports show.
	Methods map[string]*MethodStats `json:"methods,omitempty"`
	// All aggregates every method: its histograms are the sums of the
	// per-method histograms. [Cell.Aggregate] computes it when absent.
	All *MethodStats `json:"all,omitempty"`
	// Retry counts the client-side retry layer's work.
	Retry Retry `json:"retry"`
	// Breaker counts the circuit breaker's work.
	Breaker Breaker `json:"breaker"`
	// Hedging counts the hedging layer's work, when hedging was on.
	Hedging *Hedging `json:"hedging,omitempty"`
	// Throttle describes the retry throttle, when it was on.
	Throttle *Throttle `json:"throttle,omitempty"`
	// Ejections lists outlier detection's ejections and returns, in order.
	Ejections []Ejection `json:"ejections,omitempty"`
	// Membership lists the embedded fake server's backend set changes.
	Membership []MembershipChange `json:"membership,omitempty"`
	// BackendSeries holds each second's attempts per backend: the share of
	// each backend over time.
	BackendSeries []BackendSecond `json:"backend_series,omitempty"`
	// Pool describes the connection pool's connections.
	Pool Pool `json:"pool"`
	// Transport counts what the cell's connections did: connections
	// opened, TLS handshakes and their parameters, dial and handshake
	// failures.
	Transport Transport `json:"transport"`
	// TopErrors are the most frequent failures of the recorded phase (status
	// code and message), most frequent first, at most MaxTopErrors.
	TopErrors []ErrorCount `json:"top_errors,omitempty"`
	// Backends are the per-backend call counts, client and server side,
	// ordered by Addr.
	Backends []Backend `json:"backends,omitempty"`
	// BytesSent and BytesReceived are payload bytes on the wire as seen by the
	// client (all attempts).
	BytesSent     int64 `json:"bytes_sent"`
	BytesReceived int64 `json:"bytes_received"`
	// Series holds one summary per second of the recorded phase.
	Series []Second `json:"series,omitempty"`
	// Faults are the fault windows that were active, for shading charts.
	Faults []FaultWindow `json:"faults,omitempty"`
}

// Load models.
const (
	// ModelOpen is the open (arrival-rate) load model.
	ModelOpen = "open"
	// ModelClosed is the closed (fixed number of workers) load model.
	ModelClosed = "closed"
)

// Load describes the load offered to a cell and what was achieved.
//
// In the open model, Scheduled arrivals were released by the pacer; each
// either became a Sent call or was Dropped because max_inflight calls were
// already outstanding; Completed calls finished (with any status) inside the
// recorded phase. Latency counts from the intended (scheduled) start.
type Load struct {
	// Model is ModelOpen or ModelClosed.
	Model string `json:"model"`
	// TargetRate is the intended arrival rate in calls/s (open model; the
	// average over stages); 0 in the closed model.
	TargetRate float64 `json:"target_rate"`
	// AchievedRate is Completed / Cell.Duration in calls/s.
	AchievedRate float64 `json:"achieved_rate"`
	// Workers is the number of workers (closed model) or the max_inflight
	// cap (open model).
	Workers int `json:"workers"`
	// Scheduled, Sent, Completed and Dropped count arrivals and calls.
	Scheduled int64 `json:"scheduled"`
	Sent      int64 `json:"sent"`
	Completed int64 `json:"completed"`
	Dropped   int64 `json:"dropped"`
	// MaxLag is the largest delay between a call's intended start and the
	// moment it was actually sent.
	MaxLag time.Duration `json:"max_lag_ns"`
}

// MethodStats are the statistics of one method (or of all methods, in
// Cell.All). Histograms that were never recorded into are nil.
type MethodStats struct {
	// Calls is the number of calls that finished, with any status.
	Calls int64 `json:"calls"`
	// Errors is the number of calls whose final status was not OK.
	Errors int64 `json:"errors"`
	// Codes counts finished calls by status code name ("OK", "UNAVAILABLE").
	Codes map[string]int64 `json:"codes,omitempty"`
	// Latency is the call latency: completion minus intended start (open
	// model) or minus actual start (closed model), all attempts and backoff
	// included. Failed calls are included: a fast failure lowers it.
	Latency *Histogram `json:"latency,omitempty"`
	// OK is the latency (as Latency) of the calls whose final status was
	// OK only. Where failures are fast and successes slow (or the
	// reverse), Latency and OK tell different stories: report both.
	OK *Histogram `json:"ok_latency,omitempty"`
	// Service is the service time: completion minus the moment the call was
	// actually sent.
	Service *Histogram `json:"service,omitempty"`
	// Attempt is the latency of each individual attempt.
	Attempt *Histogram `json:"attempt,omitempty"`
	// TTFM is the time to the first response message (streams).
	TTFM *Histogram `json:"ttfm,omitempty"`
	// MessageRTT is the round trip of each request/response pair (bidi).
	MessageRTT *Histogram `json:"message_rtt,omitempty"`
}

// Retry counts the retry layer's work in a cell.
type Retry struct {
	// Calls is the number of logical calls that went through the retry layer.
	Calls int64 `json:"calls"`
	// Attempts is the number of attempts they made (≥ Calls unless calls were
	// rejected before their first attempt).
	Attempts int64 `json:"attempts"`
	// Retried is the number of calls that made more than one attempt.
	Retried int64 `json:"retried"`
	// GaveUp is the number of calls that failed after exhausting their
	// attempts (or retry budget) on a retryable code.
	GaveUp int64 `json:"gave_up"`
	// PushbackWaits is the number of retries delayed by a server pushback
	// (grpc-retry-pushback-ms).
	PushbackWaits int64 `json:"pushback_waits"`
	// Throttled counts retries not made because the retry throttle's
	// bucket was low (native mode: inferred, see retry.AttemptCounter).
	Throttled int64 `json:"throttled,omitempty"`
	// PushbackStops counts calls not retried because the server's pushback
	// said so.
	PushbackStops int64 `json:"pushback_stops,omitempty"`
	// TransparentRetries counts attempts gRPC replayed by itself because
	// the server never saw the previous one (native mode).
	TransparentRetries int64 `json:"transparent_retries,omitempty"`
	// AttemptsPerCall[n] is the number of calls that made exactly n attempts;
	// the last element also counts calls that made more.
	AttemptsPerCall []int64 `json:"attempts_per_call,omitempty"`
}

// Breaker counts the circuit breaker's work in a cell.
type Breaker struct {
	// Trips is the number of closed→open and half-open→open transitions.
	Trips int64 `json:"trips"`
	// Rejections is the number of calls refused while open.
	Rejections int64 `json:"rejections"`
	// TimeOpen is the total time spent open (summed over load generators by
	// [Merge]).
	TimeOpen time.Duration `json:"time_open_ns"`
	// Transitions lists the state changes in order, with their times (at
	// most the breaker's log capacity).
	Transitions []Transition `json:"transitions,omitempty"`
}

// Transition is one circuit breaker state change.
type Transition struct {
	// At is the offset from Cell.Start (negative during the warm-up).
	At time.Duration `json:"at_ns"`
	// From and To are state names: "closed", "open", "half-open".
	From string `json:"from"`
	To   string `json:"to"`
}

// Pool describes the connection pool of a cell.
type Pool struct {
	// Conns has one entry per pooled connection.
	Conns []ConnStats `json:"conns,omitempty"`
}

// ConnStats describes one pooled connection.
type ConnStats struct {
	// Target is the dial target of the connection.
	Target string `json:"target"`
	// State is the connectivity state at the end of the cell ("READY", ...).
	State string `json:"state"`
	// Picks is the number of calls the pool routed to this connection.
	Picks int64 `json:"picks"`
	// StateChanges is the number of connectivity state changes observed.
	StateChanges int64 `json:"state_changes"`
	// Reconnects counts the times the connection became READY again after
	// it had been READY (the server dropped it).
	Reconnects int64 `json:"reconnects,omitempty"`
	// Recycled counts the times the pool replaced the connection for its
	// age (pool.max_age).
	Recycled int64 `json:"recycled,omitempty"`
}

// MaxTopErrors bounds Cell.TopErrors.
const MaxTopErrors = 5

// ErrorCount is how many calls ended with one status code and message.
type ErrorCount struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Count   int64  `json:"count"`
}

// TopErrorCounts returns the MaxTopErrors largest counts of m, most frequent
// first (ties by code, then message).
func TopErrorCounts(m map[ErrorCount]int64) []ErrorCount {
	out := make([]ErrorCount, 0, len(m))
	for k, n := range m {
		k.Count = n
		out = append(out, k)
	}
	slices.SortFunc(out, func(a, b ErrorCount) int {
		return cmp.Or(cmp.Compare(b.Count, a.Count), cmp.Compare(a.Code, b.Code), cmp.Compare(a.Message, b.Message))
	})
	if len(out) > MaxTopErrors {
		out = out[:MaxTopErrors]
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// Transport counts what the connections of one cell's client stack did.
type Transport struct {
	// Connections counts transport connections opened (reconnects and
	// recycled connections included); DialErrors the dials that failed.
	Connections int64 `json:"connections"`
	DialErrors  int64 `json:"dial_errors,omitempty"`
	// Handshakes counts TLS handshakes completed (0 over plaintext), so a
	// pool-size sweep shows its handshake cost; HandshakeErrors those that
	// failed.
	Handshakes      int64 `json:"tls_handshakes,omitempty"`
	HandshakeErrors int64 `json:"tls_handshake_errors,omitempty"`
	// TLSVersion and CipherSuite are those negotiated ("TLS 1.3",
	// "TLS_AES_128_GCM_SHA256").
	TLSVersion  string `json:"tls_version,omitempty"`
	CipherSuite string `json:"tls_cipher_suite,omitempty"`
	// LastError is the last dial or handshake failure, if any.
	LastError string `json:"last_error,omitempty"`
}

// Backend holds the call counts of one server backend.
type Backend struct {
	// Addr is the backend's address ("127.0.0.1:port").
	Addr string `json:"addr"`
	// ClientCalls is the number of attempts the client saw land on this
	// backend (from the call's peer).
	ClientCalls int64 `json:"client_calls"`
	// ServerCalls is the number of calls the (fake) server's handler saw;
	// zero for an external target.
	ServerCalls int64 `json:"server_calls"`
	// ServerRetries is the number of those that carried
	// grpc-previous-rpc-attempts (native gRPC retries).
	ServerRetries int64 `json:"server_retries"`
	// ServerCodes counts the server's finished calls by status code name.
	ServerCodes map[string]int64 `json:"server_codes,omitempty"`
	// ServerFaults counts injected faults by kind ("error/UNAVAILABLE",
	// "latency", "stall", ...).
	ServerFaults map[string]int64 `json:"server_faults,omitempty"`
	// ServerMaxInflight is the most calls the (fake) server's handler had
	// in flight at once on this backend: what a stream limit or a queue in
	// the client let through. Zero for an external target; [Merge] keeps
	// the largest of the shards'.
	ServerMaxInflight int64 `json:"server_max_inflight,omitempty"`
}

// Second summarises one second of a cell's recorded phase. Calls are
// attributed to the second in which the recorder was told they happened (the
// runner passes completion time).
type Second struct {
	// T is the second's offset from Cell.Start, in whole seconds.
	T int `json:"t"`
	// Calls and Errors count calls finished in this second.
	Calls  int64 `json:"calls"`
	Errors int64 `json:"errors"`
	// P50, P99 and Max summarise the latency of those calls (2 significant
	// digits).
	P50 time.Duration `json:"p50_ns"`
	P99 time.Duration `json:"p99_ns"`
	Max time.Duration `json:"max_ns"`
	// HDR is the second's latency histogram (µs, 2 significant digits) in
	// HdrHistogram V2 compressed base64, so that [Merge] can combine seconds
	// exactly. Empty when the second had no calls.
	HDR string `json:"hdr,omitempty"`
}

// FaultWindow is a period during which a fault was injected.
type FaultWindow struct {
	// Kind is the fault kind ("down", "pause", "latency", "error", ...).
	Kind string `json:"kind"`
	// Backends lists the affected backend indexes; empty means all.
	Backends []int `json:"backends,omitempty"`
	// Start and End are offsets from Cell.Start; End is zero for a fault
	// active until the end of the cell.
	Start time.Duration `json:"start_ns"`
	End   time.Duration `json:"end_ns"`
}
