package cluster_test

import (
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"

	"github.com/trendtactics/loadlab/internal/testutil"
	"github.com/trendtactics/loadlab/loadgen/pipeline"
	"github.com/trendtactics/loadlab/reports"
)

// TestCapacityOnWorkers: a scenario with capacity: runs on 2 workers: the ramp runs
// striped across them, the coordinator finds the knee of a service of 100 requests a
// second on the merged figures, and the load (half the capacity) and its relative
// threshold use the capacity it measured.
func TestCapacityOnWorkers(t *testing.T) {
	svc := testutil.NewBucket(100, 10) // a service of 100 requests a second
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
	if c == nil || c.RPS > 110 {
		t.Fatalf("capacity %+v: want at most the bucket's 100/s (and 10 of burst)\n%s", c, status)
	}
	// Where the ramp finds the knee is the machine's when the generator could not hold the
	// ramp (its self-check), when a second was lost to latency before the bucket shed
	// anything (it answers at once), or when a stalled process caught up: then it is
	// logged, not judged (as loadgen's TestMeasureCapacity).
	slow := !c.Valid
	for _, s := range c.Seconds {
		slow = slow || !s.Kept && s.Shed == 0 || s.Answers > 2*s.Planned+10
	}
	switch {
	case slow && c.RPS <= 0:
		t.Skipf("the machine starved the ramp: no capacity to run the load at (valid %v %q); seconds %+v", c.Valid, c.Reasons, c.Seconds)
	case slow:
		t.Logf("the machine slowed the ramp (valid %v %q): capacity %.1f/s saturated %v not judged; seconds %+v", c.Valid, c.Reasons, c.RPS, c.Saturated, c.Seconds)
	case !c.Saturated || c.RPS < 60:
		t.Fatalf("capacity %+v: want about 100/s, the knee found\n%s", c, status)
	case c.StoppedS >= c.RampS:
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
	if res.Verdict != reports.Pass && !(res.Verdict == reports.Invalid && cpuBound(res.Generator.Reasons)) {
		t.Errorf("verdict %s (%v %v)\n%s", res.Verdict, res.Generator.Reasons, res.Thresholds, status)
	}
	// Both phases went through the workers: the service saw the ramp (with its sheds) and the load.
	if svc.Shed.Load() == 0 || svc.Served.Load() < int64(res.Generator.Sent) {
		t.Errorf("the service served %d and shed %d: want the ramp's sheds and the load", svc.Served.Load(), svc.Shed.Load())
	}
}
