package gates

import (
	"encoding/xml"
	"fmt"
	"io"
	"math"
	"strings"
	"text/tabwriter"
)

// formatSample renders a side as "12.3ms ±4%" (median and half-range).
func formatSample(g Gate, s Sample) string {
	if !s.Present {
		return "absent"
	}
	if len(s.Values) == 0 {
		return "no data"
	}
	out := g.Metric.Format(s.Median)
	if !math.IsNaN(s.Spread) {
		out += " ±" + formatNumber(s.Spread*100) + "%"
	}
	return out
}

// formatDelta renders the row's delta in the gate's terms.
func formatDelta(r Row) string {
	if r.Gate.Relative {
		return formatPercent(r.Delta)
	}
	return formatSigned(r.Gate.Metric, r.AbsDelta)
}

func formatPercent(f float64) string {
	if math.IsNaN(f) {
		return "n/a"
	}
	s := formatNumber(f*100) + "%"
	if f >= 0 && !strings.HasPrefix(s, "+") {
		s = "+" + s
	}
	return s
}

func formatSigned(m Metric, v float64) string {
	if math.IsNaN(v) {
		return "n/a"
	}
	if m.Kind == KindFraction {
		// Absolute fractions are percentage points.
		s := formatNumber(v*100) + "pp"
		if v >= 0 {
			s = "+" + s
		}
		return s
	}
	s := m.Format(v)
	if v >= 0 {
		s = "+" + s
	}
	return s
}

func formatCI(r Row) string {
	if math.IsNaN(r.CILow) || math.IsNaN(r.CIHigh) {
		return "n/a"
	}
	if r.Gate.Relative {
		return "[" + formatPercent(r.CILow) + ", " + formatPercent(r.CIHigh) + "]"
	}
	return "[" + formatSigned(r.Gate.Metric, r.CILow) + ", " + formatSigned(r.Gate.Metric, r.CIHigh) + "]"
}

func formatP(r Row) string {
	if math.IsNaN(r.P) {
		return "n/a"
	}
	return fmt.Sprintf("p=%.3f", r.P)
}

func formatN(r Row) string {
	return fmt.Sprintf("n=%d+%d", len(r.Base.Values), len(r.New.Values))
}

// Summary returns a one-line verdict: "FAIL: 2 regressions, 1 missing in 12
// checks" or "ok: 12 checks, 1 improvement".
func (c *Comparison) Summary() string {
	reg, miss, imp := c.Count(StatusRegression), 0, c.Count(StatusImprovement)
	for _, r := range c.Rows {
		if r.Status == StatusMissing && !r.Pass {
			miss++
		}
	}
	low := 0
	for _, r := range c.Rows {
		if r.LowConfidence {
			low++
		}
	}
	var parts []string
	if reg > 0 {
		parts = append(parts, plural(reg, "regression"))
	}
	if miss > 0 {
		parts = append(parts, fmt.Sprintf("%d missing", miss))
	}
	if imp > 0 {
		parts = append(parts, plural(imp, "improvement"))
	}
	if low > 0 {
		parts = append(parts, fmt.Sprintf("%d low confidence", low))
	}
	head := "ok"
	if c.Failed() {
		head = "FAIL"
	}
	s := fmt.Sprintf("%s: %s", head, plural(len(c.Rows), "check"))
	if len(parts) > 0 {
		s += ", " + strings.Join(parts, ", ")
	}
	return s
}

func plural(n int, word string) string {
	if n == 1 {
		return fmt.Sprintf("%d %s", n, word)
	}
	return fmt.Sprintf("%d %ss", n, word)
}

// WriteText prints the comparison as a benchstat-like aligned table:
//
//	cell         gate      base           new            delta   95% CI            p        n        verdict
//	pool.size=4  p99=+10%  12.3ms ±3%     15.1ms ±2%     +22.8%  [+18.1%, +27.0%]  p=0.008  n=5+5    REGRESSION
//
// then the warnings and notes, and the summary line.
func WriteText(w io.Writer, c *Comparison) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "cell\tgate\tbase\tnew\tdelta\t95% CI\tp\tn\tverdict")
	for _, r := range c.Rows {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.Cell, r.Gate, formatSample(r.Gate, r.Base),
			formatSample(r.Gate, r.New), formatDelta(r), formatCI(r), formatP(r), formatN(r), r.Verdict())
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("gates: writing comparison: %w", err)
	}
	var b strings.Builder
	for _, wn := range c.Warnings {
		fmt.Fprintf(&b, "warning: %s\n", wn)
	}
	for _, r := range c.Rows {
		if r.Note != "" {
			fmt.Fprintf(&b, "note: %s %s: %s\n", r.Cell, r.Gate, r.Note)
		}
	}
	if lowConfidence(c) {
		n := RepeatsFor(c.Alpha)
		fmt.Fprintf(&b, "low confidence: too few repeats for the Mann–Whitney test at α=%g (need %d+%d repeats); the gate was applied to the median alone\n", c.Alpha, n, n)
	}
	fmt.Fprintf(&b, "%s\n", c.Summary())
	if _, err := io.WriteString(w, b.String()); err != nil {
		return fmt.Errorf("gates: writing comparison: %w", err)
	}
	return nil
}

func lowConfidence(c *Comparison) bool {
	for _, r := range c.Rows {
		if r.LowConfidence {
			return true
		}
	}
	return false
}

// mdEscape makes s safe inside a Markdown table cell.
func mdEscape(s string) string {
	r := strings.NewReplacer("|", `\|`, "\n", " ", "<", "&lt;", ">", "&gt;", "*", `\*`, "_", `\_`, "`", "\\`")
	return r.Replace(s)
}

// WriteMarkdown writes the comparison for a pull-request comment or a CI
// step summary: a heading with the verdict, the table, warnings and notes.
func WriteMarkdown(w io.Writer, c *Comparison) error {
	var b strings.Builder
	icon := "✅"
	if c.Failed() {
		icon = "❌"
	}
	fmt.Fprintf(&b, "### %s grpcbench compare: %s\n\n", icon, mdEscape(c.Summary()))
	if c.Base != "" || c.New != "" {
		fmt.Fprintf(&b, "Base `%s` vs new `%s`; α = %g; gates: ", strings.ReplaceAll(c.Base, "`", "'"), strings.ReplaceAll(c.New, "`", "'"), c.Alpha)
	} else {
		fmt.Fprintf(&b, "α = %g; gates: ", c.Alpha)
	}
	var gs []string
	for _, g := range c.Gates {
		gs = append(gs, "`"+g.Text+"`")
	}
	fmt.Fprintf(&b, "%s.\n\n", strings.Join(gs, ", "))
	b.WriteString("| cell | gate | base | new | delta | 95% CI | p | n | verdict |\n")
	b.WriteString("|---|---|--:|--:|--:|---|--:|--:|---|\n")
	for _, r := range c.Rows {
		verdict := mdEscape(r.Verdict())
		if !r.Pass {
			verdict = "**" + verdict + "**"
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", mdEscape(r.Cell), mdEscape(r.Gate.Text),
			mdEscape(formatSample(r.Gate, r.Base)), mdEscape(formatSample(r.Gate, r.New)), mdEscape(formatDelta(r)),
			mdEscape(formatCI(r)), formatP(r), formatN(r), verdict)
	}
	if len(c.Warnings) > 0 || hasNotes(c) || lowConfidence(c) {
		b.WriteString("\n")
	}
	for _, wn := range c.Warnings {
		fmt.Fprintf(&b, "- ⚠️ %s\n", mdEscape(wn))
	}
	for _, r := range c.Rows {
		if r.Note != "" {
			fmt.Fprintf(&b, "- %s %s: %s\n", mdEscape(r.Cell), mdEscape(r.Gate.Text), mdEscape(r.Note))
		}
	}
	if lowConfidence(c) {
		n := RepeatsFor(c.Alpha)
		fmt.Fprintf(&b, "- *low confidence*: too few repeats for the Mann–Whitney test at α = %g (need %d+%d); the gate was applied to the median alone.\n", c.Alpha, n, n)
	}
	if _, err := io.WriteString(w, b.String()); err != nil {
		return fmt.Errorf("gates: writing markdown: %w", err)
	}
	return nil
}

func hasNotes(c *Comparison) bool {
	for _, r := range c.Rows {
		if r.Note != "" {
			return true
		}
	}
	return false
}

// JUnitSuites is the root of a JUnit XML report, in the common shape CI
// systems read (testsuites > testsuite > testcase > failure | skipped).
type JUnitSuites struct {
	XMLName  xml.Name     `xml:"testsuites"`
	Name     string       `xml:"name,attr"`
	Tests    int          `xml:"tests,attr"`
	Failures int          `xml:"failures,attr"`
	Errors   int          `xml:"errors,attr"`
	Skipped  int          `xml:"skipped,attr"`
	Suites   []JUnitSuite `xml:"testsuite"`
}

// JUnitSuite is one testsuite: the gates of one cell.
type JUnitSuite struct {
	Name       string          `xml:"name,attr"`
	Tests      int             `xml:"tests,attr"`
	Failures   int             `xml:"failures,attr"`
	Errors     int             `xml:"errors,attr"`
	Skipped    int             `xml:"skipped,attr"`
	Properties *JUnitProps     `xml:"properties,omitempty"`
	Cases      []JUnitTestCase `xml:"testcase"`
}

// JUnitProps holds testsuite properties.
type JUnitProps struct {
	Props []JUnitProperty `xml:"property"`
}

// JUnitProperty is one name/value property.
type JUnitProperty struct {
	Name  string `xml:"name,attr"`
	Value string `xml:"value,attr"`
}

// JUnitTestCase is one cell × gate.
type JUnitTestCase struct {
	Name      string        `xml:"name,attr"`
	Classname string        `xml:"classname,attr"`
	Time      string        `xml:"time,attr"`
	Failure   *JUnitFailure `xml:"failure,omitempty"`
	Skipped   *JUnitSkipped `xml:"skipped,omitempty"`
	SystemOut string        `xml:"system-out,omitempty"`
}

// JUnitFailure marks a failed test case; Message carries the numbers and
// Text the full row.
type JUnitFailure struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr"`
	Text    string `xml:",chardata"`
}

// JUnitSkipped marks a test case that was not checked (a missing cell
// allowed by --allow-missing).
type JUnitSkipped struct {
	Message string `xml:"message,attr"`
}

// JUnit returns the comparison as JUnit test suites: one testsuite per cell,
// one testcase per gate, a failure for each row that did not pass.
func (c *Comparison) JUnit() JUnitSuites {
	root := JUnitSuites{Name: "grpcbench compare"}
	idx := map[string]int{}
	for _, r := range c.Rows {
		i, ok := idx[r.Cell]
		if !ok {
			i = len(root.Suites)
			idx[r.Cell] = i
			root.Suites = append(root.Suites, JUnitSuite{Name: "grpcbench compare " + r.Cell, Properties: &JUnitProps{Props: []JUnitProperty{
				{Name: "cell", Value: r.Cell}, {Name: "alpha", Value: fmt.Sprint(c.Alpha)},
				{Name: "base", Value: c.Base}, {Name: "new", Value: c.New},
			}}})
		}
		s := &root.Suites[i]
		detail := fmt.Sprintf("cell %s gate %s: base %s, new %s, delta %s, 95%% CI %s, %s, %s, verdict %s",
			r.Cell, r.Gate, formatSample(r.Gate, r.Base), formatSample(r.Gate, r.New), formatDelta(r), formatCI(r),
			formatP(r), formatN(r), r.Verdict())
		if r.Note != "" {
			detail += "; " + r.Note
		}
		tc := JUnitTestCase{Name: r.Gate.Text, Classname: "grpcbench.compare." + r.Cell, Time: "0", SystemOut: detail}
		switch {
		case !r.Pass:
			typ := "regression"
			msg := fmt.Sprintf("%s %s: %s → %s (%s, gate %s, %s, %s)", r.Gate.Metric.Name, r.Verdict(),
				formatSample(r.Gate, r.Base), formatSample(r.Gate, r.New), formatDelta(r), r.Gate, formatP(r), formatN(r))
			if r.Status == StatusMissing {
				typ = "missing"
				msg = "missing: " + r.Note
			}
			tc.Failure = &JUnitFailure{Message: msg, Type: typ, Text: detail}
			s.Failures++
			root.Failures++
		case r.Status == StatusMissing:
			tc.Skipped = &JUnitSkipped{Message: "missing (allowed): " + r.Note}
			s.Skipped++
			root.Skipped++
		}
		s.Tests++
		root.Tests++
		s.Cases = append(s.Cases, tc)
	}
	return root
}

// WriteJUnit writes the comparison as JUnit XML (see [Comparison.JUnit]).
func WriteJUnit(w io.Writer, c *Comparison) error {
	return writeJUnit(w, c.JUnit())
}

func writeJUnit(w io.Writer, s JUnitSuites) error {
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return fmt.Errorf("gates: writing JUnit: %w", err)
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(s); err != nil {
		return fmt.Errorf("gates: writing JUnit: %w", err)
	}
	if _, err := io.WriteString(w, "\n"); err != nil {
		return fmt.Errorf("gates: writing JUnit: %w", err)
	}
	return nil
}

// VerdictsJUnit returns threshold verdicts as JUnit test suites: one
// testsuite per cell, one testcase per check.
func VerdictsJUnit(vs []Verdict) JUnitSuites {
	root := JUnitSuites{Name: "grpcbench thresholds"}
	idx := map[string]int{}
	for _, v := range vs {
		i, ok := idx[v.Cell]
		if !ok {
			i = len(root.Suites)
			idx[v.Cell] = i
			root.Suites = append(root.Suites, JUnitSuite{Name: "grpcbench thresholds " + v.Cell})
		}
		s := &root.Suites[i]
		name := v.Metric + " " + v.Expr
		if v.Method != "" {
			name = v.Method + " " + name
		}
		tc := JUnitTestCase{Name: name, Classname: "grpcbench.thresholds." + v.Cell, Time: "0"}
		if !v.Pass {
			msg := fmt.Sprintf("%s = %s, want %s", v.Metric, v.Display, v.Expr)
			if v.Note != "" {
				msg += " (" + v.Note + ")"
			}
			tc.Failure = &JUnitFailure{Message: msg, Type: "threshold", Text: msg}
			s.Failures++
			root.Failures++
		}
		s.Tests++
		root.Tests++
		s.Cases = append(s.Cases, tc)
	}
	return root
}

// WriteVerdictsJUnit writes threshold verdicts as JUnit XML.
func WriteVerdictsJUnit(w io.Writer, vs []Verdict) error {
	return writeJUnit(w, VerdictsJUnit(vs))
}
