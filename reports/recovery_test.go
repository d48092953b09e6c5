package reports_test

import (
	"testing"
	"time"

	"github.com/trendtactics/loadlab/reports"
	"github.com/trendtactics/loadlab/result"
	"github.com/trendtactics/loadlab/scenarios"
)

func timeline(p99 []float64, errs []uint64) []result.Point {
	tl := make([]result.Point, len(p99))
	for i := range p99 {
		tl[i] = result.Point{T: i, Count: 100, Errors: errs[i], P99: p99[i]}
	}
	return tl
}

func TestRecover(t *testing.T) {
	spec := &scenarios.Spec{
		Thresholds: []*scenarios.Threshold{
			{Metric: "latency", Tags: map[string]string{"window": "steady"}, Aggregation: "p", Percentile: 99, Op: "<", Value: 0.1},
			{Metric: "latency", Tags: map[string]string{"window": "f"}, Aggregation: "p", Percentile: 99, Op: "<", Value: 0.5},
			{Metric: "errors", Aggregation: "rate", Op: "<", Value: 0.01},
		},
		Faults: []*scenarios.Fault{{Name: "f", At: 2 * time.Second, Duration: 2 * time.Second}},
	}
	for _, tc := range []struct {
		name string
		p99  []float64
		errs []uint64
		want float64
	}{
		{"at once", []float64{10, 10, 300, 300, 10, 10, 10, 10}, []uint64{0, 0, 0, 0, 0, 0, 0, 0}, 0},
		{"slow tail", []float64{10, 10, 300, 300, 250, 150, 20, 20, 20}, []uint64{0, 0, 0, 0, 0, 0, 0, 0, 0}, 2},
		{"errors linger", []float64{10, 10, 300, 300, 10, 10, 10, 10, 10}, []uint64{0, 0, 50, 50, 5, 0, 0, 0, 0}, 1},
		{"never", []float64{10, 10, 300, 300, 300, 300, 300}, []uint64{0, 0, 0, 0, 0, 0, 0}, -1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := &result.Result{Timeline: timeline(tc.p99, tc.errs), Faults: []result.FaultResult{{Name: "f", Start: 2, End: 4}}}
			reports.Recover(spec, res)
			if got := res.Faults[0].RecoveryS; got != tc.want {
				t.Errorf("recovery %v, want %v", got, tc.want)
			}
		})
	}
}

func TestRecoverWithoutThresholdsUsesBaseline(t *testing.T) {
	spec := &scenarios.Spec{Faults: []*scenarios.Fault{{Name: "f", At: 2 * time.Second, Duration: time.Second}}}
	res := &result.Result{
		Timeline: timeline([]float64{20, 25, 400, 60, 45, 40, 40}, make([]uint64, 7)),
		Faults:   []result.FaultResult{{Name: "f", Start: 2, End: 3}},
	}
	reports.Recover(spec, res) // limit: 2 × 25 ms
	if got := res.Faults[0].RecoveryS; got != 1 {
		t.Errorf("recovery %v, want 1 (the first second whose rolling p99 is under 50ms)", got)
	}
}
