package report

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/grpcbench/grpcbench/field"
	"github.com/grpcbench/grpcbench/results"
)

// Defaults of [Options].
const (
	// DefaultWidth is the width of every chart, in pixels.
	DefaultWidth = 1100
	// DefaultMaxLines is how many cells the percentile spectrum draws.
	DefaultMaxLines = 12
	// DefaultMaxPanels is how many cells the time-series chart draws.
	DefaultMaxPanels = 6
	// DefaultMaxPoints is how many points a time-series line keeps after
	// LTTB downsampling.
	DefaultMaxPoints = 400
)

// Limits of [Options].
const (
	minWidth  = 400
	maxWidth  = 4000
	maxCount  = 100
	minPoints = 3
)

// Options tune a report. The zero value gives the defaults.
type Options struct {
	// Title heads the page; empty means "grpcbench: " and the run labels.
	Title string `yaml:"title"`
	// Width is the width of every chart in pixels (0: DefaultWidth).
	Width int `yaml:"width"`
	// MaxLines bounds the cells drawn in the percentile spectrum
	// (0: DefaultMaxLines). With more cells, the half with the lowest p99
	// and the half with the highest are drawn.
	MaxLines int `yaml:"max_lines"`
	// MaxPanels bounds the cells drawn over time (0: DefaultMaxPanels),
	// chosen like MaxLines.
	MaxPanels int `yaml:"max_panels"`
	// MaxPoints is the number of points each time-series line is
	// downsampled to with LTTB (0: DefaultMaxPoints).
	MaxPoints int `yaml:"max_points"`
	// RunLabels name the runs in legends and the table, in the order of
	// the runs passed to Write; missing or empty labels default to the
	// run's name (numbered when names repeat).
	RunLabels []string `yaml:"-"`
	// Verdicts are threshold or comparison results to show; the section is
	// omitted when there are none.
	Verdicts []Verdict `yaml:"-"`
}

// Verdict is the outcome of one threshold or comparison check.
type Verdict struct {
	// Cell is the cell checked, as labelled by the checker (e.g. run name
	// and cell ID); empty for a check of the whole run.
	Cell string `json:"cell"`
	// Name names the check ("p99", "error_rate", "p99 regression").
	Name string `json:"name"`
	// Value is the measured value and Limit the bound it was held to,
	// both formatted with units ("143ms", "< 150ms").
	Value string `json:"value"`
	Limit string `json:"limit"`
	// Pass is whether the check passed.
	Pass bool `json:"pass"`
}

// Validate checks the options; zero values are valid and mean the default.
func (o Options) Validate() error {
	var errs []error
	if o.Width != 0 && (o.Width < minWidth || o.Width > maxWidth) {
		errs = append(errs, field.Errorf("width", "must be between %d and %d pixels (or 0 for %d), got %d", minWidth, maxWidth, DefaultWidth, o.Width))
	}
	if o.MaxLines < 0 || o.MaxLines > maxCount {
		errs = append(errs, field.Errorf("max_lines", "must be between 1 and %d (or 0 for %d), got %d", maxCount, DefaultMaxLines, o.MaxLines))
	}
	if o.MaxPanels < 0 || o.MaxPanels > maxCount {
		errs = append(errs, field.Errorf("max_panels", "must be between 1 and %d (or 0 for %d), got %d", maxCount, DefaultMaxPanels, o.MaxPanels))
	}
	if o.MaxPoints != 0 && o.MaxPoints < minPoints {
		errs = append(errs, field.Errorf("max_points", "must be at least %d (or 0 for %d), got %d", minPoints, DefaultMaxPoints, o.MaxPoints))
	}
	return errors.Join(errs...)
}

// withDefaults returns o with zero fields set to their defaults.
func (o Options) withDefaults() Options {
	if o.Width == 0 {
		o.Width = DefaultWidth
	}
	if o.MaxLines == 0 {
		o.MaxLines = DefaultMaxLines
	}
	if o.MaxPanels == 0 {
		o.MaxPanels = DefaultMaxPanels
	}
	if o.MaxPoints == 0 {
		o.MaxPoints = DefaultMaxPoints
	}
	return o
}

// Chart files written by Write, in page order. A chart whose data is absent
// from every run (e.g. no retry layer, no per-backend counts) is omitted.
const (
	SpectrumFile = "spectrum.png"
	MatrixFile   = "matrix.png"
	TimelineFile = "timeline.png"
	RetriesFile  = "retries.png"
	BackendsFile = "backends.png"
	CodesFile    = "codes.png"
	// IndexFile is the HTML page.
	IndexFile = "index.html"
)

// Write renders runs into dir (created if needed): dir/index.html, a single
// self-contained page with every chart inline, and one PNG per chart beside
// it. Several runs are overlaid: every cell is labelled with its run and
// keeps one colour throughout. Existing files of the same names are
// replaced.
func Write(ctx context.Context, dir string, runs []*results.Run, opts Options) error {
	if len(runs) == 0 {
		return errors.New("report: no runs")
	}
	for i, r := range runs {
		if r == nil {
			return fmt.Errorf("report: run %d is nil", i)
		}
	}
	if err := opts.Validate(); err != nil {
		return fmt.Errorf("report: options: %w", err)
	}
	opts = opts.withDefaults()
	sum := Summarize(runs...)
	charts, cells, err := render(ctx, runs, sum, opts)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("report: %w", err)
	}
	for _, c := range charts {
		if err := os.WriteFile(filepath.Join(dir, c.File), c.png, 0o644); err != nil {
			return fmt.Errorf("report: %w", err)
		}
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("report: %w", err)
	}
	page := buildPage(runs, runLabels(runs, opts.RunLabels), sum, cells, charts, opts)
	tmp, err := os.CreateTemp(dir, "."+IndexFile+".tmp-*")
	if err != nil {
		return fmt.Errorf("report: %w", err)
	}
	defer os.Remove(tmp.Name()) // no-op after the rename
	if err := pageTemplate.Execute(tmp, page); err != nil {
		_ = tmp.Close()
		return fmt.Errorf("report: writing %s: %w", IndexFile, err)
	}
	if err := tmp.Chmod(0o644); err != nil {
		_ = tmp.Close()
		return fmt.Errorf("report: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("report: %w", err)
	}
	if err := os.Rename(tmp.Name(), filepath.Join(dir, IndexFile)); err != nil {
		return fmt.Errorf("report: %w", err)
	}
	return nil
}

// chartBuilder builds the figure of one chart file (nil when the runs have
// no data for it) and its caption.
type chartBuilder struct {
	file  string
	build func() (*figure, string, error)
}

// chartBuilders returns the builders of every chart, in page order.
func chartBuilders(runs []*results.Run, labels []string, cells []*cellView, opts Options) []chartBuilder {
	return []chartBuilder{
		{SpectrumFile, func() (*figure, string, error) { return spectrumChart(cells, opts) }},
		{MatrixFile, func() (*figure, string, error) { return matrixChart(runs, labels, cells, opts) }},
		{TimelineFile, func() (*figure, string, error) { return timelineChart(cells, opts) }},
		{RetriesFile, func() (*figure, string, error) { return retriesChart(runs, cells, opts) }},
		{BackendsFile, func() (*figure, string, error) { return backendsChart(cells, opts) }},
		{CodesFile, func() (*figure, string, error) { return codesChart(cells, opts) }},
	}
}

// render builds and draws every chart.
func render(ctx context.Context, runs []*results.Run, sum *Summary, opts Options) ([]chart, []*cellView, error) {
	labels := runLabels(runs, opts.RunLabels)
	cells := buildCells(runs, labels, sum)
	var charts []chart
	for _, b := range chartBuilders(runs, labels, cells, opts) {
		if err := ctx.Err(); err != nil {
			return nil, nil, fmt.Errorf("report: %w", err)
		}
		f, caption, err := b.build()
		if err != nil {
			return nil, nil, err
		}
		if f == nil {
			continue
		}
		c, err := f.render()
		if err != nil {
			return nil, nil, err
		}
		c.File, c.Caption = b.file, caption
		charts = append(charts, c)
	}
	return charts, cells, nil
}

// dataURI returns the PNG of c as a data: URI.
func (c chart) dataURI() string {
	var b strings.Builder
	b.WriteString("data:image/png;base64,")
	b.WriteString(base64.StdEncoding.EncodeToString(c.png))
	return b.String()
}
