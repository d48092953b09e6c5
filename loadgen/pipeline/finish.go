package pipeline

import (
	"slices"

	"github.com/trendtactics/loadlab/chaos"
	"github.com/trendtactics/loadlab/reports"
	"github.com/trendtactics/loadlab/result"
	"github.com/trendtactics/loadlab/scenarios"
)

// Measured is what a run measured, before it is judged: the engine's figures (or the
// merge of several workers'), and what happened beside them.
type Measured struct {
	// Result holds the engine's figures: requests, windows, timeline, generator health,
	// events of the engine (abort). Finish does not modify it.
	Result *result.Result
	// Capacity is the capacity ramp's outcome; nil without capacity:.
	Capacity *result.CapacityResult
	// FaultsRan says the fault timeline ran (its events, even none, are the faults' story);
	// false when the run had no faults or injected none (--no-faults, no lab).
	FaultsRan bool
	// FaultEvents are the timeline's events, offsets from the run start.
	FaultEvents []chaos.Event
	// Aborter is the live evaluator of the abortOnFail thresholds that ran beside the
	// engine; nil when none did.
	Aborter *reports.Aborter
	// Memory are the resident-memory series watched during the run.
	Memory []result.ProcessMemory
	// Verification is the check of the data after the run; nil when none ran.
	Verification *result.VerificationResult
}

// Finish judges what a run measured and returns the finished result: a copy of
// m.Result with the scenario's path, the capacity (a ramp the generator could not hold
// makes the run invalid), the fault events and results with their recovery times, every
// threshold evaluated (the one that aborted the run marked as such), the verification and
// the verdict. It is a pure function: no I/O, no clock, inputs unchanged.
func Finish(spec *scenarios.Spec, m Measured) *result.Result {
	res := *m.Result
	res.Generator.Reasons = slices.Clone(res.Generator.Reasons)
	res.Events = slices.Clone(res.Events)
	if res.Path == "" {
		res.Path = spec.Path
	}
	if m.Memory != nil {
		res.Memory = m.Memory
	}
	if c := m.Capacity; c != nil {
		res.Capacity = c
		if !c.Valid {
			res.Generator.Valid = false
			for _, r := range c.Reasons {
				res.Generator.Reasons = append(res.Generator.Reasons, "capacity measurement: "+r)
			}
		}
	}
	res.Faults = nil
	if m.FaultsRan {
		evs, faults := chaos.Results(spec.Faults, m.FaultEvents)
		res.Events = append(res.Events, evs...)
		res.Faults = faults
		reports.Recover(spec, &res)
	}
	res.Thresholds = reports.Evaluate(spec, &res)
	if m.Aborter != nil {
		m.Aborter.Mark(res.Thresholds)
	}
	res.Verification = m.Verification
	res.Verdict = reports.Verdict(&res)
	return &res
}
