package report

import (
	"encoding/json"
	"fmt"
	"html"
	"html/template"
	"math"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/grpcbench/grpcbench/results"
)

// page is what the HTML template renders.
type page struct {
	Title    string
	Runs     []runInfo
	Verdicts []Verdict
	Failed   int
	Columns  []column
	Rows     []row
	Charts   []chartInfo
}

type runInfo struct {
	Label      string
	Name       string
	Partial    bool
	Cells      int
	Dimensions []string
	Provenance [][2]string
	Scenario   string
}

type column struct {
	Name  string
	Title string // tooltip
	Best  string // how the best value is chosen, for the tooltip
}

type row struct {
	Color   template.CSS
	Run     string
	Label   string
	ID      string
	Partial bool
	Error   string
	Values  []value
}

type value struct {
	Text string
	Sort string // numeric sort key; empty when not applicable
	Best bool
}

type chartInfo struct {
	File          string
	Title         string
	Caption       string
	Width, Height int
	// Img is the <img> element with the PNG inline.
	Img template.HTML
}

// metric is one numeric column of the summary table.
type metric struct {
	name, title string
	higher      bool // higher is better
	get         func(*cellView) float64
	format      func(float64) string
}

func fmtRate(v float64) string { return strconv.FormatFloat(v, 'f', 1, 64) }

func fmtMs(v float64) string {
	switch {
	case v < 1:
		return strconv.FormatFloat(v, 'f', 3, 64)
	case v < 10:
		return strconv.FormatFloat(v, 'f', 2, 64)
	case v < 100:
		return strconv.FormatFloat(v, 'f', 1, 64)
	}
	return strconv.FormatFloat(v, 'f', 0, 64)
}

func fmtPercent(v float64) string { return strconv.FormatFloat(100*v, 'f', 2, 64) + "%" }
func fmtRatio(v float64) string   { return strconv.FormatFloat(v, 'f', 3, 64) }
func fmtCount(v float64) string   { return strconv.FormatFloat(v, 'f', 0, 64) }

var metrics = []metric{
	{"calls/s", "completed calls per second", true, func(c *cellView) float64 { return c.rate }, fmtRate},
	{"p50 ms", "median latency from intended start, all methods", false, func(c *cellView) float64 { return c.p50 }, fmtMs},
	{"p90 ms", "90th percentile latency", false, func(c *cellView) float64 { return c.p90 }, fmtMs},
	{"p99 ms", "99th percentile latency", false, func(c *cellView) float64 { return c.p99 }, fmtMs},
	{"p99.9 ms", "99.9th percentile latency", false, func(c *cellView) float64 { return c.p999 }, fmtMs},
	{"max ms", "largest latency", false, func(c *cellView) float64 { return c.max }, fmtMs},
	{"errors", "share of calls whose final status was not OK", false, func(c *cellView) float64 { return c.errRate }, fmtPercent},
	{"retries/call", "extra attempts per logical call of the retry layer", false, func(c *cellView) float64 { return c.retriesPerCall }, fmtRatio},
	{"breaker trips", "circuit breaker transitions to open", false, func(c *cellView) float64 { return c.trips }, fmtCount},
	{"achieved/target", "achieved arrival rate over the target rate (open model)", true, func(c *cellView) float64 { return c.achieved }, fmtPercent},
}

// bestOf returns the best value of m over cells, and false when there is
// nothing to single out (fewer than two values, or all equal).
func bestOf(m metric, cells []*cellView) (float64, bool) {
	best, n, differ := math.NaN(), 0, false
	for _, c := range cells {
		v := m.get(c)
		if math.IsNaN(v) {
			continue
		}
		n++
		if n > 1 && v != best {
			differ = true
		}
		if n == 1 || (m.higher && v > best) || (!m.higher && v < best) {
			best = v
		}
	}
	return best, n > 1 && differ
}

// buildPage assembles the template data.
func buildPage(runs []*results.Run, labels []string, cells []*cellView, charts []chart, o Options) *page {
	p := &page{Title: o.Title, Verdicts: o.Verdicts}
	if p.Title == "" {
		p.Title = "grpcbench: " + strings.Join(labels, " vs ")
	}
	for _, v := range o.Verdicts {
		if !v.Pass {
			p.Failed++
		}
	}
	for i, r := range runs {
		p.Runs = append(p.Runs, runInfo{
			Label:      labels[i],
			Name:       r.Name,
			Partial:    r.Partial,
			Cells:      len(r.Cells),
			Dimensions: r.Dimensions,
			Provenance: provenance(r),
			Scenario:   scenarioText(r.Scenario),
		})
	}
	for _, m := range metrics {
		best := "lowest"
		if m.higher {
			best = "highest"
		}
		p.Columns = append(p.Columns, column{Name: m.name, Title: m.title, Best: best})
	}
	bests := make([]float64, len(metrics))
	marks := make([]bool, len(metrics))
	for i, m := range metrics {
		bests[i], marks[i] = bestOf(m, cells)
	}
	for _, c := range cells {
		r := row{Color: template.CSS(cssColor(c.color)), Run: c.runLabel, Label: c.label, ID: c.cell.ID, Partial: c.cell.Partial, Error: c.cell.Error}
		for i, m := range metrics {
			v := m.get(c)
			if math.IsNaN(v) {
				r.Values = append(r.Values, value{Text: "—"})
				continue
			}
			r.Values = append(r.Values, value{Text: m.format(v), Sort: strconv.FormatFloat(v, 'g', -1, 64), Best: marks[i] && v == bests[i]})
		}
		p.Rows = append(p.Rows, r)
	}
	for _, c := range charts {
		p.Charts = append(p.Charts, chartInfo{File: c.File, Title: c.Title, Caption: c.Caption, Width: c.Width, Height: c.Height, Img: imgTag(c)})
	}
	return p
}

// imgTag returns the <img> element of c with its PNG as a data: URI.
// It is built by hand rather than by the template because html/template
// escapes every '+' of the base64 text as "&#43;", which would inflate the
// page by about 8 %. The base64 alphabet needs no escaping in an attribute;
// the title and file name are escaped.
func imgTag(c chart) template.HTML {
	var b strings.Builder
	b.Grow(len(c.png)*4/3 + 200)
	b.WriteString(`<img src="`)
	b.WriteString(c.dataURI())
	fmt.Fprintf(&b, `" width="%d" height="%d" alt="%s" data-file="%s">`, c.Width, c.Height, html.EscapeString(c.Title), html.EscapeString(c.File))
	return template.HTML(b.String())
}

// provenance lists what produced r, as label/value pairs.
func provenance(r *results.Run) [][2]string {
	pv := r.Provenance
	var out [][2]string
	add := func(k, v string) {
		if v != "" {
			out = append(out, [2]string{k, v})
		}
	}
	add("tool", strings.TrimSpace(pv.Tool+" "+pv.Version))
	add("commit", pv.Commit)
	add("Go", pv.GoVersion)
	add("grpc-go", pv.GRPCVersion)
	if pv.GOMAXPROCS > 0 {
		add("GOMAXPROCS / CPUs", fmt.Sprintf("%d / %d", pv.GOMAXPROCS, pv.NumCPU))
	}
	add("CPU", pv.CPU)
	if pv.OS != "" {
		add("OS/arch", pv.OS+"/"+pv.Arch)
	}
	add("host", pv.Hostname)
	if len(pv.Args) > 0 {
		add("command", "grpcbench "+strings.Join(pv.Args, " "))
	}
	if !r.Started.IsZero() {
		add("started", r.Started.Format(time.RFC3339))
	}
	if !r.Finished.IsZero() {
		add("finished", r.Finished.Format(time.RFC3339))
		if !r.Started.IsZero() {
			add("wall time", r.Finished.Sub(r.Started).Round(time.Millisecond).String())
		}
	}
	return out
}

// scenarioText renders the resolved scenario as YAML ("" when absent).
func scenarioText(s any) string {
	if s == nil {
		return ""
	}
	b, err := yaml.Marshal(plainNumbers(s))
	if err != nil {
		// Not representable as YAML: fall back to JSON, which decoded it.
		j, jerr := json.MarshalIndent(s, "", "  ")
		if jerr != nil {
			return fmt.Sprintf("(scenario not printable: %v)", err)
		}
		return string(j)
	}
	return string(b)
}

// plainNumbers replaces json.Number values (from results.Decode) with
// int64 or float64 so that they print as YAML numbers, not strings.
func plainNumbers(v any) any {
	switch x := v.(type) {
	case json.Number:
		if i, err := x.Int64(); err == nil {
			return i
		}
		if f, err := x.Float64(); err == nil {
			return f
		}
		return string(x)
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = plainNumbers(e)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = plainNumbers(e)
		}
		return out
	}
	return v
}

// pageTemplate is the report page. Everything is inline: the page works
// offline from a single file. The script sorts the summary table and, on
// load, records on <body> how many images loaded and how many errors
// occurred (data-images, data-images-loaded, data-errors).
var pageTemplate = template.Must(template.New("report").Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Title}}</title>
<style>
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0 auto;padding:1rem 1.5rem 3rem;max-width:1200px;color:#222;background:#fff}
h1{font-size:1.5rem;margin:.5rem 0}
h2{font-size:1.2rem;margin:2rem 0 .5rem;border-bottom:1px solid #ddd;padding-bottom:.2rem}
table{border-collapse:collapse;font-variant-numeric:tabular-nums}
th,td{padding:.25rem .5rem;border-bottom:1px solid #eee;text-align:right;white-space:nowrap}
th{background:#f6f6f6;position:sticky;top:0}
th.sortable{cursor:pointer;user-select:none}
th[aria-sort=ascending]::after{content:" ▲"}
th[aria-sort=descending]::after{content:" ▼"}
td.text,th.text{text-align:left}
td.best{background:#e3f4e1;font-weight:600}
td.best::after{content:" ★";color:#2ca02c}
.swatch{display:inline-block;width:.9em;height:.9em;border-radius:2px;vertical-align:-.1em;margin-right:.3em}
.wrap{overflow-x:auto;max-height:80vh}
.partial{color:#b35900}
.pass{color:#1b7f1b;font-weight:600}
.fail{color:#c62828;font-weight:600}
figure{margin:1.5rem 0}
figure img{max-width:100%;height:auto;border:1px solid #eee}
figcaption{color:#555;margin-top:.3rem}
pre{background:#f7f7f7;padding:.75rem;overflow:auto;max-height:30rem}
dl{display:grid;grid-template-columns:max-content auto;gap:.1rem 1rem}
dt{color:#666}
dd{margin:0;word-break:break-all}
nav a{margin-right:1rem}
</style>
<script>
(function(){
  var errors = 0;
  window.addEventListener("error", function(){ errors++; }, true);
  window.addEventListener("load", function(){
    var imgs = document.images, ok = 0;
    for (var i = 0; i < imgs.length; i++) {
      if (imgs[i].complete && imgs[i].naturalWidth > 0) ok++;
    }
    document.body.setAttribute("data-images", imgs.length);
    document.body.setAttribute("data-images-loaded", ok);
    document.body.setAttribute("data-errors", errors);
  });
  document.addEventListener("DOMContentLoaded", function(){
    var tables = document.querySelectorAll("table.sortable");
    Array.prototype.forEach.call(tables, function(t){
      var ths = t.tHead.rows[0].cells;
      Array.prototype.forEach.call(ths, function(th, col){
        th.classList.add("sortable");
        th.addEventListener("click", function(){
          var asc = th.getAttribute("aria-sort") !== "ascending";
          Array.prototype.forEach.call(ths, function(h){ h.removeAttribute("aria-sort"); });
          th.setAttribute("aria-sort", asc ? "ascending" : "descending");
          var body = t.tBodies[0];
          var rows = Array.prototype.slice.call(body.rows);
          rows.sort(function(a, b){
            var x = a.cells[col].getAttribute("data-v"), y = b.cells[col].getAttribute("data-v");
            var r;
            if (x !== null || y !== null) {
              if (x === null || x === "") return 1;
              if (y === null || y === "") return -1;
              r = parseFloat(x) - parseFloat(y);
            } else {
              r = a.cells[col].textContent.localeCompare(b.cells[col].textContent);
            }
            return asc ? r : -r;
          });
          rows.forEach(function(r){ body.appendChild(r); });
        });
      });
    });
  });
})();
</script>
</head>
<body>
<h1>{{.Title}}</h1>
<nav><a href="#summary">Summary</a>{{if .Verdicts}}<a href="#verdicts">Verdicts</a>{{end}}<a href="#charts">Charts</a><a href="#runs">Scenario and provenance</a></nav>
<p>{{range $i, $r := .Runs}}{{if $i}}; {{end}}<strong>{{$r.Label}}</strong>: scenario “{{$r.Name}}”, {{$r.Cells}} cells{{if $r.Dimensions}} over {{range $j, $d := $r.Dimensions}}{{if $j}} × {{end}}<code>{{$d}}</code>{{end}}{{end}}{{if $r.Partial}} <span class="partial">(partial run)</span>{{end}}{{end}}.</p>
{{if .Verdicts}}
<h2 id="verdicts">Verdicts: {{if .Failed}}<span class="fail">{{.Failed}} of {{len .Verdicts}} failed</span>{{else}}<span class="pass">all {{len .Verdicts}} passed</span>{{end}}</h2>
<table class="verdicts">
<thead><tr><th class="text">cell</th><th class="text">check</th><th>value</th><th>limit</th><th>result</th></tr></thead>
<tbody>
{{range .Verdicts}}<tr><td class="text">{{.Cell}}</td><td class="text">{{.Name}}</td><td>{{.Value}}</td><td>{{.Limit}}</td><td>{{if .Pass}}<span class="pass">pass</span>{{else}}<span class="fail">FAIL</span>{{end}}</td></tr>
{{end}}</tbody>
</table>
{{end}}
<h2 id="summary">Summary</h2>
<p>One row per cell, all methods together. Latency counts from the intended start of each call and includes failed calls. ★ marks the best value of a column; click a header to sort.</p>
<div class="wrap">
<table class="sortable summary">
<thead><tr><th class="text">cell</th>{{range .Columns}}<th title="{{.Title}} ({{.Best}} is best)">{{.Name}}</th>{{end}}</tr></thead>
<tbody>
{{range .Rows}}<tr><td class="text" title="{{.ID}}"><span class="swatch" style="background:{{.Color}}"></span>{{.Label}}{{if .Partial}} <span class="partial">(partial)</span>{{end}}{{if .Error}} <span class="fail" title="{{.Error}}">(error)</span>{{end}}</td>{{range .Values}}<td{{if .Best}} class="best"{{end}} data-v="{{.Sort}}">{{.Text}}</td>{{end}}</tr>
{{end}}</tbody>
</table>
</div>
<h2 id="charts">Charts</h2>
{{range .Charts}}<figure id="{{.File}}">
{{.Img}}
<figcaption><strong>{{.Title}}.</strong> {{.Caption}} <a href="{{.File}}">{{.File}}</a></figcaption>
</figure>
{{end}}
<h2 id="runs">Scenario and provenance</h2>
{{range .Runs}}<h3>{{.Label}}</h3>
<dl>{{range .Provenance}}<dt>{{index . 0}}</dt><dd>{{index . 1}}</dd>{{end}}</dl>
{{if .Scenario}}<details open><summary>Scenario as run (defaults filled)</summary><pre>{{.Scenario}}</pre></details>{{else}}<p>The scenario was not recorded.</p>{{end}}
{{end}}
</body>
</html>
`))
