package loadgen_test

import (
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/trendtactics/loadlab/loadgen"
	"github.com/trendtactics/loadlab/result"
	"github.com/trendtactics/loadlab/scenarios"
)

// load loads a scenario written for a test, with the target url filled in.
func load(t *testing.T, url, src string) *scenarios.Spec {
	t.Helper()
	src = "version: 1\nname: kinds\ntarget: {url: \"" + url + "\"}\n" + src
	spec, err := scenarios.LoadBytes("test.yaml", []byte(src), t.TempDir())
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	return spec
}

func stats(t *testing.T, res *result.Result, name string) *result.RequestStats {
	t.Helper()
	for _, r := range res.Requests {
		if r.Name == name {
			return r
		}
	}
	t.Fatalf("no stats for %q", name)
	return nil
}

// site serves pages and assets; paths under /s/ are assets, counted (and their concurrency).
type site struct {
	mu              sync.Mutex
	hits            map[string]int
	active, maxSeen atomic.Int64
}

func (s *site) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.hits[r.URL.Path]++
	s.mu.Unlock()
	switch {
	case r.URL.Path == "/":
		fmt.Fprint(w, `<!doctype html><html><head><base href="/">
<link rel="stylesheet" href="/s/a.css?v=1"><link rel="icon" href="s/logo.svg"><link rel="canonical" href="/s/not-an-asset">
<script src="/s/b.js" defer></script><script src="https://cdn.invalid/x.js"></script></head>
<body><a href="/s/not-an-asset-either">x</a><img src="/s/slow.png"><img src="s/logo.svg"><img src="data:image/gif;base64,R0lGOD"></body></html>`)
	case r.URL.Path == "/broken":
		fmt.Fprint(w, `<html><link rel="stylesheet" href="/s/a.css"><link rel="stylesheet" href="/s/missing.css"></html>`)
	case r.URL.Path == "/many":
		var b strings.Builder
		for i := range 12 {
			fmt.Fprintf(&b, `<img src="/s/p%d.png">`, i)
		}
		fmt.Fprint(w, b.String())
	case strings.HasPrefix(r.URL.Path, "/s/"):
		n := s.active.Add(1)
		defer s.active.Add(-1)
		for m := s.maxSeen.Load(); n > m && !s.maxSeen.CompareAndSwap(m, n); m = s.maxSeen.Load() {
		}
		switch {
		case r.URL.Path == "/s/missing.css":
			http.NotFound(w, r)
			return
		case r.URL.Path == "/s/slow.png":
			time.Sleep(200 * time.Millisecond)
		case strings.HasPrefix(r.URL.Path, "/s/p"):
			time.Sleep(30 * time.Millisecond)
		}
		fmt.Fprint(w, "asset")
	default:
		http.NotFound(w, r)
	}
}

func newSite(t *testing.T) (*site, string) {
	s := &site{hits: map[string]int{}}
	return s, serve(t, s).URL
}

func TestPageFetchesAssetsAndTimesTheWhole(t *testing.T) {
	s, url := newSite(t)
	spec := load(t, url, `workload:
  - {name: landing, request: {kind: page, url: /}}
load: {executor: constant-arrival-rate, rate: 3, duration: 1s}
`)
	res := run(t, spec, loadgen.Options{})
	st := stats(t, res, "landing")
	if st.Count != 3 || st.Errors != 0 {
		t.Fatalf("count %d errors %d statuses %v, want 3 and 0", st.Count, st.Errors, st.Statuses)
	}
	if st.Latency.Min < 200 || st.ServiceTime.Min < 200 {
		t.Errorf("page time min %.1fms (service %.1fms), want at least the slow asset's 200ms", st.Latency.Min, st.ServiceTime.Min)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, a := range []string{"/s/a.css", "/s/logo.svg", "/s/b.js", "/s/slow.png"} {
		if s.hits[a] != 3 {
			t.Errorf("%s fetched %d times, want 3 (once per page)", a, s.hits[a])
		}
	}
	for _, a := range []string{"/s/not-an-asset", "/s/not-an-asset-either"} {
		if s.hits[a] != 0 {
			t.Errorf("%s fetched %d times, want 0 (not an asset)", a, s.hits[a])
		}
	}
}

func TestPageMissingAssetFailsThePage(t *testing.T) {
	_, url := newSite(t)
	spec := load(t, url, `workload:
  - {name: broken, request: {kind: page, url: /broken}}
load: {executor: constant-arrival-rate, rate: 3, duration: 1s}
`)
	res := run(t, spec, loadgen.Options{})
	st := stats(t, res, "broken")
	if st.Count != 3 || st.Errors != 3 || st.Statuses["404"] != 3 {
		t.Fatalf("count %d errors %d statuses %v, want 3 errors with status 404", st.Count, st.Errors, st.Statuses)
	}
}

func TestPageConnectionBound(t *testing.T) {
	s, url := newSite(t)
	spec := load(t, url, `workload:
  - {name: many, request: {kind: page, url: /many, connections: 3}}
load: {executor: constant-arrival-rate, rate: 1, duration: 1s}
`)
	res := run(t, spec, loadgen.Options{})
	if st := stats(t, res, "many"); st.Count != 1 || st.Errors != 0 {
		t.Fatalf("count %d errors %d, want 1 and 0", st.Count, st.Errors)
	}
	if m := s.maxSeen.Load(); m > 3 || m < 2 {
		t.Errorf("at most %d asset requests at once, want 3 (the bound)", m)
	}
	if st := stats(t, res, "many"); st.Latency.Min < 4*30 {
		t.Errorf("12 assets of 30ms over 3 connections took %.1fms, want at least 120ms", st.Latency.Min)
	}
}

// hls serves an HLS video: three renditions of 5 segments, each segment after segDelay.
func hls(t *testing.T, segDelay time.Duration) (string, func() map[string]int) {
	var mu sync.Mutex
	hits := map[string]int{}
	srv := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		hits[r.URL.Path]++
		mu.Unlock()
		p := strings.TrimPrefix(r.URL.Path, "/v/")
		switch {
		case p == "master.m3u8":
			fmt.Fprint(w, "#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1000000,RESOLUTION=854x480,CODECS=\"avc1.4d401f,mp4a.40.2\"\n480p/index.m3u8\n"+
				"#EXT-X-STREAM-INF:BANDWIDTH=400000,RESOLUTION=426x240\n240p/index.m3u8\n"+
				"#EXT-X-STREAM-INF:BANDWIDTH=2500000,RESOLUTION=1280x720\nhd/index.m3u8\n")
		case strings.HasSuffix(p, "/index.m3u8"):
			fmt.Fprint(w, "#EXTM3U\n#EXT-X-TARGETDURATION:4\n")
			for i := range 5 {
				fmt.Fprintf(w, "#EXTINF:4.0,\n%d.ts\n", i)
			}
			fmt.Fprint(w, "#EXT-X-ENDLIST\n")
		case strings.HasSuffix(p, ".ts"):
			time.Sleep(segDelay)
			w.Write(make([]byte, 1000))
		default:
			http.NotFound(w, r)
		}
	}))
	return srv.URL, func() map[string]int {
		mu.Lock()
		defer mu.Unlock()
		out := map[string]int{}
		for k, v := range hits {
			out[k] = v
		}
		return out
	}
}

func TestVideoStartTimeAndSegments(t *testing.T) {
	url, hits := hls(t, 250*time.Millisecond)
	spec := load(t, url, `workload:
  - {name: watch, request: {kind: video, url: /v/master.m3u8, rendition: 480p, segments: 3}}
load: {executor: constant-arrival-rate, rate: 2, duration: 1s}
`)
	res := run(t, spec, loadgen.Options{})
	start, all := stats(t, res, "watch"), stats(t, res, "watch/segments")
	if start.Count != 2 || start.Errors != 0 || all.Count != 2 || all.Errors != 0 {
		t.Fatalf("start %d/%d errors, segments %d/%d errors, want 2 without errors", start.Count, start.Errors, all.Count, all.Errors)
	}
	// Each segment takes at least 250 ms at the server: the start waits for the first one,
	// the whole play for all three. How much more each takes is the machine's; that the
	// slowest start is below the fastest play (500 ms apart on a quiet machine) says the
	// start is timed at the first segment, not the last.
	if start.ServiceTime.Min < 250 || start.ServiceTime.Max >= all.ServiceTime.Min {
		t.Errorf("video start %.1f..%.1fms, three segments from %.1fms: want the start from one segment's 250ms, below all three's", start.ServiceTime.Min, start.ServiceTime.Max, all.ServiceTime.Min)
	}
	if all.ServiceTime.Min < 750 {
		t.Errorf("three segments took %.1fms, want at least 750ms", all.ServiceTime.Min)
	}
	h := hits()
	for i := range 5 {
		want := 0
		if i < 3 {
			want = 2
		}
		if got := h[fmt.Sprintf("/v/480p/%d.ts", i)]; got != want {
			t.Errorf("480p segment %d fetched %d times, want %d", i, got, want)
		}
	}
	if h["/v/240p/0.ts"]+h["/v/hd/0.ts"] != 0 {
		t.Errorf("other renditions fetched: %v", h)
	}
}

func TestVideoRenditionChoiceAndErrors(t *testing.T) {
	url, hits := hls(t, 0)
	spec := load(t, url, `workload:
  - {name: low, request: {kind: video, url: /v/master.m3u8, segments: 1}}
  - {name: high, request: {kind: video, url: /v/master.m3u8, rendition: highest, segments: 1}}
  - {name: none, request: {kind: video, url: /v/master.m3u8, rendition: 4k}}
  - {name: gone, request: {kind: video, url: /v/nope.m3u8}}
  - {name: long, request: {kind: video, url: /v/master.m3u8, segments: 6}}
load: {executor: constant-arrival-rate, rate: 20, duration: 1s}
`)
	res := run(t, spec, loadgen.Options{})
	for _, name := range []string{"none", "gone"} {
		st, all := stats(t, res, name), stats(t, res, name+"/segments")
		if st.Count > 0 && (st.Errors != st.Count || all.Errors != all.Count || all.Count != st.Count) {
			t.Errorf("%s: %d of %d failed (segments %d of %d), want all", name, st.Errors, st.Count, all.Errors, all.Count)
		}
	}
	if st := stats(t, res, "long"); st.Count > 0 && st.Errors != st.Count {
		t.Errorf("long: %d of %d failed, want all (the playlist has 5 segments)", st.Errors, st.Count)
	}
	h := hits()
	low, high := stats(t, res, "low"), stats(t, res, "high")
	if int(low.Count) != h["/v/240p/0.ts"] || int(high.Count) != h["/v/hd/0.ts"] || low.Errors+high.Errors != 0 {
		t.Errorf("lowest %d (240p fetched %d), highest %d (hd fetched %d); errors %d", low.Count, h["/v/240p/0.ts"], high.Count, h["/v/hd/0.ts"], low.Errors+high.Errors)
	}
}
