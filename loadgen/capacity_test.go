package loadgen_test

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/trendtactics/loadlab/internal/testutil"
	"github.com/trendtactics/loadlab/loadgen"
	"github.com/trendtactics/loadlab/result"
)

func TestShedAndAdmittedLatency(t *testing.T) {
	srv := serve(t, testutil.NewBucket(50, 5))
	spec := load(t, srv.URL, `workload:
  - {name: get, request: {url: /, expect: {status: [200, 503]}}}
load: {executor: constant-arrival-rate, rate: 200, duration: 2s}
`)
	res := run(t, spec, loadgen.Options{})
	st := stats(t, res, "get")
	if st.Shed == 0 || st.Shed != st.Statuses["503"] {
		t.Fatalf("shed %d, 503s %d: want every 503 counted as a shed, and some", st.Shed, st.Statuses["503"])
	}
	if st.Good != st.Statuses["200"] || st.Good+st.Shed != st.Count {
		t.Errorf("good %d shed %d count %d statuses %v: want good = the 200s and good + shed = count", st.Good, st.Shed, st.Count, st.Statuses)
	}
	if st.AdmittedHist == nil || uint64(st.AdmittedHist.TotalCount()) != st.Count-st.Shed {
		t.Fatalf("admitted histogram %v: want the %d answers that were not shed", st.AdmittedHist, st.Count-st.Shed)
	}
	if st.Admitted == nil || res.Total.Shed != st.Shed {
		t.Errorf("admitted summary %v, total shed %d: want both set", st.Admitted, res.Total.Shed)
	}
}

func TestNoShedNoAdmittedHistogram(t *testing.T) {
	srv := serve(t, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {}))
	res := run(t, load(t, srv.URL, `workload: [{name: get, request: {url: /}}]
load: {executor: constant-arrival-rate, rate: 50, duration: 1s}
`), loadgen.Options{})
	st := stats(t, res, "get")
	if st.Shed != 0 || st.AdmittedHist != nil || st.Admitted != nil || st.Good != st.Count {
		t.Errorf("shed %d admitted %v good %d count %d: want no sheds, no admitted histogram, every answer good", st.Shed, st.AdmittedHist, st.Good, st.Count)
	}
}

// A service whose capacity is 100/s (a token bucket) is measured at about that, and the
// ramp stops at the knee instead of running to its end.
func TestMeasureCapacity(t *testing.T) {
	srv := serve(t, testutil.NewBucket(100, 10))
	spec := load(t, srv.URL, `workload:
  - {name: get, request: {url: /, expect: {status: [200, 503]}}}
load: {executor: constant-arrival-rate, rate: 2x capacity, duration: 1s}
capacity: {from: 20, to: 400, duration: 10s, latency: "p(99) < 500ms", errors: 1%}
thresholds:
  goodput: ["rate >= 80% capacity"]
`)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c, err := loadgen.MeasureCapacity(ctx, spec, loadgen.Options{BaseURL: srv.URL, MaxLateness: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	// The bucket serves 100/s (plus a burst of 10): no goodput above that is possible,
	// however fast the machine.
	if c.RPS > 110 {
		t.Fatalf("capacity %.1f/s (seconds %+v): above the bucket's 100/s", c.RPS, c.Seconds)
	}
	// Where the ramp finds the knee is the machine's when it could not hold the ramp (its
	// self-check says so: send lateness p99 beyond a second, or iterations never sent), when a second was lost to latency before the bucket shed anything
	// (the objective is 500 ms; the bucket answers at once), or when more was answered in a
	// second than the bucket and the ramp allow (a stalled process catching up): then it is
	// logged, not judged. Otherwise the knee is found, at about 100/s.
	slow := !c.Valid
	for _, s := range c.Seconds {
		slow = slow || !s.Kept && s.Shed == 0 || s.Answers > 2*s.Planned+10
	}
	switch {
	case slow:
		t.Logf("the machine slowed the ramp (valid %v %q): capacity %.1f/s saturated %v not judged; seconds %+v", c.Valid, c.Reasons, c.RPS, c.Saturated, c.Seconds)
	case !c.Saturated || c.RPS < 60:
		t.Errorf("capacity %.1f/s saturated %v (seconds %+v): want about 100/s and the knee found", c.RPS, c.Saturated, c.Seconds)
	case c.StoppedS >= c.RampS:
		t.Errorf("the ramp ran %.1fs of %.1fs: want it stopped at the knee", c.StoppedS, c.RampS)
	}
	resolved := spec.WithCapacity(c.RPS)
	if resolved.Load.Rate != 2*c.RPS || resolved.Thresholds[0].Value != 0.8*c.RPS || resolved.Thresholds[0].OfCapacity {
		t.Errorf("resolved rate %v threshold %v: want 2 × and 0.8 × %v", resolved.Load.Rate, resolved.Thresholds[0].Value, c.RPS)
	}
	if !spec.Load.RateOfCapacity || spec.Load.Rate != 2 {
		t.Errorf("WithCapacity changed the spec it was called on: %+v", spec.Load)
	}
}

// A ramp that never reaches the service's capacity reports a lower bound. The test is about
// the bound, not the machine's speed: the objective is p(99) < 5s (the service answers at
// once; a starved machine's latencies must not end the ramp), the lateness bound is a
// second, and a ramp the generator could not hold because the machine starved it (a reason
// that says CPU-bound) is logged, not failed; any other reason it is invalid fails.
func TestMeasureCapacityLowerBound(t *testing.T) {
	srv := serve(t, testutil.NewBucket(10000, 100))
	spec := load(t, srv.URL, `workload: [{name: get, request: {url: /}}]
load: {executor: constant-arrival-rate, rate: 1x capacity, duration: 1s}
capacity: {from: 10, to: 50, duration: 4s, latency: "p(99) < 5s"}
`)
	c, err := loadgen.MeasureCapacity(context.Background(), spec, loadgen.Options{BaseURL: srv.URL, MaxLateness: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if c.Saturated || c.RPS > 50 {
		t.Errorf("capacity %.1f saturated %v: want a lower bound at most 50/s, not saturated; seconds %+v", c.RPS, c.Saturated, c.Seconds)
	}
	// A bound needs three kept seconds in a row: a second in which a starved process got
	// no answer at all (though it planned requests) keeps none, and then there is no bound.
	starved := false
	for _, s := range c.Seconds {
		starved = starved || s.Planned > 0 && s.Answers == 0
	}
	if c.RPS <= 0 && !starved {
		t.Errorf("no lower bound from a ramp that was answered every second: %+v", c.Seconds)
	}
	if c.RPS <= 0 && starved {
		t.Logf("no lower bound: the machine starved the ramp of whole seconds: %+v", c.Seconds)
	}
	if !c.Valid {
		for _, r := range c.Reasons {
			if !strings.Contains(r, "CPU-bound") {
				t.Errorf("ramp invalid: %s", r)
			}
		}
		t.Logf("the generator was starved, its ramp is invalid: %v", c.Reasons)
	}
	if !c.Valid && len(c.Reasons) == 0 {
		t.Error("ramp invalid without a reason")
	}
}

// The ramp draws its own random stream: a unique key it sent (a {{ uuid }}) is not sent
// again by the load that follows with the same seed.
func TestCapacityRampOwnRandomStream(t *testing.T) {
	var mu sync.Mutex
	seen := map[string]int{}
	srv := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen[r.URL.Path]++
		mu.Unlock()
	}))
	spec := load(t, srv.URL, `workload: [{name: get, request: {url: "/{{ uuid }}"}}]
load: {executor: constant-arrival-rate, rate: 1x capacity, duration: 1s}
capacity: {from: 10, to: 20, duration: 3s, latency: "p(99) < 1s"}
`)
	c, err := loadgen.MeasureCapacity(context.Background(), spec, loadgen.Options{BaseURL: srv.URL, Seed: 7})
	if err != nil {
		t.Fatal(err)
	}
	run(t, spec.WithCapacity(c.RPS), loadgen.Options{BaseURL: srv.URL, Seed: 7})
	mu.Lock()
	defer mu.Unlock()
	for path, n := range seen {
		if n > 1 {
			t.Fatalf("%s was sent %d times: the ramp and the load drew the same uuids", path, n)
		}
	}
	if len(seen) < 30 {
		t.Fatalf("only %d requests seen", len(seen))
	}
}

// The ramp's writes go to the run's write log: they are in the state the verification
// reads, and unrecorded they would count as unexpected.
func TestCapacityRampRecordsWrites(t *testing.T) {
	srv := serve(t, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusCreated) }))
	spec := load(t, srv.URL, `workload:
  - name: enroll
    request:
      method: POST
      url: /v1/courses/c1/enrollments
      headers: {Idempotency-Key: "{{ uuid }}"}
      write: enrollment
load: {executor: constant-arrival-rate, rate: 1x capacity, duration: 1s}
capacity: {from: 10, to: 20, duration: 3s, latency: "p(99) < 1s"}
`)
	log := &result.WriteLog{}
	c, err := loadgen.MeasureCapacity(context.Background(), spec, loadgen.Options{BaseURL: srv.URL, Writes: log})
	if err != nil {
		t.Fatal(err)
	}
	var answers uint64
	for _, s := range c.Seconds {
		answers += s.Answers
	}
	if n := len(log.Writes()); n == 0 || uint64(n) < answers {
		t.Fatalf("%d writes recorded, %d answers in the ramp", n, answers)
	}
}
