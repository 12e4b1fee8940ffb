package results

import "time"

// Hedging counts the hedging layer's work in a cell (gRFC A6 hedging).
type Hedging struct {
	// Calls are the calls that went through the layer; Attempts the
	// attempts they sent; Hedges the attempts beyond the first.
	Calls    int64 `json:"calls"`
	Attempts int64 `json:"attempts"`
	Hedges   int64 `json:"hedges"`
	// WonBy[n] counts calls answered by attempt n (index 0 unused).
	WonBy []int64 `json:"won_by,omitempty"`
	// Failed counts calls that ended with an error; Cancelled the losing
	// attempts cancelled when another decided the call.
	Failed    int64 `json:"failed"`
	Cancelled int64 `json:"cancelled"`
	// PushbackWaits and PushbackStops count hedges the server's pushback
	// delayed and calls in which it stopped further hedges; Throttled the
	// hedges the retry throttle refused; Unhedged the calls sent once
	// because they could not be hedged (client and bidi streams).
	PushbackWaits int64 `json:"pushback_waits,omitempty"`
	PushbackStops int64 `json:"pushback_stops,omitempty"`
	Throttled     int64 `json:"throttled,omitempty"`
	Unhedged      int64 `json:"unhedged,omitempty"`
	// ServerExtra is the extra work hedging caused the server: attempts that
	// reached it (the fake server's count of arrived calls) beyond the
	// logical calls. Zero for an external target.
	ServerExtra int64 `json:"server_extra,omitempty"`
}

// Throttle describes the retry throttle's token bucket (gRFC A6) in a cell.
type Throttle struct {
	// MaxTokens is the bucket's size; Tokens its content at the end.
	MaxTokens float64 `json:"max_tokens"`
	Tokens    float64 `json:"tokens"`
	// Throttled counts retries and hedges refused because the bucket held
	// half its size or less.
	Throttled int64 `json:"throttled"`
	// Changes lists when retries stopped (Throttling true) and resumed,
	// as offsets from Cell.Start.
	Changes []ThrottleChange `json:"changes,omitempty"`
}

// ThrottleChange is a moment the throttle started or stopped refusing.
type ThrottleChange struct {
	At         time.Duration `json:"at_ns"`
	Throttling bool          `json:"throttling"`
	Tokens     float64       `json:"tokens"`
}

// Ejection is one ejection or return of a backend by outlier detection.
type Ejection struct {
	// At is the offset from Cell.Start.
	At time.Duration `json:"at_ns"`
	// Conn numbers the pooled connection whose balancer decided it.
	Conn int `json:"conn"`
	// Addr is the backend's address.
	Addr string `json:"addr"`
	// Kind is "eject" or "uneject"; Reason why (success_rate,
	// failure_percentage, expired, removed).
	Kind   string `json:"kind"`
	Reason string `json:"reason"`
	// For is, for an ejection, how long the backend stays out.
	For time.Duration `json:"for_ns,omitempty"`
}

// MembershipChange is a change of the embedded fake server's backend set
// (server.events), as published to the client's discovery source.
type MembershipChange struct {
	// At is the offset from Cell.Start (negative during the warm-up).
	At time.Duration `json:"at_ns"`
	// Added and Removed are the backends' addresses.
	Added   []string `json:"added,omitempty"`
	Removed []string `json:"removed,omitempty"`
	// Addrs is the backend set after the change; Error what failed.
	Addrs []string `json:"addrs"`
	Error string   `json:"error,omitempty"`
}

// BackendSecond is one second of a cell's calls per backend: the attempts
// that reached each address in that second (from the client's side).
type BackendSecond struct {
	// T is the second's offset from Cell.Start, in whole seconds.
	T int `json:"t"`
	// Calls maps backend address to attempts in the second.
	Calls map[string]int64 `json:"calls"`
}
