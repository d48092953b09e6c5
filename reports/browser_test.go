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

// browserWorkload begins the scenarios of these tests: two browser requests.
const browserWorkload = `version: 1
name: b
target: {url: "http://127.0.0.1:1"}
workload:
  - {name: landing, request: {kind: browser, url: /}}
  - {name: course, request: {kind: browser, url: /c}}
`

const browserSpec = browserWorkload + `load: {executor: constant-arrival-rate, rate: 1, duration: 2s}
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

// browserResult is the passing fixture with the figures of two browser requests (landing:
// every figure; course: TTFB and LCP only, one JavaScript error, two failed subresources)
// and a failed browser threshold.
func browserResult(t *testing.T) *result.Result {
	t.Helper()
	res := passing(t)
	fig := func(metric string, ms ...float64) *result.BrowserFigure {
		h := hist(ms...)
		return &result.BrowserFigure{Metric: metric, Hist: h, Summary: result.Summarize(h)}
	}
	var landing []*result.BrowserFigure
	for i, m := range scenarios.BrowserMetrics() {
		landing = append(landing, fig(m, span(100*(i+1), 100*(i+1)+99)...))
	}
	res.Browser = &result.BrowserStats{Contexts: 4, Navigations: 103, NotStarted: 0, JSErrors: 1, FailedResources: 2,
		StartDelay: result.Summary{P99: 3.2, Max: 5},
		Requests: []*result.BrowserRequestStats{
			{Name: "course|`x`", Navigations: 3, JSErrors: 1, FailedResources: 2,
				Figures: []*result.BrowserFigure{fig(scenarios.MetricBrowserTTFB, 20, 30, 40), fig(scenarios.MetricBrowserLCP, 900, 950, 2500)}},
			{Name: "landing", Navigations: 100, Figures: landing},
		}}
	spec := &scenarios.Spec{Thresholds: []*scenarios.Threshold{
		{Metric: scenarios.MetricBrowserLCP, Tags: map[string]string{"request": "landing"}, Source: "p(95) < 400ms",
			Aggregation: "p", Percentile: 95, Op: "<", Value: 0.4},
	}}
	res.Thresholds = append(res.Thresholds, reports.Evaluate(spec, res)...)
	res.Verdict = reports.Verdict(res)
	return res
}

// TestBrowserRendered: every format shows the browser figures per request name, the
// pool's line, the JavaScript errors and failed subresources, and browser thresholds.
func TestBrowserRendered(t *testing.T) {
	res := browserResult(t)
	if res.Verdict != reports.Fail {
		t.Fatalf("verdict %s, want FAIL: landing's LCP p(95) is about 594ms", res.Verdict)
	}
	text, junit, md, page := renderAll(t, res)
	golden(t, "TestBrowserRendered.txt", []byte(text))
	golden(t, "TestBrowserRendered.md", []byte(md))
	// The HTML page's browser section (the rest is TestWriteHTML's).
	from, to := strings.Index(page, "<h2>Browser</h2>"), strings.Index(page, "<h2>Generator</h2>")
	if from < 0 || to < from {
		t.Fatalf("the HTML page has no browser section")
	}
	section := page[from:to]
	if i := strings.Index(section[1:], "<h2>"); i >= 0 {
		section = section[:i+1]
	}
	golden(t, "TestBrowserRendered.html", []byte(section))
	for name, out := range map[string]string{"text": text, "md": md, "html": section} {
		for _, want := range []string{"103 navigations on 4 contexts", "1 JavaScript errors, 2 failed subresources", "landing"} {
			if !strings.Contains(out, want) {
				t.Errorf("%s: no %q:\n%s", name, want, out)
			}
		}
	}
	if !strings.Contains(md, "| `landing` | 100 | 149 / 194 | 249 / 294 | 349 / 394 | 449 / 494 | 549 / 594 | 0 | 0 |") {
		t.Errorf("markdown: landing's row is not p50 / p95 of each figure:\n%s", md)
	}
	if !strings.Contains(section, "<code>course|`x`</code>") || !strings.Contains(section, `<td class="num">-</td>`) {
		t.Errorf("html: course's row, with - for its figures not measured, is missing:\n%s", section)
	}
	if !strings.Contains(junit, `name="browser_lcp{request:landing} p(95) &lt; 400ms"`) {
		t.Errorf("junit has no case for the browser threshold:\n%s", junit)
	}
}

// TestBrowserThresholdsByWindow: a window tag measures the figures of that window only
// (the request tag within it); a window without a navigation is no data.
func TestBrowserThresholdsByWindow(t *testing.T) {
	spec, err := scenarios.LoadBytes("b.yaml", []byte(browserWorkload+`load: {executor: constant-arrival-rate, rate: 1, duration: 4s}
windows:
  - {name: spike, at: 1s, duration: 1s}
  - {name: late, at: 3s, duration: 1s}
thresholds:
  browser_lcp{window:spike}: ["max < 1s"]
  browser_lcp{window:steady}: ["max < 1s"]
  browser_lcp{request:landing,window:steady}: ["max < 1s"]
  browser_lcp: ["max < 1s"]
  browser_lcp{window:late}: ["max < 1s"]
`), ".")
	if err != nil {
		t.Fatal(err)
	}
	lcp := func(name string, ms ...float64) *result.BrowserRequestStats {
		return &result.BrowserRequestStats{Name: name, Figures: []*result.BrowserFigure{{Metric: scenarios.MetricBrowserLCP, Hist: hist(ms...)}}}
	}
	res := &result.Result{Browser: &result.BrowserStats{
		Requests: []*result.BrowserRequestStats{lcp("course", 300, 3000), lcp("landing", 200, 2000)},
		Windows: []*result.BrowserWindowStats{
			{Name: "spike", Requests: []*result.BrowserRequestStats{lcp("course", 3000), lcp("landing", 2000)}},
			{Name: "steady", Requests: []*result.BrowserRequestStats{lcp("course", 300), lcp("landing", 200)}},
		}}}
	got := reports.Evaluate(spec, res)
	for i, w := range []struct {
		measured float64
		unit     string
	}{{3000, reports.UnitMS}, {300, reports.UnitMS}, {200, reports.UnitMS}, {3000, reports.UnitMS}, {0, reports.UnitNoData}} {
		g := got[i]
		if g.Unit != w.unit || g.Measured < w.measured*0.999 || g.Measured > w.measured*1.001 || g.Pass != (w.unit == reports.UnitMS && w.measured < 1000) {
			t.Errorf("%s %s: got pass=%v %.1f %s, want %.0f %s", g.Metric, g.Source, g.Pass, g.Measured, g.Unit, w.measured, w.unit)
		}
	}
}
