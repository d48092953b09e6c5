package loadgen_test

import (
	"math"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/trendtactics/loadlab/loadgen"
)

// TestUptimeProbe: the server fails the 11th to the 20th probe it receives, an outage of ten
// probes (0.5 s at one per 50 ms). The outage is defined by the probes' order, not by the
// server's clock: a busy machine that delays the prober (a ticker drops the ticks its reader
// is late for) moves the outage, it does not shorten it, so the bounds below hold however
// slow the machine, and still fail if counting, timing or streaks are wrong. The probes'
// timeout (by default the interval, 50 ms, which a busy machine can exceed on loopback) is
// longer than the run: every failure counted is one the server made.
func TestUptimeProbe(t *testing.T) {
	const outage = 10 // probes
	var probes, failed, loads atomic.Int64
	var firstFailedNS atomic.Int64 // when the first failed probe reached the server, since start
	start := time.Now()            // before the server, the run and its clock start
	url := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/healthz" {
			loads.Add(1)
			return
		}
		n := probes.Add(1)
		if n <= outage || n > 2*outage {
			return
		}
		if n == outage+1 {
			firstFailedNS.Store(int64(time.Since(start)))
		}
		failed.Add(1)
		http.Error(w, "down", http.StatusServiceUnavailable)
	})).URL
	spec := load(t, url, `workload:
  - {name: home, request: {url: /}}
load: {executor: constant-arrival-rate, rate: 20, duration: 2s}
probe: {url: /healthz, interval: 50ms, timeout: 10s}
thresholds:
  uptime: ["rate >= 99.99%"]
`)
	res := run(t, spec, loadgen.Options{})
	u := res.Uptime
	if u == nil {
		t.Fatal("no uptime stats")
	}
	t.Logf("%d probes, %d failed, rate %.3f, longest outage %.3fs, first failure at %.3fs (server: %v)",
		u.Probes, u.Failed, u.Rate, u.LongestOutageS, u.FirstFailureS, time.Duration(firstFailedNS.Load()))
	// 41 probes are due in the 2 s: the outage is over once 21 have been sent, which takes a
	// second of stalls to miss. Probes the end of the run cancelled are not counted.
	if u.Probes <= 2*outage || u.Probes > uint64(probes.Load()) || u.Failed != outage || failed.Load() != outage {
		t.Fatalf("probes %d (server saw %d), failed %d (server failed %d); want more than %d, %d failed",
			u.Probes, probes.Load(), u.Failed, failed.Load(), 2*outage, outage)
	}
	if want := 1 - float64(outage)/float64(u.Probes); math.Abs(u.Rate-want) > 1e-9 {
		t.Errorf("uptime %.3f, want %.3f (%d of %d probes failed)", u.Rate, want, outage, u.Probes)
	}
	// Ten probes failed, so no outage is longer than 0.5 s. They are ten in a row in the
	// order they were sent unless probes (each its own goroutine) overtook one another on
	// the way, which cuts the streak: 0.4 s was seen with three busy processes on two cores.
	// The lower bound, three in a row, allows three cuts.
	if u.LongestOutageS > 0.5+1e-9 || u.LongestOutageS < 0.15 {
		t.Errorf("longest outage %.3fs, want 0.5s (ten probes 50ms apart)", u.LongestOutageS)
	}
	// A probe is timed when sent from the run's start; the 11th can't be sent before ten
	// ticks (0.5 s: a ticker never fires early); 0.25 s allows it to be overtaken by five.
	// The first failed probe was sent before the server saw it, and the run started after
	// the test's clock: its time can be no later than what the server measured.
	if first := time.Duration(firstFailedNS.Load()).Seconds(); u.FirstFailureS < 0.25 || u.FirstFailureS > first {
		t.Errorf("first failure at %.3fs; want from 0.25s (0.5s when on time) to %.3fs, when the server failed it", u.FirstFailureS, first)
	}
	if res.Total.Count != uint64(loads.Load()) || res.Total.Errors != 0 {
		t.Errorf("load counted %d requests (%d errors), server saw %d load requests: probes must not count", res.Total.Count, res.Total.Errors, loads.Load())
	}
}
