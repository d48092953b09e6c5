package loadgen_test

import (
	"bytes"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/trendtactics/loadlab/internal/testutil"
	"github.com/trendtactics/loadlab/result"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
	"github.com/prometheus/client_golang/prometheus"
	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/trendtactics/loadlab/loadgen"
	"github.com/trendtactics/loadlab/scenarios"
)

func TestRunCountsAndResult(t *testing.T) {
	var hits atomic.Int64
	srv := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		switch r.URL.Path {
		case "/fail":
			w.WriteHeader(500)
		case "/gone":
			w.WriteHeader(404)
		default:
			fmt.Fprint(w, `{"ok":true}`)
		}
	}))
	gone := get("gone", "/gone")
	gone.Request.Expect = &scenarios.Expect{Status: []int{404}}
	spec := constant(100, 2*time.Second, 0, get("ok", "/ok"), get("fail", "/fail"), gone)
	reg := prometheus.NewRegistry()
	// A loose lateness bound: this test counts, and must not depend on how busy the machine is.
	res := run(t, spec, loadgen.Options{BaseURL: srv.URL, Seed: 1, Registry: reg, MaxLateness: time.Second})

	if res.Total.Count != 200 || hits.Load() != 200 {
		t.Fatalf("count = %d, server saw %d; want 200", res.Total.Count, hits.Load())
	}
	if !res.Generator.Valid || res.Generator.Planned != 200 || res.Generator.Sent != 200 || res.Generator.Completed != 200 {
		t.Fatalf("generator = %+v", res.Generator)
	}
	if len(res.Requests) != 3 || res.Requests[0].Name != "fail" || res.Requests[1].Name != "gone" || res.Requests[2].Name != "ok" {
		t.Fatalf("requests not sorted by name: %v", names(res.Requests))
	}
	byName := map[string]*result.RequestStats{}
	var sum uint64
	for _, r := range res.Requests {
		byName[r.Name] = r
		sum += r.Count
	}
	if sum != 200 {
		t.Fatalf("per-name counts sum to %d", sum)
	}
	if f := byName["fail"]; f.Errors != f.Count || f.Statuses["500"] != f.Count || f.Count == 0 {
		t.Fatalf("fail = %+v", f)
	}
	if g := byName["gone"]; g.Errors != 0 || g.Statuses["404"] != g.Count {
		t.Fatalf("an expected 404 counted as error: %+v", g)
	}
	if res.Total.Errors != byName["fail"].Count {
		t.Fatalf("total errors %d, want %d", res.Total.Errors, byName["fail"].Count)
	}
	if res.Total.LatencyHist == nil || res.Total.LatencyHist.TotalCount() != 200 || res.Total.Latency.P99 <= 0 {
		t.Fatalf("total latency hist missing or empty: %+v", res.Total.Latency)
	}
	h, err := result.DecodeHistogram(res.Total.LatencyHDR)
	if err != nil || !h.Equals(res.Total.LatencyHist) {
		t.Fatalf("decoded HDR differs from the live histogram (err %v)", err)
	}
	if _, err := result.DecodeHistogram(res.Requests[0].ServiceHDR); err != nil {
		t.Fatal(err)
	}
	// Timeline: dense seconds; counts and planned add up.
	var planned, sent, count uint64
	for i, p := range res.Timeline {
		if p.T != i {
			t.Fatalf("timeline point %d has T=%d", i, p.T)
		}
		planned += p.Planned
		sent += p.Sent
		count += p.Count
	}
	if planned != 200 || sent != 200 || count != 200 || len(res.Timeline) < 2 || len(res.Timeline) > 3 {
		t.Fatalf("timeline planned %d sent %d count %d over %d points", planned, sent, count, len(res.Timeline))
	}
	var namePlanned, nameSent uint64
	for _, r := range res.Requests {
		if len(r.Timeline) != len(res.Timeline) {
			t.Fatal("per-name timeline length differs from the total's")
		}
		var c uint64
		for _, p := range r.Timeline {
			namePlanned += p.Planned
			nameSent += p.Sent
			c += p.Count
		}
		if c != r.Count {
			t.Errorf("%s: timeline counts %d, total %d", r.Name, c, r.Count)
		}
	}
	if namePlanned != 200 || nameSent != 200 {
		t.Errorf("per-name timelines plan %d and send %d, want 200 and 200", namePlanned, nameSent)
	}
	if len(res.Windows) != 1 || res.Windows[0].Name != "steady" || res.Windows[0].Total.Count != 200 {
		t.Fatalf("windows = %+v", res.Windows)
	}

	// Live metrics: counters' values and histograms' sample counts.
	for _, name := range []string{"loadgen_responses_total", "loadgen_request_duration_seconds", "loadgen_service_time_seconds", "loadgen_lateness_seconds", "loadgen_iterations_sent_total"} {
		if got := testutil.Sum(t, reg, name, nil); got != 200 {
			t.Errorf("%s = %v, want 200", name, got)
		}
	}
}

func names(rs []*result.RequestStats) []string {
	var out []string
	for _, r := range rs {
		out = append(out, r.Name)
	}
	return out
}

func TestWorkloadDeterministic(t *testing.T) {
	spec := constant(1, time.Second, 0,
		&scenarios.Item{Name: "a", Weight: 6, Request: &scenarios.Request{URL: scenarios.MustTemplate("/a/{{ uuid }}")}},
		&scenarios.Item{Name: "b", Weight: 3, Request: &scenarios.Request{URL: scenarios.MustTemplate("/b/{{ randint 1 1000000 }}")}},
		&scenarios.Item{Name: "c", Weight: 1, Request: &scenarios.Request{URL: scenarios.MustTemplate("/c")}},
	)
	seq := func(seed int64) (string, map[string]int) {
		w := loadgen.NewWorkload(spec, seed)
		tr := w.Targeter("http://127.0.0.1:1")
		var b strings.Builder
		counts := map[string]int{}
		for i := range 10000 {
			counts[w.Pick(uint64(i)).Name]++
			if i < 200 {
				var tg vegeta.Target
				if err := tr(&tg); err != nil {
					t.Fatal(err)
				}
				fmt.Fprintln(&b, tg.Method, tg.URL)
			}
		}
		return b.String(), counts
	}
	a1, c1 := seq(42)
	a2, _ := seq(42)
	b1, _ := seq(43)
	if a1 != a2 {
		t.Fatal("same seed, different URL sequences")
	}
	if a1 == b1 {
		t.Fatal("different seeds, same URL sequence")
	}
	if !strings.Contains(a1, "GET http://127.0.0.1:1/a/") {
		t.Fatalf("unexpected URLs:\n%s", a1[:200])
	}
	for name, want := range map[string]int{"a": 6000, "b": 3000, "c": 1000} {
		if d := c1[name] - want; d > want/10 || d < -want/10 {
			t.Errorf("item %s chosen %d times in 10000, want about %d", name, c1[name], want)
		}
	}
}

func TestRunSameSeedSameURLs(t *testing.T) {
	var mu sync.Mutex
	var seen []string
	srv := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen = append(seen, r.URL.String())
		mu.Unlock()
	}))
	spec := constant(200, 500*time.Millisecond, 1, // one worker: requests arrive in iteration order
		&scenarios.Item{Name: "a", Weight: 1, Request: &scenarios.Request{URL: scenarios.MustTemplate("/a/{{ uuid }}")}},
		&scenarios.Item{Name: "b", Weight: 1, Request: &scenarios.Request{URL: scenarios.MustTemplate("/b/{{ randint 1 1000 }}")}},
	)
	urls := func(seed int64) []string {
		mu.Lock()
		seen = nil
		mu.Unlock()
		run(t, spec, loadgen.Options{BaseURL: srv.URL, Seed: seed})
		mu.Lock()
		defer mu.Unlock()
		return seen
	}
	a, b, c := urls(7), urls(7), urls(8)
	if len(a) != 100 || strings.Join(a, " ") != strings.Join(b, " ") {
		t.Fatalf("two runs with seed 7 sent different URLs:\n%v\n%v", a, b)
	}
	if strings.Join(a, " ") == strings.Join(c, " ") {
		t.Fatal("seeds 7 and 8 sent the same URLs")
	}
}

func TestResultsFileReadByVegeta(t *testing.T) {
	srv := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/bad" {
			http.Error(w, "no", 503)
			return
		}
		fmt.Fprint(w, "hello")
	}))
	var buf bytes.Buffer
	spec := constant(50, time.Second, 0, get("good", "/good"), get("bad", "/bad"))
	res := run(t, spec, loadgen.Options{BaseURL: srv.URL, Results: &buf})
	dec := vegeta.DecoderFor(bytes.NewReader(buf.Bytes()))
	if dec == nil {
		t.Fatal("vegeta does not recognise the results encoding")
	}
	var m vegeta.Metrics
	n := 0
	for {
		var r vegeta.Result
		if err := dec.Decode(&r); err != nil {
			break
		}
		n++
		if r.Attack != "test" || r.Method != "GET" || !strings.HasPrefix(r.URL, srv.URL) || r.Timestamp.Before(res.Start) || r.Latency <= 0 {
			t.Fatalf("result %d = %+v", n, r)
		}
		if (r.Code == 503) != (r.Error != "") {
			t.Fatalf("result %d: code %d error %q", n, r.Code, r.Error)
		}
		m.Add(&r)
	}
	m.Close()
	if uint64(n) != res.Total.Count || n != 50 {
		t.Fatalf("decoded %d results, result counts %d", n, res.Total.Count)
	}
	if m.Success <= 0 || m.Success >= 1 {
		t.Fatalf("vegeta success ratio = %v", m.Success)
	}
}

func TestDecodeHistogram(t *testing.T) {
	h := hdrhistogram.New(1, 3600e6, 3)
	for i := int64(1); i <= 1000; i++ {
		_ = h.RecordValue(i * 100)
	}
	s, err := result.EncodeHistogram(h)
	if err != nil {
		t.Fatal(err)
	}
	back, err := result.DecodeHistogram(s)
	if err != nil || !back.Equals(h) {
		t.Fatalf("round trip failed: %v", err)
	}
	if _, err := result.DecodeHistogram("not a histogram"); err == nil {
		t.Fatal("garbage decoded")
	}
}
