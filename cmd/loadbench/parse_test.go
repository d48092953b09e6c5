package main

import (
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestParseWrk(t *testing.T) {
	tests := []struct {
		name           string
		out            string
		requests, errs int64
		wantErr        bool
	}{
		{"clean", "Running 1s test @ http://127.0.0.1:1/\n  1 threads and 8 connections\n  78304 requests in 1.00s, 8.89MB read\nRequests/sec:  78259.55\n", 78304, 0, false},
		{"errors", "  512 requests in 10.00s, 1MB read\n  Socket errors: connect 1, read 2, write 3, timeout 4\n  Non-2xx or 3xx responses: 10\n", 512, 20, false},
		{"garbage", "unable to connect to 127.0.0.1:1 Connection refused\n", 0, 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n, e, err := parseWrk([]byte(tt.out))
			if (err != nil) != tt.wantErr || n != tt.requests || e != tt.errs {
				t.Errorf("parseWrk = %d, %d, %v; want %d, %d, error %v", n, e, err, tt.requests, tt.errs, tt.wantErr)
			}
		})
	}
}

func TestParseBombardier(t *testing.T) {
	out := `{"spec":{"numberOfConnections":8,"client":"fasthttp","rate":100},"result":{"bytesRead":12019,"timeTakenSeconds":0.99,"req1xx":0,"req2xx":101,"req3xx":1,"req4xx":2,"req5xx":3,"others":4}}`
	n, e, err := parseBombardier([]byte(out))
	if err != nil || n != 111 || e != 9 {
		t.Errorf("parseBombardier = %d, %d, %v; want 111, 9, nil", n, e, err)
	}
	if _, _, err := parseBombardier([]byte("oops")); err == nil {
		t.Error("parseBombardier of non-JSON: no error")
	}
}

func TestMetricValue(t *testing.T) {
	text := []byte(`# HELP go_goroutines Number of goroutines that currently exist.
# TYPE go_goroutines gauge
go_goroutines 17
go_memstats_heap_alloc_bytes_total 9
go_memstats_heap_alloc_bytes 2.5e+06
loadgen_requests_total{step="get",status="200"} 42
`)
	for _, tt := range []struct {
		name string
		want float64
		ok   bool
	}{
		{"go_goroutines", 17, true},
		{"go_memstats_heap_alloc_bytes", 2.5e6, true},
		{"loadgen_requests_total", 42, true},
		{"go_threads", 0, false},
	} {
		if v, ok := metricValue(text, tt.name); v != tt.want || ok != tt.ok {
			t.Errorf("metricValue(%s) = %v, %v; want %v, %v", tt.name, v, ok, tt.want, tt.ok)
		}
	}
}

func TestSampleTimes(t *testing.T) {
	got := sampleTimes(10*time.Minute, time.Minute)
	if len(got) != 10 || got[0] != time.Minute || got[8] != 9*time.Minute || got[9] != 10*time.Minute-5*time.Second {
		t.Errorf("sampleTimes(10m, 1m) = %v", got)
	}
	if got := sampleTimes(2*time.Minute, time.Minute); len(got) != 2 || got[1] != 115*time.Second {
		t.Errorf("sampleTimes(2m, 1m) = %v", got)
	}
}

func TestProcField(t *testing.T) {
	status := []byte("Name:\tloadgen\nVmHWM:\t  30000 kB\nVmRSS:\t   24576 kB\nThreads:\t7\n")
	if v, ok := procField(status, "VmRSS"); !ok || v != 24576 {
		t.Errorf("VmRSS = %d, %v", v, ok)
	}
	if v, ok := procField(status, "Threads"); !ok || v != 7 {
		t.Errorf("Threads = %d, %v", v, ok)
	}
	if _, ok := procField(status, "VmSwap"); ok {
		t.Error("VmSwap found in a status without it")
	}
}

func TestTableAndRatios(t *testing.T) {
	d := 10 * time.Second
	m := func(req int64, cpu time.Duration, rssMB int64) *measure {
		return &measure{requests: req, cpu: cpu, maxRSS: rssMB << 10}
	}
	rows := []row{
		{tool: tool{kind: "loadgen", name: "loadgen (net/http client)"}, fixed: runs{m(50000, 2500*time.Millisecond, 30)}, max: runs{m(400000, 4*time.Second, 35)}},
		{tool: tool{kind: "vegeta", name: "vegeta v12.13.0 CLI"}, fixed: runs{m(50000, 2500*time.Millisecond, 20)}, max: runs{m(200000, 4*time.Second, 25)}},
		{tool: tool{kind: "bombardier", name: "bombardier v1.2.6 (fasthttp client)"}, fixed: runs{m(50000, time.Second, 10)}, max: runs{&measure{err: errNoFixedRate}}},
		{tool: tool{kind: "wrk", name: "wrk", skip: "not installed (Debian: apt-get install -y wrk)"}},
	}
	var b strings.Builder
	writeTable(&b, rows, 5000, d)
	writeRatios(&b, rows, 5000, d)
	out := strings.Join(strings.Fields(b.String()), " ") // the ratios' column widths aside
	for _, want := range []string{
		"| loadgen (net/http client) | 50.0 | 40.0k, 10.0 | 30.0 MB, 35.0 MB |",
		"| vegeta v12.13.0 CLI | 50.0 | 20.0k, 20.0 | 20.0 MB, 25.0 MB |",
		"| bombardier v1.2.6 (fasthttp client) | 20.0 | failed | 10.0 MB, n/a |",
		"| wrk | skipped: not installed (Debian: apt-get install -y wrk) | | |",
		"CPU per request / vegeta's at 5000/s 1.00",
		"CPU per request / vegeta's at the maximum 0.50",
		"CPU per request / bombardier's at the maximum n/a",
		"maximum rate / vegeta's 2.00",
		"peak RSS at 5000/s − vegeta's +10.0 MB",
		"CPU per request / wrk's at the maximum n/a",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, b.String())
		}
	}
	if !math.IsNaN((*measure)(nil).cpuPerReq()) {
		t.Error("cpuPerReq of a missing run is a number")
	}
}

// With rounds, the table shows each tool's medians and a ratio is the median of the rounds'
// ratios, each taken between two runs of the same round (a slow minute of the machine weighs
// on both), not the ratio of the two medians.
func TestRoundsPairWithinARound(t *testing.T) {
	d := 10 * time.Second
	m := func(cpuMS int64, rssMB int64) *measure {
		return &measure{requests: 10000, cpu: time.Duration(cpuMS) * time.Millisecond, maxRSS: rssMB << 10}
	}
	rows := []row{
		{tool: tool{kind: "loadgen", name: "loadgen"}, fixed: runs{m(500, 30), m(300, 31), m(400, 29)}, max: runs{m(100, 30), nil, m(100, 30)}},
		{tool: tool{kind: "vegeta", name: "vegeta"}, fixed: runs{m(1000, 20), m(500, 20), m(1000, 20)}, max: runs{m(400, 20), m(100, 20), &measure{err: errors.New("boom")}}},
	}
	var b strings.Builder
	writeRuns(&b, rows, 5000, d)
	writeTable(&b, rows, 5000, d)
	writeRatios(&b, rows, 5000, d)
	out := strings.Join(strings.Fields(b.String()), " ")
	for _, want := range []string{
		"| loadgen | 40.0 | 1.0k, 10.0 | 30.0 MB, 30.0 MB |", // medians: 400 ms / 10,000
		"| vegeta | 100.0 | 1.0k, 25.0 | 20.0 MB, 20.0 MB |",
		"CPU per request / vegeta's at 5000/s 0.50 (goal ≤ 0.5; rounds: 0.50 0.60 0.40)", // not 40/100
		"CPU per request / vegeta's at the maximum 0.25 (goal ≤ 0.5)",                    // round 1 only
		"peak RSS at 5000/s − vegeta's +10.0 MB (goal ≤ +10 MB; rounds: +10.0 MB +11.0 MB +9.0 MB)",
		"loadgen, at its maximum, round 2 not run",
		"vegeta, at its maximum, round 3 failed: boom",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, b.String())
		}
	}
}

func TestScrapeGo(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/metrics" {
			http.NotFound(w, r)
			return
		}
		fmt.Fprint(w, "go_goroutines 12\ngo_memstats_heap_alloc_bytes 1048576\n")
	}))
	defer srv.Close()
	heap, g, err := scrapeGo(t.Context(), srv.URL+"/metrics")
	if err != nil || heap != 1<<20 || g != 12 {
		t.Errorf("scrapeGo = %v, %v, %v; want 1048576, 12, nil", heap, g, err)
	}
	heap, g, err = scrapeGo(t.Context(), srv.URL+"/nothing")
	if err == nil || !math.IsNaN(heap) || !math.IsNaN(g) {
		t.Errorf("scrapeGo of a 404 = %v, %v, %v; want NaN, NaN, an error", heap, g, err)
	}
}
