package cluster

import (
	"slices"
	"testing"

	"github.com/trendtactics/loadlab/result"
	"github.com/trendtactics/loadlab/scenarios"
)

// TestPlannedUntil: a worker that learnt of the coordinator's stop late is judged on what
// was due at the stop; a drop before it, or another reason, still counts.
func TestPlannedUntil(t *testing.T) {
	drop := "2 of 100 planned iterations were never sent: the generator could not send fast enough (CPU-bound)"
	late := "send lateness p99 40.0ms not caused by busy workers exceeds the 25ms bound: the generator itself was too slow (CPU-bound)"
	h := result.Health{Planned: 100, Sent: 98, Dropped: 2, Reasons: []string{drop}}
	for _, tc := range []struct {
		name    string
		in      result.Health
		due     uint64
		planned uint64
		reasons []string
	}{
		{"all due at the stop were sent", h, 98, 98, nil},
		{"one due at the stop was not sent", h, 99, 99, []string{drop}},
		{"nothing came due after the stop", h, 100, 100, []string{drop}},
		{"another reason stays", result.Health{Planned: 100, Sent: 98, Dropped: 2, Reasons: []string{drop, late}}, 90, 98, []string{late}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := plannedUntil(tc.in, tc.due)
			if got.Planned != tc.planned || got.Dropped != tc.planned-got.Sent || !slices.Equal(got.Reasons, tc.reasons) || got.Valid != (len(tc.reasons) == 0) {
				t.Errorf("%+v", got)
			}
		})
	}
}

// TestLostBudget: the coordinator's budget of lost workers wins over the scenario's; a
// share counts lost workers over all of them.
func TestLostBudget(t *testing.T) {
	for _, tc := range []struct {
		cfg           Config
		ld            scenarios.Load
		lost, workers int
		want          bool
	}{
		{lost: 0, workers: 2, want: true},
		{lost: 1, workers: 2, want: false},
		{ld: scenarios.Load{MaxLostWorkers: 1}, lost: 1, workers: 2, want: true},
		{ld: scenarios.Load{MaxLostWorkers: 1}, lost: 2, workers: 4, want: false},
		{ld: scenarios.Load{MaxLostShare: 0.25}, lost: 1, workers: 4, want: true},
		{ld: scenarios.Load{MaxLostShare: 0.25}, lost: 1, workers: 2, want: false},
		{ld: scenarios.Load{MaxLostShare: 0.5}, lost: 1, workers: 2, want: true},
		{ld: scenarios.Load{MaxLostShare: 0.3}, lost: 3, workers: 10, want: true},
		{cfg: Config{MaxLost: 2}, ld: scenarios.Load{MaxLostWorkers: 1}, lost: 2, workers: 4, want: true},
		{cfg: Config{MaxLostShare: 0.1}, ld: scenarios.Load{MaxLostWorkers: 1}, lost: 1, workers: 4, want: false},
	} {
		c := &Coordinator{cfg: tc.cfg}
		b := c.budget(tc.ld)
		if got := b.allows(tc.lost, tc.workers); got != tc.want {
			t.Errorf("config %+v, load %+v: %d of %d lost allowed by %s: %v, want %v", tc.cfg, tc.ld, tc.lost, tc.workers, b, got, tc.want)
		}
	}
}
