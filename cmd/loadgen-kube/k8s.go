package main

import (
	"crypto/rand"
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/trendtactics/loadlab/deploy/manifests"
)

func newK8sCmd(e *env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "k8s",
		Short: "Kubernetes manifests of the academy and of a distributed load",
		Long: `k8s renders what a Kubernetes cluster needs to run loadlab (render), and applies it
with server-side apply (apply). docs/kubernetes.md is the guide.`,
	}
	cmd.AddCommand(newK8sRenderCmd(e), newK8sApplyCmd(e))
	return cmd
}

// k8sFlags are the flags of render and apply: what to render.
type k8sFlags struct {
	o        manifests.Options
	scenario string
	parts    []string
}

func addK8sFlags(fl *pflag.FlagSet, f *k8sFlags) {
	d := manifests.Defaults()
	fl.StringVarP(&f.o.Namespace, "namespace", "n", d.Namespace, "the `NAMESPACE` of every object")
	fl.StringVar(&f.o.Image, "image", d.Image, "the `IMAGE` holding loadgen and academy (the repository's Dockerfile)")
	fl.StringSliceVar(&f.parts, "part", nil, "render only these `PARTS`: academy (the academy, PostgreSQL, Redis), load (coordinator and workers); default both")
	fl.StringVar(&f.scenario, "scenario", "", "the scenario `FILE` the coordinator runs (required for the load part; validated)")
	fl.Int32Var(&f.o.Workers, "workers", d.Workers, "`N` workers: the Indexed Job's completions and parallelism, the coordinator's --workers")
	fl.StringVar(&f.o.WorkerCPU, "worker-cpu", d.WorkerCPU, "each worker's CPU `QUANTITY` (request = limit)")
	fl.StringVar(&f.o.WorkerMemory, "worker-memory", d.WorkerMemory, "each worker's memory `QUANTITY` (request = limit)")
	fl.Int32Var(&f.o.MaxLostWorkers, "max-lost-workers", 0, "workers that may be lost: the coordinator's --max-lost-workers and the Job's maxFailedIndexes")
	fl.DurationVar(&f.o.JoinTimeout, "join-timeout", d.JoinTimeout, "how long the coordinator waits for every worker to join (its --join-timeout)")
	fl.Int32Var(&f.o.Retries, "worker-retries", d.Retries, "starts again of a worker that could not reach the coordinator (backoffLimitPerIndex)")
	fl.Int32Var(&f.o.MinReplicas, "min-replicas", d.MinReplicas, "the academy's HorizontalPodAutoscaler minimum (and the Deployment's replicas)")
	fl.Int32Var(&f.o.MaxReplicas, "max-replicas", d.MaxReplicas, "the academy's HorizontalPodAutoscaler maximum")
	fl.Int32Var(&f.o.CPUPercent, "cpu-percent", d.CPUPercent, "the autoscaler's target CPU utilisation of the requests, in percent")
	fl.Int32Var(&f.o.MemoryPercent, "memory-percent", d.MemoryPercent, "the autoscaler's target memory utilisation of the requests, in percent")
	fl.StringVar(&f.o.AcademyCPU, "academy-cpu", d.AcademyCPU, "each academy replica's CPU request `QUANTITY` (no CPU limit)")
	fl.StringVar(&f.o.AcademyMemory, "academy-memory", d.AcademyMemory, "each academy replica's memory request `QUANTITY` (the limit is twice it)")
	fl.StringArrayVar(&f.o.AcademyArgs, "academy-arg", nil, "one more `FLAG` of academy serve, e.g. --academy-arg=--seed-users=3000 (repeatable)")
	fl.IntVar(&f.o.Shards, "shards", d.Shards, "PostgreSQL StatefulSets, one per shard")
	fl.StringVar(&f.o.DatabaseStorage, "db-storage", d.DatabaseStorage, "each shard's volume `QUANTITY`")
	fl.DurationVar(&f.o.ShutdownTimeout, "shutdown-timeout", d.ShutdownTimeout, "the academy's drain (academy serve --shutdown-timeout); the pods' termination grace is longer")
}

// options returns the flags' Options, the scenario read and validated, and the secrets from
// the environment or new random ones (saying so on stderr).
func (f *k8sFlags) options(e *env) (manifests.Options, error) {
	o := f.o
	o.Parts = f.parts
	if f.scenario != "" {
		if _, err := loadSpec(e, f.scenario); err != nil {
			return o, err
		}
		data, err := os.ReadFile(f.scenario)
		if err != nil {
			return o, usageErrorf("%w", err)
		}
		o.Scenario, o.ScenarioName = data, filepath.Base(f.scenario)
	}
	var generated []string
	for _, s := range []struct {
		v   *string
		env string
	}{{&o.JWTSecret, "ACADEMY_JWT_SECRET"}, {&o.AdminToken, "ACADEMY_ADMIN_TOKEN"},
		{&o.DatabasePassword, "ACADEMY_DB_PASSWORD"}, {&o.LoadgenToken, "LOADGEN_TOKEN"}} {
		if *s.v = e.getenv(s.env); *s.v == "" {
			*s.v = rand.Text()
			generated = append(generated, s.env)
		}
	}
	if len(generated) > 0 {
		fmt.Fprintf(e.stderr, "k8s: generated random secrets for %v (set them in the environment to keep them across renders: a new database password does not reach an existing volume)\n", generated)
	}
	return o, nil
}

func (f *k8sFlags) render(e *env) ([]*unstructured.Unstructured, error) {
	o, err := f.options(e)
	if err != nil {
		return nil, err
	}
	objs, err := manifests.Render(o)
	if err != nil {
		return nil, usageErrorf("%w", err)
	}
	return objs, nil
}

func newK8sRenderCmd(e *env) *cobra.Command {
	var (
		f   k8sFlags
		out string
	)
	cmd := &cobra.Command{
		Use:   "render [--scenario FILE] [flags]",
		Short: "Print the Kubernetes manifests of the academy and of a distributed load",
		Long: `render writes, as one YAML stream for kubectl apply, what a cluster needs to run loadlab:

  academy  Namespace, ConfigMap, Secret (JWT secret, admin token, one database URL per shard),
           Deployment (readiness /readyz, liveness /healthz, a termination grace longer than
           the drain, spread across nodes, Prometheus scrape annotations), Service,
           HorizontalPodAutoscaler (autoscaling/v2: 10 to 1000 replicas, CPU 70 %, memory 80 %),
           PodDisruptionBudget, ServiceMonitor, and PostgreSQL (one StatefulSet per shard) and
           Redis as StatefulSets;
  load     the coordinator (loadgen coordinator, a Job and its Service; a ServiceAccount and a
           Role to create and delete Chaos Mesh objects) and the workers (loadgen worker, an
           Indexed Job of N pods, each taking $JOB_COMPLETION_INDEX as its index).

The secrets come from $ACADEMY_JWT_SECRET, $ACADEMY_ADMIN_TOKEN, $ACADEMY_DB_PASSWORD and
$LOADGEN_TOKEN, else are random. The scenario must reach the academy inside the cluster
(http://academy.NAMESPACE:8080); files it names beside itself are not shipped.`,
		Example: `  loadgen k8s render --scenario scenarios/enroll-spike.yaml --workers 8 > loadlab.yaml
  loadgen k8s render --part academy --min-replicas 2 --max-replicas 10 --shards 1`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			objs, err := f.render(e)
			if err != nil {
				return err
			}
			y, err := manifests.YAML(objs)
			if err != nil {
				return internalError{err}
			}
			if out == "" {
				_, err = e.stdout.Write(y)
			} else {
				err = os.WriteFile(out, y, 0o600)
			}
			return err
		},
	}
	addK8sFlags(cmd.Flags(), &f)
	cmd.Flags().StringVarP(&out, "out", "o", "", "write to `FILE` (mode 0600: it holds secrets) instead of stdout")
	return cmd
}

func newK8sApplyCmd(e *env) *cobra.Command {
	var (
		f                   k8sFlags
		kubeconfig, context string
		dryRun              bool
	)
	cmd := &cobra.Command{
		Use:   "apply [--scenario FILE] [flags]",
		Short: "Apply the rendered manifests to a cluster (server-side apply)",
		Long: `apply renders the manifests as render does (same flags) and applies them to the cluster of
the kubeconfig with server-side apply (field manager "loadgen"). With --dry-run the server
validates and admits each object without storing it (the namespace must exist). Every object
the server refuses is printed with the server's message; the exit code is then 1.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			objs, err := f.render(e)
			if err != nil {
				return err
			}
			rules := clientcmd.NewDefaultClientConfigLoadingRules()
			if kubeconfig != "" {
				rules.ExplicitPath = kubeconfig
			}
			cfg, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{CurrentContext: context}).ClientConfig()
			if err != nil {
				return usageErrorf("kubeconfig: %w", err)
			}
			a, err := manifests.NewApplier(cfg)
			if err != nil {
				return usageErrorf("kubeconfig: %w", err)
			}
			err = a.Apply(cmd.Context(), objs, dryRun)
			verb := "applied"
			if dryRun {
				verb = "accepted (dry run)"
			}
			if err != nil {
				return internalError{err}
			}
			fmt.Fprintf(e.stdout, "%d objects %s in namespace %s\n", len(objs), verb, f.o.Namespace)
			return nil
		},
	}
	addK8sFlags(cmd.Flags(), &f)
	cmd.Flags().StringVar(&kubeconfig, "kubeconfig", "", "the kubeconfig `FILE` (default $KUBECONFIG, else ~/.kube/config)")
	cmd.Flags().StringVar(&context, "context", "", "the kubeconfig's `CONTEXT` (default its current one)")
	cmd.Flags().BoolVar(&dryRun, "dry-run", false, "have the server validate every object without storing it")
	return cmd
}
