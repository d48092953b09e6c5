package scenarios

import "time"

// Scaled returns a copy of s with every duration of its schedule multiplied by f
// (--time-scale): load duration and stages, the capacity ramp (at least 3s) and its
// cooldown, each fault's at, duration and restart-after, each window's at and duration,
// and thresholds' delayAbortEval (fault windows follow the faults). Rates, latencies and
// time-outs are magnitudes, not schedule, and stay as written. A scaled duration above 0 is rounded to the millisecond
// and is at least 1ms. f == 1 returns s itself; s is not modified.
func (s *Spec) Scaled(f float64) *Spec {
	if f == 1 {
		return s
	}
	scale := func(d time.Duration) time.Duration {
		if d <= 0 {
			return d
		}
		return max(time.Duration(float64(d)*f).Round(time.Millisecond), time.Millisecond)
	}
	out := *s
	out.Load.Duration = scale(s.Load.Duration)
	out.Load.Stages = make([]Stage, len(s.Load.Stages))
	for i, st := range s.Load.Stages {
		out.Load.Stages[i] = Stage{Duration: scale(st.Duration), Target: st.Target, OfCapacity: st.OfCapacity}
	}
	if s.Capacity != nil {
		c := *s.Capacity
		c.Duration = max(scale(c.Duration), 3*time.Second) // capacity is judged over three seconds
		c.Cooldown = scale(c.Cooldown)
		out.Capacity = &c
	}
	out.Faults = make([]*Fault, len(s.Faults))
	for i, ft := range s.Faults {
		c := *ft
		c.At, c.Duration = scale(ft.At), scale(ft.Duration)
		c.Params = make(map[string]string, len(ft.Params))
		for k, v := range ft.Params {
			c.Params[k] = v
		}
		if d := ft.ParamDuration("restart-after"); d > 0 {
			c.Params["restart-after"] = scale(d).String()
		}
		out.Faults[i] = &c
	}
	if s.Windows != nil {
		out.Windows = make([]*Window, len(s.Windows))
		for i, w := range s.Windows {
			c := *w
			c.At, c.Duration = scale(w.At), scale(w.Duration)
			out.Windows[i] = &c
		}
	}
	out.Thresholds = make([]*Threshold, len(s.Thresholds))
	for i, th := range s.Thresholds {
		c := *th
		c.DelayAbortEval = scale(th.DelayAbortEval)
		out.Thresholds[i] = &c
	}
	return &out
}
