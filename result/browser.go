package result

import hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"

// BrowserStats are the figures of a run's browser requests (kind browser): what headless
// Chromium measured of each page, and how its pool of browser contexts kept up.
type BrowserStats struct {
	// Contexts is the size of the pool of browser contexts (each a fresh profile).
	Contexts int `json:"contexts"`
	// Navigations counts the navigations started; NotStarted the iterations that waited
	// longer than their request's timeout for a free context, and never started one.
	Navigations uint64 `json:"navigations"`
	NotStarted  uint64 `json:"not_started"`
	// StartDelay is the time from an iteration's intended start to the start of its first
	// navigation (the wait for a free context and its reset): the pool's lateness.
	StartDelay    Summary `json:"start_delay"`
	StartDelayHDR string  `json:"start_delay_hdr,omitempty"`
	// JSErrors counts uncaught JavaScript exceptions; FailedResources the subresources
	// that failed to load or answered 4xx/5xx.
	JSErrors        uint64 `json:"js_errors"`
	FailedResources uint64 `json:"failed_resources"`
	// Requests holds the figures per browser request name, sorted by name.
	Requests []*BrowserRequestStats `json:"requests"`
}

// BrowserRequestStats are the figures of one browser request name.
type BrowserRequestStats struct {
	Name            string `json:"name"`
	Navigations     uint64 `json:"navigations"`
	JSErrors        uint64 `json:"js_errors"`
	FailedResources uint64 `json:"failed_resources"`
	// Figures holds one entry per browser metric (browser_ttfb, browser_dcl, browser_load,
	// browser_fcp, browser_lcp) that was measured at least once, in that order.
	Figures []*BrowserFigure `json:"figures"`
}

// BrowserFigure is the distribution of one Navigation Timing or paint figure, measured
// from the intended start time (microseconds in the histogram).
type BrowserFigure struct {
	Metric  string                  `json:"metric"`
	Summary Summary                 `json:"summary"`
	HDR     string                  `json:"hdr,omitempty"`
	Hist    *hdrhistogram.Histogram `json:"-"`
}

// Histogram returns the figure's histogram: the live one, or the decoded HDR of a result
// read back from JSON (nil when there is neither or it is corrupt).
func (f *BrowserFigure) Histogram() *hdrhistogram.Histogram {
	if f.Hist != nil || f.HDR == "" {
		return f.Hist
	}
	h, err := DecodeHistogram(f.HDR)
	if err != nil {
		return nil
	}
	return h
}

// Figure returns the request's figure of a metric, or nil.
func (r *BrowserRequestStats) Figure(metric string) *BrowserFigure {
	for _, f := range r.Figures {
		if f.Metric == metric {
			return f
		}
	}
	return nil
}
