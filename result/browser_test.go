package result_test

import (
	"strings"
	"testing"

	"github.com/trendtactics/loadlab/result"
)

// browserPart is one source's browser figures: LCP samples of landing (µs) and counts.
func browserPart(t *testing.T, lcp []int64, js uint64) *result.Result {
	t.Helper()
	h, delay := result.NewHistogram(), result.NewHistogram()
	for _, v := range lcp {
		if err := h.RecordValue(v); err != nil {
			t.Fatal(err)
		}
		_ = delay.RecordValue(v / 10)
	}
	enc, err := result.EncodeHistogram(h)
	if err != nil {
		t.Fatal(err)
	}
	denc, _ := result.EncodeHistogram(delay)
	return &result.Result{Schema: result.Schema, Start: start, End: start.Add(2e9), Browser: &result.BrowserStats{
		Contexts: 2, Navigations: uint64(len(lcp)), JSErrors: js, StartDelayHDR: denc,
		Requests: []*result.BrowserRequestStats{{Name: "landing", Navigations: uint64(len(lcp)), JSErrors: js,
			Figures: []*result.BrowserFigure{{Metric: "browser_lcp", HDR: enc}}}}}}
}

func TestMergeBrowser(t *testing.T) {
	a := browserPart(t, []int64{100_000, 200_000}, 1)
	b := browserPart(t, []int64{900_000}, 2)
	m, err := result.Merge(a, b)
	if err != nil {
		t.Fatal(err)
	}
	bs := m.Browser
	if bs == nil || bs.Contexts != 4 || bs.Navigations != 3 || bs.JSErrors != 3 || len(bs.Requests) != 1 {
		t.Fatalf("merged %+v", bs)
	}
	r := bs.Requests[0]
	f := r.Figure("browser_lcp")
	if r.Navigations != 3 || r.JSErrors != 3 || f == nil || f.Histogram().TotalCount() != 3 || f.Histogram().Max() < 899_000 {
		t.Fatalf("landing %+v, lcp %+v", r, f)
	}
	if d, err := result.DecodeHistogram(bs.StartDelayHDR); err != nil || d.TotalCount() != 3 {
		t.Fatalf("start delay: %v %v", d, err)
	}
	if a.Browser.Navigations != 2 || a.Browser.Requests[0].Figures[0].Hist != nil {
		t.Errorf("an input was modified: %+v", a.Browser)
	}
	a.Browser.Requests[0].Figures[0].HDR = "corrupt"
	if _, err := result.Merge(a, b); err == nil {
		t.Errorf("a corrupt browser histogram merged")
	}
}

// TestMergeBrowserWindows: the figures per window are merged exactly across workers: the
// same window's histograms added per request name, windows kept in order of first appearance.
func TestMergeBrowserWindows(t *testing.T) {
	window := func(name string, lcp ...int64) *result.BrowserWindowStats {
		part := browserPart(t, lcp, 0)
		return &result.BrowserWindowStats{Name: name, Requests: part.Browser.Requests}
	}
	a := browserPart(t, []int64{100_000, 200_000, 300_000}, 0)
	a.Browser.Windows = []*result.BrowserWindowStats{window("spike", 100_000, 200_000), window("steady", 300_000)}
	b := browserPart(t, []int64{900_000, 800_000}, 0)
	b.Browser.Windows = []*result.BrowserWindowStats{window("steady", 800_000), window("spike", 900_000)}
	m, err := result.Merge(a, b)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(m.Browser.Windows); n != 2 || m.Browser.Windows[0].Name != "spike" || m.Browser.Windows[1].Name != "steady" {
		t.Fatalf("merged windows %+v", m.Browser.Windows)
	}
	for _, w := range []struct {
		name     string
		count    int64
		min, max int64
	}{{"spike", 3, 100_000, 900_000}, {"steady", 2, 300_000, 800_000}} {
		r := m.Browser.Window(w.name).Requests[0]
		h := r.Figure("browser_lcp").Histogram()
		if r.Navigations != uint64(w.count) || h.TotalCount() != w.count || h.Min() > w.min || h.Min() < w.min*999/1000 ||
			h.Max() < w.max*999/1000 || h.Max() > w.max*1001/1000 {
			t.Errorf("%s: %d navigations, lcp %d values %d..%d; want %d, %d..%d", w.name, r.Navigations, h.TotalCount(), h.Min(), h.Max(), w.count, w.min, w.max)
		}
	}
	if a.Browser.Windows[0].Requests[0].Navigations != 2 {
		t.Errorf("an input's window was modified: %+v", a.Browser.Windows[0].Requests[0])
	}
	b.Browser.Windows[1].Requests[0].Figures[0].HDR = "corrupt"
	if _, err := result.Merge(a, b); err == nil || !strings.Contains(err.Error(), "window spike") {
		t.Errorf("a corrupt window histogram merged: %v", err)
	}
}
