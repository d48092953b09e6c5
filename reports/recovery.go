package reports

import (
	"math"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"

	"github.com/trendtactics/loadlab/result"
	"github.com/trendtactics/loadlab/scenarios"
)

// Recovery is judged on rolling windows of request completions (the window slots of the
// result, 100 ms each), falling back to the per-second timeline where there are none.
const (
	// RecoveryRolling is the span of the rolling window whose p99 and error rate are judged.
	RecoveryRolling = time.Second
	// RecoveryHold is how long the rolling windows must stay within bounds.
	RecoveryHold = 3 * time.Second
	// RecoveryWindow is the number of seconds the rolling p99 and error rate look at on a
	// per-second timeline (results without slots, and after the slots' horizon).
	RecoveryWindow = 3
)

// DefaultRecoveryErrorRate bounds the error rate of a recovered service when the scenario
// has no `errors` rate threshold.
const DefaultRecoveryErrorRate = 0.01

// Recover sets the recovery times of every fault of res. RecoveryS is the time from the
// fault's end until the first moment, on a 100 ms grid (result.SlotWidth), from which every
// rolling window of RecoveryRolling of request completions that has any, for RecoveryHold,
// has its p99 latency and its error rate within their limits; -1 when no such moment came
// before the run ended. Completions are those of all requests, placed by when they
// completed (intended send time + latency), from the fault window's slots; beyond the
// slots' horizon (result.RecoveryHorizon after the fault's end) and for results without
// slots, the per-second timeline is judged the same way with RecoveryWindow seconds.
// For a process.kill fault whose process was restarted (ReadyS set), RecoveryAfterRestartS
// is measured the same way from the moment the process was ready.
//
// The latency limit is the scenario's tightest `p(99) <`/`<=` threshold on latency without a
// request tag (unscoped or {window:steady}); without one, twice the p99 of the seconds
// before the first fault. The error limit is the tightest `errors` rate threshold without a
// request tag, else DefaultRecoveryErrorRate.
func Recover(spec *scenarios.Spec, res *result.Result) {
	latLimit, errLimit := recoveryLimits(spec, res)
	for i := range res.Faults {
		f := &res.Faults[i]
		var slots *slotGrid
		for _, w := range res.Windows {
			if w.Name == f.Name && len(w.Slots) > 0 {
				slots = newSlotGrid(w)
			}
		}
		f.RecoveryS = recoveryFrom(slots, res.Timeline, f.End, latLimit, errLimit)
		if f.ReadyS > 0 {
			f.RecoveryAfterRestartS = recoveryFrom(slots, res.Timeline, f.ReadyS, latLimit, errLimit)
		}
	}
}

// recoveryFrom is the time from from (seconds since the run start) to recovery, or -1.
func recoveryFrom(g *slotGrid, tl []result.Point, from, latMS, errRate float64) float64 {
	if g == nil {
		return recoveryAfter(tl, from, latMS, errRate)
	}
	if t, ok := g.recovery(from, latMS, errRate); ok {
		return t - from
	}
	// Not within the slots: the timeline from their end on.
	end := max(g.end(), from)
	if r := recoveryAfter(tl, end, latMS, errRate); r >= 0 {
		return end + r - from
	}
	return -1
}

// slotGrid holds a window's slots by their index on its 100 ms grid.
type slotGrid struct {
	origin float64
	count  []uint64
	errs   []uint64
	hists  []*hdrhistogram.Histogram
	memo   map[int]int8 // window judgements: 1 ok, 0 empty, -1 out of bounds
}

func newSlotGrid(w *result.WindowStats) *slotGrid {
	g := &slotGrid{origin: w.Start, memo: map[int]int8{}}
	width := result.SlotWidth.Seconds()
	for _, s := range w.Slots {
		k := int(math.Round((s.T - w.Start) / width))
		if k < 0 {
			continue
		}
		for len(g.count) <= k {
			g.count, g.errs, g.hists = append(g.count, 0), append(g.errs, 0), append(g.hists, nil)
		}
		g.count[k] += s.Count
		g.errs[k] += s.Errors
		if s.HDR != "" {
			if h, err := result.DecodeHistogram(s.HDR); err == nil {
				g.hists[k] = h
			}
		}
	}
	return g
}

// end is where the slots end, seconds since the run start.
func (g *slotGrid) end() float64 {
	return g.origin + float64(len(g.count))*result.SlotWidth.Seconds()
}

// judge judges the rolling window of slots [k, k+RecoveryRolling).
func (g *slotGrid) judge(k int, latMS, errRate float64) int8 {
	if v, ok := g.memo[k]; ok {
		return v
	}
	n := int(RecoveryRolling / result.SlotWidth)
	var count, errs uint64
	h := result.NewHistogram()
	for i := k; i < min(k+n, len(g.count)); i++ {
		count += g.count[i]
		errs += g.errs[i]
		if g.hists[i] != nil {
			h.Merge(g.hists[i])
		}
	}
	var v int8
	switch {
	case count == 0:
		v = 0
	case float64(errs)/float64(count) > errRate:
		v = -1
	case h.TotalCount() > 0 && result.MS(h.ValueAtQuantile(99)) > latMS:
		v = -1
	default:
		v = 1
	}
	g.memo[k] = v
	return v
}

// recovery returns the first grid moment at or after from from which the rolling windows
// stay within bounds for RecoveryHold (those the slots reach), with completions in at least
// one of them.
func (g *slotGrid) recovery(from, latMS, errRate float64) (float64, bool) {
	width := result.SlotWidth.Seconds()
	first := max(0, int(math.Ceil((from-g.origin)/width-1e-9)))
	hold := int(RecoveryHold / result.SlotWidth)
	for k := first; k < len(g.count); k++ {
		seen, ok := false, true
		for j := k; j <= k+hold && j < len(g.count); j++ {
			switch g.judge(j, latMS, errRate) {
			case 1:
				seen = true
			case -1:
				ok = false
			}
			if !ok {
				break
			}
		}
		if ok && seen {
			return max(from, g.origin+float64(k)*width), true
		}
	}
	return 0, false
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
