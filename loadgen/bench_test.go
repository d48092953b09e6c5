package loadgen_test

import (
	"net/http"
	"syscall"
	"testing"
	"time"

	"github.com/trendtactics/loadlab/loadgen"
	"github.com/trendtactics/loadlab/scenarios"
)

func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkEngine sends b.N iterations at a fixed 5,000/s (open model) to a minimal loopback
// server in this process, and reports the achieved rate, the CPU per request (generator and
// server together) and whether the generator held its schedule.
func BenchmarkEngine(b *testing.B) {
	srv := serve(b, http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	const rate = 5000
	d := time.Duration(float64(b.N) / rate * float64(time.Second))
	spec := constant(rate, max(d, time.Millisecond), 0, get("x", "/"))
	b.ResetTimer()
	cpu0, t0 := cpuTime(), time.Now()
	res := run(b, spec, loadgen.Options{BaseURL: srv.URL})
	cpu, wall := cpuTime()-cpu0, time.Since(t0)
	n := float64(max(res.Total.Count, 1))
	b.ReportMetric(n/wall.Seconds(), "req/s")
	b.ReportMetric(float64(cpu.Microseconds())/n, "cpu-µs/req")
	b.ReportMetric(res.Generator.LatenessP99MS, "lateness-p99-ms")
	valid := 0.0
	if res.Generator.Valid {
		valid = 1
	}
	b.ReportMetric(valid, "valid")
}

// BenchmarkEngineClosed runs 32 virtual users back to back for 2 s (closed model): the most
// requests a second the engine and a minimal in-process server reach together on this machine.
func BenchmarkEngineClosed(b *testing.B) {
	srv := serve(b, http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	spec := &scenarios.Spec{Name: "closed", Load: scenarios.Load{Executor: "constant-vus", VUs: 32, Duration: 2 * time.Second},
		Workload: []*scenarios.Item{get("x", "/")}}
	var reqs float64
	var cpu, wall time.Duration
	for b.Loop() {
		cpu0, t0 := cpuTime(), time.Now()
		res := run(b, spec, loadgen.Options{BaseURL: srv.URL})
		cpu += cpuTime() - cpu0
		wall += time.Since(t0)
		reqs += float64(res.Total.Count)
	}
	b.ReportMetric(reqs/wall.Seconds(), "req/s")
	b.ReportMetric(float64(cpu.Microseconds())/reqs, "cpu-µs/req")
}
