package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/trendtactics/loadlab/loadgen"
	"github.com/trendtactics/loadlab/reports"
	"github.com/trendtactics/loadlab/result"
)

func init() { moreCommands = append(moreCommands, newGateCmd) }

type gateCmdFlags struct {
	baseCmd, newCmd       string
	ab                    string
	baseTarget, newTarget string
	runs, warmupRuns      int
	out                   string
	maxLateness           time.Duration
	seed                  int64
	compare               compareFlags
}

func newGateCmd(e *env) *cobra.Command {
	var f gateCmdFlags
	cmd := &cobra.Command{
		Use:   "gate (--base-cmd CMD --new-cmd CMD | --ab FILE --base-target URL --new-target URL)",
		Short: "Run base and new alternately N times and compare them: PASS, REGRESSION, INCONCLUSIVE, INVALID, IMPROVEMENT",
		Long: `gate runs the base and the new version alternately, A B A B ..., --warmup-runs pairs first
(not compared: caches, JIT, connection pools, page cache), then --runs pairs (default 5),
and compares the runs as compare does with repetitions. Alternating spreads a busy
machine's slow minutes over both sides instead of onto one.

Two ways to name the runs:
  --base-cmd CMD --new-cmd CMD   shell commands (sh -c) that write result.json into the
                                 directory $LOADGEN_OUT, for example
                                 'loadgen run --quiet --out "$LOADGEN_OUT" s.yaml'
                                 (their exit code is ignored: the result says how it went)
  --ab FILE --base-target URL --new-target URL
                                 one scenario against two targets, run by this process

Results go to --out (default ./results/gate-<UTC timestamp>): base/run-N, new/run-N,
warmup/base-N, warmup/new-N, and compare's verdict decides the exit code: PASS 0,
REGRESSION 6, INCONCLUSIVE 7, INVALID 8, IMPROVEMENT 9.

  loadgen gate --ab scenarios/smoke.yaml --base-target http://127.0.0.1:8080 --new-target http://127.0.0.1:8081`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runGate(cmd.Context(), e, f)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.baseCmd, "base-cmd", "", "shell `CMD` that runs the base once, writing result.json into $LOADGEN_OUT")
	fl.StringVar(&f.newCmd, "new-cmd", "", "shell `CMD` that runs the new version once, writing result.json into $LOADGEN_OUT")
	fl.StringVar(&f.ab, "ab", "", "run the scenario `FILE` against --base-target and --new-target")
	fl.StringVar(&f.baseTarget, "base-target", "", "with --ab: the base's `URL`")
	fl.StringVar(&f.newTarget, "new-target", "", "with --ab: the new version's `URL`")
	fl.IntVarP(&f.runs, "runs", "n", 5, "compared runs a side")
	fl.IntVar(&f.warmupRuns, "warmup-runs", 1, "A B pairs run first and not compared")
	fl.StringVar(&f.out, "out", "", "output `DIR` (default ./results/gate-<UTC timestamp>)")
	fl.DurationVar(&f.maxLateness, "max-lateness", loadgen.DefaultMaxLateness, "with --ab: as run --max-lateness")
	fl.Int64Var(&f.seed, "seed", defaultSeed, "with --ab: as run --seed (the same for every run)")
	f.compare.register(cmd)
	return cmd
}

func runGate(ctx context.Context, e *env, f gateCmdFlags) error {
	cmdMode := f.baseCmd != "" || f.newCmd != ""
	abMode := f.ab != "" || f.baseTarget != "" || f.newTarget != ""
	switch {
	case cmdMode == abMode:
		return usageErrorf("give either --base-cmd and --new-cmd, or --ab with --base-target and --new-target")
	case cmdMode && (f.baseCmd == "" || f.newCmd == ""):
		return usageErrorf("--base-cmd and --new-cmd go together")
	case abMode && (f.ab == "" || f.baseTarget == "" || f.newTarget == ""):
		return usageErrorf("--ab needs the scenario FILE, --base-target and --new-target")
	case f.runs < 1 || f.warmupRuns < 0:
		return usageErrorf("--runs must be at least 1 and --warmup-runs not negative")
	}
	opts, err := f.compare.options()
	if err != nil {
		return err
	}
	out := f.out
	if out == "" {
		out = filepath.Join("results", "gate-"+time.Now().UTC().Format("20060102T150405Z"))
	}
	once := func(ctx context.Context, side, dir string) error {
		if cmdMode {
			c := f.baseCmd
			if side == "new" {
				c = f.newCmd
			}
			return runShell(ctx, e, c, dir)
		}
		target := f.baseTarget
		if side == "new" {
			target = f.newTarget
		}
		return runForResult(ctx, e, f.ab, runFlags{out: dir, seed: f.seed, target: target, quiet: true,
			maxLateness: f.maxLateness, report: "json", timeScale: 1})
	}
	var base, next []*result.Result
	total := f.warmupRuns + f.runs
	for i := range total {
		for _, side := range []string{"base", "new"} {
			dir := filepath.Join(out, side, fmt.Sprintf("run-%d", i-f.warmupRuns+1))
			label := fmt.Sprintf("%s run %d of %d", side, i-f.warmupRuns+1, f.runs)
			if i < f.warmupRuns {
				dir = filepath.Join(out, "warmup", fmt.Sprintf("%s-%d", side, i+1))
				label = fmt.Sprintf("%s warm-up run %d of %d", side, i+1, f.warmupRuns)
			}
			if err := os.MkdirAll(dir, 0o755); err != nil {
				return internalErrorf("gate: %w", err)
			}
			if err := once(ctx, side, dir); err != nil {
				return prefixed("gate: "+label, err)
			}
			if ctx.Err() != nil {
				return withCode(exitInterrupted, fmt.Errorf("gate: interrupted during the %s", label))
			}
			res, err := readResult(filepath.Join(dir, "result.json"))
			if err != nil {
				return internalErrorf("gate: %s wrote no result: %w", label, err)
			}
			fmt.Fprintf(e.stderr, "gate: %s: %s (%s)\n", label, res.Verdict, dir)
			if i < f.warmupRuns {
				continue
			}
			if side == "base" {
				base = append(base, res)
			} else {
				next = append(next, res)
			}
		}
	}
	r, err := reports.CompareRepeated(base, next, opts)
	if err != nil {
		return withCode(exitUsage, err)
	}
	return writeRepeated(e, r, f.compare.format, f.compare.markdown)
}

// prefixed puts prefix before err's message, keeping the exit code err carries.
func prefixed(prefix string, err error) error {
	var ee *exitError
	if errors.As(err, &ee) && ee.err != nil {
		return withCode(ee.code, fmt.Errorf("%s: %w", prefix, ee.err))
	}
	return fmt.Errorf("%s: %w", prefix, err)
}

// runForResult runs a scenario in this process for its result.json, its summary
// discarded. A run that wrote its result is no error, whatever its verdict (FAIL, INVALID:
// the result says so and whoever reads it judges); usage, internal errors, an
// interruption and a run that wrote no result (a capacity ramp that kept no three
// seconds: exit 4) are.
func runForResult(ctx context.Context, e *env, path string, f runFlags) error {
	quiet := &env{stdout: &bytes.Buffer{}, stderr: e.stderr, getenv: e.getenv, onExit: e.onExit}
	err := runScenario(ctx, quiet, path, f)
	var ee *exitError
	if errors.As(err, &ee) && ee.code != exitUsage && ee.code != exitInternal && ee.code != exitInterrupted {
		if _, serr := os.Stat(filepath.Join(f.out, "result.json")); serr == nil {
			return nil
		}
	}
	return err
}

// runShell runs command with sh -c and LOADGEN_OUT=dir, its output on stderr. Its exit
// code is not an error: the result it wrote says how the run went. Cancelling ctx stops
// its whole process group.
func runShell(ctx context.Context, e *env, command, dir string) error {
	c := exec.CommandContext(ctx, "sh", "-c", command)
	c.Env = append(os.Environ(), "LOADGEN_OUT="+dir)
	c.Stdout, c.Stderr = e.stderr, e.stderr
	c.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	c.Cancel = func() error { return syscall.Kill(-c.Process.Pid, syscall.SIGTERM) }
	c.WaitDelay = 10 * time.Second
	err := c.Run()
	var xe *exec.ExitError
	if err != nil && !errors.As(err, &xe) {
		return fmt.Errorf("run %q: %w", command, err)
	}
	return nil
}
