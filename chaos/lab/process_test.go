package lab

import (
	"context"
	"io"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/trendtactics/loadlab/chaos/lab/guard"
)

// TestStopInterruptsStartAndHonoursContext stops a child that is still starting (it never
// prints a ready line) and ignores SIGTERM: stop must not wait for the start, nor for the
// grace period once its context is done.
func TestStopInterruptsStartAndHonoursContext(t *testing.T) {
	p := &process{name: "stubborn", argv: []string{"sh", "-c", "trap '' TERM; sleep 60"}, log: io.Discard,
		ready: func(string) bool { return false }}
	started := make(chan error, 1)
	go func() { started <- p.start(context.Background(), nil) }()
	deadline := time.Now().Add(10 * time.Second)
	for p.pid() == 0 {
		if time.Now().After(deadline) {
			t.Fatal("child not started after 10s")
		}
		time.Sleep(10 * time.Millisecond)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	begin := time.Now()
	err := p.stop(ctx, time.Minute)
	// Well below the minute's grace it would wait without the context (how far over 500 ms
	// is the machine's).
	if took := time.Since(begin); took > 30*time.Second {
		t.Errorf("stop took %v with a 500ms context and a minute's grace; want it to kill the child when the context ends", took)
	}
	if err == nil || !strings.Contains(err.Error(), "stubborn killed: context deadline exceeded") {
		t.Errorf("stop() = %v, want it to say the child was killed", err)
	}
	if p.running() {
		t.Error("child still running after stop")
	}
	select {
	case err := <-started:
		if err == nil {
			t.Error("start of a child killed before it was ready returned nil")
		}
	case <-time.After(5 * time.Second):
		t.Error("start did not return after the child was killed")
	}
	if err := p.start(context.Background(), nil); err == nil || !strings.Contains(err.Error(), "lab is stopping") {
		t.Errorf("start after stop = %v, want refused", err)
	}
}

// TestPauseReturnsOnceEveryProcessIsStopped pauses a child whose two descendants spin on
// the CPU: when pause returns, no process of the child may still be running (kill(2)
// returns before a SIGSTOP takes effect; the leftover matrix once read a paused cache
// still running).
func TestPauseReturnsOnceEveryProcessIsStopped(t *testing.T) {
	spin := "while :; do :; done"
	p := &process{name: "spinners", log: io.Discard,
		argv:  []string{"sh", "-c", "sh -c '" + spin + "' & sh -c '" + spin + "' & echo ready; wait"},
		ready: func(line string) bool { return line == "ready" }}
	if err := p.start(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.stop(context.Background(), time.Second) })
	for range 20 {
		if err := p.pause(); err != nil {
			t.Fatal(err)
		}
		table := guard.Processes()
		if n := runningIn(table, p.pid()); n > 0 {
			t.Fatalf("pause returned with %d processes of the child still running", n)
		}
		if pids, _ := table.Descendants(p.pid()); len(pids) < 2 {
			t.Fatalf("child has %d descendants, want the 2 spinners", len(pids))
		}
		if err := p.signal(syscall.SIGCONT); err != nil {
			t.Fatal(err)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
