package stats_test

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/trendtactics/loadlab/internal/stats"
)

func near(a, b, tol float64) bool { return math.Abs(a-b) <= tol }

// Values from scipy.stats.mannwhitneyu's documentation and from hand counts.
func TestMannWhitney(t *testing.T) {
	males := []float64{19, 22, 16, 29, 24}
	females := []float64{20, 11, 17, 12}
	for _, tc := range []struct {
		name  string
		x, y  []float64
		alt   stats.Alternative
		u, p  float64
		exact bool
	}{
		// scipy docs: mannwhitneyu(males, females) → statistic=17.0, pvalue=0.1111111111111111
		{"scipy exact two-sided", males, females, stats.TwoSided, 17, 0.1111111111111111, true},
		// one-sided: P(U >= 17) = 7/126 (by hand: 1, 1, 2 and 3 of the C(9,4) = 126
		// arrangements have U = 20, 19, 18 and 17), half the two-sided value
		{"scipy exact greater", males, females, stats.Greater, 17, 0.05555555555555555, true},
		// Complete separation of 3 and 3: 1 arrangement of C(6,3) = 20.
		{"separated 3v3", []float64{1, 2, 3}, []float64{4, 5, 6}, stats.Less, 0, 1.0 / 20, true},
		{"separated 5v5", []float64{1, 2, 3, 4, 5}, []float64{6, 7, 8, 9, 10}, stats.Less, 0, 1.0 / 252, true},
		{"separated 5v5 two-sided", []float64{6, 7, 8, 9, 10}, []float64{1, 2, 3, 4, 5}, stats.TwoSided, 25, 2.0 / 252, true},
		// With ties, the normal approximation: U = 2 (pairs 1<2 twice... hand: x=[1,2,2] y=[2,3,3]:
		// x>y pairs: none; ties 2=2 twice → U = 1); mean 4.5, tie-corrected σ² = 9/12·(7 − 30/30) = 4.5.
		{"ties asymptotic", []float64{1, 2, 2}, []float64{2, 3, 3}, stats.Less, 1, 0.5 * math.Erfc(((4.5-1-0.5)/math.Sqrt(4.5))/math.Sqrt2), false},
	} {
		got, err := stats.MannWhitney(tc.x, tc.y, tc.alt)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if got.U != tc.u || !near(got.P, tc.p, 1e-12) || got.Exact != tc.exact {
			t.Errorf("%s: got %+v, want U=%v p=%v exact=%v", tc.name, got, tc.u, tc.p, tc.exact)
		}
	}
	if _, err := stats.MannWhitney(nil, females, stats.TwoSided); err == nil {
		t.Error("an empty sample was accepted")
	}
	if _, err := stats.MannWhitney([]float64{math.NaN()}, females, stats.TwoSided); err == nil {
		t.Error("NaN was accepted")
	}
	if p := stats.MinP(5, 5); !near(p, 1.0/252, 1e-15) {
		t.Errorf("MinP(5,5) = %v, want 1/252", p)
	}
	if p := stats.MinP(3, 3); !near(p, 0.05, 1e-15) {
		t.Errorf("MinP(3,3) = %v, want 1/20", p)
	}
}

// The exact distribution sums to one and is symmetric (checked through the p-values of
// mirrored samples).
func TestMannWhitneySymmetry(t *testing.T) {
	x := []float64{3.1, 4.7, 5.2, 9.9, 1.4, 8.8}
	y := []float64{2.2, 6.3, 7.1, 0.5}
	g, _ := stats.MannWhitney(x, y, stats.Greater)
	l, _ := stats.MannWhitney(y, x, stats.Less)
	if !near(g.P, l.P, 1e-12) {
		t.Errorf("P(x>y) = %v but P(y<x) = %v", g.P, l.P)
	}
	lo, _ := stats.MannWhitney(x, y, stats.Less)
	// P(U >= u) + P(U <= u) = 1 + P(U = u) ≥ 1.
	if g.P+lo.P < 1-1e-12 || g.P+lo.P > 1.5 {
		t.Errorf("tails %v + %v", g.P, lo.P)
	}
}

func TestHolm(t *testing.T) {
	// statsmodels.stats.multitest.multipletests([0.01, 0.04, 0.03, 0.005], method="holm")[1]
	// → [0.03, 0.06, 0.06, 0.02]
	got := stats.Holm([]float64{0.01, 0.04, 0.03, 0.005})
	want := []float64{0.03, 0.06, 0.06, 0.02}
	for i := range want {
		if !near(got[i], want[i], 1e-12) {
			t.Fatalf("Holm = %v, want %v", got, want)
		}
	}
	if got := stats.Holm([]float64{0.9, 0.8}); got[0] != 1 || got[1] != 1 {
		t.Errorf("capped at 1: %v", got)
	}
	if len(stats.Holm(nil)) != 0 {
		t.Error("empty family")
	}
}

// Q of a small series by hand: z = 0 0 0 | 3 3 3, τ = 3: between = 9 pairs × 3 = 27,
// within 0: Ê = 2·27/9 − 0 − 0 = 6, Q = 3·3/6 · 6 = 9 (TestSplitQByHand). Six points
// cannot be significant (2 of the 20 arrangements split as well: p = 0.1); ten can
// (2 of 252).
func TestEDivisive(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	if got := stats.EDivisive([]float64{0, 0, 0, 3, 3, 3}, stats.EDivisiveOptions{}, rng); len(got) != 0 {
		t.Errorf("six points: change points %v, want none", got)
	}
	if got := stats.EDivisive([]float64{0, 0, 0, 0, 0, 3, 3, 3, 3, 3}, stats.EDivisiveOptions{}, rng); len(got) != 1 || got[0] != 5 {
		t.Errorf("step series: change points %v, want [5]", got)
	}
	// Two shifts in noise: 20 points around 10, 15 around 13, 15 around 9.
	noise := rand.New(rand.NewPCG(2, 2))
	var x []float64
	for i := range 50 {
		level := 10.0
		switch {
		case i >= 35:
			level = 9
		case i >= 20:
			level = 13
		}
		x = append(x, level+0.5*noise.NormFloat64())
	}
	got := stats.EDivisive(x, stats.EDivisiveOptions{}, rng)
	if len(got) != 2 || got[0] < 19 || got[0] > 21 || got[1] < 34 || got[1] > 36 {
		t.Errorf("two shifts at 20 and 35: change points %v", got)
	}
	// Pure noise: no change point.
	var flat []float64
	for range 50 {
		flat = append(flat, 10+0.5*noise.NormFloat64())
	}
	if got := stats.EDivisive(flat, stats.EDivisiveOptions{}, rng); len(got) != 0 {
		t.Errorf("noise: change points %v, want none", got)
	}
	if got := stats.EDivisive([]float64{1, 2}, stats.EDivisiveOptions{}, rng); len(got) != 0 {
		t.Errorf("too short: %v", got)
	}
}

func TestSplitQByHand(t *testing.T) {
	tau, q := stats.SplitForTest([]float64{0, 0, 0, 3, 3, 3}, 2)
	if tau != 3 || !near(q, 9, 1e-12) {
		t.Errorf("split %d, Q %v; want 3, 9", tau, q)
	}
}

// The fit recovers known parameters: exactly from exact data, and from data with 1 %
// normal noise on each throughput (8 counts, 1 to 32 replicas; 200 trials) within the
// stated errors: λ within 6 %, σ within 0.012, κ and the peak's replica count within 40 %.
// (κ is the least determined: with 2 % noise the worst of 200 trials is 71 % off.)
func TestFitUSL(t *testing.T) {
	truth := stats.USL{Lambda: 1500, Sigma: 0.04, Kappa: 0.0008}
	counts := []float64{1, 2, 4, 8, 12, 16, 24, 32}
	var x []float64
	for _, n := range counts {
		x = append(x, truth.X(n))
	}
	got, err := stats.FitUSL(counts, x)
	if err != nil {
		t.Fatal(err)
	}
	if !near(got.Lambda, truth.Lambda, 1e-6*truth.Lambda) || !near(got.Sigma, truth.Sigma, 1e-6) || !near(got.Kappa, truth.Kappa, 1e-8) || got.R2 < 0.999999 {
		t.Errorf("exact data: %+v, want %+v", got, truth)
	}
	if n, _ := got.Peak(); !near(n, math.Sqrt(0.96/0.0008), 0.01) {
		t.Errorf("peak at %v replicas, want √(0.96/0.0008) = 34.6", n)
	}
	noise := rand.New(rand.NewPCG(3, 3))
	tn, _ := truth.Peak()
	for trial := range 200 {
		var noisy []float64
		for _, v := range x {
			noisy = append(noisy, v*(1+0.01*noise.NormFloat64()))
		}
		got, err := stats.FitUSL(counts, noisy)
		if err != nil {
			t.Fatal(err)
		}
		gn, _ := got.Peak()
		if math.Abs(got.Lambda/truth.Lambda-1) > 0.06 || math.Abs(got.Sigma-truth.Sigma) > 0.012 ||
			math.Abs(got.Kappa/truth.Kappa-1) > 0.4 || math.Abs(gn/tn-1) > 0.4 || got.R2 < 0.99 {
			t.Errorf("trial %d, 1%% noise: %+v (peak %.1f), want %+v (peak %.1f) within the stated errors", trial, got, gn, truth, tn)
		}
	}
	// Three counts suffice (the quadratic fit); two do not.
	if _, err := stats.FitUSL([]float64{1, 4, 8}, []float64{truth.X(1), truth.X(4), truth.X(8)}); err != nil {
		t.Error(err)
	}
	if _, err := stats.FitUSL([]float64{1, 1, 8}, []float64{1, 1, 2}); err == nil {
		t.Error("two distinct counts were accepted")
	}
	if _, err := stats.FitUSL([]float64{1, 2, 3}, []float64{1, -2, 3}); err == nil {
		t.Error("a negative throughput was accepted")
	}
}

func TestMedian(t *testing.T) {
	in := []float64{5, 1, 4, 2}
	if got := stats.Median(in); got != 3 {
		t.Errorf("Median of an even count = %g, want 3 (the mean of the middle two)", got)
	}
	if in[0] != 5 || in[3] != 2 {
		t.Errorf("Median reordered its input: %v", in)
	}
	if got := stats.Median([]float64{7, 3, 9}); got != 7 {
		t.Errorf("Median of an odd count = %g, want 7", got)
	}
	if got := stats.Median(nil); !math.IsNaN(got) {
		t.Errorf("Median of none = %g, want NaN", got)
	}
}
