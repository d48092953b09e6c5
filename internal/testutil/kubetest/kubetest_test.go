package kubetest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/trendtactics/loadlab/internal/testutil"
)

func TestMain(m *testing.M) {
	if os.Getenv("KUBETEST_CHILD") != "" {
		child()
		return
	}
	os.Exit(Main(m))
}

// child starts a server, prints the pids of kube-apiserver and etcd, and waits to be killed.
func child() {
	s, err := start()
	if err != nil {
		fmt.Println("error:", err)
		os.Exit(1)
	}
	fmt.Println(s.api.cmd.Process.Pid, s.etcd.cmd.Process.Pid, s.dir)
	select {}
}

// TestStartTriesATakenPortAgain: the API server's port, chosen free, is taken by another
// process before the server binds it (as the tests of other packages did in CI): the start
// is tried again on new ports. Before, the start failed with "address already in use".
func TestStartTriesATakenPortAgain(t *testing.T) {
	if _, _, err := Binaries(); err != nil {
		check(t, err)
	}
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	port := taken.Addr().(*net.TCPAddr).Port
	calls := 0
	pickPorts = func(n int) ([]int, error) {
		calls++
		ports, err := freePorts(n)
		if err == nil && calls == 1 {
			ports[2] = port // the API server's
		}
		return ports, err
	}
	defer func() { pickPorts = freePorts }()
	s, err := start()
	if err != nil {
		t.Fatal(err)
	}
	defer s.Stop()
	if calls != 2 || strings.HasSuffix(s.URL, ":"+strconv.Itoa(port)) {
		t.Fatalf("%d starts, server at %s (the taken port %d)", calls, s.URL, port)
	}
}

func TestServer(t *testing.T) {
	s := Start(t)
	if s2 := Start(t); s2 != s {
		t.Fatal("with Main, Start returned a second server")
	}
	c, err := kubernetes.NewForConfig(s.Config)
	if err != nil {
		t.Fatal(err)
	}
	ns := s.Namespace(t)
	if _, err := c.CoreV1().Namespaces().Get(context.Background(), ns, metav1.GetOptions{}); err != nil {
		t.Fatalf("namespace %s: %v", ns, err)
	}
	// The kubeconfig file reaches the same server with the same rights.
	cfg, err := clientcmd.BuildConfigFromFlags("", s.Kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	c2, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	list, err := c2.CoreV1().Namespaces().List(context.Background(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, n := range list.Items {
		names = append(names, n.Name)
	}
	if !strings.Contains(" "+strings.Join(names, " ")+" ", " "+ns+" ") {
		t.Fatalf("through the kubeconfig: namespaces %v, without %s", names, ns)
	}
}

var networkChaos = schema.GroupVersionResource{Group: "chaos-mesh.org", Version: "v1alpha1", Resource: "networkchaos"}

func TestInstallCRDs(t *testing.T) {
	s := Start(t)
	s.InstallCRDs(t, "../../../deploy/crds/chaos-mesh")
	s.InstallCRDs(t, "../../../deploy/crds/chaos-mesh") // again: harmless
	dyn, err := dynamic.NewForConfig(s.Config)
	if err != nil {
		t.Fatal(err)
	}
	ns := s.Namespace(t)
	chaos := func(mode string) *unstructured.Unstructured {
		return &unstructured.Unstructured{Object: map[string]any{
			"apiVersion": "chaos-mesh.org/v1alpha1", "kind": "NetworkChaos",
			"metadata": map[string]any{"name": "delay-" + mode, "namespace": ns},
			"spec": map[string]any{
				"action": "delay", "mode": mode, "duration": "30s",
				"selector": map[string]any{"labelSelectors": map[string]any{"app": "academy"}},
				"delay":    map[string]any{"latency": "100ms"},
			},
		}}
	}
	if _, err := dyn.Resource(networkChaos).Namespace(ns).Create(context.Background(), chaos("all"), metav1.CreateOptions{}); err != nil {
		t.Fatalf("a valid NetworkChaos: %v", err)
	}
	_, err = dyn.Resource(networkChaos).Namespace(ns).Create(context.Background(), chaos("bogus"), metav1.CreateOptions{})
	if err == nil || !strings.Contains(err.Error(), "spec.mode: Unsupported value") {
		t.Fatalf("a NetworkChaos with mode bogus: %v, want the schema's refusal of spec.mode", err)
	}
}

func TestInstallCRDsRefusesOtherKinds(t *testing.T) {
	s := Start(t)
	dir := t.TempDir()
	if err := os.WriteFile(dir+"/cm.yaml", []byte("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := s.installCRDs(dir); err == nil || !strings.Contains(err.Error(), "a ConfigMap, not a CustomResourceDefinition") {
		t.Fatalf("installCRDs of a ConfigMap: %v", err)
	}
	if err := s.installCRDs(t.TempDir()); err == nil || !strings.Contains(err.Error(), "no *.yaml") {
		t.Fatalf("installCRDs of an empty directory: %v", err)
	}
}

// The processes die with the test binary, even when it is killed without a chance to clean up.
func TestChildrenDieWithTheTestBinary(t *testing.T) {
	if _, _, err := Binaries(); err != nil {
		Start(t) // skips or fails as every test does
	}
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "KUBETEST_CHILD=1")
	line := testutil.StartLine(t, cmd)
	var api, etcd int
	var dir string
	if _, err := fmt.Sscan(line, &api, &etcd, &dir); err != nil {
		t.Fatalf("child: %q", line)
	}
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	for _, pid := range []int{api, etcd} {
		deadline := time.Now().Add(30 * time.Second)
		for testutil.Running(pid) {
			if time.Now().After(deadline) {
				_ = syscall.Kill(pid, syscall.SIGKILL)
				t.Fatalf("process %d outlived the killed test binary", pid)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	// Its directory is left behind; the next start sweeps it.
	if _, err := os.Stat(dir); err != nil {
		t.Fatalf("the killed child's directory: %v", err)
	}
	sweep()
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("after a sweep, the dead child's directory %s: %v", dir, err)
	}
}

func TestBinariesMissing(t *testing.T) {
	t.Setenv("KUBE_APISERVER", "/nonexistent/kube-apiserver")
	if _, _, err := Binaries(); !errors.Is(err, ErrNotInstalled) || !strings.Contains(err.Error(), "$KUBE_APISERVER") {
		t.Fatalf("Binaries with a missing $KUBE_APISERVER: %v", err)
	}
	t.Setenv("KUBE_APISERVER", "")
	t.Setenv("KUBE_APISERVER_CACHE", t.TempDir())
	t.Setenv("PATH", t.TempDir())
	_, _, err := Binaries()
	if !errors.Is(err, ErrNotInstalled) || !strings.Contains(err.Error(), "scripts/kube-apiserver.sh") {
		t.Fatalf("Binaries without kube-apiserver: %v", err)
	}
}

// recorder is a testing.TB that records Skip and Fatal instead of ending the test.
type recorder struct {
	testing.TB
	skipped, failed string
}

func (r *recorder) Helper()           {}
func (r *recorder) Skip(args ...any)  { r.skipped = fmt.Sprint(args...) }
func (r *recorder) Fatal(args ...any) { r.failed = fmt.Sprint(args...) }

// Missing binaries skip the test, unless KUBETEST_REQUIRED is set (CI): then it fails.
func TestMissingBinariesSkipOrFail(t *testing.T) {
	t.Setenv("KUBE_APISERVER", "/nonexistent/kube-apiserver")
	_, _, err := Binaries()
	for _, required := range []string{"", "1"} {
		t.Setenv("KUBETEST_REQUIRED", required)
		r := &recorder{TB: t}
		check(r, err)
		if got := r.skipped + r.failed; got == "" || (required == "") != (r.skipped != "") || !strings.Contains(got, "$KUBE_APISERVER") {
			t.Errorf("KUBETEST_REQUIRED=%q: skipped %q, failed %q", required, r.skipped, r.failed)
		}
	}
	r := &recorder{TB: t}
	check(r, errors.New("kubetest: etcd exited"))
	if r.failed == "" || r.skipped != "" {
		t.Errorf("another error: skipped %q, failed %q; want a failure", r.skipped, r.failed)
	}
}

// The script builds the version that Start looks for.
func TestScriptVersion(t *testing.T) {
	b, err := os.ReadFile("../../../scripts/kube-apiserver.sh")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^V=\$\{KUBE_VERSION:-([0-9.]+)\}$`).FindSubmatch(b)
	if m == nil || string(m[1]) != Version {
		t.Fatalf("scripts/kube-apiserver.sh builds %q by default, kubetest.Version is %s", m, Version)
	}
}
