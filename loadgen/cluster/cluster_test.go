package cluster_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/trendtactics/loadlab/internal/testutil"
	"github.com/trendtactics/loadlab/loadgen/cluster"
	"github.com/trendtactics/loadlab/loadgen/pipeline"
	"github.com/trendtactics/loadlab/reports"
	"github.com/trendtactics/loadlab/result"
)

// TestMergedEqualsSingleProcess: 1, 2 and 4 local worker processes send exactly what one
// process sends (planned and sent totals, per request, per second of the plan; every
// iteration once at the target), and their merged percentiles agree with its.
func TestMergedEqualsSingleProcess(t *testing.T) {
	tg := newTarget(t)
	path := scenario(t, 200, "2s")
	spec, _ := loadSpec(t, path)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	one, err := pipeline.Run(ctx, spec, pipeline.Config{BaseURL: tg.URL, Seed: 7, MaxLateness: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if seen, twice := tg.iterations(); seen != 400 || len(twice) > 0 {
		t.Fatalf("one process: the target saw %d iterations, %d twice; want 400 once each", seen, len(twice))
	}
	counts := func(r *result.Result) map[string]uint64 {
		m := map[string]uint64{"total": r.Total.Count}
		for _, rq := range r.Requests {
			m[rq.Name] = rq.Count
		}
		return m
	}
	want := counts(one)
	workers := []int{1, 2, 4}
	if testing.Short() {
		workers = []int{2, 4}
	}
	for _, n := range workers {
		res, status := runCluster(t, path, n, pipeline.Config{BaseURL: tg.URL}, nil)
		if res.Generator.Planned != one.Generator.Planned || res.Generator.Sent != one.Generator.Sent || res.Generator.Planned != 400 {
			t.Errorf("%d workers: planned %d sent %d; one process planned %d sent %d",
				n, res.Generator.Planned, res.Generator.Sent, one.Generator.Planned, one.Generator.Sent)
		}
		got := counts(res)
		for k, v := range want {
			if got[k] != v {
				t.Errorf("%d workers: %s count %d, one process %d", n, k, got[k], v)
			}
		}
		if seen, twice := tg.iterations(); seen != 400 || len(twice) > 0 {
			t.Errorf("%d workers: the target saw %d iterations, %v twice; want 400 once each", n, seen, twice)
		}
		for s := range 2 {
			if res.Timeline[s].Planned != one.Timeline[s].Planned {
				t.Errorf("%d workers: second %d planned %d, one process %d", n, s, res.Timeline[s].Planned, one.Timeline[s].Planned)
			}
		}
		// 10% of the requests take 50 ms: p50 is the fast ones', p95 the middle of the slow
		// ones'. Separate runs on a shared machine differ by their timing noise (4 workers
		// built with -race on 2 cores add some ms to the slow tail, more at p99, which is only
		// logged); the merge itself is exact (result's merge tests).
		lat, ref := res.Total.Latency, one.Total.Latency
		if lat.P50 > 10 || lat.P95 < 50 || lat.P95 > 75 || math.Abs(lat.P95-ref.P95) > 20 {
			t.Errorf("%d workers: p50 %.2fms p95 %.2fms, one process p50 %.2fms p95 %.2fms; the target's distribution is 90%% fast, 10%% 50 ms",
				n, lat.P50, lat.P95, ref.P50, ref.P95)
		}
		t.Logf("%d workers: p50 %.2fms p95 %.2fms p99 %.2fms; one process %.2fms %.2fms %.2fms", n, lat.P50, lat.P95, lat.P99, ref.P50, ref.P95, ref.P99)
		if len(res.Workers) != n {
			t.Fatalf("%d workers: the result has %d workers", n, len(res.Workers))
		}
		var sent uint64
		for _, w := range res.Workers {
			sent += w.Sent
			if !w.Valid || w.Lost {
				t.Errorf("%d workers: worker %+v", n, w)
			}
		}
		if sent != res.Generator.Sent {
			t.Errorf("%d workers: the workers sent %d, the run %d", n, sent, res.Generator.Sent)
		}
		if res.Verdict != reports.Pass {
			t.Errorf("%d workers: verdict %s (%v)\n%s", n, res.Verdict, res.Generator.Reasons, status)
		}
	}
}

// TestRefused: a wrong token, version, scenario or a duplicate index is refused, and both
// sides name the cause.
func TestRefused(t *testing.T) {
	path := scenario(t, 10, "1s")
	_, data := loadSpec(t, path)
	_, addr, status := coordinator(t, 2, "right", data, path)
	good := cluster.WorkerConfig{Coordinator: addr, Token: "right", Version: testVersion, Index: 0, Scenario: data, Path: path}
	// Worker 0 joins and waits for the start (which never comes: worker 1 is missing).
	ctx, cancel := context.WithCancel(context.Background())
	joined := make(chan error, 1)
	go func() { joined <- cluster.RunWorker(ctx, good) }()
	if err := waitFor(10*time.Second, func() bool { return strings.Contains(status.String(), "worker 0 joined") }); err != nil {
		t.Fatalf("worker 0 did not join: %s", status)
	}
	for _, tc := range []struct {
		name  string
		edit  func(*cluster.WorkerConfig)
		cause string
	}{
		{"token", func(c *cluster.WorkerConfig) { c.Token = "wrong" }, "wrong token"},
		{"version", func(c *cluster.WorkerConfig) { c.Version = "other-2" }, `version mismatch: worker is loadlab "other-2", coordinator "test-1"`},
		{"scenario", func(c *cluster.WorkerConfig) { c.Scenario = append([]byte("# edited\n"), data...) }, "scenario hash mismatch"},
		{"duplicate index", func(c *cluster.WorkerConfig) {}, "duplicate worker index 0"},
		{"index out of range", func(c *cluster.WorkerConfig) { c.Index = 2 }, "worker index 2 out of range"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := good
			tc.edit(&cfg)
			err := cluster.RunWorker(context.Background(), cfg)
			var re *cluster.RefusedError
			if !errors.As(err, &re) || !strings.Contains(re.Cause, tc.cause) {
				t.Fatalf("worker: %v; want a refusal naming %q", err, tc.cause)
			}
			if err := waitFor(5*time.Second, func() bool {
				return strings.Contains(status.String(), "refused a worker") && strings.Contains(status.String(), tc.cause)
			}); err != nil {
				t.Errorf("the coordinator's status does not name %q:\n%s", tc.cause, status)
			}
		})
	}
	cancel()
	<-joined
}

// TestWorkerStopsWithoutCoordinator: SIGKILL of the coordinator process; its worker sends
// nothing 2 s later (counted at the target) and exits.
func TestWorkerStopsWithoutCoordinator(t *testing.T) {
	tg := newTarget(t)
	path := scenario(t, 100, "60s")
	token := cluster.NewToken()
	coord := exec.Command(os.Args[0], "-test.run=^$")
	coord.Env = append(os.Environ(), "CLUSTER_TEST_ROLE=coordinator", "CLUSTER_SCENARIO="+path, "CLUSTER_WORKERS=1",
		"LOADGEN_TOKEN="+token, "CLUSTER_TARGET="+tg.URL)
	coord.Stderr = testWriter{t}
	line := testutil.StartLine(t, coord)
	addr, ok := strings.CutPrefix(line, "addr=")
	if !ok {
		t.Fatalf("the coordinator printed %q, not its address", line)
	}
	procs, err := cluster.StartProcesses([]*exec.Cmd{workerCmd(t, addr, token, path, 0)})
	if err != nil {
		t.Fatal(err)
	}
	defer procs.Wait(5 * time.Second)
	if err := waitFor(20*time.Second, func() bool { return tg.n.Load() >= 100 }); err != nil {
		t.Fatalf("the worker sent %d requests in 20 s", tg.n.Load())
	}
	if err := coord.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	killed := time.Now()
	if err := waitFor(5*time.Second, func() bool { return procs.Exited(0) }); err != nil {
		t.Errorf("the worker did not exit within 5 s of its coordinator's death")
	}
	time.Sleep(time.Until(killed.Add(2500 * time.Millisecond)))
	last := time.Unix(0, tg.last.Load())
	if after := last.Sub(killed); after > 2*time.Second {
		t.Errorf("the worker sent a request %s after its coordinator died; want none after 2 s", after)
	}
	t.Logf("last request %s after the coordinator's SIGKILL; %d requests in all", last.Sub(killed).Round(time.Millisecond), tg.n.Load())
}

// TestLostWorker: SIGKILL of one worker mid-run: the run goes on and reports the worker as
// lost, with its shortfall in the per-worker section and the timeline. With no lost worker
// allowed (the default) the run is INVALID naming it; within the scenario's budget
// (load.maxLostWorkers, load.maxLostShare) it is not.
func TestLostWorker(t *testing.T) {
	for _, tc := range []struct {
		budget  string // the load's budget field
		verdict string
	}{{"", reports.Invalid}, {"maxLostWorkers: 1", reports.Pass}, {"maxLostShare: 50%", reports.Pass}} {
		t.Run("budget "+tc.budget, func(t *testing.T) {
			if testing.Short() && tc.budget != "" {
				t.Skip("the budget of lost workers: without -short")
			}
			tg := newTarget(t)
			path := scenario(t, 100, "3s")
			if tc.budget != "" {
				withLoad(t, path, tc.budget)
			}
			res, status := runCluster(t, path, 2, pipeline.Config{BaseURL: tg.URL}, func(p *cluster.Processes) {
				// 1.5 s into the load: worker 1 has sent its first interval record.
				_ = waitFor(20*time.Second, func() bool { return tg.n.Load() >= 150 })
				_ = p.Signal(1, syscall.SIGKILL)
			})
			if res.Verdict != tc.verdict {
				t.Errorf("verdict %s (%q), want %s", res.Verdict, res.Generator.Reasons, tc.verdict)
			}
			named := slices.ContainsFunc(res.Generator.Reasons, func(r string) bool { return strings.HasPrefix(r, "worker 1: lost at") })
			beyond := slices.Contains(res.Generator.Reasons, "1 of 2 workers lost, beyond the budget of lost workers (0 lost)")
			if named != (tc.budget == "") || beyond != (tc.budget == "") {
				t.Errorf("reasons %q; want worker 1 named as lost, beyond the budget: %v\n%s", res.Generator.Reasons, tc.budget == "", status)
			}
			if len(res.Workers) != 2 {
				t.Fatalf("workers %+v", res.Workers)
			}
			w0, w1 := res.Workers[0], res.Workers[1]
			if !w1.Lost || w1.Valid || w1.Planned != 150 || w1.Sent >= w1.Planned || w1.Sent == 0 || !strings.HasPrefix(w1.Reasons[0], "lost at") {
				t.Errorf("worker 1: %+v; want lost, 150 planned, fewer sent", w1)
			}
			if w0.Lost || !w0.Valid || w0.Sent != 150 {
				t.Errorf("worker 0: %+v; want its 150 sent", w0)
			}
			var planned uint64
			for _, p := range res.Timeline {
				planned += p.Planned
			}
			if planned != 300 || res.Generator.Planned != 300 || res.Generator.Sent != w0.Sent+w1.Sent {
				t.Errorf("timeline plans %d, generator planned %d sent %d; want 300 planned, %d sent", planned, res.Generator.Planned, res.Generator.Sent, w0.Sent+w1.Sent)
			}
		})
	}
}

// TestAbortOnMergedFigures: abortOnFail is evaluated on the merged figures; when it fires,
// every worker stops, and the result says why.
func TestAbortOnMergedFigures(t *testing.T) {
	tg := newTarget(t)
	tg.status.Store(500)
	path := scenarioWith(t, 50, "20s", `  errors: [{threshold: "rate < 10%", abortOnFail: true}]`)
	began := time.Now()
	res, status := runCluster(t, path, 2, pipeline.Config{BaseURL: tg.URL}, nil)
	if took := time.Since(began); took > 10*time.Second {
		t.Errorf("the aborted run took %s", took)
	}
	if res.Verdict != reports.Fail || !strings.Contains(res.StopReason, "errors") || len(res.Thresholds) != 1 || !res.Thresholds[0].Aborted {
		t.Errorf("verdict %s (%q), stop reason %q, thresholds %+v; want FAIL, aborted by the errors threshold", res.Verdict, res.Generator.Reasons, res.StopReason, res.Thresholds)
	}
	if res.Interrupted || len(res.Events) == 0 || res.Events[0].Kind != result.EventAbort {
		t.Errorf("interrupted %v, events %+v; want an abort event", res.Interrupted, res.Events)
	}
	if res.Generator.Sent >= 500 || res.Generator.Sent == 0 {
		t.Errorf("sent %d of 1000; want the load stopped early", res.Generator.Sent)
	}
	for _, w := range res.Workers {
		if w.Lost {
			t.Errorf("worker %d lost: %v\n%s", w.Index, w.Reasons, status)
		}
	}
}

// TestWorkersBehindAreNamed: workers that do not hold their share make the run INVALID,
// each named (here a lateness bound no generator can hold).
func TestWorkersBehindAreNamed(t *testing.T) {
	tg := newTarget(t)
	path := scenario(t, 50, "1s")
	res, _ := runCluster(t, path, 2, pipeline.Config{BaseURL: tg.URL, MaxLateness: time.Nanosecond}, nil)
	if res.Verdict != reports.Invalid {
		t.Errorf("verdict %s, want INVALID", res.Verdict)
	}
	for i, w := range res.Workers {
		if w.Valid || !slices.ContainsFunc(w.Reasons, func(r string) bool { return strings.HasPrefix(r, "send lateness p99") }) {
			t.Errorf("worker %d: %+v; want invalid for its lateness", i, w)
		}
		prefix := fmt.Sprintf("worker %d: send lateness p99", i)
		if !slices.ContainsFunc(res.Generator.Reasons, func(r string) bool { return strings.HasPrefix(r, prefix) }) {
			t.Errorf("reasons %q do not name worker %d", res.Generator.Reasons, i)
		}
	}
}

// TestWorkerCannotRun: a worker that cannot run the scenario (here: it takes the
// coordinator's copy, whose data file is not on its machine) says why, and the coordinator
// fails at once with that cause instead of waiting for it.
func TestWorkerCannotRun(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "data.yaml")
	src := `version: 1
name: data
target: {url: "http://127.0.0.1:1"}
data:
  users: {file: users-of-TestWorkerCannotRun.csv}
workload:
  - name: a
    request: {url: "/?u={{ users.name }}"}
load: {executor: constant-arrival-rate, rate: 10, duration: 1s}
`
	if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "users-of-TestWorkerCannotRun.csv"), []byte("name\nann\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	spec, data := loadSpec(t, path)
	c, addr, status := coordinator(t, 1, "tok", data, path)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	werr := make(chan error, 1)
	go func() {
		werr <- cluster.RunWorker(ctx, cluster.WorkerConfig{Coordinator: addr, Token: "tok", Version: testVersion, Index: -1})
	}()
	_, err := pipeline.Run(ctx, spec, pipeline.Config{BaseURL: "http://127.0.0.1:1", Generator: c})
	if err == nil || !strings.Contains(err.Error(), "worker 0 cannot run the scenario: load the scenario:") || !strings.Contains(err.Error(), "users-of-TestWorkerCannotRun.csv") {
		t.Errorf("run: %v; want the worker's cause\n%s", err, status)
	}
	if err := <-werr; err == nil || !strings.Contains(err.Error(), "users-of-TestWorkerCannotRun.csv") {
		t.Errorf("worker: %v; want its cause", err)
	}
}

// TestMetrics: the coordinator's registry has the whole run's counters, labelled by worker,
// and the workers' states.
func TestMetrics(t *testing.T) {
	tg := newTarget(t)
	path := scenario(t, 50, "1s")
	reg := prometheus.NewRegistry()
	res, _ := runCluster(t, path, 2, pipeline.Config{BaseURL: tg.URL, Registry: reg}, nil)
	if got := testutil.Sum(t, reg, "loadgen_iterations_sent_total", nil); got != float64(res.Generator.Sent) || got != 50 {
		t.Errorf("sent %g, the result %d", got, res.Generator.Sent)
	}
	if got := testutil.Sum(t, reg, "loadgen_iterations_planned_total", nil); got != 50 {
		t.Errorf("planned %g, want 50", got)
	}
	if got := testutil.Sum(t, reg, "loadgen_responses_total", prometheus.Labels{"status": "200"}); got != float64(res.Total.Count) {
		t.Errorf("responses %g, the result %d", got, res.Total.Count)
	}
	for _, w := range res.Workers {
		if got := testutil.Value(t, reg, "loadgen_iterations_sent_total", prometheus.Labels{"worker": strconv.Itoa(w.Index)}); got != float64(w.Sent) {
			t.Errorf("worker %d: sent %g, the result %d", w.Index, got, w.Sent)
		}
	}
	if got := testutil.Value(t, reg, "loadgen_cluster_workers", prometheus.Labels{"state": "done"}); got != 2 {
		t.Errorf("%g workers done, want 2", got)
	}
	if got := testutil.Value(t, reg, "loadgen_cluster_latency_p99_seconds", prometheus.Labels{"request": "total"}); got <= 0 {
		t.Errorf("merged p99 %g", got)
	}
}

// TestStallShowsAtP99: a server that stalls for 500 ms (every request arriving in the
// stall waits for its end) shows the stall at p99 with any worker count: latency is
// measured from the intended send time in every worker.
func TestStallShowsAtP99(t *testing.T) {
	var stallEnd atomic.Int64 // unix ns; set when iteration 100 arrives
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("n") == "100" {
			stallEnd.CompareAndSwap(0, time.Now().Add(500*time.Millisecond).UnixNano())
		}
		if d := time.Until(time.Unix(0, stallEnd.Load())); d > 0 {
			time.Sleep(d)
		}
	}))
	defer srv.Close()
	path := scenario(t, 100, "2s")
	workers := []int{2, 4}
	if testing.Short() {
		workers = []int{4}
	}
	for _, n := range workers {
		stallEnd.Store(0)
		res, _ := runCluster(t, path, n, pipeline.Config{BaseURL: srv.URL}, nil)
		if p99 := res.Total.Latency.P99; p99 < 400 || p99 > 700 {
			t.Errorf("%d workers: p99 %.1fms; want the 500 ms stall", n, p99)
		}
		if p50 := res.Total.Latency.P50; p50 > 50 {
			t.Errorf("%d workers: p50 %.1fms; want the fast answers", n, p50)
		}
	}
}

// TestRejoin: a worker killed mid-run and restarted with its index rejoins: it resumes at
// the run's current iteration (the iterations due while it was away are not sent, none
// twice), and the run reports it lost, rejoined, with its shortfall.
func TestRejoin(t *testing.T) {
	tg := newTarget(t)
	path := scenario(t, 100, "4s")
	spec, data := loadSpec(t, path)
	token := cluster.NewToken()
	c, addr, status := coordinator(t, 2, token, data, path)
	procs, err := cluster.StartProcesses([]*exec.Cmd{workerCmd(t, addr, token, path, 0), workerCmd(t, addr, token, path, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer procs.Wait(10 * time.Second)
	restarted := make(chan *cluster.Processes, 1)
	go func() { // ends once worker 1 was killed and restarted
		_ = waitFor(20*time.Second, func() bool { return tg.n.Load() >= 150 })
		_ = procs.Signal(1, syscall.SIGKILL)
		_ = waitFor(10*time.Second, func() bool { return strings.Contains(status.String(), "worker 1 lost") })
		p, err := cluster.StartProcesses([]*exec.Cmd{workerCmd(t, addr, token, path, 1)})
		if err != nil {
			t.Error(err)
		}
		restarted <- p
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	res, err := pipeline.Run(ctx, spec, pipeline.Config{BaseURL: tg.URL, Seed: 7, MaxLateness: time.Second, Generator: c})
	if p := <-restarted; p != nil {
		p.Wait(10 * time.Second)
	}
	if err != nil {
		t.Fatal(err)
	}
	w1 := res.Workers[1]
	if !w1.Lost || w1.RejoinedAtS <= w1.LostAtS || w1.Planned != 200 || w1.Sent >= 200 || w1.Sent < 80 {
		t.Errorf("worker 1: %+v; want lost, rejoined later, fewer than its 200 sent\n%s", w1, status)
	}
	if res.Verdict != reports.Invalid || res.Generator.Planned != 400 || res.Generator.Sent != res.Workers[0].Sent+w1.Sent {
		t.Errorf("verdict %s, planned %d, sent %d; want INVALID (a lost worker), 400 planned", res.Verdict, res.Generator.Planned, res.Generator.Sent)
	}
	if _, twice := tg.iterations(); len(twice) > 0 {
		t.Errorf("iterations sent twice: %v", twice)
	}
	// No burst: after the rejoin, worker 1 sent the iterations due from then on, not those
	// due while it was away (what its intervals reported is what the target saw, give or
	// take those in flight at the kill).
	var planned uint64
	for _, p := range res.Timeline {
		planned += p.Planned
	}
	if planned != 400 {
		t.Errorf("the timeline plans %d, want 400", planned)
	}
	// Every iteration arrived close to its intended time (start + n × 10 ms): no catching
	// up after the rejoin.
	tg.mu.Lock()
	defer tg.mu.Unlock()
	for n, at := range tg.first {
		if late := at.Sub(res.Start.Add(time.Duration(n) * 10 * time.Millisecond)); late > 300*time.Millisecond {
			t.Errorf("iteration %d arrived %s after its intended time", n, late)
		}
	}
}
