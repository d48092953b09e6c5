package main

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/trendtactics/loadlab/internal/testutil"
)

// TestSecondInterrupt drives the CLI in-process with injected signals and exit: the
// first signal stops the load, the second, while a database delay and a paused replica
// are active, runs the emergency cleanups and exits 130 at once. By the time exit is
// called every fault is rolled back (the paused replica continued) and every child of
// the lab is gone, although the run itself has not finished.
func TestSecondInterrupt(t *testing.T) {
	_, academyBin := binaries(t)
	dir := t.TempDir()
	scenario := filepath.Join(dir, "long.yaml")
	os.WriteFile(scenario, []byte(longLabScenario), 0o644)
	labLog := filepath.Join(dir, "lab.log")
	sigs := make(chan chan<- os.Signal, 1)
	exited := make(chan int, 1)
	var stderr testutil.Buffer
	p := &process{
		args: []string{"run", scenario, "--out", filepath.Join(dir, "out"), "--academy", academyBin,
			"--lab-log", labLog, "--max-lateness", "2s"},
		stdout: &testutil.Buffer{}, stderr: &stderr, getenv: func(string) string { return "" },
		notify: func(c chan<- os.Signal) func() { sigs <- c; return func() {} },
		exit:   func(code int) { exited <- code },
	}
	returned := make(chan int, 1)
	go func() { returned <- run(p) }() // ends when the run has stopped (after the exit below)
	c := <-sigs
	deadline := time.Now().Add(2 * time.Minute)
	for !strings.Contains(stderr.String(), "lab: ready") {
		if time.Now().After(deadline) {
			t.Fatalf("the lab never became ready:\n%s", stderr.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	time.Sleep(3 * time.Second) // both faults active
	pids := startedRE.FindAllStringSubmatch(readFile(t, labLog), -1)
	c <- syscall.SIGINT
	c <- syscall.SIGINT
	select {
	case code := <-exited:
		if code != exitInterrupted {
			t.Errorf("exit %d, want %d", code, exitInterrupted)
		}
	case <-time.After(time.Minute):
		t.Fatalf("no exit after the second signal:\n%s", stderr.String())
	}
	if len(pids) < 4 {
		t.Fatalf("the lab log names %d children, want PostgreSQL, Redis and two replicas", len(pids))
	}
	assertNothingLeft(t, labLog) // checked at the moment of exit
	if !strings.Contains(stderr.String(), "interrupted again: rolling back faults and stopping the lab") {
		t.Errorf("stderr does not say what the second signal does:\n%s", stderr.String())
	}
	select { // the injected exit returns, so the run goes on to its end, quickly
	case <-returned:
	case <-time.After(time.Minute):
		t.Fatal("run did not return after the emergency exit")
	}
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
