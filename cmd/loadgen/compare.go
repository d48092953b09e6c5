package main

import (
	"bufio"
	"fmt"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/trendtactics/loadlab/reports"
)

type compareFlags struct {
	allow        string
	latencyFloor time.Duration
	format       string
	markdown     string
}

func newCompareCmd(e *env) *cobra.Command {
	var f compareFlags
	cmd := &cobra.Command{
		Use:   "compare BASE.json NEW.json",
		Short: "Compare a run with a baseline run; exit 6 on a regression beyond its allowance",
		Long: `compare compares two results written by run, request by request (by name) and in total:
latency p50, p90, p95, p99 and max, the error rate, and throughput (responses per second).
It exits 6 when any figure got worse by more than its allowance, 0 when all are within.
Requests present in only one result are listed, not judged.

Allowances (--allow, comma-separated; unnamed figures keep their default):
  p50 p90 p95 p99 max   N% may grow by N% of the base; +Nms (any Go duration) may grow by that much
  errors                +N% the error rate may grow by N percentage points (absolute)
  throughput            -N% may drop by N% of the base
  any                   off: listed, never a regression
Defaults: p50=10%,p90=10%,p95=10%,p99=10%,max=off,errors=+0.1%,throughput=-5%; latency that
grows by less than --latency-floor (default 1ms) is never a regression.

  loadgen compare --allow p99=10%,errors=+0.05%,throughput=-5% baseline.json results/new/result.json`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			return compareResults(e, args[0], args[1], f)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.allow, "allow", "", "allowed regressions, `LIST` of METRIC=VALUE: p99=10%,errors=+0.05%,throughput=-5%")
	fl.DurationVar(&f.latencyFloor, "latency-floor", time.Millisecond, "latency growth below this is never a regression")
	fl.StringVar(&f.format, "format", "text", "output on stdout: text or md")
	fl.StringVar(&f.markdown, "markdown", "", "also append the comparison as Markdown to `FILE` (for example $GITHUB_STEP_SUMMARY)")
	return cmd
}

func compareResults(e *env, basePath, newPath string, f compareFlags) error {
	if f.latencyFloor < 0 {
		return usageErrorf("--latency-floor must not be negative, got %s", f.latencyFloor)
	}
	def := reports.DefaultAllowances()
	def.LatencyFloorMS = float64(f.latencyFloor) / float64(time.Millisecond)
	allow, err := reports.ParseAllowances(f.allow, def)
	if err != nil {
		return usageErrorf("--allow: %w", err)
	}
	write := reports.WriteComparison
	switch f.format {
	case "text":
	case "md", "markdown":
		write = reports.WriteComparisonMarkdown
	default:
		return usageErrorf("--format %q: want text or md", f.format)
	}
	base, err := readResult(basePath)
	if err != nil {
		return withCode(exitUsage, err)
	}
	next, err := readResult(newPath)
	if err != nil {
		return withCode(exitUsage, err)
	}
	c := reports.Compare(base, next, allow)
	bw := bufio.NewWriter(e.stdout)
	if err := write(bw, c); err != nil {
		return internalErrorf("%w", err)
	}
	if err := bw.Flush(); err != nil {
		return internalErrorf("write comparison: %w", err)
	}
	if f.markdown != "" {
		if err := appendMarkdown(f.markdown, c); err != nil {
			return internalErrorf("--markdown: %w", err)
		}
	}
	if c.Regressions() > 0 {
		return withCode(exitRegression, nil)
	}
	return nil
}

func appendMarkdown(path string, c *reports.Comparison) error {
	file, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	bw := bufio.NewWriter(file)
	if err := reports.WriteComparisonMarkdown(bw, c); err != nil {
		file.Close()
		return err
	}
	if err := bw.Flush(); err != nil {
		file.Close()
		return fmt.Errorf("write comparison: %w", err)
	}
	return file.Close()
}
