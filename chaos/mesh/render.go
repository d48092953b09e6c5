package mesh

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/chaos-mesh/chaos-mesh/api/v1alpha1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	"github.com/trendtactics/loadlab/scenarios"
)

// Labels and annotations on every object this package renders. Cleanup selects by
// LabelManagedBy and LabelRun.
const (
	LabelManagedBy = "app.kubernetes.io/managed-by" // always ManagedBy
	LabelRun       = "loadlab.dev/run"              // the run ID
	LabelFault     = "loadlab.dev/fault"            // the scenario fault's name (absent on a Workflow)
	ManagedBy      = "loadlab"

	AnnotationScenario = "loadlab.dev/scenario" // the scenario's name
	AnnotationKind     = "loadlab.dev/kind"     // the scenario fault's kind
	AnnotationAt       = "loadlab.dev/at"       // the fault's offset from the start of the load
)

// NewRunID returns a fresh run ID: the UTC time to the second and 4 random hex digits,
// a valid label value ("20261202-040447-a1b2").
func NewRunID(now time.Time) string {
	var b [2]byte
	_, _ = rand.Read(b[:])
	return now.UTC().Format("20060102-150405") + "-" + hex.EncodeToString(b[:])
}

// CheckRunID reports whether id can label a run's objects.
func CheckRunID(id string) error {
	if id == "" {
		return fmt.Errorf("empty run ID")
	}
	if errs := validation.IsValidLabelValue(id); len(errs) > 0 {
		return fmt.Errorf("run ID %q is no label value: %s", id, strings.Join(errs, "; "))
	}
	return nil
}

// Scheme returns a scheme with the Chaos Mesh v1alpha1 kinds (a fresh one on every call).
func Scheme() *runtime.Scheme {
	s := runtime.NewScheme()
	if err := v1alpha1.AddToScheme(s); err != nil {
		panic(fmt.Sprintf("chaos mesh scheme: %v", err)) // a static registration: cannot fail
	}
	return s
}

// Objects renders every fault of a cluster scenario as a Chaos Mesh object of run, in
// scenario order. Each passes Chaos Mesh's own admission checks (its webhook's defaulting
// and validation, run here, since a test API server has no webhook).
func Objects(spec *scenarios.Spec, run string) ([]client.Object, error) {
	k := spec.Target.Kubernetes
	if k == nil {
		return nil, fmt.Errorf("scenario %s has no kubernetes target", spec.Name)
	}
	if err := CheckRunID(run); err != nil {
		return nil, err
	}
	var out []client.Object
	for _, f := range spec.Faults {
		o, err := Object(spec, f, run)
		if err != nil {
			return nil, err
		}
		out = append(out, o)
	}
	return out, nil
}

// Object renders one fault of a cluster scenario as a Chaos Mesh object of run.
func Object(spec *scenarios.Spec, f *scenarios.Fault, run string) (client.Object, error) {
	k := spec.Target.Kubernetes
	t, _ := k.KubeTargetFor(f.Target)
	if t == nil {
		return nil, fmt.Errorf("fault %q: target %s is not mapped to pods", f.Name, f.Target)
	}
	ps, err := podSelector(k, t, f)
	if err != nil {
		return nil, fmt.Errorf("fault %q: %w", f.Name, err)
	}
	meta := objectMeta(spec, f, run, t)
	cs := v1alpha1.ContainerSelector{PodSelector: ps}
	if t.Container != "" {
		cs.ContainerNames = []string{t.Container}
	}
	dur := ptr(f.Duration.String())
	var obj client.Object
	switch family, _, _ := strings.Cut(f.Kind, "."); family {
	case "network":
		obj, err = networkChaos(k, meta, ps, f, dur)
	case "process":
		obj = podChaos(meta, cs, f, dur)
	case "http":
		obj = httpChaos(meta, ps, t, f, dur)
	case "stress":
		obj, err = stressChaos(meta, cs, f, dur)
	case "clock":
		obj, err = timeChaos(meta, cs, f, dur)
	case "dns":
		obj = &v1alpha1.DNSChaos{TypeMeta: typeMeta(v1alpha1.KindDNSChaos), ObjectMeta: meta,
			Spec: v1alpha1.DNSChaosSpec{Action: v1alpha1.ErrorAction, ContainerSelector: cs, Duration: dur,
				DomainNamePatterns: []string{f.Params["pattern"]}}}
	default:
		err = fmt.Errorf("kind %s has no Chaos Mesh form", f.Kind)
	}
	if err != nil {
		return nil, fmt.Errorf("fault %q: %w", f.Name, err)
	}
	if err := admit(obj); err != nil {
		return nil, fmt.Errorf("fault %q: %w", f.Name, err)
	}
	return obj, nil
}

// webhook is what Chaos Mesh's admission webhook runs on each kind.
type webhook interface {
	Default(ctx context.Context, obj runtime.Object) error
	ValidateCreate(ctx context.Context, obj runtime.Object) (admission.Warnings, error)
}

// admit runs Chaos Mesh's webhook defaulting and validation on a copy of obj.
func admit(obj client.Object) error {
	cp := obj.DeepCopyObject()
	w, ok := cp.(webhook)
	if !ok {
		return fmt.Errorf("%T has no Chaos Mesh webhook", obj)
	}
	if err := w.Default(context.Background(), cp); err != nil {
		return fmt.Errorf("chaos mesh defaults: %w", err)
	}
	if _, err := w.ValidateCreate(context.Background(), cp); err != nil {
		return fmt.Errorf("chaos mesh would refuse %s: %w", obj.GetObjectKind().GroupVersionKind().Kind, err)
	}
	return nil
}

func objectMeta(spec *scenarios.Spec, f *scenarios.Fault, run string, t *scenarios.KubeTarget) metav1.ObjectMeta {
	return metav1.ObjectMeta{
		Name:      ObjectName(f.Name, run),
		Namespace: namespace(spec.Target.Kubernetes, t),
		Labels:    map[string]string{LabelManagedBy: ManagedBy, LabelRun: run, LabelFault: f.Name},
		Annotations: map[string]string{AnnotationScenario: spec.Name, AnnotationKind: f.Kind,
			AnnotationAt: f.At.String()},
	}
}

// ObjectName is the name of a fault's object in a run: "<fault>-<run>".
func ObjectName(fault, run string) string { return fault + "-" + run }

func namespace(k *scenarios.Kubernetes, t *scenarios.KubeTarget) string {
	if t != nil && t.Namespace != "" {
		return t.Namespace
	}
	return k.Namespace
}

func typeMeta(kind string) metav1.TypeMeta {
	return metav1.TypeMeta{APIVersion: v1alpha1.SchemeGroupVersion.String(), Kind: kind}
}

// podSelector selects the pods of t with the fault's mode and value. A network fault
// between the app and the database or cache selects the app's pods (see
// scenarios.KubePeer); networkChaos adds the target's pods as the peer.
func podSelector(k *scenarios.Kubernetes, t *scenarios.KubeTarget, f *scenarios.Fault) (v1alpha1.PodSelector, error) {
	if scenarios.KubePeer(f.Kind, f.Target) {
		if t = k.Targets["app"]; t == nil {
			return v1alpha1.PodSelector{}, fmt.Errorf("%s on %s needs the app's pods mapped", f.Kind, f.Target)
		}
	}
	ps := v1alpha1.PodSelector{Selector: selectorOf(k, t)}
	switch f.Mode {
	case "one", "":
		ps.Mode = v1alpha1.OneMode
	case "all":
		ps.Mode = v1alpha1.AllMode
	case "fixed":
		ps.Mode, ps.Value = v1alpha1.FixedMode, f.Value
	case "percent":
		p, err := scenarios.ParseFraction(f.Value)
		if err != nil {
			return ps, err
		}
		ps.Mode, ps.Value = v1alpha1.FixedPercentMode, strconv.Itoa(int(math.Round(p*100)))
	default:
		return ps, fmt.Errorf("mode %q has no Chaos Mesh form", f.Mode)
	}
	return ps, nil
}

func selectorOf(k *scenarios.Kubernetes, t *scenarios.KubeTarget) v1alpha1.PodSelectorSpec {
	labels := make(map[string]string, len(t.Selector))
	for key, v := range t.Selector {
		labels[key] = v
	}
	return v1alpha1.PodSelectorSpec{GenericSelectorSpec: v1alpha1.GenericSelectorSpec{
		Namespaces: []string{namespace(k, t)}, LabelSelectors: labels}}
}

func networkChaos(k *scenarios.Kubernetes, meta metav1.ObjectMeta, ps v1alpha1.PodSelector, f *scenarios.Fault, dur *string) (client.Object, error) {
	spec := v1alpha1.NetworkChaosSpec{PodSelector: ps, Duration: dur, Direction: v1alpha1.To}
	if scenarios.KubePeer(f.Kind, f.Target) {
		peer := k.Targets[f.Target]
		spec.Target = &v1alpha1.PodSelector{Selector: selectorOf(k, peer), Mode: v1alpha1.AllMode}
	}
	switch f.Params["direction"] {
	case "upstream":
		spec.Direction = v1alpha1.To
	case "downstream":
		spec.Direction = v1alpha1.From
	case "both":
		spec.Direction = v1alpha1.Both
	}
	switch f.Kind {
	case scenarios.FaultNetworkDelay:
		spec.Action = v1alpha1.DelayAction
		spec.Delay = &v1alpha1.DelaySpec{Latency: f.ParamDuration("latency").String(),
			Jitter: f.ParamDuration("jitter").String(), Correlation: "0"}
	case scenarios.FaultNetworkBandwidth:
		spec.Action = v1alpha1.BandwidthAction
		// Chaos Mesh's rate is in bits per second; the scenario's in bytes per second. The
		// queue limit and bucket size are the values of Chaos Mesh's own examples.
		spec.Bandwidth = &v1alpha1.BandwidthSpec{Rate: strconv.FormatInt(f.ParamBytes("rate")*8, 10) + "bps",
			Limit: 20971520, Buffer: 10000}
	case scenarios.FaultNetworkDown:
		spec.Action = v1alpha1.PartitionAction
		if f.Params["direction"] == "" {
			spec.Direction = v1alpha1.Both
		}
	case scenarios.FaultNetworkLoss:
		spec.Action = v1alpha1.LossAction
		spec.Loss = &v1alpha1.LossSpec{Loss: percent(f, "loss"), Correlation: percent(f, "correlation")}
	case scenarios.FaultNetworkCorrupt:
		spec.Action = v1alpha1.CorruptAction
		spec.Corrupt = &v1alpha1.CorruptSpec{Corrupt: percent(f, "corrupt"), Correlation: percent(f, "correlation")}
	default:
		return nil, fmt.Errorf("kind %s has no Chaos Mesh form", f.Kind)
	}
	return &v1alpha1.NetworkChaos{TypeMeta: typeMeta(v1alpha1.KindNetworkChaos), ObjectMeta: meta, Spec: spec}, nil
}

// podChaos: process.kill is a pod-kill (the pod's controller starts a new one, as a
// supervisor restarts a killed process); process.pause is a pod-failure, which swaps the
// pod's containers for a pause image for the fault's duration: the pod stays, stops
// serving and comes back when the fault ends, as a SIGSTOPped process does. (A
// container-kill would be a kill: the kubelet restarts the container at once.)
func podChaos(meta metav1.ObjectMeta, cs v1alpha1.ContainerSelector, f *scenarios.Fault, dur *string) client.Object {
	spec := v1alpha1.PodChaosSpec{ContainerSelector: cs, Duration: dur, Action: v1alpha1.PodFailureAction}
	if f.Kind == scenarios.FaultProcessKill {
		spec.Action = v1alpha1.PodKillAction
		spec.ContainerNames = nil // a pod-kill kills the pod
	}
	return &v1alpha1.PodChaos{TypeMeta: typeMeta(v1alpha1.KindPodChaos), ObjectMeta: meta, Spec: spec}
}

// httpChaos: http.abort and http.delay act on the request (an aborted request gets no
// answer: Chaos Mesh cannot answer with the abort's status), http.status replaces the
// response's code.
func httpChaos(meta metav1.ObjectMeta, ps v1alpha1.PodSelector, t *scenarios.KubeTarget, f *scenarios.Fault, dur *string) client.Object {
	spec := v1alpha1.HTTPChaosSpec{PodSelector: ps, Port: int32(t.Port), Path: ptr(httpPath(f.Params["route"])),
		Duration: dur, Target: v1alpha1.PodHttpRequest}
	if m := f.Params["method"]; m != "" {
		spec.Method = ptr(m)
	}
	switch f.Kind {
	case scenarios.FaultHTTPAbort:
		spec.Abort = ptr(true)
	case scenarios.FaultHTTPDelay:
		spec.Delay = ptr(f.ParamDuration("delay").String())
	case scenarios.FaultHTTPStatus:
		spec.Target = v1alpha1.PodHttpResponse
		spec.Replace = &v1alpha1.PodHttpChaosReplaceActions{Code: ptr(int32(f.ParamInt("status")))}
	}
	return &v1alpha1.HTTPChaos{TypeMeta: typeMeta(v1alpha1.KindHTTPChaos), ObjectMeta: meta, Spec: spec}
}

// httpPath turns a route ("/v1/courses/{course}/enrollments") into an HTTPChaos path
// pattern ("/v1/courses/*/enrollments"); no route is every path.
func httpPath(route string) string {
	if route == "" {
		return "*"
	}
	parts := strings.Split(route, "/")
	for i, p := range parts {
		if strings.HasPrefix(p, "{") && strings.HasSuffix(p, "}") {
			parts[i] = "*"
		}
	}
	return strings.Join(parts, "/")
}

func stressChaos(meta metav1.ObjectMeta, cs v1alpha1.ContainerSelector, f *scenarios.Fault, dur *string) (client.Object, error) {
	st := &v1alpha1.Stressors{}
	workers := max(1, f.ParamInt("workers"))
	switch f.Kind {
	case scenarios.FaultStressCPU:
		load := int(math.Round(f.ParamFraction("load") * 100))
		st.CPUStressor = &v1alpha1.CPUStressor{Stressor: v1alpha1.Stressor{Workers: workers}, Load: &load}
	case scenarios.FaultStressMemory:
		n, err := scenarios.ParseByteSize(f.Params["size"])
		if err != nil {
			return nil, err
		}
		st.MemoryStressor = &v1alpha1.MemoryStressor{Stressor: v1alpha1.Stressor{Workers: workers},
			Size: strconv.FormatInt(n, 10) + "B"}
	default:
		return nil, fmt.Errorf("kind %s has no Chaos Mesh form", f.Kind)
	}
	return &v1alpha1.StressChaos{TypeMeta: typeMeta(v1alpha1.KindStressChaos), ObjectMeta: meta,
		Spec: v1alpha1.StressChaosSpec{ContainerSelector: cs, Stressors: st, Duration: dur}}, nil
}

func timeChaos(meta metav1.ObjectMeta, cs v1alpha1.ContainerSelector, f *scenarios.Fault, dur *string) (client.Object, error) {
	off, err := scenarios.ParseDuration(f.Params["offset"])
	if err != nil {
		return nil, err
	}
	return &v1alpha1.TimeChaos{TypeMeta: typeMeta(v1alpha1.KindTimeChaos), ObjectMeta: meta,
		Spec: v1alpha1.TimeChaosSpec{ContainerSelector: cs, TimeOffset: off.String(), Duration: dur}}, nil
}

// percent writes a percentage parameter as Chaos Mesh's float string: "25%" → "25".
func percent(f *scenarios.Fault, name string) string {
	return strconv.FormatFloat(f.ParamFraction(name)*100, 'f', -1, 64)
}

func ptr[T any](v T) *T { return &v }
