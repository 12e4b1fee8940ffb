// Command grpcbench load-tests and benchmarks gRPC client stacks: it drives
// the four RPC patterns through a connection pool, load balancing, retry
// with backoff and a circuit breaker against a fault-injecting fake server,
// sweeps a matrix of configurations, and records HDR latency histograms,
// retries and breaker trips for every cell.
//
// Usage:
//
//	grpcbench <command> [flags]
//
// Run "grpcbench --help" for the commands and "grpcbench <command> --help"
// for their flags.
//
// # Exit codes
//
// For every command:
//
//   - 0 success.
//   - 1 a gate failed (a threshold, or a regression in compare).
//   - 2 bad input or usage, refused before any load is sent or any output
//     written: a bad scenario (file, line and field named), a results file
//     that is not valid (the file and the JSON path inside it named, e.g.
//     "results.json: results: cells[3].methods.GetUser.latency.hdr: …"), or
//     an output that cannot be written.
//   - 3 the run could not be carried out: a target unreachable, a cell in
//     which no call succeeded, an output that failed as it was written
//     (disk full, file too large: the path and the OS error are named), or
//     an interrupt. Results written so far are kept and valid.
//   - 4 compare was inconclusive: no regression and no missing cell, but
//     changes beyond a gate that it could not attribute to the code because
//     the new run's load generator was CPU-starved compared with the base
//     run's (the rows say "INCONCLUSIVE" with the figures). compare
//     --inconclusive=pass lets them pass (exit 0); a regression elsewhere
//     still exits 1.
//   - 130 aborted by a second interrupt.
//
// # Outputs
//
// Every output is checked before the command does any work: run's -o and
// --report, report's -o, compare's --junit, --markdown and --report,
// merge's -o. The directory that will hold it is created if missing and a
// probe file is created and removed there; a file output must not be a
// directory, nor a report directory a file. Any failure exits 2 with the
// flag, the absolute path and the OS error ("-o /data/x/results.json:
// cannot be written: mkdir /data/x: not a directory"), so a long run is
// never wasted on a path that was not writable.
//
// Every output is then written atomically: results, JUnit and Markdown
// files through a temporary file in the same directory, synced and renamed
// into place; a report is rendered into a temporary directory inside its
// directory and its files renamed in, index.html last. A failure at the end
// exits 3 naming the path and the OS error and removes the temporary; run
// prints its summary table before writing, so the numbers of a run whose
// results could not be written are still on the terminal.
//
// # Interrupts
//
// SIGINT and SIGTERM are handled alike. The first stops the work: run
// stops the running cell within about a second, skips the others, writes
// the results measured so far marked "partial": true (a cell interrupted
// during its warm-up has recorded nothing: duration 0, no calls), renders
// the report if one was asked for, prints the summary and exits 3. A first
// interrupt while a report renders abandons that report (its directory is
// left as it was) and exits 3. The second interrupt aborts at once with
// exit 130: a file being renamed into place is finished first (at most 5
// s) and the report's temporary directory is removed, so no half-written
// or temporary file is left; results written before stay valid.
//
// # Results files read
//
// report, compare and merge read results files with results.ReadFile,
// which trusts no length or count it has not checked (see package results):
// truncated or malformed JSON, histograms whose headers claim more than
// they may (1 GB of counts, a geometry of millions of buckets, compression
// bombs), NaN, negative counts, wrong types, a foreign, future or missing
// schema all exit 2 naming the file and the path inside it, with bounded
// memory.
package main
