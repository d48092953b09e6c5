package stats

import "slices"

// Holm adjusts p-values for a family of tests by Holm's step-down procedure (Holm 1979):
// sorted ascending, the i-th smallest (from 0) is multiplied by k−i, and the adjusted values
// are made monotone; each is capped at 1. Rejecting the tests whose adjusted p-value is at
// most α controls the family-wise error rate at α, whatever the dependence between tests.
// The result is in the order of p (as statsmodels' multipletests(p, method="holm")).
func Holm(p []float64) []float64 {
	k := len(p)
	idx := make([]int, k)
	for i := range idx {
		idx[i] = i
	}
	slices.SortStableFunc(idx, func(a, b int) int { return cmpFloat(p[a], p[b]) })
	out := make([]float64, k)
	running := 0.0
	for i, j := range idx {
		running = max(running, min(float64(k-i)*p[j], 1))
		out[j] = running
	}
	return out
}
