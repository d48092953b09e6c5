package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/trendtactics/loadlab/loadgen"
	"github.com/trendtactics/loadlab/scenarios"
)

// version is set at build time (-ldflags "-X main.version=..."), as loadgen's.
var version = "dev"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr, os.Getenv)
	stop()
	os.Exit(code)
}

// env is what the commands get from the process: streams and environment.
type env struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	getenv         func(string) string
}

// run executes the CLI and returns the exit code: 0 done, 1 internal error (the cluster
// refused, I/O), 2 usage error or invalid scenario; loadgen passes it on.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer, getenv func(string) string) int {
	e := &env{stdin: stdin, stdout: stdout, stderr: stderr, getenv: getenv}
	root := &cobra.Command{
		Use:   "loadgen-kube",
		Short: "loadgen's Kubernetes side: manifests, Chaos Mesh objects, a cluster's fault injection",
		Long: `loadgen-kube holds what of loadgen talks to Kubernetes, so that the loadgen that sends
the load does not carry the Kubernetes client libraries. loadgen runs it (from beside its
own executable, else from $PATH) for loadgen k8s, loadgen chaos and the faults of loadgen
run on a target.kubernetes; it can also be run by itself, with the same commands.`,
		Version:       version,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.CompletionOptions.DisableDefaultCmd = true
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })
	root.AddCommand(newK8sCmd(e), newChaosCmd(e))
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	var ie internalError
	switch {
	case err == nil:
		return 0
	case errors.Is(err, errProblems):
		return 2
	case errors.As(err, &ie):
		fmt.Fprintf(stderr, "loadgen: %v\n", err)
		return 1
	}
	// A usage error: the commands' own, and cobra's (an unknown command or flag).
	fmt.Fprintf(stderr, "loadgen: %v\n", err)
	return 2
}

// usageError is a usage error or an invalid input: exit 2. Errors that are neither
// usageError nor internalError come from cobra's parsing, and are usage errors too.
type usageError struct{ error }

// internalError is a failure of the work itself (I/O, the cluster): exit 1.
type internalError struct{ error }

func (e usageError) Unwrap() error    { return e.error }
func (e internalError) Unwrap() error { return e.error }

func usageErrorf(format string, args ...any) error {
	return usageError{fmt.Errorf(format, args...)}
}

func internalErrorf(format string, args ...any) error {
	return internalError{fmt.Errorf(format, args...)}
}

// errProblems says the problems were printed already (a scenario's, one a line): exit 2.
var errProblems = errors.New("invalid input")

// loadSpec loads and validates a scenario as loadgen does, printing its problems.
func loadSpec(e *env, path string) (*scenarios.Spec, error) {
	spec, err := scenarios.LoadFile(path)
	if err == nil {
		err = loadgen.CheckBrowser(spec)
	}
	if err != nil {
		if !strings.Contains(err.Error(), path) {
			err = fmt.Errorf("%s: %w", path, err)
		}
		fmt.Fprintln(e.stderr, err)
		return nil, errProblems
	}
	return spec, nil
}
