package dashboards_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/trendtactics/loadlab/chaos"
	"github.com/trendtactics/loadlab/dashboards"
	"github.com/trendtactics/loadlab/scenarios"
)

// exported indexes scraped metric families by every series name they expose (a histogram
// exposes name_bucket, name_sum and name_count), with the label names seen on each.
type exported map[string]map[string]bool

func (e exported) add(fams map[string]*dto.MetricFamily) {
	for name, f := range fams {
		names := []string{name}
		switch f.GetType() {
		case dto.MetricType_HISTOGRAM, dto.MetricType_GAUGE_HISTOGRAM:
			names = append(names, name+"_bucket", name+"_sum", name+"_count")
		case dto.MetricType_SUMMARY:
			names = append(names, name+"_sum", name+"_count")
		}
		for _, n := range names {
			ls := e[n]
			if ls == nil {
				ls = map[string]bool{"instance": true, "job": true} // added by Prometheus at scrape
				e[n] = ls
			}
			for _, m := range f.Metric {
				for _, lp := range m.Label {
					ls[lp.GetName()] = true
				}
			}
			if strings.HasSuffix(n, "_bucket") || f.GetType() == dto.MetricType_SUMMARY {
				ls["le"], ls["quantile"] = true, true
			}
		}
	}
}

// faultGaugeFromChaos returns what the chaos timeline really registers for a fault: the
// load run's fault panel and the fault annotations read it.
func faultGaugeFromChaos(t *testing.T) map[string]*dto.MetricFamily {
	t.Helper()
	reg := prometheus.NewRegistry()
	f := &scenarios.Fault{Name: "slow-db", Kind: "network.delay", Target: "database", At: 0, Duration: time.Millisecond}
	if _, err := chaos.NewTimeline([]*scenarios.Fault{f}, nopResolver{}, reg); err != nil {
		t.Fatal(err)
	}
	fams, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]*dto.MetricFamily{}
	for _, f := range fams {
		out[f.GetName()] = f
	}
	return out
}

type nopResolver struct{}

func (nopResolver) Resolve(*scenarios.Fault) (chaos.Injector, error) { return nopInjector{}, nil }

type nopInjector struct{}

func (nopInjector) Inject(context.Context) error   { return nil }
func (nopInjector) Rollback(context.Context) error { return nil }

// TestFaultGaugeIsWhatChaosExports checks the fault queries against the chaos timeline's
// registry: a fault-free run (the live tests) exports no loadgen_fault_active series.
func TestFaultGaugeIsWhatChaosExports(t *testing.T) {
	e := exported{}
	e.add(faultGaugeFromChaos(t))
	n := 0
	for _, q := range allQueries(t) {
		ss, err := selectors(expand(q.Expr, "15s", "1h"))
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range ss {
			if s.metric != "loadgen_fault_active" {
				continue
			}
			n++
			for _, l := range s.labels {
				if !e[s.metric][l] {
					t.Errorf("%s: label %q is not on loadgen_fault_active", q.Where, l)
				}
			}
		}
	}
	if _, ok := e["loadgen_fault_active"]; !ok {
		t.Fatal("the chaos timeline registers no loadgen_fault_active")
	}
	if n < 3 {
		t.Errorf("%d queries read loadgen_fault_active, want the two annotations and the load run's panel", n)
	}
	for _, l := range []string{"fault", "kind", "target"} {
		if !e["loadgen_fault_active"][l] {
			t.Errorf("loadgen_fault_active has no label %q, which the annotations show", l)
		}
	}
}

// TestQueriesNameExportedMetrics checks that every metric and every label matcher of every
// dashboard query and every rule is exported by the real academy or the real loadgen, as
// scraped from their /metrics during a live run (recorded series excepted: they are the
// rules' own output, whose expressions are checked in turn).
func TestQueriesNameExportedMetrics(t *testing.T) {
	t.Parallel()
	s := liveStack(t)
	e := exported{}
	e.add(s.academyMetrics)
	e.add(s.loadgenMetrics)
	if _, ok := e["loadgen_fault_active"]; !ok {
		// Exemption: a fault-free run has no fault series (the gauge vector has no child), and
		// a URL target takes no faults; the name and labels are checked against the chaos
		// timeline's registry instead (TestFaultGaugeIsWhatChaosExports).
		e.add(faultGaugeFromChaos(t))
	}
	for _, want := range []string{"academy_http_requests_total", "academy_db_pool_acquired_connections", "loadgen_responses_total", "loadgen_request_duration_seconds_bucket"} {
		if _, ok := e[want]; !ok {
			t.Fatalf("the scrapes lack %s: the live stack did not export what it should", want)
		}
	}
	recorded := dashboards.Rules().Recorded()
	used := map[string]bool{}
	for _, q := range allQueries(t) {
		ss, err := selectors(expand(q.Expr, "15s", "1h"))
		if err != nil {
			t.Errorf("%s: %v", q.Where, err)
			continue
		}
		for _, sel := range ss {
			used[sel.metric] = true
			if slices.Contains(recorded, sel.metric) {
				continue
			}
			ls, ok := e[sel.metric]
			if !ok {
				t.Errorf("%s: metric %s is exported by neither the academy nor loadgen", q.Where, sel.metric)
				continue
			}
			for _, l := range sel.labels {
				if !ls[l] {
					t.Errorf("%s: metric %s has no label %q", q.Where, sel.metric, l)
				}
			}
		}
	}
	// The other direction, as a reminder rather than a rule: say what no dashboard shows.
	for name := range e {
		if (strings.HasPrefix(name, "academy_") || strings.HasPrefix(name, "loadgen_")) && !used[name] &&
			!used[name+"_bucket"] && !strings.HasSuffix(name, "_sum") && !strings.HasSuffix(name, "_count") && !strings.HasSuffix(name, "_bucket") {
			t.Logf("not on any dashboard: %s", name)
		}
	}
}
