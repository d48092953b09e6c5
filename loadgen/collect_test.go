package loadgen

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/trendtactics/loadlab/scenarios"
)

// TestCollectorStep: a period in which no collection completed ends with one; a period in
// which the runtime collected (or anyone did) ends without.
func TestCollectorStep(t *testing.T) {
	var cycles uint64
	collects := 0
	c := &collector{cycles: func() uint64 { return cycles }, collect: func() { collects++; cycles++ }}
	last, collected := c.step(cycles)
	if !collected || collects != 1 || last != 1 {
		t.Fatalf("a quiet period: collected %v (%d), count %d; want a collection and the count after it, 1", collected, collects, last)
	}
	cycles += 3 // the runtime collected three times in the next period
	last, collected = c.step(last)
	if collected || collects != 1 || last != 4 {
		t.Fatalf("after the runtime's collections: collected %v (%d), count %d; want none and 4", collected, collects, last)
	}
	last, collected = c.step(last)
	if !collected || collects != 2 || last != 5 {
		t.Fatalf("a quiet period again: collected %v (%d), count %d; want a collection, 5", collected, collects, last)
	}
}

// TestRunCollectsItsGarbage: a run that allocates too little for the runtime to collect
// collects every collectEvery (here 20 ms) until its load ends, and no more after it.
// Without the collector, this 1 s run makes the one collection before its load.
func TestRunCollectsItsGarbage(t *testing.T) {
	defer func(d time.Duration) { collectEvery = d }(collectEvery)
	collectEvery = 20 * time.Millisecond
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer srv.Close()
	spec := &scenarios.Spec{Version: 1, Name: "collect",
		Workload: []*scenarios.Item{{Name: "get", Weight: 1, Request: &scenarios.Request{Method: "GET", URL: scenarios.MustTemplate("/")}}},
		Load:     scenarios.Load{Executor: scenarios.ExecutorConstantArrivalRate, Rate: 20, TimeUnit: time.Second, Duration: time.Second}}
	before := gcCycles()
	res, err := Run(context.Background(), spec, Options{BaseURL: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	during := gcCycles() - before
	if res.Total == nil || res.Total.Count != 20 {
		t.Fatalf("the run: %+v", res.Total)
	}
	// 1 s / 20 ms is 50 periods; a busy machine stretches them, never to fewer than 10.
	if during < 10 {
		t.Fatalf("%d collections during a 1 s run, want one every 20 ms", during)
	}
	time.Sleep(100 * time.Millisecond)
	if after := gcCycles() - before - during; after > 1 {
		t.Fatalf("%d collections in the 100 ms after the run: the collector outlived it", after)
	}
}
