package reports_test

import (
	"math"
	"strings"
	"testing"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"

	"github.com/trendtactics/loadlab/reports"
	"github.com/trendtactics/loadlab/result"
	"github.com/trendtactics/loadlab/scenarios"
)

// hist returns a histogram (µs, 1 µs to 1 h, 3 digits, as the engine keeps them) of the given milliseconds.
func hist(msValues ...float64) *hdrhistogram.Histogram {
	h := hdrhistogram.New(1, int64(time.Hour/time.Microsecond), 3)
	for _, v := range msValues {
		if err := h.RecordValue(int64(v * 1000)); err != nil {
			panic(err)
		}
	}
	return h
}

// span returns the milliseconds from..to inclusive, step 1.
func span(from, to int) []float64 {
	var out []float64
	for i := from; i <= to; i++ {
		out = append(out, float64(i))
	}
	return out
}

func halves(v []float64) []float64 {
	out := make([]float64, len(v))
	for i, x := range v {
		out[i] = x / 2
	}
	return out
}

func stats(name string, lat []float64, errs uint64, statuses map[string]uint64, checks, checkFails uint64) *result.RequestStats {
	return &result.RequestStats{
		Name: name, Count: uint64(len(lat)), Errors: errs, Statuses: statuses,
		Checks: checks, CheckFailures: checkFails,
		LatencyHist: hist(lat...), ServiceHist: hist(halves(lat)...),
	}
}

// fixture is a 10 s run: catalog 1..50 ms (5 errors, of which 3 are 503s and 2 transport errors),
// enroll 51..100 ms; a window slow-db from 2 s to 6 s with enroll at 300 ms (10 samples)
// and catalog at 200 ms (10 samples, 4 of them 500s).
func fixture() *result.Result {
	catalog := stats("catalog", span(1, 50), 5, map[string]uint64{"200": 45, "503": 3, "error": 2}, 50, 5)
	enroll := stats("enroll", span(51, 100), 0, map[string]uint64{"201": 40, "409": 10}, 100, 0)
	total := stats("total", span(1, 100), 5, map[string]uint64{"200": 45, "201": 40, "409": 10, "503": 3, "error": 2}, 150, 5)

	wCatalog := stats("catalog", []float64{200, 200, 200, 200, 200, 200, 200, 200, 200, 200}, 4, map[string]uint64{"200": 6, "500": 4}, 10, 4)
	wEnroll := stats("enroll", []float64{300, 300, 300, 300, 300, 300, 300, 300, 300, 300}, 0, map[string]uint64{"201": 10}, 10, 0)
	wTotal := stats("total", append(make([]float64, 0, 20), 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 300, 300, 300, 300, 300, 300, 300, 300, 300, 300), 4, map[string]uint64{"200": 6, "500": 4, "201": 10}, 20, 4)
	return &result.Result{
		Schema: result.Schema, Scenario: "fixture", DurationMS: 10000,
		Total: total, Requests: []*result.RequestStats{catalog, enroll},
		Windows: []*result.WindowStats{
			{Name: "slow-db", Start: 2, End: 6, Total: wTotal, Requests: []*result.RequestStats{wCatalog, wEnroll}},
			{Name: "late", Start: 8, End: 20, Total: &result.RequestStats{Name: "total"}},
			{Name: "overlap", Start: 5, End: 7, Total: &result.RequestStats{Name: "total"}},
			// steady: 0-10 s outside slow-db (2-6), overlap (5-7) and late (8-10, cut at the run's end): 3 s
			{Name: "steady", Start: 0, End: 10, Total: stats("total", span(1, 60), 0, map[string]uint64{"200": 60}, 0, 0)},
		},
		Generator: result.Health{Valid: true},
	}
}

func th(metric string, tags map[string]string, agg string, pct float64, op string, value float64) *scenarios.Threshold {
	return &scenarios.Threshold{Metric: metric, Tags: tags, Aggregation: agg, Percentile: pct, Op: op, Value: value, Source: "expr"}
}

func TestEvaluate(t *testing.T) {
	req := func(n string) map[string]string { return map[string]string{"request": n} }
	win := func(n string) map[string]string { return map[string]string{"window": n} }
	tests := []evalCase{
		// latency, every aggregation (values are in seconds; measured in ms). HDR keeps 3 significant
		// digits: percentiles and max report the highest value equivalent to the recorded one
		// (50 ms reads 50.015 ms), min the lowest (51 ms reads 50.976 ms); bounds allow for that.
		{"p99 <", th("latency", nil, "p", 99, "<", 0.1), 99, "ms", true},
		{"p99 < fails", th("latency", nil, "p", 99, "<", 0.05), 99, "ms", false},
		{"p50 <=", th("latency", nil, "p", 50, "<=", 0.0501), 50, "ms", true},
		{"p50 <= fails", th("latency", nil, "p", 50, "<=", 0.049), 50, "ms", false},
		{"p90 >", th("latency", nil, "p", 90, ">", 0.080), 90, "ms", true},
		{"p90 > fails", th("latency", nil, "p", 90, ">", 0.095), 90, "ms", false},
		{"p99.9", th("latency", nil, "p", 99.9, "<", 0.101), 100, "ms", true},
		{"med >=", th("latency", nil, "med", 0, ">=", 0.050), 50, "ms", true},
		{"med >= fails", th("latency", nil, "med", 0, ">=", 0.051), 50, "ms", false},
		{"avg", th("latency", nil, "avg", 0, "<", 0.051), 50.5, "ms", true},
		{"avg fails", th("latency", nil, "avg", 0, ">", 0.051), 50.5, "ms", false},
		{"min ==", th("latency", nil, "min", 0, "==", 0.001), 1, "ms", true},
		{"min != fails", th("latency", nil, "min", 0, "!=", 0.001), 1, "ms", false},
		{"max !=", th("latency", nil, "max", 0, "!=", 0.001), 100, "ms", true},
		{"max <", th("latency", nil, "max", 0, "<", 0.1), 100, "ms", false},
		// count is no latency aggregation (the loader refuses it): a hand-made one fails
		{"count", th("latency", nil, "count", 0, "==", 100), 0, "unsupported", false},
		// service time is half of latency in the fixture
		{"service p99", th("service_time", nil, "p", 99, "<", 0.05), 49.5, "ms", true},
		{"service max fails", th("service_time", nil, "max", 0, "<", 0.04), 50, "ms", false},
		// tags
		{"request p99", th("latency", req("catalog"), "p", 99, "<", 0.051), 50, "ms", true},
		{"request min", th("latency", req("enroll"), "min", 0, ">=", 0.0509), 51, "ms", true},
		{"window p99", th("latency", win("slow-db"), "p", 99, "<", 0.25), 300, "ms", false},
		{"window+request", th("latency", map[string]string{"window": "slow-db", "request": "catalog"}, "max", 0, "<=", 0.201), 200, "ms", true},
		// errors
		{"errors rate", th("errors", nil, "rate", 0, "<", 0.1), 0.05, "ratio", true},
		{"errors rate fails", th("errors", nil, "rate", 0, "<", 0.01), 0.05, "ratio", false},
		{"errors count", th("errors", nil, "count", 0, "<=", 5), 5, "count", true},
		{"errors rate request", th("errors", req("catalog"), "rate", 0, "<", 0.1), 0.1, "ratio", false},
		{"errors rate window", th("errors", win("slow-db"), "rate", 0, "<=", 0.2), 0.2, "ratio", true},
		// checks: rate = passed / total, count = passed
		{"checks rate", th("checks", nil, "rate", 0, ">", 0.96), 145.0 / 150, "ratio", true},
		{"checks rate fails", th("checks", req("catalog"), "rate", 0, ">=", 0.95), 0.9, "ratio", false},
		{"checks count", th("checks", nil, "count", 0, "==", 145), 145, "count", true},
		// throughput: count / duration
		{"throughput rate", th("throughput", nil, "rate", 0, ">=", 10), 10, "rps", true},
		{"throughput rate fails", th("throughput", req("enroll"), "rate", 0, ">", 5), 5, "rps", false},
		{"throughput window rate", th("throughput", win("slow-db"), "rate", 0, "==", 5), 5, "rps", true},
		{"throughput steady rate", th("throughput", win("steady"), "rate", 0, "==", 20), 20, "rps", true},
		{"throughput count", th("throughput", nil, "count", 0, ">=", 100), 100, "count", true},
		// availability: not 5xx and not a transport error
		{"availability rate", th("availability", nil, "rate", 0, ">=", 0.95), 0.95, "ratio", true},
		{"availability rate fails", th("availability", nil, "rate", 0, ">=", 0.9999), 0.95, "ratio", false},
		{"availability request", th("availability", req("enroll"), "rate", 0, "==", 1), 1, "ratio", true},
		{"availability window count", th("availability", win("slow-db"), "count", 0, "==", 16), 16, "count", true},
		// no data: an empty selection fails
		{"unknown request", th("latency", req("nope"), "p", 99, "<", 1), 0, "no data", false},
		{"unknown window", th("errors", win("nope"), "rate", 0, "<", 1), 0, "no data", false},
		{"empty window latency", th("latency", win("late"), "p", 99, "<", 1), 0, "no data", false},
		{"empty window errors", th("errors", win("late"), "count", 0, "<", 1), 0, "no data", false},
		{"empty window throughput", th("throughput", win("late"), "rate", 0, ">=", 0), 0, "no data", false},
		// unknown pairs fail rather than pass
		{"unsupported", th("errors", nil, "p", 99, "<", 1), 0, "unsupported", false},
	}
	checkEval(t, fixture(), tests)
}

// evalCase is one threshold evaluated against a result, with what it must measure.
type evalCase struct {
	name     string
	th       *scenarios.Threshold
	measured float64 // in the reported unit
	unit     string
	pass     bool
}

// checkEval evaluates each case's threshold alone against res.
func checkEval(t *testing.T, res *result.Result, cases []evalCase) {
	t.Helper()
	for _, tt := range cases {
		t.Run(tt.name, func(t *testing.T) {
			got := reports.Evaluate(&scenarios.Spec{Thresholds: []*scenarios.Threshold{tt.th}}, res)
			if len(got) != 1 {
				t.Fatalf("got %d results, want 1", len(got))
			}
			g := got[0]
			if g.Unit != tt.unit || g.Pass != tt.pass || !near(g.Measured, tt.measured) {
				t.Errorf("got measured %v %s pass %v, want %v %s pass %v", g.Measured, g.Unit, g.Pass, tt.measured, tt.unit, tt.pass)
			}
		})
	}
}

// near compares within HDR precision (3 significant digits).
func near(got, want float64) bool {
	if want == 0 {
		return got == 0
	}
	return math.Abs(got-want)/math.Abs(want) < 1e-3
}

func TestEvaluateFromEncodedHistograms(t *testing.T) {
	res := fixture()
	var buf strings.Builder
	if err := result.WriteJSON(&buf, res); err != nil {
		t.Fatal(err)
	}
	for _, st := range res.Requests {
		st.LatencyHist, st.ServiceHist = nil, nil // as if read back without decoding
	}
	spec := &scenarios.Spec{Thresholds: []*scenarios.Threshold{
		th("latency", map[string]string{"request": "enroll"}, "p", 99, "<", 0.2),
		th("service_time", map[string]string{"request": "catalog"}, "max", 0, "<", 0.2),
	}}
	got := reports.Evaluate(spec, res)
	if !near(got[0].Measured, 100) || !got[0].Pass || !near(got[1].Measured, 25) || !got[1].Pass {
		t.Errorf("from encoded histograms: %+v", got)
	}
}

func TestMetricNameAndSource(t *testing.T) {
	spec := &scenarios.Spec{Thresholds: []*scenarios.Threshold{{
		Metric: "latency", Tags: map[string]string{"window": "slow-db", "request": "enroll"},
		Source: "p(99) < 500ms", Aggregation: "p", Percentile: 99, Op: "<", Value: 0.5,
	}, {
		Metric: "errors", Source: "errors rate < 1%", Aggregation: "rate", Op: "<", Value: 0.01,
	}}}
	got := reports.Evaluate(spec, fixture())
	if got[0].Metric != "latency{request:enroll,window:slow-db}" || got[0].Source != "p(99) < 500ms" {
		t.Errorf("got %q %q", got[0].Metric, got[0].Source)
	}
	if got[1].Metric != "errors" || got[1].Source != "rate < 1%" {
		t.Errorf("got %q %q", got[1].Metric, got[1].Source)
	}
}

func TestVerdict(t *testing.T) {
	pass := []result.ThresholdResult{{Pass: true}}
	fail := []result.ThresholdResult{{Pass: true}, {Pass: false}}
	tests := []struct {
		name        string
		interrupted bool
		valid       bool
		ths         []result.ThresholdResult
		want        string
	}{
		{"pass", false, true, pass, reports.Pass},
		{"no thresholds", false, true, nil, reports.Pass},
		{"fail", false, true, fail, reports.Fail},
		{"invalid beats pass", false, false, pass, reports.Invalid},
		{"invalid beats fail", false, false, fail, reports.Invalid},
		{"interrupted beats all", true, false, fail, reports.Interrupted},
	}
	for _, tt := range tests {
		res := &result.Result{Interrupted: tt.interrupted, Generator: result.Health{Valid: tt.valid}, Thresholds: tt.ths}
		if got := reports.Verdict(res); got != tt.want {
			t.Errorf("%s: got %s, want %s", tt.name, got, tt.want)
		}
	}
}

func TestAborter(t *testing.T) {
	spec := &scenarios.Spec{Thresholds: []*scenarios.Threshold{
		{Metric: "latency", Source: "p(99) < 1ms", Aggregation: "p", Percentile: 99, Op: "<", Value: 0.001}, // fails, but no abortOnFail
		{Metric: "latency", Tags: map[string]string{"window": "later"}, Source: "p(99) < 1ms", Aggregation: "p", Percentile: 99, Op: "<", Value: 0.001, AbortOnFail: true},
		{Metric: "errors", Source: "rate < 1%", Aggregation: "rate", Op: "<", Value: 0.01, AbortOnFail: true, DelayAbortEval: 5 * time.Second},
	}}
	ab := reports.NewAborter(spec)
	snap := fixture()
	snap.DurationMS = 0
	if stop, reason := ab.Every(2*time.Second, snap); stop {
		t.Fatalf("stopped before delayAbortEval: %s", reason)
	}
	stop, reason := ab.Every(5*time.Second, snap)
	if !stop || reason != "threshold errors rate < 1% failed (measured 5%)" {
		t.Fatalf("got stop %v reason %q", stop, reason)
	}
	final := fixture()
	final.Requests[0].Errors = 0
	final.Total.Errors = 0 // the final figure would pass; the abort still counts
	results := reports.Evaluate(spec, final)
	if !results[2].Pass {
		t.Fatalf("final errors threshold should pass on its own: %+v", results[2])
	}
	ab.Mark(results)
	r := results[2]
	if !r.Aborted || r.Pass || !near(r.Measured, 0.05) || results[0].Aborted || results[1].Aborted {
		t.Errorf("after Mark: %+v", results)
	}
	final.Thresholds = results
	if got := reports.Verdict(final); got != reports.Fail {
		t.Errorf("verdict %s, want FAIL", got)
	}
}

func TestEvaluateUptime(t *testing.T) {
	th := func(src, agg, op string, v float64) *scenarios.Threshold {
		return &scenarios.Threshold{Metric: "uptime", Source: src, Aggregation: agg, Op: op, Value: v}
	}
	spec := &scenarios.Spec{Thresholds: []*scenarios.Threshold{
		th("rate >= 99.99%", "rate", ">=", 0.9999),
		th("rate >= 90%", "rate", ">=", 0.9),
		th("count > 100", "count", ">", 100),
	}}
	res := &result.Result{Total: &result.RequestStats{}, Uptime: &result.UptimeStats{Probes: 120, OK: 114, Failed: 6}}
	got := reports.Evaluate(spec, res)
	want := []struct {
		pass bool
		v    float64
	}{{false, 0.95}, {true, 0.95}, {true, 114}}
	for i, w := range want {
		if got[i].Pass != w.pass || got[i].Measured != w.v {
			t.Errorf("%s: pass %v measured %v %s, want %v %v", got[i].Source, got[i].Pass, got[i].Measured, got[i].Unit, w.pass, w.v)
		}
	}
	res.Uptime = nil
	if got := reports.Evaluate(spec, res); got[0].Pass || got[0].Unit != reports.UnitNoData {
		t.Errorf("without probes: %+v, want a failed threshold with no data", got[0])
	}
}

func TestEvaluateShedGoodputAdmittedWebSocket(t *testing.T) {
	res := fixture()
	// catalog: 50 answers, 3 of them 503 sheds (at 1..3 ms in the admitted view they are
	// left out: the admitted histogram holds 4..50 ms), 45 good.
	cat := res.Requests[0]
	cat.Shed, cat.Good = 3, 45
	cat.AdmittedHist = hist(span(4, 50)...)
	res.Total.Shed, res.Total.Good = 3, 95
	res.WebSocket = &result.WebSocketStats{Opened: 200, Peak: 150, Drops: 10}
	req := map[string]string{"request": "catalog"}
	enroll := map[string]string{"request": "enroll"}
	capped := th("goodput", nil, "rate", 0, ">=", 0.8)
	capped.OfCapacity = true
	checkEval(t, res, []evalCase{
		{"shed rate", th("shed", nil, "rate", 0, "<", 0.05), 0.03, "ratio", true},
		{"shed count", th("shed", req, "count", 0, ">", 0), 3, "count", true},
		{"goodput rate", th("goodput", nil, "rate", 0, ">=", 9.5), 9.5, "rps", true},
		{"goodput rate fails", th("goodput", req, "rate", 0, ">=", 5), 4.5, "rps", false},
		{"goodput count", th("goodput", nil, "count", 0, "==", 95), 95, "count", true},
		{"admitted min", th("admitted_latency", req, "min", 0, ">=", 0.0039), 4, "ms", true},
		{"admitted p99", th("admitted_latency", req, "p", 99, "<", 0.051), 50, "ms", true},
		// nothing shed: the admitted latency is the latency
		{"admitted without sheds", th("admitted_latency", enroll, "min", 0, ">=", 0.0509), 51, "ms", true},
		{"connections", th("connections", nil, "max", 0, ">=", 150), 150, "count", true},
		{"connections fails", th("connections", nil, "max", 0, ">=", 1000), 150, "count", false},
		{"drops rate", th("drops", nil, "rate", 0, "<", 0.1), 0.05, "ratio", true},
		{"drops count", th("drops", nil, "count", 0, "==", 0), 10, "count", false},
		// a multiple of a capacity that was never measured fails
		{"unresolved capacity", capped, 0, "no data", false},
	})
	// Without any WebSocket request the run-wide metrics have no data.
	res.WebSocket = nil
	if g := reports.Evaluate(&scenarios.Spec{Thresholds: []*scenarios.Threshold{th("connections", nil, "max", 0, ">=", 0)}}, res)[0]; g.Unit != "no data" || g.Pass {
		t.Errorf("connections without websocket: got %+v, want no data and a failure", g)
	}
}

func TestEvaluateMemory(t *testing.T) {
	series := func(name string, from, to int64) result.ProcessMemory {
		m := result.ProcessMemory{Name: name}
		for i := range int64(100) { // 100 s, linear from → to
			m.Samples = append(m.Samples, result.MemSample{T: float64(i), RSS: from + (to-from)*i/99})
		}
		return m
	}
	res := fixture()
	res.Memory = []result.ProcessMemory{series("academy-1", 100e6, 100e6), series("academy-2", 100e6, 160e6), series("loadgen", 20e6, 20e6)}
	proc := func(p string) map[string]string { return map[string]string{"process": p} }
	tests := []struct {
		name     string
		th       *scenarios.Threshold
		measured float64
		unit     string
		pass     bool
	}{
		// academy-2 grows from ~127.3 MB (median of 40..50 s) to ~157.6 MB (median of the last
		// tenth): the worst replica decides.
		{"academy growth fails", th("memory", proc("academy"), "growth", 0, "<", 0.2), (157.58 - 127.27) / 127.27, "ratio", false},
		{"loadgen flat", th("memory", proc("loadgen"), "growth", 0, "<", 0.01), 0, "ratio", true},
		{"academy max", th("memory", proc("academy"), "max", 0, "<", 200e6), 160e6, "bytes", true},
		{"no redis watched", th("memory", proc("redis"), "growth", 0, "<", 0.2), 0, "no data", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := reports.Evaluate(&scenarios.Spec{Thresholds: []*scenarios.Threshold{tt.th}}, res)[0]
			if g.Unit != tt.unit || g.Pass != tt.pass || math.Abs(g.Measured-tt.measured) > 0.02*math.Max(1, tt.measured) {
				t.Errorf("got measured %v %s pass %v, want %v %s pass %v", g.Measured, g.Unit, g.Pass, tt.measured, tt.unit, tt.pass)
			}
		})
	}
	// Too few samples to judge growth: no data, not a pass.
	res.Memory = []result.ProcessMemory{{Name: "loadgen", Samples: []result.MemSample{{T: 0, RSS: 1}, {T: 1, RSS: 1}}}}
	if g := reports.Evaluate(&scenarios.Spec{Thresholds: []*scenarios.Threshold{th("memory", proc("loadgen"), "growth", 0, "<", 1)}}, res)[0]; g.Pass {
		t.Errorf("two samples judged: %+v", g)
	}
}

// TestEvaluateEveryAcceptedPair evaluates every metric with every aggregation and tag the
// threshold loader accepts (scenarios.Metrics) on a result that has data for all of them:
// none is unsupported or without data, and each is reported in the unit of its definition.
func TestEvaluateEveryAcceptedPair(t *testing.T) {
	st := func(name string) *result.RequestStats {
		s := stats(name, span(1, 100), 5, map[string]uint64{"200": 90, "503": 5, "error": 5}, 100, 5)
		s.Shed, s.Good, s.AdmittedHist = 5, 90, hist(span(6, 100)...)
		return s
	}
	mem := result.ProcessMemory{Name: "loadgen"}
	for i := range 20 {
		mem.Samples = append(mem.Samples, result.MemSample{T: float64(i), RSS: 20e6})
	}
	res := &result.Result{
		Schema: result.Schema, DurationMS: 10000, Total: st("total"), Requests: []*result.RequestStats{st("a")},
		Windows: []*result.WindowStats{
			{Name: "slow-db", Start: 2, End: 4, Total: st("total"), Requests: []*result.RequestStats{st("a")}},
			{Name: result.SteadyWindow, Start: 0, End: 10, Total: st("total"), Requests: []*result.RequestStats{st("a")}},
		},
		Uptime:    &result.UptimeStats{Probes: 10, OK: 9, Failed: 1, Rate: 0.9},
		WebSocket: &result.WebSocketStats{Opened: 10, Peak: 8, Drops: 1},
		Memory:    []result.ProcessMemory{mem},
		Generator: result.Health{Valid: true},
		Browser: &result.BrowserStats{Requests: []*result.BrowserRequestStats{{Name: "a"}},
			Windows: []*result.BrowserWindowStats{{Name: "slow-db", Requests: []*result.BrowserRequestStats{{Name: "a"}}}}},
	}
	for _, rs := range []*result.BrowserRequestStats{res.Browser.Requests[0], res.Browser.Windows[0].Requests[0]} {
		for _, m := range scenarios.BrowserMetrics() {
			rs.Figures = append(rs.Figures, &result.BrowserFigure{Metric: m, Hist: hist(span(1, 100)...)})
		}
	}
	want := map[scenarios.Unit]string{
		scenarios.UnitSeconds: reports.UnitMS, scenarios.UnitFraction: reports.UnitRatio, scenarios.UnitCount: reports.UnitCount,
		scenarios.UnitPerSecond: reports.UnitRPS, scenarios.UnitBytes: reports.UnitBytes,
	}
	tagValue := map[string]string{scenarios.TagRequest: "a", scenarios.TagWindow: "slow-db", scenarios.TagProcess: "loadgen"}
	for _, m := range scenarios.Metrics() {
		// the selections: each allowed tag alone, and none unless a tag is required
		var selections []map[string]string
		if len(m.RequiredTags) == 0 {
			selections = append(selections, nil)
		}
		for _, tag := range m.Tags {
			tags := map[string]string{tag: tagValue[tag]}
			for _, req := range m.RequiredTags {
				tags[req] = tagValue[req]
			}
			selections = append(selections, tags)
		}
		if len(m.Tags) > 1 {
			all := map[string]string{}
			for _, tag := range m.Tags {
				all[tag] = tagValue[tag]
			}
			selections = append(selections, all)
		}
		for _, a := range m.Aggregations {
			unit, ok := want[a.Unit]
			if !ok {
				t.Errorf("%s %s: unit %q has no report unit in this test", m.Name, a.Name, a.Unit)
				continue
			}
			for _, tags := range selections {
				thr := th(m.Name, tags, a.Name, 99, ">=", 0)
				t.Run(reports.MetricName(thr)+"/"+a.Name, func(t *testing.T) {
					got := reports.Evaluate(&scenarios.Spec{Thresholds: []*scenarios.Threshold{thr}}, res)[0]
					if got.Unit != unit || !got.Pass {
						t.Errorf("got %+v, want a value in %s that passes >= 0", got, unit)
					}
				})
			}
		}
	}
}
