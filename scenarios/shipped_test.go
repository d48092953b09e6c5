package scenarios_test

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/trendtactics/loadlab/scenarios"
)

// TestShippedScenarios loads every scenario shipped next to the package.
func TestShippedScenarios(t *testing.T) {
	files, err := globAll("*.yaml", "faults/*.yaml", "drills/*.yaml", "kubernetes/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no shipped scenarios: %v", err)
	}
	for _, f := range files {
		t.Run(f, func(t *testing.T) {
			spec, err := scenarios.LoadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			limit := 2 * time.Minute
			if strings.HasPrefix(f, "drills/") {
				limit = 31 * time.Minute // the soak drill runs 30 minutes, by make drills only
			}
			if spec.Load.Total() > limit {
				t.Errorf("load lasts %s, want under %s", spec.Load.Total(), limit)
			}
		})
	}
}

// globAll returns the files matching any of the patterns.
func globAll(patterns ...string) ([]string, error) {
	var all []string
	for _, p := range patterns {
		m, err := filepath.Glob(p)
		if err != nil {
			return nil, err
		}
		all = append(all, m...)
	}
	return all, nil
}
