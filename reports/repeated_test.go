package reports_test

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/trendtactics/loadlab/reports"
	"github.com/trendtactics/loadlab/result"
)

// realRuns reads testdata/aa: results of real runs on the 2-core shared development
// machine (see testdata/aa/README.md), whose per-second histograms the simulated
// comparisons are drawn from.
func realRuns(t testing.TB) []*result.Result {
	t.Helper()
	files, err := filepath.Glob("testdata/aa/run*.json")
	if err != nil || len(files) < 3 {
		t.Fatalf("testdata/aa: %v (%d files)", err, len(files))
	}
	var out []*result.Result
	for _, f := range files {
		file, err := os.Open(f)
		if err != nil {
			t.Fatal(err)
		}
		res, err := result.ReadJSON(file)
		file.Close()
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, res)
	}
	return out
}

// simulator draws runs from real per-second histograms: a real run picked at random,
// secs consecutive seconds of it from a random offset (the seconds keep their order and
// their correlation), every latency multiplied by 1+shift.
type simulator struct {
	runs  []*result.Result
	rng   *rand.Rand
	cache map[string]string
}

func newSimulator(t testing.TB, seed uint64) *simulator {
	return &simulator{runs: realRuns(t), rng: rand.New(rand.NewPCG(seed, 0)), cache: map[string]string{}}
}

func (s *simulator) shifted(t testing.TB, run, i int, shift float64) string {
	p := s.runs[run].Timeline[i]
	if shift == 0 || p.HDR == "" {
		return p.HDR
	}
	key := fmt.Sprint(run, i, shift)
	if enc, ok := s.cache[key]; ok {
		return enc
	}
	h, err := result.DecodeHistogram(p.HDR)
	if err != nil {
		t.Fatal(err)
	}
	out := result.NewHistogram()
	for _, bar := range h.Distribution() {
		if bar.Count > 0 {
			_ = out.RecordValues(int64(float64(bar.To)*(1+shift)+0.5), bar.Count)
		}
	}
	enc, err := result.EncodeHistogram(out)
	if err != nil {
		t.Fatal(err)
	}
	s.cache[key] = enc
	return enc
}

func (s *simulator) run(t testing.TB, secs int, shift float64) *result.Result {
	k := s.rng.IntN(len(s.runs))
	tl := s.runs[k].Timeline
	// Second 0 is the warm-up and the last second may be partial: neither is drawn.
	from := 1 + s.rng.IntN(len(tl)-secs-1)
	pts := make([]result.Point, secs)
	for i := range pts {
		p := tl[from+i]
		p.T = i
		p.HDR = s.shifted(t, k, from+i, shift)
		pts[i] = p
	}
	return &result.Result{Schema: result.Schema, Scenario: "aa-catalog", Seed: 1, Version: "test", Verdict: reports.Pass,
		Total: &result.RequestStats{Name: "total", Timeline: pts}, Timeline: pts}
}

func (s *simulator) side(t testing.TB, n, secs int, shift float64) []*result.Result {
	out := make([]*result.Result, n)
	for i := range out {
		out[i] = s.run(t, secs, shift)
	}
	return out
}

// verdictOf returns the figure's verdict.
func verdictOf(r *reports.Repeated, req, metric string) string {
	for _, f := range r.Figures {
		if f.Request == req && f.Metric == metric {
			return f.Verdict
		}
	}
	return ""
}

// TestCompareRepeatedAA: 100 comparisons of 5 against 5 runs drawn from the same real
// runs (A/A), with the default allowances and with p90 and p99 not gated: at most 1 % may
// be a REGRESSION (a false alarm).
func TestCompareRepeatedAA(t *testing.T) {
	var table strings.Builder
	table.WriteString("| gated | PASS | INCONCLUSIVE | REGRESSION (false alarm) | IMPROVEMENT |\n|---|--:|--:|--:|--:|\n")
	for _, tc := range []struct{ name, allow string }{
		{"defaults (p50, p90, p99 +10 %, errors +0.1 pp, throughput -5 %)", ""},
		{"p90=off,p99=off", "p90=off,p99=off"},
	} {
		allow, err := reports.ParseAllowances(tc.allow, reports.DefaultAllowances())
		if err != nil {
			t.Fatal(err)
		}
		sim := newSimulator(t, 16)
		verdicts := map[string]int{}
		const n = 100
		for range n {
			r, err := reports.CompareRepeated(sim.side(t, 5, 20, 0), sim.side(t, 5, 20, 0), reports.GateOptions{Allowances: allow, Resamples: 400})
			if err != nil {
				t.Fatal(err)
			}
			verdicts[r.Verdict]++
		}
		fmt.Fprintf(&table, "| %s | %d %% | %d %% | %d %% | %d %% |\n", tc.name, verdicts[reports.Pass], verdicts[reports.Inconclusive], verdicts[reports.Regression], verdicts[reports.Improvement])
		if verdicts[reports.Regression] > n/100 {
			t.Errorf("%s: false alarms: %d of %d comparisons are REGRESSION, want at most 1%%", tc.name, verdicts[reports.Regression], n)
		}
		if verdicts[reports.Invalid] > 0 {
			t.Errorf("A/A comparisons INVALID: %v", verdicts)
		}
	}
	t.Logf("A/A: 100 comparisons of 5 runs against 5 (20 s each) drawn from testdata/aa:\n%s", table.String())
}

// TestCompareRepeatedShift: the new runs' latencies are all the real ones × (1 + shift);
// the default allowance is +10 %.
func TestCompareRepeatedShift(t *testing.T) {
	sim := newSimulator(t, 17)
	const n = 40
	var table strings.Builder
	fmt.Fprintf(&table, "| shift | p50 REGRESSION | p50 INCONCLUSIVE | p99 REGRESSION | p99 INCONCLUSIVE | verdict REGRESSION |\n|--:|--:|--:|--:|--:|--:|\n")
	rates := map[float64][5]int{}
	for _, shift := range []float64{0.05, 0.10, 0.30} {
		var c [5]int
		for range n {
			r, err := reports.CompareRepeated(sim.side(t, 5, 20, 0), sim.side(t, 5, 20, shift), reports.GateOptions{Resamples: 400})
			if err != nil {
				t.Fatal(err)
			}
			for i, v := range []bool{
				verdictOf(r, "total", "p50") == reports.Regression, verdictOf(r, "total", "p50") == reports.Inconclusive,
				verdictOf(r, "total", "p99") == reports.Regression, verdictOf(r, "total", "p99") == reports.Inconclusive,
				r.Verdict == reports.Regression,
			} {
				if v {
					c[i]++
				}
			}
		}
		rates[shift] = c
		fmt.Fprintf(&table, "| +%.0f%% | %d%% | %d%% | %d%% | %d%% | %d%% |\n", shift*100, c[0]*100/n, c[1]*100/n, c[2]*100/n, c[3]*100/n, c[4]*100/n)
	}
	t.Logf("%d comparisons of 5 runs against 5 per shift, allowance +10%%:\n%s", n, table.String())
	// Within the allowance (+5 %) a regression is a false alarm; at it (+10 %) at most the
	// test's level (5 %); well beyond it (+30 %) the median must be caught.
	if c := rates[0.05]; c[0] > 0 || c[2] > 0 {
		t.Errorf("+5%% (within the +10%% allowance) judged a regression: %v", c)
	}
	if c := rates[0.10]; c[4] > n/20 {
		t.Errorf("+10%% (at the allowance) judged a regression in %d of %d comparisons, want at most 5%%", c[4], n)
	}
	if c := rates[0.30]; c[0] < n*8/10 {
		t.Errorf("+30%%: p50 caught in %d of %d comparisons, want at least 80%%", c[0], n)
	}
}
