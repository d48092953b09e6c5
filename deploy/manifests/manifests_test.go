package manifests

import (
	"os"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/yaml"

	"github.com/trendtactics/loadlab/internal/testutil"
	"github.com/trendtactics/loadlab/internal/testutil/kubetest"
)

func TestMain(m *testing.M) { os.Exit(kubetest.Main(m)) }

// fixed are options with fixed secrets, so that the rendering is the same every time.
func fixed() Options {
	return Options{
		JWTSecret: "jwt-secret", AdminToken: "admin-token", DatabasePassword: "db-password", LoadgenToken: "loadgen-token",
		Scenario: []byte("version: 1\nname: test\n"), ScenarioName: "drill.yaml", Workers: 8,
	}
}

func render(t *testing.T, o Options) []*unstructured.Unstructured {
	t.Helper()
	objs, err := Render(o)
	if err != nil {
		t.Fatal(err)
	}
	return objs
}

func TestRenderGolden(t *testing.T) {
	for _, c := range []struct {
		name string
		o    func(*Options)
	}{
		{"TestRender", func(*Options) {}},
		// A small staging cluster: the academy alone, 2 to 10 replicas, one shard.
		{"TestRenderSmall", func(o *Options) {
			o.Parts, o.MinReplicas, o.MaxReplicas, o.Shards, o.Namespace = []string{PartAcademy}, 2, 10, 1, "staging"
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			o := fixed()
			c.o(&o)
			y, err := YAML(render(t, o))
			if err != nil {
				t.Fatal(err)
			}
			testutil.Golden(t, "testdata/"+c.name+".golden.yaml", y)
			// The stream reads back as the same objects.
			dec := yaml.NewYAMLOrJSONDecoder(strings.NewReader(string(y)), 4096)
			n := 0
			for {
				var m map[string]any
				if err := dec.Decode(&m); err != nil {
					break
				}
				n++
			}
			if want := len(render(t, o)); n != want {
				t.Fatalf("the YAML stream has %d documents, want %d", n, want)
			}
		})
	}
}

// find returns the typed object of kind and name among objs.
func find[T any](t *testing.T, objs []*unstructured.Unstructured, kind, name string) *T {
	t.Helper()
	for _, o := range objs {
		if o.GetKind() == kind && o.GetName() == name {
			v := new(T)
			if err := runtime.DefaultUnstructuredConverter.FromUnstructured(o.Object, v); err != nil {
				t.Fatal(err)
			}
			return v
		}
	}
	t.Fatalf("no %s %s", kind, name)
	return nil
}

// The guide's autoscaler exactly, and its parameters for smaller clusters.
func TestAutoscaler(t *testing.T) {
	for _, c := range []struct {
		min, max, cpu, mem int32
	}{{10, 1000, 70, 80}, {2, 10, 60, 75}} {
		o := fixed()
		if c.min != 10 { // the defaults are the guide's
			o.MinReplicas, o.MaxReplicas, o.CPUPercent, o.MemoryPercent = c.min, c.max, c.cpu, c.mem
		}
		hpa := find[autoscalingv2.HorizontalPodAutoscaler](t, render(t, o), "HorizontalPodAutoscaler", "academy")
		if *hpa.Spec.MinReplicas != c.min || hpa.Spec.MaxReplicas != c.max || hpa.Spec.ScaleTargetRef.Name != "academy" || hpa.Spec.ScaleTargetRef.Kind != "Deployment" {
			t.Errorf("HPA %+v, want %d to %d replicas of Deployment academy", hpa.Spec, c.min, c.max)
		}
		got := map[corev1.ResourceName]int32{}
		for _, m := range hpa.Spec.Metrics {
			if m.Type != autoscalingv2.ResourceMetricSourceType || m.Resource.Target.Type != autoscalingv2.UtilizationMetricType {
				t.Errorf("HPA metric %+v: want a resource utilisation", m)
				continue
			}
			got[m.Resource.Name] = *m.Resource.Target.AverageUtilization
		}
		if len(got) != 2 || got[corev1.ResourceCPU] != c.cpu || got[corev1.ResourceMemory] != c.mem {
			t.Errorf("HPA targets %v, want CPU %d %%, memory %d %%", got, c.cpu, c.mem)
		}
	}
}

func TestAcademyDeployment(t *testing.T) {
	o := fixed()
	o.ShutdownTimeout = 40 * time.Second
	d := find[appsv1.Deployment](t, render(t, o), "Deployment", "academy")
	pod := d.Spec.Template.Spec
	c := pod.Containers[0]
	if c.ReadinessProbe.HTTPGet.Path != "/readyz" || c.LivenessProbe.HTTPGet.Path != "/healthz" {
		t.Errorf("probes: readiness %s, liveness %s", c.ReadinessProbe.HTTPGet.Path, c.LivenessProbe.HTTPGet.Path)
	}
	if !strings.Contains(strings.Join(c.Args, " "), "--shutdown-timeout=40s") {
		t.Errorf("args %v: the drain is not passed on", c.Args)
	}
	if g := *pod.TerminationGracePeriodSeconds; g <= preStopSleep+40 {
		t.Errorf("termination grace %d s, not longer than the pre-stop sleep and the 40 s drain", g)
	}
	if d.Spec.Replicas != nil {
		t.Errorf("the Deployment sets replicas (%d): every apply would undo the autoscaler", *d.Spec.Replicas)
	}
	if len(pod.TopologySpreadConstraints) == 0 || pod.TopologySpreadConstraints[0].TopologyKey != "kubernetes.io/hostname" {
		t.Errorf("no spread across nodes: %+v", pod.TopologySpreadConstraints)
	}
	if d.Spec.Template.Annotations["prometheus.io/scrape"] != "true" || c.Resources.Requests.Cpu().IsZero() {
		t.Errorf("scrape annotations %v, requests %v", d.Spec.Template.Annotations, c.Resources.Requests)
	}
	s := find[corev1.Secret](t, render(t, o), "Secret", "academy")
	if urls := strings.Split(s.StringData["ACADEMY_DATABASE_URL"], ","); len(urls) != 2 || !strings.Contains(urls[1], "@postgres-1:5432/") {
		t.Errorf("database URLs %q: want one per shard", urls)
	}
}

func TestWorkersJob(t *testing.T) {
	o := fixed()
	o.Workers, o.MaxLostWorkers, o.Retries, o.JoinTimeout = 5, 1, 3, 4*time.Minute
	objs := render(t, o)
	j := find[batchv1.Job](t, objs, "Job", "loadgen-workers")
	s := j.Spec
	if *s.CompletionMode != batchv1.IndexedCompletion || *s.Completions != 5 || *s.Parallelism != 5 {
		t.Errorf("workers Job: mode %s, completions %d, parallelism %d; want Indexed, 5, 5", *s.CompletionMode, *s.Completions, *s.Parallelism)
	}
	if *s.BackoffLimitPerIndex != 3 || *s.MaxFailedIndexes != 1 || *s.PodReplacementPolicy != batchv1.Failed || s.PodFailurePolicy == nil {
		t.Errorf("workers Job: backoffLimitPerIndex %d, maxFailedIndexes %d, podReplacementPolicy %s, podFailurePolicy %v",
			*s.BackoffLimitPerIndex, *s.MaxFailedIndexes, *s.PodReplacementPolicy, s.PodFailurePolicy)
	}
	c := s.Template.Spec.Containers[0]
	for _, r := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
		if req, lim := c.Resources.Requests[r], c.Resources.Limits[r]; req.IsZero() || req.Cmp(lim) != 0 {
			t.Errorf("worker %s: request %s, limit %s; want equal", r, req.String(), lim.String())
		}
	}
	if strings.Contains(strings.Join(c.Args, " "), "--index") || c.Args[0] != "worker" {
		t.Errorf("worker args %v: the index must come from $JOB_COMPLETION_INDEX", c.Args)
	}
	coord := find[batchv1.Job](t, objs, "Job", "loadgen-coordinator")
	args := strings.Join(coord.Spec.Template.Spec.Containers[0].Args, " ")
	if !strings.HasPrefix(args, "coordinator /etc/loadlab/drill.yaml ") || !strings.Contains(args, "--workers=5") || !strings.Contains(args, "--max-lost-workers=1") || !strings.Contains(args, "--join-timeout=4m0s") {
		t.Errorf("coordinator args %q", args)
	}
	if len(s.Template.Spec.TopologySpreadConstraints) == 0 {
		t.Error("workers are not spread across nodes")
	}
}

func TestOptionsRefused(t *testing.T) {
	for _, c := range []struct {
		o    func(*Options)
		want string
	}{
		{func(o *Options) { o.MinReplicas, o.MaxReplicas = 20, 10 }, "replicas: min 20, max 10"},
		{func(o *Options) { o.Namespace = "Bad_NS" }, `namespace "Bad_NS"`},
		{func(o *Options) { o.Parts = []string{"everything"} }, `part "everything"`},
		{func(o *Options) { o.Scenario = nil }, "the load needs a scenario file"},
		{func(o *Options) { o.Workers, o.MaxLostWorkers = 2, 2 }, "max lost workers 2"},
		{func(o *Options) { o.WorkerMemory = "lots" }, `worker memory "lots"`},
		{func(o *Options) { o.Shards = -1 }, "shards -1"},
		{func(o *Options) { o.ShutdownTimeout = time.Millisecond }, "shutdown timeout 1ms"},
		{func(o *Options) { o.JoinTimeout = -time.Second }, "join timeout -1s"},
	} {
		o := fixed()
		c.o(&o)
		if _, err := Render(o); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Render: %v, want an error with %q", err, c.want)
		}
	}
	// The academy alone needs no scenario.
	o := fixed()
	o.Scenario, o.Parts = nil, []string{PartAcademy}
	if _, err := Render(o); err != nil {
		t.Errorf("the academy part without a scenario: %v", err)
	}
}
