//go:build linux

package loadgen_test

import (
	"net/http"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/trendtactics/loadlab/loadgen"
)

// TestRunHoldsMonitorFromItsRate: an open-model run whose schedule reaches 1000/s keeps one
// processor in a system call while it runs (GOMAXPROCS one higher, as its target in this
// process sees it), a slower one does not, and neither leaves GOMAXPROCS changed.
func TestRunHoldsMonitorFromItsRate(t *testing.T) {
	base := runtime.GOMAXPROCS(0)
	var seen atomic.Int64
	srv := serve(t, http.HandlerFunc(func(http.ResponseWriter, *http.Request) {
		seen.Store(int64(runtime.GOMAXPROCS(0)))
	}))
	for _, c := range []struct {
		rate float64
		want int
	}{{1200, base + 1}, {500, base}} {
		seen.Store(0)
		res := run(t, constant(c.rate, 400*time.Millisecond, 0, get("x", "/")), loadgen.Options{BaseURL: srv.URL})
		if res.Total.Count == 0 {
			t.Fatalf("at %v/s: no request completed", c.rate)
		}
		if got := int(seen.Load()); got != c.want {
			t.Errorf("at %v/s the target saw GOMAXPROCS %d during the run; want %d", c.rate, got, c.want)
		}
		if got := runtime.GOMAXPROCS(0); got != base {
			t.Errorf("after the run at %v/s GOMAXPROCS is %d; want %d", c.rate, got, base)
		}
	}
}
