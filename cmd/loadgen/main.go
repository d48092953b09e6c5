package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	os.Exit(run(osProcess()))
}

// process is what the CLI takes from the operating system, injected (k6's GlobalState
// habit) so that tests drive signals and the emergency exit in-process.
type process struct {
	args           []string
	stdout, stderr io.Writer
	getenv         func(string) string
	// notify delivers SIGINT and SIGTERM to c until the returned stop is called.
	notify func(c chan<- os.Signal) (stop func())
	// exit ends the process at once with code (the second signal); it does not return.
	exit func(code int)
}

// osProcess is the real process: its arguments, streams, environment and signals.
func osProcess() *process {
	return &process{
		args: os.Args[1:], stdout: os.Stdout, stderr: os.Stderr, getenv: os.Getenv,
		notify: func(c chan<- os.Signal) func() {
			signal.Notify(c, os.Interrupt, syscall.SIGTERM)
			return func() { signal.Stop(c) }
		},
		exit: os.Exit,
	}
}

// run executes the CLI and returns the process exit code (see doc.go).
// The first SIGINT or SIGTERM cancels the context: the run stops its load and
// still writes its result (exit 130). A second signal runs the emergency cleanups
// (faults rolled back, the lab stopped) and exits at once with 130.
func run(p *process) int {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	sigs := make(chan os.Signal, 2)
	stop := p.notify(sigs)
	defer stop()
	done := make(chan struct{})
	defer close(done)
	onExit := &cleanups{}
	go func() { // ends when run returns (done) or on the second signal (exit)
		n := 0
		for {
			select {
			case <-done:
				return
			case <-sigs:
				n++
				if n == 1 {
					fmt.Fprintln(p.stderr, "loadgen: interrupted: stopping the load and writing the result (interrupt again to exit now)")
					cancel()
					continue
				}
				fmt.Fprintln(p.stderr, "loadgen: interrupted again: rolling back faults and stopping the lab, then exiting")
				onExit.run()
				p.exit(exitInterrupted)
				return
			}
		}
	}()

	root := newRoot(p.stdout, p.stderr, p.getenv, onExit)
	root.SetArgs(p.args)
	return exitCode(root.ExecuteContext(ctx), p.stderr)
}
