package lab

import (
	"context"
	"io"
	"strings"
	"testing"
	"time"
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
	if took := time.Since(begin); took > 5*time.Second {
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
