package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/trendtactics/loadlab/chaos"
	"github.com/trendtactics/loadlab/loadgen"
	"github.com/trendtactics/loadlab/reports"
	"github.com/trendtactics/loadlab/result"
	"github.com/trendtactics/loadlab/scenarios"
)

// defaultSeed is the seed of a run without --seed: fixed, so that two runs of a
// scenario send the same request sequence unless asked otherwise.
const defaultSeed = 1

type runFlags struct {
	out         string
	seed        int64
	results     string
	metricsAddr string
	dryRun      bool
	target      string
	quiet       bool
	maxLateness time.Duration
	academy     string
	labLog      string
	noFaults    bool
	report      string
	timeScale   float64
	verifyDB    string
}

func newRunCmd(e *env) *cobra.Command {
	var f runFlags
	cmd := &cobra.Command{
		Use:   "run FILE",
		Short: "Run a scenario and judge it against its thresholds",
		Long: `run loads the scenario, sends its load to the target, evaluates the thresholds, prints a
summary and writes result.json (schema loadlab.result/v1) into the output directory.

The verdict is INTERRUPTED (exit 130) after SIGINT/SIGTERM, INVALID (exit 4) when the
generator could not hold the schedule, FAIL (exit 3) when a threshold failed, FAIL (exit 5)
when every threshold passed but the verification of the data after the run (verify:) failed,
else PASS (exit 0). A run whose thresholds and verification both failed exits 3.
An interrupted run still writes its result; a second signal exits at once.

The seed defaults to 1, so two runs send the same request sequence; the seed used is in the result.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runScenario(cmd.Context(), e, args[0], f)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.out, "out", "", "output directory (default ./results/<scenario>-<UTC timestamp>)")
	fl.Int64Var(&f.seed, "seed", defaultSeed, "seed for templates and random picks")
	fl.StringVar(&f.results, "results", "", "also write every request's result to `FILE` in vegeta's binary format")
	fl.StringVar(&f.metricsAddr, "metrics-addr", "", "serve the run's Prometheus metrics on `ADDR` (host:port) at /metrics during the run")
	fl.BoolVar(&f.dryRun, "dry-run", false, "print the plan (stages, expected requests, faults, thresholds) and start nothing")
	fl.StringVar(&f.target, "target", "", "send the load to `URL` instead of the scenario's target")
	fl.DurationVar(&f.maxLateness, "max-lateness", loadgen.DefaultMaxLateness,
		"bound on the generator's own send lateness p99; above it the run is INVALID (raise it on a busy CI machine)")
	fl.StringVar(&f.academy, "academy", "", "academy binary the lab starts (default: `academy` next to loadgen, then in PATH)")
	fl.StringVar(&f.labLog, "lab-log", "", "write the lab's child-process output to `FILE`")
	fl.BoolVar(&f.noFaults, "no-faults", false, "send the load without injecting the scenario's faults (their windows are still measured)")
	fl.StringVar(&f.report, "report", "json", "also write these `FORMATS` next to result.json: json, junit (junit.xml), md (summary.md), html (report.html), text (summary.txt)")
	fl.Float64Var(&f.timeScale, "time-scale", 1, "multiply every duration of the scenario's schedule (stages, fault at/duration/restart-after) by `F`, e.g. 0.1 for a short CI run")
	fl.StringVar(&f.verifyDB, "verify-database", "", "read the state for the verify: checks from this PostgreSQL `URL` (default: the lab's database)")
	fl.BoolVarP(&f.quiet, "quiet", "q", false, "no progress and no summary: only the verdict and the result path")
	return cmd
}

func runScenario(ctx context.Context, e *env, path string, f runFlags) error {
	if f.maxLateness <= 0 {
		return usageErrorf("--max-lateness must be above 0, got %s", f.maxLateness)
	}
	formats, err := reports.ParseFormats(f.report)
	if err != nil {
		return usageErrorf("--report: %w", err)
	}
	if f.timeScale <= 0 || f.timeScale > 1000 {
		return usageErrorf("--time-scale must be above 0 and at most 1000, got %g", f.timeScale)
	}
	spec, err := loadSpec(path)
	if err != nil {
		reportProblems(e.stderr, path, err)
		return withCode(exitUsage, nil)
	}
	spec = scaleSpec(spec, f.timeScale)
	base, err := targetURL(spec, f.target)
	if err != nil {
		return withCode(exitUsage, err)
	}
	if f.dryRun {
		writePlan(e.stdout, spec, base)
		return nil
	}
	useLab := base == "" // a lab target without --target
	if len(spec.Faults) > 0 && !useLab && !f.noFaults {
		return usageErrorf("faults against a URL target need Chaos Mesh, which this build cannot drive yet: " +
			"run the scenario's lab target, or pass --no-faults to send the load and measure the fault windows without injecting")
	}

	dir := f.out
	if dir == "" {
		dir = filepath.Join("results", fmt.Sprintf("%s-%s", spec.Name, time.Now().UTC().Format("20060102T150405Z")))
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return internalErrorf("create output directory: %w", err)
	}

	reg := prometheus.NewRegistry()
	opts := runOptions{Options: loadgen.Options{
		BaseURL:  base,
		Seed:     f.seed,
		Registry: reg,
		Windows:  faultWindows(spec),
	}}
	opts.MaxLateness = f.maxLateness
	if !f.quiet {
		opts.Progress = e.stderr
		opts.TTY = isTerminal(e.stderr) && e.getenv("CI") == "" && e.getenv("TERM") != "dumb"
	}
	var writes *result.WriteLog
	if len(spec.Verify) > 0 {
		writes = &result.WriteLog{}
		opts.Writes = writes
	}
	verifyDB := f.verifyDB
	aborter := reports.NewAborter(spec)
	opts.Every = aborter.Every

	if f.results != "" {
		rf, err := os.Create(f.results)
		if err != nil {
			return internalErrorf("create results file: %w", err)
		}
		bw := bufio.NewWriterSize(rf, 64<<10)
		opts.Results = bw
		defer func() {
			// Flushed and closed after the run; an error here loses raw results only, not the verdict.
			if err := bw.Flush(); err != nil {
				fmt.Fprintf(e.stderr, "loadgen: write results file: %v\n", err)
			}
			if err := rf.Close(); err != nil {
				fmt.Fprintf(e.stderr, "loadgen: close results file: %v\n", err)
			}
		}()
	}

	if f.metricsAddr != "" {
		stop, err := serveMetrics(e, f.metricsAddr, reg)
		if err != nil {
			return withCode(exitUsage, err)
		}
		defer stop()
	}

	var labPIDs func() map[string]int // the lab's processes, for the memory watch
	if useLab {
		if _, err := academyCommand(f.academy); err != nil {
			return withCode(exitUsage, err)
		}
		l, err := startLab(ctx, e, spec, f, reg)
		if err != nil {
			if ctx.Err() != nil {
				return withCode(exitInterrupted, fmt.Errorf("interrupted while starting the lab"))
			}
			return internalErrorf("start the lab: %w", err)
		}
		stopLab := func() {
			sctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			l.Stop(sctx)
		}
		removeCleanup := e.onExit.add(stopLab)
		defer func() {
			removeCleanup()
			stopLab()
			if !f.quiet {
				fmt.Fprintln(e.stderr, "lab: stopped")
			}
		}()
		opts.BaseURL = l.URL()
		opts.Resolver = l
		labPIDs = l.PIDs
		if verifyDB == "" {
			verifyDB = l.DatabaseURL()
		}
	}
	var capacity *result.CapacityResult
	if spec.NeedsCapacity() {
		if capacity, err = measureCapacity(ctx, e, spec, opts.Options); err != nil {
			if ctx.Err() != nil {
				return withCode(exitInterrupted, fmt.Errorf("interrupted while measuring the capacity"))
			}
			return withCode(exitInvalidRun, err)
		}
		spec = spec.WithCapacity(capacity.RPS)
	}
	var faults *faultRun
	if len(spec.Faults) > 0 && opts.Resolver != nil && !f.noFaults {
		faults, err = startFaults(ctx, spec, opts.Resolver, reg)
		if err != nil {
			return withCode(exitUsage, fmt.Errorf("faults: %w", err))
		}
		removeCleanup := e.onExit.add(func() { faults.stop() })
		defer removeCleanup()
	}

	var mem *memWatch
	if needsMemory(spec) {
		if mem, err = startMemWatch(time.Now(), labPIDs); err != nil {
			fmt.Fprintf(e.stderr, "loadgen: memory is not watched (its thresholds will have no data): %v\n", err)
		}
	}
	res, err := loadgen.Run(ctx, spec, opts.Options)
	if mem != nil {
		if m := mem.stop(); res != nil {
			res.Memory = m
		}
	}
	if faults != nil {
		if ferr := faults.stop(); ferr != nil {
			fmt.Fprintf(e.stderr, "loadgen: faults: %v\n", ferr)
		}
	}
	switch {
	case err != nil && res == nil:
		return internalErrorf("run %s: %w", path, err)
	case err != nil:
		// The run completed but the raw results file could not be written: judge the run anyway.
		fmt.Fprintf(e.stderr, "loadgen: %v\n", err)
	}
	if res.Path == "" {
		res.Path = path
	}
	if capacity != nil {
		res.Capacity = capacity
		if !capacity.Valid {
			res.Generator.Valid = false
			for _, r := range capacity.Reasons {
				res.Generator.Reasons = append(res.Generator.Reasons, "capacity measurement: "+r)
			}
		}
	}
	if faults != nil {
		faults.record(res)
		reports.Recover(spec, res)
	}
	res.Thresholds = reports.Evaluate(spec, res)
	aborter.Mark(res.Thresholds)
	verifyRun(ctx, spec, res, opts.BaseURL, verifyDB, writes)
	res.Verdict = reports.Verdict(res)

	file := filepath.Join(dir, "result.json")
	if err := writeResult(file, res); err != nil {
		return internalErrorf("%w", err)
	}
	if f.quiet {
		fmt.Fprintln(e.stdout, "verdict:", res.Verdict)
	} else if err := reports.WriteText(e.stdout, res); err != nil {
		return internalErrorf("%w", err)
	}
	fmt.Fprintf(e.stdout, "result: %s\n", file)
	// result.json is always written (above); the other formats go next to it.
	formats = slices.DeleteFunc(formats, func(f reports.Format) bool { return f.Name == "json" })
	files, err := writeReports(dir, formats, res)
	for _, file := range files {
		fmt.Fprintf(e.stdout, "report: %s\n", file)
	}
	if err != nil {
		return internalErrorf("%w", err)
	}

	if code := exitFor(res); code != exitPass {
		return withCode(code, nil)
	}
	return nil
}

// targetURL returns the base URL of the run: --target, else target.url.
func targetURL(spec *scenarios.Spec, override string) (string, error) {
	if override != "" {
		u, err := url.Parse(override)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return "", fmt.Errorf("--target %q: want an absolute http or https URL", override)
		}
		return strings.TrimRight(override, "/"), nil
	}
	if spec.Target.URL != "" {
		return spec.Target.URL, nil
	}
	if spec.Target.Lab != nil {
		return "", nil // the lab's edge, known once it has started
	}
	return "", errors.New("the scenario has no target: set target.url or use --target URL")
}

// runOptions are the engine's options plus where the faults go.
type runOptions struct {
	loadgen.Options
	Resolver chaos.Resolver
}

// faultWindows returns one window per fault, named after it, for windowed thresholds.
func faultWindows(spec *scenarios.Spec) []result.Window {
	var ws []result.Window
	for _, f := range spec.Faults {
		ws = append(ws, result.Window{Name: f.Name, Start: f.At, End: f.At + f.Duration})
	}
	return ws
}

// serveMetrics serves reg at http://addr/metrics until the returned stop is called.
func serveMetrics(e *env, addr string, reg *prometheus.Registry) (stop func(), err error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("--metrics-addr: %w", err)
	}
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg}))
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	served := make(chan struct{})
	go func() { // ends when stop shuts the server down
		defer close(served)
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			fmt.Fprintf(e.stderr, "loadgen: metrics server: %v\n", err)
		}
	}()
	fmt.Fprintf(e.stderr, "metrics: http://%s/metrics\n", ln.Addr())
	return func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
		<-served
	}, nil
}

// writeResult writes the result file atomically: a reader never sees half a file.
func writeResult(path string, res *result.Result) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".result-*.json")
	if err != nil {
		return fmt.Errorf("write result: %w", err)
	}
	defer os.Remove(tmp.Name()) // no-op after the rename
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return fmt.Errorf("write result: %w", err)
	}
	bw := bufio.NewWriter(tmp)
	if err := result.WriteJSON(bw, res); err != nil {
		tmp.Close()
		return err
	}
	if err := bw.Flush(); err != nil {
		tmp.Close()
		return fmt.Errorf("write result: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write result: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("write result: %w", err)
	}
	return nil
}

func isTerminal(w any) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}
