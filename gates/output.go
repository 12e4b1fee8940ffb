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
	out := g.metric.format(s.Median)
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
	return formatSigned(r.Gate.metric, r.AbsDelta)
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

func formatSigned(m metric, v float64) string {
	if math.IsNaN(v) {
		return "n/a"
	}
	if m.Kind == kindFraction {
		// Absolute fractions are percentage points.
		s := formatNumber(v*100) + "pp"
		if v >= 0 {
			s = "+" + s
		}
		return s
	}
	s := m.format(v)
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
	return "[" + formatSigned(r.Gate.metric, r.CILow) + ", " + formatSigned(r.Gate.metric, r.CIHigh) + "]"
}

func formatP(r Row) string {
	if math.IsNaN(r.P) {
		return "n/a"
	}
	return fmt.Sprintf("p=%.3f", r.P)
}

// formatDetect renders the row's detectable change ("≥7.9%"), or "n/a"
// when a side has no values.
func formatDetect(r Row) string {
	if len(r.Base.Values) == 0 || len(r.New.Values) == 0 {
		return "n/a"
	}
	return r.Detect.Short(r.Gate)
}

// rowNote joins the row's note and its environment.
func rowNote(r Row) string {
	switch {
	case r.Env == "":
		return r.Note
	case r.Note == "":
		return r.Env
	}
	return r.Env + "; " + r.Note
}

func formatN(r Row) string {
	return fmt.Sprintf("n=%d+%d", len(r.Base.Values), len(r.New.Values))
}

// Summary returns a one-line verdict: "FAIL: 12 checks, 2 regressions,
// 1 missing", "INCONCLUSIVE: 12 checks, 2 inconclusive (load generator
// starved)" (when the only failures are inconclusive) or "ok: 12 checks,
// 1 improvement, 2 regressions not failing (too few repeats)".
func (c *Comparison) Summary() string {
	var failing, soft, miss, low, inconc int
	for _, r := range c.Rows {
		switch {
		case r.Status == StatusRegression && r.Pass:
			soft++
		case r.Status == StatusRegression:
			failing++
		case r.Status == StatusMissing && !r.Pass:
			miss++
		case r.Status == StatusInconclusive:
			inconc++
		}
		if r.LowConfidence {
			low++
		}
	}
	var parts []string
	if failing > 0 {
		parts = append(parts, plural(failing, "regression"))
	}
	if miss > 0 {
		parts = append(parts, fmt.Sprintf("%d missing", miss))
	}
	if inconc > 0 {
		parts = append(parts, fmt.Sprintf("%d inconclusive (load generator starved)", inconc))
	}
	if imp := c.Count(StatusImprovement); imp > 0 {
		parts = append(parts, plural(imp, "improvement"))
	}
	if soft > 0 {
		parts = append(parts, plural(soft, "regression")+" not failing (too few repeats)")
	}
	if low > 0 {
		parts = append(parts, fmt.Sprintf("%d low confidence", low))
	}
	head := "ok"
	switch {
	case c.InconclusiveOnly():
		head = "INCONCLUSIVE"
	case c.Failed():
		head = "FAIL"
	}
	s := fmt.Sprintf("%s: %s", head, plural(len(c.Rows), "check"))
	if len(parts) > 0 {
		s += ", " + strings.Join(parts, ", ")
	}
	return s
}

// InconclusiveOnly reports whether the comparison fails and every row that
// fails is inconclusive: no regression, no missing cell, only a new run
// whose load generator was starved.
func (c *Comparison) InconclusiveOnly() bool {
	failed := false
	for _, r := range c.Rows {
		if r.Pass {
			continue
		}
		if r.Status != StatusInconclusive {
			return false
		}
		failed = true
	}
	return failed
}

// Change describes the row's numbers in one phrase: "12.3ms → 15.1ms
// (+22.8%, p=0.008, n=5+5)", or the verdict when a side has no data.
func (r Row) Change() string {
	if len(r.Base.Values) == 0 || len(r.New.Values) == 0 {
		return r.Verdict()
	}
	return fmt.Sprintf("%s → %s (%s, %s, %s)", formatSample(r.Gate, r.Base), formatSample(r.Gate, r.New),
		formatDelta(r), formatP(r), formatN(r))
}

func plural(n int, word string) string {
	if n == 1 {
		return fmt.Sprintf("%d %s", n, word)
	}
	return fmt.Sprintf("%d %ss", n, word)
}

// WriteText prints the comparison as a benchstat-like aligned table:
//
//	cell         gate      base        new         delta   95% CI            p        n      detects  verdict
//	pool.size=4  p99=+10%  12.3ms ±3%  15.1ms ±2%  +22.8%  [+18.1%, +27.0%]  p=0.008  n=5+5  ≥7.9%    REGRESSION
//
// ("detects" is the smallest change the row could detect at 80 % power,
// see [Detectable]), then the stated power of each gate ([Comparison.Power]),
// the warnings and notes, and the summary line.
func WriteText(w io.Writer, c *Comparison) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "cell\tgate\tbase\tnew\tdelta\t95% CI\tp\tn\tdetects\tverdict")
	for _, r := range c.Rows {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.Cell, r.Gate, formatSample(r.Gate, r.Base),
			formatSample(r.Gate, r.New), formatDelta(r), formatCI(r), formatP(r), formatN(r), formatDetect(r), r.Verdict())
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("gates: writing comparison: %w", err)
	}
	var b strings.Builder
	for _, p := range c.Power() {
		fmt.Fprintf(&b, "power: %s\n", p)
	}
	for _, wn := range c.Warnings {
		fmt.Fprintf(&b, "warning: %s\n", wn)
	}
	for _, r := range c.Rows {
		if n := rowNote(r); n != "" {
			fmt.Fprintf(&b, "note: %s %s: %s\n", r.Cell, r.Gate, n)
		}
	}
	fmt.Fprintf(&b, "%s\n", c.Summary())
	if _, err := io.WriteString(w, b.String()); err != nil {
		return fmt.Errorf("gates: writing comparison: %w", err)
	}
	return nil
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
	switch {
	case c.InconclusiveOnly():
		icon = "⚠️"
	case c.Failed():
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
	b.WriteString("| cell | gate | base | new | delta | 95% CI | p | n | detects | verdict |\n")
	b.WriteString("|---|---|--:|--:|--:|---|--:|--:|--:|---|\n")
	for _, r := range c.Rows {
		verdict := mdEscape(r.Verdict())
		if !r.Pass {
			verdict = "**" + verdict + "**"
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", mdEscape(r.Cell), mdEscape(r.Gate.Text),
			mdEscape(formatSample(r.Gate, r.Base)), mdEscape(formatSample(r.Gate, r.New)), mdEscape(formatDelta(r)),
			mdEscape(formatCI(r)), formatP(r), formatN(r), mdEscape(formatDetect(r)), verdict)
	}
	if len(c.Warnings) > 0 || hasNotes(c) || len(c.Power()) > 0 {
		b.WriteString("\n")
	}
	for _, p := range c.Power() {
		fmt.Fprintf(&b, "- power: %s\n", mdEscape(p))
	}
	for _, wn := range c.Warnings {
		fmt.Fprintf(&b, "- ⚠️ %s\n", mdEscape(wn))
	}
	for _, r := range c.Rows {
		if n := rowNote(r); n != "" {
			fmt.Fprintf(&b, "- %s %s: %s\n", mdEscape(r.Cell), mdEscape(r.Gate.Text), mdEscape(n))
		}
	}
	if _, err := io.WriteString(w, b.String()); err != nil {
		return fmt.Errorf("gates: writing markdown: %w", err)
	}
	return nil
}

func hasNotes(c *Comparison) bool {
	for _, r := range c.Rows {
		if rowNote(r) != "" {
			return true
		}
	}
	return false
}

// junitSuites is the root of a JUnit XML report, in the common shape CI
// systems read (testsuites > testsuite > testcase > failure | skipped).
type junitSuites struct {
	XMLName  xml.Name     `xml:"testsuites"`
	Name     string       `xml:"name,attr"`
	Tests    int          `xml:"tests,attr"`
	Failures int          `xml:"failures,attr"`
	Errors   int          `xml:"errors,attr"`
	Skipped  int          `xml:"skipped,attr"`
	Suites   []junitSuite `xml:"testsuite"`
}

// junitSuite is one testsuite: the gates of one cell.
type junitSuite struct {
	Name       string          `xml:"name,attr"`
	Tests      int             `xml:"tests,attr"`
	Failures   int             `xml:"failures,attr"`
	Errors     int             `xml:"errors,attr"`
	Skipped    int             `xml:"skipped,attr"`
	Properties []junitProperty `xml:"properties>property,omitempty"`
	Cases      []junitCase     `xml:"testcase"`
}

// junitProperty is one name/value property of a testsuite.
type junitProperty struct {
	Name  string `xml:"name,attr"`
	Value string `xml:"value,attr"`
}

// junitCase is one cell × gate. Failure carries the numbers (Message) and
// the full row (Text); Skipped a missing cell allowed by AllowMissing.
type junitCase struct {
	Name      string        `xml:"name,attr"`
	Classname string        `xml:"classname,attr"`
	Time      string        `xml:"time,attr"`
	Failure   *junitFailure `xml:"failure,omitempty"`
	Skipped   *junitSkipped `xml:"skipped,omitempty"`
	SystemOut string        `xml:"system-out,omitempty"`
}

type junitFailure struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr"`
	Text    string `xml:",chardata"`
}

type junitSkipped struct {
	Message string `xml:"message,attr"`
}

// junit returns the comparison as JUnit test suites: one testsuite per cell,
// one testcase per gate, a failure for each row that did not pass.
func (c *Comparison) junit() junitSuites {
	root := junitSuites{Name: "grpcbench compare"}
	idx := map[string]int{}
	for _, r := range c.Rows {
		i, ok := idx[r.Cell]
		if !ok {
			i = len(root.Suites)
			idx[r.Cell] = i
			root.Suites = append(root.Suites, junitSuite{Name: "grpcbench compare " + r.Cell, Properties: []junitProperty{
				{Name: "cell", Value: r.Cell}, {Name: "alpha", Value: fmt.Sprint(c.Alpha)},
				{Name: "base", Value: c.Base}, {Name: "new", Value: c.New},
			}})
		}
		s := &root.Suites[i]
		tc := junitRow(r)
		switch {
		case tc.Failure != nil:
			s.Failures++
			root.Failures++
		case tc.Skipped != nil:
			s.Skipped++
			root.Skipped++
		}
		s.Tests++
		root.Tests++
		s.Cases = append(s.Cases, tc)
	}
	return root
}

// junitRow returns the test case of one row.
func junitRow(r Row) junitCase {
	detail := fmt.Sprintf("cell %s gate %s: base %s, new %s, delta %s, 95%% CI %s, %s, %s, verdict %s",
		r.Cell, r.Gate, formatSample(r.Gate, r.Base), formatSample(r.Gate, r.New), formatDelta(r), formatCI(r),
		formatP(r), formatN(r), r.Verdict())
	if len(r.Base.Values) > 0 && len(r.New.Values) > 0 {
		detail += "; " + r.Detect.Sentence(r.Gate)
	}
	if n := rowNote(r); n != "" {
		detail += "; " + n
	}
	tc := junitCase{Name: r.Gate.Text, Classname: "grpcbench.compare." + r.Cell, Time: "0", SystemOut: detail}
	switch {
	case !r.Pass:
		typ := "regression"
		msg := fmt.Sprintf("%s %s: %s (gate %s)", r.Gate.metric.Name, r.Verdict(), r.Change(), r.Gate)
		switch r.Status {
		case StatusMissing:
			typ = "missing"
			msg = "missing: " + r.Note
		case StatusInconclusive:
			typ = "inconclusive"
			msg = fmt.Sprintf("%s inconclusive: %s (gate %s); %s", r.Gate.metric.Name, r.Change(), r.Gate, r.Env)
		}
		tc.Failure = &junitFailure{Message: msg, Type: typ, Text: detail}
	case r.Status == StatusMissing:
		tc.Skipped = &junitSkipped{Message: "missing (allowed): " + r.Note}
	case r.Status == StatusInconclusive:
		tc.Skipped = &junitSkipped{Message: "inconclusive (allowed): " + r.Env}
	}
	return tc
}

// WriteJUnit writes the comparison as JUnit XML, the shape CI systems read:
// one testsuite per cell, one testcase per gate, a failure for each row
// that did not pass and a skipped case for a missing cell allowed by
// AllowMissing.
func WriteJUnit(w io.Writer, c *Comparison) error {
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return fmt.Errorf("gates: writing JUnit: %w", err)
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(c.junit()); err != nil {
		return fmt.Errorf("gates: writing JUnit: %w", err)
	}
	if _, err := io.WriteString(w, "\n"); err != nil {
		return fmt.Errorf("gates: writing JUnit: %w", err)
	}
	return nil
}
