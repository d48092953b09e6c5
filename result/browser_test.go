package result_test

import (
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
