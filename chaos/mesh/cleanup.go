package mesh

import (
	"context"
	"errors"
	"fmt"

	"github.com/chaos-mesh/chaos-mesh/api/v1alpha1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// lists are the kinds Cleanup looks through: every kind this package renders.
func lists() []client.ObjectList {
	return []client.ObjectList{&v1alpha1.NetworkChaosList{}, &v1alpha1.PodChaosList{}, &v1alpha1.HTTPChaosList{},
		&v1alpha1.StressChaosList{}, &v1alpha1.TimeChaosList{}, &v1alpha1.DNSChaosList{}, &v1alpha1.WorkflowList{}}
}

// Cleanup deletes the Chaos Mesh objects loadlab created for run ("" for every run) in
// namespace ("" for every namespace), found by their labels, and returns what it deleted
// ("NetworkChaos academy/slow-db-20261202-040447-a1b2"). Chaos Mesh has no switch that
// stops all chaos at once, so this is the way to take back the faults of a harness that
// died (they also expire by themselves after their duration). A kind whose CRD is not
// installed is skipped.
func Cleanup(ctx context.Context, c client.Client, namespace, run string) ([]string, error) {
	sel := client.MatchingLabels{LabelManagedBy: ManagedBy}
	if run != "" {
		if err := CheckRunID(run); err != nil {
			return nil, err
		}
		sel[LabelRun] = run
	}
	opts := []client.ListOption{sel}
	if namespace != "" {
		opts = append(opts, client.InNamespace(namespace))
	}
	var deleted []string
	var errs []error
	for _, list := range lists() {
		if err := c.List(ctx, list, opts...); err != nil {
			if meta.IsNoMatchError(err) || apierrors.IsNotFound(err) {
				continue
			}
			errs = append(errs, fmt.Errorf("list %T: %w", list, err))
			continue
		}
		items, err := meta.ExtractList(list)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		for _, it := range items {
			obj := it.(client.Object)
			kind := fmt.Sprintf("%T", list)
			if gvks, _, err := c.Scheme().ObjectKinds(obj); err == nil && len(gvks) > 0 {
				kind = gvks[0].Kind
			}
			err := c.Delete(ctx, obj, client.PropagationPolicy(metav1.DeletePropagationBackground))
			if err != nil && !apierrors.IsNotFound(err) {
				errs = append(errs, fmt.Errorf("delete %s %s/%s: %w", kind, obj.GetNamespace(), obj.GetName(), err))
				continue
			}
			deleted = append(deleted, fmt.Sprintf("%s %s/%s", kind, obj.GetNamespace(), obj.GetName()))
		}
	}
	return deleted, errors.Join(errs...)
}
