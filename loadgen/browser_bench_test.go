package loadgen_test

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/trendtactics/loadlab/result"
	"github.com/trendtactics/loadlab/scenarios"
)

// BenchmarkBrowser loads the academy's landing page (its web handler, in this process) in
// headless Chromium as fast as N browser contexts can, each a virtual user back to back
// (closed model, 3 s; cold or warm cache), and reports the navigations a second of the load
// (without Chromium's start and the pool's opening and closing) and the memory of a context: the
// proportional set size (PSS) of Chromium's processes while the pool is open, less before it
// opened, divided by N.
func BenchmarkBrowser(b *testing.B) {
	for _, c := range []struct {
		n     int
		cache string
	}{{1, scenarios.BrowserCold}, {1, scenarios.BrowserWarm}, {4, scenarios.BrowserCold}} {
		n := c.n
		b.Run(fmt.Sprintf("contexts=%d/cache=%s", n, c.cache), func(b *testing.B) {
			base := landing(b)
			chrome := startChromium(b)
			opts := browserOpts(chrome, base)
			item := browserGet("landing", "/", &scenarios.BrowserOptions{Cache: c.cache, Contexts: n})
			spec := &scenarios.Spec{Name: "browser", Load: scenarios.Load{Executor: "constant-vus", VUs: n, Duration: 3 * time.Second},
				Workload: []*scenarios.Item{item}}
			var navs, secs float64
			var perContext []float64
			for b.Loop() {
				idle := treePSS(chrome.PID())
				var peak int64
				opts.Every = func(time.Duration, *result.Result) (bool, string) {
					peak = max(peak, treePSS(chrome.PID()))
					return false, ""
				}
				res := run(b, spec, opts)
				secs += res.DurationMS / 1000
				navs += float64(res.Browser.Navigations)
				if res.Total.Errors > 0 {
					b.Fatalf("%d errors", res.Total.Errors)
				}
				perContext = append(perContext, float64(peak-idle)/float64(n))
			}
			b.ReportMetric(navs/secs, "nav/s")
			var sum float64
			for _, v := range perContext {
				sum += v
			}
			b.ReportMetric(sum/float64(len(perContext))/(1<<20), "MB-PSS/context")
		})
	}
}

// treePSS is the proportional set size in bytes of a process and its descendants (0 when
// /proc cannot tell).
func treePSS(root int) int64 {
	var total int64
	for _, pid := range processTree(root) {
		total += pss(pid)
	}
	return total
}

// processTree lists a live process and its live descendants (none when /proc cannot tell;
// zombies left out).
func processTree(root int) []int {
	parents := map[int]int{}
	dirs, _ := filepath.Glob("/proc/[0-9]*")
	for _, d := range dirs {
		pid, _ := strconv.Atoi(filepath.Base(d))
		b, err := os.ReadFile(filepath.Join(d, "stat"))
		if err != nil {
			continue
		}
		s := string(b)
		f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:]) // state ppid ...
		if len(f) > 1 && f[0] != "Z" {
			parents[pid], _ = strconv.Atoi(f[1])
		}
	}
	in := func(pid int) bool {
		for range 64 {
			if pid == root {
				return true
			}
			if pid = parents[pid]; pid <= 1 {
				return false
			}
		}
		return false
	}
	var out []int
	for pid := range parents {
		if in(pid) {
			out = append(out, pid)
		}
	}
	return out
}

// pss reads a process's Pss from /proc/PID/smaps_rollup, in bytes.
func pss(pid int) int64 {
	f, err := os.Open(fmt.Sprintf("/proc/%d/smaps_rollup", pid))
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "Pss:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return kb << 10
		}
	}
	return 0
}
