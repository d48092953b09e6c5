package main

import (
	"os"
	"strings"
	"testing"

	"github.com/trendtactics/loadlab/internal/testutil"
	"github.com/trendtactics/loadlab/internal/testutil/kubetest"
)

// runCLI runs loadgen in-process with args and returns its exit code, stdout and stderr.
func runCLI(args ...string) (int, string, string) {
	var stdout, stderr testutil.Buffer
	code := run(&process{args: args, stdout: &stdout, stderr: &stderr, getenv: os.Getenv,
		notify: func(chan<- os.Signal) func() { return func() {} }, exit: func(int) {}})
	return code, stdout.String(), stderr.String()
}

// loadgen k8s apply against a real API server: the objects are accepted (dry run, then
// applied), and what the server refuses is printed with its message (exit 1).
func TestK8sApply(t *testing.T) {
	s := kubetest.Start(t)
	withKube(t)
	ns := s.Namespace(t)
	base := []string{"k8s", "apply", "--kubeconfig", s.Kubeconfig, "-n", ns, "--scenario", "../../scenarios/enroll-spike.yaml"}

	// Without the prometheus-operator, its ServiceMonitor has no kind to be: said, exit 1;
	// every other object is still accepted.
	code, _, stderr := runCLI(append(base, "--dry-run")...)
	if code != exitInternal || !strings.Contains(stderr, "ServiceMonitor "+ns+`/academy: no matches for kind "ServiceMonitor"`) || strings.Count(strings.TrimSpace(stderr), "\n") != 1 {
		t.Fatalf("apply without the ServiceMonitor CRD: exit %d, stderr:\n%s", code, stderr)
	}
	s.InstallCRDs(t, "../../deploy/crds/prometheus-operator")
	for _, dry := range []string{"--dry-run", "--dry-run=false"} {
		code, stdout, stderr := runCLI(append(base, dry)...)
		if code != 0 || !strings.Contains(stdout, "objects accepted (dry run) in namespace "+ns) && !strings.Contains(stdout, "objects applied in namespace "+ns) {
			t.Fatalf("apply %s: exit %d\nstdout: %s\nstderr: %s", dry, code, stdout, stderr)
		}
	}
	// A negative quantity parses, but the server refuses it: its message reaches the user.
	// (In a namespace of its own: in ns, a Job's template cannot change, and the server says
	// that too.)
	ns = s.Namespace(t)
	code, _, stderr = runCLI("k8s", "apply", "--kubeconfig", s.Kubeconfig, "-n", ns, "--scenario", "../../scenarios/enroll-spike.yaml",
		"--part", "load", "--worker-cpu=-1", "--dry-run")
	if code != exitInternal || !strings.Contains(stderr, "Job "+ns+"/loadgen-workers: ") || strings.Contains(stderr, "immutable") ||
		!strings.Contains(stderr, "spec.template.spec.containers[0].resources.requests[cpu]") || !strings.Contains(stderr, "must be greater than or equal to 0") {
		t.Fatalf("apply --worker-cpu=-1: exit %d, stderr:\n%s", code, stderr)
	}
	// An unreadable kubeconfig is a usage error.
	if code, _, stderr := runCLI("k8s", "apply", "--part", "academy", "--kubeconfig", t.TempDir()+"/none"); code != exitUsage || !strings.Contains(stderr, "kubeconfig") {
		t.Fatalf("apply with a missing kubeconfig: exit %d, stderr: %s", code, stderr)
	}
}
