package sizing

import (
	"errors"
	"math"
	"testing"
)

// knee is a synthetic pacing error: 0.1 % up to the knee, then growing with the excess
// (1 % at 1.009 × the knee).
func knee(at float64) func(float64) (float64, error) {
	return func(rps float64) (float64, error) {
		if rps <= at {
			return 0.001, nil
		}
		return 0.001 + (rps-at)/at, nil
	}
}

func TestFindGeneratorRate(t *testing.T) {
	for _, tc := range []struct {
		name              string
		knee, start, max  float64
		wantLow, wantHigh float64
	}{
		{"knee above the start", 23000, 1000, 1e6, 23000 / 1.1, 23000 * 1.009},
		{"knee below the start", 300, 1000, 1e6, 300 / 1.1, 300 * 1.009},
		{"capped", 1e9, 1000, 5000, 5000, 5000},
		{"knee between the last doubling and the cap", 7000, 1000, 7500, 7000 / 1.1, 7000 * 1.009},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, steps, err := FindGeneratorRate(knee(tc.knee), tc.start, tc.max)
			if err != nil {
				t.Fatal(err)
			}
			if got < tc.wantLow || got > tc.wantHigh {
				t.Errorf("r_gen %.0f, want in [%.0f, %.0f]; steps %+v", got, tc.wantLow, tc.wantHigh, steps)
			}
			seen := false
			for _, s := range steps {
				if s.RPS > tc.max {
					t.Errorf("step %.0f/s above the cap %.0f", s.RPS, tc.max)
				}
				if s.RPS == got {
					seen = s.PacingError < MaxPacingError
				}
			}
			if !seen || len(steps) > 25 {
				t.Errorf("r_gen %.0f not a passing step, or too many steps: %+v", got, steps)
			}
		})
	}
}

func TestFindGeneratorRateFails(t *testing.T) {
	if _, _, err := FindGeneratorRate(knee(1), 1000, 1e6); err == nil {
		t.Error("no rate passes: want an error")
	}
	boom := errors.New("boom")
	if _, _, err := FindGeneratorRate(func(float64) (float64, error) { return 0, boom }, 1000, 1e6); !errors.Is(err, boom) {
		t.Errorf("err %v, want boom", err)
	}
	if _, _, err := FindGeneratorRate(knee(1), 0, 1e6); err == nil {
		t.Error("start 0: want an error")
	}
	if got, _, _ := FindGeneratorRate(knee(math.Inf(1)), 1000, 1000); got != 1000 {
		t.Errorf("start = max: %.0f", got)
	}
}
