package manifests

import (
	"bytes"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/yaml"
)

// Render returns the objects that o asks for, in the order to apply them (the namespace
// first, what a pod reads before the pod), as unstructured objects without status.
func Render(o Options) ([]*unstructured.Unstructured, error) {
	o, err := o.withDefaults()
	if err != nil {
		return nil, err
	}
	objs := []runtime.Object{&corev1.Namespace{
		TypeMeta:   typeMeta("v1", "Namespace"),
		ObjectMeta: metav1.ObjectMeta{Name: o.Namespace, Labels: map[string]string{"app.kubernetes.io/part-of": "loadlab"}},
	}}
	if o.has(PartAcademy) {
		objs = append(objs, academy(o)...)
	}
	if o.has(PartLoad) {
		objs = append(objs, load(o)...)
	}
	out := make([]*unstructured.Unstructured, 0, len(objs))
	for _, obj := range objs {
		u, ok := obj.(*unstructured.Unstructured)
		if !ok {
			m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(obj)
			if err != nil {
				return nil, fmt.Errorf("%T: %w", obj, err)
			}
			delete(m, "status")
			if spec, ok := m["spec"].(map[string]any); ok && len(spec) == 0 {
				delete(m, "spec")
			}
			// A StatefulSet's volume claim templates are objects too: no status.
			if vcts, ok, _ := unstructured.NestedSlice(m, "spec", "volumeClaimTemplates"); ok {
				for _, v := range vcts {
					delete(v.(map[string]any), "status")
				}
				_ = unstructured.SetNestedSlice(m, vcts, "spec", "volumeClaimTemplates")
			}
			u = &unstructured.Unstructured{Object: m}
		}
		out = append(out, u)
	}
	return out, nil
}

// YAML writes objects as one YAML stream, documents separated by "---".
func YAML(objs []*unstructured.Unstructured) ([]byte, error) {
	var b bytes.Buffer
	for i, o := range objs {
		y, err := yaml.Marshal(o.Object)
		if err != nil {
			return nil, fmt.Errorf("%s %s: %w", o.GetKind(), o.GetName(), err)
		}
		if i > 0 {
			b.WriteString("---\n")
		}
		b.Write(y)
	}
	return b.Bytes(), nil
}

func typeMeta(apiVersion, kind string) metav1.TypeMeta {
	return metav1.TypeMeta{APIVersion: apiVersion, Kind: kind}
}

// componentLabels are the recommended labels of a component (the selector of its pods).
func componentLabels(name, component string) map[string]string {
	l := map[string]string{"app.kubernetes.io/name": name, "app.kubernetes.io/part-of": "loadlab"}
	if component != "" {
		l["app.kubernetes.io/component"] = component
	}
	return l
}

// meta is an object's metadata in the namespace, with its labels and managed-by.
func (o Options) meta(name string, labels map[string]string) metav1.ObjectMeta {
	l := map[string]string{"app.kubernetes.io/managed-by": "loadgen"}
	for k, v := range labels {
		l[k] = v
	}
	return metav1.ObjectMeta{Name: name, Namespace: o.Namespace, Labels: l}
}

// resources are the requests and limits of a container ("" for none).
func resources(cpu, memory, cpuLimit, memoryLimit string) corev1.ResourceRequirements {
	list := func(cpu, memory string) corev1.ResourceList {
		l := corev1.ResourceList{}
		if cpu != "" {
			l[corev1.ResourceCPU] = resource.MustParse(cpu)
		}
		if memory != "" {
			l[corev1.ResourceMemory] = resource.MustParse(memory)
		}
		return l
	}
	return corev1.ResourceRequirements{Requests: list(cpu, memory), Limits: list(cpuLimit, memoryLimit)}
}

// spread spreads the pods with labels across nodes as evenly as the cluster allows.
func spread(labels map[string]string) []corev1.TopologySpreadConstraint {
	return []corev1.TopologySpreadConstraint{{
		MaxSkew:           1,
		TopologyKey:       "kubernetes.io/hostname",
		WhenUnsatisfiable: corev1.ScheduleAnyway,
		LabelSelector:     &metav1.LabelSelector{MatchLabels: labels},
	}}
}

// podSecurity runs loadlab's programs as the image's unprivileged user.
func podSecurity() *corev1.PodSecurityContext {
	return &corev1.PodSecurityContext{
		RunAsNonRoot:   ptr.To(true),
		RunAsUser:      ptr.To[int64](ImageUser),
		RunAsGroup:     ptr.To[int64](ImageUser),
		SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
	}
}

func containerSecurity() *corev1.SecurityContext {
	return &corev1.SecurityContext{
		AllowPrivilegeEscalation: ptr.To(false),
		ReadOnlyRootFilesystem:   ptr.To(true),
		Capabilities:             &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
	}
}

func emptyDir(name string) corev1.Volume {
	return corev1.Volume{Name: name, VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}}
}
