package main

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/grpcbench/grpcbench/results"
)

// maxDetailSeconds bounds the per-second rows printed for one cell.
const maxDetailSeconds = 30

// printDetails prints, under the summary, what its columns do not show and
// a lesson may hinge on, a few lines per cell and only what the cell has:
// the share of attempts each backend received and the most calls the fake
// server had in flight at once; the closed model's lag; hedging's extra
// work; outlier ejections; breaker transitions; backend set changes; and,
// when any cell of the run ejected, opened a breaker or changed its
// backends, every cell's attempts per backend in each second. Backends are
// named b0, b1, … in the results' order (the fake server's numbering).
func printDetails(w io.Writer, run *results.Run) {
	// The seconds are printed for every cell when one of them changed its
	// backends or opened a breaker: the cells are compared second by second.
	seconds := slices.ContainsFunc(run.Cells, func(c *results.Cell) bool {
		return c != nil && (len(c.Membership) > 0 || len(c.Ejections) > 0 || len(c.Breaker.Transitions) > 0)
	})
	var b strings.Builder
	for _, c := range run.Cells {
		if c == nil {
			continue
		}
		lines := cellDetails(c, seconds)
		if len(lines) == 0 {
			continue
		}
		fmt.Fprintf(&b, "  %s\n", c.ID)
		for _, l := range lines {
			fmt.Fprintf(&b, "    %s\n", l)
		}
	}
	if b.Len() > 0 {
		fmt.Fprint(w, "\nper cell:\n"+b.String())
	}
}

// cellDetails returns the detail lines of one cell, with the attempts per
// backend and second when seconds is set.
func cellDetails(c *results.Cell, seconds bool) []string {
	var out []string
	if l := backendLine(c); l != "" {
		out = append(out, l)
	}
	if c.Load.Model == results.ModelClosed && c.Load.MaxLag > 0 {
		out = append(out, "lag         "+fmtDur(c.Load.MaxLag)+" (the longest a slow reply held a worker back from its next call)")
	}
	if h := c.Hedging; h != nil && h.Calls > 0 {
		won := int64(0)
		for n, k := range h.WonBy {
			if n > 1 {
				won += k
			}
		}
		out = append(out, fmt.Sprintf("hedging     %d hedges for %d calls (%s), %d calls won by a hedge, %d extra calls at the server",
			h.Hedges, h.Calls, pct(h.Hedges, h.Calls), won, h.ServerExtra))
	}
	for _, e := range c.Ejections {
		s := fmt.Sprintf("%-11s %s at %s (%s", e.Kind, backendName(c, e.Addr), secs(e.At), e.Reason)
		if e.For > 0 {
			s += ", for " + e.For.String()
		}
		out = append(out, s+")")
	}
	if l := breakerLine(c.Breaker.Transitions); l != "" {
		out = append(out, l)
	}
	if t := c.Throttle; t != nil && t.Throttled > 0 {
		out = append(out, fmt.Sprintf("throttle    %d retries or hedges refused, %d changes", t.Throttled, len(t.Changes)))
	}
	for _, m := range c.Membership {
		var parts []string
		for _, a := range m.Removed {
			parts = append(parts, "−"+backendName(c, a))
		}
		for _, a := range m.Added {
			parts = append(parts, "+"+backendName(c, a))
		}
		s := fmt.Sprintf("membership  at %s: %s", secs(m.At), strings.Join(parts, " "))
		if m.Error != "" {
			s += " (" + m.Error + ")"
		}
		out = append(out, s)
	}
	if seconds {
		out = append(out, secondLines(c)...)
	}
	return out
}

// backendLine gives each backend's share of the attempts and the server's
// most in flight, when there is more than one backend or the server counted
// its in-flight calls. The shares are those of the recorded phase (the
// per-second series, the phase the latency columns measure) when the cell
// has one, else of the whole cell: the client's counts, or the server's.
func backendLine(c *results.Cell) string {
	counts, phase := recordedAttempts(c), " of the attempts after warm-up"
	if counts == nil {
		counts, phase = c.BackendCalls(), " of the attempts"
	}
	var total, maxIn int64
	for i, b := range c.Backends {
		total += counts[i]
		maxIn = max(maxIn, b.ServerMaxInflight)
	}
	if total == 0 || (len(c.Backends) < 2 && maxIn == 0) {
		return ""
	}
	var shares, inflight []string
	for i, b := range c.Backends {
		shares = append(shares, fmt.Sprintf("b%d %s", i, pct(counts[i], total)))
		inflight = append(inflight, fmt.Sprint(b.ServerMaxInflight))
	}
	s := "backends    " + strings.Join(shares, " · ") + phase
	if maxIn > 0 {
		s += "; most in flight at the server " + strings.Join(inflight, " · ")
	}
	return s
}

// recordedAttempts sums each backend's attempts over the recorded phase's
// seconds, in the order of c.Backends; nil when the cell has no series or
// the series names no backend of the cell.
func recordedAttempts(c *results.Cell) []int64 {
	if len(c.BackendSeries) == 0 {
		return nil
	}
	index := make(map[string]int, len(c.Backends))
	for i, b := range c.Backends {
		index[b.Addr] = i
	}
	out, seen := make([]int64, len(c.Backends)), false
	for _, sec := range c.BackendSeries {
		for addr, n := range sec.Calls {
			if i, ok := index[addr]; ok {
				out[i] += n
				seen = seen || n > 0
			}
		}
	}
	if !seen {
		return nil
	}
	return out
}

// breakerLine lists the breaker's transitions, at most ten.
func breakerLine(ts []results.Transition) string {
	if len(ts) == 0 {
		return ""
	}
	var parts []string
	for i, t := range ts {
		if i == 10 {
			parts = append(parts, fmt.Sprintf("… %d more", len(ts)-i))
			break
		}
		parts = append(parts, t.To+" "+secs(t.At))
	}
	return "breaker     " + strings.Join(parts, ", ")
}

// secondLines prints the attempts per backend in each second of the
// recorded phase: where a backend left, joined or was ejected.
func secondLines(c *results.Cell) []string {
	if len(c.BackendSeries) == 0 || len(c.Backends) == 0 {
		return nil
	}
	var names []string
	for i := range c.Backends {
		names = append(names, fmt.Sprintf("%6s", fmt.Sprintf("b%d", i)))
	}
	out := []string{"second  " + strings.Join(names, "")}
	for i, s := range c.BackendSeries {
		if i == maxDetailSeconds {
			out = append(out, fmt.Sprintf("… %d more seconds", len(c.BackendSeries)-i))
			break
		}
		row := fmt.Sprintf("%6d  ", s.T)
		for _, b := range c.Backends {
			row += fmt.Sprintf("%6d", s.Calls[b.Addr])
		}
		out = append(out, row)
	}
	return out
}

// backendName names a backend by its position in c.Backends ("b1"), or by
// its address when it is not there.
func backendName(c *results.Cell, addr string) string {
	if i := slices.IndexFunc(c.Backends, func(b results.Backend) bool { return b.Addr == addr }); i >= 0 {
		return fmt.Sprintf("b%d", i)
	}
	return addr
}

// pct prints n/total as a percentage with up to 3 significant digits.
func pct(n, total int64) string {
	if total == 0 {
		return "—"
	}
	p := 100 * float64(n) / float64(total)
	if p >= 10 || p == 0 {
		return fmt.Sprintf("%.0f%%", p)
	}
	return fmt.Sprintf("%.1f%%", p)
}

// secs prints an offset from the start of the recorded phase: "1.25s".
func secs(d time.Duration) string { return fmt.Sprintf("%.2fs", d.Seconds()) }
