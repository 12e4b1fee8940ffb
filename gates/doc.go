// Package gates decides whether a grpcbench run passes: absolute
// thresholds on one run, and regression gates comparing a run with a
// baseline, with statistics that are honest about noise.
//
// # Thresholds
//
// [Thresholds] decode from a scenario's `thresholds` key (a mapping of
// metric: expression, or a list of rules with `cells` selectors and a
// `method`); [Thresholds.Validate] rejects unknown metrics, malformed
// expressions and selectors that match no cell before any load is sent;
// [Evaluate] checks a finished run and returns one [Verdict] per check and
// cell. Gates fail closed: a check without data does not pass.
//
// Metric names ([ParseMetric]): p50, p99.9 (any percentile), mean, max,
// min — of the call latency, or of another histogram with a prefix:
// attempt.p99, service.p99, ttfm.p99, rtt.p99 (latency.p99 is p99) — and
// error_rate, rps, rps_ratio, retries_per_call, breaker_trips,
// breaker_rejections. Expressions ([ParseExpr]): "< 150ms", "<= 1%",
// "> 1800", "== 0", "!= 0".
//
// # Compare
//
// [Compare] joins two runs' cells by ID without the "#repeat" suffix and,
// per cell and [Gate] ("p99=+10%"), reports both medians, the delta, the
// Mann–Whitney U p-value ([MannWhitney]) and a bootstrap 95 % interval of
// the median delta ([BootstrapMedianDelta]). With 3 or more repeats per
// side a regression must be beyond the gate and significant; with fewer,
// or too few for the exact test to ever reach α, the gate applies to the
// point estimate and the row says "low confidence". [WriteText],
// [WriteMarkdown] and [WriteJUnit] render a [Comparison].
//
// # Trust
//
// The `make gate-trust` experiment (A/A false alarms, A/B detections) is
// described by [TrustPlan] and tallied by [Trust].
//
// This package lives beside results while results is being finished;
// DESIGN.md places thresholds and compare in results, and the two may be
// merged later.
package gates
