package loadgen

import (
	"context"
	"fmt"
	"strings"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"

	"github.com/trendtactics/loadlab/result"
	"github.com/trendtactics/loadlab/scenarios"
)

// capacitySpan is how many consecutive seconds must keep the objective for their goodput
// to count, and how many that miss it end the ramp.
const capacitySpan = 3

// rampSeedMix derives the capacity ramp's seed from the run's.
const rampSeedMix = 0x5eed_ca9a_c17e

// MeasureCapacity sends spec's workload at a rate ramping as spec.Capacity says and returns
// the capacity it found. opts are those of the run to follow (base URL, seed, the write
// log, which records the ramp's writes too); its Registry, Windows, Results and Every are
// not used. The ramp stops after three saturated seconds in a row (see CapacitySecond).
func MeasureCapacity(ctx context.Context, spec *scenarios.Spec, opts Options) (*result.CapacityResult, error) {
	return MeasureCapacityWith(ctx, spec, opts, Run)
}

// RunFunc runs a spec as Run does: Run itself, or a distributed generator.
type RunFunc func(ctx context.Context, spec *scenarios.Spec, opts Options) (*result.Result, error)

// MeasureCapacityWith is MeasureCapacity with the ramp run by run: a coordinator runs it
// on its workers and calls the ramp's Every on the merged figures once a second, so the
// saturation is judged on all of the load. run gets CapacityRampSpec(spec) and options
// with CapacityRamp set.
func MeasureCapacityWith(ctx context.Context, spec *scenarios.Spec, opts Options, run RunFunc) (*result.CapacityResult, error) {
	c := spec.Capacity
	if c == nil {
		return nil, fmt.Errorf("measure capacity: the scenario has no capacity: block")
	}
	ramp := CapacityRampSpec(spec)
	out := &result.CapacityResult{Objective: c.String(), FromRPS: c.From, ToRPS: c.To, RampS: c.Duration.Seconds()}
	j := &capacityJudge{c: c, res: out}
	// The ramp draws its own random stream: with the run's seed its {{ uuid }}s would be the
	// load's first ones, and a unique key the ramp used would conflict in the load.
	// Its writes go to the run's write log: what the ramp wrote is in the state the
	// verification reads afterwards, and must not count as unexpected.
	o := Options{BaseURL: opts.BaseURL, Seed: opts.Seed ^ rampSeedMix, Progress: opts.Progress, TTY: opts.TTY,
		MaxLateness: opts.MaxLateness, Every: j.every, Writes: opts.Writes, CapacityRamp: true}
	res, err := run(ctx, ramp, o)
	if err != nil {
		return nil, fmt.Errorf("measure capacity: %w", err)
	}
	if res.Interrupted {
		return nil, ctx.Err()
	}
	out.StoppedS = res.DurationMS / 1000
	out.Valid = res.Generator.Valid
	out.Reasons = res.Generator.Reasons
	// An early stop drops the rest of the ramp's plan: that is not the generator's fault.
	if out.Saturated && !out.Valid {
		out.Valid, out.Reasons = true, nil
		for _, r := range res.Generator.Reasons {
			if res.Generator.Dropped == 0 || !isDropReason(r) {
				out.Reasons = append(out.Reasons, r)
				out.Valid = false
			}
		}
	}
	return out, nil
}

// CapacityRampSpec is the spec of spec's capacity ramp: its workload at a rate ramping
// from capacity.from to capacity.to over capacity.duration, without faults, thresholds,
// probe or verification. spec must have a capacity: block.
func CapacityRampSpec(spec *scenarios.Spec) *scenarios.Spec {
	c := spec.Capacity
	ramp := *spec
	ramp.Capacity, ramp.Faults, ramp.Thresholds, ramp.Probe, ramp.Verify = nil, nil, nil, nil, nil
	ramp.Load = scenarios.Load{Executor: scenarios.ExecutorRampingArrivalRate, TimeUnit: time.Second,
		StartRate: c.From, Stages: []scenarios.Stage{{Duration: c.Duration, Target: c.To}},
		MaxInFlight: spec.Load.MaxInFlight}
	return &ramp
}

func isDropReason(r string) bool { return strings.Contains(r, "were never sent") }

// capacityJudge judges the ramp second by second from the engine's snapshots.
type capacityJudge struct {
	c    *scenarios.Capacity
	res  *result.CapacityResult
	prev *result.RequestStats // the previous snapshot's total
	miss int                  // seconds in a row that missed the objective
}

// every is Options.Every of the ramp: it judges the second that just ended.
func (j *capacityJudge) every(elapsed time.Duration, snap *result.Result) (bool, string) {
	cur := snap.Total
	if cur == nil {
		return false, ""
	}
	s := result.CapacitySecond{T: len(j.res.Seconds)}
	if n := len(snap.Timeline); n > 0 {
		s.Planned = snap.Timeline[n-1].Planned
	}
	var prevAdm *hdrhistogram.Histogram
	if j.prev != nil {
		s.Answers = cur.Count - j.prev.Count
		s.Good = cur.Good - j.prev.Good
		s.Shed = cur.Shed - j.prev.Shed
		s.Errors = cur.Errors - j.prev.Errors
		prevAdm = admittedOf(j.prev)
	} else {
		s.Answers, s.Good, s.Shed, s.Errors = cur.Count, cur.Good, cur.Shed, cur.Errors
	}
	delta := subtract(admittedOf(cur), prevAdm)
	if delta != nil && delta.TotalCount() > 0 {
		s.PMS = result.MS(delta.ValueAtQuantile(j.c.Percentile))
	}
	// Errors here are the answers neither good nor shed: a shed is the service protecting
	// itself, which keeps the objective; a time-out or a 500 does not.
	bad := s.Answers - min(s.Good+s.Shed, s.Answers)
	fast := delta != nil && delta.TotalCount() > 0 && time.Duration(s.PMS*float64(time.Millisecond)) < j.c.Latency
	s.Kept = s.Answers > 0 && fast && float64(bad) <= j.c.Errors*float64(s.Answers)
	// Saturated: the service did not serve everything offered within the objective.
	s.Saturated = s.Answers > 0 && (!fast || float64(bad+s.Shed) > j.c.Errors*float64(s.Answers))
	j.res.Seconds = append(j.res.Seconds, s)
	j.prev = cur

	// The best goodput over capacitySpan kept seconds in a row.
	if n := len(j.res.Seconds); n >= capacitySpan {
		last := j.res.Seconds[n-capacitySpan:]
		var good uint64
		kept := true
		for _, x := range last {
			kept = kept && x.Kept
			good += x.Good
		}
		if avg := float64(good) / capacitySpan; kept && avg > j.res.RPS {
			j.res.RPS, j.res.At = avg, float64(n)
		}
	}
	if !s.Saturated {
		j.miss = 0
		return false, ""
	}
	j.miss++
	if j.miss >= capacitySpan && j.res.RPS > 0 {
		j.res.Saturated = true
		return true, fmt.Sprintf("capacity found: %d seconds in a row were not all served within the objective (%s)", capacitySpan, j.c)
	}
	return false, ""
}

// admittedOf returns the admitted latency histogram of a snapshot's stats.
func admittedOf(st *result.RequestStats) *hdrhistogram.Histogram {
	if st.AdmittedHist != nil {
		return st.AdmittedHist
	}
	return st.LatencyHist
}

// subtract returns cur − prev, bucket by bucket (both cumulative histograms of one run,
// prev taken before cur). A nil prev returns cur.
func subtract(cur, prev *hdrhistogram.Histogram) *hdrhistogram.Histogram {
	if cur == nil || prev == nil {
		return cur
	}
	a, b := cur.Export(), prev.Export()
	counts := make([]int64, len(a.Counts))
	for i := range counts {
		counts[i] = a.Counts[i]
		if i < len(b.Counts) {
			counts[i] -= b.Counts[i]
		}
		counts[i] = max(counts[i], 0)
	}
	return hdrhistogram.Import(&hdrhistogram.Snapshot{LowestTrackableValue: a.LowestTrackableValue,
		HighestTrackableValue: a.HighestTrackableValue, SignificantFigures: a.SignificantFigures, Counts: counts})
}
