package cluster_test

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	dto "github.com/prometheus/client_model/go"

	"github.com/trendtactics/loadlab/chaos/verify"
	"github.com/trendtactics/loadlab/internal/testutil"
	"github.com/trendtactics/loadlab/loadgen"
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
		if res.Verdict == reports.Invalid && cpuBound(res.Generator.Reasons) {
			// The generator's own self-check: on this machine, this minute, it could not send
			// on time, so the run measures the machine. Once more, then skip saying why.
			t.Logf("%d workers: the run is invalid by the generator's self-check, once more: %q", n, res.Generator.Reasons)
			tg.iterations()
			if res, status = runCluster(t, path, n, pipeline.Config{BaseURL: tg.URL}, nil); res.Verdict == reports.Invalid && cpuBound(res.Generator.Reasons) {
				t.Skipf("%d workers: the machine is too busy to measure: %q", n, res.Generator.Reasons)
			}
		}
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
		// 10% of the requests (every tenth iteration) take at least 50 ms at the target: the
		// merged histograms hold every response (400), at least the 40 slow ones at 50 ms or
		// more, so p95 is 50 ms or more, as in one process. How much more, and how slow the
		// fast ones are, is the machine's (logged, never judged: 4 workers built with -race on
		// a shared 2-core machine add their scheduling delays); the merge itself is exact
		// (result's merge tests).
		lat, ref := res.Total.Latency, one.Total.Latency
		for name, r := range map[string]*result.Result{"one process": one, fmt.Sprintf("%d workers", n): res} {
			h := r.Total.ServiceHist
			if h == nil || h.TotalCount() != 400 || slowCount(h, 50*time.Millisecond) < 40 || r.Total.Latency.P95 < 50 {
				var total, slow int64
				if h != nil {
					total, slow = h.TotalCount(), slowCount(h, 50*time.Millisecond)
				}
				t.Errorf("%s: the service-time histogram holds %d responses, %d of 50 ms or more, p95 %.2fms; want 400, at least the target's 40 slow ones, p95 >= 50ms",
					name, total, slow, r.Total.Latency.P95)
			}
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
	// A refusal is final at once, whatever the join timeout (one that was tried again would
	// come back after 30 s as another error).
	good := cluster.WorkerConfig{Coordinator: addr, Token: "right", Version: testVersion, Index: 0, Scenario: data, Path: path,
		JoinTimeout: 30 * time.Second}
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
	// A worker whose stream is of another encoding (JSON lines, as before CBOR) is refused.
	var protos http.Protocols
	protos.SetUnencryptedHTTP2(true)
	client := &http.Client{Transport: &http.Transport{Protocols: &protos}}
	req, _ := http.NewRequest(http.MethodPost, "http://"+addr+cluster.JoinPath, strings.NewReader("{}\n"))
	req.Header.Set("Authorization", "Bearer right")
	req.Header.Set("Loadgen-Version", testVersion)
	req.Header.Set("Content-Type", "application/x-ndjson")
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnsupportedMediaType || !strings.Contains(string(body), `the worker's stream is "application/x-ndjson"`) {
		t.Errorf("a JSON stream: %d %s; want 415 naming its type", resp.StatusCode, body)
	}
	cancel()
	<-joined
}

// TestWorkerStopsWithoutCoordinator: a worker whose coordinator dies stops its load, and
// sends nothing due after that; it stops when the coordinator's stream ends (SIGKILL: the
// kernel closes its connections), or, when the coordinator just goes silent (SIGSTOP: a
// machine that froze, or a network that dropped it, leaves the connection open), at its
// silence deadline: at most 2 s after the coordinator's last message, by the worker's own
// account (its log). What the test asserts holds on a machine of any load: at the target,
// every request's intended time (the run's start plus the schedule's offset of its
// iteration; the engine never sends an iteration before it is due) is no later than the
// moment the worker logged it had stopped its load; nothing arrives after the worker has
// exited; and a worker that went on sending through a longer deadline would have sent
// iterations due after it. How long the stop took on this machine is logged.
func TestWorkerStopsWithoutCoordinator(t *testing.T) {
	for _, tc := range []struct {
		name   string
		sig    syscall.Signal
		reason string // of the loss, in the worker's log
	}{
		{"SIGKILL", syscall.SIGKILL, ".+"}, // the stream's end (or its silence, when it came first)
		{"SIGSTOP", syscall.SIGSTOP, `silent for (\S+) since its last message at (\S+)`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tg := newTarget(t)
			path := scenario(t, 100, "60s")
			spec, _ := loadSpec(t, path)
			pacer, err := loadgen.PacerFor(spec.Load)
			if err != nil {
				t.Fatal(err)
			}
			token := cluster.NewToken()
			coord := exec.Command(os.Args[0], "-test.run=^$")
			coord.Env = append(os.Environ(), "CLUSTER_TEST_ROLE=coordinator", "CLUSTER_SCENARIO="+path, "CLUSTER_WORKERS=1",
				"LOADGEN_TOKEN="+token, "CLUSTER_TARGET="+tg.URL)
			coord.Stderr = testWriter{t}
			line := testutil.StartLine(t, coord) // killed at the end (a stopped process too)
			addr, ok := strings.CutPrefix(line, "addr=")
			if !ok {
				t.Fatalf("the coordinator printed %q, not its address", line)
			}
			log := &testutil.Buffer{}
			w := workerCmd(t, addr, token, path, 0)
			w.Env = append(w.Env, "CLUSTER_SILENCE=") // the product's CoordinatorSilence
			w.Stderr = io.MultiWriter(testWriter{t}, log)
			procs, err := cluster.StartProcesses([]*exec.Cmd{w})
			if err != nil {
				t.Fatal(err)
			}
			defer procs.Wait(5 * time.Second)
			if err := waitFor(20*time.Second, func() bool { return tg.n.Load() >= 100 }); err != nil {
				t.Fatalf("the worker sent %d requests in 20 s", tg.n.Load())
			}
			if err := coord.Process.Signal(tc.sig); err != nil {
				t.Fatal(err)
			}
			signalled := time.Now()
			// The worker's plan lasts 60 s: one that went on without its coordinator would
			// still be sending. (Its exit, after the stop, takes seconds under -race on a
			// loaded machine.)
			if err := waitFor(50*time.Second, func() bool { return procs.Exited(0) }); err != nil {
				t.Fatalf("the worker did not exit within 50 s of its coordinator's %s", tc.name)
			}
			exited, atExit := time.Now(), tg.n.Load()
			time.Sleep(300 * time.Millisecond)
			if n := tg.n.Load(); n != atExit {
				t.Errorf("%d requests arrived after the worker exited", n-atExit)
			}

			text := log.String()
			start := logTime(t, text, `the load starts at (\S+)`, 1)
			m := regexp.MustCompile(`lost the coordinator: (.*): stopped the load at (\S+)`).FindStringSubmatch(text)
			if m == nil {
				t.Fatalf("the worker did not log that it lost its coordinator and stopped the load:\n%s", text)
			}
			stopped := logTime(t, m[0], `stopped the load at (\S+)`, 1)
			r := regexp.MustCompile(tc.reason).FindStringSubmatch(m[1])
			if r == nil {
				t.Fatalf("the worker lost its coordinator because %q; want %q", m[1], tc.reason)
			}
			t.Logf("the worker lost its coordinator: %s", m[1])
			if tc.sig == syscall.SIGSTOP {
				// The deadline: counted from the coordinator's last message, at most 2 s.
				deadline, err := time.ParseDuration(r[1])
				if err != nil {
					t.Fatal(err)
				}
				last := logTime(t, m[1], `since its last message at (\S+)`, 1)
				if deadline > 2*time.Second || stopped.Before(last.Add(deadline)) {
					t.Errorf("last message at %s, silence deadline %s, stopped at %s: want a deadline of at most 2 s after the last message, and the stop after it",
						last.Format(time.StampMicro), deadline, stopped.Format(time.StampMicro))
				}
				t.Logf("the coordinator's last message %s before its SIGSTOP; the worker stopped its load %s after that message (deadline %s)",
					signalled.Sub(last).Round(time.Millisecond), stopped.Sub(last).Round(time.Millisecond), deadline)
			}
			// Nothing due after the stop reached the target. (1 ms: the wall clock against the
			// monotonic one the engine waits on.)
			tg.mu.Lock()
			var latest time.Time
			late := 0
			for n := range tg.first {
				off, ok := pacer.At(uint64(n) + 1)
				if !ok {
					t.Errorf("iteration %d is past the schedule", n)
					continue
				}
				due := start.Add(off)
				if due.After(latest) {
					latest = due
				}
				if due.After(stopped.Add(time.Millisecond)) {
					late++
				}
			}
			seen := len(tg.first)
			tg.mu.Unlock()
			if late > 0 {
				t.Errorf("%d of %d iterations at the target were due after the worker stopped its load at %s (the latest due at %s)",
					late, seen, stopped.Format(time.StampMicro), latest.Format(time.StampMicro))
			}
			t.Logf("%d iterations; the last due %s before the stop; the stop %s after the %s, the exit %s after it",
				seen, stopped.Sub(latest).Round(time.Millisecond), stopped.Sub(signalled).Round(time.Millisecond), tc.name,
				exited.Sub(signalled).Round(time.Millisecond))
		})
	}
}

// logTime parses the time of group g of the first match of expr in text.
func logTime(t *testing.T, text, expr string, g int) time.Time {
	t.Helper()
	m := regexp.MustCompile(expr).FindStringSubmatch(text)
	if m == nil {
		t.Fatalf("no %q in the worker's log:\n%s", expr, text)
	}
	at, err := time.Parse(time.RFC3339Nano, m[g])
	if err != nil {
		t.Fatal(err)
	}
	return at
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
			path := scenario(t, 100, "4s")
			if tc.budget != "" {
				withLoad(t, path, tc.budget)
			}
			reg := prometheus.NewRegistry()
			res, status := runCluster(t, path, 2, pipeline.Config{BaseURL: tg.URL, Registry: reg}, func(p *cluster.Processes) {
				// 1.5 s into the load, once the coordinator has worker 1's first interval
				// record (its live metrics come with it): on a starved machine a worker's
				// first second may reach the coordinator late. Its last of 200 iterations is
				// planned at 4 s.
				_ = waitFor(20*time.Second, func() bool {
					return tg.n.Load() >= 150 && gathered(reg, "loadgen_worker_iterations_sent_total", "1") > 0
				})
				_ = p.Signal(1, syscall.SIGKILL)
			})
			if len(res.Workers) != 2 {
				t.Fatalf("workers %+v", res.Workers)
			}
			w0, w1 := res.Workers[0], res.Workers[1]
			if !w1.Lost && w1.Sent == w1.Planned {
				// The precondition, not the mechanism: the SIGKILL landed after worker 1 had
				// sent its whole share, which only a machine too busy to run the test's own
				// goroutine for seconds does.
				t.Skipf("worker 1 sent all %d of its iterations before the SIGKILL landed: the machine was too busy to kill it mid-run\n%s", w1.Planned, status)
			}
			if res.Verdict != tc.verdict && (tc.verdict != reports.Pass || !cpuBound(res.Generator.Reasons)) {
				t.Errorf("verdict %s (%q), want %s", res.Verdict, res.Generator.Reasons, tc.verdict)
			}
			named := slices.ContainsFunc(res.Generator.Reasons, func(r string) bool { return strings.HasPrefix(r, "worker 1: lost at") })
			beyond := slices.Contains(res.Generator.Reasons, "1 of 2 workers lost, beyond the budget of lost workers (0 lost)")
			if named != (tc.budget == "") || beyond != (tc.budget == "") {
				t.Errorf("reasons %q; want worker 1 named as lost, beyond the budget: %v\n%s", res.Generator.Reasons, tc.budget == "", status)
			}
			if !w1.Lost || w1.Valid || w1.Planned != 200 || w1.Sent >= w1.Planned || w1.Sent == 0 || !strings.HasPrefix(w1.Reasons[0], "lost at") {
				t.Errorf("worker 1: %+v; want lost, 200 planned, fewer sent", w1)
			}
			// Worker 0 sends its whole share; it stays valid unless its own self-check found
			// it could not keep its schedule on this machine (its reasons say so).
			if w0.Lost || w0.Sent != 200 || !w0.Valid && !cpuBound(w0.Reasons) {
				t.Errorf("worker 0: %+v; want its 200 sent", w0)
			}
			// Live metrics: worker 1 is lost, its gauges left the merge, its counters stay.
			if got := testutil.Value(t, reg, "loadgen_worker_lost", prometheus.Labels{"worker": "1"}); got != 1 {
				t.Errorf("loadgen_worker_lost{worker=1} %g, want 1", got)
			}
			if got := testutil.Sum(t, reg, "loadgen_worker_in_flight", prometheus.Labels{"worker": "1"}); got != 0 {
				t.Errorf("the lost worker's in-flight gauge is still served: %g", got)
			}
			if got := testutil.Value(t, reg, "loadgen_worker_iterations_sent_total", prometheus.Labels{"worker": "1"}); got == 0 {
				t.Error("the lost worker's sent counter left the merge")
			}
			var planned uint64
			for _, p := range res.Timeline {
				planned += p.Planned
			}
			if planned != 400 || res.Generator.Planned != 400 || res.Generator.Sent != w0.Sent+w1.Sent {
				t.Errorf("timeline plans %d, generator planned %d sent %d; want 400 planned, %d sent", planned, res.Generator.Planned, res.Generator.Sent, w0.Sent+w1.Sent)
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
	res, status := runCluster(t, path, 2, pipeline.Config{BaseURL: tg.URL}, nil)
	if res.Verdict != reports.Fail || !strings.Contains(res.StopReason, "errors") || len(res.Thresholds) != 1 || !res.Thresholds[0].Aborted {
		t.Errorf("verdict %s (%q), stop reason %q, thresholds %+v; want FAIL, aborted by the errors threshold", res.Verdict, res.Generator.Reasons, res.StopReason, res.Thresholds)
	}
	if res.Interrupted || len(res.Events) == 0 || res.Events[0].Kind != result.EventAbort {
		t.Errorf("interrupted %v, events %+v; want an abort event", res.Interrupted, res.Events)
	}
	// Stopped early: fewer sent than the 1000 planned (how many fewer is how fast the
	// machine started the workers and carried the abort to them), and no worker lost: each
	// stopped when told, within the coordinator's grace, instead of being given up on.
	if res.Generator.Sent >= 1000 || res.Generator.Sent == 0 {
		t.Errorf("sent %d of 1000; want the load stopped early", res.Generator.Sent)
	}
	for _, w := range res.Workers {
		if w.Lost || w.Sent >= 500 {
			t.Errorf("worker %d lost %v, sent %d of its 500: %v\n%s", w.Index, w.Lost, w.Sent, w.Reasons, status)
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

// TestMetrics: a coordinator's /metrics, scraped over HTTP during and after a run with 2
// worker processes, serves the run as one generator: every family a run in one process
// serves, under its name and labels (no worker label), with the merged values (counts
// equal to the result's, the latency histogram's mean the result's); and per-worker
// series (sent, lateness, CPU, memory, lost) with a worker label.
func TestMetrics(t *testing.T) {
	tg := newTarget(t)
	path := scenario(t, 100, "3s")

	// The families of a run in one process.
	spec, _ := loadSpec(t, path)
	single := prometheus.NewRegistry()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := pipeline.Run(ctx, spec.Scaled(0.34), pipeline.Config{BaseURL: newTarget(t).URL, Seed: 7, MaxLateness: time.Second, Registry: single}); err != nil {
		t.Fatal(err)
	}
	fams, err := single.Gather()
	if err != nil {
		t.Fatal(err)
	}

	reg := prometheus.NewRegistry()
	srv := httptest.NewServer(promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg}))
	defer srv.Close()
	during := make(chan prometheus.Gatherer, 1)
	res, _ := runCluster(t, path, 2, pipeline.Config{BaseURL: tg.URL, Registry: reg}, func(*cluster.Processes) {
		// Mid-run, once both workers have sent their first interval.
		var g prometheus.Gatherer
		_ = waitFor(20*time.Second, func() bool {
			g = scrapeOnce(t, srv.URL+"/metrics")
			return testutil.Sum(t, g, "loadgen_worker_cpu_seconds_total", prometheus.Labels{"worker": "0"}) > 0 &&
				testutil.Sum(t, g, "loadgen_worker_cpu_seconds_total", prometheus.Labels{"worker": "1"}) > 0
		})
		during <- g
	})
	after := scrapeOnce(t, srv.URL+"/metrics")

	// During the run: the merged gauges and histograms, and each worker's series.
	mid := <-during
	if got := testutil.Value(t, mid, "loadgen_target_rate", nil); got != 100 {
		t.Errorf("during the run: target rate %g, want 100 (50 per worker)", got)
	}
	if got := testutil.Value(t, mid, "loadgen_request_duration_seconds", prometheus.Labels{"request": "a"}); got == 0 {
		t.Error("during the run: no latency of request a")
	}
	testutil.Value(t, mid, "loadgen_in_flight", nil)
	for _, w := range []string{"0", "1"} {
		by := prometheus.Labels{"worker": w}
		if testutil.Value(t, mid, "loadgen_worker_iterations_sent_total", by) == 0 || testutil.Value(t, mid, "loadgen_worker_lateness_seconds", by) == 0 ||
			testutil.Value(t, mid, "loadgen_worker_cpu_seconds_total", by) <= 0 || testutil.Value(t, mid, "loadgen_worker_resident_memory_bytes", by) <= 0 {
			t.Errorf("during the run: worker %s has no sent, lateness, CPU or memory series", w)
		}
	}

	// After it: every family of a run in one process, with its labels, and the result's values.
	got := map[string]*dto.MetricFamily{}
	gathered, _ := after.Gather()
	for _, f := range gathered {
		got[f.GetName()] = f
	}
	for _, f := range fams {
		g := got[f.GetName()]
		if g == nil {
			t.Errorf("family %s of a run in one process is not served", f.GetName())
			continue
		}
		if g.GetType() != f.GetType() || labelNames(g) != labelNames(f) {
			t.Errorf("family %s: %s with labels %s, in one process %s with labels %s", f.GetName(), g.GetType(), labelNames(g), f.GetType(), labelNames(f))
		}
	}
	for name, want := range map[string]uint64{
		"loadgen_iterations_sent_total":    res.Generator.Sent,
		"loadgen_iterations_planned_total": res.Generator.Planned,
		"loadgen_lateness_seconds":         res.Generator.Sent,
		"loadgen_responses_total":          res.Total.Count,
	} {
		if got := testutil.Sum(t, after, name, nil); got != float64(want) {
			t.Errorf("%s %g, the result %d", name, got, want)
		}
	}
	for _, rq := range res.Requests {
		by := prometheus.Labels{"request": rq.Name}
		if got := testutil.Value(t, after, "loadgen_request_duration_seconds", by); got != float64(rq.Count) {
			t.Errorf("request %s: %g latencies, the result %d", rq.Name, got, rq.Count)
		}
		if got := testutil.Value(t, after, "loadgen_responses_total", prometheus.Labels{"request": rq.Name, "status": "200"}); got != float64(rq.Statuses["200"]) {
			t.Errorf("request %s: %g responses 200, the result %d", rq.Name, got, rq.Statuses["200"])
		}
		// The histograms' sum over their count is the result's mean (HDR's precision).
		h := series1(t, got["loadgen_request_duration_seconds"], rq.Name).GetHistogram()
		if mean := 1000 * h.GetSampleSum() / float64(h.GetSampleCount()); math.Abs(mean-rq.Latency.Mean) > 0.01*rq.Latency.Mean+0.01 {
			t.Errorf("request %s: mean latency %.3fms on /metrics, %.3fms in the result", rq.Name, mean, rq.Latency.Mean)
		}
	}
	for _, w := range res.Workers {
		by := prometheus.Labels{"worker": strconv.Itoa(w.Index)}
		if got := testutil.Value(t, after, "loadgen_worker_iterations_sent_total", by); got != float64(w.Sent) {
			t.Errorf("worker %d: sent %g, the result %d", w.Index, got, w.Sent)
		}
		if got := testutil.Value(t, after, "loadgen_worker_lateness_seconds", by); got != float64(w.Sent) {
			t.Errorf("worker %d: %g latenesses, want one per sent iteration (%d)", w.Index, got, w.Sent)
		}
		if got := testutil.Value(t, after, "loadgen_worker_lost", by); got != 0 {
			t.Errorf("worker %d: lost %g", w.Index, got)
		}
	}
	if got := testutil.Value(t, after, "loadgen_cluster_workers", prometheus.Labels{"state": "done"}); got != 2 {
		t.Errorf("%g workers done, want 2", got)
	}
	// The merged p99 of the last closed second is the result's (both from the merged HDR
	// histograms). That second may be a partial one after the load in which no response
	// came (a recorder running late on a loaded machine): its p99 is compared, not
	// required above zero.
	lastP99 := func(name string, tl []result.Point) {
		t.Helper()
		if len(tl) == 0 {
			t.Errorf("request %s: no timeline in the result", name)
			return
		}
		want := tl[len(tl)-1].P99 / 1000
		if got := testutil.Value(t, after, "loadgen_cluster_latency_p99_seconds", prometheus.Labels{"request": name}); got != want {
			t.Errorf("request %s: merged p99 of the last second %gs, the result's %gs", name, got, want)
		}
	}
	lastP99("total", res.Timeline)
	for _, rq := range res.Requests {
		lastP99(rq.Name, rq.Timeline)
	}
}

// labelNames are the label names of a family's first series.
func labelNames(f *dto.MetricFamily) string {
	var names []string
	if len(f.GetMetric()) > 0 {
		for _, lp := range f.GetMetric()[0].GetLabel() {
			names = append(names, lp.GetName())
		}
	}
	return strings.Join(names, ",")
}

// series1 is the series of f with label request=name.
func series1(t *testing.T, f *dto.MetricFamily, name string) *dto.Metric {
	t.Helper()
	for _, m := range f.GetMetric() {
		for _, lp := range m.GetLabel() {
			if lp.GetName() == "request" && lp.GetValue() == name {
				return m
			}
		}
	}
	t.Fatalf("no series of %s with request %s", f.GetName(), name)
	return nil
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
		// The request that began the stall waited 500 ms and those arriving in it until its
		// end (a quarter of the 200): p99 shows the stall (at least 400 ms whatever the
		// machine), the median does not (below the stall's 500 ms by a margin no busy
		// machine's delays reach; on a quiet one it is about a millisecond).
		lat := res.Total.Latency
		if lat.P99 < 400 {
			t.Errorf("%d workers: p99 %.1fms; want the 500 ms stall", n, lat.P99)
		}
		if lat.P50 >= 250 {
			t.Errorf("%d workers: p50 %.1fms; want the fast answers, below the stall", n, lat.P50)
		}
		t.Logf("%d workers: p50 %.1fms p99 %.1fms max %.1fms", n, lat.P50, lat.P99, lat.Max)
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
	procs := startWorkers(t, addr, token, path, 2)
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
	reg := prometheus.NewRegistry()
	res, err := pipeline.Run(ctx, spec, pipeline.Config{BaseURL: tg.URL, Seed: 7, MaxLateness: time.Second, Generator: c, Registry: reg})
	if p := <-restarted; p != nil {
		p.Wait(10 * time.Second)
	}
	if err != nil {
		t.Fatal(err)
	}
	w1 := res.Workers[1]
	// The rejoined process sent its share of the iterations from the one it resumed at (odd
	// ones: worker 1 of 2), and they count in the worker's sent.
	m := regexp.MustCompile(`worker 1 rejoined from .*at global iteration (\d+)`).FindStringSubmatch(status.String())
	if m == nil {
		t.Fatalf("the coordinator did not log worker 1's rejoin:\n%s", status)
	}
	from, _ := strconv.Atoi(m[1])
	resumed := 0
	tg.mu.Lock()
	for n := range tg.first {
		if n >= from && n%2 == 1 {
			resumed++
		}
	}
	tg.mu.Unlock()
	if !w1.Lost || w1.RejoinedAtS <= w1.LostAtS || w1.Planned != 200 || w1.Sent >= 200 || resumed == 0 || w1.Sent < uint64(resumed) {
		t.Errorf("worker 1: %+v, %d iterations from %d at the target; want lost, rejoined later, fewer than its 200 sent, "+
			"those after the rejoin among them\n%s", w1, resumed, from, status)
	}
	if res.Verdict != reports.Invalid || res.Generator.Planned != 400 || res.Generator.Sent != res.Workers[0].Sent+w1.Sent {
		t.Errorf("verdict %s, planned %d, sent %d; want INVALID (a lost worker), 400 planned", res.Verdict, res.Generator.Planned, res.Generator.Sent)
	}
	if _, twice := tg.iterations(); len(twice) > 0 {
		t.Errorf("iterations sent twice: %v", twice)
	}
	// Live metrics: the rejoined worker's counters continue those of its first process.
	if got := testutil.Value(t, reg, "loadgen_worker_iterations_sent_total", prometheus.Labels{"worker": "1"}); got != float64(w1.Sent) {
		t.Errorf("loadgen_worker_iterations_sent_total{worker=1} %g, the result %d", got, w1.Sent)
	}
	if got := testutil.Value(t, reg, "loadgen_iterations_sent_total", nil); got != float64(res.Generator.Sent) {
		t.Errorf("loadgen_iterations_sent_total %g, the result %d", got, res.Generator.Sent)
	}
	if got := testutil.Value(t, reg, "loadgen_worker_lost", prometheus.Labels{"worker": "1"}); got != 0 {
		t.Errorf("loadgen_worker_lost{worker=1} %g after the rejoin, want 0", got)
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
	// Worker 1's iterations (odd ones) arrived close to their intended times (start + n ×
	// 10 ms): no catching up after the rejoin. A catch-up would send the first iteration
	// due while worker 1 was away at its rejoin, late by the whole time away (the SIGKILL,
	// noticing it, starting a process: seconds on a busy machine). Worker 0 (even ones)
	// never left: its worst lateness is the machine's, measured in the same run (0.9 s at
	// load 23). Half the time away (at least 300 ms) beyond that tells the two apart.
	away := time.Duration((w1.RejoinedAtS - w1.LostAtS) * float64(time.Second))
	tg.mu.Lock()
	defer tg.mu.Unlock()
	lateness := func(n int) time.Duration {
		return tg.first[n].Sub(res.Start.Add(time.Duration(n) * 10 * time.Millisecond))
	}
	var machine time.Duration
	for n := range tg.first {
		if n%2 == 0 {
			machine = max(machine, lateness(n))
		}
	}
	bound := machine + max(300*time.Millisecond, away/2)
	for n := range tg.first {
		if late := lateness(n); n%2 == 1 && late > bound {
			t.Errorf("worker 1's iteration %d arrived %s after its intended time, worker 0's at most %s late; worker 1 was away %s", n, late, machine, away)
		}
	}
}

// TestLostWorkerWrites: a worker streams its write log with its intervals, so the writes
// of a worker killed mid-run are in the coordinator's write log up to its last interval,
// and the verification (chaos/verify's enrollments-durable, on the target's ledger as the
// state) judges them: none lost; what it wrote after its last report is counted as
// unrecorded, so the claims of those writes are not taken for unexpected ones.
func TestLostWorkerWrites(t *testing.T) {
	var (
		mu     sync.Mutex
		claims []verify.Claim
	)
	tg := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		course, ok := verify.CoursePath(r.URL.Path)
		if r.Method != http.MethodPost || !ok {
			http.Error(w, `{"error":"not an enrollment"}`, http.StatusBadRequest)
			return
		}
		mu.Lock()
		claims = append(claims, verify.Claim{User: "u1", Course: course, CourseID: course,
			Key: r.Header.Get("Idempotency-Key"), CreatedAt: time.Now()})
		mu.Unlock()
		w.WriteHeader(http.StatusCreated)
	}))
	defer tg.Close()
	// A bearer token whose sub is u1 (the generator reads it unverified).
	jwt := "e30." + base64.RawURLEncoding.EncodeToString([]byte(`{"sub":"u1"}`)) + ".x"
	path := filepath.Join(t.TempDir(), "writes.yaml")
	src := `version: 1
name: writes
target: {url: "http://127.0.0.1:1"}
workload:
  - name: enroll
    request:
      method: POST
      url: "/v1/courses/c-{{ seq }}/enrollments"
      headers: {Authorization: "Bearer ` + jwt + `", Idempotency-Key: "k-{{ seq }}"}
      write: enrollment
      expect: {status: 201}
load: {executor: constant-arrival-rate, rate: 100, duration: 3s, maxInFlight: 200, maxLostWorkers: 1}
verify: [enrollments-durable]
`
	if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	spec, data := loadSpec(t, path)
	token := cluster.NewToken()
	c, addr, status := coordinator(t, 2, token, data, path)
	procs := startWorkers(t, addr, token, path, 2)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	log := &result.WriteLog{}
	reg := prometheus.NewRegistry()
	opts := loadgen.Options{BaseURL: tg.URL, Seed: 7, MaxLateness: time.Second, Writes: log, Registry: reg}
	start, err := c.Ready(ctx, spec, opts)
	if err != nil {
		t.Fatal(err)
	}
	opts.StartAt = start
	go func() { // kills worker 1 once the coordinator has its first interval, 1.5 s into its load at the least
		_ = waitFor(20*time.Second, func() bool {
			return time.Since(start) > 1500*time.Millisecond && gathered(reg, "loadgen_worker_iterations_sent_total", "1") > 0
		})
		_ = procs.Signal(1, syscall.SIGKILL)
	}()
	res, err := c.Run(ctx, spec, opts)
	if err != nil {
		t.Fatal(err)
	}
	w1 := res.Workers[1]
	if !w1.Lost || w1.Sent == 0 {
		t.Fatalf("worker 1: %+v; want lost after it sent\n%s", w1, status)
	}
	// The killed worker's writes (odd iterations) are in the log: all it reported sent, as
	// acknowledged writes the target has.
	ws := log.Writes()
	var mine uint64
	for _, w := range ws {
		n, _ := strconv.Atoi(strings.TrimPrefix(w.Key, "k-"))
		if n%2 == 1 {
			mine++
			if w.Outcome != result.OutcomeOK {
				t.Errorf("worker 1's write %s: outcome %s, want ok", w.Key, w.Outcome)
			}
		}
	}
	if mine == 0 || mine < w1.Sent {
		t.Errorf("the write log has %d of the killed worker's writes; it reported %d sent", mine, w1.Sent)
	}
	if log.Dropped() == 0 {
		t.Error("the writes the killed worker may have sent after its last report are not counted unrecorded")
	}
	mu.Lock()
	st := verify.State{Claims: slices.Clone(claims)}
	mu.Unlock()
	check := verify.Enrollments(verify.Input{Writes: ws, Unrecorded: log.Dropped(), Since: res.Start}, st)
	if !check.Pass || check.Lost != 0 || check.Unexpected != 0 || check.Present != len(ws) {
		t.Errorf("verification: %+v; want every logged write present, none lost or unexpected", check)
	}
	t.Logf("%d writes logged (%d of the killed worker's, %d unrecorded), %d claims; %s", len(ws), mine, log.Dropped(), len(st.Claims), check.Detail)
}
