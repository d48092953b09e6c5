package pipeline

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/trendtactics/loadlab/loadgen"
	"github.com/trendtactics/loadlab/result"
	"github.com/trendtactics/loadlab/scenarios"
)

// measureCapacity runs the scenario's capacity ramp with run (loadgen.Run, or on the
// workers), says what it found on status (nil: nothing), and rests for the cooldown. It
// fails when no capacity was found: then "2x capacity" means nothing.
func measureCapacity(ctx context.Context, status io.Writer, spec *scenarios.Spec, opts loadgen.Options, run loadgen.RunFunc) (*result.CapacityResult, error) {
	if status == nil {
		status = io.Discard
	}
	c := spec.Capacity
	fmt.Fprintf(status, "capacity: ramping %g → %g/s over %s until three seconds in a row are saturated under %s\n",
		c.From, c.To, c.Duration, c)
	res, err := loadgen.MeasureCapacityWith(ctx, spec, opts, run)
	if err != nil {
		return nil, err
	}
	switch {
	case res.RPS <= 0:
		return nil, fmt.Errorf("capacity: no three seconds in a row kept the objective (%s), even near %g/s: "+
			"lower capacity.from or loosen the objective", c, c.From)
	case res.Saturated:
		fmt.Fprintf(status, "capacity: %.1f/s (goodput of the best three seconds, ending at %gs of the ramp)\n", res.RPS, res.At)
	default:
		fmt.Fprintf(status, "capacity: at least %.1f/s: the ramp ended at %g/s before the objective broke; "+
			"raise capacity.to to find the knee\n", res.RPS, c.To)
	}
	if !res.Valid {
		fmt.Fprintf(status, "capacity: the generator did not hold the ramp: %v\n", res.Reasons)
	}
	if c.Cooldown > 0 {
		t := time.NewTimer(c.Cooldown)
		defer t.Stop()
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-t.C:
		}
	}
	return res, nil
}
