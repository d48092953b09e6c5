package main

import (
	"context"
	"io"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/trendtactics/loadlab/internal/testutil"
)

// TestMeasureGeneratorRate runs the real generator calibration (children of the loadgen
// binary on one core against a net/http server on loopback), capped at 2000/s with 1 s
// steps. It judges the mechanism: a positive r_gen that is a measured step under 1 %
// pacing error, no step above the cap, and the method recorded; not the machine's rate.
func TestMeasureGeneratorRate(t *testing.T) {
	exe := filepath.Join(testutil.Build(t, "github.com/trendtactics/loadlab/cmd/loadgen"), "loadgen")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	rgen, method, steps, err := measureGeneratorRate(ctx, exe, 2000, time.Second, 25*time.Millisecond, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if rgen <= 0 || rgen > 2000 || len(steps) == 0 {
		t.Fatalf("r_gen %.0f, steps %+v", rgen, steps)
	}
	found := false
	for _, s := range steps {
		if s.RPS > 2000 || s.PacingError < 0 || s.PacingError > 1 {
			t.Errorf("step %+v", s)
		}
		found = found || (s.RPS == rgen && s.PacingError < 0.01)
	}
	if !found {
		t.Errorf("r_gen %.0f is not a step under 1%%: %+v", rgen, steps)
	}
	for _, want := range []string{"GOMAXPROCS=1", "pacing error", "25ms late"} {
		if !strings.Contains(method, want) {
			t.Errorf("method %q lacks %q", method, want)
		}
	}
}
