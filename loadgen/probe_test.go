package loadgen_test

import (
	"math"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/trendtactics/loadlab/loadgen"
)

func TestUptimeProbe(t *testing.T) {
	start := time.Now()
	var probes, failed, loads atomic.Int64
	url := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/healthz" {
			loads.Add(1)
			return
		}
		probes.Add(1)
		if el := time.Since(start); el > 500*time.Millisecond && el < time.Second {
			failed.Add(1)
			http.Error(w, "down", http.StatusServiceUnavailable)
		}
	})).URL
	spec := load(t, url, `workload:
  - {name: home, request: {url: /}}
load: {executor: constant-arrival-rate, rate: 20, duration: 2s}
probe: {url: /healthz, interval: 50ms}
thresholds:
  uptime: ["rate >= 99.99%"]
`)
	start = time.Now()
	res := run(t, spec, loadgen.Options{})
	u := res.Uptime
	if u == nil {
		t.Fatal("no uptime stats")
	}
	if u.Probes < 30 || u.Probes > uint64(probes.Load()) || u.Failed != uint64(failed.Load()) {
		t.Fatalf("probes %d (server saw %d), failed %d (server failed %d)", u.Probes, probes.Load(), u.Failed, failed.Load())
	}
	want := 1 - float64(failed.Load())/float64(u.Probes)
	if math.Abs(u.Rate-want) > 1e-9 || u.Rate > 0.85 || u.Rate < 0.6 {
		t.Errorf("uptime %.3f, want %.3f (about 0.75: down for 0.5 of 2 s)", u.Rate, want)
	}
	if u.LongestOutageS < 0.3 || u.LongestOutageS > 0.6 || u.FirstFailureS < 0.4 || u.FirstFailureS > 0.6 {
		t.Errorf("longest outage %.2fs, first failure at %.2fs; want about 0.5s at 0.5s", u.LongestOutageS, u.FirstFailureS)
	}
	if res.Total.Count != uint64(loads.Load()) || res.Total.Errors != 0 {
		t.Errorf("load counted %d requests (%d errors), server saw %d load requests: probes must not count", res.Total.Count, res.Total.Errors, loads.Load())
	}
}
