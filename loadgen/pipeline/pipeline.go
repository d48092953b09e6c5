package pipeline

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/trendtactics/loadlab/chaos"
	"github.com/trendtactics/loadlab/chaos/lab"
	"github.com/trendtactics/loadlab/loadgen"
	"github.com/trendtactics/loadlab/reports"
	"github.com/trendtactics/loadlab/result"
	"github.com/trendtactics/loadlab/scenarios"
)

// Config is what a run needs beyond its scenario. The zero value runs the scenario's own
// target with the engine's defaults, silently.
type Config struct {
	// BaseURL sends the load to this URL instead of the scenario's target (no lab starts).
	BaseURL string
	Seed    int64
	// MaxLateness bounds the generator's own send lateness p99 (loadgen.Options).
	MaxLateness time.Duration
	// Registry gets the run's live metrics (engine, faults, lab); nil for none.
	Registry *prometheus.Registry
	// Progress and TTY: the engine's progress output (loadgen.Options).
	Progress io.Writer
	TTY      bool
	// Status receives the run's status lines (lab ready, capacity found); nil for none.
	Status io.Writer
	// Warn receives problems that do not stop the run (a fault that could not be rolled
	// back cleanly, the raw results file, an unwatched memory); nil for none.
	Warn io.Writer
	// Results receives every request's result in vegeta's format (loadgen.Options).
	Results io.Writer
	// Intervals receives the per-second interval records (loadgen.Options).
	Intervals func(*result.Result)
	// NoFaults sends the load without injecting the faults; their windows are still measured.
	NoFaults bool
	// VerifyDatabase is the PostgreSQL URL the verification reads; default the lab's.
	VerifyDatabase string
	// Academy is the command line of the academy binary the lab starts.
	Academy []string
	// LabLog receives the lab's child-process output; nil for none.
	LabLog io.Writer
	// Transport overrides the scenario's transport: (loadgen.Options).
	Transport string
	// OnCleanup registers a cleanup (roll back the faults, stop the lab) that an emergency
	// exit runs (a second Ctrl-C); it returns the function that unregisters it. nil: none.
	OnCleanup func(func()) (remove func())
	// Generator sends the load; nil sends it from this process (loadgen.Run). A
	// coordinator of workers (package loadgen/cluster) is one.
	Generator Generator
	// Faults injects the faults of a URL target, such as a cluster's Chaos Mesh
	// (chaos/mesh.Resolver); nil: a URL target's faults are refused unless NoFaults.
	Faults chaos.Resolver
}

// Generator is the engine step of Run: what sends the load and measures it. Run calls
// Ready once the lab is up, starts the fault timeline and the memory watch at the start
// time Ready returns, then calls Run with Options.StartAt set to it.
type Generator interface {
	// Ready waits until the load of spec can start and returns when it will start.
	Ready(ctx context.Context, spec *scenarios.Spec, opts loadgen.Options) (start time.Time, err error)
	// Run sends the load from opts.StartAt and returns what it measured, as loadgen.Run.
	Run(ctx context.Context, spec *scenarios.Spec, opts loadgen.Options) (*result.Result, error)
}

// ErrorKind says why a run ended without a result.
type ErrorKind int

// The kinds of Error.
const (
	// Usage: the scenario cannot run as asked (faults it cannot inject, a bad target).
	Usage ErrorKind = iota + 1
	// Internal: the lab or the engine failed.
	Internal
	// InvalidRun: the capacity ramp found no capacity: rates relative to it mean nothing.
	InvalidRun
	// Interrupted: the context was cancelled before the load began.
	Interrupted
)

// Error is an error of Run that left no result, with its kind.
type Error struct {
	Kind ErrorKind
	Err  error
}

func (e *Error) Error() string { return e.Err.Error() }
func (e *Error) Unwrap() error { return e.Err }

func fail(kind ErrorKind, format string, args ...any) error {
	return &Error{Kind: kind, Err: fmt.Errorf(format, args...)}
}

// TargetURL returns the base URL of a run of spec: override (--target), else target.url,
// else "" for a lab target (its edge is known once it has started).
func TargetURL(spec *scenarios.Spec, override string) (string, error) {
	switch {
	case override != "":
		return override, nil
	case spec.Target.URL != "":
		return spec.Target.URL, nil
	case spec.Target.Lab != nil:
		return "", nil
	}
	return "", errors.New("the scenario has no target: set target.url or use --target URL")
}

// Check reports, as a Usage *Error, why spec cannot run with cfg (no target; faults
// against a URL target, which need Chaos Mesh), before anything starts. Run checks too.
func Check(spec *scenarios.Spec, cfg Config) error {
	base, err := TargetURL(spec, cfg.BaseURL)
	if err != nil {
		return &Error{Kind: Usage, Err: err}
	}
	if len(spec.Faults) > 0 && base != "" && !cfg.NoFaults && cfg.Faults == nil {
		return fail(Usage, "faults against a URL target need Chaos Mesh: describe the cluster in target.kubernetes, "+
			"run the scenario's lab target, or pass --no-faults to send the load and measure the fault windows without injecting")
	}
	return nil
}

// Run runs spec end to end (see the package doc) and returns the finished result. A
// run that produced a result returns it even when interrupted (its verdict says so); an
// error without a result is an *Error. Everything Run starts, it stops before it returns.
func Run(ctx context.Context, spec *scenarios.Spec, cfg Config) (*result.Result, error) {
	if err := Check(spec, cfg); err != nil {
		return nil, err
	}
	base, _ := TargetURL(spec, cfg.BaseURL)
	useLab := base == ""
	opts := loadgen.Options{
		BaseURL:     base,
		Seed:        cfg.Seed,
		Progress:    cfg.Progress,
		TTY:         cfg.TTY,
		Windows:     faultWindows(spec),
		Results:     cfg.Results,
		Intervals:   cfg.Intervals,
		MaxLateness: cfg.MaxLateness,
		Transport:   cfg.Transport,
	}
	if cfg.Registry != nil {
		opts.Registry = cfg.Registry
	}
	var writes *result.WriteLog
	if len(spec.Verify) > 0 {
		writes = &result.WriteLog{}
		opts.Writes = writes
	}
	aborter := reports.NewAborter(spec)
	if slices.ContainsFunc(spec.Thresholds, func(th *scenarios.Threshold) bool { return th.AbortOnFail }) {
		opts.Every = aborter.Every // a snapshot of every figure each second: only when it is read
	}
	verifyDB := cfg.VerifyDatabase

	resolver := cfg.Faults
	var labPIDs func() map[string]int // the lab's processes, for the memory watch
	if useLab {
		l, err := startLab(ctx, spec, cfg)
		if err != nil {
			if ctx.Err() != nil {
				return nil, fail(Interrupted, "interrupted while starting the lab")
			}
			return nil, fail(Internal, "start the lab: %w", err)
		}
		stopLab := func() {
			sctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			l.Stop(sctx)
		}
		remove := cfg.cleanup(stopLab)
		defer func() {
			remove()
			stopLab()
			cfg.status("lab: stopped\n")
		}()
		opts.BaseURL, opts.CACerts = l.URL(), l.CACert() // the lab's throwaway CA with tls: true
		resolver = l
		labPIDs = l.PIDs
		if verifyDB == "" {
			verifyDB = l.DatabaseURL()
		}
	}

	var m Measured
	var err error
	if spec.NeedsCapacity() {
		ramp := loadgen.Run
		if g := cfg.Generator; g != nil { // the ramp on the workers, judged on the merged figures
			ramp = func(ctx context.Context, spec *scenarios.Spec, opts loadgen.Options) (*result.Result, error) {
				start, err := g.Ready(ctx, spec, opts)
				if err != nil {
					return nil, fmt.Errorf("workers: %w", err)
				}
				opts.StartAt = start
				return g.Run(ctx, spec, opts)
			}
		}
		if m.Capacity, err = measureCapacity(ctx, cfg.Status, spec, opts, ramp); err != nil {
			if ctx.Err() != nil {
				return nil, fail(Interrupted, "interrupted while measuring the capacity")
			}
			return nil, &Error{Kind: InvalidRun, Err: err}
		}
		spec = spec.WithCapacity(m.Capacity.RPS)
		opts.CapacityRPS = m.Capacity.RPS
	}
	start := time.Now()
	run := loadgen.Run
	if g := cfg.Generator; g != nil {
		if start, err = g.Ready(ctx, spec, opts); err != nil {
			if ctx.Err() != nil {
				return nil, fail(Interrupted, "interrupted while the workers joined")
			}
			return nil, fail(Internal, "workers: %w", err)
		}
		opts.StartAt, run = start, g.Run
	}
	var faults *faultRun
	if len(spec.Faults) > 0 && resolver != nil && !cfg.NoFaults {
		if faults, err = startFaults(ctx, spec, resolver, cfg.Registry, start); err != nil {
			return nil, fail(Usage, "faults: %w", err)
		}
		remove := cfg.cleanup(func() { _ = faults.stop() })
		defer remove()
	}
	var mem *memWatch
	if needsMemory(spec) {
		if mem, err = startMemWatch(start, labPIDs); err != nil {
			cfg.warn("memory is not watched (its thresholds will have no data): %v", err)
		}
	}

	res, err := run(ctx, spec, opts)
	if mem != nil {
		m.Memory = mem.stop()
	}
	if faults != nil {
		if ferr := faults.stop(); ferr != nil {
			cfg.warn("faults: %v", ferr)
		}
		m.FaultsRan, m.FaultEvents = true, faults.tl.Events()
	}
	switch {
	case err != nil && res == nil:
		return nil, fail(Internal, "run %s: %w", spec.Path, err)
	case err != nil:
		// The run completed but the raw results file could not be written: judge the run anyway.
		cfg.warn("%v", err)
	}
	m.Result, m.Aborter = res, aborter
	m.Verification = verifyRun(ctx, spec, res, opts.BaseURL, opts.CACerts, verifyDB, writes)
	return Finish(spec, m), nil
}

// faultWindows returns the windows the run measures for windowed thresholds: one per
// fault, named after it, then the scenario's own windows (windows:, which inject nothing).
func faultWindows(spec *scenarios.Spec) []result.Window {
	var ws []result.Window
	for _, f := range spec.Faults {
		ws = append(ws, result.Window{Name: f.Name, Start: f.At, End: f.End()})
	}
	for _, w := range spec.Windows {
		ws = append(ws, result.Window{Name: w.Name, Start: w.At, End: w.End()})
	}
	return ws
}

func (cfg *Config) cleanup(fn func()) (remove func()) {
	if cfg.OnCleanup == nil {
		return func() {}
	}
	return cfg.OnCleanup(fn)
}

func (cfg *Config) status(format string, args ...any) {
	if cfg.Status != nil {
		fmt.Fprintf(cfg.Status, format, args...)
	}
}

func (cfg *Config) warn(format string, args ...any) {
	if cfg.Warn != nil {
		fmt.Fprintf(cfg.Warn, "loadgen: "+format+"\n", args...)
	}
}

// startLab starts the scenario's lab.
func startLab(ctx context.Context, spec *scenarios.Spec, cfg Config) (*lab.Lab, error) {
	if len(cfg.Academy) == 0 {
		return nil, errors.New("no academy binary for the lab")
	}
	lc := lab.Config{
		Replicas:   spec.Target.Lab.Replicas,
		DBReplicas: spec.Target.Lab.DBReplicas,
		Cache:      spec.Target.Lab.Cache,
		Seed:       spec.Target.Lab.Seed,
		Academy:    cfg.Academy,
		// Scenario knobs of the replicas' costs and pools.
		BcryptCost:  spec.Target.Lab.BcryptCost,
		DBMaxConns:  spec.Target.Lab.DBMaxConns,
		AcademyArgs: spec.Target.Lab.AcademyArgs,
		TLS:         spec.Target.Lab.TLS,
		Status:      cfg.Status,
		Log:         cfg.LabLog,
		// The lab always allows the academy's test-only faults: it is a throwaway service.
		AllowUnsafeFaults: true,
	}
	if cfg.Registry != nil {
		lc.Registry = cfg.Registry
	}
	start := time.Now()
	l, err := lab.Start(ctx, lc)
	if err != nil {
		return nil, err
	}
	cfg.status("lab: ready in %s at %s\n", time.Since(start).Round(100*time.Millisecond), l.URL())
	return l, nil
}
