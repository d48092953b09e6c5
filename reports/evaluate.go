package reports

import (
	"sort"
	"strconv"
	"strings"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"

	"github.com/trendtactics/loadlab/result"
	"github.com/trendtactics/loadlab/scenarios"
)

// The verdicts of a run, in order of precedence.
const (
	Interrupted = "INTERRUPTED" // the run was stopped by a signal
	Invalid     = "INVALID"     // the generator could not hold the schedule: the numbers are not trustworthy
	Fail        = "FAIL"        // at least one threshold failed
	Pass        = "PASS"        // every threshold held on a valid, complete run
)

// Units of ThresholdResult.Unit.
const (
	UnitMS          = "ms"
	UnitRatio       = "ratio"
	UnitCount       = "count"
	UnitRPS         = "rps"
	UnitBytes       = "bytes"
	UnitNoData      = "no data"     // the selection was empty; the threshold failed
	UnitUnsupported = "unsupported" // metric/aggregation pair the evaluator does not know; the threshold failed
)

// Verdict returns the verdict of an evaluated result: INTERRUPTED if the run was
// interrupted, else INVALID if the generator was not valid (never PASS), else FAIL
// if any threshold failed or the verification of the data failed, else PASS. It reads
// res.Thresholds and res.Verification: call it after Evaluate and the verification.
func Verdict(res *result.Result) string {
	switch {
	case res.Interrupted:
		return Interrupted
	case !res.Generator.Valid:
		return Invalid
	}
	if thresholdsFailed(res) > 0 || VerificationFailed(res) {
		return Fail
	}
	return Pass
}

// Evaluate evaluates every threshold of spec against res, in spec order.
// It does not modify res.
func Evaluate(spec *scenarios.Spec, res *result.Result) []result.ThresholdResult {
	out := make([]result.ThresholdResult, 0, len(spec.Thresholds))
	run := runSeconds(res, 0)
	for _, th := range spec.Thresholds {
		out = append(out, evaluate(th, res, run))
	}
	return out
}

// runSeconds is how long the run lasted (or has lasted, for a live snapshot).
func runSeconds(res *result.Result, elapsed time.Duration) float64 {
	if elapsed > 0 {
		return elapsed.Seconds()
	}
	if res.DurationMS > 0 {
		return res.DurationMS / 1000
	}
	if !res.Start.IsZero() && res.End.After(res.Start) {
		return res.End.Sub(res.Start).Seconds()
	}
	return 0
}

// MetricName renders a threshold's metric with its tags, sorted by key: latency{request:enroll,window:slow-db}.
func MetricName(th *scenarios.Threshold) string {
	if len(th.Tags) == 0 {
		return th.Metric
	}
	keys := make([]string, 0, len(th.Tags))
	for k := range th.Tags {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	b.WriteString(th.Metric)
	b.WriteByte('{')
	for i, k := range keys {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(k)
		b.WriteByte(':')
		b.WriteString(th.Tags[k])
	}
	b.WriteByte('}')
	return b.String()
}

// source is the expression part of a threshold ("p(99) < 100ms"), without the metric.
func source(th *scenarios.Threshold) string {
	s := strings.TrimSpace(th.Source)
	// Tolerate a Source that repeats the metric (latency{request:x} p(99) < 1s).
	if rest, ok := strings.CutPrefix(s, MetricName(th)); ok && rest != "" && rest[0] == ' ' {
		return strings.TrimSpace(rest)
	}
	if rest, ok := strings.CutPrefix(s, th.Metric); ok && rest != "" && (rest[0] == ' ' || rest[0] == '{') {
		if i := strings.IndexByte(rest, '}'); rest[0] == '{' && i >= 0 {
			rest = rest[i+1:]
		}
		return strings.TrimSpace(rest)
	}
	return s
}

func evaluate(th *scenarios.Threshold, res *result.Result, run float64) result.ThresholdResult {
	tr := result.ThresholdResult{Metric: MetricName(th), Source: source(th)}
	var v float64
	var unit string
	if th.OfCapacity { // the capacity was never measured (Spec.WithCapacity resolves these)
		tr.Unit = UnitNoData
		return tr
	}
	switch th.Metric {
	case scenarios.MetricUptime:
		v, unit = measureUptime(th, res.Uptime)
	case scenarios.MetricConnections, scenarios.MetricDrops:
		v, unit = measureWebSocket(th, res.WebSocket)
	case scenarios.MetricMemory:
		v, unit = measureMemory(th, res.Memory)
	case scenarios.MetricBrowserTTFB, scenarios.MetricBrowserDCL, scenarios.MetricBrowserLoad,
		scenarios.MetricBrowserFCP, scenarios.MetricBrowserLCP:
		v, unit = measureBrowser(th, res.Browser)
	default:
		stats, span := selectStats(res, th.Tags, run)
		v, unit = measure(th, stats, span)
	}
	switch unit {
	case UnitNoData, UnitUnsupported:
		tr.Unit = unit
		return tr
	}
	tr.Pass = compare(v, th.Op, th.Value)
	if unit == UnitMS {
		v *= 1000 // compared in seconds, reported in ms
	}
	tr.Measured = v
	tr.Unit = unit
	return tr
}

// selectStats returns the stats the tags select and the time they span in seconds,
// or nil when the selection does not exist.
func selectStats(res *result.Result, tags map[string]string, run float64) (*result.RequestStats, float64) {
	total, requests, span := res.Total, res.Requests, run
	if name, ok := tags[scenarios.TagWindow]; ok {
		var win *result.WindowStats
		for _, w := range res.Windows {
			if w != nil && w.Name == name {
				win = w
				break
			}
		}
		if win == nil {
			return nil, 0
		}
		end := win.End
		if run > 0 && end > run {
			end = run // the run ended (or the snapshot was taken) inside the window
		}
		total, requests, span = win.Total, win.Requests, end-win.Start
		if win.Name == result.SteadyWindow {
			span -= covered(res.Windows, win.Start, end)
		}
	}
	if name, ok := tags[scenarios.TagRequest]; ok {
		for _, r := range requests {
			if r != nil && r.Name == name {
				return r, span
			}
		}
		return nil, 0
	}
	return total, span
}

// covered returns how much of [from, to] the windows other than steady cover (their
// union): the steady window is the run outside every other window.
func covered(ws []*result.WindowStats, from, to float64) float64 {
	type span struct{ a, b float64 }
	var spans []span
	for _, w := range ws {
		if w == nil || w.Name == result.SteadyWindow {
			continue
		}
		a, b := max(w.Start, from), min(w.End, to)
		if b > a {
			spans = append(spans, span{a, b})
		}
	}
	sort.Slice(spans, func(i, j int) bool { return spans[i].a < spans[j].a })
	var sum, reach float64
	reach = from
	for _, s := range spans {
		if s.b <= reach {
			continue
		}
		sum += s.b - max(s.a, reach)
		reach = s.b
	}
	return sum
}

// measureUptime measures the uptime metric: the share (rate) or number (count) of the
// health probes that succeeded. It takes no tags (the loader refuses them).
func measureUptime(th *scenarios.Threshold, up *result.UptimeStats) (float64, string) {
	if up == nil || up.Probes == 0 {
		return 0, UnitNoData
	}
	return ratioOrCount(th.Aggregation, up.OK, up.Probes)
}

// measureMemory measures the memory of the processes the process tag names (academy
// names every replica: academy-1, academy-2, ...): the largest growth among them (a
// fraction, see loadgen.ProcessMemory.Growth) or the largest resident size (bytes).
func measureMemory(th *scenarios.Threshold, mem []result.ProcessMemory) (float64, string) {
	want := th.Tags[scenarios.TagProcess]
	found := false
	var worst float64
	for _, m := range mem {
		if m.Name != want && !strings.HasPrefix(m.Name, want+"-") {
			continue
		}
		switch th.Aggregation {
		case scenarios.AggGrowth:
			g, _, _, ok := m.Growth()
			if !ok {
				continue
			}
			if !found || g > worst {
				worst = g
			}
		case scenarios.AggMax:
			worst = max(worst, float64(m.Max()))
		default:
			return 0, UnitUnsupported
		}
		found = true
	}
	switch {
	case !found:
		return 0, UnitNoData
	case th.Aggregation == scenarios.AggMax:
		return worst, UnitBytes
	}
	return worst, UnitRatio
}

// measureWebSocket measures the run-wide WebSocket metrics: connections (the peak held at
// once) and drops (the share, or number, of opened connections dropped before their hold).
func measureWebSocket(th *scenarios.Threshold, ws *result.WebSocketStats) (float64, string) {
	if ws == nil {
		return 0, UnitNoData
	}
	if th.Metric == scenarios.MetricConnections { // its one aggregation is max
		return float64(ws.Peak), UnitCount
	}
	return ratioOrCount(th.Aggregation, ws.Drops, ws.Opened)
}

// measure returns the measured value in the threshold's unit of comparison
// (seconds for durations) and the unit to report it in.
func measure(th *scenarios.Threshold, st *result.RequestStats, span float64) (float64, string) {
	if st == nil {
		return 0, UnitNoData
	}
	switch th.Metric {
	case scenarios.MetricLatency, scenarios.MetricServiceTime, scenarios.MetricAdmittedLatency:
		return measureHist(th, metricHist(st, th.Metric))
	case scenarios.MetricErrors:
		return ratioOrCount(th.Aggregation, st.Errors, st.Count)
	case scenarios.MetricShed:
		return ratioOrCount(th.Aggregation, st.Shed, st.Count)
	case scenarios.MetricGoodput:
		if st.Count == 0 {
			return 0, UnitNoData
		}
		if th.Aggregation == scenarios.AggCount {
			return float64(st.Good), UnitCount
		}
		if span <= 0 {
			return 0, UnitNoData
		}
		return float64(st.Good) / span, UnitRPS
	case scenarios.MetricChecks:
		if st.CheckFailures > st.Checks {
			return 0, UnitUnsupported
		}
		return ratioOrCount(th.Aggregation, st.Checks-st.CheckFailures, st.Checks)
	case scenarios.MetricAvailability:
		return ratioOrCount(th.Aggregation, st.Count-unavailable(st), st.Count)
	case scenarios.MetricThroughput:
		if st.Count == 0 {
			return 0, UnitNoData
		}
		switch th.Aggregation {
		case scenarios.AggCount:
			return float64(st.Count), UnitCount
		case scenarios.AggRate:
			if span <= 0 {
				return 0, UnitNoData
			}
			return float64(st.Count) / span, UnitRPS
		}
	}
	return 0, UnitUnsupported
}

// unavailable counts the responses that show the service was not available:
// 5xx statuses and transport errors (no response). Never more than st.Count.
func unavailable(st *result.RequestStats) uint64 {
	var n uint64
	for code, c := range st.Statuses {
		if code == "error" {
			n += c
			continue
		}
		if s, err := strconv.Atoi(code); err == nil && s >= 500 && s <= 599 {
			n += c
		}
	}
	return min(n, st.Count)
}

func ratioOrCount(agg string, num, den uint64) (float64, string) {
	if den == 0 {
		return 0, UnitNoData
	}
	switch agg {
	case scenarios.AggRate:
		return float64(num) / float64(den), UnitRatio
	case scenarios.AggCount:
		return float64(num), UnitCount
	}
	return 0, UnitUnsupported
}

// measureHist measures a duration threshold on a histogram of microseconds (nil or empty:
// no data).
func measureHist(th *scenarios.Threshold, h *hdrhistogram.Histogram) (float64, string) {
	if h == nil || h.TotalCount() == 0 {
		return 0, UnitNoData
	}
	v, ok := aggregate(h, th.Aggregation, th.Percentile)
	if !ok {
		return 0, UnitUnsupported
	}
	return v, UnitMS
}

// aggregate returns a latency aggregation in seconds from a histogram of microseconds.
func aggregate(h *hdrhistogram.Histogram, agg string, pct float64) (float64, bool) {
	var us float64
	switch agg {
	case scenarios.AggPercentile: // the loader checked 0 < pct <= 100
		us = float64(h.ValueAtQuantile(pct))
	case scenarios.AggMed:
		us = float64(h.ValueAtQuantile(50))
	case scenarios.AggAvg:
		us = h.Mean()
	case scenarios.AggMin:
		us = float64(h.Min())
	case scenarios.AggMax:
		us = float64(h.Max())
	default:
		return 0, false
	}
	return us / 1e6, true
}

// metricHist returns the live histogram of a latency metric of st (latency,
// service_time, admitted_latency), or decodes the encoded one (a result read back from
// JSON). The admitted latency is the latency when nothing was shed. It returns nil when
// there is neither or the encoded one is corrupt (ReadJSON reports corrupt histograms).
func metricHist(st *result.RequestStats, metric string) *hdrhistogram.Histogram {
	h, enc := st.LatencyHist, st.LatencyHDR
	switch {
	case metric == scenarios.MetricServiceTime:
		h, enc = st.ServiceHist, st.ServiceHDR
	case metric == scenarios.MetricAdmittedLatency && (st.AdmittedHist != nil || st.AdmittedHDR != ""):
		h, enc = st.AdmittedHist, st.AdmittedHDR
	}
	if h != nil || enc == "" {
		return h
	}
	h, err := result.DecodeHistogram(enc)
	if err != nil {
		return nil
	}
	return h
}

func compare(v float64, op string, want float64) bool {
	switch op {
	case "<":
		return v < want
	case "<=":
		return v <= want
	case ">":
		return v > want
	case ">=":
		return v >= want
	case "==":
		return v == want
	case "!=":
		return v != want
	}
	return false
}

// Expression renders a threshold as one line: its metric with tags and its expression,
// latency{request:enroll} p(99) < 250ms.
func Expression(th *scenarios.Threshold) string {
	return MetricName(th) + " " + source(th)
}
