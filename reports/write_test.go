package reports_test

import (
	"bytes"
	"io"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/trendtactics/loadlab/internal/testutil"
	"github.com/trendtactics/loadlab/reports"
	"github.com/trendtactics/loadlab/result"
	"github.com/trendtactics/loadlab/scenarios"
)

// golden compares got with testdata/<name>.golden (testutil.Golden; -update rewrites it).
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	testutil.Golden(t, filepath.Join("testdata", name+".golden"), got)
}

// summarize fills the Summary fields from the histograms, as the engine does.
func summarize(st *result.RequestStats) {
	if st == nil {
		return
	}
	for _, x := range []struct {
		sum  *result.Summary
		hist interface {
			ValueAtQuantile(float64) int64
			Mean() float64
			Min() int64
			Max() int64
		}
	}{{&st.Latency, st.LatencyHist}, {&st.ServiceTime, st.ServiceHist}} {
		h := x.hist
		*x.sum = result.Summary{
			Min: float64(h.Min()) / 1000, Mean: h.Mean() / 1000,
			P50: float64(h.ValueAtQuantile(50)) / 1000, P90: float64(h.ValueAtQuantile(90)) / 1000,
			P95: float64(h.ValueAtQuantile(95)) / 1000, P99: float64(h.ValueAtQuantile(99)) / 1000,
			P999: float64(h.ValueAtQuantile(99.9)) / 1000, Max: float64(h.Max()) / 1000,
		}
	}
	st.Rate = float64(st.Count) / 10
}

// evaluated returns the fixture with summaries, a fixed clock, thresholds evaluated and a verdict.
func evaluated(t *testing.T) *result.Result {
	t.Helper()
	res := fixture()
	res.Seed = 1
	res.Start = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	res.End = res.Start.Add(10 * time.Second)
	res.Path = "scenarios/fixture.yaml"
	summarize(res.Total)
	for _, st := range res.Requests {
		summarize(st)
	}
	for _, w := range res.Windows {
		if w.Total.LatencyHist != nil {
			summarize(w.Total)
		}
	}
	res.Generator = result.Health{Planned: 100, Sent: 100, Completed: 100, MaxInFlight: 7, InFlightLimit: 1000,
		LatenessP99MS: 0.42, LatenessMaxMS: 3.1, GeneratorLatenessP99MS: 0.3, LatenessBound: 25, Valid: true}
	res.StopReason = "threshold latency{window:slow-db} p(99) < 250ms failed (measured 300ms)"
	res.Timeline = []result.Point{{T: 0, Planned: 10, Sent: 10, Count: 10, P50: 5, P90: 9, P99: 10, Max: 10}}
	res.Events = []result.Event{{At: 2, Kind: result.EventFaultStart, Name: "slow-db"}, {At: 6, Kind: result.EventFaultEnd, Name: "slow-db"}}
	res.Uptime = &result.UptimeStats{URL: "/healthz", IntervalMS: 1000, Probes: 10, OK: 9, Failed: 1, Rate: 0.9, LongestOutageS: 1, FirstFailureS: 3}
	res.WebSocket = &result.WebSocketStats{Opened: 20, Peak: 18, Drops: 1, Sent: 200, Delivered: 198, Lost: 2}
	res.Faults = []result.FaultResult{
		{Name: "slow-db", Kind: "network.delay", Target: "database", Start: 2, End: 6, Injected: true, RecoveryS: 1.5},
		{Name: "kill-one", Kind: "process.kill", Target: "app", Start: 7, End: 8, Injected: true, RecoveryS: -1},
		{Name: "abort", Kind: "http.abort", Target: "/v1/courses", Start: 8, End: 9, Error: "admin API: 403"},
	}
	spec := &scenarios.Spec{Thresholds: []*scenarios.Threshold{
		{Metric: "latency", Source: "p(99) < 100ms", Aggregation: "p", Percentile: 99, Op: "<", Value: 0.1},
		{Metric: "latency", Tags: map[string]string{"request": "enroll"}, Source: "p(99) < 50ms", Aggregation: "p", Percentile: 99, Op: "<", Value: 0.05},
		{Metric: "errors", Source: "rate < 10%", Aggregation: "rate", Op: "<", Value: 0.1},
		{Metric: "throughput", Source: "rate >= 5", Aggregation: "rate", Op: ">=", Value: 5},
		{Metric: "latency", Tags: map[string]string{"window": "slow-db"}, Source: "p(99) < 250ms", Aggregation: "p", Percentile: 99, Op: "<", Value: 0.25, AbortOnFail: true},
		{Metric: "latency", Tags: map[string]string{"window": "nope"}, Source: "p(99) < 250ms", Aggregation: "p", Percentile: 99, Op: "<", Value: 0.25},
	}}
	res.Thresholds = reports.Evaluate(spec, res)
	res.Thresholds[4].Aborted = true
	res.Verdict = reports.Verdict(res)
	return res
}

func TestWriteText(t *testing.T) {
	for _, tc := range []struct {
		name string
		edit func(*result.Result)
	}{
		{"fail", func(*result.Result) {}},
		{"pass", func(r *result.Result) { r.Thresholds, r.StopReason = r.Thresholds[:1], "" }},
		{"invalid", func(r *result.Result) {
			r.StopReason = ""
			r.Generator.Valid = false
			r.Generator.Sent, r.Generator.Completed, r.Generator.Dropped, r.Generator.PoolFull = 80, 80, 20, 75
			r.Generator.Reasons = []string{"sent 80 of 100 planned requests", "send lateness p99 120ms over 10ms"}
		}},
		{"interrupted", func(r *result.Result) { r.Interrupted, r.StopReason, r.Generator.Cancelled = true, "", 3 }},
		{"overload", func(r *result.Result) {
			r.StopReason = ""
			r.Capacity = &result.CapacityResult{RPS: 25.3, Saturated: true, Objective: "p(99) < 500ms, errors < 1%",
				FromRPS: 5, ToRPS: 150, RampS: 40, StoppedS: 9, At: 9, Valid: true}
			r.Total.Shed, r.Total.Good = 3, 85
			a := result.Summary{P50: 12, P99: 95}
			r.Total.Admitted = &a
			var mem result.ProcessMemory
			mem.Name = "academy-1"
			for i := range 20 {
				mem.Samples = append(mem.Samples, result.MemSample{T: float64(i), RSS: 20e6 + int64(i)*1e5})
			}
			r.Memory = []result.ProcessMemory{mem, {Name: "redis", Samples: mem.Samples[:3]}}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := evaluated(t)
			tc.edit(res)
			res.Verdict = reports.Verdict(res)
			var buf bytes.Buffer
			if err := reports.WriteText(&buf, res); err != nil {
				t.Fatal(err)
			}
			golden(t, "TestWriteText."+tc.name, buf.Bytes())
		})
	}
}

func TestWriteJSONGolden(t *testing.T) {
	var buf bytes.Buffer
	if err := result.WriteJSON(&buf, evaluated(t)); err != nil {
		t.Fatal(err)
	}
	golden(t, "TestWriteJSON.json", buf.Bytes())
}

func TestJSONRoundTrip(t *testing.T) {
	res := evaluated(t)
	var buf bytes.Buffer
	if err := result.WriteJSON(&buf, res); err != nil {
		t.Fatal(err)
	}
	back, err := result.ReadJSON(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if back.Requests[1].LatencyHist == nil || !back.Requests[1].LatencyHist.Equals(res.Requests[1].LatencyHist) {
		t.Error("latency histogram of enroll did not survive the round trip")
	}
	if back.Windows[0].Total.ServiceHist == nil || !back.Windows[0].Total.ServiceHist.Equals(res.Windows[0].Total.ServiceHist) {
		t.Error("service histogram of window slow-db did not survive the round trip")
	}
	// The admitted histogram (present once something was shed) survives too.
	res.Requests[0].AdmittedHist = res.Requests[0].LatencyHist.Clone()
	buf.Reset()
	if err := result.WriteJSON(&buf, res); err != nil {
		t.Fatal(err)
	}
	if back2, err := result.ReadJSON(&buf); err != nil || back2.Requests[0].AdmittedHist == nil ||
		!back2.Requests[0].AdmittedHist.Equals(res.Requests[0].AdmittedHist) {
		t.Errorf("admitted histogram did not survive the round trip (err %v)", err)
	}
	res.Requests[0].AdmittedHist, res.Requests[0].AdmittedHDR = nil, ""
	// Re-evaluating the read-back result gives the same thresholds.
	var again, first bytes.Buffer
	if err := reports.WriteText(&first, res); err != nil {
		t.Fatal(err)
	}
	if err := reports.WriteText(&again, back); err != nil {
		t.Fatal(err)
	}
	if first.String() != again.String() {
		t.Errorf("summary differs after the round trip:\n%s\n---\n%s", first.String(), again.String())
	}
}

func TestReadJSONRejects(t *testing.T) {
	for _, tc := range []struct{ name, in, want string }{
		{"schema", `{"schema":"loadlab.result/v2"}`, `read result: unsupported schema "loadlab.result/v2" (want "loadlab.result/v1")`},
		{"no schema", `{"scenario":"x"}`, "read result: no schema field (not a loadlab result?)"},
		{"not json", `hello`, "read result: invalid character"},
		{"corrupt histogram", `{"schema":"loadlab.result/v1","total":{"name":"total","latency_hdr":"AAAA"}}`, `read result: latency histogram of "total": `},
		{"garbage histogram", `{"schema":"loadlab.result/v1","requests":[{"name":"a","service_time_hdr":"HISTFAAAAB94nJNpmSzMwMDAxQABzFCaEUzOmNZg"}]}`, `read result: service time histogram of "a": `},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := result.ReadJSON(strings.NewReader(tc.in))
			if err == nil || !strings.HasPrefix(err.Error(), tc.want) {
				t.Errorf("got %v, want prefix %q", err, tc.want)
			}
		})
	}
}

// TestNoThresholdsSaysSo: a run without thresholds whose every request failed passes (k6's
// convention, exit 0), but no writer says PASS for it: each says "no thresholds" and the
// share of requests that failed.
func TestNoThresholdsSaysSo(t *testing.T) {
	res := &result.Result{
		Schema: result.Schema, Scenario: "all-errors", DurationMS: 10000,
		Total:     &result.RequestStats{Name: "total", Count: 40, Errors: 40, Statuses: map[string]uint64{"error": 40}},
		Generator: result.Health{Planned: 40, Sent: 40, Completed: 40, Valid: true},
	}
	res.Requests = []*result.RequestStats{{Name: "catalog", Count: 40, Errors: 40, Statuses: map[string]uint64{"error": 40}}}
	res.Verdict = reports.Verdict(res)
	if res.Verdict != reports.Pass {
		t.Fatalf("verdict %s, want PASS (no thresholds)", res.Verdict)
	}
	const line = "no thresholds (100% of requests failed)"
	for _, tt := range []struct {
		name       string
		write      func(io.Writer, *result.Result) error
		want, deny []string
	}{
		{"text", reports.WriteText, []string{"\nverdict: " + line + "\n"}, []string{"PASS"}},
		{"md", reports.WriteMarkdown, []string{"## ➖ no thresholds: all-errors\n\n" + line + "\n"}, []string{"PASS"}},
		{"html", reports.WriteHTML, []string{`<span class="badge none">no thresholds</span>`, "<div>" + line + "</div>", "<title>no thresholds ·"},
			[]string{`badge PASS`, "<title>PASS"}},
		{"junit", reports.WriteJUnit, []string{"verdict: " + line}, nil},
	} {
		var b strings.Builder
		if err := tt.write(&b, res); err != nil {
			t.Fatal(err)
		}
		for _, w := range tt.want {
			if !strings.Contains(b.String(), w) {
				t.Errorf("%s: no %q in\n%s", tt.name, w, b.String())
			}
		}
		for _, d := range tt.deny {
			if strings.Contains(b.String(), d) {
				t.Errorf("%s: says %q for a run that judged nothing:\n%s", tt.name, d, b.String())
			}
		}
	}
	if got := reports.ShortVerdict(res); got != line { // loadgen run --quiet
		t.Errorf("short verdict %q, want %q", got, line)
	}
	// Without failures it says no thresholds alone.
	res.Total.Errors, res.Requests[0].Errors = 0, 0
	var b strings.Builder
	if err := reports.WriteText(&b, res); err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(b.String(), "\nverdict: no thresholds\n") {
		t.Errorf("text without failures ends\n%s", b.String())
	}
	if got := reports.ShortVerdict(res); got != "no thresholds" {
		t.Errorf("short verdict without failures %q, want no thresholds", got)
	}
	// A judged run's short verdict is its verdict alone.
	res.Thresholds = []result.ThresholdResult{{Metric: "errors", Pass: true}}
	if got := reports.ShortVerdict(res); got != reports.Pass {
		t.Errorf("short verdict of a judged run %q, want %s", got, reports.Pass)
	}
}

// TestSteadyWindowSaysWhatItCovers: the steady window leaves the fault windows out, so no
// writer prints it as "from 0.0s to 10.0s".
func TestSteadyWindowSaysWhatItCovers(t *testing.T) {
	res := evaluated(t)
	const want = "outside the other windows, 0.0s–10.0s"
	for name, write := range map[string]func(io.Writer, *result.Result) error{
		"text": reports.WriteText, "md": reports.WriteMarkdown, "html": reports.WriteHTML,
	} {
		var b strings.Builder
		if err := write(&b, res); err != nil {
			t.Fatal(err)
		}
		for _, line := range strings.Split(b.String(), "\n") {
			if strings.Contains(line, "steady") && !strings.Contains(line, want) {
				t.Errorf("%s: the steady window's line does not say %q:\n%s", name, want, line)
			}
		}
		if !strings.Contains(b.String(), "2.0s–6.0s") {
			t.Errorf("%s: the slow-db window is not shown as 2.0s–6.0s", name)
		}
	}
}
