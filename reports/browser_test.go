package reports_test

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/trendtactics/loadlab/reports"
	"github.com/trendtactics/loadlab/result"
	"github.com/trendtactics/loadlab/scenarios"
)

const browserSpec = `version: 1
name: b
target: {url: "http://127.0.0.1:1"}
workload:
  - {name: landing, request: {kind: browser, url: /}}
  - {name: course, request: {kind: browser, url: /c}}
load: {executor: constant-arrival-rate, rate: 1, duration: 2s}
thresholds:
  browser_lcp{request:landing}: ["p(95) < 2s", "p(50) > 1500ms"]
  browser_ttfb: ["max < 100ms"]
  browser_fcp{request:course}: ["p(95) < 2s"]
`

func TestBrowserThresholds(t *testing.T) {
	spec, err := scenarios.LoadBytes("b.yaml", []byte(browserSpec), ".")
	if err != nil {
		t.Fatal(err)
	}
	fig := func(metric string, ms ...float64) *result.BrowserFigure {
		return &result.BrowserFigure{Metric: metric, Hist: hist(ms...)}
	}
	res := &result.Result{Browser: &result.BrowserStats{Requests: []*result.BrowserRequestStats{
		{Name: "course", Figures: []*result.BrowserFigure{fig(scenarios.MetricBrowserTTFB, 150)}},
		{Name: "landing", Figures: []*result.BrowserFigure{fig(scenarios.MetricBrowserTTFB, 10, 20),
			fig(scenarios.MetricBrowserLCP, span(1000, 1999)...)}},
	}}}
	check := func(res *result.Result) {
		t.Helper()
		got := reports.Evaluate(spec, res)
		want := []struct {
			pass     bool
			measured float64
			unit     string
		}{
			{true, 1950, reports.UnitMS},   // p(95) of 1000..1999 ms
			{false, 1500, reports.UnitMS},  // its median is 1500 ms (HDR precision), not above
			{false, 150, reports.UnitMS},   // the slowest of both requests' TTFB
			{false, 0, reports.UnitNoData}, // course has no FCP
		}
		for i, w := range want {
			g := got[i]
			if g.Pass != w.pass || g.Unit != w.unit || (w.measured > 0 && (g.Measured < w.measured-2 || g.Measured > w.measured+2)) {
				t.Errorf("%s %s: got pass=%v %.1f %s, want pass=%v %.0f %s", g.Metric, g.Source, g.Pass, g.Measured, g.Unit, w.pass, w.measured, w.unit)
			}
		}
	}
	check(res)
	// Read back from JSON, the figures come from their HDR encodings.
	for _, r := range res.Browser.Requests {
		for _, f := range r.Figures {
			if f.HDR, err = result.EncodeHistogram(f.Hist); err != nil {
				t.Fatal(err)
			}
		}
	}
	b, err := json.Marshal(res)
	if err != nil {
		t.Fatal(err)
	}
	var back result.Result
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	check(&back)
	var text bytes.Buffer
	reports.WriteText(&text, &back)
	if !strings.Contains(text.String(), "landing") || !strings.Contains(text.String(), "lcp p50") {
		t.Errorf("text report has no browser figures:\n%s", text.String())
	}
}
