package testutil

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// This file reads series of a registry by their labels, which
// github.com/prometheus/client_golang/prometheus/testutil does not: its ToFloat64 reads a
// collector of exactly one series, and GatherAndCompare compares whole families. Use those
// where they fit.

// Sum gathers g and sums the series of the family name whose labels include labels (nil:
// every series): a counter's, gauge's or untyped value, a histogram's or summary's sample
// count. A family or series not exported sums to 0, as an unobserved vector's child.
func Sum(t testing.TB, g prometheus.Gatherer, name string, labels prometheus.Labels) float64 {
	t.Helper()
	var sum float64
	for _, m := range series(t, g, name, labels) {
		sum += sample(m)
	}
	return sum
}

// Value gathers g and returns the value (as Sum counts it) of the one series of the family
// name whose labels include labels. It fails the test when there is none or more than one.
func Value(t testing.TB, g prometheus.Gatherer, name string, labels prometheus.Labels) float64 {
	t.Helper()
	ms := series(t, g, name, labels)
	if len(ms) != 1 {
		t.Fatalf("%d series %s%v gathered, want one", len(ms), name, map[string]string(labels))
	}
	return sample(ms[0])
}

// series returns the series of the family name whose labels include labels.
func series(t testing.TB, g prometheus.Gatherer, name string, labels prometheus.Labels) []*dto.Metric {
	t.Helper()
	mfs, err := g.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var out []*dto.Metric
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	next:
		for _, m := range mf.GetMetric() {
			got := map[string]string{}
			for _, lp := range m.GetLabel() {
				got[lp.GetName()] = lp.GetValue()
			}
			for k, v := range labels {
				if got[k] != v {
					continue next
				}
			}
			out = append(out, m)
		}
	}
	return out
}

func sample(m *dto.Metric) float64 {
	switch {
	case m.Counter != nil:
		return m.GetCounter().GetValue()
	case m.Gauge != nil:
		return m.GetGauge().GetValue()
	case m.Untyped != nil:
		return m.GetUntyped().GetValue()
	case m.Histogram != nil:
		return float64(m.GetHistogram().GetSampleCount())
	case m.Summary != nil:
		return float64(m.GetSummary().GetSampleCount())
	}
	return 0
}
