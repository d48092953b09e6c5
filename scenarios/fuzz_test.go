package scenarios_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/trendtactics/loadlab/scenarios"
)

// FuzzLoad checks that LoadBytes never panics and returns either a Spec or
// Errors, and that a loaded Spec renders its requests without panicking.
// Seeded with every fixture and shipped scenario.
func FuzzLoad(f *testing.F) {
	seeds, _ := filepath.Glob("testdata/*.yaml")
	shipped, _ := filepath.Glob("*.yaml")
	for _, s := range append(seeds, shipped...) {
		data, err := os.ReadFile(s)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		spec, err := scenarios.LoadBytes("fuzz.yaml", data, "testdata")
		if (spec == nil) == (err == nil) {
			t.Fatalf("spec %v and error %v", spec != nil, err)
		}
		if err != nil {
			_ = err.Error()
			return
		}
		for seq := range uint64(3) {
			it := spec.NewIteration(seq, 1)
			for _, item := range spec.Workload {
				if (item.Request == nil) == (len(item.Flow) == 0) {
					t.Fatalf("item %s: want a request or a flow", item.Name)
				}
				var reqs []*scenarios.Request
				if item.Request != nil {
					reqs = append(reqs, item.Request)
				}
				for _, s := range item.Flow {
					reqs = append(reqs, s.Request)
				}
				for _, r := range reqs {
					if r == nil {
						t.Fatalf("item %s: nil request in a valid spec", item.Name)
					}
					req, err := r.Build(it, "http://127.0.0.1:1")
					if err != nil && r.URL.IsLiteral() {
						t.Fatalf("item %s: the loader accepted url %q that cannot be sent: %v", item.Name, r.URL.Source, err)
					}
					for name, h := range r.Headers {
						if h.IsLiteral() && strings.ContainsFunc(h.Source, func(c rune) bool { return c != '\t' && (c < ' ' || c == 0x7f) }) {
							t.Fatalf("item %s: the loader accepted header %s: %q with a control character", item.Name, name, h.Source)
						}
					}
					_ = req
					r.Expect.Check(200, nil, []byte(`{"id":1}`), 0)
				}
				for _, s := range item.Flow {
					_ = s.Apply(it, 200, nil, []byte(`{"token":"x"}`))
				}
			}
		}
	})
}
