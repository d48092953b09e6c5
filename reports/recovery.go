package reports

import (
	"math"

	"github.com/trendtactics/loadlab/result"
	"github.com/trendtactics/loadlab/scenarios"
)

// RecoveryWindow is the number of seconds the rolling p99 and error rate look at.
const RecoveryWindow = 3

// DefaultRecoveryErrorRate bounds the error rate of a recovered service when the scenario
// has no `errors` rate threshold.
const DefaultRecoveryErrorRate = 0.01

// Recover sets RecoveryS on every fault of res: the time from the fault's end until the
// rolling p99 latency and the rolling error rate, over RecoveryWindow seconds of the
// per-second timeline, are back within their limits; -1 when that never happened before
// the run ended.
//
// The latency limit is the scenario's tightest `p(99) <`/`<=` threshold on latency without a
// request tag (unscoped or {window:steady}); without one, twice the p99 of the seconds
// before the first fault. The error limit is the tightest `errors` rate threshold without a
// request tag, else DefaultRecoveryErrorRate.
func Recover(spec *scenarios.Spec, res *result.Result) {
	latLimit, errLimit := recoveryLimits(spec, res)
	for i := range res.Faults {
		f := &res.Faults[i]
		f.RecoveryS = recoveryAfter(res.Timeline, f.End, latLimit, errLimit)
	}
}

func recoveryLimits(spec *scenarios.Spec, res *result.Result) (latMS, errRate float64) {
	latMS, errRate = math.Inf(1), math.Inf(1)
	for _, th := range spec.Thresholds {
		if w := th.Tags[scenarios.TagWindow]; th.Tags[scenarios.TagRequest] != "" || (w != "" && w != result.SteadyWindow) {
			continue
		}
		if th.Op != "<" && th.Op != "<=" {
			continue
		}
		switch {
		case th.Metric == scenarios.MetricLatency && th.Aggregation == scenarios.AggPercentile && th.Percentile == 99:
			latMS = min(latMS, th.Value*1000)
		case th.Metric == scenarios.MetricErrors && th.Aggregation == scenarios.AggRate:
			errRate = min(errRate, th.Value)
		}
	}
	if math.IsInf(latMS, 1) {
		latMS = 2 * baselineP99(spec, res)
	}
	if math.IsInf(errRate, 1) {
		errRate = DefaultRecoveryErrorRate
	}
	return latMS, errRate
}

// baselineP99 is the highest per-second p99 before the first fault (or of the whole run).
func baselineP99(spec *scenarios.Spec, res *result.Result) float64 {
	first := math.Inf(1)
	for _, f := range spec.Faults {
		first = min(first, f.At.Seconds())
	}
	var p float64
	for _, pt := range res.Timeline {
		if float64(pt.T+1) <= first && pt.Count > 0 {
			p = max(p, pt.P99)
		}
	}
	if p == 0 {
		return math.Inf(1)
	}
	return p
}

// recoveryAfter scans the timeline from the first whole second after end.
func recoveryAfter(tl []result.Point, end, latMS, errRate float64) float64 {
	for i, pt := range tl {
		if float64(pt.T) < end {
			continue
		}
		var count, errs uint64
		var p99 float64
		for _, q := range tl[i:min(len(tl), i+RecoveryWindow)] {
			count += q.Count
			errs += q.Errors
			p99 = max(p99, q.P99) // the rolling p99 is bounded by the worst second's p99
		}
		if count == 0 {
			continue
		}
		if p99 <= latMS && float64(errs)/float64(count) <= errRate {
			return max(0, float64(pt.T)-end)
		}
	}
	return -1
}
