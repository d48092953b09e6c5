package main

import (
	"io"
	"sync"

	"github.com/spf13/cobra"
)

// env is what the commands get from the process: streams and environment.
type env struct {
	stdout, stderr io.Writer
	getenv         func(string) string
	// onExit holds best-effort cleanups (fault rollback, stopping the lab) that a second
	// signal runs before it exits at once.
	onExit *cleanups
}

// cleanups is a set of functions to run on an emergency exit. Safe for concurrent use.
type cleanups struct {
	mu  sync.Mutex
	fns map[int]func()
	n   int
}

// add registers fn and returns a function that removes it again.
func (c *cleanups) add(fn func()) (remove func()) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.fns == nil {
		c.fns = map[int]func(){}
	}
	c.n++
	id := c.n
	c.fns[id] = fn
	return func() {
		c.mu.Lock()
		defer c.mu.Unlock()
		delete(c.fns, id)
	}
}

// run runs every registered cleanup, newest first, each at most once.
func (c *cleanups) run() {
	c.mu.Lock()
	fns, n := c.fns, c.n
	c.fns = nil
	c.mu.Unlock()
	for id := n; id > 0; id-- {
		if fn, ok := fns[id]; ok {
			fn()
		}
	}
}

// newRoot builds the command tree. It reads nothing from the process itself:
// streams and environment come in as arguments.
func newRoot(stdout, stderr io.Writer, getenv func(string) string, onExit *cleanups) *cobra.Command {
	e := &env{stdout: stdout, stderr: stderr, getenv: getenv, onExit: onExit}
	root := &cobra.Command{
		Use:   "loadgen",
		Short: "Load tests and chaos drills from one scenario file",
		Long: `loadgen runs a scenario: the traffic to send, the faults to inject and when,
and the thresholds (SLOs) that must hold. It answers PASS or FAIL with evidence.

  loadgen validate scenarios/*.yaml
  loadgen run --dry-run scenarios/enroll-spike.yaml
  loadgen run --target http://127.0.0.1:8080 scenarios/enroll-spike.yaml

` + exitCodesHelp,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.CompletionOptions.DisableDefaultCmd = true
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error {
		return withCode(exitUsage, err)
	})
	root.AddCommand(newRunCmd(e), newCoordinatorCmd(e), newWorkerCmd(e), newValidateCmd(e), newReportCmd(e), newCompareCmd(e), newVersionCmd(e))
	for _, c := range moreCommands {
		root.AddCommand(c(e))
	}
	return root
}

// moreCommands are the commands that register themselves from their own file (an init
// appends to it), so that a new command touches no other file.
var moreCommands []func(*env) *cobra.Command
