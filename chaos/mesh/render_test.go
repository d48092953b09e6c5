package mesh_test

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chaos-mesh/chaos-mesh/api/v1alpha1"

	"github.com/trendtactics/loadlab/chaos/mesh"
	"github.com/trendtactics/loadlab/internal/testutil"
	"github.com/trendtactics/loadlab/scenarios"
)

// clusterScenarios are the shipped cluster forms and the fixture with every kind.
func clusterScenarios(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob("../../scenarios/kubernetes/*.yaml")
	if err != nil || len(files) < 4 {
		t.Fatalf("shipped cluster scenarios: %v %v", files, err)
	}
	return append(files, "../../scenarios/testdata/cluster.good.yaml")
}

func load(t *testing.T, file string) *scenarios.Spec {
	t.Helper()
	spec, err := scenarios.LoadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	return spec
}

// TestRenderGolden renders the faults of each cluster scenario and its Workflow, as
// loadgen chaos render prints them, against testdata/<scenario>.golden.yaml.
func TestRenderGolden(t *testing.T) {
	for _, file := range clusterScenarios(t) {
		name := strings.TrimSuffix(filepath.Base(file), ".yaml")
		t.Run(name, func(t *testing.T) {
			spec := load(t, file)
			objs, err := mesh.Objects(spec, "render")
			if err != nil {
				t.Fatal(err)
			}
			if len(objs) != len(spec.Faults) {
				t.Fatalf("%d objects for %d faults", len(objs), len(spec.Faults))
			}
			wf, err := mesh.Workflow(spec, "render")
			if err != nil {
				t.Fatal(err)
			}
			var b bytes.Buffer
			if err := mesh.WriteYAML(&b, append(objs, wf)...); err != nil {
				t.Fatal(err)
			}
			testutil.Golden(t, filepath.Join("testdata", name+".golden.yaml"), b.Bytes())
		})
	}
}

// TestObjectsCarryDurationAndLabels checks what a crashed harness relies on: every object
// expires by itself and can be found by its run and fault.
func TestObjectsCarryDurationAndLabels(t *testing.T) {
	spec := load(t, "../../scenarios/testdata/cluster.good.yaml")
	objs, err := mesh.Objects(spec, "r1")
	if err != nil {
		t.Fatal(err)
	}
	for i, o := range objs {
		f := spec.Faults[i]
		m, err := mesh.Unstructured(o)
		if err != nil {
			t.Fatal(err)
		}
		sp := m["spec"].(map[string]any)
		if sp["duration"] != f.Duration.String() {
			t.Errorf("%s: duration %v, want %s", f.Name, sp["duration"], f.Duration)
		}
		l := o.GetLabels()
		if l[mesh.LabelRun] != "r1" || l[mesh.LabelFault] != f.Name || l[mesh.LabelManagedBy] != "loadlab" {
			t.Errorf("%s: labels %v", f.Name, l)
		}
		if _, ok := m["status"]; ok {
			t.Errorf("%s: rendered with a status", f.Name)
		}
	}
}

// TestKinds checks the mapping of the issue: each scenario kind to its Chaos Mesh kind and
// action, with the scope of its mode and value.
func TestKinds(t *testing.T) {
	spec := load(t, "../../scenarios/testdata/cluster.good.yaml")
	objs, err := mesh.Objects(spec, "r1")
	if err != nil {
		t.Fatal(err)
	}
	by := map[string]any{}
	for _, o := range objs {
		by[o.GetLabels()[mesh.LabelFault]] = o
	}
	nc := func(name string) *v1alpha1.NetworkChaos { return by[name].(*v1alpha1.NetworkChaos) }
	if c := nc("slow-db"); c.Spec.Action != v1alpha1.DelayAction || c.Spec.Delay.Latency != "50ms" || c.Spec.Target == nil ||
		c.Spec.Selector.LabelSelectors["app.kubernetes.io/name"] != "academy" || c.Spec.Target.Selector.LabelSelectors["app.kubernetes.io/name"] != "postgres" {
		t.Errorf("network.delay on database: %+v", c.Spec)
	}
	if c := nc("cut-cache"); c.Spec.Action != v1alpha1.PartitionAction || c.Spec.Direction != v1alpha1.Both ||
		c.Spec.Target.Selector.Namespaces[0] != "cache" {
		t.Errorf("network.down: %+v", c.Spec)
	}
	if c := nc("lossy"); c.Spec.Action != v1alpha1.LossAction || c.Spec.Loss.Loss != "10" || c.Spec.Loss.Correlation != "25" ||
		c.Spec.Mode != v1alpha1.FixedPercentMode || c.Spec.Value != "50" {
		t.Errorf("network.loss: %+v", c.Spec)
	}
	if c := nc("bits"); c.Spec.Action != v1alpha1.CorruptAction || c.Spec.Corrupt.Corrupt != "1" {
		t.Errorf("network.corrupt: %+v", c.Spec)
	}
	if c := nc("thin-edge"); c.Spec.Action != v1alpha1.BandwidthAction || c.Spec.Bandwidth.Rate != "8000000bps" {
		t.Errorf("network.bandwidth: %+v", c.Spec)
	}
	if c := by["kill-replica"].(*v1alpha1.PodChaos); c.Spec.Action != v1alpha1.PodKillAction || c.Spec.Mode != v1alpha1.OneMode {
		t.Errorf("process.kill: %+v", c.Spec)
	}
	if c := by["freeze-db"].(*v1alpha1.PodChaos); c.Spec.Action != v1alpha1.PodFailureAction || c.Spec.ContainerNames[0] != "postgres" {
		t.Errorf("process.pause: %+v", c.Spec)
	}
	if c := by["abort"].(*v1alpha1.HTTPChaos); c.Spec.Abort == nil || !*c.Spec.Abort || *c.Spec.Method != "POST" || *c.Spec.Path != "*" || c.Spec.Port != 8080 {
		t.Errorf("http.abort: %+v", c.Spec)
	}
	if c := by["slow-enroll"].(*v1alpha1.HTTPChaos); *c.Spec.Delay != "300ms" || *c.Spec.Path != "/v1/courses/*/enrollments" ||
		c.Spec.Port != 9090 || c.Spec.Selector.LabelSelectors["tier"] != "writes" {
		t.Errorf("http.delay on a mapped route: %+v", c.Spec)
	}
	if c := by["teapot"].(*v1alpha1.HTTPChaos); c.Spec.Target != v1alpha1.PodHttpResponse || *c.Spec.Replace.Code != 503 ||
		*c.Spec.Path != "/v1/courses" || c.Spec.Mode != v1alpha1.FixedMode || c.Spec.Value != "2" ||
		c.Spec.Selector.LabelSelectors["tier"] != "" {
		t.Errorf("http.status on a route mapped by app: %+v", c.Spec)
	}
	if c := by["cpu"].(*v1alpha1.StressChaos); c.Spec.Stressors.CPUStressor.Workers != 2 || *c.Spec.Stressors.CPUStressor.Load != 80 {
		t.Errorf("stress.cpu: %+v", c.Spec)
	}
	if c := by["memory"].(*v1alpha1.StressChaos); c.Spec.Stressors.MemoryStressor.Size != "268435456B" {
		t.Errorf("stress.memory: %+v", c.Spec.Stressors.MemoryStressor)
	}
	if c := by["skew"].(*v1alpha1.TimeChaos); c.Spec.TimeOffset != "-5m0s" {
		t.Errorf("clock.skew: %+v", c.Spec)
	}
	if c := by["dns"].(*v1alpha1.DNSChaos); c.Spec.Action != v1alpha1.ErrorAction || c.Spec.DomainNamePatterns[0] != "postgres-*" {
		t.Errorf("dns.error: %+v", c.Spec)
	}
}

// TestWorkflowShape: a Parallel entry with one branch per fault; a fault at 0s is its
// chaos node, a later one a Serial of a Suspend for its offset and the chaos node, whose
// deadline is the fault's duration.
func TestWorkflowShape(t *testing.T) {
	spec := load(t, "../../scenarios/kubernetes/db-outage.yaml")
	wf, err := mesh.Workflow(spec, "r1")
	if err != nil {
		t.Fatal(err)
	}
	nodes := map[string]v1alpha1.Template{}
	for _, tm := range wf.Spec.Templates {
		nodes[tm.Name] = tm
	}
	entry := nodes[wf.Spec.Entry]
	if entry.Type != v1alpha1.TypeParallel || len(entry.Children) != len(spec.Faults) {
		t.Fatalf("entry %+v", entry)
	}
	for i, f := range spec.Faults {
		seq := nodes[entry.Children[i]]
		if seq.Type != v1alpha1.TypeSerial || len(seq.Children) != 2 {
			t.Fatalf("%s: branch %+v", f.Name, seq)
		}
		wait, ch := nodes[seq.Children[0]], nodes[seq.Children[1]]
		if wait.Type != v1alpha1.TypeSuspend || *wait.Deadline != f.At.String() {
			t.Errorf("%s: wait %+v", f.Name, wait)
		}
		if ch.Name != f.Name || *ch.Deadline != f.Duration.String() || ch.EmbedChaos == nil {
			t.Errorf("%s: chaos node %+v", f.Name, ch)
		}
	}
}

// TestRefusedBeforeSending: what Chaos Mesh's webhook would refuse is an error at render
// time, with its message, and a run ID that is no label value is refused.
func TestRefusedBeforeSending(t *testing.T) {
	spec := load(t, "../../scenarios/kubernetes/slow-db.yaml")
	if _, err := mesh.Objects(spec, "Bad ID!"); err == nil || !strings.Contains(err.Error(), "run ID") {
		t.Errorf("bad run ID: %v", err)
	}
	spec.Faults[0].Mode, spec.Faults[0].Value = "fixed", "many" // not reachable from a loaded scenario: the webhook check is the last line
	_, err := mesh.Objects(spec, "r1")
	if err == nil || !strings.Contains(err.Error(), "chaos mesh would refuse NetworkChaos") {
		t.Errorf("bad value: %v", err)
	}
}
