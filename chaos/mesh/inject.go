package mesh

import (
	"context"
	"fmt"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/trendtactics/loadlab/chaos"
	"github.com/trendtactics/loadlab/scenarios"
)

// FieldOwner is the field manager of what loadlab creates.
const FieldOwner = "loadlab"

// Resolver turns the faults of a cluster scenario into Injectors that create their Chaos
// Mesh objects through a controller-runtime client: the object is created when the fault
// starts and deleted when it ends (or when the run is aborted, interrupted or fails: the
// timeline rolls back every started fault on every way out).
type Resolver struct {
	c    client.Client
	spec *scenarios.Spec
	run  string
}

var _ chaos.Resolver = (*Resolver)(nil)

// NewResolver returns a Resolver for the faults of spec in run, through c (whose scheme
// knows the Chaos Mesh kinds: see Scheme).
func NewResolver(c client.Client, spec *scenarios.Spec, run string) (*Resolver, error) {
	if spec.Target.Kubernetes == nil {
		return nil, fmt.Errorf("scenario %s has no kubernetes target", spec.Name)
	}
	if err := CheckRunID(run); err != nil {
		return nil, err
	}
	return &Resolver{c: c, spec: spec, run: run}, nil
}

// Resolve renders f's object; its Injector creates and deletes it.
func (r *Resolver) Resolve(f *scenarios.Fault) (chaos.Injector, error) {
	obj, err := Object(r.spec, f, r.run)
	if err != nil {
		return nil, err
	}
	return NewInjector(r.c, obj), nil
}

// Injector creates one Chaos Mesh object and deletes it again.
type Injector struct {
	c   client.Client
	obj client.Object
}

var _ chaos.Injector = (*Injector)(nil)

// NewInjector returns an Injector of obj through c.
func NewInjector(c client.Client, obj client.Object) *Injector { return &Injector{c: c, obj: obj} }

// Inject creates the object. A refusal by the API server (its schema validation, a
// missing CRD, RBAC) comes back with the server's message.
func (in *Injector) Inject(ctx context.Context) error {
	obj := in.obj.DeepCopyObject().(client.Object)
	if err := in.c.Create(ctx, obj, client.FieldOwner(FieldOwner)); err != nil {
		return fmt.Errorf("create %s: %w", describeObject(in.obj), err)
	}
	return nil
}

// Rollback deletes the object (one that is gone already is fine) and waits, within ctx,
// until the API server no longer has it: with Chaos Mesh installed, its finalizer holds
// the object until the fault is recovered in the pods, so the fault's end event comes
// when the pods are healed.
func (in *Injector) Rollback(ctx context.Context) error {
	obj := in.obj.DeepCopyObject().(client.Object)
	err := in.c.Delete(ctx, obj, client.PropagationPolicy(metav1.DeletePropagationBackground))
	if err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("delete %s: %w", describeObject(in.obj), err)
	}
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		err := in.c.Get(ctx, client.ObjectKeyFromObject(in.obj), obj)
		if apierrors.IsNotFound(err) {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s is still being recovered by Chaos Mesh (finalizers %v): %w", describeObject(in.obj), obj.GetFinalizers(), ctx.Err())
		case <-tick.C:
		}
	}
}

func describeObject(o client.Object) string {
	return fmt.Sprintf("%s %s/%s", o.GetObjectKind().GroupVersionKind().Kind, o.GetNamespace(), o.GetName())
}
