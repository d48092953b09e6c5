package main

import (
	"bytes"
	"context"
	"debug/buildinfo"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/trendtactics/loadlab/internal/stats"
)

// bench holds what every measured run shares: the target, the run's shape and the pinning.
type bench struct {
	dir      string // scratch files: scenarios, results
	url      string // the target
	duration time.Duration
	conns    int
	pin      []string // command prefix that pins a generator to its core; nil: unpinned
	stderr   io.Writer

	evictWarned bool // evictCache failed once and said so
}

// A generator is one load tool, driven the way its users drive it.
type generator interface {
	// attack runs the tool once at rate requests per second, or as fast as b.conns
	// connections go when rate is 0, and returns what the kernel and the tool counted.
	// It returns errNoFixedRate if the tool has no fixed-rate mode.
	attack(ctx context.Context, b *bench, rate int) (measure, error)
}

var errNoFixedRate = errors.New("no fixed-rate mode")

var (
	_ generator = loadgenTool{}
	_ generator = vegetaTool{}
	_ generator = bombardierTool{}
	_ generator = wrkTool{}
)

// measure is one run of one generator.
type measure struct {
	requests int64 // completed, errors included
	errors   int64 // transport errors and unexpected statuses, as the tool counts them
	cpu      time.Duration
	maxRSS   int64  // KiB
	note     string // what the tool said about its run, e.g. loadgen's verdict
	err      error  // the run failed: no figures
}

func (m *measure) cpuPerReq() float64 {
	if m == nil || m.err != nil || m.requests == 0 {
		return math.NaN()
	}
	return float64(m.cpu.Microseconds()) / float64(m.requests)
}

func (m *measure) rate(d time.Duration) float64 {
	if m == nil || m.err != nil {
		return math.NaN()
	}
	return float64(m.requests) / d.Seconds()
}

func (m *measure) rssMB() float64 {
	if m == nil || m.err != nil {
		return math.NaN()
	}
	return float64(m.maxRSS) / 1024
}

// tool is a generator as it appears in the table.
type tool struct {
	kind string // loadgen, vegeta, bombardier, wrk: the ratios pair rows by kind
	name string
	gen  generator
	skip string // why it is not measured; "" when it is
}

// row is a tool's figures: at the fixed rate (nil: the tool has no fixed rate) and at its
// maximum, one measure per round.
type row struct {
	tool
	fixed, max runs
}

// runs are a tool's measures at one rate, one per round (nil where the round has none).
type runs []*measure

// ok returns the runs with figures.
func (rs runs) ok() []*measure {
	var out []*measure
	for _, m := range rs {
		if m != nil && m.err == nil {
			out = append(out, m)
		}
	}
	return out
}

// err is the first run's error when no run has figures; nil otherwise.
func (rs runs) err() error {
	if len(rs.ok()) > 0 {
		return nil
	}
	for _, m := range rs {
		if m != nil && m.err != nil {
			return m.err
		}
	}
	return nil
}

// median is the median of f over the runs with figures (NaN when none has).
func (rs runs) median(f func(*measure) float64) float64 {
	var xs []float64
	for _, m := range rs.ok() {
		xs = append(xs, f(m))
	}
	return stats.Median(xs)
}

func (rs runs) cpuPerReq() float64 { return rs.median((*measure).cpuPerReq) }
func (rs runs) rssMB() float64     { return rs.median((*measure).rssMB) }
func (rs runs) rate(d time.Duration) float64 {
	return rs.median(func(m *measure) float64 { return m.rate(d) })
}

// pairs returns g(a's, b's) for every round in which both have figures: a ratio or a
// difference taken within a round, so that a machine's slow minutes weigh on both sides.
func pairs(a, b runs, g func(x, y *measure) float64) []float64 {
	var out []float64
	for i := range min(len(a), len(b)) {
		if x, y := a[i], b[i]; x != nil && y != nil && x.err == nil && y.err == nil {
			out = append(out, g(x, y))
		}
	}
	return out
}

// generators lists the tools to measure, with the reason when one is missing: a missing tool
// is a skipped row, never a failed bench. loadgen gets a row per transport when its run
// command has a --transport flag.
func generators(ctx context.Context, c config, stderr io.Writer) []tool {
	var tools []tool
	if path, err := exec.LookPath(c.loadgen); err != nil {
		tools = append(tools, tool{kind: "loadgen", name: "loadgen", skip: fmt.Sprintf("not found: %s (make build)", c.loadgen)})
	} else {
		for _, t := range loadgenTransports(ctx, path) {
			name := "loadgen (net/http client)"
			if t != "" {
				name = "loadgen --transport " + t
			}
			tools = append(tools, tool{kind: "loadgen", name: name, gen: loadgenTool{bin: path, transport: t}})
		}
	}
	if path, err := exec.LookPath(c.vegeta); err != nil {
		tools = append(tools, tool{kind: "vegeta", name: "vegeta CLI", skip: fmt.Sprintf("not found: %s (make bench installs it)", c.vegeta)})
	} else {
		tools = append(tools, tool{kind: "vegeta", name: "vegeta " + goVersion(path) + " CLI", gen: vegetaTool{bin: path}})
	}
	if path, err := exec.LookPath(c.bombardier); err != nil {
		tools = append(tools, tool{kind: "bombardier", name: "bombardier (fasthttp client)", skip: fmt.Sprintf("not found: %s (make bench installs it)", c.bombardier)})
	} else {
		tools = append(tools, tool{kind: "bombardier", name: "bombardier " + goVersion(path) + " (fasthttp client)", gen: bombardierTool{bin: path}})
	}
	if path, err := exec.LookPath(c.wrk); err != nil {
		tools = append(tools, tool{kind: "wrk", name: "wrk (C, epoll)", skip: "not installed (Debian: apt-get install -y wrk)"})
	} else {
		tools = append(tools, tool{kind: "wrk", name: wrkVersion(ctx, path) + " (C, epoll)", gen: wrkTool{bin: path}})
	}
	for _, t := range tools {
		if t.skip != "" {
			fmt.Fprintf(stderr, "loadbench: %s: %s; row skipped\n", t.name, t.skip)
		}
	}
	return tools
}

// loadgenTransports returns the transports to measure loadgen with: "" (loadgen's only
// transport) when `loadgen run --help` shows no --transport flag, else each transport.
func loadgenTransports(ctx context.Context, bin string) []string {
	help, _ := exec.CommandContext(ctx, bin, "run", "--help").CombinedOutput()
	if !bytes.Contains(help, []byte("--transport")) {
		return []string{""}
	}
	return []string{"nethttp", "fast"}
}

// goVersion is the main module's version recorded in a Go binary, or "" if it has none.
func goVersion(path string) string {
	bi, err := buildinfo.ReadFile(path)
	if err != nil || bi.Main.Version == "(devel)" {
		return ""
	}
	return bi.Main.Version
}

func wrkVersion(ctx context.Context, path string) string {
	out, _ := exec.CommandContext(ctx, path, "-v").CombinedOutput() // exits 1 after printing
	if f := strings.Fields(string(out)); len(f) >= 2 && f[0] == "wrk" {
		return "wrk " + strings.TrimPrefix(f[1], "debian/")
	}
	return "wrk"
}

// measureAll runs every tool at the fixed rate, then every tool at its maximum, rounds
// times over: the tools take turns, so that none has all the quiet (or all the busy)
// minutes of a shared machine. A run that fails leaves an error in its measure.
func (b *bench) measureAll(ctx context.Context, tools []tool, rate, rounds int) []row {
	rows := make([]row, len(tools))
	for i, t := range tools {
		rows[i].tool = t
	}
	for range rounds {
		for _, r := range []int{rate, 0} {
			for i, t := range tools {
				var m *measure
				if t.skip == "" && ctx.Err() == nil {
					mm, err := t.gen.attack(ctx, b, r)
					switch {
					case errors.Is(err, errNoFixedRate):
					case err != nil:
						mm.err = err
						fmt.Fprintf(b.stderr, "loadbench: %s: %v\n", t.name, err)
						m = &mm
					default:
						m = &mm
					}
				}
				if r == 0 {
					rows[i].max = append(rows[i].max, m)
				} else {
					rows[i].fixed = append(rows[i].fixed, m)
				}
			}
		}
	}
	for i := range rows { // a tool without a fixed rate has no fixed runs at all
		if len(rows[i].fixed.ok()) == 0 && rows[i].fixed.err() == nil {
			rows[i].fixed = nil
		}
	}
	return rows
}

// exec runs bin pinned to the generator's core and returns the kernel's accounting of it.
// taskset execs bin in the same process, so the rusage is bin's.
func (b *bench) exec(ctx context.Context, bin string, args ...string) (measure, []byte, error) {
	if err := evictCache(bin); err != nil && !b.evictWarned {
		b.evictWarned = true // once: the RSS figures may read high
		fmt.Fprintf(b.stderr, "loadbench: cannot drop %s from the page cache (%v): its peak RSS may include pages a run after a build maps\n", bin, err)
	}
	argv := append(append(append([]string{}, b.pin...), bin), args...)
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	var out bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = b.stderr
	err := cmd.Run()
	var m measure
	if ps := cmd.ProcessState; ps != nil {
		m.cpu = ps.UserTime() + ps.SystemTime()
		if ru, ok := ps.SysUsage().(*syscall.Rusage); ok {
			m.maxRSS = ru.Maxrss
		}
	}
	return m, out.Bytes(), err
}

// loadgenTool runs `loadgen run` of a generated scenario with --target, as a user would.
type loadgenTool struct {
	bin       string
	transport string // value of --transport; "" when loadgen has no such flag
}

func (t loadgenTool) attack(ctx context.Context, b *bench, rate int) (measure, error) {
	name := "loadgen-" + t.transport + "-" + strconv.Itoa(rate)
	load := fmt.Sprintf("  executor: constant-vus\n  vus: %d\n  duration: %s\n", b.conns, b.duration)
	if rate > 0 {
		load = fmt.Sprintf("  executor: constant-arrival-rate\n  rate: %d\n  duration: %s\n  maxInFlight: %d\n", rate, b.duration, b.conns)
	}
	spec := "version: 1\nname: loadbench\ntarget:\n  url: http://127.0.0.1/\nworkload:\n  - name: get\n    request: {method: GET, url: /}\nload:\n" + load
	file := filepath.Join(b.dir, name+".yaml")
	if err := os.WriteFile(file, []byte(spec), 0o644); err != nil {
		return measure{}, err
	}
	out := filepath.Join(b.dir, name)
	args := []string{"run", file, "--target", b.url, "--out", out, "--quiet"}
	if t.transport != "" {
		args = append(args, "--transport", t.transport)
	}
	m, _, err := b.exec(ctx, t.bin, args...)
	if err != nil {
		// A failed threshold (3) or an invalid run (4) still has figures; the verdict says which.
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() == 1 || ee.ExitCode() == 2 || ee.ExitCode() == 130 {
			return m, fmt.Errorf("loadgen run: %w", err)
		}
	}
	data, err := os.ReadFile(filepath.Join(out, "result.json"))
	if err != nil {
		return m, err
	}
	var res struct {
		Verdict   string `json:"verdict"`
		Transport string `json:"transport"`
		Total     struct {
			Count  int64 `json:"count"`
			Errors int64 `json:"errors"`
		} `json:"total"`
	}
	if err := json.Unmarshal(data, &res); err != nil {
		return m, fmt.Errorf("loadgen result: %w", err)
	}
	m.requests, m.errors = res.Total.Count, res.Total.Errors
	m.note = "verdict " + res.Verdict
	if res.Transport != "" {
		m.note += ", transport " + res.Transport
	}
	return m, nil
}

// vegetaTool runs `vegeta attack` with its results written to a file, as vegeta is used.
type vegetaTool struct{ bin string }

func (t vegetaTool) attack(ctx context.Context, b *bench, rate int) (measure, error) {
	targets := filepath.Join(b.dir, "vegeta-targets.txt")
	if err := os.WriteFile(targets, []byte("GET "+b.url+"\n"), 0o644); err != nil {
		return measure{}, err
	}
	results := filepath.Join(b.dir, "vegeta-"+strconv.Itoa(rate)+".bin")
	m, _, err := b.exec(ctx, t.bin, "attack", "-targets", targets, "-output", results,
		"-rate", strconv.Itoa(rate), "-duration", b.duration.String(), "-max-workers", strconv.Itoa(b.conns))
	if err != nil {
		return m, fmt.Errorf("vegeta attack: %w", err)
	}
	rep, err := exec.CommandContext(ctx, t.bin, "report", "-type", "json", results).Output()
	if err != nil {
		return m, fmt.Errorf("vegeta report: %w", err)
	}
	var r struct {
		Requests int64   `json:"requests"`
		Success  float64 `json:"success"`
	}
	if err := json.Unmarshal(rep, &r); err != nil {
		return m, fmt.Errorf("vegeta report: %w", err)
	}
	m.requests = r.Requests
	m.errors = r.Requests - int64(math.Round(r.Success*float64(r.Requests)))
	return m, nil
}

// bombardierTool runs bombardier with its default (fasthttp) client.
type bombardierTool struct{ bin string }

func (t bombardierTool) attack(ctx context.Context, b *bench, rate int) (measure, error) {
	args := []string{"-c", strconv.Itoa(b.conns), "-d", b.duration.String(), "-p", "r", "-o", "j"}
	if rate > 0 {
		args = append(args, "-r", strconv.Itoa(rate))
	}
	m, out, err := b.exec(ctx, t.bin, append(args, b.url)...)
	if err != nil {
		return m, fmt.Errorf("bombardier: %w", err)
	}
	m.requests, m.errors, err = parseBombardier(out)
	return m, err
}

func parseBombardier(out []byte) (requests, errs int64, err error) {
	var r struct {
		Result struct {
			Req1xx, Req2xx, Req3xx, Req4xx, Req5xx, Others int64
		} `json:"result"`
	}
	if err := json.Unmarshal(out, &r); err != nil {
		return 0, 0, fmt.Errorf("bombardier output: %w", err)
	}
	x := r.Result
	return x.Req1xx + x.Req2xx + x.Req3xx + x.Req4xx + x.Req5xx + x.Others, x.Req4xx + x.Req5xx + x.Others, nil
}

// wrkTool runs wrk with one thread (it has one core); wrk has no fixed rate.
type wrkTool struct{ bin string }

func (t wrkTool) attack(ctx context.Context, b *bench, rate int) (measure, error) {
	if rate > 0 {
		return measure{}, errNoFixedRate
	}
	secs := max(1, int(b.duration.Round(time.Second)/time.Second))
	m, out, err := b.exec(ctx, t.bin, "-t1", "-c", strconv.Itoa(b.conns), "-d", strconv.Itoa(secs)+"s", b.url)
	if err != nil {
		return m, fmt.Errorf("wrk: %w", err)
	}
	m.requests, m.errors, err = parseWrk(out)
	if time.Duration(secs)*time.Second != b.duration {
		m.note = fmt.Sprintf("ran %ds (whole seconds)", secs)
	}
	return m, err
}

var (
	wrkRequestsRE = regexp.MustCompile(`(\d+) requests in `)
	wrkNon2xxRE   = regexp.MustCompile(`Non-2xx or 3xx responses: (\d+)`)
	wrkSocketRE   = regexp.MustCompile(`Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)`)
)

func parseWrk(out []byte) (requests, errs int64, err error) {
	sm := wrkRequestsRE.FindSubmatch(out)
	if sm == nil {
		return 0, 0, fmt.Errorf("wrk output: no request count in %q", out)
	}
	requests, _ = strconv.ParseInt(string(sm[1]), 10, 64)
	if sm := wrkNon2xxRE.FindSubmatch(out); sm != nil {
		n, _ := strconv.ParseInt(string(sm[1]), 10, 64)
		errs += n
	}
	if sm := wrkSocketRE.FindSubmatch(out); sm != nil {
		for _, s := range sm[1:] {
			n, _ := strconv.ParseInt(string(s), 10, 64)
			errs += n
		}
	}
	return requests, errs, nil
}
