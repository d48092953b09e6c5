package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/trendtactics/loadlab/chaos/remote"
	"github.com/trendtactics/loadlab/scenarios"
)

// The Kubernetes side of loadgen (k8s, chaos, the faults of a run on target.kubernetes)
// lives in a second program, loadgen-kube (cmd/loadgen-kube), so that this one, which sends
// the load, does not link the Kubernetes client libraries (about 50 MB of binary and 30 MB
// of memory). The commands stay loadgen's: they run loadgen-kube.

func init() {
	moreCommands = append(moreCommands,
		kubeCommand("k8s", "Kubernetes manifests of the academy and of a distributed load (loadgen-kube k8s)"),
		kubeCommand("chaos", "Chaos Mesh objects of a cluster scenario: render them, clean them up (loadgen-kube chaos)"))
}

// kubeProgram is the name of the program that holds the Kubernetes side.
const kubeProgram = "loadgen-kube"

// kubeBinary finds loadgen-kube: beside loadgen's own executable, then on $PATH.
func kubeBinary(e *env) (string, error) {
	if self, err := os.Executable(); err == nil {
		p := filepath.Join(filepath.Dir(self), kubeProgram)
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	if p, err := exec.LookPath(kubeProgram); err == nil {
		return p, nil
	}
	return "", fmt.Errorf("%s not found beside loadgen nor on $PATH: the Kubernetes commands (k8s, chaos, the faults of a run on target.kubernetes) live in it; build it with `make build` (bin/) or `go build -o DIR ./cmd/loadgen-kube`, DIR being loadgen's directory or one on $PATH", kubeProgram)
}

// kubeCommand is loadgen NAME: it runs loadgen-kube NAME with the same arguments, streams
// and environment, and exits with its exit code. A first interrupt is passed on to it.
func kubeCommand(name, short string) func(*env) *cobra.Command {
	return func(e *env) *cobra.Command {
		return &cobra.Command{
			Use:                name,
			Short:              short,
			Long:               short + ". " + name + " --help lists its commands.",
			DisableFlagParsing: true, // every argument, --help too, is loadgen-kube's
			RunE: func(cmd *cobra.Command, args []string) error {
				code, err := runKube(cmd.Context(), e, append([]string{name}, args...)...)
				if err != nil {
					return internalErrorf("%w", err)
				}
				if code != 0 {
					return withCode(code, nil) // loadgen-kube has said why
				}
				return nil
			},
		}
	}
}

// runKube runs loadgen-kube with args and returns its exit code.
func runKube(ctx context.Context, e *env, args ...string) (int, error) {
	bin, err := kubeBinary(e)
	if err != nil {
		return 0, err
	}
	c := exec.CommandContext(ctx, bin, args...)
	c.Stdout, c.Stderr = e.stdout, e.stderr
	c.Cancel = func() error { return c.Process.Signal(os.Interrupt) }
	err = c.Run()
	var ee *exec.ExitError
	if errors.As(err, &ee) && ee.ExitCode() > 0 {
		return ee.ExitCode(), nil
	}
	return 0, err
}

// kubeFaults starts loadgen-kube chaos serve, which injects the faults of a run of a cluster
// scenario as Chaos Mesh objects, and returns its Resolver (to Close after the run), telling
// on stderr how to clean up after it should both die.
func kubeFaults(ctx context.Context, e *env, spec *scenarios.Spec) (*remote.Client, error) {
	bin, err := kubeBinary(e)
	if err != nil {
		return nil, err
	}
	c := exec.Command(bin, "chaos", "serve")
	c.Stderr = e.stderr
	faults, open, err := remote.Start(ctx, c, spec)
	if err != nil {
		return nil, err
	}
	k := spec.Target.Kubernetes
	fmt.Fprintf(e.stderr, "chaos: run %s: Chaos Mesh objects labelled %s=%s in namespace %s (loadgen-kube deletes them when loadgen ends, even killed; if both are killed: loadgen chaos cleanup --run %s)\n",
		open.Run, open.Label, open.Run, k.Namespace, open.Run)
	return faults, nil
}
