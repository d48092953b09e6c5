package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/trendtactics/loadlab/internal/testutil"
)

// withKube puts a loadgen-kube built from this tree first on $PATH, where the in-process
// loadgen of runCLI finds it (its own executable is the test binary, with none beside it).
func withKube(t *testing.T) {
	t.Helper()
	t.Setenv("PATH", testutil.Build(t, "../loadgen-kube")+string(os.PathListSeparator)+os.Getenv("PATH"))
}

// The program that sends the load links no Kubernetes client: those libraries (client-go,
// controller-runtime, the Kubernetes and Chaos Mesh API types) are loadgen-kube's.
func TestLoadgenLinksNoKubernetesClient(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").Output()
	if err != nil {
		t.Fatalf("go list -deps: %v", err)
	}
	deps := strings.Fields(string(out))
	if !slices.Contains(deps, "github.com/trendtactics/loadlab/loadgen") || !slices.Contains(deps, "github.com/trendtactics/loadlab/chaos/remote") {
		t.Fatalf("go list -deps listed %d packages, without loadgen's engine or chaos/remote: %s", len(deps), out)
	}
	for _, d := range deps {
		for _, heavy := range []string{"k8s.io/client-go/", "sigs.k8s.io/controller-runtime/", "k8s.io/api/", "github.com/chaos-mesh/",
			"github.com/trendtactics/loadlab/chaos/mesh", "github.com/trendtactics/loadlab/deploy/manifests"} {
			if strings.HasPrefix(d, heavy) {
				t.Errorf("loadgen links %s", d)
			}
		}
	}
}

// Without loadgen-kube beside loadgen or on $PATH, its commands and a cluster run's faults
// say what is missing and how to build it.
func TestKubeMissing(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	code, _, stderr := runCLI("chaos", "render", "testdata/none.yaml")
	if code != exitInternal || !strings.Contains(stderr, "loadgen-kube not found beside loadgen nor on $PATH") || !strings.Contains(stderr, "go build -o DIR ./cmd/loadgen-kube") {
		t.Errorf("chaos render without loadgen-kube: exit %d, stderr: %s", code, stderr)
	}
	file := filepath.Join(t.TempDir(), "cluster.yaml")
	if err := os.WriteFile(file, []byte(`version: 1
name: cluster
target:
  kubernetes:
    url: http://127.0.0.1:9
    targets:
      app: {selector: {app: academy}}
workload:
  - {name: home, request: {url: /}}
load: {executor: constant-arrival-rate, rate: 1, duration: 1s}
faults:
  - {name: kill, kind: process.kill, target: app, at: 0s, duration: 1s}
`), 0o644); err != nil {
		t.Fatal(err)
	}
	code, _, stderr = runCLI("run", "--out", t.TempDir(), file)
	if code != exitUsage || !strings.Contains(stderr, "loadgen-kube not found") {
		t.Errorf("run on a cluster without loadgen-kube: exit %d, stderr: %s", code, stderr)
	}
}

// loadgen k8s and loadgen chaos pass every argument, --help too, to loadgen-kube, and exit
// with its exit code.
func TestKubeDispatch(t *testing.T) {
	withKube(t)
	code, stdout, _ := runCLI("chaos", "render", "--help")
	if code != 0 || !strings.Contains(stdout, "--export-workflow") {
		t.Errorf("chaos render --help: exit %d, stdout: %s", code, stdout)
	}
	code, _, stderr := runCLI("k8s", "render", "--part", "everything")
	if code != exitUsage || !strings.Contains(stderr, `part "everything": want academy or load`) {
		t.Errorf("k8s render --part everything: exit %d, stderr: %s", code, stderr)
	}
	code, _, stderr = runCLI("chaos", "cleanup", "--nonsense")
	if code != exitUsage || !strings.Contains(stderr, "unknown flag: --nonsense") {
		t.Errorf("chaos cleanup --nonsense: exit %d, stderr: %s", code, stderr)
	}
}
