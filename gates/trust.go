package gates

import (
	"fmt"
	"io"
)

// Gate trust (`make gate-trust`) measures whether the compare gate can be
// believed on this machine, by running the same scenario many times:
//
//   - A/A: Trials times, run the scenario twice, each with Repeats repeats,
//     unchanged, and Compare the two. Any failing comparison is a false
//     alarm: the runs differ only by noise.
//   - A/B: Trials times, run the scenario once unchanged and once with the
//     fake server adding Shift more latency to every call (a latency fault
//     on all backends; e.g. 20 % of the baseline median), and Compare. A
//     comparison with at least one regression row is a detection; a missing
//     cell does not count as one.
//
// The goal of issue #6 is 0/10 false alarms and 10/10 detections with
// Repeats = 5 (5 + 5 is the smallest balanced design whose exact
// Mann–Whitney test can reach p < 0.05; see [MinP]). The lead's runner
// collects the comparisons and calls [Trust], then [WriteTrust].

// TrustPlan is the design of a gate-trust experiment.
type TrustPlan struct {
	// Trials is the number of A/A and of A/B comparisons.
	Trials int
	// Repeats is the scenario's repeat count on each side.
	Repeats int
	// Shift is the latency added on the B side, relative to the baseline.
	Shift float64
}

// DefaultTrustPlan is issue #6's plan: 10 A/A and 10 A/B comparisons of
// 5 repeats per side, B adding 20 % latency.
var DefaultTrustPlan = TrustPlan{Trials: 10, Repeats: 5, Shift: 0.20}

// TrustResult counts the outcomes of a gate-trust experiment.
type TrustResult struct {
	// AATrials and ABTrials are the comparisons made.
	AATrials, ABTrials int
	// FalseAlarms counts A/A comparisons that failed (any row not
	// passing, including missing cells).
	FalseAlarms int
	// Detections counts A/B comparisons with at least one regression row.
	Detections int
	// LowConfidence counts comparisons (either kind) with a low-confidence
	// row: the plan had too few repeats for the test to decide.
	LowConfidence int
}

// Trust tallies A/A and A/B comparisons.
func Trust(aa, ab []*Comparison) TrustResult {
	r := TrustResult{AATrials: len(aa), ABTrials: len(ab)}
	for _, c := range aa {
		if c.Failed() {
			r.FalseAlarms++
		}
		if lowConfidence(c) {
			r.LowConfidence++
		}
	}
	for _, c := range ab {
		if c.Count(StatusRegression) > 0 {
			r.Detections++
		}
		if lowConfidence(c) {
			r.LowConfidence++
		}
	}
	return r
}

// Good reports whether the experiment met the goal: no false alarm and
// every A/B comparison detected.
func (r TrustResult) Good() bool {
	return r.FalseAlarms == 0 && r.Detections == r.ABTrials && r.ABTrials > 0 && r.AATrials > 0
}

// WriteTrust prints the tally:
//
//	gate trust: false alarms 0/10 (A/A), detections 10/10 (A/B): ok
func WriteTrust(w io.Writer, r TrustResult) error {
	verdict := "ok"
	if !r.Good() {
		verdict = "NOT TRUSTWORTHY"
	}
	_, err := fmt.Fprintf(w, "gate trust: false alarms %d/%d (A/A), detections %d/%d (A/B): %s\n",
		r.FalseAlarms, r.AATrials, r.Detections, r.ABTrials, verdict)
	if err == nil && r.LowConfidence > 0 {
		_, err = fmt.Fprintf(w, "gate trust: %d comparisons had low-confidence rows (too few repeats)\n", r.LowConfidence)
	}
	if err != nil {
		return fmt.Errorf("gates: writing trust: %w", err)
	}
	return nil
}
