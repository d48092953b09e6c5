package pipeline

import (
	"slices"
	"testing"
	"time"

	"github.com/trendtactics/loadlab/result"
	"github.com/trendtactics/loadlab/scenarios"
)

// TestFaultWindows: the run measures a window per fault and one per windows: entry, each
// from its start to its end.
func TestFaultWindows(t *testing.T) {
	spec, err := scenarios.LoadBytes("windows.yaml", []byte(`version: 1
name: windows
target: {lab: {}}
workload: [{name: catalog, request: {url: /v1/courses}}]
load: {executor: constant-arrival-rate, rate: 10, duration: 1m}
faults:
  - {name: kill-db, kind: process.kill, target: database, at: 15s, duration: 5s}
windows:
  - {name: settled, at: 30s, duration: 30s}
  - {name: warm-up, duration: 10s}
`), "")
	if err != nil {
		t.Fatal(err)
	}
	want := []result.Window{
		{Name: "kill-db", Start: 15 * time.Second, End: 20 * time.Second},
		{Name: "settled", Start: 30 * time.Second, End: time.Minute},
		{Name: "warm-up", Start: 0, End: 10 * time.Second},
	}
	if got := faultWindows(spec); !slices.Equal(got, want) {
		t.Errorf("windows %+v, want %+v", got, want)
	}
	if got := faultWindows(spec.Scaled(0.1)); got[1].Start != 3*time.Second || got[1].End != 6*time.Second {
		t.Errorf("scaled 0.1: window %+v, want settled from 3s to 6s", got[1])
	}
}
