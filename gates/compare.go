package gates

import (
	"errors"
	"fmt"
	"hash/fnv"
	"math"
	"math/rand/v2"
	"slices"
	"strings"

	"github.com/grpcbench/grpcbench/results"
)

// Gate is a regression limit for [Compare]: how far a metric may move in
// its worse direction before the change counts as a regression.
type Gate struct {
	// Method narrows the gate to one method, as written ("GetUser",
	// "UserService/GetUser" or the full name; see [results.MatchMethod]);
	// empty means all methods aggregated.
	Method string
	// Limit is the allowed move in the worse direction, positive: a
	// fraction of the base value when Relative (0.10 for "+10%"), or an
	// absolute amount in the metric's base unit otherwise.
	Limit    float64
	Relative bool
	// Text is the gate as written.
	Text string

	metric metric
	// method is Method resolved among the compared runs' methods.
	method string
}

// String returns the gate as written ("p99=+10%").
func (g Gate) String() string { return g.Text }

// DefaultGates are the gates [Compare] applies when none are given: median
// and tail latency may rise 10 %, the error rate by one percentage point.
var DefaultGates = []string{"p50=+10%", "p99=+10%", "error_rate=+0.01"}

// parseGate parses a gate. The grammar is
//
//	gate   = metric [ "@" method ] "=" [ "+" | "-" ] amount
//	amount = number "%"              relative to the base value
//	       | number [ unit ]         absolute, in the metric's own terms
//
// e.g. "p99=+10%", "attempt.p99@GetUser=+5ms", "error_rate=+0.01"
// (one percentage point), "rps=-5%". The sign is the metric's worse
// direction ("+" for latencies, errors, retries, breaker counts; "-" for
// rps and rps_ratio); it may be left out, and a sign that contradicts the
// metric is an error. An absolute amount follows the rules of threshold
// expression values except that a fraction may not be written as a
// percentage (that would be relative). The method is resolved by [Compare]
// among the methods of the runs it compares.
func parseGate(s string) (Gate, error) {
	text := strings.TrimSpace(s)
	lhs, rhs, ok := strings.Cut(text, "=")
	if !ok || strings.TrimSpace(lhs) == "" || strings.TrimSpace(rhs) == "" {
		return Gate{}, fmt.Errorf("gate %q: want metric=+N%% (e.g. p99=+10%%)", text)
	}
	name, method, _ := strings.Cut(strings.TrimSpace(lhs), "@")
	m, err := parseMetric(name)
	if err != nil {
		return Gate{}, fmt.Errorf("gate %q: %w", text, err)
	}
	if method != "" && m.PerCell {
		return Gate{}, fmt.Errorf("gate %q: %s describes the whole cell, not one method", text, m.Name)
	}
	amount := strings.TrimSpace(rhs)
	sign := 0
	switch {
	case strings.HasPrefix(amount, "+"):
		sign, amount = 1, amount[1:]
	case strings.HasPrefix(amount, "-"):
		sign, amount = -1, amount[1:]
	}
	worse := 1
	dir := "+"
	if !m.HigherIsWorse {
		worse, dir = -1, "-"
	}
	if sign != 0 && sign != worse {
		return Gate{}, fmt.Errorf("gate %q: %s regresses in the %s direction: write %s=%s%s", text, m.Name, dir, strings.TrimSpace(lhs), dir, amount)
	}
	v, u, err := parseValue(strings.TrimSpace(amount))
	if err != nil {
		return Gate{}, fmt.Errorf("gate %q: %w", text, err)
	}
	if v < 0 {
		return Gate{}, fmt.Errorf("gate %q: give the sign once", text)
	}
	g := Gate{metric: m, Method: method, Limit: v, Relative: u == unitPercent}
	if !g.Relative {
		if err := fits(m, v, u, amount); err != nil {
			return Gate{}, fmt.Errorf("gate %q: %w", text, err)
		}
	}
	g.Text = m.Name
	if method != "" {
		g.Text += "@" + method
	}
	g.Text += "=" + dir + strings.TrimSpace(amount)
	return g, nil
}

// ParseGates parses gates written as
//
//	gate   = metric [ "@" method ] "=" [ "+" | "-" ] amount
//	amount = number "%"              relative to the base value
//	       | number [ unit ]         absolute, in the metric's own terms
//
// e.g. "p99=+10%", "ok.p99=+10%", "attempt.p99@GetUser=+5ms",
// "error_rate=+0.01" (one percentage point), "rps=-5%". The sign is the
// metric's worse direction ("+" for latencies, errors, retries, breaker
// counts; "-" for rps and rps_ratio); it may be left out, and a sign that
// contradicts the metric is an error. It reports every error, joined.
func ParseGates(ss []string) ([]Gate, error) {
	var out []Gate
	var errs []error
	for _, s := range ss {
		g, err := parseGate(s)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		out = append(out, g)
	}
	return out, errors.Join(errs...)
}

// CompareOptions configure [Compare].
type CompareOptions struct {
	// Gates are the regression limits; nil means DefaultGates.
	Gates []Gate
	// Alpha is the significance level of the Mann–Whitney test; 0 means
	// DefaultAlpha.
	Alpha float64
	// AllowMissing makes cells present in only one run pass (they are
	// still reported).
	AllowMissing bool
	// Strict makes a regression of the point estimate fail even when the
	// repeats are too few for the test ever to be significant. Without it,
	// such a row is reported as a low-confidence regression and passes, so
	// that a CI gate does not fail on one sample's noise.
	Strict bool
	// Seed seeds the bootstrap; the same inputs and seed give the same
	// intervals. 0 means 1.
	Seed uint64
	// Resamples is the number of bootstrap rounds; 0 means
	// DefaultResamples.
	Resamples int
	// InconclusivePass makes inconclusive rows (a regression while the new
	// run's load generator was CPU-starved relative to the base's) pass.
	// Without it they fail, as inconclusive — never as regressions.
	InconclusivePass bool
}

// Defaults of [CompareOptions].
const (
	DefaultAlpha     = 0.05
	DefaultResamples = 2000
	// MinRepeats is the number of repeats per side from which the
	// Mann–Whitney test decides a regression; below it (or when even a
	// complete separation could not reach α, see [MinP]) the gate applies
	// to the point estimate and the row is marked low confidence.
	MinRepeats = 3
)

// Status is the verdict of one comparison row.
type Status int

// Statuses.
const (
	// StatusOK: the change stays within the gate, or goes beyond it without
	// being statistically significant.
	StatusOK Status = iota
	// StatusRegression: the change is beyond the gate in the worse
	// direction, and significant — or, with too few repeats to test, on the
	// point estimate alone (LowConfidence; it fails only with Strict).
	StatusRegression
	// StatusImprovement: the change is beyond the gate in the better
	// direction (and significant when the test has the power to say so).
	StatusImprovement
	// StatusMissing: the cell (or the metric's data) is absent from one
	// side, or every repeat on one side failed.
	StatusMissing
	// StatusInconclusive: the change would be a regression, but the new
	// run's load generator was CPU-starved relative to the base run's
	// (Row.Env says how), so the change may be the machine's, not the
	// code's. It fails unless CompareOptions.InconclusivePass.
	StatusInconclusive
)

// String returns the status name: "ok", "regression", "improvement",
// "missing", "inconclusive".
func (s Status) String() string {
	switch s {
	case StatusRegression:
		return "regression"
	case StatusImprovement:
		return "improvement"
	case StatusMissing:
		return "missing"
	case StatusInconclusive:
		return "inconclusive"
	}
	return "ok"
}

// Sample summarises one side's repeats of a cell for one gate.
type Sample struct {
	// Values are the metric's value in each usable repeat, in the metric's
	// base unit, in repeat order.
	Values []float64
	// Median is their median (NaN when there are none).
	Median float64
	// Spread is (max − min) / 2 / |median|: the half-range relative to the
	// median (NaN for fewer than two values or a zero median).
	Spread float64
	// Failed counts repeats that were left out because the cell failed or
	// had no data for the metric.
	Failed int
	// Present is false when the cell does not exist on this side.
	Present bool
}

// Row is one cell × gate of a comparison.
type Row struct {
	// Cell is the cell ID without repeat suffix.
	Cell string
	Gate Gate
	Base Sample
	New  Sample
	// Delta is median(new)/median(base) − 1 (±Inf when the base median is
	// 0 and the new one is not; 0 when both are 0). AbsDelta is
	// median(new) − median(base).
	Delta    float64
	AbsDelta float64
	// P is the two-sided Mann–Whitney p-value of base vs new (NaN when a
	// side is empty); Exact says whether it is exact.
	P     float64
	Exact bool
	// CILow and CIHigh bound the bootstrap 95 % interval of the median
	// delta, relative like Delta for a relative gate and absolute like
	// AbsDelta otherwise (NaN when not computable).
	CILow, CIHigh float64
	// Status is the verdict. LowConfidence is set when the test could not
	// decide (fewer than MinRepeats repeats on a side, or so few that even
	// a complete separation would not reach Alpha): the gate was then
	// applied to the point estimate, and a regression fails only with
	// CompareOptions.Strict.
	Status        Status
	LowConfidence bool
	// Beyond is true when the point estimate is beyond the gate in the
	// worse direction (whether or not that was significant).
	Beyond bool
	// Pass is false for a regression (a low-confidence one only with
	// Strict), and for a missing cell unless AllowMissing (a side whose
	// every repeat failed never passes).
	Pass bool
	// Note explains a missing or failed side, or a beyond-gate change that
	// was not significant.
	Note string
	// Env says how the generators' health differed when it matters: why
	// the row is inconclusive ("new run's load generator was CPU-starved:
	// run delay 87 % vs 12 %, lag p99 8.6ms vs 3.1ms"), or why an
	// improvement may be the base run's starvation.
	Env string
	// Detect is the smallest change the row could have detected with its
	// repeats and spread (stated power).
	Detect Detectable
}

// Verdict returns the row's verdict for people: "ok", "REGRESSION",
// "improvement", "missing", "INCONCLUSIVE" (upper case when the row
// fails), with
// ", low confidence" or " (~)" (beyond the gate but not significant)
// appended.
func (r Row) Verdict() string {
	s := r.Status.String()
	if !r.Pass {
		s = strings.ToUpper(s)
	}
	switch {
	case r.LowConfidence && r.Status != StatusMissing:
		s += ", low confidence"
	case r.Status == StatusOK && r.Beyond:
		s += " (~)"
	}
	return s
}

// Comparison is the result of [Compare].
type Comparison struct {
	// Base and New name the runs (scenario names, or file names set by
	// the caller).
	Base, New string
	Gates     []Gate
	Alpha     float64
	// Rows are cell × gate, cells in base order then new-only cells.
	Rows []Row
	// Warnings note what makes the comparison doubtful: different
	// scenario, machine, Go or grpc-go version, partial runs, and too few
	// repeats for any difference to be significant.
	Warnings []string
}

// Failed reports whether any row did not pass.
func (c *Comparison) Failed() bool { return c.Failures() > 0 }

// Failures counts the rows that did not pass.
func (c *Comparison) Failures() int {
	n := 0
	for _, r := range c.Rows {
		if !r.Pass {
			n++
		}
	}
	return n
}

// Count returns how many rows have status s.
func (c *Comparison) Count(s Status) int {
	n := 0
	for _, r := range c.Rows {
		if r.Status == s {
			n++
		}
	}
	return n
}

// Compare compares run nw against base. Cells are joined by ID without the
// "#repeat" suffix, so the repeats of a matrix point form one sample per
// side; every gate gives one Row per cell.
//
// For each row the medians of both sides give Delta; the Mann–Whitney U test
// gives P; a percentile bootstrap gives a 95 % interval of the median delta.
// With at least MinRepeats usable repeats per side, and enough of them that
// a complete separation would be significant (see [MinP]), a regression is a
// median moved beyond the gate in the worse direction with P < Alpha, and an
// improvement the same in the better direction. Otherwise the gate applies
// to the point estimate alone, the row is marked LowConfidence, a warning
// says so, and such a regression fails only with Strict. Repeats of a failed
// cell (Cell.Error set) are left out; a side with no usable repeat is
// missing, and fails even with AllowMissing when the cell exists.
//
// A gate's method must name one method of the runs (see
// [results.MatchMethod]); otherwise Compare returns an error.
func Compare(base, nw *results.Run, opts CompareOptions) (*Comparison, error) {
	if opts.Gates == nil {
		opts.Gates, _ = ParseGates(DefaultGates)
	}
	if opts.Alpha <= 0 || opts.Alpha >= 1 {
		opts.Alpha = DefaultAlpha
	}
	if opts.Seed == 0 {
		opts.Seed = 1
	}
	if opts.Resamples <= 0 {
		opts.Resamples = DefaultResamples
	}
	if base == nil {
		base = &results.Run{}
	}
	if nw == nil {
		nw = &results.Run{}
	}
	gs, err := resolveGates(opts.Gates, base, nw)
	if err != nil {
		return nil, err
	}
	cmp := &Comparison{Base: base.Name, New: nw.Name, Gates: gs, Alpha: opts.Alpha}
	cmp.Warnings = comparability(base, nw)
	bg, order := group(base, nil)
	ng, order := group(nw, order)
	for _, id := range order {
		env := compareEnvironment(bg[id], ng[id], opts.Alpha)
		for _, g := range gs {
			cmp.Rows = append(cmp.Rows, compareRow(id, g, bg[id], ng[id], env, opts))
		}
	}
	if w := lowConfidenceWarning(cmp, opts.Strict); w != "" {
		cmp.Warnings = append(cmp.Warnings, w)
	}
	cmp.Warnings = append(cmp.Warnings, inconclusiveWarning(cmp, opts.InconclusivePass)...)
	cmp.Warnings = append(cmp.Warnings, powerWarnings(cmp)...)
	return cmp, nil
}

// resolveGates returns gs with each method resolved among the methods of
// both runs.
func resolveGates(gs []Gate, base, nw *results.Run) ([]Gate, error) {
	names := slices.Compact(slices.Sorted(slices.Values(append(base.MethodNames(), nw.MethodNames()...))))
	out := slices.Clone(gs)
	var errs []error
	for i, g := range out {
		if g.Method == "" {
			continue
		}
		m, err := results.MatchMethod(g.Method, names)
		if err != nil {
			errs = append(errs, fmt.Errorf("gate %q: %w", g.Text, err))
		}
		out[i].method = m
	}
	return out, errors.Join(errs...)
}

// lowConfidenceWarning describes the rows whose repeats were too few for
// the test ever to be significant ("" when there are none).
func lowConfidenceWarning(c *Comparison, strict bool) string {
	low, reg := 0, 0
	n1, n2 := math.MaxInt, math.MaxInt
	for _, r := range c.Rows {
		if !r.LowConfidence {
			continue
		}
		low++
		n1, n2 = min(n1, len(r.Base.Values)), min(n2, len(r.New.Values))
		if r.Status == StatusRegression {
			reg++
		}
	}
	if low == 0 {
		return ""
	}
	need := RepeatsFor(c.Alpha)
	w := fmt.Sprintf("%s with too few repeats to test (as few as %d+%d; at α=%g a difference can be significant from %d+%d) decided on the medians alone",
		plural(low, "check"), n1, n2, c.Alpha, need, need)
	switch {
	case reg > 0 && strict:
		w += fmt.Sprintf("; %s of the medians fail (strict)", plural(reg, "regression"))
	case reg > 0:
		w += fmt.Sprintf("; %s of the medians reported but not failing: one sample's noise can move a median that far", plural(reg, "regression"))
	}
	return w
}

// group collects the cells of run by base ID, appending new IDs to order.
func group(run *results.Run, order []string) (map[string][]*results.Cell, []string) {
	out := map[string][]*results.Cell{}
	known := map[string]bool{}
	for _, id := range order {
		known[id] = true
	}
	for _, c := range run.Cells {
		if c == nil {
			continue
		}
		id := BaseID(c.ID)
		if !known[id] {
			known[id] = true
			order = append(order, id)
		}
		out[id] = append(out[id], c)
	}
	for _, cs := range out {
		slices.SortStableFunc(cs, func(a, b *results.Cell) int { return a.Repeat - b.Repeat })
	}
	return out, order
}

func sample(cells []*results.Cell, g Gate) (Sample, []string) {
	s := Sample{Present: len(cells) > 0, Median: math.NaN(), Spread: math.NaN()}
	var notes []string
	for _, c := range cells {
		if c.Error != "" {
			s.Failed++
			notes = append(notes, fmt.Sprintf("%s failed: %s", c.ID, c.Error))
			continue
		}
		v, ok, why := g.metric.value(c, g.method)
		if !ok {
			s.Failed++
			notes = append(notes, fmt.Sprintf("%s: %s", c.ID, why))
			continue
		}
		s.Values = append(s.Values, v)
	}
	if len(s.Values) > 0 {
		s.Median = Median(s.Values)
		if len(s.Values) > 1 && s.Median != 0 {
			lo, hi := slices.Min(s.Values), slices.Max(s.Values)
			s.Spread = (hi - lo) / 2 / math.Abs(s.Median)
		}
	}
	return s, notes
}

func compareRow(id string, g Gate, bc, nc []*results.Cell, env environment, opts CompareOptions) Row {
	r := Row{Cell: id, Gate: g, P: math.NaN(), Delta: math.NaN(), AbsDelta: math.NaN(), CILow: math.NaN(), CIHigh: math.NaN()}
	var bn, nn []string
	r.Base, bn = sample(bc, g)
	r.New, nn = sample(nc, g)
	switch {
	case !r.Base.Present || !r.New.Present:
		side := "base"
		if r.Base.Present {
			side = "new"
		}
		r.Status, r.Pass = StatusMissing, opts.AllowMissing
		r.Note = "cell absent from " + side + " run"
		return r
	case len(r.Base.Values) == 0 || len(r.New.Values) == 0:
		r.Status, r.Pass = StatusMissing, false
		r.Note = strings.Join(append(bn, nn...), "; ")
		return r
	}
	if len(bn)+len(nn) > 0 {
		r.Note = "left out: " + strings.Join(append(bn, nn...), "; ")
	}
	mb, mn := r.Base.Median, r.New.Median
	r.AbsDelta = mn - mb
	switch {
	case mb != 0:
		r.Delta = mn/mb - 1
	case mn == 0:
		r.Delta = 0
	default:
		r.Delta = math.Copysign(math.Inf(1), mn)
	}
	ut := MannWhitney(r.Base.Values, r.New.Values)
	r.P, r.Exact = ut.P, ut.Exact

	h := fnv.New64a()
	h.Write([]byte(id + "\x00" + g.Text))
	rng := rand.New(rand.NewPCG(opts.Seed, h.Sum64()))
	r.CILow, r.CIHigh = bootstrapMedianDelta(rng, r.Base.Values, r.New.Values, g.Relative, opts.Resamples, 0.95)

	move := r.AbsDelta
	if g.Relative {
		move = r.Delta
	}
	if !g.metric.HigherIsWorse {
		move = -move
	}
	r.Beyond = move > g.Limit
	better := -move > g.Limit

	n1, n2 := len(r.Base.Values), len(r.New.Values)
	r.LowConfidence = n1 < MinRepeats || n2 < MinRepeats || MinP(n1, n2) >= opts.Alpha
	significant := r.LowConfidence || r.P < opts.Alpha
	switch {
	case r.Beyond && significant:
		r.Status = StatusRegression
	case better && significant:
		r.Status = StatusImprovement
	default:
		r.Status = StatusOK
	}
	r.Pass = r.Status != StatusRegression || (r.LowConfidence && !opts.Strict)
	if r.Status == StatusOK && r.Beyond {
		note := fmt.Sprintf("beyond the gate but not significant (p=%.3g ≥ α=%g)", r.P, opts.Alpha)
		r.Note = strings.TrimPrefix(r.Note+"; "+note, "; ")
	}
	r.Detect = detectable(g, r.Base.Values, r.New.Values, opts.Alpha)
	judgeEnvironment(&r, env, opts)
	return r
}

// judgeEnvironment makes a regression inconclusive when the new run's
// generator was starved relative to the base's, and notes a starved base
// beside an improvement and a saturated new generator beside a regression.
func judgeEnvironment(r *Row, env environment, opts CompareOptions) {
	switch {
	case r.Status == StatusRegression && env.newStarved != "":
		r.Status = StatusInconclusive
		r.Env = "new run's load generator was CPU-starved: " + env.newStarved
		r.Pass = opts.InconclusivePass || (r.LowConfidence && !opts.Strict)
	case r.Status == StatusImprovement && env.baseStarved != "":
		r.Env = "base run's load generator was CPU-starved: " + env.baseStarved + " (the improvement may be the machine's)"
	case r.Status == StatusRegression && env.newSaturated != "":
		r.Env = env.newSaturated
	}
}

// inconclusiveWarning says how many rows are inconclusive and what that
// does to the outcome.
func inconclusiveWarning(c *Comparison, pass bool) []string {
	n := c.Count(StatusInconclusive)
	if n == 0 {
		return nil
	}
	w := fmt.Sprintf("%s inconclusive: the new run's load generator was CPU-starved compared with the base run's, so a slower result may be the machine's, not the code's; rerun on a quieter machine", plural(n, "check"))
	if pass {
		return []string{w + " (they pass: --inconclusive=pass)"}
	}
	return []string{w + " (they fail the comparison as inconclusive, not as regressions; compare --inconclusive=pass lets them pass)"}
}

// powerWarnings names, per gate, the cells whose repeats could not detect
// a change as small as the gate (rows that can never be significant are
// covered by the low-confidence warning).
func powerWarnings(c *Comparison) []string {
	var out []string
	for _, g := range c.Gates {
		worst, n, total := leastSensitive(c, g, func(r *Row) bool {
			return !r.Detect.Enough(r.Gate) && !math.IsInf(r.Detect.Change, 1)
		})
		if worst != nil {
			out = append(out, fmt.Sprintf("%s in %d of %d cells (least sensitive: %s): %s", g.Text, n, total, worst.Cell, worst.Detect.Sentence(worst.Gate)))
		}
	}
	return out
}

// leastSensitive returns, among the rows of gate g with values on both
// sides (total of them), the n rows that match and the one of those with
// the largest detectable change.
func leastSensitive(c *Comparison, g Gate, match func(*Row) bool) (worst *Row, n, total int) {
	for i := range c.Rows {
		r := &c.Rows[i]
		if r.Gate.Text != g.Text || len(r.Base.Values) == 0 || len(r.New.Values) == 0 {
			continue
		}
		total++
		if !match(r) {
			continue
		}
		n++
		if worst == nil || r.Detect.Change > worst.Detect.Change || math.IsNaN(worst.Detect.Change) {
			worst = r
		}
	}
	return worst, n, total
}

// Power states, for each gate whose every cell with a known detectable
// change could detect a change as small as the gate, what its least
// sensitive cell could detect ("p99=+10%: can detect ≥ 7.9% at p99 with
// 5+5 repeats (80 % power at α=0.05; least sensitive of 3 cells:
// pool.size=1)"). The other gates are in the warnings, and so are cells
// with too few repeats to know.
func (c *Comparison) Power() []string {
	var out []string
	finite := func(r *Row) bool { return !math.IsNaN(r.Detect.Change) && !math.IsInf(r.Detect.Change, 1) }
	for _, g := range c.Gates {
		worst, n, _ := leastSensitive(c, g, func(r *Row) bool { return finite(r) && r.Detect.Enough(r.Gate) })
		_, known, _ := leastSensitive(c, g, finite)
		if worst == nil || n < known {
			continue
		}
		s := fmt.Sprintf("%s: %s (%.0f %% power at α=%g", g.Text, worst.Detect.Sentence(worst.Gate), 100*DetectPower, c.Alpha)
		if known > 1 {
			s += fmt.Sprintf("; least sensitive of %d cells: %s", known, worst.Cell)
		}
		out = append(out, s+")")
	}
	return out
}

// comparability lists what differs between the runs in ways that weaken
// the comparison.
func comparability(a, b *results.Run) []string {
	var w []string
	if a.Name != b.Name {
		w = append(w, fmt.Sprintf("scenarios differ: %q vs %q", a.Name, b.Name))
	}
	if !slices.Equal(a.Dimensions, b.Dimensions) {
		w = append(w, fmt.Sprintf("matrix dimensions differ: %v vs %v", a.Dimensions, b.Dimensions))
	}
	pa, pb := a.Provenance, b.Provenance
	diff := func(what, x, y string) {
		if x != y && x != "" && y != "" {
			w = append(w, fmt.Sprintf("%s differs: %s vs %s", what, x, y))
		}
	}
	diff("Go version", pa.GoVersion, pb.GoVersion)
	diff("grpc-go version", pa.GRPCVersion, pb.GRPCVersion)
	diff("CPU", pa.CPU, pb.CPU)
	diff("host", pa.Hostname, pb.Hostname)
	if pa.GOMAXPROCS != pb.GOMAXPROCS && pa.GOMAXPROCS != 0 && pb.GOMAXPROCS != 0 {
		w = append(w, fmt.Sprintf("GOMAXPROCS differs: %d vs %d", pa.GOMAXPROCS, pb.GOMAXPROCS))
	}
	if a.Partial {
		w = append(w, "base run is partial (interrupted)")
	}
	if b.Partial {
		w = append(w, "new run is partial (interrupted)")
	}
	return w
}
