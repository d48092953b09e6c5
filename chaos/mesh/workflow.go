package mesh

import (
	"fmt"

	"github.com/chaos-mesh/chaos-mesh/api/v1alpha1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

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

// chaosTemplate is the workflow node of one fault's object.
func chaosTemplate(f *scenarios.Fault, obj any) (v1alpha1.Template, error) {
	t := v1alpha1.Template{Name: f.Name, Deadline: ptr(f.Duration.String()), EmbedChaos: &v1alpha1.EmbedChaos{}}
	// In a Workflow the node's deadline is the fault's duration; Chaos Mesh refuses a
	// duration in the embedded spec.
	switch o := obj.(type) {
	case *v1alpha1.NetworkChaos:
		s := o.Spec
		s.Duration = nil
		t.Type, t.NetworkChaos = v1alpha1.TypeNetworkChaos, &s
	case *v1alpha1.PodChaos:
		s := o.Spec
		s.Duration = nil
		t.Type, t.PodChaos = v1alpha1.TypePodChaos, &s
	case *v1alpha1.HTTPChaos:
		s := o.Spec
		s.Duration = nil
		t.Type, t.HTTPChaos = v1alpha1.TypeHTTPChaos, &s
	case *v1alpha1.StressChaos:
		s := o.Spec
		s.Duration = nil
		t.Type, t.StressChaos = v1alpha1.TypeStressChaos, &s
	case *v1alpha1.TimeChaos:
		s := o.Spec
		s.Duration = nil
		t.Type, t.TimeChaos = v1alpha1.TypeTimeChaos, &s
	case *v1alpha1.DNSChaos:
		s := o.Spec
		s.Duration = nil
		t.Type, t.DNSChaos = v1alpha1.TypeDNSChaos, &s
	default:
		return t, fmt.Errorf("fault %q: %T has no workflow node", f.Name, obj)
	}
	return t, nil
}
