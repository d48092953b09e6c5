package result_test

import (
	"encoding/json"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"

	"github.com/trendtactics/loadlab/result"
)

var start = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

var names = []string{"catalog", "enroll", "login"}

var windows = []result.Window{{Name: "slow-db", Start: 3 * time.Second, End: 5500 * time.Millisecond}}

// samples returns n samples spread over secs seconds: every outcome, sheds (429, 503),
// checks, skipped flow steps and latency-less drops, each at a latency origin a little
// before the second it completes in.
func samples(seed uint64, n, secs int) [][]result.Sample {
	rng := rand.New(rand.NewPCG(seed, 7))
	out := make([][]result.Sample, secs)
	for range n {
		sec := rng.IntN(secs)
		s := result.Sample{
			Name:    rng.IntN(len(names)),
			Code:    200,
			At:      time.Duration(sec)*time.Second + time.Duration(rng.IntN(900))*time.Millisecond,
			Latency: time.Duration(rng.ExpFloat64()*float64(20*time.Millisecond)) + time.Duration(rng.IntN(50))*time.Microsecond,
		}
		s.Service = s.Latency / 2
		switch r := rng.IntN(100); {
		case r < 5:
			s.Out, s.Code = result.OutStatus, 503
		case r < 8:
			s.Out, s.Code = result.OutStatus, 429
		case r < 10:
			s.Out, s.Code = result.OutTransport, 0
		case r < 12:
			s.Out, s.Code = result.OutTimeout, 0
		case r < 14:
			s.Out, s.Code = result.OutSkipped, 0
		case r < 15:
			s.Out, s.Code, s.NoLatency = result.OutTransport, 0, true
		case r < 20:
			s.Code = 201
			s.Checked, s.CheckFailed = true, r == 19
		}
		out[sec] = append(out[sec], s)
	}
	return out
}

// record feeds the samples to a recorder second by second and returns its final result
// and the interval records of its seconds.
func record(t *testing.T, bySec ...[][]result.Sample) (*result.Result, []*result.Result) {
	t.Helper()
	r := result.NewRecorder(start, names, windows)
	var ivs []*result.Result
	secs := len(bySec[0])
	end := start.Add(time.Duration(secs-1)*time.Second + 400*time.Millisecond) // the last second is partial
	for sec := range secs {
		for _, in := range bySec {
			for i := range in[sec] {
				r.Record(&in[sec][i])
			}
		}
		if sec == secs-1 {
			r.Last()
		}
		tEnd := start.Add(time.Duration(sec+1) * time.Second)
		if tEnd.After(end) {
			tEnd = end
		}
		k := uint64(len(bySec)) // each source plans and sends its share
		iv := r.Tick(tEnd, k*uint64(10*sec), k*uint64(9*sec), []uint64{k, 2 * k, 3 * k}, []uint64{3 * k, 2 * k, k}, true)
		iv.Scenario, iv.Seed = "merge", 5
		ivs = append(ivs, iv)
	}
	res := r.Result(end, true)
	res.Scenario, res.Seed = "merge", 5
	return res, ivs
}

// sameFigures fails unless got and want have the same counts, histograms, summaries,
// rates, windows and timelines.
func sameFigures(t *testing.T, got, want *result.Result) {
	t.Helper()
	if !got.Start.Equal(want.Start) || !got.End.Equal(want.End) || got.DurationMS != want.DurationMS {
		t.Errorf("span %v..%v (%gms), want %v..%v (%gms)", got.Start, got.End, got.DurationMS, want.Start, want.End, want.DurationMS)
	}
	sameStats(t, "total", got.Total, want.Total)
	if len(got.Requests) != len(want.Requests) {
		t.Fatalf("%d requests, want %d", len(got.Requests), len(want.Requests))
	}
	for i := range want.Requests {
		sameStats(t, want.Requests[i].Name, got.Requests[i], want.Requests[i])
	}
	if len(got.Windows) != len(want.Windows) {
		t.Fatalf("%d windows, want %d", len(got.Windows), len(want.Windows))
	}
	for i, w := range want.Windows {
		g := got.Windows[i]
		if g.Name != w.Name || g.Start != w.Start || g.End != w.End {
			t.Errorf("window %d: %s %g..%g, want %s %g..%g", i, g.Name, g.Start, g.End, w.Name, w.Start, w.End)
		}
		sameStats(t, w.Name+"/total", g.Total, w.Total)
		sameJSON(t, w.Name+"/slots", g.Slots, w.Slots)
		for j := range w.Requests {
			sameStats(t, w.Name+"/"+w.Requests[j].Name, g.Requests[j], w.Requests[j])
		}
	}
	sameJSON(t, "timeline", got.Timeline, want.Timeline)
}

func sameStats(t *testing.T, what string, got, want *result.RequestStats) {
	t.Helper()
	for i, h := range [][2]*hdrhistogram.Histogram{
		{got.LatencyHist, want.LatencyHist}, {got.ServiceHist, want.ServiceHist}, {got.AdmittedHist, want.AdmittedHist},
	} {
		if (h[0] == nil) != (h[1] == nil) || h[0] != nil && !h[0].Equals(h[1]) {
			t.Errorf("%s: histogram %d (latency, service, admitted) differs", what, i)
		}
	}
	strip := func(st *result.RequestStats) result.RequestStats {
		c := *st
		c.LatencyHist, c.ServiceHist, c.AdmittedHist = nil, nil, nil
		c.LatencyHDR, c.ServiceHDR, c.AdmittedHDR = "", "", ""
		return c
	}
	sameJSON(t, what, strip(got), strip(want))
}

func sameJSON(t *testing.T, what string, got, want any) {
	t.Helper()
	g, err := json.Marshal(got)
	if err != nil {
		t.Fatal(err)
	}
	w, err := json.Marshal(want)
	if err != nil {
		t.Fatal(err)
	}
	if string(g) != string(w) {
		t.Errorf("%s differs:\n got %s\nwant %s", what, g, w)
	}
}

// TestIntervalsMergeBackToTheRun: the interval records of a run, split at any second into
// two sources, merged in any grouping, give back the run exactly.
func TestIntervalsMergeBackToTheRun(t *testing.T) {
	in := samples(1, 5000, 9)
	run, ivs := record(t, in)
	if len(run.Windows[0].Slots) < 30 || run.Windows[0].Slots[0].T != 3 {
		t.Fatalf("the slow-db window has %d slots: want one per 100 ms from 3 s to the run's end", len(run.Windows[0].Slots))
	}
	if run.Total.Shed == 0 || run.Total.Skipped == 0 || run.Total.CheckFailures == 0 || run.Requests[0].AdmittedHist == nil {
		t.Fatalf("the samples should exercise sheds, skips and checks: %+v", run.Total)
	}
	all, err := result.Merge(ivs...)
	if err != nil {
		t.Fatal(err)
	}
	sameFigures(t, all, run)
	for k := 1; k < len(ivs); k++ {
		a, err := result.Merge(ivs[:k]...)
		if err != nil {
			t.Fatal(err)
		}
		b, err := result.Merge(ivs[k:]...)
		if err != nil {
			t.Fatal(err)
		}
		ab, err := result.Merge(a, b)
		if err != nil {
			t.Fatal(err)
		}
		sameFigures(t, ab, run)
		ba, err := result.Merge(b, a)
		if err != nil {
			t.Fatal(err)
		}
		sameFigures(t, ba, run)
	}
}

// TestMergeOfTwoRunsIsOneRunOverBoth: two sources that each recorded half of the samples
// merge into what one source recording all of them measured: sums of counts, and
// percentiles of the merged histograms (an average of the two p99s would differ).
func TestMergeOfTwoRunsIsOneRunOverBoth(t *testing.T) {
	a, b := samples(2, 3000, 7), samples(3, 800, 7)
	for i := range b { // one source much slower than the other
		for j := range b[i] {
			b[i][j].Latency *= 10
		}
	}
	ra, _ := record(t, a)
	rb, _ := record(t, b)
	both, _ := record(t, a, b)
	m, err := result.Merge(ra, rb)
	if err != nil {
		t.Fatal(err)
	}
	// The merged generator health sums planned and sent; the rest of the figures equal one run.
	if m.Generator.Planned != 0 || m.Total.Count != ra.Total.Count+rb.Total.Count {
		t.Errorf("count %d, want %d", m.Total.Count, ra.Total.Count+rb.Total.Count)
	}
	sameFigures(t, m, both)
	avg := (ra.Total.Latency.P99 + rb.Total.Latency.P99) / 2
	if m.Total.Latency.P99 == avg {
		t.Errorf("merged p99 %g equals the average of the p99s", avg)
	}
}

// TestMergeThroughJSON: results written and read back (histograms as V2 encodings) merge
// as the live ones do.
func TestMergeThroughJSON(t *testing.T) {
	in := samples(4, 2000, 5)
	run, ivs := record(t, in)
	var back []*result.Result
	for _, iv := range ivs {
		var buf strings.Builder
		if err := result.WriteJSON(&buf, iv); err != nil {
			t.Fatal(err)
		}
		r, err := result.ReadJSON(strings.NewReader(buf.String()))
		if err != nil {
			t.Fatal(err)
		}
		back = append(back, r)
	}
	m, err := result.Merge(back...)
	if err != nil {
		t.Fatal(err)
	}
	sameFigures(t, m, run)
}

func TestMergeRefuses(t *testing.T) {
	run, _ := record(t, samples(5, 100, 3))
	other := *run
	other.Seed = 6
	noHist := *run
	tl := append([]result.Point(nil), run.Timeline...)
	for i := range tl {
		tl[i].HDR = ""
	}
	noHistTotal := *run.Total
	noHistTotal.Timeline = tl
	noHist.Total = &noHistTotal
	for _, tc := range []struct {
		name string
		in   []*result.Result
		want string
	}{
		{"nothing", nil, "nothing to merge"},
		{"other seed", []*result.Result{run, &other}, "seed 6"},
		{"other schema", []*result.Result{run, {Schema: "x/v9", Scenario: "merge", Seed: 5}}, `schema "x/v9"`},
		{"timeline without histograms", []*result.Result{&noHist, &noHist}, "cannot be merged exactly"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := result.Merge(tc.in...)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want %q", err, tc.want)
			}
		})
	}
}

// encodedOnly returns iv as a coordinator reads it off the wire: every histogram only
// encoded (plain JSON decoding, not ReadJSON), so Merge sums the encodings' buckets.
func encodedOnly(t *testing.T, iv *result.Result) *result.Result {
	t.Helper()
	var buf strings.Builder
	if err := result.WriteJSON(&buf, iv); err != nil {
		t.Fatal(err)
	}
	var r result.Result
	if err := json.Unmarshal([]byte(buf.String()), &r); err != nil {
		t.Fatal(err)
	}
	return &r
}

// TestMergeOfEncodedIntervals: interval records whose histograms are only encoded merge
// into the run exactly, all at once and as a coordinator does, a merged result (live
// histograms) with the next records each time.
func TestMergeOfEncodedIntervals(t *testing.T) {
	a, b := samples(6, 600, 5), samples(7, 400, 5)
	run, _ := record(t, a, b)
	_, ivA := record(t, a)
	_, ivB := record(t, b)
	var enc []*result.Result
	for i := range ivA {
		enc = append(enc, encodedOnly(t, ivA[i]), encodedOnly(t, ivB[i]))
	}
	all, err := result.Merge(enc...)
	if err != nil {
		t.Fatal(err)
	}
	sameFigures(t, all, run)
	var cum *result.Result
	for i := 0; i < len(enc); i += 2 {
		in := enc[i : i+2]
		if cum != nil {
			in = append([]*result.Result{cum}, in...)
		}
		if cum, err = result.Merge(in...); err != nil {
			t.Fatal(err)
		}
	}
	sameFigures(t, cum, run)
}

// TestMergeCorruptHistogram: a corrupt encoding anywhere in an interval record (a
// request's latency, a timeline second, a window slot) makes Merge fail naming it, never
// panic, wherever two sources meet.
func TestMergeCorruptHistogram(t *testing.T) {
	in := samples(8, 500, 6)
	_, ivs := record(t, in)
	iv := encodedOnly(t, ivs[len(ivs)-1]) // the last closes every slot
	for _, tc := range []struct {
		name string
		set  func(r *result.Result, bad string)
		want string
	}{
		{"request latency", func(r *result.Result, bad string) { r.Requests[0].LatencyHDR = bad }, "latency histogram of"},
		{"service time", func(r *result.Result, bad string) { r.Total.ServiceHDR = bad }, "service time histogram of"},
		{"timeline second", func(r *result.Result, bad string) { r.Total.Timeline[0].HDR = bad }, "timeline second"},
		{"window slot", func(r *result.Result, bad string) { r.Windows[0].Slots[0].HDR = bad }, "slot at"},
	} {
		for _, bad := range []string{"not base64!", "HISTFAAAAGx42pJpmSzMwMDewQAB", "AAAAAAAAAAAA", iv.Total.LatencyHDR[:40] + "AAAA" + iv.Total.LatencyHDR[44:]} {
			t.Run(tc.name, func(t *testing.T) {
				r := encodedOnly(t, iv) // a copy
				if len(r.Windows) == 0 || len(r.Windows[0].Slots) == 0 {
					t.Fatal("the record should have window slots")
				}
				tc.set(r, bad)
				_, err := result.Merge(encodedOnly(t, iv), r)
				if err == nil || !strings.Contains(err.Error(), tc.want) {
					t.Fatalf("error %v, want one naming %q", err, tc.want)
				}
			})
		}
	}
}

// TestWindowsHoldTheirSamples: each window's figures are those of the samples whose
// latency origin falls in it, counted directly: seconds wholly in one window (the
// recorder then keeps no figures per window) and a second split between two (5 s: the
// slow-db window ends at 5.5 s) alike, whatever the order of the samples in the second.
func TestWindowsHoldTheirSamples(t *testing.T) {
	for seed := range uint64(2) {
		in := samples(10+seed, 2000, 8)
		run, ivs := record(t, in)
		all := result.WithSteady(windows)
		for wi, w := range all {
			want := map[string]*hdrhistogram.Histogram{"total": result.NewHistogram()}
			counts := map[string]uint64{}
			for _, sec := range in {
				for _, s := range sec {
					if s.Out == result.OutSkipped || !slices.Contains(result.AppendWindowsAt(nil, all, s.At), wi) {
						continue
					}
					for _, key := range []string{"total", names[s.Name]} {
						counts[key]++
						if s.NoLatency {
							continue
						}
						if want[key] == nil {
							want[key] = result.NewHistogram()
						}
						_ = want[key].RecordValue(result.Micros(s.Latency))
					}
				}
			}
			ws := run.Windows[wi]
			if ws.Name != w.Name {
				t.Fatalf("window %d is %s, want %s", wi, ws.Name, w.Name)
			}
			for _, st := range append([]*result.RequestStats{ws.Total}, ws.Requests...) {
				key := st.Name
				if st == ws.Total {
					key = "total"
				}
				if st.Count != counts[key] {
					t.Errorf("seed %d, window %s, %s: %d requests, want %d", seed, w.Name, key, st.Count, counts[key])
				}
				if h := want[key]; h != nil && !st.LatencyHist.Equals(h) {
					t.Errorf("seed %d, window %s, %s: latency histogram differs (p99 %d, want %d)",
						seed, w.Name, key, st.LatencyHist.ValueAtQuantile(99), h.ValueAtQuantile(99))
				}
			}
		}
		if seed == 0 { // the interval records' windows, made the same way, merge back to them
			merged, err := result.Merge(ivs...)
			if err != nil {
				t.Fatal(err)
			}
			sameFigures(t, merged, run)
		}
	}
}
