package stats

import (
	"math"
	"math/rand/v2"
	"slices"
)

// EDivisiveOptions tune EDivisive.
type EDivisiveOptions struct {
	// MinSize is the fewest points a segment may have (default 3).
	MinSize int
	// Permutations of the significance test (default 199); Alpha its level (default 0.05).
	Permutations int
	Alpha        float64
}

// EDivisive finds change points in a series by E-Divisive with means (Matteson & James,
// "A Nonparametric Approach for Multiple Change Point Analysis of Multivariate Data",
// JASA 2014; the method MongoDB's performance CI uses, Daly et al. ICPE 2020), with the
// energy distance's exponent 1. Each step splits the segment at the point that maximizes
//
//	Q(τ) = m·n/(m+n) · ( 2/(m·n) Σ|x_i − y_j| − 1/C(m,2) Σ|x_i − x_k| − 1/C(n,2) Σ|y_j − y_l| )
//
// over its m points before τ (x) and n from τ on (y), the segment whose best split is
// largest first; a split is kept when a permutation test (points shuffled within their
// segments, rng's draws) finds a Q as large in at most Alpha of the permutations. It
// returns the indices where new segments begin, ascending. It makes no assumption on the
// distribution: a shift in location or in spread both raise Q.
func EDivisive(x []float64, o EDivisiveOptions, rng *rand.Rand) []int {
	if o.MinSize < 2 {
		o.MinSize = 3
	}
	if o.Permutations <= 0 {
		o.Permutations = 199
	}
	if o.Alpha <= 0 {
		o.Alpha = 0.05
	}
	bounds := []int{0, len(x)} // segment boundaries, ascending
	for {
		seg, tau, q := bestSplit(x, bounds, o.MinSize)
		if seg < 0 {
			break
		}
		// Permutation test: shuffle within the current segments, take the largest Q.
		perm := slices.Clone(x)
		exceed := 0
		for range o.Permutations {
			for s := 0; s+1 < len(bounds); s++ {
				part := perm[bounds[s]:bounds[s+1]]
				rng.Shuffle(len(part), func(i, j int) { part[i], part[j] = part[j], part[i] })
			}
			if _, _, qp := bestSplit(perm, bounds, o.MinSize); qp >= q {
				exceed++
			}
		}
		p := float64(exceed+1) / float64(o.Permutations+1)
		if p > o.Alpha {
			break
		}
		bounds = append(bounds, tau)
		slices.Sort(bounds)
	}
	return slices.Clone(bounds[1 : len(bounds)-1])
}

// bestSplit returns the segment (by its index in bounds), the split and Q of the largest
// Q over every segment; seg is -1 when no segment can be split into two of minSize.
func bestSplit(x []float64, bounds []int, minSize int) (seg, tau int, q float64) {
	seg, q = -1, math.Inf(-1)
	for s := 0; s+1 < len(bounds); s++ {
		t, qs := splitSegment(x[bounds[s]:bounds[s+1]], minSize)
		if t > 0 && qs > q {
			seg, tau, q = s, bounds[s]+t, qs
		}
	}
	return seg, tau, q
}

// splitSegment returns the τ in [minSize, n−minSize] maximizing Q(τ) of z and that Q;
// τ is 0 when z is too short to split.
func splitSegment(z []float64, minSize int) (tau int, best float64) {
	n := len(z)
	if n < 2*minSize {
		return 0, 0
	}
	// left[t]: Σ_{i<k<t} |z_i − z_k|, the distances within the points before t.
	left := make([]float64, n+1)
	right := make([]float64, n+1) // right[t]: Σ_{t≤j<l<n} |z_j − z_l|
	for t := 1; t <= n; t++ {
		row := 0.0
		for i := 0; i < t-1; i++ {
			row += math.Abs(z[i] - z[t-1])
		}
		left[t] = left[t-1] + row
	}
	for t := n - 1; t >= 0; t-- {
		row := 0.0
		for j := t + 1; j < n; j++ {
			row += math.Abs(z[t] - z[j])
		}
		right[t] = right[t+1] + row
	}
	total := left[n]
	best = math.Inf(-1)
	for t := minSize; t <= n-minSize; t++ {
		m, k := float64(t), float64(n-t)
		between := total - left[t] - right[t]
		e := 2*between/(m*k) - left[t]/(m*(m-1)/2) - right[t]/(k*(k-1)/2)
		if q := m * k / (m + k) * e; q > best {
			tau, best = t, q
		}
	}
	return tau, best
}
