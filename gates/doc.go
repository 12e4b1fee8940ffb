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
//
// # The load generator's health
//
// A benchmark whose load generator is starved measures the generator.
// Every cell records the generator's health (results.Health: CPU use, its
// threads' run delay, other processes' CPU, PSI pressure, steal, run queue,
// GC, schedule lag). [Saturation] judges one cell: dropped arrivals, a
// process using ≥ 90 % of its cores, threads waiting for a CPU half their
// runnable time (or, where that is not measured, the machine's pressure),
// steal, or a schedule lag p99 that is half the latency p99 make the cell's
// numbers the client's; threshold verdicts on it say "inconclusive" next
// to their value (pass or fail is unchanged).
//
// [Compare] compares the generators of base and new for each cell: when
// the new run's generator was CPU-starved compared with the base's — the
// median run delay over repeats up by 15 points (else pressure by 15, else
// other processes' CPU by 25), or steal by 5, and significantly by the
// Mann–Whitney test where the repeats allow it — a regression on that cell
// becomes [StatusInconclusive] with the figures in Row.Env, never a
// regression. It fails unless [CompareOptions].InconclusivePass; a
// comparison whose only failures are inconclusive reports
// [Comparison.InconclusiveOnly] (grpcbench compare exits 4). Lag alone does
// not make a row inconclusive: a slower service fills the in-flight cap
// and lags every send, and that is a regression. A starved base beside an
// improvement is noted.
//
// # Stated power
//
// Each row states the smallest change it could have detected
// ([Detectable]): under a normal model of the repeat-to-repeat spread
// (of the logarithms for a relative gate), estimated from both sides
// pooled, the smallest shift that the Mann–Whitney test at α finds
// significant in [DetectPower] (80 %) of comparisons, found by simulation
// with the test's own critical values and a fixed seed. A gate below it is
// named in a warning with the repeats it would need ("this gate (+10%) is
// below what 5+5 repeats can detect (≥ 14%): use ≥ 9 repeats or longer
// cells"); [Comparison.Power] states the others.
package gates
