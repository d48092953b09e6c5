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
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/trendtactics/loadlab/chaos"
	"github.com/trendtactics/loadlab/loadgen"
	"github.com/trendtactics/loadlab/loadgen/pipeline"
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
	transport   string
	cluster     clusterFlags // --workers N and the coordinator's flags (cluster.go)
	// replicas, when above 0, overrides the lab's academy replicas (plan --calibrate).
	replicas int
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
	fl.Float64Var(&f.timeScale, "time-scale", 1, "multiply every duration of the scenario's schedule (stages, fault at/duration/restart-after, windows) by `F`, e.g. 0.1 for a short CI run")
	fl.StringVar(&f.verifyDB, "verify-database", "", "read the state for the verify: checks from this PostgreSQL `URL` (default: the lab's database)")
	fl.StringVar(&f.transport, "transport", "", "HTTP client: `auto` (fasthttp for plain HTTP/1.1 requests, net/http for the rest), nethttp or fast; overrides the scenario's transport:")
	fl.BoolVarP(&f.quiet, "quiet", "q", false, "no progress and no summary: only the verdict and the result path")
	addClusterFlags(fl, &f.cluster)
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
	if f.target != "" {
		u, err := url.Parse(f.target)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return usageErrorf("--target %q: want an absolute http or https URL", f.target)
		}
		f.target = strings.TrimRight(f.target, "/")
	}
	spec, err := loadSpec(path)
	if err != nil {
		reportProblems(e.stderr, path, err)
		return withCode(exitUsage, nil)
	}
	spec = spec.Scaled(f.timeScale)
	if f.replicas > 0 {
		if spec.Target.Lab == nil {
			return usageErrorf("%s: the scenario has no lab whose replicas could be set", path)
		}
		spec.Target.Lab.Replicas = f.replicas
	}
	if f.transport != "" {
		if !slices.Contains(scenarios.Transports(), f.transport) {
			return usageErrorf("--transport %q: want one of %s", f.transport, strings.Join(scenarios.Transports(), ", "))
		}
		if spec, err = spec.WithTransport(f.transport); err != nil {
			reportProblems(e.stderr, path, err)
			return withCode(exitUsage, nil)
		}
	}
	base, err := pipeline.TargetURL(spec, f.target)
	if err != nil {
		return withCode(exitUsage, err)
	}
	if f.dryRun {
		writePlan(e.stdout, spec, base)
		return nil
	}

	var faults chaos.Resolver // a cluster target's Chaos Mesh, in loadgen-kube (kube.go); nil for the lab's or none
	if spec.Target.Kubernetes != nil && len(spec.Faults) > 0 && !f.noFaults {
		kf, err := kubeFaults(ctx, e, spec)
		if err != nil {
			return withCode(exitUsage, err)
		}
		defer kf.Close() // after the run's own rollback: loadgen-kube rolls back what is left, and exits
		faults = kf
	}
	if err := pipeline.Check(spec, pipeline.Config{BaseURL: f.target, NoFaults: f.noFaults, Faults: faults}); err != nil {
		return withCode(exitForError(err), err)
	}
	dir := f.out
	if dir == "" {
		dir = filepath.Join("results", fmt.Sprintf("%s-%s", spec.Name, time.Now().UTC().Format("20060102T150405Z")))
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return internalErrorf("create output directory: %w", err)
	}

	cfg := pipeline.Config{
		BaseURL:        f.target,
		Seed:           f.seed,
		MaxLateness:    f.maxLateness,
		Warn:           e.stderr,
		NoFaults:       f.noFaults,
		VerifyDatabase: f.verifyDB,
		OnCleanup:      e.onExit.add,
		Transport:      f.transport,
		Faults:         faults,
	}
	if !f.quiet {
		cfg.Progress, cfg.Status = e.stderr, e.stderr
		cfg.TTY = isTerminal(e.stderr) && e.getenv("CI") == "" && e.getenv("TERM") != "dumb"
	}
	if base == "" { // a lab
		if cfg.Academy, err = academyCommand(f.academy); err != nil {
			return withCode(exitUsage, err)
		}
		if f.labLog != "" {
			lf, err := os.Create(f.labLog)
			if err != nil {
				return usageErrorf("--lab-log: %w", err)
			}
			defer lf.Close() // after the lab has stopped (pipeline.Run stops it)
			cfg.LabLog = lf
		}
	}
	if f.results != "" {
		rf, err := os.Create(f.results)
		if err != nil {
			return internalErrorf("create results file: %w", err)
		}
		bw := bufio.NewWriterSize(rf, 64<<10)
		cfg.Results = bw
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
		// The run's live metrics exist only when served: without a reader, counting every
		// response in Prometheus' vectors cost 2-3 % of the CPU at 5000 requests/s.
		reg := prometheus.NewRegistry()
		reg.MustRegister(collectors.NewGoCollector()) // go_memstats_*, go_goroutines: the soak reads them
		cfg.Registry = reg
		stop, err := serveMetrics(e, f.metricsAddr, reg)
		if err != nil {
			return withCode(exitUsage, err)
		}
		defer stop()
	}

	if f.cluster.workers > 0 || f.cluster.listen != "" {
		if f.cluster.workers < 1 {
			return usageErrorf("--listen needs --workers N")
		}
		stop, err := startCluster(e, path, f, &cfg)
		if err != nil {
			return err
		}
		defer stop()
	}
	res, err := pipeline.Run(ctx, spec, cfg)
	if err != nil {
		return withCode(exitForError(err), err)
	}
	file := filepath.Join(dir, "result.json")
	if err := writeResult(file, res); err != nil {
		return internalErrorf("%w", err)
	}
	if f.quiet {
		fmt.Fprintln(e.stdout, "verdict:", reports.ShortVerdict(res))
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
	if res.Version == "" {
		res.Version = version
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
