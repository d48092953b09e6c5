package loadgen

import (
	"context"
	"runtime"
	"sync/atomic"
	"testing"
	"time"
)

// TestSleeperSpinsOnlyWithSeveralProcessors: a sleeper yields in a loop for the last tens of
// microseconds of a long wait, but not with GOMAXPROCS=1, where the loop would keep the
// scheduler from polling the network (responses read late, their latency inflated).
func TestSleeperSpinsOnlyWithSeveralProcessors(t *testing.T) {
	wait := func() int {
		var over atomic.Int64
		s := newSleeper(&over)
		defer s.timer.Stop()
		for range 40 {
			// 10 iterations a second: far apart, where a sleeper with processors to spare spins.
			if !s.until(context.Background(), time.Now(), 5*time.Millisecond, 10) {
				t.Fatal("until returned false without a cancelled context")
			}
		}
		return s.spins
	}
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(2))
	if n := wait(); n == 0 {
		t.Error("with 2 processors the sleeper never yielded in 40 waits at 10/s; want it to spin the last microseconds")
	}
	runtime.GOMAXPROCS(1)
	if n := wait(); n != 0 {
		t.Errorf("with GOMAXPROCS=1 the sleeper yielded %d times; want plain sleeps", n)
	}
}
