package dashboards_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/trendtactics/loadlab/dashboards"
	"github.com/trendtactics/loadlab/internal/testutil"
	"github.com/trendtactics/loadlab/reference-app/postgres/pgtemp"
)

// The live tests share one stack, started on first use and stopped by TestMain: a real
// academy (on a throwaway PostgreSQL, with Redis when installed), a real loadgen run against
// it, and, when installed, a real Prometheus scraping both. Everything listens on 127.0.0.1.

func TestMain(m *testing.M) {
	code := m.Run()
	live.stop()
	os.Exit(code)
}

// stack is the running system the live tests look at.
type stack struct {
	once sync.Once
	err  error  // why the stack could not start: the live tests fail with it
	skip string // why the stack was not started: the live tests skip with it

	dir        string
	academyURL string
	redis      bool // the academy used Redis, and Redis was stopped mid-run

	// Scraped by the test itself while the loadgen run was going.
	academyMetrics map[string]*dto.MetricFamily
	loadgenMetrics map[string]*dto.MetricFamily

	promURL string      // "" without Prometheus
	promWhy string      // why there is no Prometheus
	at      time.Time   // a moment of the run at which Prometheus holds data of both, after the test's scrapes
	moments []time.Time // moments of the run to query: 4 s in (Redis up), and at (Redis down)

	mu    sync.Mutex
	procs []*proc // stopped in reverse order
}

var live stack

// liveStack starts the stack once, or skips or fails t with the reason it could not.
func liveStack(t *testing.T) *stack {
	t.Helper()
	if testing.Short() {
		t.Skip("-short: skipping the tests that build and run the academy, loadgen and Prometheus")
	}
	live.once.Do(func() {
		if _, err := pgtemp.FindBinDir(); errors.Is(err, pgtemp.ErrNotInstalled) {
			live.skip = "the academy needs PostgreSQL: " + err.Error()
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 80*time.Second)
		defer cancel()
		live.err = live.start(ctx)
	})
	if live.skip != "" {
		t.Skip(live.skip)
	}
	if live.err != nil {
		t.Fatalf("start the live stack: %v", live.err)
	}
	return &live
}

// proc is a child process with its output kept for error messages.
type proc struct {
	name string
	cmd  *exec.Cmd
	out  *testutil.Buffer
	done chan struct{}
	err  error // of Wait, once done is closed
}

// run starts a child. Its stdout and stderr go to lines (when not nil) and to its buffer.
func (s *stack) run(name string, lines chan<- string, path string, args ...string) (*proc, error) {
	cmd := exec.Command(path, args...)
	cmd.Dir = s.dir
	cmd.SysProcAttr = childAttr()
	p := &proc{name: name, cmd: cmd, out: &testutil.Buffer{}, done: make(chan struct{})}
	var w io.Writer = p.out
	var pw *io.PipeWriter
	if lines != nil {
		var pr *io.PipeReader
		pr, pw = io.Pipe()
		w = io.MultiWriter(p.out, pw)
		go func() { // ends when the process exits and pw is closed
			sc := bufio.NewScanner(pr)
			for sc.Scan() {
				select {
				case lines <- sc.Text():
				default:
				}
			}
			_, _ = io.Copy(io.Discard, pr)
		}()
	}
	cmd.Stdout, cmd.Stderr = w, w
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	go func() { // ends when the process exits
		p.err = cmd.Wait()
		if pw != nil {
			pw.Close()
		}
		close(p.done)
	}()
	s.mu.Lock()
	s.procs = append(s.procs, p)
	s.mu.Unlock()
	return p, nil
}

// interrupt asks p to stop as Ctrl-C would, and kills it after grace.
func (p *proc) interrupt(grace time.Duration) {
	select {
	case <-p.done:
		return
	default:
	}
	_ = p.cmd.Process.Signal(os.Interrupt)
	select {
	case <-p.done:
	case <-time.After(grace):
		_ = p.cmd.Process.Kill()
		<-p.done
	}
}

// stop stops every child, last started first. The academy gets time to stop its PostgreSQL.
func (s *stack) stop() {
	s.mu.Lock()
	procs := s.procs
	s.procs = nil
	s.mu.Unlock()
	for i := len(procs) - 1; i >= 0; i-- {
		procs[i].interrupt(30 * time.Second)
	}
	if s.dir != "" {
		_ = os.RemoveAll(s.dir)
	}
}

// waitLine waits for a line with prefix from lines, or for p to exit, or for ctx.
func waitLine(ctx context.Context, p *proc, lines <-chan string, prefix string) (string, error) {
	for {
		select {
		case l := <-lines:
			if rest, ok := strings.CutPrefix(l, prefix); ok {
				return strings.TrimSpace(rest), nil
			}
		case <-p.done:
			return "", fmt.Errorf("%s exited (%v) before printing %q:\n%s", p.name, p.err, prefix, p.out)
		case <-ctx.Done():
			return "", fmt.Errorf("%s printed no %q in time:\n%s", p.name, prefix, p.out)
		}
	}
}

// freeAddr returns a loopback address that was free a moment ago.
func freeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

// loadScenario is the run: fault-free as a scenario (a --target URL takes no faults), with
// catalog reads, probes, a route that the test made fail with an academy HTTP fault (500s
// during the run, so that the 5xx panels and the availability alerts have data), and a
// request whose check fails on purpose (a missing course answers 404 without the field asked
// for), so that the check-failure series exists.
const loadScenario = `version: 1
name: dashboards-live
description: Catalog reads and a failing check against an academy, for the dashboards' tests.
target:
  url: http://127.0.0.1:8080
workload:
  - name: catalog
    weight: 6
    request: {url: "/v1/courses?limit=5", expect: {status: 200}}
  - name: course
    weight: 2
    request: {url: "/v1/courses/course-2", expect: {status: 200}}
  - name: health
    weight: 1
    request: {url: /healthz}
  - name: live-sessions
    weight: 1
    request: {url: /v1/live-sessions}
  - name: missing
    weight: 1
    request: {url: /v1/courses/no-such-course, expect: {status: 404, json: [{path: $.no_such_field}]}}
load:
  executor: constant-arrival-rate
  rate: 30
  duration: 30s
`

const adminToken = "dashboards-test-admin"

// start builds the binaries and brings the stack up; see the stack type.
func (s *stack) start(ctx context.Context) error {
	dir, err := os.MkdirTemp("", "loadlab-dashboards-")
	if err != nil {
		return err
	}
	s.dir = dir
	if err := os.Chmod(dir, 0o755); err != nil { // the academy's PostgreSQL runs as another user
		return err
	}

	build := exec.CommandContext(ctx, "go", "build", "-o", dir+string(filepath.Separator), "./cmd/academy", "./cmd/loadgen")
	build.Dir = ".."
	if out, err := build.CombinedOutput(); err != nil {
		return fmt.Errorf("go build ./cmd/academy ./cmd/loadgen: %v\n%s", err, out)
	}

	// Redis, when installed: the academy caches in it, and it is stopped during the run so
	// that the cache error and degraded series exist.
	var redis *proc
	args := []string{"serve", "--addr", "127.0.0.1:0", "--admin-token", adminToken,
		"--rate-limit", "ip=100000,user=2", "--seed-users", "20", "--seed-courses", "5", "--bcrypt-cost", "4"}
	if rs, err := exec.LookPath("redis-server"); err == nil {
		addr, err := freeAddr()
		if err != nil {
			return err
		}
		_, port, _ := net.SplitHostPort(addr)
		redis, err = s.run("redis-server", nil, rs, "--bind", "127.0.0.1", "--port", port, "--save", "", "--appendonly", "no")
		if err != nil {
			return err
		}
		if err := waitTCP(ctx, addr); err != nil {
			return fmt.Errorf("redis-server: %w\n%s", err, redis.out)
		}
		args = append(args, "--redis-url", "redis://"+addr+"/0")
	}

	lines := make(chan string, 64)
	academy, err := s.run("academy", lines, filepath.Join(dir, "academy"), args...)
	if err != nil {
		return err
	}
	actx, cancel := context.WithTimeout(ctx, 60*time.Second)
	s.academyURL, err = waitLine(actx, academy, lines, "listening on ")
	cancel()
	if err != nil {
		return err
	}
	if err := exercise(ctx, s.academyURL); err != nil {
		return fmt.Errorf("exercise the academy: %w", err)
	}

	// Prometheus, when installed, scraping both every second with the SLO rules every second.
	metricsAddr, err := freeAddr()
	if err != nil {
		return err
	}
	if err := s.startPrometheus(ctx, strings.TrimPrefix(s.academyURL, "http://"), metricsAddr); err != nil {
		return err
	}

	if err := os.WriteFile(filepath.Join(dir, "live.yaml"), []byte(loadScenario), 0o644); err != nil {
		return err
	}
	llines := make(chan string, 64)
	lg, err := s.run("loadgen", llines, filepath.Join(dir, "loadgen"), "run", "live.yaml",
		"--target", s.academyURL, "--metrics-addr", metricsAddr, "--out", filepath.Join(dir, "out"), "-q", "--max-lateness", "10s")
	if err != nil {
		return err
	}
	lctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	murl, err := waitLine(lctx, lg, llines, "metrics: ")
	cancel()
	if err != nil {
		return err
	}

	// Let the run go on and Prometheus scrape it a few times.
	if err := sleep(ctx, 4*time.Second); err != nil {
		return err
	}
	s.moments = append(s.moments, time.Now())
	if redis != nil {
		redis.interrupt(5 * time.Second)
		s.redis = true
		// Cache operations now fail; the breaker opens; the academy answers from PostgreSQL.
		for range 20 {
			if _, err := get(ctx, s.academyURL+"/v1/courses?limit=3"); err != nil {
				return err
			}
		}
	}
	if err := sleep(ctx, 4*time.Second); err != nil {
		return err
	}
	if s.loadgenMetrics, err = scrape(ctx, murl); err != nil {
		return fmt.Errorf("scrape loadgen: %w\n%s", err, lg.out)
	}
	if s.academyMetrics, err = scrape(ctx, s.academyURL+"/metrics"); err != nil {
		return fmt.Errorf("scrape academy: %w", err)
	}
	s.at = time.Now()
	s.moments = append(s.moments, s.at)
	// One more scrape of everything after s.at, then the run is interrupted (as Ctrl-C does).
	if err := sleep(ctx, 1500*time.Millisecond); err != nil {
		return err
	}
	lg.interrupt(15 * time.Second)
	return nil
}

// startPrometheus starts Prometheus on a free port with a generated configuration, or notes
// why there is none.
func (s *stack) startPrometheus(ctx context.Context, academyAddr, loadgenAddr string) error {
	bin, err := exec.LookPath("prometheus")
	if err != nil {
		if _, err2 := os.Stat("/usr/bin/prometheus"); err2 == nil {
			bin = "/usr/bin/prometheus"
		} else {
			s.promWhy = "prometheus not found on PATH or at /usr/bin/prometheus (Debian: apt-get install prometheus; .ci/run installs it)"
			return nil
		}
	}
	// The shipped rules, evaluated every second instead of every 30 s for a short run.
	rules := dashboards.Rules()
	for i := range rules.Groups {
		rules.Groups[i].Interval = "1s"
	}
	rb, err := rules.YAML()
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(s.dir, "rules.yml"), rb, 0o644); err != nil {
		return err
	}
	cfg := fmt.Sprintf(`global:
  scrape_interval: 1s
  scrape_timeout: 900ms
  evaluation_interval: 1s
rule_files: [rules.yml]
scrape_configs:
  - job_name: academy
    static_configs: [{targets: [%q]}]
  - job_name: loadgen
    static_configs: [{targets: [%q]}]
`, academyAddr, loadgenAddr)
	if err := os.WriteFile(filepath.Join(s.dir, "prometheus.yml"), []byte(cfg), 0o644); err != nil {
		return err
	}
	addr, err := freeAddr()
	if err != nil {
		return err
	}
	p, err := s.run("prometheus", nil, bin,
		"--config.file="+filepath.Join(s.dir, "prometheus.yml"),
		"--storage.tsdb.path="+filepath.Join(s.dir, "tsdb"),
		"--web.listen-address="+addr,
		"--log.level=warn")
	if err != nil {
		return err
	}
	s.promURL = "http://" + addr
	// Ready, and both targets scraped once (Prometheus applies new targets every 5 s).
	deadline := time.Now().Add(20 * time.Second)
	for {
		if up, err := query(ctx, s.promURL, "up", time.Now()); err == nil && len(up) == 2 {
			return nil
		}
		select {
		case <-p.done:
			return fmt.Errorf("prometheus exited: %v\n%s", p.err, p.out)
		default:
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("prometheus not ready in 20s:\n%s", p.out)
		}
		if err := sleep(ctx, 200*time.Millisecond); err != nil {
			return err
		}
	}
}

// exercise makes the requests that create the academy's lazily created series: a cache hit
// and miss, a 404, an enrollment created, replayed and existing, a 429 per user, a refused
// WebSocket handshake, and a 500 from an abort fault on /v1/live-sessions, left active.
func exercise(ctx context.Context, base string) error {
	for _, p := range []string{"/v1/courses?limit=5", "/v1/courses?limit=5", "/v1/courses/course-1", "/v1/courses/course-1"} {
		if _, err := get(ctx, base+p); err != nil {
			return err
		}
	}
	if code, _, err := do(ctx, "GET", base+"/v1/courses/no-such-course", "", nil); err != nil || code != 404 {
		return fmt.Errorf("GET a missing course: %d %v, want 404", code, err)
	}

	code, body, err := do(ctx, "POST", base+"/v1/sessions", "", map[string]string{"email": "student-1@academy.test", "password": "password-1"})
	if err != nil || code != 200 {
		return fmt.Errorf("sign in: %d %v %s", code, err, body)
	}
	var sess struct{ Token string }
	if err := json.Unmarshal(body, &sess); err != nil || sess.Token == "" {
		return fmt.Errorf("sign in: no token in %s", body)
	}
	for i, want := range []int{201, 201, 200} { // created, replayed (same key), existing (new key)
		key := "dashboards-key-1"
		if i == 2 {
			key = "dashboards-key-2"
		}
		code, body, err := do(ctx, "POST", base+"/v1/courses/course-1/enrollments", sess.Token, nil, "Idempotency-Key", key)
		if err != nil || (code != want && !(i == 1 && code == 200)) {
			return fmt.Errorf("enroll %d: %d %v %s, want %d", i, code, err, body, want)
		}
	}
	limited := false
	for range 20 {
		code, _, err := do(ctx, "GET", base+"/v1/me", sess.Token, nil)
		if err != nil {
			return err
		}
		if code == 429 {
			limited = true
			break
		}
	}
	if !limited {
		return errors.New("GET /v1/me 20 times at user=2/s was never rate limited")
	}

	if code, _, err := do(ctx, "GET", base+"/v1/live-sessions/00000000-0000-4000-8000-000000000001/ws", "", nil); err != nil || code != 401 {
		return fmt.Errorf("WebSocket without a ticket: %d %v, want 401", code, err)
	}

	if code, body, err := do(ctx, "POST", base+"/admin/faults", adminToken, map[string]any{"route": "/v1/live-sessions", "abort_status": 500, "percent": 100}); err != nil || code/100 != 2 {
		return fmt.Errorf("add an abort fault: %d %v %s", code, err, body)
	}
	// The fault stays for the load run, whose live-sessions requests then fail.
	if code, _, err := do(ctx, "GET", base+"/v1/live-sessions", "", nil); err != nil || code != 500 {
		return fmt.Errorf("GET /v1/live-sessions under an abort fault: %d %v, want 500", code, err)
	}
	return nil
}

var client = &http.Client{Timeout: 10 * time.Second}

// do sends one request; body, when not nil, is sent as JSON; hdr are extra header pairs.
func do(ctx context.Context, method, url, token string, body any, hdr ...string) (int, []byte, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return 0, nil, err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, rd)
	if err != nil {
		return 0, nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, b, err
}

// get fetches url and wants a 2xx.
func get(ctx context.Context, url string) (string, error) {
	code, b, err := do(ctx, "GET", url, "", nil)
	if err != nil {
		return "", err
	}
	if code/100 != 2 {
		return "", fmt.Errorf("GET %s: %d %s", url, code, b)
	}
	return string(b), nil
}

// scrape reads a /metrics page into metric families.
func scrape(ctx context.Context, url string) (map[string]*dto.MetricFamily, error) {
	b, err := get(ctx, url)
	if err != nil {
		return nil, err
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	return p.TextToMetricFamilies(strings.NewReader(b))
}

func waitTCP(ctx context.Context, addr string) error {
	for range 100 {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			return c.Close()
		}
		if err := sleep(ctx, 50*time.Millisecond); err != nil {
			return err
		}
	}
	return fmt.Errorf("nothing listens on %s", addr)
}

func sleep(ctx context.Context, d time.Duration) error {
	select {
	case <-time.After(d):
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
