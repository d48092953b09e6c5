package main

import (
	"time"

	"github.com/trendtactics/loadlab/scenarios"
)

// scaleSpec returns a copy of spec with every duration of its schedule multiplied by f
// (--time-scale): load duration and stages, the capacity ramp (at least 3s) and its
// cooldown, each fault's at, duration and restart-after, and thresholds' delayAbortEval (fault windows follow the faults). Rates, latencies and
// time-outs are magnitudes, not schedule, and stay as written. f == 1 returns spec itself.
func scaleSpec(spec *scenarios.Spec, f float64) *scenarios.Spec {
	if f == 1 {
		return spec
	}
	scale := func(d time.Duration) time.Duration {
		if d <= 0 {
			return d
		}
		return max(time.Duration(float64(d)*f).Round(time.Millisecond), time.Millisecond)
	}
	s := *spec
	s.Load.Duration = scale(spec.Load.Duration)
	s.Load.Stages = make([]scenarios.Stage, len(spec.Load.Stages))
	for i, st := range spec.Load.Stages {
		s.Load.Stages[i] = scenarios.Stage{Duration: scale(st.Duration), Target: st.Target, OfCapacity: st.OfCapacity}
	}
	if spec.Capacity != nil {
		c := *spec.Capacity
		c.Duration = max(scale(c.Duration), 3*time.Second) // capacity is judged over three seconds
		c.Cooldown = scale(c.Cooldown)
		s.Capacity = &c
	}
	s.Faults = make([]*scenarios.Fault, len(spec.Faults))
	for i, ft := range spec.Faults {
		c := *ft
		c.At, c.Duration = scale(ft.At), scale(ft.Duration)
		c.Params = make(map[string]string, len(ft.Params))
		for k, v := range ft.Params {
			c.Params[k] = v
		}
		if d := ft.ParamDuration("restart-after"); d > 0 {
			c.Params["restart-after"] = scale(d).String()
		}
		s.Faults[i] = &c
	}
	s.Thresholds = make([]*scenarios.Threshold, len(spec.Thresholds))
	for i, th := range spec.Thresholds {
		c := *th
		c.DelayAbortEval = scale(th.DelayAbortEval)
		s.Thresholds[i] = &c
	}
	return &s
}
