package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/go-logr/logr"
	"github.com/spf13/cobra"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/controller-runtime/pkg/client"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/trendtactics/loadlab/chaos"
	"github.com/trendtactics/loadlab/chaos/mesh"
	"github.com/trendtactics/loadlab/chaos/remote"
	"github.com/trendtactics/loadlab/scenarios"
)

// renderRunID labels what chaos render prints when no --run is given.
const renderRunID = "render"

// quietChaosMesh discards what Chaos Mesh's webhook code (run by chaos/mesh before sending
// an object) logs through controller-runtime's logger; unset, that logger prints a stack
// trace after 30 s.
func quietChaosMesh() { ctrllog.SetLogger(logr.Discard()) }

func newChaosCmd(e *env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "chaos",
		Short: "Chaos Mesh objects of a cluster scenario: render them, clean them up",
		Long: `chaos works with the Chaos Mesh objects of a scenario with target.kubernetes: render
prints them, cleanup deletes those a run left behind. loadgen run creates and deletes them
itself on the fault timeline.`,
	}
	cmd.AddCommand(newChaosRenderCmd(e), newChaosCleanupCmd(e), newChaosServeCmd(e))
	return cmd
}

func newChaosRenderCmd(e *env) *cobra.Command {
	var run, workflow string
	cmd := &cobra.Command{
		Use:   "render FILE",
		Short: "Print a cluster scenario's faults as Chaos Mesh objects (YAML)",
		Long: `render loads a scenario with target.kubernetes and prints one Chaos Mesh object per fault,
as YAML documents that kubectl apply -f reads, labelled with the run ID (--run, default
"render") and the fault's name. Each object is checked by Chaos Mesh's own admission rules
first. --export-workflow FILE also writes the whole fault timeline as one Chaos Mesh
Workflow (a Parallel node with a Serial branch per fault: a Suspend for its offset, then its
chaos node), for a game day run from the Chaos Dashboard.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			quietChaosMesh()
			spec, err := loadClusterSpec(e, args[0])
			if err != nil {
				return err
			}
			objs, err := mesh.Objects(spec, run)
			if err != nil {
				return usageErrorf("%s: %w", args[0], err)
			}
			if workflow != "" {
				wf, err := mesh.Workflow(spec, run)
				if err != nil {
					return usageErrorf("%s: %w", args[0], err)
				}
				var b bytes.Buffer
				if err := mesh.WriteYAML(&b, wf); err != nil {
					return internalError{err}
				}
				if err := os.WriteFile(workflow, b.Bytes(), 0o644); err != nil {
					return internalErrorf("--export-workflow: %w", err)
				}
			}
			if err := mesh.WriteYAML(e.stdout, objs...); err != nil {
				return internalError{err}
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&run, "run", renderRunID, "label the objects with run `ID` (loadgen.dev/run)")
	cmd.Flags().StringVar(&workflow, "export-workflow", "", "also write the fault timeline as a Chaos Mesh Workflow to `FILE`")
	return cmd
}

type kubeFlags struct {
	kubeconfig, context, namespace string
}

func newChaosCleanupCmd(e *env) *cobra.Command {
	var cf kubeFlags
	var run string
	var all bool
	cmd := &cobra.Command{
		Use:   "cleanup (--run ID | --all)",
		Short: "Delete the Chaos Mesh objects a run left behind",
		Long: `cleanup deletes, by label, the Chaos Mesh objects that loadgen created for one run (--run ID,
the ID loadgen run prints) or for every run (--all): the way to take back the faults of a
loadgen that was killed (Chaos Mesh has no switch that stops all chaos; each object also
expires after its duration). It prints each object it deleted; --namespace limits it to one
namespace (default: all).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if (run == "") == !all {
				return usageErrorf("give --run ID or --all")
			}
			if run != "" {
				if err := mesh.CheckRunID(run); err != nil {
					return usageErrorf("--run: %w", err)
				}
			}
			c, err := kubeClient(e, cf.kubeconfig, cf.context, false)
			if err != nil {
				return usageError{err}
			}
			ctx, cancel := context.WithTimeout(cmd.Context(), time.Minute)
			defer cancel()
			deleted, err := mesh.Cleanup(ctx, c, cf.namespace, run)
			for _, d := range deleted {
				fmt.Fprintln(e.stdout, "deleted", d)
			}
			if err != nil {
				return internalErrorf("chaos cleanup: %w", err)
			}
			if len(deleted) == 0 {
				fmt.Fprintln(e.stdout, "nothing to delete")
			}
			return nil
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&run, "run", "", "delete the objects of run `ID`")
	fl.BoolVar(&all, "all", false, "delete the objects of every loadgen run")
	fl.StringVar(&cf.kubeconfig, "kubeconfig", "", "kubeconfig `FILE` (default $KUBECONFIG, then ~/.kube/config)")
	fl.StringVar(&cf.context, "context", "", "kubeconfig `NAME`d context (default the current one)")
	fl.StringVarP(&cf.namespace, "namespace", "n", "", "only in `NAMESPACE` (default all namespaces)")
	return cmd
}

// loadClusterSpec loads a scenario that must have a kubernetes target.
func loadClusterSpec(e *env, path string) (*scenarios.Spec, error) {
	spec, err := loadSpec(e, path)
	if err != nil {
		return nil, err
	}
	if spec.Target.Kubernetes == nil {
		return nil, usageErrorf("%s: the scenario has no target.kubernetes: its faults have no cluster form", path)
	}
	return spec, nil
}

// kubeClient connects to the cluster of a kubeconfig (or the pod's own service account).
func kubeClient(e *env, kubeconfig, kubeContext string, inCluster bool) (client.Client, error) {
	var cfg *rest.Config
	var err error
	if inCluster {
		if cfg, err = rest.InClusterConfig(); err != nil {
			return nil, fmt.Errorf("in-cluster kubernetes config: %w", err)
		}
	} else {
		rules := &clientcmd.ClientConfigLoadingRules{ExplicitPath: expandHome(e, kubeconfig)}
		if kubeconfig == "" {
			rules.Precedence = filepath.SplitList(e.getenv("KUBECONFIG"))
			if len(rules.Precedence) == 0 {
				rules.Precedence = []string{expandHome(e, "~/.kube/config")}
			}
		}
		over := &clientcmd.ConfigOverrides{CurrentContext: kubeContext}
		if cfg, err = clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, over).ClientConfig(); err != nil {
			return nil, fmt.Errorf("kubernetes config: %w", err)
		}
	}
	cfg.UserAgent = "loadgen"
	c, err := client.New(cfg, client.Options{Scheme: mesh.Scheme()})
	if err != nil {
		return nil, fmt.Errorf("kubernetes client: %w", err)
	}
	return c, nil
}

func expandHome(e *env, path string) string {
	if rest, ok := strings.CutPrefix(path, "~/"); ok {
		if home := e.getenv("HOME"); home != "" {
			return filepath.Join(home, rest)
		}
	}
	return path
}

// newChaosServeCmd serves the faults of a cluster scenario to loadgen run, its parent.
func newChaosServeCmd(e *env) *cobra.Command {
	var timeout time.Duration
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Inject a run's Chaos Mesh faults for loadgen run (JSON-RPC on stdin and stdout)",
		Long: `serve is what loadgen run starts on a target.kubernetes: it reads JSON-RPC calls
(package chaos/remote) on stdin, creates and deletes the run's Chaos Mesh objects as the
fault timeline of its parent asks, and answers on stdout. When stdin ends (the parent is
done, or died, even by SIGKILL) it deletes every object still in place and exits. It
ignores SIGINT, SIGTERM and SIGHUP (the parent, which gets them too, rolls back first) and
SIGPIPE (its parent's pipes break when the parent dies).`,
		Args:   cobra.NoArgs,
		Hidden: true,
		RunE: func(cmd *cobra.Command, _ []string) error {
			// SIGPIPE too: once the parent has died, an answer on stdout or a line on a stderr
			// that was its pipe would kill this process before it rolled back (Go ends a
			// program on a broken pipe on fd 1 or 2 unless SIGPIPE is handled or ignored).
			signal.Ignore(os.Interrupt, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGPIPE)
			quietChaosMesh()
			open := func(a remote.OpenArgs) (chaos.Resolver, remote.OpenReply, error) {
				k := a.Kubernetes
				c, err := kubeClient(e, k.Kubeconfig, k.Context, k.InCluster)
				if err != nil {
					return nil, remote.OpenReply{}, err
				}
				run := mesh.NewRunID(time.Now())
				spec := &scenarios.Spec{Name: a.Name, Target: scenarios.Target{URL: k.URL, Kubernetes: k}}
				r, err := mesh.NewResolver(c, spec, run)
				if err != nil {
					return nil, remote.OpenReply{}, err
				}
				return r, remote.OpenReply{Run: run, Label: mesh.LabelRun}, nil
			}
			if err := remote.Serve(e.stdin, e.stdout, open, timeout, e.stderr); err != nil {
				return internalError{err}
			}
			return nil
		},
	}
	cmd.Flags().DurationVar(&timeout, "rollback-timeout", time.Minute, "how long each object left in place when stdin ends may take to be deleted")
	return cmd
}
