// Package gates decides whether a grpcbench run passes: absolute
// thresholds on one run, and regression gates comparing a run with a
// baseline, with statistics that are honest about noise.
//
// # Thresholds
//
// [Thresholds] decode from a scenario's `thresholds` key (a mapping of
// metric: expression, or a list of rules with `cells` selectors and a
// `method`); [Thresholds.Validate] rejects unknown metrics, malformed
// expressions, unknown or ambiguous methods and selectors that match no
// cell before any load is sent; [Evaluate] checks a finished run and returns
// one [Verdict] per check and cell. Gates fail closed: a check without data
// does not pass.
//
// Metrics: p50, p99.9 (any percentile), mean, max, min — of the call
// latency, or of another histogram with a prefix: ok.p99, attempt.p99,
// service.p99, ttfm.p99, rtt.p99 — and error_rate, rps, rps_ratio,
// retries_per_call, breaker_trips, breaker_rejections. Expressions:
// "< 150ms", "<= 1%", "> 1800", "== 0", "!= 0".
//
// A plain latency metric (p99, or latency.p99) reads the latency of every
// call, failed calls included: when failures are fast it can look good
// while every call fails. ok.p99 reads the calls that ended OK only.
// Gate both, or p99 with error_rate, to see what one of them hides.
//
// Methods are named as in results: in full without the leading slash
// ("grpcbench.user.v1.UserService/GetUser"), or by a short form that names
// one method of the run ("GetUser", "UserService/GetUser"); see
// [results.MatchMethod].
//
// # Compare
//
// [Compare] joins two runs' cells by ID without the "#repeat" suffix and,
// per cell and [Gate] ("p99=+10%"), reports both medians, the delta, the
// Mann–Whitney U p-value ([MannWhitney]) and a bootstrap 95 % interval of
// the median delta. With enough repeats per side for the exact test to
// reach α ([MinP], [RepeatsFor]: 4+4 at α = 0.05) a regression must be
// beyond the gate and significant. With fewer, no difference can ever be
// significant: the gate applies to the point estimate, the row says "low
// confidence", a warning says why, and such a regression does not fail
// unless [CompareOptions].Strict — a CI gate must not fail on one sample's
// noise. [WriteText], [WriteMarkdown] and [WriteJUnit] render a
// [Comparison].
package gates
