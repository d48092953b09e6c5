package cluster

import (
	"slices"
	"testing"

	"github.com/trendtactics/loadlab/result"
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
