package mesh

import (
	"fmt"
	"io"

	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"
)

// WriteYAML writes objs as a stream of YAML documents, as kubectl apply -f reads it:
// without status and without the empty creationTimestamp, keys sorted.
func WriteYAML(w io.Writer, objs ...client.Object) error {
	for i, o := range objs {
		m, err := Unstructured(o)
		if err != nil {
			return err
		}
		b, err := yaml.Marshal(m)
		if err != nil {
			return fmt.Errorf("render %s: %w", o.GetName(), err)
		}
		if i > 0 {
			if _, err := io.WriteString(w, "---\n"); err != nil {
				return err
			}
		}
		if _, err := w.Write(b); err != nil {
			return err
		}
	}
	return nil
}

// Unstructured returns o as the map that is sent to the API server, without status and
// the empty creationTimestamp.
func Unstructured(o client.Object) (map[string]any, error) {
	m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(o)
	if err != nil {
		return nil, fmt.Errorf("render %s: %w", o.GetName(), err)
	}
	delete(m, "status")
	if md, ok := m["metadata"].(map[string]any); ok {
		delete(md, "creationTimestamp")
	}
	return m, nil
}
