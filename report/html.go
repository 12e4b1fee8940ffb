package report

import (
	"encoding/json"
	"fmt"
	"html"
	"html/template"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/grpcbench/grpcbench/results"
)

// page is what the HTML template renders.
type page struct {
	Title    string
	Verdict  []string // one line per run, run label first when several
	Runs     []runInfo
	Verdicts []Verdict
	Failed   int
	Columns  []Column
	Rows     []row
	// MethodColumns and MethodRows are the per-method table (empty when
	// every run called one method).
	MethodColumns []Column
	MethodRows    []methodRow
	// EnvColumns and Env are the environment panel: the load generator's
	// health per cell (empty when no cell recorded it).
	EnvColumns []Column
	Env        []envRow
	Charts     []chartInfo
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

type row struct {
	Color   template.CSS
	Label   string
	ID      string
	Partial bool
	Error   string
	Flags   []string
	Values  []value
}

type methodRow struct {
	Color  template.CSS
	Label  string
	Method string // short name
	Full   string
	Values []value
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

// values renders one row's values.
func values(cols []Column, vs []float64, best []bool) []value {
	out := make([]value, len(vs))
	for i, v := range vs {
		if math.IsNaN(v) {
			out[i] = value{Text: "—"}
			continue
		}
		out[i] = value{Text: cols[i].Format(v), Sort: strconv.FormatFloat(v, 'g', -1, 64), Best: best != nil && best[i]}
	}
	return out
}

// buildPage assembles the template data.
func buildPage(runs []*results.Run, labels []string, sum *Summary, cells []*cellView, charts []chart, o Options) *page {
	p := &page{Title: o.Title, Verdicts: o.Verdicts, Columns: sum.Columns, MethodColumns: sum.MethodColumns}
	if p.Title == "" {
		p.Title = "grpcbench: " + strings.Join(labels, " vs ")
	}
	for i, v := range sum.Verdicts {
		if len(runs) > 1 {
			v = labels[i] + ": " + v
		}
		p.Verdict = append(p.Verdict, v)
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
	colorOf := map[*results.Cell]*cellView{}
	for _, c := range cells {
		colorOf[c.cell] = c
		sr := c.row
		p.Rows = append(p.Rows, row{Color: template.CSS(cssColor(c.color)), Label: c.label, ID: c.cell.ID,
			Partial: c.cell.Partial, Error: c.cell.Error, Flags: sr.Flags, Values: values(sum.Columns, sr.Values, sr.Best)})
	}
	for _, m := range sum.Methods {
		c := colorOf[m.Cell]
		p.MethodRows = append(p.MethodRows, methodRow{Color: template.CSS(cssColor(c.color)), Label: c.label,
			Method: m.Short, Full: m.Method, Values: values(sum.MethodColumns, m.Values, nil)})
	}
	if p.Env = environment(cells); p.Env != nil {
		p.EnvColumns = envColumns
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

// hasOK reports whether the columns include the latency of OK calls.
func hasOK(cols []Column) bool {
	return slices.ContainsFunc(cols, func(c Column) bool { return strings.HasPrefix(c.Name, "ok ") })
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
var pageTemplate = template.Must(template.New("report").Funcs(template.FuncMap{"hasOK": hasOK}).Parse(`<!DOCTYPE html>
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
table.summary td:first-child{white-space:normal;min-width:18em}
table.environment td:last-child{white-space:normal;min-width:10em}
td.best{background:#e3f4e1;font-weight:600}
td.best::after{content:" ★";color:#1b7f1b}
.flag{display:inline-block;margin-left:.4em;padding:0 .35em;border-radius:3px;background:#fff3e0;color:#8a4b00;font-size:.85em}
tr.flagged td{color:#777}
tr.flagged td.text{color:#222}
p.verdict{font-size:1.05rem;background:#f4f8fc;border-left:4px solid #1f77b4;padding:.4rem .75rem;margin:.4rem 0}
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
  function sortFromHash(){
    // index.html#sort=p99 (or #sort=-p99, descending) sorts the summary.
    var m = /^#sort=(-?)(.+)$/.exec(location.hash);
    if (!m) return;
    var name = decodeURIComponent(m[2]);
    var ths = document.querySelectorAll("table.summary thead th");
    for (var i = 0; i < ths.length; i++) {
      if (ths[i].getAttribute("data-name") === name) {
        ths[i].click();
        if (m[1] === "-") ths[i].click();
        return;
      }
    }
  }
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
    sortFromHash();
  });
})();
</script>
</head>
<body>
<h1>{{.Title}}</h1>
{{range .Verdict}}<p class="verdict">{{.}}</p>
{{end}}<nav><a href="#summary">Summary</a>{{if .MethodRows}}<a href="#methods">Per method</a>{{end}}{{if .Verdicts}}<a href="#verdicts">Verdicts</a>{{end}}{{if .Env}}<a href="#environment">Environment</a>{{end}}<a href="#charts">Charts</a><a href="#runs">Scenario and provenance</a></nav>
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
<p>One row per cell, all methods together. Latency counts from the intended start of each call and includes failed calls{{if hasOK .Columns}}; the ok columns count the calls that ended OK only{{end}}. ★ marks the best value of a column among the cells that did comparable work; a flagged cell (it sent its calls to fewer backends, failed clearly more of them, or ran the closed model beside open-model cells) is left out of that comparison. Click a header to sort.</p>
<div class="wrap">
<table class="sortable summary">
<thead><tr><th class="text" data-name="cell">cell</th>{{range .Columns}}<th data-name="{{.Name}}" title="{{.Title}}{{if gt .Better 0}} (highest is best){{else if lt .Better 0}} (lowest is best){{end}}">{{.Name}}</th>{{end}}</tr></thead>
<tbody>
{{range .Rows}}<tr{{if .Flags}} class="flagged"{{end}}><td class="text" title="{{.ID}}"><span class="swatch" style="background:{{.Color}}"></span>{{.Label}}{{if .Partial}} <span class="partial">(partial)</span>{{end}}{{if .Error}} <span class="fail" title="{{.Error}}">(error)</span>{{end}}{{range .Flags}}<span class="flag">{{.}}</span>{{end}}</td>{{range .Values}}<td{{if .Best}} class="best"{{end}} data-v="{{.Sort}}">{{.Text}}</td>{{end}}</tr>
{{end}}</tbody>
</table>
</div>
{{if .MethodRows}}<h2 id="methods">Per method</h2>
<details open><summary>Each method of each cell; methods by their shortest unambiguous name (hover for the full name).</summary>
<div class="wrap">
<table class="sortable methods">
<thead><tr><th class="text">cell</th><th class="text">method</th>{{range .MethodColumns}}<th title="{{.Title}}">{{.Name}}</th>{{end}}</tr></thead>
<tbody>
{{range .MethodRows}}<tr><td class="text"><span class="swatch" style="background:{{.Color}}"></span>{{.Label}}</td><td class="text" title="{{.Full}}">{{.Method}}</td>{{range .Values}}<td data-v="{{.Sort}}">{{.Text}}</td>{{end}}</tr>
{{end}}</tbody>
</table>
</div>
</details>
{{end}}{{if .Env}}<h2 id="environment">Environment: the load generator</h2>
<details open><summary>How grpcbench itself fared in each cell, sampled once a second (shares: mean / worst second; hover a header for its meaning). A <span class="fail">saturated</span> cell measured the client, not the service: its latencies include the load generator's own delays, and thresholds on it are inconclusive.</summary>
<div class="wrap">
<table class="environment">
<thead><tr><th class="text">cell</th>{{range .EnvColumns}}<th title="{{.Title}}">{{.Name}}</th>{{end}}<th class="text">load generator</th></tr></thead>
<tbody>
{{range .Env}}<tr{{if .Saturated}} class="flagged"{{end}}><td class="text" title="{{.ID}}"><span class="swatch" style="background:{{.Color}}"></span>{{.Label}}</td>{{range .Values}}<td{{if .Note}} title="{{.Note}}"{{end}}>{{.Text}}</td>{{end}}<td class="text">{{if .Saturated}}<span class="fail">saturated</span>: {{.Saturated}}{{else}}ok{{end}}{{if .Unavailable}} <span class="flag" title="{{.Unavailable}}">partly measured</span>{{end}}</td></tr>
{{end}}</tbody>
</table>
</div>
</details>
{{end}}<h2 id="charts">Charts</h2>
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
