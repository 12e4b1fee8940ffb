package main

import (
	"fmt"
	"io"
	"math"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/grpcbench/grpcbench/gates"
	"github.com/grpcbench/grpcbench/report"
	"github.com/grpcbench/grpcbench/results"
)

// cellLine is the one-line result of a finished cell in the progress
// output; the latency of OK calls is added when it differs materially from
// that of all calls.
func cellLine(c *results.Cell) string {
	if c.All == nil || c.All.Calls == 0 {
		if c.Error != "" {
			return "error: " + c.Error
		}
		return "no calls"
	}
	p99 := c.All.Latency.Quantile(0.99)
	s := fmt.Sprintf("%.0f calls/s, p50 %s, p99 %s", c.Load.AchievedRate, fmtDur(c.All.Latency.Quantile(0.5)), fmtDur(p99))
	if ok := c.All.OK.Quantile(0.99); c.All.OK.Count() > 0 && differs(ok, p99) {
		s += ", ok p99 " + fmtDur(ok)
	}
	s += fmt.Sprintf(", errors %.2f%%, retries/call %.3f, breaker trips %d", 100*c.All.ErrorRate(), c.Retry.RetriesPerCall(), c.Breaker.Trips)
	if len(c.TopErrors) > 0 {
		s += "; " + topErrors(c)
	}
	if c.Error != "" {
		s += " (" + c.Error + ")"
	}
	if sat, _ := gates.Saturation(c); sat {
		s += "; load generator saturated"
	}
	return s
}

// differs reports whether two latencies differ by more than 10 % and 50 µs.
func differs(a, b time.Duration) bool {
	d := math.Abs(float64(a - b))
	return d > 0.1*float64(max(a, b)) && d >= float64(50*time.Microsecond)
}

func fmtDur(d time.Duration) string {
	switch {
	case d >= time.Second:
		return fmt.Sprintf("%.2fs", d.Seconds())
	case d >= time.Millisecond:
		return fmt.Sprintf("%.2fms", float64(d)/1e6)
	default:
		return fmt.Sprintf("%.0fµs", float64(d)/1e3)
	}
}

// printSummary prints the summary of a run as the HTML report shows it
// (report.Summarize): one row per cell, ★ on the best value of each column
// among the cells that did comparable work, the flags of the others in the
// notes column, a table per method when the run called several, and the
// verdict.
func printSummary(w io.Writer, run *results.Run) {
	s := report.Summarize(run)
	var b strings.Builder
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	fmt.Fprint(tw, "cell")
	for _, c := range s.Columns {
		fmt.Fprint(tw, "\t"+c.Name)
	}
	fmt.Fprintln(tw, "\tnotes")
	flagged := false
	for _, r := range s.Rows {
		fmt.Fprint(tw, r.Cell.ID)
		for i, c := range s.Columns {
			v := c.Format(r.Values[i])
			if r.Best[i] {
				v += " ★"
			}
			fmt.Fprint(tw, "\t"+v)
		}
		fmt.Fprintln(tw, "\t"+strings.Join(r.Flags, "; "))
		flagged = flagged || len(r.Flags) > 0
	}
	tw.Flush()
	if len(s.Methods) > 0 {
		fmt.Fprintln(&b)
		tw = tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
		fmt.Fprint(tw, "cell\tmethod")
		for _, c := range s.MethodColumns {
			fmt.Fprint(tw, "\t"+c.Name)
		}
		fmt.Fprintln(tw)
		for _, m := range s.Methods {
			fmt.Fprint(tw, m.Cell.ID+"\t"+m.Short)
			for i, c := range s.MethodColumns {
				fmt.Fprint(tw, "\t"+c.Format(m.Values[i]))
			}
			fmt.Fprintln(tw)
		}
		tw.Flush()
	}
	// Rows without notes end in padding: trim it.
	for _, l := range strings.SplitAfter(b.String(), "\n") {
		fmt.Fprint(w, strings.TrimRight(l, " \n")+strings.Repeat("\n", strings.Count(l, "\n")))
	}
	fmt.Fprintln(w)
	if flagged {
		fmt.Fprintln(w, "★ best of the cells that did comparable work; cells with notes are left out of that comparison.")
	} else {
		fmt.Fprintln(w, "★ best value of each column.")
	}
	for _, v := range s.Verdicts {
		fmt.Fprintln(w, "verdict: "+v)
	}
}
