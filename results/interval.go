package results

// OtherCodes is the Codes key of an IntervalMethod under which calls with a
// status code beyond the standard ones (UNAUTHENTICATED = 16) are counted.
const OtherCodes = "OTHER"

// Interval is one second of a cell's recorded phase, per method, as a
// [Recorder] hands it to its [Recorder.OnInterval] subscribers.
//
// A second is delivered when it is complete: when the series has moved a
// few seconds past it, or when [Recorder.Cell] flushes the last seconds. A
// shard that hands in a second after it was delivered (rare: a call that
// completes out of order) causes a second delivery of the same T carrying
// only the late calls, so sums over deliveries are always exact: summed over
// a cell they equal the cell's per-method Calls, Errors and Codes, and the
// latency histograms add up to the cell's Latency (at SeriesDigits).
type Interval struct {
	// T is the second's offset from the recorder's start, in whole seconds.
	T int
	// Methods has one entry per recorder method, in [Recorder.Methods]
	// order; a method without calls in the second has a zero entry.
	Methods []IntervalMethod
}

// IntervalMethod is one method's calls in an Interval.
type IntervalMethod struct {
	// Calls counts the calls that finished, with any status; Errors those
	// whose status was not OK.
	Calls, Errors int64
	// Codes counts the calls by status code name ("OK", "UNAVAILABLE";
	// OtherCodes for non-standard codes). Nil when Calls is 0.
	Codes map[string]int64
	// Latency is the calls' latency histogram (completion − intended
	// start) with SeriesDigits significant digits. Nil when Calls is 0. It
	// belongs to the subscriber.
	Latency *Histogram
}

// OnInterval subscribes fn to every complete second of the recorded phase,
// per method. fn is called with the recorder's series lock held, on the
// goroutine of the worker that completed the second (or the caller of
// [Recorder.Cell] for the last seconds), in increasing T except for late
// deliveries: it must return quickly (hand heavy work to another goroutine)
// and must not call the recorder. Subscribe before recording starts (the
// runner does, before its workers): calls recorded before fn subscribed
// may be delivered in part or not at all.
//
// Subscribing costs the workers nothing per call: each shard already hands
// its finished second to the recorder once per second, and the per-method
// detail rides along.
func (r *Recorder) OnInterval(fn func(Interval)) {
	r.smu.Lock()
	defer r.smu.Unlock()
	r.subs = append(r.subs, fn)
}
