package main

import (
	"bufio"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/trendtactics/loadlab/internal/testutil"
	"github.com/trendtactics/loadlab/reports"
)

// The tests in this file run whole scenarios against real local labs through the real
// binaries: PostgreSQL, Redis, academy replicas and fault proxies, started and stopped by
// loadgen itself. They take a few minutes; -short skips them.

// binaries builds loadgen and academy once into a temporary directory.
func binaries(t *testing.T) (loadgenBin, academyBin string) {
	t.Helper()
	if testing.Short() {
		t.Skip("-short: skipping the lab runs")
	}
	dir := testutil.Build(t, "github.com/trendtactics/loadlab/cmd/loadgen", "github.com/trendtactics/loadlab/cmd/academy")
	return filepath.Join(dir, "loadgen"), filepath.Join(dir, "academy")
}

type labResult struct {
	Verdict     string `json:"verdict"`
	Interrupted bool   `json:"interrupted"`
	Faults      []struct {
		Name     string  `json:"name"`
		Injected bool    `json:"injected"`
		Error    string  `json:"error"`
		End      float64 `json:"end_s"`
	} `json:"faults"`
	Events []struct {
		Kind string `json:"kind"`
		Name string `json:"name"`
	} `json:"events"`
}

func readLabResult(t *testing.T, path string) labResult {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var r labResult
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatal(err)
	}
	return r
}

var startedRE = regexp.MustCompile(`(?m)^lab: started (\S+) pid (\d+)$`)

// assertNothingLeft checks that every child the lab log names is gone and that the lab's
// database directory was removed.
func assertNothingLeft(t *testing.T, labLog string) {
	t.Helper()
	b, err := os.ReadFile(labLog)
	if err != nil {
		t.Fatal(err)
	}
	ms := startedRE.FindAllStringSubmatch(string(b), -1)
	if len(ms) == 0 {
		t.Fatalf("the lab log names no child:\n%s", b)
	}
	for _, m := range ms {
		pid, _ := strconv.Atoi(m[2])
		if testutil.Running(pid) {
			t.Errorf("%s (pid %d) outlived the run", m[1], pid)
			syscall.Kill(pid, syscall.SIGKILL)
		}
	}
	for _, dir := range regexp.MustCompile(`dir=(/\S+)`).FindAllStringSubmatch(string(b), -1) {
		if _, err := os.Stat(dir[1]); err == nil {
			t.Errorf("the database directory %s was left behind", dir[1])
		}
	}
}

// TestFaultScenarios runs every shipped fault scenario in its own lab. Each states, in
// windowed thresholds, what clients see during its fault and outside it, so PASS means the
// fault's effect began and ended as planned.
func TestFaultScenarios(t *testing.T) {
	loadgenBin, academyBin := binaries(t)
	files, err := filepath.Glob("../../scenarios/faults/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no fault scenarios: %v", err)
	}
	run := func(t *testing.T, file string, args ...string) {
		out := t.TempDir()
		argv := append([]string{"run", file, "--out", out, "--academy", academyBin,
			"--lab-log", filepath.Join(out, "lab.log"), "--max-lateness", "2s"}, args...)
		output, err := exec.Command(loadgenBin, argv...).CombinedOutput()
		if err != nil {
			t.Fatalf("loadgen run %s: %v\n%s", file, err, output)
		}
		res := readLabResult(t, filepath.Join(out, "result.json"))
		if res.Verdict != reports.Pass || len(res.Faults) != 1 || !res.Faults[0].Injected {
			t.Fatalf("verdict %s, faults %+v\n%s", res.Verdict, res.Faults, output)
		}
		assertNothingLeft(t, filepath.Join(out, "lab.log"))
	}
	for _, file := range files {
		name := strings.TrimSuffix(filepath.Base(file), ".yaml")
		t.Run(name, func(t *testing.T) { run(t, file) })
	}
	// The scenarios' plain requests go by the fast transport (auto): one runs on net/http
	// too, so that both clients see a fault begin and end.
	t.Run("http-status/nethttp", func(t *testing.T) {
		run(t, "../../scenarios/faults/http-status.yaml", "--transport", "nethttp")
	})
}

// longLabScenario runs a minute of load in a lab with two faults active from its second
// second on: a database delay and a paused replica.
const longLabScenario = `version: 1
name: long
target:
  lab: {replicas: 2, cache: redis, seed: {users: 10, courses: 2, seed: 1}}
workload:
  - name: catalog
    request: {method: GET, url: /v1/courses}
load: {executor: constant-arrival-rate, rate: 20, duration: 60s}
faults:
  - {name: slow-db, kind: network.delay, target: database, at: 1s, duration: 50s, params: {latency: 20ms}}
  - {name: pause-one, kind: process.pause, target: app, mode: one, at: 1s, duration: 50s}
`

// TestLabRunInterrupted stops a lab run in the middle of its fault with SIGINT and with
// SIGTERM: the result is written and marked interrupted, the fault rolled back, every
// child process gone.
func TestLabRunInterrupted(t *testing.T) {
	loadgenBin, academyBin := binaries(t)
	scenario := filepath.Join(t.TempDir(), "long.yaml")
	os.WriteFile(scenario, []byte(longLabScenario), 0o644)
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM} {
		t.Run(sig.String(), func(t *testing.T) {
			out := t.TempDir()
			cmd := exec.Command(loadgenBin, "run", scenario, "--out", out, "--academy", academyBin,
				"--lab-log", filepath.Join(out, "lab.log"), "--max-lateness", "2s")
			stderr, err := cmd.StderrPipe()
			if err != nil {
				t.Fatal(err)
			}
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			sc := bufio.NewScanner(stderr)
			ready := false
			for sc.Scan() {
				if strings.HasPrefix(sc.Text(), "lab: ready") {
					ready = true
					break
				}
			}
			if !ready {
				cmd.Process.Kill()
				cmd.Wait()
				t.Fatal("the lab never became ready")
			}
			go func() { // drains stderr until the process exits
				for sc.Scan() {
				}
			}()
			time.Sleep(3 * time.Second) // both faults active
			cmd.Process.Signal(sig)
			err = cmd.Wait()
			if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 130 {
				t.Fatalf("exit after %s: %v, want exit status 130", sig, err)
			}
			res := readLabResult(t, filepath.Join(out, "result.json"))
			if !res.Interrupted || res.Verdict != reports.Interrupted {
				t.Errorf("result: interrupted %v, verdict %s", res.Interrupted, res.Verdict)
			}
			ended := map[string]bool{}
			for _, ev := range res.Events {
				if ev.Kind == "fault.end" {
					ended[ev.Name] = true
				}
			}
			for _, f := range res.Faults {
				if !f.Injected || !ended[f.Name] {
					t.Errorf("fault %s: injected %v, rolled back %v", f.Name, f.Injected, ended[f.Name])
				}
			}
			assertNothingLeft(t, filepath.Join(out, "lab.log"))
		})
	}
}
