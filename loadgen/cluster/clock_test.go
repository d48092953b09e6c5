package cluster_test

import (
	"context"
	"math"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/trendtactics/loadlab/loadgen/cluster"
	"github.com/trendtactics/loadlab/loadgen/pipeline"
	"github.com/trendtactics/loadlab/reports"
)

// exchange is a round trip of a worker whose clock is skew behind the coordinator's, with
// the given one-way delays and the coordinator's time to answer.
func exchange(at time.Time, skew, there, back, answer time.Duration) cluster.RoundTrip {
	return cluster.RoundTrip{
		T0: at.Add(-skew),
		T1: at.Add(there),
		T2: at.Add(there + answer),
		T3: at.Add(there + answer + back - skew),
	}
}

func TestEstimateOffset(t *testing.T) {
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	skew := 1234 * time.Millisecond
	ms := time.Millisecond
	rts := []cluster.RoundTrip{
		exchange(at, skew, 30*ms, 2*ms, ms),                 // slow way there: offset off by 14 ms
		exchange(at.Add(time.Second), skew, 3*ms, 1*ms, ms), // the least delay: off by 1 ms
		exchange(at.Add(2*time.Second), skew, 1*ms, 9*ms, 5*ms),
		{T0: at, T1: at, T2: at, T3: at.Add(-time.Second)}, // the clock jumped back: unusable
	}
	off, unc, ok := cluster.EstimateOffset(rts)
	if !ok || off != skew+ms || unc != 2*ms {
		t.Errorf("offset %s ± %s (ok %v), want %s ± 2ms", off, unc, ok, skew+ms)
	}
	for _, r := range rts[:3] {
		if d := r.Offset() - skew; d.Abs() > r.Delay()/2 {
			t.Errorf("exchange %+v: offset %s off by %s, beyond its uncertainty %s", r, r.Offset(), d, r.Delay()/2)
		}
	}
	if _, _, ok := cluster.EstimateOffset(rts[3:]); ok {
		t.Errorf("an estimate from a clock that jumped back only")
	}
	if _, _, ok := cluster.EstimateOffset(nil); ok {
		t.Errorf("an estimate from no exchange")
	}
}

// TestClockOffsets: the workers' clocks are injected. Worker 0's is 300 ms behind: its
// offset is reported and its share runs as the others'. Worker 1's jumps 30 ms at every
// reading: its offset is uncertain beyond the bound and the run is INVALID, naming it.
func TestClockOffsets(t *testing.T) {
	tg := newTarget(t)
	path := scenario(t, 50, "1s")
	spec, data := loadSpec(t, path)
	c, addr, status := coordinator(t, 2, "tok", data, path)
	var jumps atomic.Int64
	clocks := []func() time.Time{
		func() time.Time { return time.Now().Add(-300 * time.Millisecond) },
		func() time.Time { return time.Now().Add(time.Duration(jumps.Add(1)) * 30 * time.Millisecond) },
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i, now := range clocks {
		wg.Add(1)
		go func() { // ends when the run is over
			defer wg.Done()
			errs[i] = cluster.RunWorker(ctx, cluster.WorkerConfig{Coordinator: addr, Token: "tok", Version: testVersion,
				Index: i, Scenario: data, Path: path, Now: now})
		}()
	}
	res, err := pipeline.Run(ctx, spec, pipeline.Config{BaseURL: tg.URL, Seed: 7, MaxLateness: time.Second, Generator: c})
	wg.Wait()
	if err != nil {
		t.Fatal(err)
	}
	for i, err := range errs {
		if err != nil {
			t.Errorf("worker %d: %v", i, err)
		}
	}
	if len(res.Workers) != 2 {
		t.Fatalf("workers %+v\n%s", res.Workers, status)
	}
	w0, w1 := res.Workers[0], res.Workers[1]
	// Worker 0's offset is right within its uncertainty, half its best round trip: how small
	// that is is the machine's (a loopback exchange delayed beyond the bound by a busy
	// machine makes worker 0 invalid too, and the run is judged on nothing else then).
	if bound := float64(cluster.DefaultMaxClockUncertainty) / 1e6; w0.ClockUncertaintyMS > bound {
		t.Skipf("worker 0's best round trip left its offset uncertain by %.1fms, beyond the %.0fms bound: the machine is too busy to measure a clock\n%s", w0.ClockUncertaintyMS, bound, status)
	}
	if math.Abs(w0.ClockOffsetMS-300) > w0.ClockUncertaintyMS+0.5 || !w0.Valid && !cpuBound(w0.Reasons) || w0.Sent != 25 {
		t.Errorf("worker 0: %+v; want offset +300ms within its uncertainty, valid, its 25 sent", w0)
	}
	if w1.ClockUncertaintyMS < 15 || w1.Valid {
		t.Errorf("worker 1: %+v; want its offset uncertain by 15 ms or more, invalid", w1)
	}
	clock := slices.IndexFunc(res.Generator.Reasons, func(r string) bool { return strings.HasPrefix(r, "worker 1: its clock offset is uncertain by ±") })
	others := slices.DeleteFunc(slices.Clone(res.Generator.Reasons), func(r string) bool {
		return strings.HasPrefix(r, "worker 1: its clock offset is uncertain by ±") || cpuBound([]string{r})
	})
	if res.Verdict != reports.Invalid || clock < 0 || len(others) > 0 {
		t.Errorf("verdict %s, reasons %q; want INVALID for worker 1's clock", res.Verdict, res.Generator.Reasons)
	}
	if res.Generator.Sent != 50 {
		t.Errorf("sent %d, want 50", res.Generator.Sent)
	}
}
