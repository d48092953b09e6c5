package reports

import (
	"fmt"
	"io"
	"strings"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"

	"github.com/trendtactics/loadlab/result"
	"github.com/trendtactics/loadlab/scenarios"
)

// measureBrowser measures a browser_* metric: the figure's distribution for the request
// the request tag names, or for every browser request together; in the window the window
// tag names (no data when it had no navigation), or over the whole run.
func measureBrowser(th *scenarios.Threshold, bs *result.BrowserStats) (float64, string) {
	if bs == nil {
		return 0, UnitNoData
	}
	requests := bs.Requests
	if win, ok := th.Tags[scenarios.TagWindow]; ok {
		w := bs.Window(win)
		if w == nil {
			return 0, UnitNoData
		}
		requests = w.Requests
	}
	name, one := th.Tags[scenarios.TagRequest]
	var sum *hdrhistogram.Histogram
	for _, r := range requests {
		if one && r.Name != name {
			continue
		}
		f := r.Figure(th.Metric)
		if f == nil {
			continue
		}
		h := f.Histogram()
		if h == nil {
			return 0, UnitUnsupported // a corrupt encoding: ReadJSON reports it
		}
		if sum == nil {
			sum = result.NewHistogram()
		}
		sum.Merge(h)
	}
	return measureHist(th, sum)
}

// writeBrowser prints the browser figures per request, when the run had browser requests.
func writeBrowser(w io.Writer, bs *result.BrowserStats) {
	if bs == nil {
		return
	}
	fmt.Fprintf(w, "\nbrowser     %s\n", browserSummary(bs))
	for _, r := range bs.Requests {
		var parts []string
		for _, f := range r.Figures {
			parts = append(parts, fmt.Sprintf("%s p50 %s p95 %s", strings.TrimPrefix(f.Metric, "browser_"), ms(f.Summary.P50), ms(f.Summary.P95)))
		}
		fmt.Fprintf(w, "  %-20s %s\n", r.Name, strings.Join(parts, ", "))
	}
}

// browserSummary is the line that says how the pool kept up and what went wrong in pages.
func browserSummary(bs *result.BrowserStats) string {
	return fmt.Sprintf("%d navigations on %d contexts, start delay p99 %sms (max %sms), %d not started; %d JavaScript errors, %d failed subresources",
		bs.Navigations, bs.Contexts, ms(bs.StartDelay.P99), ms(bs.StartDelay.Max), bs.NotStarted, bs.JSErrors, bs.FailedResources)
}

// browserNote says what the cells of a browser table hold.
const browserNote = "Page figures of headless Chromium in ms from the intended start of the iteration: p50 / p95 of each request name (- when not measured)."

// browserRow is one request name of the browser tables (Markdown, HTML): a "p50 / p95"
// cell per browser metric, in scenarios.BrowserMetrics order.
type browserRow struct {
	Name                      string
	Navigations               uint64
	Figures                   []string
	JSErrors, FailedResources uint64
}

// browserRows returns the table of bs's figures, one row per request name.
func browserRows(bs *result.BrowserStats) []browserRow {
	var rows []browserRow
	for _, r := range bs.Requests {
		row := browserRow{Name: r.Name, Navigations: r.Navigations, JSErrors: r.JSErrors, FailedResources: r.FailedResources}
		for _, m := range scenarios.BrowserMetrics() {
			cell := "-"
			if f := r.Figure(m); f != nil {
				cell = ms(f.Summary.P50) + " / " + ms(f.Summary.P95)
			}
			row.Figures = append(row.Figures, cell)
		}
		rows = append(rows, row)
	}
	return rows
}

// browserColumns are the figure columns' headings: ttfb, dcl, load, fcp, lcp.
func browserColumns() []string {
	var out []string
	for _, m := range scenarios.BrowserMetrics() {
		out = append(out, strings.TrimPrefix(m, "browser_"))
	}
	return out
}

// mdBrowser writes the browser section of the Markdown report, when the run had browser requests.
func mdBrowser(w io.Writer, res *result.Result) {
	bs := res.Browser
	if bs == nil {
		return
	}
	cols := browserColumns()
	fmt.Fprintf(w, "\n### Browser\n\n%s\n\n%s\n\n", mdText(browserSummary(bs)), mdText(browserNote))
	fmt.Fprintf(w, "| request | navigations | %s | JS errors | failed subresources |\n", strings.Join(cols, " | "))
	fmt.Fprintf(w, "|---|--:|%s--:|--:|\n", strings.Repeat("--:|", len(cols)))
	for _, r := range browserRows(bs) {
		fmt.Fprintf(w, "| %s | %d | %s | %d | %d |\n", mdCode(r.Name), r.Navigations, strings.Join(r.Figures, " | "), r.JSErrors, r.FailedResources)
	}
}
