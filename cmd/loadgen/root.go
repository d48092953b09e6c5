package main

import (
	"io"

	"github.com/spf13/cobra"
)

// env is what the commands get from the process: streams and environment.
type env struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	getenv         func(string) string
}

// newRoot builds the command tree. It reads nothing from the process itself:
// streams and environment come in as arguments.
func newRoot(stdin io.Reader, stdout, stderr io.Writer, getenv func(string) string) *cobra.Command {
	e := &env{stdin: stdin, stdout: stdout, stderr: stderr, getenv: getenv}
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
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error {
		return withCode(exitUsage, err)
	})
	root.AddCommand(newRunCmd(e), newValidateCmd(e), newVersionCmd(e))
	return root
}
