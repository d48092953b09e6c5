package loadgen_test

import (
	"context"
	"net/http"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/trendtactics/loadlab/loadgen"
	"github.com/trendtactics/loadlab/scenarios"
)

// TestInterruptPlansWhatWasDue: a run stopped between two iterations planned the iterations
// due before the stop, all of them sent, and is valid. At 100/s each idle worker's wait is a
// plain sleep, which sees the stop only at its iteration's time: before, the first worker to
// see it counted its own iteration, due after the stop and never sent, as planned, and the run
// read INVALID with "1 of N planned iterations were never sent". The stop comes 2 ms after
// the server has received iterations 0–19, 8 ms before iteration 20 is due, while every worker
// sleeps.
func TestInterruptPlansWhatWasDue(t *testing.T) {
	for _, tr := range []string{scenarios.TransportFast, scenarios.TransportNetHTTP} {
		t.Run(tr, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			var mu sync.Mutex
			seen := map[int]bool{}
			srv := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				seq, _ := strconv.Atoi(r.Header.Get("X-Seq"))
				mu.Lock()
				defer mu.Unlock()
				seen[seq] = true
				if len(seen) == 20 {
					for i := range 20 {
						if !seen[i] {
							return
						}
					}
					time.AfterFunc(2*time.Millisecond, cancel) // after the worker of 19 is back asleep
				}
			}))
			spec := load(t, srv.URL, `workload: [{name: get, request: {url: /, headers: {X-Seq: "{{ seq }}"}}}]
load: {executor: constant-arrival-rate, rate: 100, duration: 10s}
`)
			res, err := loadgen.Run(ctx, spec, loadgen.Options{BaseURL: srv.URL, Transport: tr})
			if err != nil {
				t.Fatal(err)
			}
			g := res.Generator
			if !res.Interrupted {
				t.Fatal("the run was not interrupted")
			}
			if g.Planned != g.Sent || g.Dropped != 0 || !g.Valid {
				t.Errorf("stopped after 20 iterations: planned %d, sent %d, dropped %d, valid %v %q; want planned = sent and valid",
					g.Planned, g.Sent, g.Dropped, g.Valid, g.Reasons)
			}
		})
	}
}
