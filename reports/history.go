package reports

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"slices"
	"strings"

	"github.com/trendtactics/loadlab/internal/stats"
	"github.com/trendtactics/loadlab/result"
)

// HistoryOptions tune AnalyzeHistory.
type HistoryOptions struct {
	// Allowances name the figures looked at: those not off among p50, p90, p99, errors
	// and throughput of the total.
	Allowances Allowances
	// MinSize is the fewest results between two change points (default 3); Permutations
	// and Alpha the permutation test's (default 199, 0.05); Seed seeds it (default 1).
	MinSize      int
	Permutations int
	Alpha        float64
	Seed         uint64
}

// History is a series of accepted results, where their performance moved, and the
// baseline it gives: the results since the last move.
type History struct {
	// Results are the series in the order of their start; Skipped counts the results left
	// out because they were INVALID or interrupted.
	Results []*result.Result
	Skipped int
	Changes []Change
	// From is the index in Results where the baseline, the last stable segment, begins.
	From     int
	Baseline []*result.Result
	Options  HistoryOptions
}

// Change is a change point of one figure: from result At on, its level moved.
type Change struct {
	Metric        string
	At            int
	Before, After float64 // the figure's median over the segments before and after
}

// historyFigure is the total's figure m of a result, as E-Divisive sees it: latency and
// throughput in logs (a relative shift is then the same size at any level, and one slow
// run weighs less), the error rate as it is.
func historyFigure(res *result.Result, m string) (float64, bool) {
	t := res.Total
	if t == nil || t.Count == 0 {
		return 0, false
	}
	var v float64
	switch m {
	case "p50":
		v = t.Latency.P50
	case "p90":
		v = t.Latency.P90
	case "p99":
		v = t.Latency.P99
	case "throughput":
		v = t.Rate
	case "errors":
		return float64(t.Errors) / float64(t.Count), true
	}
	if v <= 0 {
		return 0, false
	}
	return math.Log(v), true
}

// AnalyzeHistory orders the results by start, leaves out INVALID and interrupted ones,
// finds the change points of each figure (stats.EDivisive) and takes as baseline the
// results from the latest change point of any figure on.
func AnalyzeHistory(results []*result.Result, o HistoryOptions) (*History, error) {
	if o.Allowances.ByMetric == nil {
		o.Allowances = DefaultAllowances()
	}
	if o.MinSize <= 0 {
		o.MinSize = 3
	}
	if o.Permutations <= 0 {
		o.Permutations = 199
	}
	if o.Alpha <= 0 {
		o.Alpha = 0.05
	}
	if o.Seed == 0 {
		o.Seed = 1
	}
	h := &History{Options: o}
	for _, r := range results {
		if r.Verdict == Invalid || r.Verdict == Interrupted {
			h.Skipped++
			continue
		}
		h.Results = append(h.Results, r)
	}
	if len(h.Results) == 0 {
		return nil, fmt.Errorf("history: no valid result (%d INVALID or interrupted)", h.Skipped)
	}
	slices.SortStableFunc(h.Results, func(a, b *result.Result) int { return a.Start.Compare(b.Start) })
	for i, m := range repeatedMetrics {
		if a, ok := o.Allowances.ByMetric[m]; !ok || a.Off {
			continue
		}
		series := make([]float64, 0, len(h.Results))
		for _, r := range h.Results {
			v, ok := historyFigure(r, m)
			if !ok {
				return nil, fmt.Errorf("history: %s has no %s (no responses)", runLabel(r), m)
			}
			series = append(series, v)
		}
		rng := rand.New(rand.NewPCG(o.Seed, uint64(i)))
		cps := stats.EDivisive(series, stats.EDivisiveOptions{MinSize: o.MinSize, Permutations: o.Permutations, Alpha: o.Alpha}, rng)
		bounds := slices.Concat([]int{0}, cps, []int{len(series)})
		for k, at := range cps {
			back := func(v float64) float64 {
				if m == "errors" {
					return v
				}
				return math.Exp(v)
			}
			h.Changes = append(h.Changes, Change{Metric: m, At: at,
				Before: back(stats.Median(series[bounds[k]:at])), After: back(stats.Median(series[at:bounds[k+2]]))})
			h.From = max(h.From, at)
		}
	}
	h.Baseline = h.Results[h.From:]
	return h, nil
}

// WriteHistory writes where the series moved and which results the baseline is.
func WriteHistory(w io.Writer, h *History, dir string) error {
	bw := bufio.NewWriter(w)
	first, last := h.Results[0], h.Results[len(h.Results)-1]
	fmt.Fprintf(bw, "history  %d results in %s, %s to %s", len(h.Results), dir, stamp(first), stamp(last))
	if h.Skipped > 0 {
		fmt.Fprintf(bw, " (%d INVALID or interrupted left out)", h.Skipped)
	}
	o := h.Options
	fmt.Fprintf(bw, "\nchange points of the total (E-Divisive means, %d permutations, alpha %g, segments of at least %d):\n",
		o.Permutations, o.Alpha, o.MinSize)
	if len(h.Changes) == 0 {
		fmt.Fprintln(bw, "  none: the series is one stable segment")
	}
	for _, c := range h.Changes {
		var before, after, change string
		if c.Metric == "errors" {
			before, after, change = percent(c.Before), percent(c.After), signed((c.After-c.Before)*100, 2)+" pp"
		} else if c.Metric == "throughput" {
			before, after, change = fmt.Sprintf("%.1f/s", c.Before), fmt.Sprintf("%.1f/s", c.After), relChange(c.Before, c.After)
		} else {
			before, after, change = ms(c.Before)+"ms", ms(c.After)+"ms", relChange(c.Before, c.After)
		}
		fmt.Fprintf(bw, "  %-10s from result %d (%s): median %s → %s (%s)\n", c.Metric, c.At+1, stamp(h.Results[c.At]), before, after, change)
	}
	fmt.Fprintf(bw, "baseline results %d to %d (%d runs), the last stable segment\n\n", h.From+1, len(h.Results), len(h.Baseline))
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("write history: %w", err)
	}
	return nil
}

func stamp(r *result.Result) string {
	if r.Start.IsZero() {
		return strings.TrimSpace(r.Scenario)
	}
	return r.Start.UTC().Format("2006-01-02T15:04:05Z")
}
