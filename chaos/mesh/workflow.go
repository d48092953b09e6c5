package mesh

import (
	"fmt"

	"github.com/chaos-mesh/chaos-mesh/api/v1alpha1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/trendtactics/loadlab/scenarios"
)

// Workflow renders the fault timeline of a cluster scenario as a Chaos Mesh Workflow, for
// teams that run game days from the Chaos Dashboard: the entry is a Parallel node with a
// branch per fault; a fault that starts later than the load is a Serial node of a Suspend
// (its offset) and then the chaos node (its duration as the deadline). The Workflow
// injects the faults only: the load is still sent by loadgen run, started with the Workflow.
func Workflow(spec *scenarios.Spec, run string) (*v1alpha1.Workflow, error) {
	objs, err := Objects(spec, run)
	if err != nil {
		return nil, err
	}
	const entry = "loadlab"
	entryTmpl := v1alpha1.Template{Name: entry, Type: v1alpha1.TypeParallel}
	templates := []v1alpha1.Template{}
	seen := map[string]bool{entry: true}
	add := func(t v1alpha1.Template) error {
		if seen[t.Name] {
			return fmt.Errorf("workflow node name %q is used twice: rename the fault", t.Name)
		}
		seen[t.Name] = true
		templates = append(templates, t)
		return nil
	}
	for i, f := range spec.Faults {
		chaosNode, err := chaosTemplate(f, objs[i])
		if err != nil {
			return nil, err
		}
		if err := add(chaosNode); err != nil {
			return nil, err
		}
		branch := chaosNode.Name
		if f.At > 0 {
			wait := v1alpha1.Template{Name: f.Name + "-wait", Type: v1alpha1.TypeSuspend, Deadline: ptr(f.At.String())}
			seq := v1alpha1.Template{Name: f.Name + "-at", Type: v1alpha1.TypeSerial, Children: []string{wait.Name, chaosNode.Name}}
			if err := add(wait); err != nil {
				return nil, err
			}
			if err := add(seq); err != nil {
				return nil, err
			}
			branch = seq.Name
		}
		entryTmpl.Children = append(entryTmpl.Children, branch)
	}
	k := spec.Target.Kubernetes
	wf := &v1alpha1.Workflow{
		TypeMeta: typeMeta(v1alpha1.KindWorkflow),
		ObjectMeta: metav1.ObjectMeta{Name: ObjectName(spec.Name, run), Namespace: k.Namespace,
			Labels:      map[string]string{LabelManagedBy: ManagedBy, LabelRun: run},
			Annotations: map[string]string{AnnotationScenario: spec.Name}},
		Spec: v1alpha1.WorkflowSpec{Entry: entry, Templates: append([]v1alpha1.Template{entryTmpl}, templates...)},
	}
	if err := admit(wf); err != nil {
		return nil, err
	}
	return wf, nil
}

// embedKeys are the fields of a Workflow node that hold each kind's spec.
var embedKeys = map[string]string{v1alpha1.KindNetworkChaos: "networkChaos", v1alpha1.KindPodChaos: "podChaos",
	v1alpha1.KindHTTPChaos: "httpChaos", v1alpha1.KindStressChaos: "stressChaos", v1alpha1.KindTimeChaos: "timeChaos",
	v1alpha1.KindDNSChaos: "dnsChaos"}

// chaosTemplate is the workflow node of one fault's object: its spec without the
// duration (Chaos Mesh refuses one in a Workflow), whose place the node's deadline takes.
func chaosTemplate(f *scenarios.Fault, obj client.Object) (v1alpha1.Template, error) {
	kind := obj.GetObjectKind().GroupVersionKind().Kind
	key, ok := embedKeys[kind]
	if !ok {
		return v1alpha1.Template{}, fmt.Errorf("fault %q: %s has no workflow node", f.Name, kind)
	}
	m, err := Unstructured(obj)
	if err != nil {
		return v1alpha1.Template{}, err
	}
	spec, _ := m["spec"].(map[string]any)
	delete(spec, "duration")
	embed := &v1alpha1.EmbedChaos{}
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(map[string]any{key: spec}, embed); err != nil {
		return v1alpha1.Template{}, fmt.Errorf("fault %q: workflow node: %w", f.Name, err)
	}
	return v1alpha1.Template{Name: f.Name, Type: v1alpha1.TemplateType(kind), Deadline: ptr(f.Duration.String()), EmbedChaos: embed}, nil
}
