package reports

import (
	"bufio"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/trendtactics/loadlab/result"
)

// WriteMarkdown writes res as a GitHub-flavoured Markdown page for a CI job summary
// ($GITHUB_STEP_SUMMARY, a merge-request note): the verdict, thresholds with measured
// values, a per-request table, the browser figures (browser requests), time windows, faults with their windows and recovery
// times, and the generator's health. Names from the scenario are escaped, so a name
// cannot inject markup.
func WriteMarkdown(w io.Writer, res *result.Result) error {
	bw := bufio.NewWriter(w)
	emoji := verdictEmoji(verdictOf(res))
	if unjudged(res) {
		emoji = "➖"
	}
	fmt.Fprintf(bw, "## %s %s: %s\n\n", emoji, verdictHeadline(res), mdText(res.Scenario))
	fmt.Fprintf(bw, "%s\n\n", mdText(verdictSummary(res)))
	var meta []string
	if res.Path != "" {
		meta = append(meta, "scenario "+mdCode(res.Path))
	}
	meta = append(meta, "seed "+strconv.FormatInt(res.Seed, 10), "duration "+seconds(res.DurationMS/1000))
	if !res.Start.IsZero() {
		meta = append(meta, "started "+res.Start.UTC().Format("2006-01-02 15:04:05Z"))
	}
	fmt.Fprintf(bw, "%s\n", strings.Join(meta, " · "))
	for _, l := range []string{capacityLine(res), shedLine(res)} {
		if l != "" {
			fmt.Fprintf(bw, "\n%s\n", mdText(l))
		}
	}
	if res.StopReason != "" {
		fmt.Fprintf(bw, "\n**Stopped early:** %s\n", mdText(res.StopReason))
	}

	mdThresholds(bw, res)
	mdRequests(bw, res)
	mdBrowser(bw, res)
	mdWindows(bw, res)
	mdFaults(bw, res)
	mdVerification(bw, res)
	mdGenerator(bw, res)
	mdJournal(bw, res)
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("write markdown: %w", err)
	}
	return nil
}

func verdictEmoji(v string) string {
	switch v {
	case Pass:
		return "✅"
	case Fail:
		return "❌"
	case Invalid:
		return "⚠️"
	case Interrupted:
		return "⏹️"
	}
	return "❔"
}

func mdThresholds(w io.Writer, res *result.Result) {
	if len(res.Thresholds) == 0 {
		fmt.Fprint(w, "\n### Thresholds\n\nnone\n")
		return
	}
	failed := thresholdsFailed(res)
	fmt.Fprintf(w, "\n### Thresholds (%d of %d passed)\n\n", len(res.Thresholds)-failed, len(res.Thresholds))
	fmt.Fprint(w, "| | metric | threshold | measured |\n|---|---|---|--:|\n")
	for _, t := range res.Thresholds {
		mark := "✅"
		if !t.Pass {
			mark = "❌"
		}
		measured := mdText(FormatMeasured(t))
		if t.Aborted {
			measured += " (aborted the run)"
		}
		fmt.Fprintf(w, "| %s | %s | %s | %s |\n", mark, mdCode(t.Metric), mdCode(t.Source), measured)
	}
}

func mdRequests(w io.Writer, res *result.Result) {
	fmt.Fprint(w, "\n### Requests\n\nLatency in ms from the intended send time (corrected for coordinated omission).\n\n")
	fmt.Fprint(w, "| request | count | rate/s | errors | checks failed | p50 | p90 | p95 | p99 | max | statuses |\n")
	fmt.Fprint(w, "|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|---|\n")
	rows, total := requestRows(res)
	for i, st := range rows {
		name := mdCode(st.Name)
		if total && i == len(rows)-1 {
			name = "**total**"
		}
		fmt.Fprintf(w, "| %s | %d | %.1f | %s | %s | %s | %s | %s | %s | %s | %s |\n",
			name, st.Count, st.Rate, mdText(errorsCell(st)), checksCell(st),
			lat(st, st.Latency.P50), lat(st, st.Latency.P90), lat(st, st.Latency.P95), lat(st, st.Latency.P99), lat(st, st.Latency.Max),
			mdText(statusList(st)))
	}
}

func mdWindows(w io.Writer, res *result.Result) {
	if len(res.Windows) == 0 {
		return
	}
	fmt.Fprint(w, "\n### Windows\n\n| window | when | count | errors | p50 | p99 | max |\n|---|--:|--:|--:|--:|--:|--:|\n")
	for _, win := range res.Windows {
		if win == nil || win.Total == nil {
			continue
		}
		t := win.Total
		fmt.Fprintf(w, "| %s | %s | %d | %s | %s | %s | %s |\n", mdCode(win.Name), windowSpan(win),
			t.Count, mdText(errorsCell(t)), lat(t, t.Latency.P50), lat(t, t.Latency.P99), lat(t, t.Latency.Max))
	}
}

func mdFaults(w io.Writer, res *result.Result) {
	if len(res.Faults) == 0 {
		return
	}
	fmt.Fprint(w, "\n### Faults\n\n| fault | kind | target | from | to | recovery |\n|---|---|---|--:|--:|---|\n")
	for _, f := range res.Faults {
		rec := "not recovered before the run ended"
		switch {
		case !f.Injected:
			rec = "❗ not injected"
			if f.Error != "" {
				rec += ": " + mdText(f.Error)
			}
		case f.RecoveryS >= 0:
			rec = seconds(f.RecoveryS)
		}
		rec += restartNote(f)
		fmt.Fprintf(w, "| %s | %s | %s | %s | %s | %s |\n", mdCode(f.Name), mdCode(f.Kind), mdCode(f.Target),
			seconds(f.Start), seconds(f.End), rec)
	}
}

func mdGenerator(w io.Writer, res *result.Result) {
	g := res.Generator
	limit := "unbounded"
	if g.InFlightLimit > 0 {
		limit = strconv.Itoa(g.InFlightLimit)
	}
	valid := "✅ yes: the generator held the schedule"
	if !g.Valid {
		valid = "⚠️ no: the generator could not hold the schedule"
		for _, r := range g.Reasons {
			valid += "; " + mdText(r)
		}
	}
	fmt.Fprint(w, "\n### Generator\n\n| | |\n|---|---|\n")
	fmt.Fprintf(w, "| iterations | planned %d, sent %d, completed %d, dropped %d, cancelled %d |\n",
		g.Planned, g.Sent, g.Completed, g.Dropped, g.Cancelled)
	fmt.Fprintf(w, "| send lateness | p99 %sms, max %sms; the generator's own p99 %sms (bound %sms) |\n",
		ms(g.LatenessP99MS), ms(g.LatenessMaxMS), ms(g.GeneratorLatenessP99MS), ms(g.LatenessBound))
	fmt.Fprintf(w, "| in flight | max %d, limit %s, waited for a worker %d |\n", g.MaxInFlight, limit, g.PoolFull)
	fmt.Fprintf(w, "| valid | %s |\n", valid)
}

// mdText escapes s for Markdown text and table cells: every character that could start
// markup is backslash-escaped (CommonMark allows that for any ASCII punctuation), and
// line breaks become spaces.
func mdText(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch r {
		case '\\', '`', '*', '_', '[', ']', '<', '>', '|', '~', '&', '#', '!':
			b.WriteByte('\\')
			b.WriteRune(r)
		case '\n', '\r', '\t':
			b.WriteByte(' ')
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// mdCode renders s as a code span inside a table cell: the fence is longer than any
// run of backticks in s, a pipe is escaped (GFM tables split cells before code spans
// are parsed) and line breaks become spaces.
func mdCode(s string) string {
	if s == "" {
		return ""
	}
	s = strings.NewReplacer("\n", " ", "\r", " ", "|", `\|`).Replace(s)
	longest, run := 0, 0
	for _, r := range s {
		if r == '`' {
			run++
			longest = max(longest, run)
		} else {
			run = 0
		}
	}
	fence := strings.Repeat("`", longest+1)
	if strings.HasPrefix(s, "`") || strings.HasSuffix(s, "`") {
		return fence + " " + s + " " + fence
	}
	return fence + s + fence
}

// mdJournal writes the game-day journal: the run as a timeline, from hypothesis to verdict.
func mdJournal(w io.Writer, res *result.Result) {
	fmt.Fprint(w, "\n### Game-day journal\n\n| time | |\n|--:|---|\n")
	for _, e := range Journal(res) {
		fmt.Fprintf(w, "| %s | %s |\n", journalTime(e), mdText(e.Text))
	}
}
