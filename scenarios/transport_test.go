package scenarios_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/trendtactics/loadlab/scenarios"
)

// The --transport flag's override is checked as the file's transport: is, with positions.
func TestWithTransport(t *testing.T) {
	spec, err := scenarios.LoadBytes("kinds.yaml", []byte(`version: 1
name: kinds
target: {url: "http://127.0.0.1:8080"}
workload:
  - name: plain
    request: {url: /}
  - name: landing
    request: {kind: page, url: /}
load: {executor: constant-arrival-rate, rate: 10, duration: 1s}
`), ".")
	if err != nil {
		t.Fatal(err)
	}
	if spec.Transport != "" {
		t.Fatalf("transport %q, want the default (empty)", spec.Transport)
	}
	_, err = spec.WithTransport(scenarios.TransportFast)
	var es scenarios.Errors
	if !errors.As(err, &es) || len(es) != 1 || es[0].Error() != "kinds.yaml:8:21: workload[1].request.kind: transport fast cannot send a page request (it speaks plain HTTP/1.1); use transport auto, which sends it with net/http, or nethttp" {
		t.Fatalf("fast: got %v", err)
	}
	for _, tr := range []string{scenarios.TransportAuto, scenarios.TransportNetHTTP} {
		s, err := spec.WithTransport(tr)
		if err != nil {
			t.Fatalf("%s: %v", tr, err)
		}
		if want := strings.TrimPrefix(tr, scenarios.TransportAuto); s.Transport != want || spec.Transport != "" {
			t.Errorf("%s: transport %q (original %q)", tr, s.Transport, spec.Transport)
		}
	}
	if _, err := spec.WithTransport("fasst"); err == nil || !strings.Contains(err.Error(), `did you mean "fast"`) {
		t.Errorf("unknown transport: %v", err)
	}
}
