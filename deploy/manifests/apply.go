package manifests

import (
	"context"
	"errors"
	"fmt"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/restmapper"
)

// FieldManager is the field manager of loadgen's server-side applies.
const FieldManager = "loadgen"

// Applier applies objects to a cluster with server-side apply.
type Applier struct {
	dyn    dynamic.Interface
	mapper meta.RESTMapper
}

// NewApplier returns an Applier for the cluster of cfg.
func NewApplier(cfg *rest.Config) (*Applier, error) {
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	dc, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		return nil, err
	}
	return &Applier{dyn: dyn, mapper: restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(dc))}, nil
}

// ApplyError is the server's refusal of one object.
type ApplyError struct {
	Kind, Namespace, Name string
	Err                   error // the server's error (its message names the field)
}

func (e *ApplyError) Error() string {
	name := e.Name
	if e.Namespace != "" {
		name = e.Namespace + "/" + name
	}
	return fmt.Sprintf("%s %s: %v", e.Kind, name, e.Err)
}

func (e *ApplyError) Unwrap() error { return e.Err }

// Apply applies each object in order (server-side apply, field manager "loadgen", taking
// over fields other managers own), and with dryRun only has the server validate and admit
// them (nothing is stored). It goes on past a refused object and returns every refusal, each
// an *ApplyError with the server's message. A kind the server does not serve (a
// ServiceMonitor without the prometheus-operator) is an error too.
func (a *Applier) Apply(ctx context.Context, objs []*unstructured.Unstructured, dryRun bool) error {
	opts := metav1.ApplyOptions{FieldManager: FieldManager, Force: true}
	if dryRun {
		opts.DryRun = []string{metav1.DryRunAll}
	}
	var errs []error
	for _, o := range objs {
		if err := a.apply(ctx, o, opts); err != nil {
			errs = append(errs, &ApplyError{Kind: o.GetKind(), Namespace: o.GetNamespace(), Name: o.GetName(), Err: err})
		}
	}
	return errors.Join(errs...)
}

func (a *Applier) apply(ctx context.Context, o *unstructured.Unstructured, opts metav1.ApplyOptions) error {
	gvk := o.GroupVersionKind()
	m, err := a.mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
	if meta.IsNoMatchError(err) {
		// A kind installed since the mapper was filled (a CRD): look again once.
		if r, ok := a.mapper.(meta.ResettableRESTMapper); ok {
			r.Reset()
			m, err = a.mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
		}
	}
	if err != nil {
		return err
	}
	var r dynamic.ResourceInterface = a.dyn.Resource(m.Resource)
	if m.Scope.Name() == meta.RESTScopeNameNamespace {
		r = a.dyn.Resource(m.Resource).Namespace(o.GetNamespace())
	}
	_, err = r.Apply(ctx, o.GetName(), o, opts)
	return err
}
