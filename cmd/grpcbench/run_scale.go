package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/grpcbench/grpcbench/hlog"
	"github.com/grpcbench/grpcbench/metrics"
	"github.com/grpcbench/grpcbench/results"
	"github.com/grpcbench/grpcbench/scenarios"
)

// jobIndexEnv is the variable a Kubernetes Indexed Job sets to each pod's
// completion index.
const jobIndexEnv = "JOB_COMPLETION_INDEX"

// scaleFlags are run's flags for sharded runs, a common start, live metrics
// and interval logs.
type scaleFlags struct {
	shard         string
	shards        int
	startAt       string
	startIn       time.Duration
	cellGap       time.Duration
	metricsAddr   string
	metricsLinger time.Duration
	hlogDir       string
}

// addScaleFlags registers the flags on fs.
func addScaleFlags(fs *pflag.FlagSet) *scaleFlags {
	f := &scaleFlags{}
	fs.StringVar(&f.shard, "shard", "", "run shard I/N of the load (e.g. 0/4): 1/N of the rate, workers, max_inflight and max_calls, its own seed")
	fs.IntVar(&f.shards, "shards", 0, "run one of N shards, the index taken from $"+jobIndexEnv+" (set by a Kubernetes Indexed Job)")
	fs.StringVar(&f.startAt, "start-at", "", "start the first cell at this time (RFC 3339, e.g. 2026-05-01T10:00:00Z), so shards line up")
	fs.DurationVar(&f.startIn, "start-in", 0, "start the first cell this long from now (e.g. 30s)")
	fs.DurationVar(&f.cellGap, "cell-gap", scenarios.DefaultCellGap, "with a common start: setup time between cells (cell k starts at start + Σ(warm-up + duration + gap))")
	fs.StringVar(&f.metricsAddr, "metrics-addr", "", "serve live Prometheus/OpenMetrics metrics at http://ADDR/metrics during the run (e.g. 127.0.0.1:9464)")
	fs.DurationVar(&f.metricsLinger, "metrics-linger", 0, "keep serving metrics this long after the run, for a last scrape")
	fs.StringVar(&f.hlogDir, "hlog", "", "write an HdrHistogram interval log (.hlog) per cell into this directory")
	return f
}

// apply checks the flags against the cells (errors are usage errors, exit
// 2, before any load), sets opts and starts the metrics server. stop,
// deferred by the caller, lingers for --metrics-linger and stops the
// server.
func (f *scaleFlags) apply(ctx context.Context, e *env, sp *scenarios.Spec, cells []*scenarios.Cell, opts *scenarios.Options) (stop func(), err error) {
	sh, err := f.resolveShard(os.Getenv)
	if err != nil {
		return nil, usageError(err)
	}
	if _, err := scenarios.ShardCells(cells, sh); err != nil {
		return nil, usageErrorf("--shard %s: %w", sh, err)
	}
	opts.Shard = sh
	if opts.StartAt, err = f.start(time.Now()); err != nil {
		return nil, usageError(err)
	}
	if f.cellGap < 0 {
		return nil, usageErrorf("--cell-gap %s: must not be negative", f.cellGap)
	}
	// The runner reads a zero gap as "the default": 1ns is "no gap".
	opts.CellGap = max(f.cellGap, time.Nanosecond)
	if !opts.StartAt.IsZero() {
		fmt.Fprintf(e.stderr, "shard %s: starting at %s (in %s)\n", shardLabel(sh), opts.StartAt.Format(time.RFC3339Nano), time.Until(opts.StartAt).Round(time.Millisecond))
	}
	o := &observer{e: e, scenario: sp.Scenario.Name, shard: sh, hlogDir: f.hlogDir}
	if f.hlogDir != "" {
		if err := os.MkdirAll(f.hlogDir, 0o755); err != nil {
			return nil, usageErrorf("--hlog: %w", err)
		}
	}
	var srv *metrics.Server
	if f.metricsAddr != "" {
		o.exporter = metrics.New(sp.Scenario.Name, shardLabel(sh))
		if srv, err = metrics.Listen(f.metricsAddr, o.exporter); err != nil {
			return nil, usageErrorf("--metrics-addr: %w", err)
		}
		fmt.Fprintf(e.stderr, "metrics: %s\n", srv.URL())
	}
	if o.exporter != nil || o.hlogDir != "" {
		opts.Observe = o.observe
	}
	return func() {
		if srv == nil {
			return
		}
		if f.metricsLinger > 0 && ctx.Err() == nil {
			t := time.NewTimer(f.metricsLinger)
			select {
			case <-ctx.Done():
			case <-t.C:
			}
			t.Stop()
		}
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := srv.Close(sctx); err != nil {
			fmt.Fprintf(e.stderr, "grpcbench: %v\n", err)
		}
	}, nil
}

// resolveShard returns the shard from --shard, or from --shards and the
// Indexed Job's completion index; the zero Shard when not sharded.
func (f *scaleFlags) resolveShard(getenv func(string) string) (scenarios.Shard, error) {
	if f.shards < 0 || f.shards > scenarios.MaxShards {
		return scenarios.Shard{}, fmt.Errorf("--shards %d: must be between 1 and %d", f.shards, scenarios.MaxShards)
	}
	if f.shard != "" {
		sh, err := scenarios.ParseShard(f.shard)
		if err != nil {
			return sh, fmt.Errorf("--shard: %w", err)
		}
		if f.shards != 0 && f.shards != sh.Count {
			return sh, fmt.Errorf("--shard %s and --shards %d disagree on the number of shards", sh, f.shards)
		}
		return sh, nil
	}
	if f.shards == 0 {
		return scenarios.Shard{}, nil
	}
	v, ok := strings.TrimSpace(getenv(jobIndexEnv)), getenv(jobIndexEnv) != ""
	if !ok {
		return scenarios.Shard{}, fmt.Errorf("--shards %d needs --shard I/N or $%s (set by a Kubernetes Indexed Job)", f.shards, jobIndexEnv)
	}
	i, err := strconv.Atoi(v)
	if err != nil {
		return scenarios.Shard{}, fmt.Errorf("$%s=%q is not a shard index", jobIndexEnv, v)
	}
	sh := scenarios.Shard{Index: i, Count: f.shards}
	if err := sh.Validate(); err != nil {
		return sh, fmt.Errorf("$%s=%d with --shards %d: %w", jobIndexEnv, i, f.shards, err)
	}
	return sh, nil
}

// start returns the common start time (zero: none).
func (f *scaleFlags) start(now time.Time) (time.Time, error) {
	switch {
	case f.startAt != "" && f.startIn != 0:
		return time.Time{}, errors.New("give --start-at or --start-in, not both")
	case f.startIn < 0:
		return time.Time{}, fmt.Errorf("--start-in %s: must be positive", f.startIn)
	case f.startIn > 0:
		return now.Add(f.startIn), nil
	case f.startAt == "":
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339Nano, f.startAt)
	if err != nil {
		return time.Time{}, fmt.Errorf("--start-at %q: want RFC 3339, e.g. 2026-05-01T10:00:00Z", f.startAt)
	}
	if t.Before(now) {
		return time.Time{}, fmt.Errorf("--start-at %s is %s in the past: this shard would start late and not line up with the others; choose a later time",
			f.startAt, now.Sub(t).Round(time.Millisecond))
	}
	return t, nil
}

// shardLabel is "I/N", or "0/1" when not sharded.
func shardLabel(sh scenarios.Shard) string {
	if !sh.Sharded() {
		return "0/1"
	}
	return sh.String()
}

// observer follows each cell for live metrics and interval logs.
type observer struct {
	e        *env
	scenario string
	shard    scenarios.Shard
	exporter *metrics.Exporter
	hlogDir  string
	n        int // cells observed so far (observe runs on the runner's goroutine)
}

// observe is scenarios.Options.Observe.
func (o *observer) observe(w scenarios.Watch) func(*results.Cell) {
	k := o.n
	o.n++
	rec := w.Recorder
	var mc *metrics.Cell
	if o.exporter != nil {
		mc = o.exporter.AddCell(w.Cell.ID, rec.Methods(), func() metrics.Stack { return stackOf(w.Stack()) })
		rec.OnInterval(mc.Interval)
	}
	var hw *hlog.Writer
	if o.hlogDir != "" {
		path := filepath.Join(o.hlogDir, hlogName(k, w.Cell.ID, o.shard))
		var err error
		hw, err = hlog.Create(path, rec.Methods(), rec.Start(),
			fmt.Sprintf("[grpcbench scenario %s, cell %s, shard %s]", o.scenario, w.Cell.ID, shardLabel(o.shard)))
		if err != nil {
			fmt.Fprintf(o.e.stderr, "grpcbench: %v\n", err)
		} else {
			rec.OnInterval(hw.Interval)
		}
	}
	return func(rc *results.Cell) {
		if mc != nil {
			mc.Done()
		}
		if hw != nil {
			if err := hw.Close(rc.Duration); err != nil {
				fmt.Fprintf(o.e.stderr, "grpcbench: %v\n", err)
			}
		}
	}
}

// hlogName is the file name of cell k's interval log: its position, its ID
// made safe for a file name and, for a shard, the shard.
func hlogName(k int, id string, sh scenarios.Shard) string {
	safe := strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '.', r == '-', r == '=':
			return r
		}
		return '_'
	}, id)
	name := fmt.Sprintf("%03d-%s", k, safe)
	if sh.Sharded() {
		name += fmt.Sprintf(".shard-%d-of-%d", sh.Index, sh.Count)
	}
	return name + ".hlog"
}

// stackOf converts the runner's gauges for the exporter.
func stackOf(g scenarios.StackGauges) metrics.Stack {
	return metrics.Stack{InFlight: g.InFlight, Retries: g.Retries, Breaker: g.Breaker, Trips: g.Trips,
		Rejections: g.Rejections, Conns: g.Conns, TargetRate: g.TargetRate, Scheduled: g.Scheduled, Dropped: g.Dropped}
}
