package result

import (
	"fmt"
	"slices"
	"strings"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
)

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
	// Windows holds the figures per time window of the run that had a navigation (as
	// Result.Windows: each named window, and steady outside them; a navigation is in the
	// windows its request's latency origin, the intended send time, falls in), in the run's
	// order of windows.
	Windows []*BrowserWindowStats `json:"windows,omitempty"`
}

// BrowserWindowStats are the browser figures of the iterations that started (as intended)
// in a time window, per request name sorted by name.
type BrowserWindowStats struct {
	Name     string                 `json:"name"`
	Requests []*BrowserRequestStats `json:"requests"`
}

// Window returns the figures of the named window, or nil.
func (b *BrowserStats) Window(name string) *BrowserWindowStats {
	for _, w := range b.Windows {
		if w.Name == name {
			return w
		}
	}
	return nil
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

// addBrowser adds src's browser figures to dst (a copy of src when dst is nil): counts
// summed, histograms merged per request and metric, in all and per window (matched by
// name, in order of first appearance), the start delay's too. The merged
// figures carry live histograms and their encodings.
func addBrowser(dst, src *BrowserStats) (*BrowserStats, error) {
	if src == nil {
		return dst, nil
	}
	if dst == nil {
		dst = &BrowserStats{}
	}
	dst.Contexts += src.Contexts
	dst.Navigations += src.Navigations
	dst.NotStarted += src.NotStarted
	dst.JSErrors += src.JSErrors
	dst.FailedResources += src.FailedResources
	delay := NewHistogram()
	for _, enc := range []string{dst.StartDelayHDR, src.StartDelayHDR} {
		if enc == "" {
			continue
		}
		if err := AddEncoded(delay, enc); err != nil {
			return nil, fmt.Errorf("browser start delay: %w", err)
		}
	}
	dst.StartDelay, dst.StartDelayHDR = Summarize(delay), mustEncode(delay)
	var err error
	if dst.Requests, err = addBrowserRequests(dst.Requests, src.Requests); err != nil {
		return nil, err
	}
	for _, sw := range src.Windows {
		dw := dst.Window(sw.Name)
		if dw == nil {
			dw = &BrowserWindowStats{Name: sw.Name}
			dst.Windows = append(dst.Windows, dw)
		}
		if dw.Requests, err = addBrowserRequests(dw.Requests, sw.Requests); err != nil {
			return nil, fmt.Errorf("window %s: %w", sw.Name, err)
		}
	}
	return dst, nil
}

// addBrowserRequests adds the figures of src's request names to dst's (matched by name;
// sorted by name after), merging histograms per request and metric.
func addBrowserRequests(dst, src []*BrowserRequestStats) ([]*BrowserRequestStats, error) {
	for _, sr := range src {
		i := slices.IndexFunc(dst, func(r *BrowserRequestStats) bool { return r.Name == sr.Name })
		if i < 0 {
			dst = append(dst, &BrowserRequestStats{Name: sr.Name})
			i = len(dst) - 1
		}
		dr := dst[i]
		dr.Navigations += sr.Navigations
		dr.JSErrors += sr.JSErrors
		dr.FailedResources += sr.FailedResources
		for _, sf := range sr.Figures {
			h := sf.Histogram()
			if h == nil {
				return nil, fmt.Errorf("browser %s %s: corrupt histogram", sr.Name, sf.Metric)
			}
			df := dr.Figure(sf.Metric)
			if df == nil {
				df = &BrowserFigure{Metric: sf.Metric, Hist: NewHistogram()}
				dr.Figures = append(dr.Figures, df)
			} else if df.Hist = df.Histogram(); df.Hist == nil {
				return nil, fmt.Errorf("browser %s %s: corrupt histogram", sr.Name, sf.Metric)
			}
			df.Hist.Merge(h)
			df.Summary, df.HDR = Summarize(df.Hist), mustEncode(df.Hist)
		}
	}
	slices.SortFunc(dst, func(a, b *BrowserRequestStats) int { return strings.Compare(a.Name, b.Name) })
	return dst, nil
}
