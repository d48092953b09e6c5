package dashboards_test

import (
	"os/exec"
	"path/filepath"
	"testing"
)

// promtool returns the path of promtool, or skips the test.
func promtool(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("promtool")
	if err != nil {
		t.Skip("promtool not found on PATH (Debian: apt-get install prometheus; .ci/run installs it): skipping the Prometheus config and rule checks")
	}
	return p
}

func runPromtool(t *testing.T, args ...string) {
	t.Helper()
	cmd := exec.Command(promtool(t), args...)
	cmd.Dir = "prometheus"
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("promtool %v: %v\n%s", args, err, out)
	}
}

// TestPromtoolCheckConfig checks prometheus.yml, and with it the rule files it names.
func TestPromtoolCheckConfig(t *testing.T) {
	t.Parallel()
	runPromtool(t, "check", "config", "prometheus.yml")
}

// TestPromtoolCheckRules checks the rule file on its own (syntax, PromQL, duplicate names).
func TestPromtoolCheckRules(t *testing.T) {
	t.Parallel()
	runPromtool(t, "check", "rules", filepath.Join("rules", "slo.rules.yml"))
}

// TestPromtoolRuleUnitTests runs the alert unit tests: the burn-rate alerts fire on a budget
// burnt 100x, 20x and 10x too fast, stay quiet on budget, reset after a burst, and ignore
// probes and WebSockets.
func TestPromtoolRuleUnitTests(t *testing.T) {
	t.Parallel()
	runPromtool(t, "test", "rules", filepath.Join("rules", "slo.rules.test.yml"))
}
