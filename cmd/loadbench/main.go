package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"runtime"
	"slices"
	"syscall"
	"time"
)

func main() {
	if os.Getenv("LOADBENCH_TARGET") == "1" {
		os.Exit(serveTarget())
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "loadbench:", err)
		os.Exit(1)
	}
}

type config struct {
	loadgen, vegeta, bombardier, wrk string
	rate                             int
	duration                         time.Duration
	rounds                           int
	conns                            int
	pin                              bool
	serverCPU, generatorCPU          int
	soak                             time.Duration
	soakRate                         int
	soakEvery                        time.Duration
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var c config
	fs := flag.NewFlagSet("loadbench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&c.loadgen, "loadgen", "bin/loadgen", "loadgen binary")
	fs.StringVar(&c.vegeta, "vegeta", "bin/vegeta", "vegeta binary (skipped if missing)")
	fs.StringVar(&c.bombardier, "bombardier", "bin/bombardier", "bombardier binary (skipped if missing)")
	fs.StringVar(&c.wrk, "wrk", "wrk", "wrk binary, looked up in PATH (skipped if missing)")
	fs.IntVar(&c.rate, "rate", 5000, "fixed rate, requests per second")
	fs.DurationVar(&c.duration, "duration", 10*time.Second, "duration of each run")
	fs.IntVar(&c.rounds, "rounds", 1, "rounds: every tool runs once per round at each rate, the tools in turn; the figures are the medians")
	fs.IntVar(&c.conns, "connections", 64, "connections (workers) of every generator")
	fs.IntVar(&c.conns, "max-workers", 64, "same as -connections")
	fs.BoolVar(&c.pin, "pin", true, "pin the target and the generators to a core each (taskset)")
	fs.IntVar(&c.serverCPU, "server-cpu", 0, "core of the target")
	fs.IntVar(&c.generatorCPU, "generator-cpu", 1, "core of each generator")
	fs.DurationVar(&c.soak, "soak", 0, "if set, run only the memory soak: loadgen alone at -soak-rate for this long")
	fs.IntVar(&c.soakRate, "soak-rate", 2000, "rate of the soak run, requests per second")
	fs.DurationVar(&c.soakEvery, "soak-every", time.Minute, "sampling interval of the soak run")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	if c.conns < 1 || c.rate < 1 || c.duration <= 0 || c.rounds < 1 {
		return errors.New("-connections, -rate, -duration and -rounds must be positive")
	}

	serverPin, genPin, pinNote := pinning(c)
	addr, closeTarget, err := startTarget(serverPin, stderr)
	if err != nil {
		return fmt.Errorf("start target: %w", err)
	}
	defer closeTarget()
	dir, err := os.MkdirTemp("", "loadbench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	b := &bench{
		dir:      dir,
		url:      "http://" + addr + "/",
		duration: c.duration,
		conns:    c.conns,
		pin:      genPin,
		stderr:   stderr,
	}

	fmt.Fprintf(stdout, "loadbench %s\n", time.Now().UTC().Format("2006-01-02 15:04 MST"))
	fmt.Fprintf(stdout, "machine: %s\n", machine())
	fmt.Fprintf(stdout, "target: minimal net/http server at %s; %s\n", addr, pinNote)
	fmt.Fprintf(stdout, "load average before: %s\n", loadavg())
	if c.soak > 0 {
		err := soak(ctx, b, c, stdout)
		fmt.Fprintf(stdout, "load average after: %s\n", loadavg())
		return err
	}
	fmt.Fprintf(stdout, "each generator: %d connections, %s, at %d/s and at its maximum", c.conns, c.duration, c.rate)
	if c.rounds > 1 {
		fmt.Fprintf(stdout, "; %d rounds, the tools in turn: figures are medians, ratios the medians of each round's", c.rounds)
	}
	fmt.Fprint(stdout, "\n\n")
	rows := b.measureAll(ctx, generators(ctx, c, stderr), c.rate, c.rounds)
	if err := ctx.Err(); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "load average after: %s\n\n", loadavg())
	writeRuns(stdout, rows, c.rate, c.duration)
	fmt.Fprintln(stdout)
	writeTable(stdout, rows, c.rate, c.duration)
	fmt.Fprintln(stdout)
	writeRatios(stdout, rows, c.rate, c.duration)
	var failed []string
	for _, r := range rows {
		for _, m := range append(slices.Clone(r.fixed), r.max...) {
			if m != nil && m.err != nil {
				failed = append(failed, r.name)
				break
			}
		}
	}
	if len(failed) > 0 {
		return fmt.Errorf("runs failed: %q", failed)
	}
	return nil
}

// pinning returns the command prefixes that pin the target and the generators, and a note
// saying where they run.
func pinning(c config) (server, generator []string, note string) {
	if !c.pin {
		return nil, nil, "unpinned (-pin=false)"
	}
	if runtime.NumCPU() < 2 {
		return nil, nil, fmt.Sprintf("unpinned: %d core", runtime.NumCPU())
	}
	ts, err := exec.LookPath("taskset")
	if err != nil {
		return nil, nil, "unpinned: taskset not found (Debian: util-linux)"
	}
	return []string{ts, "-c", fmt.Sprint(c.serverCPU)}, []string{ts, "-c", fmt.Sprint(c.generatorCPU)},
		fmt.Sprintf("target pinned to core %d, each generator to core %d (taskset)", c.serverCPU, c.generatorCPU)
}
