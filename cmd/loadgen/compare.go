package main

import (
	"bufio"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/trendtactics/loadlab/reports"
	"github.com/trendtactics/loadlab/result"
)

type compareFlags struct {
	allow        string
	latencyFloor time.Duration
	format       string
	markdown     string
	gate         gateFlags
	history      string // compare only: --history DIR
}

// gateFlags are the statistical options of a comparison with repetitions (compare, gate).
type gateFlags struct {
	resamples int
	seed      uint64
	alpha     float64
	block     time.Duration
	warmup    time.Duration
	minRuns   int
}

func (g *gateFlags) register(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.IntVar(&g.resamples, "resamples", 1000, "bootstrap resamples")
	fl.Uint64Var(&g.seed, "boot-seed", 1, "seed of the bootstrap: the same results and seed give the same intervals")
	fl.Float64Var(&g.alpha, "alpha", 0.05, "family-wise error rate over the gated figures; intervals are at 1-alpha")
	fl.DurationVar(&g.block, "block", 5*time.Second, "the bootstrap resamples blocks of this many seconds within a run")
	fl.DurationVar(&g.warmup, "warmup", 0, "drop this much from the start of every run's timeline")
	fl.IntVar(&g.minRuns, "min-runs", 3, "fewest runs a side for a verdict other than INCONCLUSIVE")
}

func (g *gateFlags) options(allow reports.Allowances) (reports.GateOptions, error) {
	switch {
	case g.resamples < 100:
		return reports.GateOptions{}, fmt.Errorf("--resamples must be at least 100, got %d", g.resamples)
	case g.alpha <= 0 || g.alpha >= 0.5:
		return reports.GateOptions{}, fmt.Errorf("--alpha must be in (0, 0.5), got %g", g.alpha)
	case g.block < time.Second:
		return reports.GateOptions{}, fmt.Errorf("--block must be at least 1s, got %s", g.block)
	case g.warmup < 0:
		return reports.GateOptions{}, fmt.Errorf("--warmup must not be negative, got %s", g.warmup)
	case g.minRuns < 2:
		return reports.GateOptions{}, fmt.Errorf("--min-runs must be at least 2, got %d", g.minRuns)
	}
	return reports.GateOptions{Allowances: allow, Resamples: g.resamples, Seed: g.seed, Alpha: g.alpha,
		BlockSeconds: int(g.block / time.Second), WarmupSeconds: int(g.warmup / time.Second), MinRuns: g.minRuns}, nil
}

func newCompareCmd(e *env) *cobra.Command {
	var f compareFlags
	cmd := &cobra.Command{
		Use:   "compare BASE NEW | compare --history DIR NEW",
		Short: "Compare runs with baseline runs; exit 6 on a regression, 7 when undecided, 8 when not comparable",
		Long: `compare compares results written by run, request by request (by name) and in total.
BASE and NEW are each a result file, a directory (every result.json beneath it), or a
comma-separated list of those.

With one result a side, it compares the two figures as they are: latency p50, p90, p95, p99
and max, the error rate and throughput; exit 6 when any got worse by more than its
allowance, 0 when all are within. Single runs carry no measure of their own noise.

With several results on a side (repetitions), it judges p50, p90, p99, the error rate and
throughput of each request with a 95% bootstrap interval (over runs and over 5-second
blocks of the per-second histograms), a Mann-Whitney rank test of the runs' figures and
Holm's correction over the gated figures, and answers PASS (0), REGRESSION (6),
INCONCLUSIVE (7: say how many more runs would decide), INVALID (8: a run INVALID or
interrupted; scenarios, seeds or loadlab versions differ) or IMPROVEMENT (9).
reports/CI.md explains the method.

With --history DIR instead of BASE, the base is read from a series of accepted results
(every result.json beneath DIR, ordered by start; INVALID and interrupted ones left out):
E-Divisive means finds the change points of the total's figures, and the results since
the latest one, the last stable segment, are the base runs.

Allowances (--allow, comma-separated; unnamed figures keep their default):
  p50 p90 p95 p99 max   N% may grow by N% of the base; +Nms (any Go duration) may grow by that much
  errors                +N% the error rate may grow by N percentage points (absolute)
  throughput            -N% may drop by N% of the base
  any                   off: listed, never a regression
Defaults: p50=10%,p90=10%,p95=10%,p99=10%,max=off,errors=+0.1%,throughput=-5%.

  loadgen compare --allow p99=10%,errors=+0.05%,throughput=-5% baseline.json results/new/result.json
  loadgen compare perf/base-runs/ out/new-runs/
  loadgen compare --history perf/accepted/ out/new-runs/`,
		Args: cobra.RangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			if f.history != "" {
				if len(args) != 1 {
					return usageErrorf("with --history give only NEW, got %d arguments", len(args))
				}
				return compareHistory(e, f.history, args[0], f)
			}
			if len(args) != 2 {
				return usageErrorf("want BASE and NEW (or --history DIR NEW), got %d argument", len(args))
			}
			return compareResults(e, args[0], args[1], f)
		},
	}
	f.register(cmd)
	cmd.Flags().StringVar(&f.history, "history", "", "take the base from the last stable segment of the accepted results in `DIR`")
	return cmd
}

// register adds the flags of a comparison (compare, gate) to cmd.
func (f *compareFlags) register(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.StringVar(&f.allow, "allow", "", "allowed regressions, `LIST` of METRIC=VALUE: p99=10%,errors=+0.05%,throughput=-5%")
	fl.DurationVar(&f.latencyFloor, "latency-floor", 0, "latency growth below this is never a regression (off by default)")
	fl.StringVar(&f.format, "format", "text", "output on stdout: text or md")
	fl.StringVar(&f.markdown, "markdown", "", "also append the comparison as Markdown to `FILE` (for example $GITHUB_STEP_SUMMARY)")
	f.gate.register(cmd)
}

// options checks the comparison's flags and returns its options.
func (f *compareFlags) options() (reports.GateOptions, error) {
	allow, err := allowances(f.allow, f.latencyFloor)
	if err != nil {
		return reports.GateOptions{}, err
	}
	if f.format != "text" && f.format != "md" && f.format != "markdown" {
		return reports.GateOptions{}, usageErrorf("--format %q: want text or md", f.format)
	}
	opts, err := f.gate.options(allow)
	if err != nil {
		return reports.GateOptions{}, withCode(exitUsage, err)
	}
	return opts, nil
}

// allowances parses --allow and --latency-floor.
func allowances(allow string, floor time.Duration) (reports.Allowances, error) {
	if floor < 0 {
		return reports.Allowances{}, usageErrorf("--latency-floor must not be negative, got %s", floor)
	}
	def := reports.DefaultAllowances()
	def.LatencyFloorMS = float64(floor) / float64(time.Millisecond)
	a, err := reports.ParseAllowances(allow, def)
	if err != nil {
		return reports.Allowances{}, usageErrorf("--allow: %w", err)
	}
	return a, nil
}

func compareResults(e *env, baseArg, newArg string, f compareFlags) error {
	opts, err := f.options()
	if err != nil {
		return err
	}
	base, err := readResults(baseArg)
	if err != nil {
		return withCode(exitUsage, err)
	}
	next, err := readResults(newArg)
	if err != nil {
		return withCode(exitUsage, err)
	}
	if len(base) == 1 && len(next) == 1 {
		return compareSingle(e, base[0], next[0], opts.Allowances, f)
	}
	r, err := reports.CompareRepeated(base, next, opts)
	if err != nil {
		return withCode(exitUsage, err)
	}
	return writeRepeated(e, r, f.format, f.markdown)
}

// compareHistory compares NEW with the last stable segment of the results in dir.
func compareHistory(e *env, dir, newArg string, f compareFlags) error {
	opts, err := f.options()
	if err != nil {
		return err
	}
	all, err := readResults(dir)
	if err != nil {
		return withCode(exitUsage, err)
	}
	next, err := readResults(newArg)
	if err != nil {
		return withCode(exitUsage, err)
	}
	h, err := reports.AnalyzeHistory(all, reports.HistoryOptions{Allowances: opts.Allowances, Seed: opts.Seed, Alpha: opts.Alpha})
	if err != nil {
		return withCode(exitUsage, err)
	}
	if err := writeFlushed(e.stdout, func(w io.Writer) error { return reports.WriteHistory(w, h, dir) }); err != nil {
		return internalErrorf("%w", err)
	}
	r, err := reports.CompareRepeated(h.Baseline, next, opts)
	if err != nil {
		return withCode(exitUsage, err)
	}
	return writeRepeated(e, r, f.format, f.markdown)
}

// writeRepeated prints a comparison with repetitions and maps its verdict to the exit code.
func writeRepeated(e *env, r *reports.Repeated, format, markdown string) error {
	write := reports.WriteRepeated
	if format != "text" {
		write = reports.WriteRepeatedMarkdown
	}
	if err := writeFlushed(e.stdout, func(w io.Writer) error { return write(w, r) }); err != nil {
		return internalErrorf("%w", err)
	}
	if markdown != "" {
		if err := appendTo(markdown, func(w io.Writer) error { return reports.WriteRepeatedMarkdown(w, r) }); err != nil {
			return internalErrorf("--markdown: %w", err)
		}
	}
	if code := exitForComparison(r.Verdict); code != exitPass {
		return withCode(code, nil)
	}
	return nil
}

// compareSingle is the comparison of one base run with one new run.
func compareSingle(e *env, base, next *result.Result, allow reports.Allowances, f compareFlags) error {
	write := reports.WriteComparison
	if f.format != "text" {
		write = reports.WriteComparisonMarkdown
	}
	c := reports.Compare(base, next, allow)
	if err := writeFlushed(e.stdout, func(w io.Writer) error { return write(w, c) }); err != nil {
		return internalErrorf("%w", err)
	}
	if f.markdown != "" {
		if err := appendTo(f.markdown, func(w io.Writer) error { return reports.WriteComparisonMarkdown(w, c) }); err != nil {
			return internalErrorf("--markdown: %w", err)
		}
	}
	if c.Regressions() > 0 {
		return withCode(exitRegression, nil)
	}
	return nil
}

func writeFlushed(w io.Writer, write func(io.Writer) error) error {
	bw := bufio.NewWriter(w)
	if err := write(bw); err != nil {
		return err
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("write comparison: %w", err)
	}
	return nil
}

// appendTo appends what write writes to the file at path.
func appendTo(path string, write func(io.Writer) error) error {
	file, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	if err := writeFlushed(file, write); err != nil {
		file.Close()
		return err
	}
	return file.Close()
}

// readResults reads the results an argument names: a file, a directory (every
// result.json beneath it, by path), or a comma-separated list of those.
func readResults(arg string) ([]*result.Result, error) {
	var paths []string
	for _, p := range strings.Split(arg, ",") {
		if p = strings.TrimSpace(p); p == "" {
			continue
		}
		st, err := os.Stat(p)
		if err != nil {
			return nil, fmt.Errorf("read result: %w", err)
		}
		if !st.IsDir() {
			paths = append(paths, p)
			continue
		}
		var found []string
		err = filepath.WalkDir(p, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if !d.IsDir() && d.Name() == "result.json" {
				found = append(found, path)
			}
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("read results in %s: %w", p, err)
		}
		if len(found) == 0 {
			return nil, fmt.Errorf("read results: no result.json in %s", p)
		}
		slices.Sort(found)
		paths = append(paths, found...)
	}
	if len(paths) == 0 {
		return nil, fmt.Errorf("read results: %q names no file", arg)
	}
	out := make([]*result.Result, 0, len(paths))
	for _, p := range paths {
		res, err := readResult(p)
		if err != nil {
			return nil, err
		}
		out = append(out, res)
	}
	return out, nil
}
