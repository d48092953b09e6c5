package cluster

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/trendtactics/loadlab/result"
)

// TestIntervalsMergeTheSameAfterTheWire: interval records that went over the wire (toWire,
// CBOR, fromWire: without their summaries, rates, empty histograms and the run's copy of
// the timeline) merge into exactly the figures the records themselves merge into, and into
// the run's own: counts, histograms, summaries, windows, slots and timelines. The records
// have seconds without requests, a window without requests in most seconds, sheds (the
// admitted latency), errors without latency and failed checks; the run is split between
// two sources as workers split it.
func TestIntervalsMergeTheSameAfterTheWire(t *testing.T) {
	start := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	names := []string{"catalog", "enroll"}
	windows := []result.Window{{Name: "slow-db", Start: 3 * time.Second, End: 4 * time.Second}}
	rng := rand.New(rand.NewPCG(13, 1))
	var wired, first []*result.Result // all sources', the first's
	runs := make([]*result.Result, 2)
	const secs = 7
	for src := range 2 {
		rec := result.NewRecorder(start, names, windows)
		for sec := range secs {
			for i := range 300 * (src + 1) {
				if sec == 1 {
					break // a second without requests
				}
				s := result.Sample{Name: rng.IntN(2), Code: 200, At: time.Duration(sec)*time.Second + time.Duration(i)*time.Millisecond,
					Latency: time.Duration(rng.ExpFloat64() * float64(20*time.Millisecond))}
				s.Service = s.Latency / 2
				switch r := rng.IntN(20); {
				case r == 0:
					s.Code = 503 // a shed
				case r == 1:
					s.Out, s.Code, s.NoLatency = result.OutTransport, 0, true
				case r == 2:
					s.Checked, s.CheckFailed = true, true
				}
				rec.Record(&s)
			}
			if sec == secs-1 {
				rec.Last()
			}
			at := start.Add(time.Duration(sec+1) * time.Second)
			iv := rec.Tick(at, 100, 90, []uint64{50, 50}, []uint64{45, 45}, true)
			iv.Scenario, iv.Seed = "wire", 3
			w := overTheWire(t, iv)
			if got := ivSecond(w); got != sec { // what the coordinator's Run reads of each record
				t.Fatalf("source %d: the record of second %d reads as second %d", src, sec, got)
			}
			wired = append(wired, w)
			if src == 0 {
				first = append(first, w)
			}
		}
		runs[src] = rec.Result(start.Add(secs*time.Second), true)
		runs[src].Scenario, runs[src].Seed = "wire", 3
	}
	want, err := result.Merge(runs...)
	if err != nil {
		t.Fatal(err)
	}
	if want.Total.Shed == 0 || want.Total.CheckFailures == 0 || want.Requests[0].AdmittedHist == nil || len(want.Windows[0].Slots) == 0 {
		t.Fatalf("the samples should have sheds, failed checks and slots: %+v", want.Total)
	}
	got, err := result.Merge(wired...)
	if err != nil {
		t.Fatal(err)
	}
	if got.Total.Latency.P99 == 0 || got.Total.Rate == 0 {
		t.Fatalf("the merge did not derive the summaries again: %+v", got.Total)
	}
	// The runs' results carry no generator health (the engine adds it); the intervals do.
	if got.Generator.Planned != 2*secs*100 || got.Generator.Sent != 2*secs*90 {
		t.Errorf("planned %d, sent %d: want %d and %d", got.Generator.Planned, got.Generator.Sent, 2*secs*100, 2*secs*90)
	}
	sameResult(t, "two sources", got, want)
	// One source (a run with one worker): each second's figures come from one record.
	if want, err = result.Merge(runs[0]); err != nil {
		t.Fatal(err)
	}
	if got, err = result.Merge(first...); err != nil {
		t.Fatal(err)
	}
	sameResult(t, "one source", got, want)
}

// overTheWire is iv as a coordinator reads it from a worker's stream.
func overTheWire(t *testing.T, iv *result.Result) *result.Result {
	t.Helper()
	if err := toWire(iv); err != nil {
		t.Fatal(err)
	}
	b, err := cborEnc.Marshal(&message{Type: msgInterval, Interval: iv})
	if err != nil {
		t.Fatal(err)
	}
	var m message
	if err := cborDec.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	if err := checkInterval(m.Interval); err != nil {
		t.Fatal(err)
	}
	fromWire(m.Interval)
	return m.Interval
}

// sameResult fails unless got and want write the same JSON (histograms as their
// encodings), but for the generator's health.
func sameResult(t *testing.T, what string, got, want *result.Result) {
	t.Helper()
	got.Generator, want.Generator = result.Health{}, result.Health{}
	var g, w bytes.Buffer
	for _, x := range []struct {
		r   *result.Result
		out *bytes.Buffer
	}{{got, &g}, {want, &w}} {
		if err := result.EncodeHistograms(x.r); err != nil {
			t.Fatal(err)
		}
		if err := json.NewEncoder(x.out).Encode(x.r); err != nil {
			t.Fatal(err)
		}
	}
	if g.String() != w.String() {
		t.Errorf("%s: the merge of the intervals from the wire differs from the runs' merge:\n got %s\nwant %s", what, g.String(), w.String())
	}
}
