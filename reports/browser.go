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
// the request tag names, or for every browser request together.
func measureBrowser(th *scenarios.Threshold, bs *result.BrowserStats) (float64, string) {
	if bs == nil {
		return 0, UnitNoData
	}
	name, one := th.Tags[scenarios.TagRequest]
	var sum *hdrhistogram.Histogram
	for _, r := range bs.Requests {
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
	fmt.Fprintf(w, "\nbrowser     %d navigations on %d contexts, start delay p99 %s (max %s), %d not started; %d JavaScript errors, %d failed subresources\n",
		bs.Navigations, bs.Contexts, ms(bs.StartDelay.P99), ms(bs.StartDelay.Max), bs.NotStarted, bs.JSErrors, bs.FailedResources)
	for _, r := range bs.Requests {
		var parts []string
		for _, f := range r.Figures {
			parts = append(parts, fmt.Sprintf("%s p50 %s p95 %s", strings.TrimPrefix(f.Metric, "browser_"), ms(f.Summary.P50), ms(f.Summary.P95)))
		}
		fmt.Fprintf(w, "  %-20s %s\n", r.Name, strings.Join(parts, ", "))
	}
}
