package report

import (
	"fmt"
	"math"
	"slices"

	"github.com/grpcbench/grpcbench/gates"
	"github.com/grpcbench/grpcbench/results"
)

// point99 is one matrix point of a run in the verdict: its repeats' p99.
type point99 struct {
	id      string // cell ID without the repeat suffix
	p99     []float64
	flagged bool
	flag    string // the first flag of a flagged repeat
}

// verdicts sets Summary.Verdicts: one line per run.
func (s *Summary) verdicts(runs []*results.Run) {
	col := slices.IndexFunc(s.Columns, func(c Column) bool { return c.Name == "p99" })
	for ri := range runs {
		var points []*point99
		byID := map[string]*point99{}
		for _, r := range s.Rows {
			if r.Run != ri {
				continue
			}
			id := gates.BaseID(r.Cell.ID)
			p := byID[id]
			if p == nil {
				p = &point99{id: id}
				byID[id] = p
				points = append(points, p)
			}
			if len(r.Flags) > 0 && !p.flagged {
				p.flagged, p.flag = true, r.Flags[0]
			}
			if v := r.Values[col]; !math.IsNaN(v) {
				p.p99 = append(p.p99, v)
			}
		}
		s.Verdicts = append(s.Verdicts, verdictLine(points))
	}
}

// verdictLine names the matrix point with the lowest median p99 among the
// unflagged ones, its margin over the runner-up and whether the margin is
// significant given the repeats.
func verdictLine(points []*point99) string {
	var ok []*point99
	flagged := 0
	for _, p := range points {
		switch {
		case p.flagged:
			flagged++
		case len(p.p99) > 0:
			ok = append(ok, p)
		}
	}
	left := ""
	switch {
	case flagged == 1:
		left = fmt.Sprintf(" Left out, as not comparable: %s.", firstFlag(points))
	case flagged > 1:
		left = fmt.Sprintf(" Left out, as not comparable: %d matrix points, e.g. %s.", flagged, firstFlag(points))
	}
	switch len(ok) {
	case 0:
		return "No verdict: no matrix point did comparable work." + left
	case 1:
		if len(points) == 1 {
			return fmt.Sprintf("One matrix point (%s): nothing to compare.", ok[0].id)
		}
		return fmt.Sprintf("No verdict: %s is the only comparable matrix point.", ok[0].id) + left
	}
	slices.SortStableFunc(ok, func(a, b *point99) int { return cmpFloat(gates.Median(a.p99), gates.Median(b.p99)) })
	w, r := ok[0], ok[1]
	mw, mr := gates.Median(w.p99), gates.Median(r.p99)
	line := fmt.Sprintf("Lowest p99: %s at %s (%s), %s below the runner-up %s (%s). %s",
		w.id, formatSeconds(mw), repeatsText(len(w.p99)), percentBelow(mw, mr), r.id, formatSeconds(mr), significance(w.p99, r.p99))
	return line + left
}

// significance says whether two samples of per-repeat p99 differ
// significantly (Mann–Whitney, α = gates.DefaultAlpha).
func significance(x, y []float64) string {
	n1, n2 := len(x), len(y)
	alpha := gates.DefaultAlpha
	switch {
	case n1 == 1 && n2 == 1:
		return "1 repeat: no significance."
	case gates.MinP(n1, n2) >= alpha:
		n := gates.RepeatsFor(alpha)
		return fmt.Sprintf("%d+%d repeats: no difference can be significant at α=%g (%d+%d can).", n1, n2, alpha, n, n)
	}
	p := gates.MannWhitney(x, y).P
	if p < alpha {
		return fmt.Sprintf("Significant: p=%.3g (Mann–Whitney, %d+%d repeats).", p, n1, n2)
	}
	return fmt.Sprintf("Not significant: p=%.3g (Mann–Whitney, %d+%d repeats).", p, n1, n2)
}

func repeatsText(n int) string {
	if n == 1 {
		return "1 repeat"
	}
	return fmt.Sprintf("median of %d repeats", n)
}

// percentBelow returns how far a is below b, relative to b: "35%".
func percentBelow(a, b float64) string {
	if b <= 0 {
		return "0%"
	}
	return percent((b - a) / b)
}

func formatSeconds(v float64) string { return Column{unit: unitDuration}.Format(v) }

func firstFlag(points []*point99) string {
	for _, p := range points {
		if p.flagged {
			return p.id + ": " + p.flag
		}
	}
	return ""
}

func cmpFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
