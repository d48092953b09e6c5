package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// sample is loadgen's memory at one moment of the soak.
type sample struct {
	at         time.Duration // since loadgen started
	rssKB      int64
	threads    int64
	heap       float64 // bytes; NaN when loadgen does not export it
	goroutines float64 // NaN when loadgen does not export it
}

// soak runs loadgen alone at c.soakRate for c.soak, pinned like the bench's generators, and
// samples its RSS (from /proc), its OS threads, and its live heap and goroutines (from its
// --metrics-addr endpoint) every c.soakEvery and 5 s before the end. It compares the RSS of
// the first and the last sample.
func soak(ctx context.Context, b *bench, c config, w io.Writer) error {
	bin, err := exec.LookPath(c.loadgen)
	if err != nil {
		return fmt.Errorf("soak: %w", err)
	}
	spec := fmt.Sprintf("version: 1\nname: loadbench-soak\ntarget:\n  url: http://127.0.0.1/\nworkload:\n  - name: get\n    request: {method: GET, url: /}\nload:\n  executor: constant-arrival-rate\n  rate: %d\n  duration: %s\n  maxInFlight: %d\n",
		c.soakRate, c.soak, b.conns)
	file := filepath.Join(b.dir, "soak.yaml")
	if err := os.WriteFile(file, []byte(spec), 0o644); err != nil {
		return err
	}
	argv := append(append(append([]string{}, b.pin...), bin),
		"run", file, "--target", b.url, "--out", filepath.Join(b.dir, "soak"), "--quiet", "--metrics-addr", "127.0.0.1:0")
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Cancel = func() error { return cmd.Process.Signal(os.Interrupt) } // loadgen still writes its result
	cmd.WaitDelay = 10 * time.Second
	var stdout bytes.Buffer
	cmd.Stdout = &stdout
	errPipe, err := cmd.StderrPipe()
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "soak: loadgen alone at %d/s for %s, %d connections; a sample every %s\n\n", c.soakRate, c.soak, b.conns, c.soakEvery)
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("soak: start loadgen: %w", err)
	}
	start := time.Now()
	metricsURL := make(chan string, 1)
	stderrDone := make(chan struct{})
	go func() { // ends when loadgen exits and its stderr closes
		defer close(stderrDone)
		sc := bufio.NewScanner(errPipe)
		for sc.Scan() {
			line := sc.Text()
			if u, ok := strings.CutPrefix(line, "metrics: "); ok {
				select {
				case metricsURL <- u:
				default:
				}
			}
			fmt.Fprintln(b.stderr, line)
		}
	}()

	// One scrape before the first sample: the first builds the endpoint's own buffers, which
	// every later sample would hold and the first not.
	var url string
	select {
	case url = <-metricsURL:
		_, _, _ = scrapeGo(ctx, url)
	case <-time.After(min(c.soakEvery/2, 10*time.Second)):
	case <-ctx.Done():
	}
	var samples []sample
	scraped := false // loadgen's metrics endpoint answered at least once
	fmt.Fprintf(w, "%8s %9s %10s %11s %8s\n", "at", "RSS MB", "heap MB", "goroutines", "threads")
	for _, at := range sampleTimes(c.soak, c.soakEvery) {
		select {
		case <-time.After(time.Until(start.Add(at))):
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			break
		}
		if url == "" {
			select {
			case url = <-metricsURL:
			default:
			}
		}
		s := sample{at: time.Since(start).Round(time.Second), heap: math.NaN(), goroutines: math.NaN()}
		if s.rssKB, s.threads, err = procStatus(cmd.Process.Pid); err != nil {
			fmt.Fprintf(b.stderr, "loadbench: soak: %v\n", err)
			break // loadgen has exited
		}
		if url != "" {
			var err error
			if s.heap, s.goroutines, err = scrapeGo(ctx, url); err != nil {
				fmt.Fprintf(b.stderr, "loadbench: soak: %v\n", err)
			} else {
				scraped = true
			}
		}
		samples = append(samples, s)
		fmt.Fprintf(w, "%8s %9.1f %10s %11s %8d\n", s.at, float64(s.rssKB)/1024, num(s.heap/(1<<20), 1), num(s.goroutines, 0), s.threads)
	}
	<-stderrDone
	werr := cmd.Wait()
	verdict := strings.TrimSpace(strings.SplitN(stdout.String(), "\n", 2)[0])
	fmt.Fprintf(w, "\nloadgen %s", verdict)
	if werr != nil {
		fmt.Fprintf(w, " (%v)", werr)
	}
	fmt.Fprintln(w)
	switch {
	case !scraped:
		fmt.Fprintln(w, "heap and goroutines n/a: loadgen's --metrics-addr endpoint was not reached; RSS and threads from /proc")
	case len(samples) > 0 && (math.IsNaN(samples[0].heap) || math.IsNaN(samples[0].goroutines)):
		fmt.Fprintln(w, "heap or goroutines n/a: loadgen's Prometheus registry has no Go collector (go_memstats_heap_alloc_bytes, go_goroutines); RSS and threads from /proc")
	}
	if len(samples) < 2 {
		return errors.Join(ctx.Err(), errors.New("soak: fewer than two samples"))
	}
	first, last := samples[0], samples[len(samples)-1]
	ratio := float64(last.rssKB) / float64(first.rssKB)
	fmt.Fprintf(w, "RSS at %s %.1f MB, at %s %.1f MB: %+.1f %% (goal: within 10 %%)\n",
		first.at, float64(first.rssKB)/1024, last.at, float64(last.rssKB)/1024, (ratio-1)*100)
	var ee *exec.ExitError
	if werr != nil && (!errors.As(werr, &ee) || ee.ExitCode() == 1 || ee.ExitCode() == 2) {
		return fmt.Errorf("soak: loadgen run: %w", werr)
	}
	return ctx.Err()
}

// sampleTimes is every multiple of every before the end of a run of length d, then 5 s before
// the end (the process is still running then).
func sampleTimes(d, every time.Duration) []time.Duration {
	end := d - 5*time.Second
	if d <= 10*time.Second {
		end = d * 9 / 10
	}
	var ts []time.Duration
	for t := every; t < end && every > 0; t += every {
		ts = append(ts, t)
	}
	return append(ts, end)
}

// scrapeGo reads the Go collector's live heap and goroutine count from a Prometheus
// endpoint; NaN for each one it does not export.
func scrapeGo(ctx context.Context, url string) (heap, goroutines float64, err error) {
	heap, goroutines = math.NaN(), math.NaN()
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return heap, goroutines, err
	}
	// Uncompressed: asked for gzip (Go's client asks by default), loadgen would build a
	// compressor of some 800 KB for the measurement itself, after the first sample.
	req.Header.Set("Accept-Encoding", "identity")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return heap, goroutines, fmt.Errorf("scrape %s: %w", url, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		return heap, goroutines, fmt.Errorf("scrape %s: %s %v", url, resp.Status, err)
	}
	if v, ok := metricValue(body, "go_memstats_heap_alloc_bytes"); ok {
		heap = v
	}
	if v, ok := metricValue(body, "go_goroutines"); ok {
		goroutines = v
	}
	return heap, goroutines, nil
}

var metricLineRE = regexp.MustCompile(`^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+(\S+)`)

// metricValue returns the value of the first sample of metric name in Prometheus text format.
func metricValue(text []byte, name string) (float64, bool) {
	sc := bufio.NewScanner(bytes.NewReader(text))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		m := metricLineRE.FindSubmatch(sc.Bytes())
		if m == nil || string(m[1]) != name {
			continue
		}
		v, err := strconv.ParseFloat(string(m[3]), 64)
		return v, err == nil
	}
	return 0, false
}
