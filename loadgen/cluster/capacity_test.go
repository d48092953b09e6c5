package cluster_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/trendtactics/loadlab/loadgen/pipeline"
	"github.com/trendtactics/loadlab/reports"
)

// limited is a service of known capacity: a token bucket of rate requests a second (burst
// 10); a request that finds no token is shed (503), as a service that sheds beyond its
// capacity does. It counts what it served and shed.
type limited struct {
	mu           sync.Mutex
	rate, tokens float64
	last         time.Time
	served, shed atomic.Int64
}

func (l *limited) ServeHTTP(w http.ResponseWriter, _ *http.Request) {
	l.mu.Lock()
	now := time.Now()
	if !l.last.IsZero() {
		l.tokens = min(10, l.tokens+now.Sub(l.last).Seconds()*l.rate)
	}
	l.last = now
	ok := l.tokens >= 1
	if ok {
		l.tokens--
	}
	l.mu.Unlock()
	if !ok {
		l.shed.Add(1)
		http.Error(w, `{"error":"overloaded"}`, http.StatusServiceUnavailable)
		return
	}
	l.served.Add(1)
}

// TestCapacityOnWorkers: a scenario with capacity: runs on 2 workers: the ramp runs
// striped across them, the coordinator finds the knee of a service of 100 requests a
// second on the merged figures, and the load (half the capacity) and its relative
// threshold use the capacity it measured.
func TestCapacityOnWorkers(t *testing.T) {
	svc := &limited{rate: 100, tokens: 10}
	srv := httptest.NewServer(svc)
	t.Cleanup(srv.Close)
	path := filepath.Join(t.TempDir(), "capacity.yaml")
	src := fmt.Sprintf(`version: 1
name: capacity-workers
target: {url: %q}
workload:
  - {name: get, request: {url: "/?n={{ seq }}", expect: {status: [200, 503]}}}
load: {executor: constant-arrival-rate, rate: 50%% capacity, duration: 2s}
capacity: {from: 20, to: 400, duration: 10s, latency: "p(99) < 500ms", errors: 1%%, cooldown: 1s}
thresholds:
  goodput: ["rate >= 30%% capacity"]
`, srv.URL)
	if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	res, status := runCluster(t, path, 2, pipeline.Config{}, nil)
	c := res.Capacity
	if c == nil || !c.Saturated || c.RPS < 60 || c.RPS > 110 {
		t.Fatalf("capacity %+v: want about 100/s, the knee found\n%s", c, status)
	}
	if c.StoppedS >= c.RampS {
		t.Errorf("the ramp ran %.1fs of %.1fs: want it stopped at the knee", c.StoppedS, c.RampS)
	}
	// The load is half the measured capacity for 2 s, split between the workers.
	want := uint64(c.RPS)
	if p := res.Generator.Planned; p < want-2 || p > want+2 {
		t.Errorf("the load planned %d iterations: want 2 s × 50%% of %.1f/s", p, c.RPS)
	}
	for _, w := range res.Workers {
		if w.Sent == 0 || w.Sent+2 < res.Generator.Sent/2 {
			t.Errorf("worker %d sent %d of %d: want its half", w.Index, w.Sent, res.Generator.Sent)
		}
	}
	if len(res.Thresholds) != 1 || !res.Thresholds[0].Pass || res.Thresholds[0].Measured < 0.3*c.RPS {
		t.Errorf("thresholds %+v: want the goodput above 30%% of the measured capacity", res.Thresholds)
	}
	if res.Verdict != reports.Pass {
		t.Errorf("verdict %s (%v %v)\n%s", res.Verdict, res.Generator.Reasons, res.Thresholds, status)
	}
	// Both phases went through the workers: the service saw the ramp (with its sheds) and the load.
	if svc.shed.Load() == 0 || svc.served.Load() < int64(res.Generator.Sent) {
		t.Errorf("the service served %d and shed %d: want the ramp's sheds and the load", svc.served.Load(), svc.shed.Load())
	}
}
