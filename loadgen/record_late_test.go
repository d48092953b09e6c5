package loadgen

import (
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/trendtactics/loadlab/internal/testutil"
	"github.com/trendtactics/loadlab/result"
	"github.com/trendtactics/loadlab/scenarios"
)

// TestRecorderClosesTheSecondsItMissed: a recorder that runs late (its process starved of
// CPU on a loaded machine, or a worker that resumes a run after its load's end) finds the
// load over with several seconds not yet closed. Each of them is closed with its planned
// iterations: the timeline, the interval records and loadgen_iterations_planned_total add
// up to the run's planned count. Before, the last tick closed only the first of them, and
// the planned iterations of the others were missing (cluster's TestRejoin: "the timeline
// plans 350, want 400"; TestMetrics: "loadgen_iterations_planned_total 250, the result
// 300"). The engine is real; the run's start is set 3.5 s in the past and its 150 samples
// queued, so that the recorder starts as a starved one resumes: with the load over.
func TestRecorderClosesTheSecondsItMissed(t *testing.T) {
	spec := &scenarios.Spec{
		Version: 1,
		Name:    "late",
		Load:    scenarios.Load{Executor: "constant-arrival-rate", Rate: 50, TimeUnit: time.Second, Duration: 3 * time.Second, MaxInFlight: 4},
		Workload: []*scenarios.Item{{Name: "a", Weight: 1,
			Request: &scenarios.Request{Method: "GET", URL: scenarios.MustTemplate("/a")}}},
	}
	var ivs []*result.Result
	e, err := newEngine(spec, Options{BaseURL: "http://127.0.0.1:1", Intervals: func(iv *result.Result) { ivs = append(ivs, iv) }})
	if err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	if e.met, err = newMetrics(reg); err != nil {
		t.Fatal(err)
	}
	const n = 150 // 50/s for 3 s, every one sent
	e.start = time.Now().Add(-3500 * time.Millisecond)
	for i := range n {
		at := time.Duration(i) * 20 * time.Millisecond
		e.samples <- sample{out: outOK, code: 200, at: at, latency: time.Millisecond, service: time.Millisecond}
	}
	e.sent.Store(n)
	e.sentBy[0].Store(n)
	e.planned.Store(e.pacer.Total())
	close(e.samples)
	close(e.loadDone)
	rec := newRecorder(e, func() {})
	rec.run() // returns once it has recorded the samples and closed the run

	res := rec.result(true, rec.end)
	if res.Generator.Planned != n {
		t.Fatalf("the run planned %d, want %d", res.Generator.Planned, n)
	}
	var planned, sent, count uint64
	for i, p := range res.Timeline {
		if p.T != i {
			t.Errorf("timeline point %d is of second %d", i, p.T)
		}
		planned, sent, count = planned+p.Planned, sent+p.Sent, count+p.Count
	}
	if len(res.Timeline) < 3 || planned != n || sent != n || count != n {
		t.Errorf("the timeline has %d seconds planning %d, sending %d, counting %d; want 3 or 4 seconds, %d of each: %+v",
			len(res.Timeline), planned, sent, count, n, res.Timeline)
	}
	for _, p := range res.Timeline[:min(3, len(res.Timeline))] {
		if p.Planned != 50 {
			t.Errorf("second %d planned %d, want 50", p.T, p.Planned)
		}
	}
	// The interval records are those seconds, and their merge is the run's timeline.
	if len(ivs) != len(res.Timeline) {
		t.Fatalf("%d interval records for %d seconds", len(ivs), len(res.Timeline))
	}
	m, err := result.Merge(ivs...)
	if err != nil {
		t.Fatal(err)
	}
	for i, p := range m.Timeline {
		if w := res.Timeline[i]; p.T != w.T || p.Planned != w.Planned || p.Sent != w.Sent || p.Count != w.Count {
			t.Errorf("merged intervals' second %+v, the run's %+v", p, w)
		}
	}
	if got := testutil.Value(t, reg, "loadgen_iterations_planned_total", nil); got != n {
		t.Errorf("loadgen_iterations_planned_total %g, want %d", got, n)
	}
}
