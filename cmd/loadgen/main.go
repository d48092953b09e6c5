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
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr, os.Getenv))
}

// run executes the CLI and returns the process exit code (see doc.go).
// The first SIGINT or SIGTERM cancels the context: the run stops its load and
// still writes its result (exit 130). A second signal exits at once.
func run(args []string, stdin io.Reader, stdout, stderr io.Writer, getenv func(string) string) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	// Count signals on a second channel: the first is NotifyContext's, the second exits now.
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(sigs)
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
					fmt.Fprintln(stderr, "loadgen: interrupted: stopping the load and writing the result (interrupt again to exit now)")
					continue
				}
				fmt.Fprintln(stderr, "loadgen: interrupted again: rolling back faults and stopping the lab, then exiting")
				onExit.run()
				os.Exit(exitInterrupted)
			}
		}
	}()

	root := newRoot(stdin, stdout, stderr, getenv, onExit)
	root.SetArgs(args)
	return exitCode(root.ExecuteContext(ctx), stderr)
}
