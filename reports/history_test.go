package reports_test

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/trendtactics/loadlab/reports"
	"github.com/trendtactics/loadlab/result"
)

// windowFigures are the p50 and p99 (ms) of every 20-second window of the real runs in
// testdata/aa: what one run's figures on this machine look like.
func windowFigures(t testing.TB) (p50, p99 []float64) {
	for _, res := range realRuns(t) {
		tl := res.Timeline
		for from := 1; from+20 < len(tl); from += 2 {
			var encs []string
			for _, p := range tl[from : from+20] {
				encs = append(encs, p.HDR)
			}
			bs, err := result.Buckets(encs)
			if err != nil {
				t.Fatal(err)
			}
			var total int64
			for _, b := range bs {
				total += b.Count
			}
			at := func(q float64) float64 {
				target, c := int64(q*float64(total)+0.5), int64(0)
				for _, b := range bs {
					if c += b.Count; c >= target {
						return result.MS(b.Value)
					}
				}
				return 0
			}
			p50, p99 = append(p50, at(0.5)), append(p99, at(0.99))
		}
	}
	return p50, p99
}

// series is 30 results, a run every 10 minutes, whose p50 and p99 are drawn by draw;
// from result 21 on the metric's figure is × (1 + shift).
func series(metric string, shift float64, draw func() (p50, p99 float64)) []*result.Result {
	start := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	out := make([]*result.Result, 30)
	for i := range out {
		p50, p99 := draw()
		if i >= 20 {
			if metric == "p50" {
				p50 *= 1 + shift
			} else {
				p99 *= 1 + shift
			}
		}
		out[i] = &result.Result{Scenario: "s", Verdict: reports.Pass, Start: start.Add(time.Duration(i) * 10 * time.Minute),
			Total: &result.RequestStats{Name: "total", Count: 1000, Rate: 200, Latency: result.Summary{P50: p50, P99: p99}}}
	}
	return out
}

// TestHistoryDetection: series of 30 results with a known shift at result 21, at p50 or
// at p99, 100 series per cell. Detected: a change point of that figure within 2 results
// of 21; a false alarm: any change point of a series without a shift. Two noise models:
// the real figures of 20 s windows of this machine's runs (testdata/aa), and a quiet
// runner (log-normal run-to-run noise of 3 % at p50 and 6 % at p99).
func TestHistoryDetection(t *testing.T) {
	realP50, realP99 := windowFigures(t)
	const n = 100
	var table strings.Builder
	table.WriteString("| noise | figure | no shift: false alarms | +5 % | +10 % | +30 % |\n|---|---|--:|--:|--:|--:|\n")
	rates := map[string]map[float64]int{}
	for _, model := range []string{"this machine", "quiet runner"} {
		for _, metric := range []string{"p50", "p99"} {
			rng := rand.New(rand.NewPCG(20, 26))
			draw := func() (float64, float64) {
				if model == "this machine" {
					return realP50[rng.IntN(len(realP50))], realP99[rng.IntN(len(realP99))]
				}
				return 10 * math.Exp(0.03*rng.NormFloat64()), 40 * math.Exp(0.06*rng.NormFloat64())
			}
			allow, err := reports.ParseAllowances("p50=off,p90=off,p99=off,errors=off,throughput=off,"+metric+"=10%", reports.DefaultAllowances())
			if err != nil {
				t.Fatal(err)
			}
			key := model + " " + metric
			rates[key] = map[float64]int{}
			for _, shift := range []float64{0, 0.05, 0.10, 0.30} {
				for k := range n {
					h, err := reports.AnalyzeHistory(series(metric, shift, draw), reports.HistoryOptions{Allowances: allow, Permutations: 99, Seed: uint64(k + 1)})
					if err != nil {
						t.Fatal(err)
					}
					hit := false
					for _, c := range h.Changes {
						if shift == 0 || (c.At >= 18 && c.At <= 22) {
							hit = true
						}
					}
					if hit {
						rates[key][shift]++
					}
				}
			}
			r := rates[key]
			fmt.Fprintf(&table, "| %s | %s | %d %% | %d %% | %d %% | %d %% |\n", model, metric, r[0], r[0.05], r[0.10], r[0.30])
		}
	}
	t.Logf("change points in 100 series of 30 results per cell, shift from result 21:\n%s", table.String())
	for key, r := range rates {
		if r[0] > 10 {
			t.Errorf("%s: false alarms in %d of %d stable series, want at most 10 %%", key, r[0], n)
		}
	}
	if r := rates["quiet runner p50"]; r[0.10] < 90 || r[0.30] < 99 {
		t.Errorf("quiet runner, p50: +10%% found in %d, +30%% in %d of %d series", r[0.10], r[0.30], n)
	}
}
