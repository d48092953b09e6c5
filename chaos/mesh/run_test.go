package mesh_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/chaos-mesh/chaos-mesh/api/v1alpha1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/watch"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/trendtactics/loadlab/chaos/mesh"
	"github.com/trendtactics/loadlab/internal/testutil"
)

// The tests of this file run the real loadgen binary as a child process against a cluster
// scenario: the load goes to an HTTP server on loopback, the faults to the test's API server
// through the loadgen-kube that loadgen starts (built beside it, where loadgen finds it).

func loadgenBin(t *testing.T) string {
	t.Helper()
	return filepath.Join(testutil.Build(t, "github.com/trendtactics/loadlab/cmd/loadgen", "github.com/trendtactics/loadlab/cmd/loadgen-kube"), "loadgen")
}

func target(t *testing.T, status int) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(status)
		fmt.Fprintln(w, `{"ok":true}`)
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

// child is a running loadgen.
type child struct {
	cmd    *exec.Cmd
	stderr testutil.Buffer
	done   chan struct{}
	exited time.Time
}

// startLoadgen starts loadgen in a process group of its own, with its loadgen-kube: signals
// go to loadgen alone, and the cleanup kills the group.
func startLoadgen(t *testing.T, args ...string) *child {
	t.Helper()
	ch := &child{cmd: exec.Command(loadgenBin(t), args...), done: make(chan struct{})}
	ch.cmd.Stderr = &ch.stderr
	ch.cmd.Stdout = &ch.stderr
	ch.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := ch.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { // ends when the child exits (killed at the latest by the cleanup below)
		_ = ch.cmd.Wait()
		ch.exited = time.Now()
		close(ch.done)
	}()
	t.Cleanup(func() { _ = syscall.Kill(-ch.cmd.Process.Pid, syscall.SIGKILL); <-ch.done })
	return ch
}

// kubeChild returns the process ID of the loadgen-kube that loadgen started.
func (ch *child) kubeChild(t *testing.T) int {
	t.Helper()
	pid := ch.cmd.Process.Pid
	// Each thread lists the children it started: any of loadgen's may have.
	tasks, err := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/children", pid))
	if err != nil {
		t.Fatal(err)
	}
	var b []byte
	for _, task := range tasks {
		more, err := os.ReadFile(task)
		if err != nil && !os.IsNotExist(err) { // a thread may end meanwhile
			t.Fatal(err)
		}
		b = append(append(b, more...), ' ')
	}
	for _, f := range strings.Fields(string(b)) {
		c, err := strconv.Atoi(f)
		if err != nil {
			t.Fatal(err)
		}
		if exe, _ := os.Readlink(fmt.Sprintf("/proc/%d/exe", c)); filepath.Base(exe) == "loadgen-kube" {
			return c
		}
	}
	t.Fatalf("loadgen (%d) has no loadgen-kube child among %q", pid, b)
	return 0
}

// gone reports whether process pid has exited (a zombie has).
func gone(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return true
	}
	_, after, _ := strings.Cut(string(b), ") ")
	return strings.HasPrefix(after, "Z") || strings.HasPrefix(after, "X")
}

// wait waits (up to two minutes) for the child to exit and returns its exit code.
func (ch *child) wait(t *testing.T) int {
	t.Helper()
	select {
	case <-ch.done:
		return ch.cmd.ProcessState.ExitCode()
	case <-time.After(2 * time.Minute):
		t.Fatalf("loadgen did not exit:\n%s", ch.stderr.String())
		return -1
	}
}

// created waits until the watch has seen a chaos object created; it fails the test if
// loadgen exits first, or after a minute.
func (ch *child) created(t *testing.T, rec *recorder) time.Time {
	t.Helper()
	deadline := time.After(time.Minute)
	for {
		if at := rec.snapshot().at("", watch.Added); !at.IsZero() {
			return at
		}
		select {
		case <-ch.done:
			t.Fatalf("loadgen exited (%s) before a chaos object was created:\n%s", ch.cmd.ProcessState, ch.stderr.String())
		case <-deadline:
			t.Fatalf("no chaos object created within a minute:\n%s", ch.stderr.String())
		case <-time.After(20 * time.Millisecond):
		}
	}
}

var runIDRE = regexp.MustCompile(`chaos: run (\S+):`)

// runID reads the run ID loadgen prints.
func (ch *child) runID(t *testing.T) string {
	t.Helper()
	m := runIDRE.FindStringSubmatch(ch.stderr.String())
	if m == nil {
		t.Fatalf("loadgen printed no run ID:\n%s", ch.stderr.String())
	}
	return m[1]
}

func writeScenario(t *testing.T, yaml string) string {
	t.Helper()
	file := filepath.Join(t.TempDir(), "cluster.yaml")
	if err := os.WriteFile(file, []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	return file
}

// TestRunOnCluster runs a short cluster scenario with two faults, one 1.5 s after the
// other's end (room for a slow API server):
// the watch sees each object created and then deleted, the first deleted before the
// second is created; the run passes and its result has both faults injected.
func TestRunOnCluster(t *testing.T) {
	c, kubeconfig, ns := cluster(t)
	file := writeScenario(t, clusterYAML(ns, target(t, 200), kubeconfig, `
  - {name: slow-db, kind: network.delay, target: database, at: 1s, duration: 1s, params: {latency: 50ms}}
  - {name: kill, kind: process.kill, target: app, at: 3500ms, duration: 1s}`, "5s", `thresholds:
  errors: ["rate < 1%"]`))
	rec := watchChaos(t, c, ns)
	out := t.TempDir()
	ch := startLoadgen(t, "run", "--quiet", "--max-lateness", "5s", "--out", out, file)
	if code := ch.wait(t); code != 0 {
		t.Fatalf("exit %d:\n%s", code, ch.stderr.String())
	}
	run := ch.runID(t)
	seen := rec.stopAfter(t, 4)
	a, b := mesh.ObjectName("slow-db", run), mesh.ObjectName("kill", run)
	aAdded, aDeleted := seen.at(a, watch.Added), seen.at(a, watch.Deleted)
	bAdded, bDeleted := seen.at(b, watch.Added), seen.at(b, watch.Deleted)
	if aAdded.IsZero() || aDeleted.IsZero() || bAdded.IsZero() || bDeleted.IsZero() {
		t.Fatalf("the watch saw %+v", seen)
	}
	if !(aAdded.Before(aDeleted) && aDeleted.Before(bAdded) && bAdded.Before(bDeleted) && bDeleted.Before(ch.exited)) {
		t.Errorf("order: %s created %s deleted %s; %s created %s deleted %s; loadgen exited %s", a, aAdded, aDeleted, b, bAdded, bDeleted, ch.exited)
	}
	t.Logf("from %s's creation: deleted after %s, %s created after %s (scenario: 1s and 2.5s)", a,
		aDeleted.Sub(aAdded).Round(time.Millisecond), b, bAdded.Sub(aAdded).Round(time.Millisecond))
	var res struct {
		Verdict string `json:"verdict"`
		Faults  []struct {
			Name     string `json:"name"`
			Injected bool   `json:"injected"`
			Error    string `json:"error"`
		} `json:"faults"`
	}
	b2, err := os.ReadFile(filepath.Join(out, "result.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b2, &res); err != nil {
		t.Fatal(err)
	}
	if res.Verdict != "PASS" || len(res.Faults) != 2 || !res.Faults[0].Injected || !res.Faults[1].Injected {
		t.Errorf("result: %+v", res)
	}
	assertNoChaos(t, c, ns)
}

// TestRunStopsFaults: a run whose fault lasts longer than the test is stopped in the
// fault's window by SIGINT, by SIGTERM, and by an abortOnFail threshold; each time the
// object is deleted before loadgen exits. SIGINT to the process group, as a terminal's
// Ctrl-C sends it, reaches loadgen-kube too, which leaves the rollback to loadgen.
func TestRunStopsFaults(t *testing.T) {
	for _, tc := range []struct {
		name   string
		signal syscall.Signal
		group  bool
		status int
		code   int
	}{
		{"SIGINT", syscall.SIGINT, false, 200, 130},
		{"SIGINT-group", syscall.SIGINT, true, 200, 130},
		{"SIGTERM", syscall.SIGTERM, false, 200, 130},
		{"abort", 0, false, 500, 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, kubeconfig, ns := cluster(t)
			file := writeScenario(t, clusterYAML(ns, target(t, tc.status), kubeconfig, `
  - {name: long, kind: network.down, target: edge, at: 0s, duration: 50s}`, "1m", `thresholds:
  errors: [{threshold: "rate < 1%", abortOnFail: true}]`))
			rec := watchChaos(t, c, ns)
			ch := startLoadgen(t, "run", "--quiet", "--max-lateness", "5s", "--out", t.TempDir(), file)
			added := ch.created(t, rec)
			if pid := ch.cmd.Process.Pid; tc.group {
				if err := syscall.Kill(-pid, tc.signal); err != nil {
					t.Fatal(err)
				}
			} else if tc.signal != 0 {
				if err := syscall.Kill(pid, tc.signal); err != nil {
					t.Fatal(err)
				}
			}
			if code := ch.wait(t); code != tc.code {
				t.Errorf("exit %d, want %d:\n%s", code, tc.code, ch.stderr.String())
			}
			name := mesh.ObjectName("long", ch.runID(t))
			deleted := rec.snapshot().at(name, watch.Deleted)
			if deleted.IsZero() || deleted.After(ch.exited) {
				t.Errorf("%s created %s, deleted %v, loadgen exited %s", name, added, deleted, ch.exited)
			}
			assertNoChaos(t, c, ns)
		})
	}
}

// runLongPause starts a loadgen run whose one fault, "left", lasts 50 s, and returns once
// its object is created: the test's client, kubeconfig and namespace, the watch, loadgen,
// and the process ID of its loadgen-kube.
func runLongPause(t *testing.T) (client.WithWatch, string, string, *recorder, *child, int) {
	t.Helper()
	c, kubeconfig, ns := cluster(t)
	file := writeScenario(t, clusterYAML(ns, target(t, 200), kubeconfig, `
  - {name: left, kind: process.pause, target: database, at: 0s, duration: 50s}`, "1m", ""))
	rec := watchChaos(t, c, ns)
	ch := startLoadgen(t, "run", "--quiet", "--out", t.TempDir(), file)
	ch.created(t, rec)
	return c, kubeconfig, ns, rec, ch, ch.kubeChild(t)
}

// TestKilledLoadgensFaultsRolledBack: a loadgen killed with SIGKILL cannot delete its
// object, but its loadgen-kube, whose stdin then ends, does, and exits.
func TestKilledLoadgensFaultsRolledBack(t *testing.T) {
	c, _, ns, rec, ch, kube := runLongPause(t)
	if err := ch.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	ch.wait(t)
	name := mesh.ObjectName("left", ch.runID(t))
	// Judged by the server's state, not by the watch's event: a watch that the loaded API
	// server dropped would miss the deletion.
	run := ch.runID(t)
	deadline := time.Now().Add(time.Minute)
	for countChaos(t, c, ns, run) != 0 || !gone(kube) {
		if time.Now().After(deadline) {
			t.Fatalf("a minute after loadgen was killed: %s deleted: %v (watched: %v), loadgen-kube (%d) gone: %v",
				name, countChaos(t, c, ns, run) == 0, !rec.snapshot().at(name, watch.Deleted).IsZero(), kube, gone(kube))
		}
		time.Sleep(50 * time.Millisecond)
	}
	assertNoChaos(t, c, ns)
}

// TestCleanupAfterCrash: a loadgen killed with SIGKILL together with its loadgen-kube
// leaves its object (it would expire after its duration); loadgen chaos cleanup --run
// deletes it by its labels.
func TestCleanupAfterCrash(t *testing.T) {
	c, kubeconfig, ns, _, ch, kube := runLongPause(t)
	if err := syscall.Kill(-ch.cmd.Process.Pid, syscall.SIGKILL); err != nil { // the group: both
		t.Fatal(err)
	}
	ch.wait(t)
	for deadline := time.Now().Add(time.Minute); !gone(kube); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("loadgen-kube (%d) still runs a minute after SIGKILL", kube)
		}
	}
	run := ch.runID(t)
	if n := countChaos(t, c, ns, run); n != 1 {
		t.Fatalf("%d objects left by the killed run, want 1", n)
	}
	cmd := exec.Command(loadgenBin(t), "chaos", "cleanup", "--run", run, "--kubeconfig", kubeconfig, "-n", ns)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("chaos cleanup: %v\n%s", err, out)
	}
	want := fmt.Sprintf("deleted PodChaos %s/%s\n", ns, mesh.ObjectName("left", run))
	if string(out) != want {
		t.Errorf("chaos cleanup printed %q, want %q", out, want)
	}
	key := client.ObjectKey{Namespace: ns, Name: mesh.ObjectName("left", run)}
	if err := c.Get(context.Background(), key, &v1alpha1.PodChaos{}); !apierrors.IsNotFound(err) {
		t.Errorf("after cleanup: %v", err)
	}
	if out, err := exec.Command(loadgenBin(t), "chaos", "cleanup", "--run", run, "--kubeconfig", kubeconfig).CombinedOutput(); err != nil || string(out) != "nothing to delete\n" {
		t.Errorf("a second cleanup: %v %q", err, out)
	}
	var ee *exec.ExitError
	if _, err := exec.Command(loadgenBin(t), "chaos", "cleanup", "--all", "--kubeconfig", filepath.Join(t.TempDir(), "none")).CombinedOutput(); !errors.As(err, &ee) || ee.ExitCode() != 2 {
		t.Errorf("cleanup with a missing kubeconfig: %v", err)
	}
}
