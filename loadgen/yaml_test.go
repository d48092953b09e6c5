package loadgen_test

import (
	"strings"
	"testing"

	"github.com/trendtactics/loadlab/loadgen"
	"github.com/trendtactics/loadlab/scenarios"
)

// TestRunLoadedScenario runs a scenario written as a user would, through the real loader:
// a data pool, a flow with a capture and templated headers, a ramp.
func TestRunLoadedScenario(t *testing.T) {
	url, _ := academy(t)
	src := `
version: 1
name: yaml-flow
target: {url: http://127.0.0.1:1}
data:
  users:
    rows:
      - {email: a@example.com}
      - {email: b@example.com}
workload:
  - name: profile
    weight: 1
    flow:
      - request: {method: POST, url: /login, json: {email: "{{ users.email }}"}}
        capture: {token: "$.token"}
      - name: me
        request:
          url: /me
          headers: {Authorization: "Bearer {{ token }}"}
          expect: {status: [200], json: [{path: $.role, equals: student}]}
load:
  executor: ramping-arrival-rate
  startRate: 0
  stages: [{duration: 1s, target: 100}, {duration: 500ms, target: 100}]
`
	spec, err := scenarios.LoadBytes("flow.yaml", []byte(strings.TrimSpace(src)), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	plan := loadgen.Plan(spec)
	if plan.Iterations != 100 || plan.Requests != 200 || len(plan.Stages) != 2 || plan.Stages[0].Iterations != 50 {
		t.Fatalf("plan: %+v", plan)
	}
	res := run(t, spec, loadgen.Options{BaseURL: url, Seed: 1})
	if res.Scenario != "yaml-flow" || res.Path != "flow.yaml" || res.Total.Count != 200 || res.Total.Errors != 0 || res.Total.CheckFailures != 0 {
		t.Fatalf("result: scenario %q path %q total %+v", res.Scenario, res.Path, res.Total)
	}
	if len(res.Requests) != 2 || res.Requests[0].Name != "me" || res.Requests[1].Name != "profile/1" {
		t.Fatalf("request names %v", names(res.Requests))
	}
}
