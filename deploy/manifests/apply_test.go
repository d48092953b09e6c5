package manifests

import (
	"context"
	"errors"
	"strings"
	"testing"

	authorizationv1 "k8s.io/api/authorization/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"

	"github.com/trendtactics/loadlab/internal/testutil/kubetest"
)

// Every rendered object is accepted by a real API server's server-side apply, dry-run (and
// then nothing is stored) and real (and then each is stored as rendered).
func TestApplyToAPIServer(t *testing.T) {
	s := kubetest.Start(t)
	s.InstallCRDs(t, "../crds/prometheus-operator")
	o := fixed()
	o.Namespace = s.Namespace(t) // a dry run needs the namespace to exist, as kubectl's does
	objs := render(t, o)
	a, err := NewApplier(s.Config)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := a.Apply(ctx, objs, true); err != nil {
		t.Fatalf("dry run: %v", err)
	}
	c, err := kubernetes.NewForConfig(s.Config)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.AppsV1().Deployments(o.Namespace).Get(ctx, "academy", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Fatalf("after a dry run, the Deployment: %v, want not found", err)
	}
	if err := a.Apply(ctx, objs, false); err != nil {
		t.Fatalf("apply: %v", err)
	}
	if err := a.Apply(ctx, objs, false); err != nil { // again: nothing changes, nothing conflicts
		t.Fatalf("apply again: %v", err)
	}
	dyn, err := dynamic.NewForConfig(s.Config)
	if err != nil {
		t.Fatal(err)
	}
	kinds := map[string]bool{}
	for _, obj := range objs {
		m, err := a.mapper.RESTMapping(obj.GroupVersionKind().GroupKind(), obj.GroupVersionKind().Version)
		if err != nil {
			t.Fatal(err)
		}
		got, err := dyn.Resource(m.Resource).Namespace(obj.GetNamespace()).Get(ctx, obj.GetName(), metav1.GetOptions{})
		if err != nil {
			t.Fatalf("%s %s not stored: %v", obj.GetKind(), obj.GetName(), err)
		}
		if mgr := got.GetManagedFields(); len(mgr) == 0 || mgr[0].Manager != FieldManager {
			t.Errorf("%s %s: managed by %v, want %s", obj.GetKind(), obj.GetName(), mgr, FieldManager)
		}
		kinds[obj.GetKind()] = true
	}
	for _, k := range []string{"Namespace", "ConfigMap", "Secret", "Deployment", "Service", "HorizontalPodAutoscaler",
		"PodDisruptionBudget", "ServiceMonitor", "StatefulSet", "ServiceAccount", "Role", "RoleBinding", "Job"} {
		if !kinds[k] {
			t.Errorf("no %s was rendered and applied", k)
		}
	}
	// What the server stored is what was rendered: the Indexed Job's fields survived.
	j, err := c.BatchV1().Jobs(o.Namespace).Get(ctx, "loadgen-workers", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if *j.Spec.Completions != 8 || *j.Spec.BackoffLimitPerIndex != Defaults().Retries || j.Spec.PodFailurePolicy == nil || len(j.Spec.PodFailurePolicy.Rules) != 3 {
		t.Errorf("stored workers Job: %+v", j.Spec)
	}

	// The server's RBAC authorizer lets the coordinator's ServiceAccount create, watch and
	// delete chaos objects in its namespace, and nothing else.
	sa := "system:serviceaccount:" + o.Namespace + ":loadgen"
	for _, c2 := range []struct {
		ns, group, resource, verb string
		allowed                   bool
	}{
		{o.Namespace, "chaos-mesh.org", "networkchaos", "create", true},
		{o.Namespace, "chaos-mesh.org", "podchaos", "delete", true},
		{o.Namespace, "chaos-mesh.org", "workflows", "deletecollection", true},
		{o.Namespace, "chaos-mesh.org", "httpchaos", "watch", true},
		{o.Namespace, "", "pods", "list", true},
		{o.Namespace, "", "pods", "delete", false},
		{o.Namespace, "apps", "deployments", "create", false},
		{o.Namespace, "", "secrets", "get", false},
		{"default", "chaos-mesh.org", "networkchaos", "create", false},
	} {
		r, err := c.AuthorizationV1().SubjectAccessReviews().Create(ctx, &authorizationv1.SubjectAccessReview{Spec: authorizationv1.SubjectAccessReviewSpec{
			User: sa, Groups: []string{"system:serviceaccounts", "system:serviceaccounts:" + o.Namespace},
			ResourceAttributes: &authorizationv1.ResourceAttributes{Namespace: c2.ns, Group: c2.group, Resource: c2.resource, Verb: c2.verb},
		}}, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if r.Status.Allowed != c2.allowed {
			t.Errorf("ServiceAccount loadgen may %s %s in %s: %v, want %v (%s)", c2.verb, c2.resource, c2.ns, r.Status.Allowed, c2.allowed, r.Status.Reason)
		}
	}
}

// A malformed object is refused by the server, and its message, naming the field, reaches
// the caller with the object's kind and name; the other objects are still applied.
func TestApplyRefused(t *testing.T) {
	s := kubetest.Start(t)
	o := fixed()
	o.Namespace = s.Namespace(t)
	o.Parts = []string{PartLoad}
	objs := render(t, o)
	var workers *unstructured.Unstructured
	for _, obj := range objs {
		if obj.GetName() == "loadgen-workers" {
			workers = obj.DeepCopy()
		}
	}
	// A pod failure policy needs restartPolicy Never; maxFailedIndexes needs backoffLimitPerIndex.
	if err := unstructured.SetNestedField(workers.Object, "OnFailure", "spec", "template", "spec", "restartPolicy"); err != nil {
		t.Fatal(err)
	}
	workers.SetName("bad-workers")
	a, err := NewApplier(s.Config)
	if err != nil {
		t.Fatal(err)
	}
	for _, dry := range []bool{true, false} {
		err = a.Apply(context.Background(), append([]*unstructured.Unstructured{workers}, objs[1:]...), dry)
		var ae *ApplyError
		if !errors.As(err, &ae) || ae.Kind != "Job" || ae.Name != "bad-workers" || !apierrors.IsInvalid(ae.Err) {
			t.Fatalf("dry run %v: %v, want the server's refusal of Job bad-workers", dry, err)
		}
		msg := err.Error()
		if !strings.Contains(msg, "Job "+o.Namespace+"/bad-workers") || !strings.Contains(msg, "spec.template.spec.restartPolicy") {
			t.Fatalf("dry run %v: %q does not name the object and the field", dry, msg)
		}
		if strings.Count(msg, "\n") != 0 {
			t.Fatalf("dry run %v: more refused than the malformed Job: %s", dry, msg)
		}
	}
	// A kind the cluster does not serve (a ServiceMonitor where the prometheus-operator is not
	// installed; here another test of the package installs its CRD).
	gadget := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "example.com/v1", "kind": "Gadget",
		"metadata": map[string]any{"name": "g", "namespace": o.Namespace}}}
	err = a.Apply(context.Background(), []*unstructured.Unstructured{gadget}, true)
	if err == nil || !strings.Contains(err.Error(), `Gadget `+o.Namespace+`/g: no matches for kind "Gadget"`) {
		t.Fatalf("a kind the server does not serve: %v", err)
	}
}
