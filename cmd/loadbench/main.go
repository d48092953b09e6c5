// Command loadbench measures loadgen against the vegeta CLI of the same version on one
// minimal net/http server on loopback, in one run, and prints the ratios that issue 2 asks
// for: CPU microseconds per request and peak RSS, at a fixed rate and at the maximum rate.
//
//	go run ./cmd/loadbench -loadgen bin/loadgen -vegeta bin/vegeta
//
// Each generator runs as a child process; its CPU time (user+system) and peak RSS come from
// the kernel's accounting of that child (wait4 rusage), so the target's own work is never counted.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"syscall"
	"time"
)

func main() {
	if os.Getenv("LOADBENCH_TARGET") == "1" {
		os.Exit(serveTarget())
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "loadbench:", err)
		os.Exit(1)
	}
}

type config struct {
	loadgen, vegeta string
	rate            int
	duration        time.Duration
	maxWorkers      int
	soak            time.Duration
	soakRate        int
}

func run(ctx context.Context, args []string, out io.Writer) error {
	var c config
	fs := flag.NewFlagSet("loadbench", flag.ContinueOnError)
	fs.StringVar(&c.loadgen, "loadgen", "bin/loadgen", "loadgen binary")
	fs.StringVar(&c.vegeta, "vegeta", "bin/vegeta", "vegeta binary")
	fs.IntVar(&c.rate, "rate", 5000, "fixed rate, requests per second")
	fs.DurationVar(&c.duration, "duration", 10*time.Second, "duration of each run")
	fs.IntVar(&c.maxWorkers, "max-workers", 64, "concurrency of the maximum-rate runs (both tools)")
	fs.DurationVar(&c.soak, "soak", 0, "if set, also run loadgen alone at -soak-rate for this long and compare RSS at 10% and at the end")
	fs.IntVar(&c.soakRate, "soak-rate", 2000, "rate of the soak run")
	if err := fs.Parse(args); err != nil {
		return err
	}
	addr, closeTarget, err := startTarget()
	if err != nil {
		return err
	}
	defer closeTarget()
	url := "http://" + addr + "/"
	dir, err := os.MkdirTemp("", "loadbench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)

	fmt.Fprintf(out, "target: minimal net/http server at %s; %d cores\n\n", addr, numCPU())
	fixedL, err := runLoadgen(ctx, c, dir, url, "fixed", fmt.Sprintf(`
load:
  executor: constant-arrival-rate
  rate: %d
  duration: %s
  maxInFlight: %d
`, c.rate, c.duration, 1000))
	if err != nil {
		return err
	}
	fixedV, err := runVegeta(ctx, c, dir, url, []string{"-rate", strconv.Itoa(c.rate), "-duration", c.duration.String(), "-max-workers", "1000"})
	if err != nil {
		return err
	}
	maxL, err := runLoadgen(ctx, c, dir, url, "max", fmt.Sprintf(`
load:
  executor: constant-vus
  vus: %d
  duration: %s
`, c.maxWorkers, c.duration))
	if err != nil {
		return err
	}
	maxV, err := runVegeta(ctx, c, dir, url, []string{"-rate", "0", "-max-workers", strconv.Itoa(c.maxWorkers), "-duration", c.duration.String()})
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "%-28s %12s %12s %14s %12s\n", "run", "requests", "req/s", "CPU µs/req", "peak RSS MB")
	for _, m := range []measure{fixedL, fixedV, maxL, maxV} {
		fmt.Fprintf(out, "%-28s %12d %12.0f %14.1f %12.1f\n", m.name, m.requests, float64(m.requests)/m.wall.Seconds(), m.cpuPerReq(), float64(m.maxRSS)/1024)
	}
	fmt.Fprintf(out, "\nratios loadgen/vegeta (goal: CPU ≤ 0.8, RSS at %d/s < 64 MB):\n", c.rate)
	fmt.Fprintf(out, "  fixed %d/s: CPU per request %.2f, peak RSS %.2f\n", c.rate, fixedL.cpuPerReq()/fixedV.cpuPerReq(), float64(fixedL.maxRSS)/float64(fixedV.maxRSS))
	fmt.Fprintf(out, "  maximum (%d workers): CPU per request %.2f, peak RSS %.2f, throughput %.2f\n", c.maxWorkers,
		maxL.cpuPerReq()/maxV.cpuPerReq(), float64(maxL.maxRSS)/float64(maxV.maxRSS),
		(float64(maxL.requests)/maxL.wall.Seconds())/(float64(maxV.requests)/maxV.wall.Seconds()))
	if c.soak > 0 {
		return soak(ctx, c, dir, url, out)
	}
	return nil
}

type measure struct {
	name     string
	requests int64
	wall     time.Duration
	cpu      time.Duration
	maxRSS   int64 // KiB
}

func (m measure) cpuPerReq() float64 {
	if m.requests == 0 {
		return 0
	}
	return float64(m.cpu.Microseconds()) / float64(m.requests)
}

func runLoadgen(ctx context.Context, c config, dir, url, name, load string) (measure, error) {
	file := filepath.Join(dir, name+".yaml")
	spec := fmt.Sprintf("version: 1\nname: bench-%s\ntarget:\n  url: %s\nworkload:\n  - name: get\n    request: {method: GET, url: /}\n%s", name, url, load)
	if err := os.WriteFile(file, []byte(spec), 0o644); err != nil {
		return measure{}, err
	}
	outDir := filepath.Join(dir, "out-"+name)
	m, err := measureCmd(ctx, "loadgen "+name, c.loadgen, "run", file, "--out", outDir, "--quiet")
	if err != nil {
		return m, err
	}
	var res struct {
		Total struct {
			Count int64 `json:"count"`
		} `json:"total"`
	}
	b, err := os.ReadFile(filepath.Join(outDir, "result.json"))
	if err != nil {
		return m, err
	}
	if err := json.Unmarshal(b, &res); err != nil {
		return m, err
	}
	m.requests = res.Total.Count
	return m, nil
}

var requestsRE = regexp.MustCompile(`Requests\s+\[total, rate, throughput\]\s+(\d+),`)

func runVegeta(ctx context.Context, c config, dir, url string, flags []string) (measure, error) {
	targets := filepath.Join(dir, "targets.txt")
	if err := os.WriteFile(targets, []byte("GET "+url+"\n"), 0o644); err != nil {
		return measure{}, err
	}
	results := filepath.Join(dir, "vegeta.bin")
	args := append([]string{"attack", "-targets", targets, "-output", results}, flags...)
	m, err := measureCmd(ctx, "vegeta "+flags[1]+"/s", c.vegeta, args...)
	if err != nil {
		return m, err
	}
	rep, err := exec.CommandContext(ctx, c.vegeta, "report", results).Output()
	if err != nil {
		return m, fmt.Errorf("vegeta report: %w", err)
	}
	sm := requestsRE.FindSubmatch(rep)
	if sm == nil {
		return m, fmt.Errorf("vegeta report: no request count in %q", rep)
	}
	m.requests, _ = strconv.ParseInt(string(sm[1]), 10, 64)
	return m, nil
}

func measureCmd(ctx context.Context, name, bin string, args ...string) (measure, error) {
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Stderr = os.Stderr
	start := time.Now()
	err := cmd.Run()
	m := measure{name: name, wall: time.Since(start)}
	if cmd.ProcessState != nil {
		m.cpu = cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
		if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
			m.maxRSS = ru.Maxrss
		}
	}
	if err != nil {
		// loadgen exits non-zero for failed thresholds or an invalid run; the figures still count.
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() == 1 || ee.ExitCode() == 2 {
			return m, fmt.Errorf("%s: %w", name, err)
		}
	}
	return m, nil
}

// soak runs loadgen alone at a fixed rate for a long time and samples its RSS from /proc,
// comparing the RSS after 10% of the run with the RSS at the end.
func soak(ctx context.Context, c config, dir, url string, out io.Writer) error {
	file := filepath.Join(dir, "soak.yaml")
	spec := fmt.Sprintf("version: 1\nname: bench-soak\ntarget:\n  url: %s\nworkload:\n  - name: get\n    request: {method: GET, url: /}\nload:\n  executor: constant-arrival-rate\n  rate: %d\n  duration: %s\n", url, c.soakRate, c.soak)
	if err := os.WriteFile(file, []byte(spec), 0o644); err != nil {
		return err
	}
	cmd := exec.CommandContext(ctx, c.loadgen, "run", file, "--out", filepath.Join(dir, "out-soak"), "--quiet")
	if err := cmd.Start(); err != nil {
		return err
	}
	early := time.After(c.soak / 10)
	late := time.After(c.soak - 5*time.Second)
	var rssEarly, rssLate int64
	for rssEarly == 0 || rssLate == 0 {
		select {
		case <-early:
			rssEarly = rss(cmd.Process.Pid)
		case <-late:
			rssLate = rss(cmd.Process.Pid)
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	_ = cmd.Wait()
	fmt.Fprintf(out, "\nsoak %d/s for %s: RSS at %s %.1f MB, at %s %.1f MB, ratio %.3f (goal within 10%%)\n",
		c.soakRate, c.soak, c.soak/10, float64(rssEarly)/1024, c.soak-5*time.Second, float64(rssLate)/1024, float64(rssLate)/float64(rssEarly))
	return nil
}

var rssRE = regexp.MustCompile(`VmRSS:\s+(\d+) kB`)

func rss(pid int) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	m := rssRE.FindSubmatch(b)
	if m == nil {
		return 0
	}
	n, _ := strconv.ParseInt(string(m[1]), 10, 64)
	return n
}

// startTarget starts the minimal net/http server in a child process of this binary, so that
// its CPU is not counted against either generator and it does not share their scheduler.
func startTarget() (string, func(), error) {
	self, err := os.Executable()
	if err != nil {
		return "", nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	f, err := ln.(*net.TCPListener).File()
	ln.Close()
	if err != nil {
		return "", nil, err
	}
	cmd := exec.Command(self)
	cmd.Env = append(os.Environ(), "LOADBENCH_TARGET=1")
	cmd.ExtraFiles = []*os.File{f}
	cmd.Stderr = os.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return "", nil, err
	}
	addr := ln.Addr().String()
	f.Close()
	return addr, func() { cmd.Process.Kill(); cmd.Wait() }, nil
}

// serveTarget is the target child: it serves the inherited listener (fd 3) with a minimal
// handler and nothing else, until it is killed.
func serveTarget() int {
	ln, err := net.FileListener(os.NewFile(3, "listener"))
	if err != nil {
		fmt.Fprintln(os.Stderr, "target:", err)
		return 1
	}
	body := []byte("ok\n")
	http.Serve(ln, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write(body) }))
	return 0
}

func numCPU() int { return runtime.NumCPU() }
