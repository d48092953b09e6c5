// Package stats holds the few statistical procedures loadlab's CI gate and capacity plan
// need and no well-kept Go library offers together: the Mann-Whitney rank test, Holm's
// step-down correction, E-Divisive change-point detection, and a least-squares fit of the
// Universal Scalability Law (and the median they share with the benchmarks). gonum.org/v1/gonum/stat has none of the first three (it has
// moments, quantiles, correlation and distributions); the normal distribution here is
// math.Erfc. Each procedure is tested against values published for it (scipy, statsmodels,
// the papers' own examples) or computed by hand in the tests.
//
// Everything here is a pure function of its inputs: randomness comes from a *rand.Rand
// the caller seeds, so results are reproducible.
package stats
