package loadgen

import (
	"context"
	"runtime"
	"sync/atomic"
	"testing"
	"time"
)

// stoppedFrom is a context that is done from a moment on, as its Err says (its Done
// channel never closes: what a spinning sleeper reads is Err).
type stoppedFrom struct {
	context.Context
	at time.Time
}

func (c stoppedFrom) Err() error {
	if time.Now().Before(c.at) {
		return nil
	}
	return context.Canceled
}

// TestSleeperSendsNothingOnceStopped: a stop that comes while a sleeper spins the last
// microseconds of its wait (here at the very moment the wait ends) makes it return false:
// no iteration is sent after the load was stopped, so nothing due after a worker stopped
// its load reaches the target (cluster's TestWorkerStopsWithoutCoordinator). Before, the
// spin's last yield could outlast the stop and the iteration went out.
func TestSleeperSendsNothingOnceStopped(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(2)) // a sleeper spins with processors to spare
	var over atomic.Int64
	s := newSleeper(&over)
	defer s.timer.Stop()
	spun := 0
	for range 10 {
		// An overshoot of 40 ms (as the sleeper measures it on a loaded machine) makes it
		// spin the last 40 ms of a 200 ms wait: the stop comes while it spins, unless this
		// machine fires its timer later than that, or runs the call that late (the try is
		// then not counted: a wait without spinning reads no Err).
		over.Store(int64(40 * time.Millisecond))
		start := time.Now()
		const at = 200 * time.Millisecond
		before := s.spins
		sent := s.until(stoppedFrom{context.Background(), start.Add(at)}, start, at, 1)
		if s.spins == before {
			continue
		}
		spun++
		if sent {
			t.Fatal("the sleeper returned true after its context was done")
		}
	}
	if spun == 0 {
		t.Fatal("the sleeper never spun: the stop during the spin was not exercised")
	}
}

// TestSleeperShortWaitSeesTheStop: a stop that comes during a wait short enough to be a
// plain sleep (which a stop does not end) makes the wait return false when it ends. At
// 5000/s the sleeper does not spin: the sleep is the whole wait.
func TestSleeperShortWaitSeesTheStop(t *testing.T) {
	var over atomic.Int64
	s := newSleeper(&over)
	defer s.timer.Stop()
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(time.Millisecond, cancel)
	start := time.Now()
	if s.until(ctx, start, plainSleep/2, 5000) {
		t.Fatal("the sleeper returned true after a stop during its wait")
	}
}
