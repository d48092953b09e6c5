//go:build race

package loadgen_test

// raceEnabled: the race detector slows the HTTP client several fold.
const raceEnabled = true
