package loadgen_test

import (
	"encoding/json"
	"math/rand/v2"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/trendtactics/loadlab/loadgen"
	"github.com/trendtactics/loadlab/result"
)

// TestIntervalsMergeToTheRun: the interval records a run hands out (Options.Intervals),
// merged, are the run's figures exactly: counts, histograms, windows with their slots,
// timeline. A coordinator merging its workers' intervals gets what one process measures.
func TestIntervalsMergeToTheRun(t *testing.T) {
	var mu sync.Mutex
	rng := rand.New(rand.NewPCG(1, 2))
	srv := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		d, fail := time.Duration(rng.IntN(3000))*time.Microsecond, rng.IntN(10) == 0
		mu.Unlock()
		time.Sleep(d)
		if fail {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	}))
	var ivs []*result.Result
	opts := loadgen.Options{
		BaseURL:     srv.URL,
		MaxLateness: time.Second,
		Windows:     []result.Window{{Name: "blip", Start: time.Second, End: 2 * time.Second}},
		Intervals:   func(iv *result.Result) { ivs = append(ivs, iv) }, // on the recorder goroutine, before Run returns
	}
	res := run(t, constant(200, 3500*time.Millisecond, 50, get("a", "/a"), get("b", "/b")), opts)
	if len(ivs) < 4 {
		t.Fatalf("%d interval records for a 3.5 s run", len(ivs))
	}
	m, err := result.Merge(ivs...)
	if err != nil {
		t.Fatal(err)
	}
	// Encoded histograms are compared as histograms (the run's result carries encodings,
	// the merge live histograms); the rest as JSON.
	strip := func(v any) string {
		b, _ := json.Marshal(v)
		var m any
		_ = json.Unmarshal(b, &m)
		var walk func(any)
		walk = func(x any) {
			switch x := x.(type) {
			case map[string]any:
				delete(x, "latency_hdr")
				delete(x, "service_time_hdr")
				delete(x, "admitted_hdr")
				for _, v := range x {
					walk(v)
				}
			case []any:
				for _, v := range x {
					walk(v)
				}
			}
		}
		walk(m)
		b, _ = json.Marshal(m)
		return string(b)
	}
	same := func(what string, got, want any) {
		t.Helper()
		g, w := strip(got), strip(want)
		if g != w {
			i := 0
			for i < min(len(g), len(w)) && g[i] == w[i] {
				i++
			}
			t.Errorf("%s differs from byte %d:\n got …%s\nwant …%s", what, i, g[max(0, i-80):min(len(g), i+200)], w[max(0, i-80):min(len(w), i+200)])
		}
	}
	if !m.End.Equal(res.End) || !m.Start.Equal(res.Start) {
		t.Errorf("merged span %v..%v, run %v..%v", m.Start, m.End, res.Start, res.End)
	}
	if m.Total.Count != res.Total.Count || m.Total.Count == 0 || m.Total.Shed == 0 {
		t.Fatalf("merged count %d (shed %d), run %d", m.Total.Count, m.Total.Shed, res.Total.Count)
	}
	same("total", m.Total, res.Total) // summaries, counts and statuses; the timeline inside too
	for i := range res.Requests {
		same("request "+res.Requests[i].Name, m.Requests[i], res.Requests[i])
		if !m.Requests[i].LatencyHist.Equals(res.Requests[i].LatencyHist) || !m.Requests[i].AdmittedHist.Equals(res.Requests[i].AdmittedHist) {
			t.Errorf("request %s: histograms differ", res.Requests[i].Name)
		}
	}
	for i := range res.Windows {
		same("window "+res.Windows[i].Name, m.Windows[i], res.Windows[i])
	}
	if len(res.Windows[0].Slots) == 0 {
		t.Errorf("the blip window has no slots")
	}
}
