package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/trendtactics/loadlab/chaos"
	"github.com/trendtactics/loadlab/chaos/lab"
	"github.com/trendtactics/loadlab/result"
	"github.com/trendtactics/loadlab/scenarios"
)

// academyCommand finds the academy binary the lab starts: --academy, else `academy` next
// to this executable (make build puts both in bin/), else `academy` in PATH.
func academyCommand(flag string) ([]string, error) {
	if flag != "" {
		p, err := exec.LookPath(flag)
		if err != nil {
			return nil, fmt.Errorf("--academy: %w", err)
		}
		return []string{p}, nil
	}
	if self, err := os.Executable(); err == nil {
		p := filepath.Join(filepath.Dir(self), "academy")
		if st, err := os.Stat(p); err == nil && !st.IsDir() {
			return []string{p}, nil
		}
	}
	if p, err := exec.LookPath("academy"); err == nil {
		return []string{p}, nil
	}
	return nil, errors.New("the lab needs the academy binary: build it with `make build` (or `go build -o bin/ ./cmd/...`), or pass --academy PATH")
}

// startLab starts the scenario's lab. Its status lines go to e.stderr unless quiet.
func startLab(ctx context.Context, e *env, spec *scenarios.Spec, f runFlags, reg prometheus.Registerer) (*lab.Lab, error) {
	cmd, err := academyCommand(f.academy)
	if err != nil {
		return nil, err
	}
	cfg := lab.Config{
		Replicas: spec.Target.Lab.Replicas,
		Cache:    spec.Target.Lab.Cache,
		Seed:     spec.Target.Lab.Seed,
		Academy:  cmd,
		// Scenario knobs of the replicas' costs and pools.
		BcryptCost:  spec.Target.Lab.BcryptCost,
		DBMaxConns:  spec.Target.Lab.DBMaxConns,
		AcademyArgs: spec.Target.Lab.AcademyArgs,
		Registry:    reg,
		// The lab always allows the academy's test-only faults: it is a throwaway service.
		AllowUnsafeFaults: true,
	}
	if !f.quiet {
		cfg.Status = e.stderr
	}
	if f.labLog != "" {
		lf, err := os.Create(f.labLog)
		if err != nil {
			return nil, fmt.Errorf("--lab-log: %w", err)
		}
		cfg.Log = lf // closed with the process; the children write to it until Stop
	}
	start := time.Now()
	l, err := lab.Start(ctx, cfg)
	if err != nil {
		return nil, err
	}
	if !f.quiet {
		fmt.Fprintf(e.stderr, "lab: ready in %s at %s\n", time.Since(start).Round(100*time.Millisecond), l.URL())
	}
	return l, nil
}

// faultRun runs a scenario's fault timeline beside the load.
type faultRun struct {
	tl    *chaos.Timeline
	spec  *scenarios.Spec
	start time.Time

	cancel context.CancelFunc
	done   chan struct{}
	err    error

	once sync.Once
}

// startFaults starts the timeline; start is the load's start.
func startFaults(ctx context.Context, spec *scenarios.Spec, r chaos.Resolver, reg prometheus.Registerer) (*faultRun, error) {
	tl, err := chaos.NewTimeline(spec.Faults, r, reg)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(ctx)
	fr := &faultRun{tl: tl, spec: spec, start: time.Now(), cancel: cancel, done: make(chan struct{})}
	// The timeline goroutine ends when every fault has ended or stop cancels it.
	go func() {
		defer close(fr.done)
		fr.err = tl.Run(ctx, fr.start)
	}()
	return fr, nil
}

// stop ends the timeline and rolls back whatever is still active. Safe to call more than once.
func (fr *faultRun) stop() error {
	fr.once.Do(func() {
		fr.cancel()
		<-fr.done
	})
	return fr.err
}

// record puts the fault events and per-fault windows into the result.
func (fr *faultRun) record(res *result.Result) {
	type span struct {
		start, end float64
		ok         bool
		err        string
	}
	spans := map[string]*span{}
	for _, ev := range fr.tl.Events() {
		res.Events = append(res.Events, result.Event{At: ev.At.Seconds(), Kind: ev.Kind, Name: ev.Fault, Detail: ev.Detail})
		s := spans[ev.Fault]
		if s == nil {
			s = &span{}
			spans[ev.Fault] = s
		}
		switch ev.Kind {
		case "fault.start":
			s.start, s.ok = ev.At.Seconds(), true
		case "fault.end":
			s.end = ev.At.Seconds()
		case "fault.error":
			s.err = ev.Detail
			s.end = ev.At.Seconds()
		}
	}
	for _, f := range fr.spec.Faults {
		fres := result.FaultResult{Name: f.Name, Kind: f.Kind, Target: f.Target,
			Start: f.At.Seconds(), End: f.End().Seconds(), RecoveryS: -1}
		if s := spans[f.Name]; s != nil {
			fres.Injected, fres.Error = s.ok, s.err
			if s.ok {
				fres.Start = s.start
			}
			if s.end > 0 {
				fres.End = s.end
			}
		} else {
			fres.Error = "not reached before the run ended"
		}
		res.Faults = append(res.Faults, fres)
	}
}
