package sizing

import (
	"errors"
	"fmt"
)

// MaxPacingError is the pacing error r_gen is measured at: 1 %.
const MaxPacingError = 0.01

// RateStep is one step of FindGeneratorRate: the rate offered and the pacing error measured.
type RateStep struct {
	RPS         float64 `json:"rps"`
	PacingError float64 `json:"pacing_error"`
}

// FindGeneratorRate searches the highest rate whose pacing error (measure's answer: a share,
// 0 to 1) stays under MaxPacingError: it doubles the rate from start until a step fails or
// the next would pass maxRPS (then maxRPS is tried last), halves it from start if even
// start fails (down to start ÷ 64), then bisects between the highest passing and lowest
// failing rate until they are within 10 % of each other. It returns that highest passing
// rate and every step, in the order measured; an error when no rate passed or measure failed.
func FindGeneratorRate(measure func(rps float64) (float64, error), start, maxRPS float64) (float64, []RateStep, error) {
	if start <= 0 || maxRPS < start {
		return 0, nil, fmt.Errorf("generator rate search: want 0 < start (%g) ≤ max (%g)", start, maxRPS)
	}
	var steps []RateStep
	good, bad := 0.0, 0.0 // the highest passing, the lowest failing rate (0: none yet)
	try := func(rps float64) (bool, error) {
		e, err := measure(rps)
		if err != nil {
			return false, fmt.Errorf("generator rate %.0f/s: %w", rps, err)
		}
		steps = append(steps, RateStep{RPS: rps, PacingError: e})
		if e < MaxPacingError {
			good = max(good, rps)
		} else if bad == 0 || rps < bad {
			bad = rps
		}
		return e < MaxPacingError, nil
	}
	for rps := start; ; rps = min(2*rps, maxRPS) {
		ok, err := try(rps)
		if err != nil {
			return 0, steps, err
		}
		if !ok {
			break
		}
		if rps >= maxRPS {
			return good, steps, nil // held at the cap: r_gen is at least maxRPS
		}
	}
	for rps := start / 2; good == 0 && rps >= start/64; rps /= 2 {
		if _, err := try(rps); err != nil {
			return 0, steps, err
		}
	}
	if good == 0 {
		return 0, steps, errors.New("generator rate search: the pacing error was 1 % or more at every rate tried")
	}
	for bad > good*1.1 {
		if _, err := try((good + bad) / 2); err != nil {
			return 0, steps, err
		}
	}
	return good, steps, nil
}
