package reports

import (
	"bufio"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
)

// cells renders a figure's base, new, change and interval.
func (f Figure) cells() (base, next, change, interval string) {
	switch f.Metric {
	case "errors":
		base, next = percent(f.Base), percent(f.New)
	case "throughput":
		base, next = strconv.FormatFloat(f.Base, 'f', 1, 64)+"/s", strconv.FormatFloat(f.New, 'f', 1, 64)+"/s"
	default:
		base, next = ms(f.Base)+"ms", ms(f.New)+"ms"
	}
	if f.NoData {
		return base, next, "no data", ""
	}
	unit := func(v float64) string {
		switch {
		case f.Metric == "errors":
			return signed(v*100, 2) + " pp"
		case f.Relative:
			return signed(v*100, 1) + "%"
		}
		return signed(v, 2) + "ms"
	}
	return base, next, unit(f.Change), "[" + unit(f.Low) + ", " + unit(f.High) + "]"
}

func (f Figure) pCell() string {
	if f.Verdict == "" || f.Verdict == Inconclusive && f.PHolm == 0 {
		return ""
	}
	return strconv.FormatFloat(f.PHolm, 'g', 2, 64)
}

// Summary is the comparison's last line: "compare: PASS (10 figures within their
// allowance, 5 base and 5 new runs)", "compare: REGRESSION (2 of 10 figures ...)", ...
func (r *Repeated) Summary() string { return "compare: " + r.judgement() }

func (r *Repeated) judgement() string {
	count := map[string]int{}
	for _, f := range r.Figures {
		count[f.Verdict]++
	}
	runs := fmt.Sprintf("%d base and %d new runs", len(r.Base), len(r.New))
	switch r.Verdict {
	case Invalid:
		return fmt.Sprintf("INVALID (%s)", strings.Join(r.Invalid, "; "))
	case Regression:
		return fmt.Sprintf("REGRESSION (%d of %d figures worse beyond their allowance; %s)", count[Regression], r.Gated, runs)
	case Inconclusive:
		more := "no number of runs would decide: a change sits at its allowance"
		if r.MoreRuns > 0 {
			more = fmt.Sprintf("about %d more runs a side would decide", r.MoreRuns)
		}
		return fmt.Sprintf("INCONCLUSIVE (%d of %d figures undecided, %s; %s)", count[Inconclusive], r.Gated, runs, more)
	case Improvement:
		return fmt.Sprintf("IMPROVEMENT (%d of %d figures better beyond their allowance, none worse; %s)", count[Improvement], r.Gated, runs)
	}
	return fmt.Sprintf("PASS (%d figures within their allowance; %s)", r.Gated, runs)
}

func (r *Repeated) method() string {
	o := r.Options
	return fmt.Sprintf("%d%% intervals: bootstrap of %d resamples over runs and %ds blocks (seed %d, %ds warm-up dropped); "+
		"one-sided Mann-Whitney on the runs' figures; Holm over %d gated figures at %g",
		int(100*(1-o.Alpha)+0.5), o.Resamples, o.BlockSeconds, o.Seed, o.WarmupSeconds, r.Gated, o.Alpha)
}

func (r *Repeated) label(which string) string {
	runs := r.Base
	if which == "new" {
		runs = r.New
	}
	res := runs[0]
	v := res.Version
	if v == "" {
		v = "unknown"
	}
	return fmt.Sprintf("%d run(s) of %s, seed %d, loadlab %s", len(runs), res.Scenario, res.Seed, v)
}

// WriteRepeated writes the comparison as a text table: per request and figure the pooled
// base and new figure, the change and its interval, the allowance, Holm's p-value and
// the figure's verdict; then why undecided figures are undecided, and the summary line.
func WriteRepeated(w io.Writer, r *Repeated) error {
	bw := bufio.NewWriter(w)
	fmt.Fprintf(bw, "base  %s\nnew   %s\n%s\n\n", r.label("base"), r.label("new"), r.method())
	tw := tabwriter.NewWriter(bw, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "request\tmetric\tbase\tnew\tchange\t95% interval\tallowed\tholm p\tverdict\t")
	prev := ""
	for _, f := range r.Figures {
		name := f.Request
		if name == prev {
			name = ""
		}
		prev = f.Request
		b, n, ch, iv := f.cells()
		v := f.Verdict
		if v == "" {
			v = "–"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t\n", name, f.Metric, b, n, ch, iv, f.Allowed, f.pCell(), v)
	}
	tw.Flush()
	var notes []string
	for _, f := range r.Figures {
		if f.Verdict == Inconclusive {
			n := fmt.Sprintf("%s %s undecided: %s", f.Request, f.Metric, f.Reason)
			if f.MoreRuns > 0 {
				n += fmt.Sprintf(" (about %d more runs a side)", f.MoreRuns)
			}
			notes = append(notes, n)
		}
	}
	if len(r.OnlyInBase) > 0 {
		notes = append(notes, "not in every run (not compared): "+strings.Join(r.OnlyInBase, ", "))
	}
	if len(r.OnlyInNew) > 0 {
		notes = append(notes, "only in new runs (not compared): "+strings.Join(r.OnlyInNew, ", "))
	}
	if len(notes) > 0 {
		fmt.Fprintf(bw, "\n%s\n", strings.Join(notes, "\n"))
	}
	fmt.Fprintf(bw, "\n%s\n", r.Summary())
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("write comparison: %w", err)
	}
	return nil
}

// WriteRepeatedMarkdown writes the comparison as Markdown for a CI job summary.
func WriteRepeatedMarkdown(w io.Writer, r *Repeated) error {
	bw := bufio.NewWriter(w)
	emoji := map[string]string{Pass: "✅", Improvement: "✅", Regression: "❌", Inconclusive: "❔", Invalid: "⚠️"}[r.Verdict]
	fmt.Fprintf(bw, "## %s %s\n\n", emoji, mdText(r.judgement()))
	fmt.Fprintf(bw, "base: %s · new: %s  \n%s\n", mdText(r.label("base")), mdText(r.label("new")), mdText(r.method()))
	fmt.Fprint(bw, "\n| request | metric | base | new | change | 95% interval | allowed | Holm p | verdict |\n|---|---|--:|--:|--:|--:|--:|--:|---|\n")
	for _, f := range r.Figures {
		b, n, ch, iv := f.cells()
		fmt.Fprintf(bw, "| %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", mdCode(f.Request), f.Metric, b, n, ch, iv, mdText(f.Allowed), f.pCell(), f.Verdict)
	}
	for _, f := range r.Figures {
		if f.Verdict == Inconclusive {
			fmt.Fprintf(bw, "\n- %s %s undecided: %s", mdCode(f.Request), f.Metric, mdText(f.Reason))
		}
	}
	fmt.Fprintln(bw)
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("write comparison: %w", err)
	}
	return nil
}
