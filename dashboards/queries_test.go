package dashboards_test

import (
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
	"github.com/grafana/grafana-foundation-sdk/go/loki"
	"github.com/grafana/grafana-foundation-sdk/go/prometheus"
	"github.com/grafana/grafana-foundation-sdk/go/timeseries"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"

	"github.com/trendtactics/loadlab/dashboards"
)

// allQueries returns every PromQL expression of every dashboard, as the SDK built it, and of
// the rules.
func allQueries(t testing.TB) []dashboards.Query {
	t.Helper()
	ds, err := dashboards.Dashboards()
	if err != nil {
		t.Fatal(err)
	}
	var qs []dashboards.Query
	for _, n := range slices.Sorted(maps.Keys(ds)) {
		dqs, err := dashboards.Queries(ds[n])
		if err != nil {
			t.Fatalf("%s: %v", n, err)
		}
		for _, q := range dqs {
			q.Where = n + ": " + q.Where
			qs = append(qs, q)
		}
	}
	return append(qs, dashboards.Rules().Exprs()...)
}

// grafanaVar matches a dashboard variable left after the interval variables are replaced.
var grafanaVar = regexp.MustCompile(`\$\{?\w+\}?`)

// expand replaces Grafana's variables so that Prometheus can run the expression:
// $__rate_interval and $__interval by rate, $__range by rng, and every dashboard variable
// ($instance, $route, ...) by ".*", which is what the variables' "All" stands for.
func expand(expr, rate, rng string) string {
	expr = strings.NewReplacer("$__rate_interval", rate, "$__interval", rate, "$__range", rng).Replace(expr)
	return grafanaVar.ReplaceAllString(expr, ".*")
}

// selector is a metric named in a query, with the labels its matchers test.
type selector struct {
	metric string
	labels []string
}

// selectors parses expr (after expand) with Prometheus's own PromQL parser and returns every
// vector selector in it. Every selector must name its metric.
func selectors(expr string) ([]selector, error) {
	e, err := parser.ParseExpr(expr)
	if err != nil {
		return nil, err
	}
	var out []selector
	var bad error
	parser.Inspect(e, func(n parser.Node, _ []parser.Node) error {
		vs, ok := n.(*parser.VectorSelector)
		if !ok {
			return nil
		}
		s := selector{metric: vs.Name}
		for _, m := range vs.LabelMatchers {
			switch {
			case m.Name == labels.MetricName && m.Type == labels.MatchEqual:
				s.metric = m.Value
			case m.Name != labels.MetricName:
				s.labels = append(s.labels, m.Name)
			}
		}
		if s.metric == "" {
			bad = fmt.Errorf("selector %s names no metric", vs)
		}
		out = append(out, s)
		return nil
	})
	return out, bad
}

// TestQueriesParse checks that every dashboard and rule expression is valid PromQL once the
// Grafana variables are set, and names the metric of each selector.
func TestQueriesParse(t *testing.T) {
	qs := allQueries(t)
	if len(qs) < 60 {
		t.Errorf("found %d queries, want the dashboards' and rules' 60 or more", len(qs))
	}
	for _, q := range qs {
		x := expand(q.Expr, "15s", "1h")
		if strings.Contains(x, "$") {
			t.Errorf("%s: a Grafana variable is left in %q", q.Where, x)
		}
		ss, err := selectors(x)
		if err != nil {
			t.Errorf("%s: %v\n\t%s", q.Where, err, x)
			continue
		}
		if len(ss) == 0 {
			t.Errorf("%s: no metric in %q", q.Where, x)
		}
	}
}

// TestSelectorsSeeThroughFunctions checks the extractor on the shapes the dashboards use.
func TestSelectorsSeeThroughFunctions(t *testing.T) {
	ss, err := selectors(`(sum(rate(a_total{code=~"5.."}[5m])) or vector(0)) / sum(rate(a_total[5m])) / histogram_quantile(0.99, sum by (le) (rate(b_bucket{route="x", le="0.1"}[1m]))) + c:rec:rate5m`)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, s := range ss {
		got = append(got, s.metric+"{"+strings.Join(s.labels, ",")+"}")
	}
	want := []string{"a_total{code}", "a_total{}", "b_bucket{route,le}", "c:rec:rate5m{}"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("selectors = %v, want %v", got, want)
	}
	if _, err := selectors(`sum(rate({code="500"}[5m]))`); err == nil {
		t.Error("a selector without a metric name was accepted")
	}
	if _, err := selectors(`sum(rate(a_total[5m])`); err == nil {
		t.Error("an unbalanced expression was accepted")
	}
}

// TestQueriesWalksRowsAndRefusesOtherQueries checks the reader of built dashboards on what
// the two dashboards do not have: a collapsed row's panels, and a query that is not PromQL.
func TestQueriesWalksRowsAndRefusesOtherQueries(t *testing.T) {
	d, err := dashboard.NewDashboardBuilder("t").
		WithRow(dashboard.NewRowBuilder("r").Collapsed(true).
			WithPanel(timeseries.NewPanelBuilder().Title("p").
				WithTarget(prometheus.NewDataqueryBuilder().RefId("A").Expr("up")))).
		Build()
	if err != nil {
		t.Fatal(err)
	}
	qs, err := dashboards.Queries(d)
	if err != nil {
		t.Fatal(err)
	}
	if len(qs) != 1 || qs[0] != (dashboards.Query{Where: `panel "p" A`, Expr: "up"}) {
		t.Errorf("Queries = %+v, want the row's panel's query", qs)
	}

	d, err = dashboard.NewDashboardBuilder("t").
		WithPanel(timeseries.NewPanelBuilder().Title("logs").
			WithTarget(loki.NewDataqueryBuilder().RefId("A").Expr(`{job="x"}`))).
		Build()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := dashboards.Queries(d); err == nil || !strings.Contains(err.Error(), `panel "logs"`) {
		t.Errorf("Queries of a Loki target: error %v, want one naming the panel", err)
	}
}
