package stats

import (
	"errors"
	"math"
	"slices"
)

// Alternative is the direction of a one- or two-sided test.
type Alternative int

// The alternatives of MannWhitney, as scipy.stats.mannwhitneyu names them.
const (
	TwoSided Alternative = iota // x and y differ in location
	Greater                     // x tends to be greater than y
	Less                        // x tends to be less than y
)

// MannWhitneyResult is a Mann-Whitney U test: U is the statistic of x (the number of
// pairs (x_i, y_j) with x_i > y_j, ties counting one half), P its p-value, and Exact
// whether P is from the exact distribution of U (no ties) or the normal approximation
// with tie and continuity corrections.
type MannWhitneyResult struct {
	U     float64
	P     float64
	Exact bool
}

// MannWhitney tests whether x and y come from the same distribution against alt, as
// scipy.stats.mannwhitneyu(x, y, alternative=alt, method="auto") with exact p-values for
// samples without ties of at most 50 each (scipy's auto uses exact up to 8: both are exact
// there, and the exact distribution is cheap here), the normal approximation otherwise.
func MannWhitney(x, y []float64, alt Alternative) (MannWhitneyResult, error) {
	m, n := len(x), len(y)
	if m == 0 || n == 0 {
		return MannWhitneyResult{}, errors.New("mann-whitney: both samples need at least one value")
	}
	for _, v := range slices.Concat(x, y) {
		if math.IsNaN(v) {
			return MannWhitneyResult{}, errors.New("mann-whitney: NaN in a sample")
		}
	}
	ranks, ties := rank(slices.Concat(x, y))
	var r1 float64
	for _, r := range ranks[:m] {
		r1 += r
	}
	u := r1 - float64(m*(m+1))/2
	res := MannWhitneyResult{U: u}
	if !ties && m <= 50 && n <= 50 {
		res.Exact = true
		res.P = exactP(u, m, n, alt)
		return res, nil
	}
	res.P = asymptoticP(u, m, n, ranks, alt)
	return res, nil
}

// rank returns the ranks (1-based, ties averaged) of v and whether any value repeats.
func rank(v []float64) (ranks []float64, ties bool) {
	idx := make([]int, len(v))
	for i := range idx {
		idx[i] = i
	}
	slices.SortStableFunc(idx, func(a, b int) int { return cmpFloat(v[a], v[b]) })
	ranks = make([]float64, len(v))
	for i := 0; i < len(idx); {
		j := i
		for j+1 < len(idx) && v[idx[j+1]] == v[idx[i]] {
			j++
		}
		if j > i {
			ties = true
		}
		r := float64(i+j)/2 + 1
		for k := i; k <= j; k++ {
			ranks[idx[k]] = r
		}
		i = j + 1
	}
	return ranks, ties
}

func cmpFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// exactP is the p-value of U = u for samples of m and n without ties: the share of the
// C(m+n, m) equally likely arrangements whose U is at least as extreme.
func exactP(u float64, m, n int, alt Alternative) float64 {
	dist := uDistribution(m, n) // dist[k] = P(U = k)
	k := int(math.Round(u))
	sf := func(k int) float64 { // P(U >= k)
		s := 0.0
		for i := max(k, 0); i < len(dist); i++ {
			s += dist[i]
		}
		return s
	}
	cdf := func(k int) float64 { return 1 - sf(k+1) } // P(U <= k)
	switch alt {
	case Greater:
		return sf(k)
	case Less:
		return cdf(k)
	}
	// Two-sided: the distribution is symmetric about mn/2; double the nearer tail.
	mn := m * n
	p := 2 * min(sf(k), cdf(k))
	if 2*k == mn {
		p = 1
	}
	return min(p, 1)
}

// uDistribution is the null distribution of U for samples of m and n without ties,
// from the recurrence f(m, n, u) = f(m-1, n, u-n) + f(m, n-1, u) on arrangement counts,
// as probabilities.
func uDistribution(m, n int) []float64 {
	// f[j][u] for the current i (rows of x size i, j of y size).
	prev := make([][]float64, n+1)
	for j := range prev {
		prev[j] = []float64{1} // i = 0: one arrangement, U = 0
	}
	for i := 1; i <= m; i++ {
		cur := make([][]float64, n+1)
		cur[0] = []float64{1} // j = 0: U = 0
		for j := 1; j <= n; j++ {
			row := make([]float64, i*j+1)
			// The largest of the i+j values is an x (it beats all j y's: u-j from f(i-1, j))
			// or a y (f(i, j-1)).
			for u, c := range prev[j] {
				row[u+j] += c
			}
			for u, c := range cur[j-1] {
				row[u] += c
			}
			cur[j] = row
		}
		prev = cur
	}
	counts := prev[n]
	total := 0.0
	for _, c := range counts {
		total += c
	}
	out := make([]float64, len(counts))
	for i, c := range counts {
		out[i] = c / total
	}
	return out
}

// asymptoticP is scipy's normal approximation: U standardised with the tie-corrected
// variance, with a continuity correction of 0.5 toward the mean.
func asymptoticP(u float64, m, n int, ranks []float64, alt Alternative) float64 {
	N := float64(m + n)
	mu := float64(m*n) / 2
	counts := map[float64]float64{}
	for _, r := range ranks {
		counts[r]++
	}
	tie := 0.0
	for _, t := range counts {
		tie += t*t*t - t
	}
	sigma := math.Sqrt(float64(m*n) / 12 * ((N + 1) - tie/(N*(N-1))))
	if sigma == 0 {
		return 1
	}
	var z float64
	switch alt {
	case Greater:
		z = (u - mu - 0.5) / sigma
		return normalSF(z)
	case Less:
		z = (u - mu + 0.5) / sigma
		return normalSF(-z)
	}
	z = (math.Abs(u-mu) - 0.5) / sigma
	return min(2*normalSF(z), 1)
}

// normalSF is the standard normal survival function P(Z > z).
func normalSF(z float64) float64 { return 0.5 * math.Erfc(z/math.Sqrt2) }

// MinP is the smallest p-value an exact one-sided Mann-Whitney test of m against n values
// can reach: 1 / C(m+n, m). With fewer repetitions no result can be significant at a level
// below it.
func MinP(m, n int) float64 {
	if m <= 0 || n <= 0 {
		return 1
	}
	// 1/C(m+n, m) in logs.
	lg := func(k int) float64 { v, _ := math.Lgamma(float64(k) + 1); return v }
	return math.Exp(lg(m) + lg(n) - lg(m+n))
}
