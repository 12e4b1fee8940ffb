package results

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"
)

// Merge combines runs produced by several load generators (shards) of the
// same scenario into one run. Cells with distinct IDs are collected; cells
// with the same ID (the same cell run concurrently by several generators)
// are combined exactly: histograms are added bucket by bucket, counters and
// rates are summed, maxima are maxima, and the per-second series are aligned
// on wall-clock seconds and their histograms added. Percentiles are never
// averaged.
//
// The runs must share the scenario name and dimensions, and cells with the
// same ID must share params and load model. When any run is a shard
// (Run.Shard set), every run must be a distinct shard of one sharded run
// (see [MergeWith]). The inputs are not modified. The result takes its
// provenance and scenario from the first run and is partial if any input
// is. An error caused by one input is an [*InputError] naming it.
func Merge(runs ...*Run) (*Run, error) { return MergeWith(MergeOptions{}, runs...) }

// MergeWith is [Merge] with options. Shards of a sharded run must all
// carry the same ScenarioHash and shard count, distinct indexes, and (unless
// opts.AllowMissing) every index from 0 to count−1. The merged run records
// the shards it combines in Run.Shards and is partial when some are missing.
func MergeWith(opts MergeOptions, runs ...*Run) (*Run, error) {
	if len(runs) == 0 {
		return nil, errors.New("results: merge: no runs")
	}
	for i, r := range runs {
		if r == nil {
			return nil, &InputError{i, errors.New("is nil")}
		}
		if r.Schema != Schema && r.Schema != "" {
			return nil, &InputError{i, fmt.Errorf("schema %q is not %q", r.Schema, Schema)}
		}
	}
	shards, err := checkShards(runs, opts)
	if err != nil {
		return nil, err
	}
	first := runs[0]
	out := &Run{
		Schema:     Schema,
		Name:       first.Name,
		Started:    first.Started,
		Finished:   first.Finished,
		Provenance: first.Provenance,
		Scenario:   first.Scenario,
		Dimensions: slices.Clone(first.Dimensions),
	}
	out.Provenance.Args = slices.Clone(first.Provenance.Args)
	out.ScenarioHash, out.Shards = sameHash(runs), shards
	if len(shards) > 0 && len(shards) < shards[0].Count {
		out.Partial = true
	}
	byID := map[string][]*Cell{}
	var order []string
	for i, r := range runs {
		if r.Name != first.Name {
			return nil, &InputError{i, fmt.Errorf("is scenario %q, the first input is %q", r.Name, first.Name)}
		}
		if !slices.Equal(r.Dimensions, first.Dimensions) {
			return nil, &InputError{i, fmt.Errorf("has dimensions %v, the first input has %v", r.Dimensions, first.Dimensions)}
		}
		out.Partial = out.Partial || r.Partial
		if !r.Started.IsZero() && (out.Started.IsZero() || r.Started.Before(out.Started)) {
			out.Started = r.Started
		}
		if r.Finished.After(out.Finished) {
			out.Finished = r.Finished
		}
		for j, c := range r.Cells {
			if c == nil {
				return nil, &InputError{i, fmt.Errorf("cells[%d] is nil", j)}
			}
			if _, ok := byID[c.ID]; !ok {
				order = append(order, c.ID)
			}
			byID[c.ID] = append(byID[c.ID], c)
		}
	}
	for _, id := range order {
		c, err := mergeCells(byID[id])
		if err != nil {
			return nil, fmt.Errorf("results: merge: cell %q: %w", id, err)
		}
		out.Cells = append(out.Cells, c)
	}
	sort.SliceStable(out.Cells, func(i, j int) bool {
		a, b := out.Cells[i], out.Cells[j]
		if a.Index != b.Index {
			return a.Index < b.Index
		}
		return a.Repeat < b.Repeat
	})
	return out, nil
}

// mergeCells combines cells that share an ID into a new cell.
func mergeCells(cells []*Cell) (*Cell, error) {
	f := cells[0]
	out := &Cell{
		ID:     f.ID,
		Index:  f.Index,
		Repeat: f.Repeat,
		Params: slices.Clone(f.Params),
		Load:   Load{Model: f.Load.Model},
	}
	if err := out.span(cells); err != nil {
		return nil, err
	}

	var errs []string
	backends := map[string]*Backend{}
	topErrs := map[ErrorCount]int64{}
	series := map[int][]Second{}
	for _, c := range cells {
		off := time.Duration(0)
		if !c.Start.IsZero() && !out.Start.IsZero() {
			off = c.Start.Sub(out.Start)
		}
		out.Partial = out.Partial || c.Partial
		if c.Error != "" && !slices.Contains(errs, c.Error) {
			errs = append(errs, c.Error)
		}
		offSec := int(off.Round(time.Second) / time.Second)
		out.addCounters(c)
		mergeResilience(out, c, off, offSec)
		for _, e := range c.TopErrors {
			topErrs[ErrorCount{Code: e.Code, Message: e.Message}] += e.Count
		}
		for _, be := range c.Backends {
			dst := backends[be.Addr]
			if dst == nil {
				dst = &Backend{Addr: be.Addr}
				backends[be.Addr] = dst
			}
			dst.add(be)
		}
		for _, s := range c.Series {
			s.T += offSec
			series[s.T] = append(series[s.T], s)
		}
		out.addFaults(c.Faults, off)
	}
	out.Error = strings.Join(errs, "; ")
	out.TopErrors = TopErrorCounts(topErrs)
	for _, be := range backends {
		out.Backends = append(out.Backends, *be)
	}
	sort.Slice(out.Backends, func(i, j int) bool { return out.Backends[i].Addr < out.Backends[j].Addr })
	var err error
	out.Series, err = mergeSeries(series)
	if err != nil {
		return nil, err
	}
	return out, nil
}

// addCounters adds the load, method, retry, breaker, pool and byte counters
// of c to out.
func (out *Cell) addCounters(c *Cell) {
	l := &out.Load
	l.TargetRate += c.Load.TargetRate
	l.AchievedRate += c.Load.AchievedRate
	l.Workers += c.Load.Workers
	l.Scheduled += c.Load.Scheduled
	l.Sent += c.Load.Sent
	l.Completed += c.Load.Completed
	l.Dropped += c.Load.Dropped
	l.MaxLag = max(l.MaxLag, c.Load.MaxLag)
	out.Health = mergeHealth(out.Health, c.Health)

	for name, m := range c.Methods {
		if m == nil {
			continue
		}
		if out.Methods == nil {
			out.Methods = make(map[string]*MethodStats)
		}
		dst := out.Methods[name]
		if dst == nil {
			dst = &MethodStats{}
			out.Methods[name] = dst
		}
		mergeMethodStats(dst, m)
	}
	if c.All != nil {
		if out.All == nil {
			out.All = &MethodStats{}
		}
		mergeMethodStats(out.All, c.All)
	}

	r := &out.Retry
	r.Calls += c.Retry.Calls
	r.Attempts += c.Retry.Attempts
	r.Retried += c.Retry.Retried
	r.GaveUp += c.Retry.GaveUp
	r.PushbackWaits += c.Retry.PushbackWaits
	r.Throttled += c.Retry.Throttled
	r.PushbackStops += c.Retry.PushbackStops
	r.TransparentRetries += c.Retry.TransparentRetries
	for i, n := range c.Retry.AttemptsPerCall {
		for len(r.AttemptsPerCall) <= i {
			r.AttemptsPerCall = append(r.AttemptsPerCall, 0)
		}
		r.AttemptsPerCall[i] += n
	}

	b := &out.Breaker
	b.Trips += c.Breaker.Trips
	b.Rejections += c.Breaker.Rejections
	b.TimeOpen += c.Breaker.TimeOpen

	out.Pool.Conns = append(out.Pool.Conns, c.Pool.Conns...)

	tr := &out.Transport
	tr.Connections += c.Transport.Connections
	tr.DialErrors += c.Transport.DialErrors
	tr.Handshakes += c.Transport.Handshakes
	tr.HandshakeErrors += c.Transport.HandshakeErrors
	tr.TLSVersion = cmp.Or(c.Transport.TLSVersion, tr.TLSVersion)
	tr.CipherSuite = cmp.Or(c.Transport.CipherSuite, tr.CipherSuite)
	tr.LastError = cmp.Or(c.Transport.LastError, tr.LastError)
	out.BytesSent += c.BytesSent
	out.BytesReceived += c.BytesReceived
}

// add adds the counts of o (the same backend) to b.
func (b *Backend) add(o Backend) {
	b.ClientCalls += o.ClientCalls
	b.ServerCalls += o.ServerCalls
	b.ServerRetries += o.ServerRetries
	b.ServerCodes = addCounts(b.ServerCodes, o.ServerCodes)
	b.ServerFaults = addCounts(b.ServerFaults, o.ServerFaults)
	b.ServerMaxInflight = max(b.ServerMaxInflight, o.ServerMaxInflight)
}

// addFaults adds the fault windows of a cell that started off after out,
// shifted onto out's clock, leaving out duplicates.
func (out *Cell) addFaults(faults []FaultWindow, off time.Duration) {
	for _, fw := range faults {
		fw.Start += off
		if fw.End != 0 {
			fw.End += off
		}
		fw.Backends = slices.Clone(fw.Backends)
		if !slices.ContainsFunc(out.Faults, func(o FaultWindow) bool { return faultEqual(o, fw) }) {
			out.Faults = append(out.Faults, fw)
		}
	}
}

// mergeSeries combines the seconds of several generators, keyed by their
// offset from the merged cell's start, in order.
func mergeSeries(series map[int][]Second) ([]Second, error) {
	ts := make([]int, 0, len(series))
	for t := range series {
		ts = append(ts, t)
	}
	sort.Ints(ts)
	var out []Second
	for _, t := range ts {
		s, err := mergeSeconds(t, series[t])
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, nil
}

// mergeSeconds combines the summaries of the same second from several
// generators, adding their histograms.
func mergeSeconds(t int, secs []Second) (Second, error) {
	var withCalls []Second
	out := Second{T: t}
	for _, s := range secs {
		out.Calls += s.Calls
		out.Errors += s.Errors
		if s.Calls > 0 || s.HDR != "" {
			withCalls = append(withCalls, s)
		}
	}
	switch len(withCalls) {
	case 0:
		return out, nil
	case 1:
		s := withCalls[0]
		s.T, s.Calls, s.Errors = t, out.Calls, out.Errors
		return s, nil
	}
	var h *Histogram
	for _, s := range withCalls {
		if s.HDR == "" {
			return Second{}, fmt.Errorf("series second %d: %d calls without a histogram (hdr): cannot merge percentiles", t, s.Calls)
		}
		sh, err := decodeHistogram(s.HDR)
		if err != nil {
			return Second{}, fmt.Errorf("series second %d: %w", t, err)
		}
		h = mergeHist(h, sh)
	}
	fillSecond(&out, h)
	return out, nil
}

// addCounts adds src into dst, allocating dst when needed.
func addCounts(dst, src map[string]int64) map[string]int64 {
	for k, n := range src {
		if dst == nil {
			dst = make(map[string]int64, len(src))
		}
		dst[k] += n
	}
	return dst
}

func faultEqual(a, b FaultWindow) bool {
	return a.Kind == b.Kind && a.Start == b.Start && a.End == b.End && slices.Equal(a.Backends, b.Backends)
}

// mergeResilience adds c's hedging, throttle, ejections, membership changes
// and per-backend series into out; c started off (offSec whole seconds)
// after out.
func mergeResilience(out, c *Cell, off time.Duration, offSec int) {
	for _, t := range c.Breaker.Transitions {
		t.At += off
		out.Breaker.Transitions = append(out.Breaker.Transitions, t)
	}
	slices.SortStableFunc(out.Breaker.Transitions, func(a, b Transition) int { return cmp.Compare(a.At, b.At) })
	if h := c.Hedging; h != nil {
		if out.Hedging == nil {
			out.Hedging = &Hedging{}
		}
		o := out.Hedging
		o.Calls += h.Calls
		o.Attempts += h.Attempts
		o.Hedges += h.Hedges
		o.Failed += h.Failed
		o.Cancelled += h.Cancelled
		o.PushbackWaits += h.PushbackWaits
		o.PushbackStops += h.PushbackStops
		o.Throttled += h.Throttled
		o.Unhedged += h.Unhedged
		o.ServerExtra += h.ServerExtra
		for i, n := range h.WonBy {
			for len(o.WonBy) <= i {
				o.WonBy = append(o.WonBy, 0)
			}
			o.WonBy[i] += n
		}
	}
	if t := c.Throttle; t != nil {
		// Each load generator had its own bucket: sizes and contents add.
		if out.Throttle == nil {
			out.Throttle = &Throttle{}
		}
		o := out.Throttle
		o.MaxTokens += t.MaxTokens
		o.Tokens += t.Tokens
		o.Throttled += t.Throttled
		for _, ch := range t.Changes {
			ch.At += off
			o.Changes = append(o.Changes, ch)
		}
		slices.SortStableFunc(o.Changes, func(a, b ThrottleChange) int { return cmp.Compare(a.At, b.At) })
	}
	for _, e := range c.Ejections {
		e.At += off
		out.Ejections = append(out.Ejections, e)
	}
	slices.SortStableFunc(out.Ejections, func(a, b Ejection) int { return cmp.Compare(a.At, b.At) })
	for _, m := range c.Membership {
		m.At += off
		out.Membership = append(out.Membership, m)
	}
	slices.SortStableFunc(out.Membership, func(a, b MembershipChange) int { return cmp.Compare(a.At, b.At) })
	for _, bs := range c.BackendSeries {
		t := bs.T + offSec
		i, found := slices.BinarySearchFunc(out.BackendSeries, t, func(x BackendSecond, t int) int { return cmp.Compare(x.T, t) })
		if !found {
			out.BackendSeries = slices.Insert(out.BackendSeries, i, BackendSecond{T: t, Calls: map[string]int64{}})
		}
		for a, n := range bs.Calls {
			out.BackendSeries[i].Calls[a] += n
		}
	}
}

// span checks that cells are one cell's shards (same params and model) and
// sets out's start and duration: from the earliest start to the latest end.
func (out *Cell) span(cells []*Cell) error {
	f := cells[0]
	var end time.Time
	for _, c := range cells {
		if !slices.Equal(c.Params, f.Params) {
			return fmt.Errorf("params %v differ from %v", c.Params, f.Params)
		}
		if c.Load.Model != f.Load.Model {
			return fmt.Errorf("load model %q differs from %q", c.Load.Model, f.Load.Model)
		}
		if out.Start.IsZero() || (!c.Start.IsZero() && c.Start.Before(out.Start)) {
			out.Start = c.Start
		}
		if e := c.Start.Add(c.Duration); e.After(end) {
			end = e
		}
	}
	if !end.IsZero() {
		out.Duration = end.Sub(out.Start)
	}
	return nil
}
