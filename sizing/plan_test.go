package sizing_test

import (
	"math"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/trendtactics/loadlab/internal/stats"
	"github.com/trendtactics/loadlab/sizing"
)

func read(t *testing.T, path string) *sizing.Calibration {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	c, err := sizing.ReadCalibration(f)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// exact is a calibration whose throughputs follow the law exactly.
func exact(u stats.USL, counts ...int) *sizing.Calibration {
	c := &sizing.Calibration{GeneratorRPS: 40000, P99MS: 100, CPUPerRequestMS: 0.3, CPURequestMilli: 1000, MemoryPerReplicaMB: 100, MemoryRequestMB: 256}
	for _, n := range counts {
		c.Points = append(c.Points, sizing.Point{Replicas: n, RPS: u.X(float64(n))})
	}
	return c
}

func TestMakeReplicas(t *testing.T) {
	truth := stats.USL{Lambda: 2000, Sigma: 0.01, Kappa: 1e-5}
	c := exact(truth, 1, 2, 4, 8, 16, 32)
	for _, rate := range []float64{5000, 40000, 80000} {
		p, err := sizing.Make(c, sizing.Objective{RPS: rate, P99: 100 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		want := 0 // the smallest N with the true X(N) ≥ R × 1.3
		for n := 1; n < 1000; n++ {
			if truth.X(float64(n)) >= rate*1.3 {
				want = n
				break
			}
		}
		if p.Refused != "" || p.Replicas != want {
			t.Errorf("rate %.0f: %d replicas (refused %q), want %d", rate, p.Replicas, p.Refused, want)
		}
		if p.Generators != int(math.Ceil(rate*1.3/40000)) || p.Connections != int(math.Ceil(rate*0.1)) {
			t.Errorf("rate %.0f: %d generators, %d connections", rate, p.Generators, p.Connections)
		}
		// The ramp: a step per HPA loop and pod start, replicas at most doubled (or +4) a
		// step, never more offered than the replicas of the step serve without headroom.
		prev := sizing.Step{At: -30 * time.Second}
		for i, s := range p.Ramp {
			if s.At-prev.At != 30*time.Second || (i > 0 && s.Replicas > max(2*prev.Replicas, prev.Replicas+4)) ||
				s.RPS > p.Fit.X(float64(s.Replicas))/1.3+1e-6 || s.RPS < prev.RPS {
				t.Errorf("rate %.0f: step %d %+v after %+v", rate, i, s, prev)
			}
			prev = s
		}
		if last := p.Ramp[len(p.Ramp)-1]; last.Replicas != want || last.RPS != rate {
			t.Errorf("rate %.0f: the ramp ends at %+v", rate, last)
		}
	}
	// Peak √(0.99/1e-5) = 315 replicas, X = 90,700/s: 100,000/s × 1.3 is past it.
	p, err := sizing.Make(c, sizing.Objective{RPS: 100000, P99: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(p.Refused, "past the USL peak") || p.Replicas != 0 || math.Abs(p.PeakN-314.6) > 0.5 {
		t.Errorf("past the peak: %q, %d replicas, peak %.1f", p.Refused, p.Replicas, p.PeakN)
	}
	// Below the peak but past the HPA's maximum.
	p, err = sizing.Make(c, sizing.Objective{RPS: 60000, P99: 100 * time.Millisecond, HPAMax: 50})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(p.Refused, "past the HPA maximum: 50 replicas serve") {
		t.Errorf("past the HPA maximum: %q", p.Refused)
	}
}

func TestMakeHPAAndPorts(t *testing.T) {
	c := read(t, "testdata/example.json")
	p, err := sizing.Make(c, sizing.Objective{RPS: 1e6, P99: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	// CPU: 1e6/s × 0.3 ms = 300 cores; at 70 % of 1 core a pod: ⌈428.6⌉.
	if p.HPACPU != 429 || p.HPAMemory != 0 || p.HPASteady != 429 || !p.HPABelowNeed || p.Replicas <= 429 {
		t.Errorf("HPA: cpu %d, memory %d, steady %d, below %v, replicas %d", p.HPACPU, p.HPAMemory, p.HPASteady, p.HPABelowNeed, p.Replicas)
	}
	if !p.PortsOK || p.ConnectionsPerGenerator != 3847 {
		t.Errorf("ports: %d a generator, ok %v", p.ConnectionsPerGenerator, p.PortsOK)
	}
	// A 5 s objective: 5e6 in flight, 192k a generator, beyond 28232 ports.
	p, err = sizing.Make(c, sizing.Objective{RPS: 1e6, P99: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if p.PortsOK || !strings.Contains(strings.Join(p.Warnings, "\n"), "exceed its 28232 ephemeral ports to one destination: use 178 generators") {
		t.Errorf("ports: ok %v, warnings %q", p.PortsOK, p.Warnings)
	}
	// Memory above 80 % of the request: the memory rule runs to the maximum.
	c.MemoryPerReplicaMB = 250
	p, err = sizing.Make(c, sizing.Objective{RPS: 1e6, P99: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if p.HPAMemory != 1000 || p.HPASteady != 1000 || p.HPABelowNeed {
		t.Errorf("memory: %d, steady %d", p.HPAMemory, p.HPASteady)
	}
}

func TestReadCalibration(t *testing.T) {
	_, err := sizing.ReadCalibration(strings.NewReader(`{"generator_rps": 0, "p99_ms": 100, "points": [{"replicas": 1, "rps": 10}, {"replicas": 0, "rps": 5}], "cpu_per_request_ms": 0.2}`))
	for _, want := range []string{"generator_rps: want", "points[1]: want replicas ≥ 1", "3 or more replica counts", "cpu_request_millicores: want a value above 0 (the four CPU and memory figures go together", "memory_request_mb"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("want %q in %v", want, err)
		}
	}
	if _, err := sizing.ReadCalibration(strings.NewReader(`{"generator_rps": 1, "bogus": 2}`)); err == nil || !strings.Contains(err.Error(), "bogus") {
		t.Errorf("unknown field: %v", err)
	}
	// Without CPU and memory figures (plan --calibrate measures throughput only) the plan
	// has replicas, generators and a ramp, and says the HPA is not predicted.
	c, err := sizing.ReadCalibration(strings.NewReader(`{"generator_rps": 1000, "p99_ms": 100, "points": [{"replicas": 1, "rps": 100}, {"replicas": 2, "rps": 190}, {"replicas": 3, "rps": 270}]}`))
	if err != nil {
		t.Fatal(err)
	}
	p, err := sizing.Make(c, sizing.Objective{RPS: 200, P99: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if p.Replicas == 0 || p.HPASteady != 0 || len(p.Ramp) == 0 || !strings.Contains(strings.Join(p.Warnings, "\n"), "steady state is not predicted") {
		t.Errorf("without HPA figures: %+v", p)
	}
}

// Without coherency cost the law has no peak, only a limit λ/σ: past it, refused so.
func TestMakeAmdahlLimit(t *testing.T) {
	c := exact(stats.USL{Lambda: 1000, Sigma: 0.5}, 1, 2, 3, 4)
	p, err := sizing.Make(c, sizing.Objective{RPS: 2000, P99: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(p.Refused, "past the USL limit: without coherency cost (κ 0) the throughput only approaches λ/σ = 2000/s") {
		t.Errorf("refused %q", p.Refused)
	}
}
