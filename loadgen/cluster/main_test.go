package cluster_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/trendtactics/loadlab/internal/testutil"
	"github.com/trendtactics/loadlab/loadgen/cluster"
	"github.com/trendtactics/loadlab/loadgen/pipeline"
	"github.com/trendtactics/loadlab/result"
	"github.com/trendtactics/loadlab/scenarios"
)

// The test binary is also the worker and the coordinator processes of the tests: with
// CLUSTER_TEST_ROLE set, TestMain runs that role (on the scenario file CLUSTER_SCENARIO)
// instead of the tests.
func TestMain(m *testing.M) {
	role := os.Getenv("CLUSTER_TEST_ROLE")
	if role == "" {
		os.Exit(m.Run())
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	path := os.Getenv("CLUSTER_SCENARIO")
	data, err := os.ReadFile(path)
	if err == nil && role == "worker" {
		err = workerMain(ctx, path, data)
	} else if err == nil {
		err = coordinatorMain(ctx, path, data)
	}
	stop()
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", role, err)
		os.Exit(1)
	}
	os.Exit(0)
}

const testVersion = "test-1"

// workerMain is a worker process: loadgen worker, without the CLI.
func workerMain(ctx context.Context, path string, data []byte) error {
	index, _ := strconv.Atoi(os.Getenv("CLUSTER_INDEX"))
	silence, _ := time.ParseDuration(os.Getenv("CLUSTER_SILENCE")) // "": the product's
	return cluster.RunWorker(ctx, cluster.WorkerConfig{
		Coordinator: os.Getenv("CLUSTER_ADDR"), Token: os.Getenv("LOADGEN_TOKEN"), Version: testVersion,
		Index: index, Scenario: data, Path: path, Log: os.Stderr, Silence: silence,
	})
}

// coordinatorMain is a coordinator process: it prints its address, runs the scenario with
// CLUSTER_WORKERS workers against CLUSTER_TARGET and prints the verdict.
func coordinatorMain(ctx context.Context, path string, data []byte) error {
	spec, err := scenarios.LoadBytes(path, data, filepath.Dir(path))
	if err != nil {
		return err
	}
	n, _ := strconv.Atoi(os.Getenv("CLUSTER_WORKERS"))
	c, err := cluster.NewCoordinator(cluster.Config{Workers: n, Token: os.Getenv("LOADGEN_TOKEN"), Version: testVersion,
		Scenario: data, Path: path, Status: os.Stderr})
	if err != nil {
		return err
	}
	ln, err := cluster.ListenLocal()
	if err != nil {
		return err
	}
	go cluster.NewServer(c, nil).Serve(ln) // ends when the process exits
	fmt.Printf("addr=%s\n", ln.Addr())
	res, err := pipeline.Run(ctx, spec, pipeline.Config{BaseURL: os.Getenv("CLUSTER_TARGET"), Seed: 7, MaxLateness: time.Second, Generator: c})
	if err != nil {
		return err
	}
	fmt.Printf("verdict=%s\n", res.Verdict)
	return nil
}

// target is a server with a known latency distribution: the request of iteration n (the
// query n) takes 50 ms when n is a multiple of 10, nothing otherwise. It counts the
// iterations it saw.
type target struct {
	*httptest.Server
	status atomic.Int64 // the status it answers (0: 200)
	mu     sync.Mutex
	seen   map[int]int
	first  map[int]time.Time // when each iteration first arrived
	n      atomic.Int64
	last   atomic.Int64 // unix ns of the last request
}

func newTarget(t *testing.T) *target {
	tg := &target{seen: map[int]int{}, first: map[int]time.Time{}}
	tg.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tg.n.Add(1)
		tg.last.Store(time.Now().UnixNano())
		n, _ := strconv.Atoi(r.URL.Query().Get("n"))
		tg.mu.Lock()
		tg.seen[n]++
		if _, ok := tg.first[n]; !ok {
			tg.first[n] = time.Now()
		}
		tg.mu.Unlock()
		if n%10 == 0 {
			time.Sleep(50 * time.Millisecond)
		}
		if code := tg.status.Load(); code != 0 {
			w.WriteHeader(int(code))
		}
	}))
	t.Cleanup(tg.Close)
	return tg
}

// iterations returns the iterations seen and whether any was seen twice, and resets.
func (tg *target) iterations() (seen int, twice []int) {
	tg.mu.Lock()
	defer tg.mu.Unlock()
	for n, c := range tg.seen {
		if c > 1 {
			twice = append(twice, n)
		}
	}
	seen = len(tg.seen)
	tg.seen = map[int]int{}
	return seen, twice
}

func scenario(t *testing.T, rate int, duration string) string {
	t.Helper()
	return scenarioWith(t, rate, duration, `  errors: ["rate < 1%"]`)
}

// scenarioWith is scenario with the given thresholds (YAML lines under thresholds:).
func scenarioWith(t *testing.T, rate int, duration, thresholds string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "cluster.yaml")
	src := fmt.Sprintf(`version: 1
name: cluster
target: {url: "http://127.0.0.1:1"}
workload:
  - name: a
    weight: 3
    request: {url: "/a?n={{ seq }}"}
  - name: b
    weight: 1
    request: {url: "/b?n={{ seq }}"}
load: {executor: constant-arrival-rate, rate: %d, duration: %s, maxInFlight: 200}
thresholds:
%s
`, rate, duration, thresholds)
	if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// withLoad adds fields (YAML flow-mapping entries) to the load of the scenario at path.
func withLoad(t *testing.T, path, fields string) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	src := strings.Replace(string(data), "maxInFlight: 200}", "maxInFlight: 200, "+fields+"}", 1)
	if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
}

func loadSpec(t *testing.T, path string) (*scenarios.Spec, []byte) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	spec, err := scenarios.LoadBytes(path, data, filepath.Dir(path))
	if err != nil {
		t.Fatal(err)
	}
	return spec, data
}

// coordinator serves a coordinator of n workers on loopback until the test ends.
func coordinator(t *testing.T, n int, token string, data []byte, path string, edits ...func(*cluster.Config)) (*cluster.Coordinator, string, *testutil.Buffer) {
	t.Helper()
	status := &testutil.Buffer{}
	cfg := cluster.Config{Workers: n, Token: token, Version: testVersion, Scenario: data, Path: path,
		Status: status, JoinTimeout: 30 * time.Second}
	for _, edit := range edits {
		edit(&cfg)
	}
	c, err := cluster.NewCoordinator(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := cluster.ListenLocal()
	if err != nil {
		t.Fatal(err)
	}
	srv := cluster.NewServer(c, nil)
	go srv.Serve(ln) // ends at srv.Close
	t.Cleanup(func() { srv.Close() })
	return c, ln.Addr().String(), status
}

// workerCmd is worker process i of a coordinator at addr. It stops its load after 10 s
// without a word from its coordinator, not the product's 1.5 s: the coordinator is mostly
// this test process, which a loaded machine starved for more than 1.5 s under -race (its
// workers then stopped, and the test failed on lost workers). The tests of that stop set
// CLUSTER_SILENCE= again for the product's.
func workerCmd(t *testing.T, addr, token, path string, i int) *exec.Cmd {
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "CLUSTER_TEST_ROLE=worker", "CLUSTER_ADDR="+addr, "LOADGEN_TOKEN="+token,
		"CLUSTER_SCENARIO="+path, "CLUSTER_INDEX="+strconv.Itoa(i), "CLUSTER_SILENCE=10s")
	cmd.Stderr = testWriter{t}
	return cmd
}

// startWorkers starts n worker processes of the coordinator at addr; when the test ends
// it waits for them (they exit once their coordinator is done with them).
func startWorkers(t *testing.T, addr, token, path string, n int) *cluster.Processes {
	t.Helper()
	var cmds []*exec.Cmd
	for i := range n {
		cmds = append(cmds, workerCmd(t, addr, token, path, i))
	}
	procs, err := cluster.StartProcesses(cmds)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { procs.Wait(10 * time.Second) })
	return procs
}

// testWriter logs a child's output.
type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Logf("%s", bytes.TrimRight(p, "\n"))
	return len(p), nil
}

// runCluster runs the scenario at path with n local worker processes and cfg (seed 7 and a
// lateness bound of 1 s unless set), the coordinator's configuration edited by edits.
func runCluster(t *testing.T, path string, n int, cfg pipeline.Config, during func(*cluster.Processes), edits ...func(*cluster.Config)) (*result.Result, string) {
	t.Helper()
	spec, data := loadSpec(t, path)
	token := cluster.NewToken()
	c, addr, status := coordinator(t, n, token, data, path, edits...)
	procs := startWorkers(t, addr, token, path, n)
	if during != nil {
		go during(procs)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if cfg.Seed == 0 {
		cfg.Seed = 7
	}
	if cfg.MaxLateness == 0 {
		cfg.MaxLateness = time.Second
	}
	cfg.Generator = c
	res, err := pipeline.Run(ctx, spec, cfg)
	if err != nil {
		t.Fatalf("run with %d workers: %v\n%s", n, err, status)
	}
	return res, status.String()
}

// scrapeOnce scrapes a /metrics endpoint over HTTP and returns what it served, as a
// Gatherer for testutil.Sum and Value.
func scrapeOnce(t *testing.T, url string) prometheus.Gatherer {
	resp, err := http.Get(url)
	if err != nil {
		t.Errorf("scrape %s: %v", url, err)
		return prometheus.NewRegistry()
	}
	defer resp.Body.Close()
	p := expfmt.NewTextParser(model.UTF8Validation)
	byName, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Errorf("scrape %s: %v", url, err)
	}
	fams := make([]*dto.MetricFamily, 0, len(byName))
	for _, f := range byName {
		fams = append(fams, f)
	}
	return prometheus.GathererFunc(func() ([]*dto.MetricFamily, error) { return fams, nil })
}

// gathered is the value of family name's counter of a worker in reg, 0 when there is none
// (safe to call from any goroutine, unlike testutil.Value).
func gathered(reg prometheus.Gatherer, name, worker string) float64 {
	fams, _ := reg.Gather()
	for _, f := range fams {
		if f.GetName() != name {
			continue
		}
		for _, m := range f.GetMetric() {
			for _, lp := range m.GetLabel() {
				if lp.GetName() == "worker" && lp.GetValue() == worker {
					return m.GetCounter().GetValue()
				}
			}
		}
	}
	return 0
}

var errTimeout = errors.New("timed out")

// waitFor polls cond every 20 ms for up to d.
func waitFor(d time.Duration, cond func() bool) error {
	end := time.Now().Add(d)
	for time.Now().Before(end) {
		if cond() {
			return nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	return errTimeout
}

// cpuBound reports whether reasons (a run's or a worker's) are all the generator's own
// self-check that it could not keep its schedule on this machine (the reasons loadgen gives
// for that end in "(CPU-bound)"): such a run measures how busy the machine was, not the
// mechanism under test.
func cpuBound(reasons []string) bool {
	for _, r := range reasons {
		if !strings.HasSuffix(r, "(CPU-bound)") {
			return false
		}
	}
	return len(reasons) > 0
}

// slowCount is how many values of h (microseconds) are at least d.
func slowCount(h *hdrhistogram.Histogram, d time.Duration) int64 {
	var n int64
	for _, b := range h.Distribution() {
		if b.To >= d.Microseconds() {
			n += b.Count
		}
	}
	return n
}
