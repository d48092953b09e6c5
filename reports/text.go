package reports

import (
	"bufio"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/trendtactics/loadlab/result"
)

// WriteText writes the terminal summary of an evaluated result: per-request
// figures, thresholds with measured values and verdicts, generator health, and
// the verdict line. An empty res.Verdict is computed with Verdict.
func WriteText(w io.Writer, res *result.Result) error {
	bw := bufio.NewWriter(w)
	writeHeader(bw, res)
	if l := capacityLine(res); l != "" {
		fmt.Fprintf(bw, "\n%s\n", l)
	}
	writeRequests(bw, res)
	if l := shedLine(res); l != "" {
		fmt.Fprintf(bw, "\n%s\n", l)
	}
	writeWindows(bw, res)
	writeFaults(bw, res)
	writeThresholds(bw, res)
	writeVerification(bw, res)
	writeProbesAndSockets(bw, res)
	writeGenerator(bw, res)
	writeWorkers(bw, res)
	if res.StopReason != "" {
		fmt.Fprintf(bw, "\nstopped early: %s\n", res.StopReason)
	}
	fmt.Fprintf(bw, "\nverdict: %s\n", verdictSummary(res))
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("write summary: %w", err)
	}
	return nil
}

func writeHeader(w io.Writer, res *result.Result) {
	fmt.Fprintf(w, "scenario %s  seed %d  duration %s", res.Scenario, res.Seed, seconds(res.DurationMS/1000))
	if !res.Start.IsZero() {
		fmt.Fprintf(w, "  started %s", res.Start.UTC().Format("2006-01-02T15:04:05Z"))
	}
	fmt.Fprintln(w)
}

func writeRequests(w io.Writer, res *result.Result) {
	fmt.Fprintln(w, "\nrequests (latency from the intended send time, service time from the actual send; ms)")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	rows, _ := requestRows(res)
	// tabwriter aligns every column right (numbers); names are padded left by hand.
	width := len("request")
	for _, st := range rows {
		width = max(width, len(st.Name))
	}
	fmt.Fprintf(tw, "%-*s\tcount\trate/s\terrors\t\tlat p50\tp90\tp99\tmax\t\tsvc p50\tp90\tp99\tmax\t\n", width, "request")
	for _, st := range rows {
		fmt.Fprintf(tw, "%-*s\t%d\t%.1f\t%s\t\t%s\t%s\t%s\t%s\t\t%s\t%s\t%s\t%s\t\n",
			width, st.Name, st.Count, st.Rate, errorsCell(st),
			lat(st, st.Latency.P50), lat(st, st.Latency.P90), lat(st, st.Latency.P99), lat(st, st.Latency.Max),
			lat(st, st.ServiceTime.P50), lat(st, st.ServiceTime.P90), lat(st, st.ServiceTime.P99), lat(st, st.ServiceTime.Max))
	}
	tw.Flush()
}

// requestRows are the rows of a request table: each request, then all of them as a row
// named "total" (total reports it) unless there is one request, whose figures it repeats.
func requestRows(res *result.Result) (rows []*result.RequestStats, total bool) {
	for _, st := range res.Requests {
		if st != nil {
			rows = append(rows, st)
		}
	}
	if res.Total != nil && len(res.Requests) != 1 {
		t := *res.Total
		t.Name = "total"
		rows = append(rows, &t)
		total = true
	}
	return rows, total
}

// checksCell renders the checks of st that failed: "5 of 50", or "–" without checks.
func checksCell(st *result.RequestStats) string {
	if st.Checks == 0 {
		return "–"
	}
	return fmt.Sprintf("%d of %d", st.CheckFailures, st.Checks)
}

// writeWindows prints one line per time window (faults and steady), all requests together.
func writeWindows(w io.Writer, res *result.Result) {
	if len(res.Windows) == 0 {
		return
	}
	fmt.Fprintln(w, "\nwindows (all requests; ms)")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	width := len("window")
	for _, win := range res.Windows {
		if win != nil {
			width = max(width, len(win.Name))
		}
	}
	fmt.Fprintf(tw, "%-*s\twhen\tcount\terrors\t\tlat p50\tp99\tmax\t\n", width, "window")
	for _, win := range res.Windows {
		if win == nil || win.Total == nil {
			continue
		}
		t := win.Total
		fmt.Fprintf(tw, "%-*s\t%s\t%d\t%s\t\t%s\t%s\t%s\t\n", width, win.Name,
			windowSpan(win), t.Count, errorsCell(t), lat(t, t.Latency.P50), lat(t, t.Latency.P99), lat(t, t.Latency.Max))
	}
	tw.Flush()
}

// writeFaults prints the fault timeline: when each fault was active and how long
// clients took to recover after it ended.
func writeFaults(w io.Writer, res *result.Result) {
	if len(res.Faults) == 0 {
		return
	}
	fmt.Fprintln(w, "\nfaults")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "fault\tkind\ttarget\tfrom\tto\trecovery\t\n")
	for _, f := range res.Faults {
		rec := "not recovered"
		switch {
		case !f.Injected:
			rec = "not injected"
			if f.Error != "" {
				rec += ": " + f.Error
			}
		case f.RecoveryS >= 0:
			rec = seconds(f.RecoveryS)
		}
		rec += restartNote(f)
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t\n", f.Name, f.Kind, f.Target, seconds(f.Start), seconds(f.End), rec)
	}
	tw.Flush()
}

// writeProbesAndSockets prints the uptime probes and the WebSocket connections, when the run had them.
func writeProbesAndSockets(w io.Writer, res *result.Result) {
	if u := res.Uptime; u != nil {
		fmt.Fprintf(w, "\nuptime      %s of %d probes of %s succeeded", percent(u.Rate), u.Probes, u.URL)
		if u.Failed > 0 {
			fmt.Fprintf(w, "; longest outage %s, first failure at %s", seconds(u.LongestOutageS), seconds(u.FirstFailureS))
		}
		fmt.Fprintln(w)
	}
	for _, m := range res.Memory {
		if g, e, l, ok := m.Growth(); ok {
			fmt.Fprintf(w, "\nmemory      %-10s %s → %s over the second half (%+.1f%%), max %s, %d samples", m.Name, megabytes(e), megabytes(l), g*100, megabytes(m.Max()), len(m.Samples))
		} else {
			fmt.Fprintf(w, "\nmemory      %-10s max %s, %d samples (too few to judge growth)", m.Name, megabytes(m.Max()), len(m.Samples))
		}
	}
	if len(res.Memory) > 0 {
		fmt.Fprintln(w)
	}
	if ws := res.WebSocket; ws != nil {
		fmt.Fprintf(w, "\nwebsocket   %d opened (peak %d at once), %d failed to connect, %d dropped; messages %d sent, %d delivered, %d lost\n",
			ws.Opened, ws.Peak, ws.ConnectFailures, ws.Drops, ws.Sent, ws.Delivered, ws.Lost)
	}
	writeBrowser(w, res.Browser)
}

// windowSpan says what a window covers: "2.0s–6.0s" for a fault's, and for the steady
// window, which leaves every other window (faults' and marker windows) out: "outside the other windows, 0.0s–10.0s".
func windowSpan(w *result.WindowStats) string {
	s := seconds(w.Start) + "–" + seconds(w.End)
	if w.Name == result.SteadyWindow {
		return "outside the other windows, " + s
	}
	return s
}

// lat renders a latency of st in ms, or "-" when st has no sample.
func lat(st *result.RequestStats, v float64) string {
	if st.Count == 0 {
		return "-"
	}
	return ms(v)
}

func errorsCell(st *result.RequestStats) string {
	if st.Count == 0 {
		return strconv.FormatUint(st.Errors, 10)
	}
	return fmt.Sprintf("%d (%s)", st.Errors, percent(float64(st.Errors)/float64(st.Count)))
}

func writeThresholds(w io.Writer, res *result.Result) {
	if len(res.Thresholds) == 0 {
		fmt.Fprintln(w, "\nthresholds: none")
		return
	}
	failed := thresholdsFailed(res)
	fmt.Fprintf(w, "\nthresholds (%d of %d passed)\n", len(res.Thresholds)-failed, len(res.Thresholds))
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, t := range res.Thresholds {
		mark := "✓"
		if !t.Pass {
			mark = "✗"
		}
		line := fmt.Sprintf("  %s %s\t%s\t%s", mark, t.Metric, t.Source, FormatMeasured(t))
		if t.Aborted {
			line += "\taborted the run"
		}
		fmt.Fprintln(tw, line)
	}
	tw.Flush()
}

func writeGenerator(w io.Writer, res *result.Result) {
	g := res.Generator
	limit := "unbounded"
	if g.InFlightLimit > 0 {
		limit = strconv.Itoa(g.InFlightLimit)
	}
	fmt.Fprintln(w, "\ngenerator")
	fmt.Fprintf(w, "  iterations  planned %d, sent %d, completed %d", g.Planned, g.Sent, g.Completed)
	if g.Dropped > 0 || g.Cancelled > 0 {
		fmt.Fprintf(w, " (dropped %d, cancelled in flight %d)", g.Dropped, g.Cancelled)
	}
	fmt.Fprintln(w)
	fmt.Fprintf(w, "  lateness    p99 %sms, max %sms", ms(g.LatenessP99MS), ms(g.LatenessMaxMS))
	if g.LatenessBound > 0 {
		fmt.Fprintf(w, "; the generator's own p99 %sms (bound %sms)", ms(g.GeneratorLatenessP99MS), ms(g.LatenessBound))
	}
	fmt.Fprintln(w)
	fmt.Fprintf(w, "  in flight   max %d, limit %s", g.MaxInFlight, limit)
	if g.PoolFull > 0 {
		fmt.Fprintf(w, " (%d iterations waited for a free worker)", g.PoolFull)
	}
	fmt.Fprintln(w)
	if g.Valid {
		fmt.Fprintln(w, "  valid       yes: the generator held the schedule")
		return
	}
	fmt.Fprintln(w, "  valid       no: the generator could not hold the schedule")
	for _, r := range g.Reasons {
		fmt.Fprintf(w, "              - %s\n", r)
	}
}

// writeWorkers writes a distributed run's per-worker section.
func writeWorkers(w io.Writer, res *result.Result) {
	if len(res.Workers) == 0 {
		return
	}
	fmt.Fprintf(w, "\nworkers (%d)\n", len(res.Workers))
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "  worker\tplanned\tsent\tlateness p99\town p99\tclock offset\tstate")
	for _, wk := range res.Workers {
		state := "ok"
		switch {
		case wk.Lost && wk.RejoinedAtS > 0:
			state = fmt.Sprintf("LOST at %ss, rejoined at %ss", strconv.FormatFloat(wk.LostAtS, 'f', 1, 64), strconv.FormatFloat(wk.RejoinedAtS, 'f', 1, 64))
		case wk.Lost:
			state = fmt.Sprintf("LOST at %ss", strconv.FormatFloat(wk.LostAtS, 'f', 1, 64))
		case !wk.Valid:
			state = "INVALID"
		}
		fmt.Fprintf(tw, "  %d\t%d\t%d\t%sms\t%sms\t%+.3fms ±%.3f\t%s\n", wk.Index, wk.Planned, wk.Sent,
			ms(wk.LatenessP99MS), ms(wk.GeneratorLatenessP99MS), wk.ClockOffsetMS, wk.ClockUncertaintyMS, state)
	}
	tw.Flush()
}

// verdictSummary says the verdict and why, in one line that every writer shows:
// "FAIL (2 of 5 thresholds failed)". A run that passed without thresholds or a verification
// judged nothing: it says "no thresholds", and the share of requests that failed, if any
// did (the verdict stays PASS, as k6's, but no writer says PASS for it).
func verdictSummary(res *result.Result) string {
	failed := thresholdsFailed(res)
	n := len(res.Thresholds)
	switch v := verdictOf(res); v {
	case Interrupted:
		return fmt.Sprintf("%s (stopped by a signal after %s; %d of %d thresholds failed so far)", v, seconds(res.DurationMS/1000), failed, n)
	case Invalid:
		return v + " (the generator could not hold the schedule; the measurements cannot be trusted)"
	case Fail:
		for _, t := range res.Thresholds {
			if t.Aborted {
				return fmt.Sprintf("%s (%d of %d thresholds failed; %s %s aborted the run after %s)",
					v, failed, n, t.Metric, t.Source, seconds(res.DurationMS/1000))
			}
		}
		if VerificationFailed(res) {
			return fmt.Sprintf("%s (%d of %d thresholds failed; verification of the data failed)", v, failed, n)
		}
		return fmt.Sprintf("%s (%d of %d thresholds failed)", v, failed, n)
	case Pass:
		switch {
		case n == 0 && res.Verification == nil:
			if share := failedShare(res); share != "" {
				return "no thresholds (" + share + ")"
			}
			return "no thresholds"
		case n == 0:
			s := v + " (no thresholds; verification passed"
			if share := failedShare(res); share != "" {
				s += "; " + share
			}
			return s + ")"
		case res.Verification != nil:
			return fmt.Sprintf("%s (%d of %d thresholds passed; verification passed)", v, n, n)
		}
		return fmt.Sprintf("%s (%d of %d thresholds passed)", v, n, n)
	default:
		return v
	}
}

// ShortVerdict is the verdict as `loadgen run --quiet` prints it: the verdict in a word, but
// for a run that judged nothing what every writer says instead of PASS, "no thresholds" with
// the share of requests that failed ("no thresholds (100% of requests failed)").
func ShortVerdict(res *result.Result) string {
	if unjudged(res) {
		return verdictSummary(res)
	}
	return verdictOf(res)
}

// verdictHeadline is the word a report leads with: the verdict, or "no thresholds" for a
// run that judged nothing (see unjudged).
func verdictHeadline(res *result.Result) string {
	if unjudged(res) {
		return "no thresholds"
	}
	return verdictOf(res)
}

// unjudged reports whether res passed without judging anything: no threshold, no
// verification. Its writers then say "no thresholds" where they would say PASS.
func unjudged(res *result.Result) bool {
	return verdictOf(res) == Pass && len(res.Thresholds) == 0 && res.Verification == nil
}

// failedShare says which share of the requests failed ("100% of requests failed"), or ""
// when none did.
func failedShare(res *result.Result) string {
	t := res.Total
	if t == nil || t.Errors == 0 || t.Count == 0 {
		return ""
	}
	return percent(float64(t.Errors)/float64(t.Count)) + " of requests failed"
}

// FormatMeasured renders a threshold's measured value with its unit:
// "83.2ms", "0.25%", "120.0/s", "17", or "no data".
func FormatMeasured(t result.ThresholdResult) string {
	switch t.Unit {
	case UnitMS:
		return ms(t.Measured) + "ms"
	case UnitRatio:
		return percent(t.Measured)
	case UnitRPS:
		return strconv.FormatFloat(t.Measured, 'f', 1, 64) + "/s"
	case UnitCount:
		return strconv.FormatFloat(t.Measured, 'f', -1, 64)
	case UnitBytes:
		return megabytes(int64(t.Measured))
	case UnitNoData, UnitUnsupported, "":
		if t.Unit == "" {
			return "no data"
		}
		return t.Unit
	}
	return strconv.FormatFloat(t.Measured, 'g', 4, 64) + " " + t.Unit
}

// megabytes renders a byte size in MB (10^6 bytes) with one decimal.
func megabytes(b int64) string { return strconv.FormatFloat(float64(b)/1e6, 'f', 1, 64) + "MB" }

// ms renders milliseconds with three significant digits or more: 0.123, 1.23, 12.3, 123, 1234.
func ms(v float64) string {
	switch {
	case v >= 100:
		return strconv.FormatFloat(v, 'f', 0, 64)
	case v >= 10:
		return strconv.FormatFloat(v, 'f', 1, 64)
	case v >= 1:
		return strconv.FormatFloat(v, 'f', 2, 64)
	}
	return strconv.FormatFloat(v, 'f', 3, 64)
}

// percent renders a fraction as a percentage with up to two decimals: 0.25%, 99.99%, 100%.
func percent(f float64) string {
	s := strconv.FormatFloat(f*100, 'f', 2, 64)
	s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	return s + "%"
}

func seconds(s float64) string {
	return strconv.FormatFloat(s, 'f', 1, 64) + "s"
}
