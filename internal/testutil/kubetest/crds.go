package kubetest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/dynamic"
)

var crdResource = schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"}

// InstallCRDs applies (server-side apply, field manager "kubetest") every
// CustomResourceDefinition of the *.yaml files of dir and waits until each is Established.
// Installing the same files again is harmless.
func (s *Server) InstallCRDs(t testing.TB, dir string) {
	t.Helper()
	if err := s.installCRDs(dir); err != nil {
		t.Fatal(err)
	}
}

func (s *Server) installCRDs(dir string) error {
	files, err := filepath.Glob(filepath.Join(dir, "*.yaml"))
	if err != nil {
		return err
	}
	if len(files) == 0 {
		return fmt.Errorf("kubetest: no *.yaml in %s", dir)
	}
	dyn, err := dynamic.NewForConfig(s.Config)
	if err != nil {
		return err
	}
	crds := dyn.Resource(crdResource)
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	var names []string
	for _, file := range files {
		objs, err := decodeFile(file)
		if err != nil {
			return err
		}
		for _, o := range objs {
			if o.GetKind() != "CustomResourceDefinition" {
				return fmt.Errorf("kubetest: %s: a %s, not a CustomResourceDefinition", file, o.GetKind())
			}
			if _, err := crds.Apply(ctx, o.GetName(), o, metav1.ApplyOptions{FieldManager: "kubetest", Force: true}); err != nil {
				return fmt.Errorf("kubetest: apply %s: %w", file, err)
			}
			names = append(names, o.GetName())
		}
	}
	for _, name := range names {
		for {
			o, err := crds.Get(ctx, name, metav1.GetOptions{})
			if err != nil {
				return fmt.Errorf("kubetest: CRD %s: %w", name, err)
			}
			if established(o) {
				break
			}
			select {
			case <-ctx.Done():
				return fmt.Errorf("kubetest: CRD %s not Established within %s", name, startTimeout)
			case <-time.After(50 * time.Millisecond):
			}
		}
	}
	return nil
}

func established(crd *unstructured.Unstructured) bool {
	conds, _, _ := unstructured.NestedSlice(crd.Object, "status", "conditions")
	for _, c := range conds {
		if m, ok := c.(map[string]any); ok && m["type"] == "Established" && m["status"] == "True" {
			return true
		}
	}
	return false
}

// decodeFile reads the objects of a YAML (or JSON) file of one or more documents.
func decodeFile(file string) ([]*unstructured.Unstructured, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	dec := utilyaml.NewYAMLOrJSONDecoder(f, 4096)
	var objs []*unstructured.Unstructured
	for {
		var o unstructured.Unstructured
		if err := dec.Decode(&o.Object); errors.Is(err, io.EOF) {
			return objs, nil
		} else if err != nil {
			return nil, fmt.Errorf("kubetest: %s: %w", file, err)
		}
		if len(o.Object) > 0 {
			objs = append(objs, &o)
		}
	}
}
