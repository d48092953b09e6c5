package scenarios_test

import (
	"encoding/json"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/trendtactics/loadlab/scenarios"
)

const base = `version: 1
name: t
target: {url: "http://127.0.0.1:8080"}
load: {executor: constant-vus, vus: 1, duration: 1s}
`

func TestJSONBodyEscapesValues(t *testing.T) {
	doc := base + `data:
  user: [{name: "Ada \"the\" Countess\n\\ of <Lovelace>", email: "é@x"}]
workload:
  - name: signup
    request:
      method: POST
      url: /v1/users
      json: {name: "{{ user.name }}", greeting: "hi {{ user.name }}!", "k\"ey": "{{ user.email }}", list: ["{{ seq }}", 2]}
`
	spec, err := scenarios.LoadBytes("t.yaml", []byte(doc), "")
	if err != nil {
		t.Fatal(err)
	}
	req, err := spec.Workload[0].Request.Build(spec.NewIteration(9, 1), "http://h")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(req.Body)
	var got map[string]any
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatalf("body %s is not JSON: %v", b, err)
	}
	name := "Ada \"the\" Countess\n\\ of <Lovelace>"
	if got["name"] != name || got["greeting"] != "hi "+name+"!" || got[`k"ey`] != "é@x" {
		t.Errorf("got %v", got)
	}
	if l, _ := got["list"].([]any); len(l) != 2 || l[0] != "9" || l[1] != 2.0 {
		t.Errorf("list %v", got["list"])
	}
}

func TestLoadErrorsAreSortedAndComplete(t *testing.T) {
	// Problems in different sections come back together, sorted by line.
	doc := "version: 1\nname: t\ntarget: {url: \"http://h\"}\nload: {executor: constant-vus, vus: 0, duration: 1s}\n" +
		"workload:\n  - {name: a, weight: -1, request: {url: /}}\nverify: [nope]\n"
	_, err := scenarios.LoadBytes("t.yaml", []byte(doc), "")
	var es scenarios.Errors
	if !errors.As(err, &es) || len(es) != 3 {
		t.Fatalf("got %v", err)
	}
	for i, line := range []int{4, 6, 7} {
		if es[i].Line != line {
			t.Errorf("error %d at line %d, want %d: %v", i, es[i].Line, line, es[i])
		}
	}
	if !strings.HasPrefix(err.Error(), "t.yaml:4:37: load.vus: ") || strings.Count(err.Error(), "\n") != 2 {
		t.Errorf("Error() = %q", err.Error())
	}
}

func TestLoadFileMissing(t *testing.T) {
	_, err := scenarios.LoadFile("testdata/does-not-exist.yaml")
	if err == nil || !strings.Contains(err.Error(), "does-not-exist.yaml") {
		t.Errorf("got %v", err)
	}
}

func TestRootMustBeMapping(t *testing.T) {
	for _, doc := range []string{"[1, 2]", "just text", "~"} {
		_, err := scenarios.LoadBytes("t.yaml", []byte(doc), "")
		if err == nil || !strings.Contains(err.Error(), "want a mapping") {
			t.Errorf("%q: got %v", doc, err)
		}
	}
}

func TestAliasBomb(t *testing.T) {
	doc := base + `workload:
  - {name: a, request: {url: /, json: &a0 [x, x, x, x, x, x, x, x, x, x]}}
  - {name: b, request: {url: /, json: &a1 [*a0, *a0, *a0, *a0, *a0, *a0, *a0, *a0, *a0, *a0]}}
  - {name: c, request: {url: /, json: &a2 [*a1, *a1, *a1, *a1, *a1, *a1, *a1, *a1, *a1, *a1]}}
  - {name: d, request: {url: /, json: &a3 [*a2, *a2, *a2, *a2, *a2, *a2, *a2, *a2, *a2, *a2]}}
  - {name: e, request: {url: /, json: &a4 [*a3, *a3, *a3, *a3, *a3, *a3, *a3, *a3, *a3, *a3]}}
  - {name: f, request: {url: /, json: &a5 [*a4, *a4, *a4, *a4, *a4, *a4, *a4, *a4, *a4, *a4]}}
  - {name: g, request: {url: /, json: &a6 [*a5, *a5, *a5, *a5, *a5, *a5, *a5, *a5, *a5, *a5]}}
  - {name: h, request: {url: /, json: &a7 [*a6, *a6, *a6, *a6, *a6, *a6, *a6, *a6, *a6, *a6]}}
`
	_, err := scenarios.LoadBytes("t.yaml", []byte(doc), "")
	if err == nil || !strings.Contains(err.Error(), "too many aliases") {
		t.Errorf("got %v", err)
	}
}

func TestDefaultsMerge(t *testing.T) {
	doc := base + `defaults: {headers: {Accept: application/json, X-Run: "{{ seed }}"}, timeout: 3s}
workload:
  - {name: a, request: {url: /, headers: {accept: text/html}}}
  - {name: b, request: {url: /, timeout: 1s}}
`
	spec, err := scenarios.LoadBytes("t.yaml", []byte(doc), "")
	if err != nil {
		t.Fatal(err)
	}
	a, b := spec.Workload[0].Request, spec.Workload[1].Request
	if a.Headers["Accept"].Source != "text/html" || a.Headers["X-Run"].Source != "{{ seed }}" || a.Timeout.String() != "3s" {
		t.Errorf("a: %v %v", a.Headers, a.Timeout)
	}
	if b.Headers["Accept"].Source != "application/json" || b.Timeout.String() != "1s" {
		t.Errorf("b: %v %v", b.Headers, b.Timeout)
	}
	if spec.Load.MaxInFlight != 1000 || spec.Load.TimeUnit.String() != "1s" || spec.Workload[0].Weight != 1 {
		t.Errorf("defaults: %+v", spec.Load)
	}
}

func TestLoadPlan(t *testing.T) {
	tests := []struct {
		load  string
		total string
	}{
		{"{executor: constant-arrival-rate, rate: 50, duration: 1m}", "1m0s"},
		{"{executor: constant-arrival-rate, rate: 30, timeUnit: 1m, duration: 2m}", "2m0s"},
		{"{executor: ramping-arrival-rate, startRate: 0, stages: [{duration: 10s, target: 100}, {duration: 10s, target: 100}]}", "20s"},
		{"{executor: constant-vus, vus: 3, duration: 5s}", "5s"},
	}
	for _, tt := range tests {
		doc := "version: 1\nname: t\ntarget: {url: \"http://h\"}\nworkload: [{name: a, request: {url: /}}]\nload: " + tt.load + "\n"
		spec, err := scenarios.LoadBytes("t.yaml", []byte(doc), "")
		if err != nil {
			t.Fatal(err)
		}
		if spec.Load.Total().String() != tt.total {
			t.Errorf("%s: total %s, want %s", tt.load, spec.Load.Total(), tt.total)
		}
	}
}
