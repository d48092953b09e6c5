package main

import (
	"fmt"
	"io"
	"math"
	"strings"
	"time"

	"github.com/trendtactics/loadlab/internal/stats"
)

// writeRuns prints every run with its raw figures.
func writeRuns(w io.Writer, rows []row, rate int, d time.Duration) {
	fmt.Fprintf(w, "%-60s %9s %9s %7s %7s %9s %8s  %s\n", "run", "requests", "req/s", "errors", "CPU s", "CPU µs/req", "RSS MB", "note")
	for _, r := range rows {
		if r.skip != "" {
			fmt.Fprintf(w, "%-60s skipped: %s\n", r.name, r.skip)
			continue
		}
		for _, x := range []struct {
			label string
			rs    runs
		}{{fmt.Sprintf("at %d/s", rate), r.fixed}, {"at its maximum", r.max}} {
			name := r.name + ", " + x.label
			if x.rs == nil {
				fmt.Fprintf(w, "%-60s n/a (no fixed rate)\n", name)
				continue
			}
			for i, m := range x.rs {
				name := name
				if len(x.rs) > 1 {
					name += fmt.Sprintf(", round %d", i+1)
				}
				switch {
				case m == nil:
					fmt.Fprintf(w, "%-60s not run\n", name)
				case m.err != nil:
					fmt.Fprintf(w, "%-60s failed: %v\n", name, m.err)
				default:
					fmt.Fprintf(w, "%-60s %9d %9.0f %7d %7.2f %9.1f %8.1f  %s\n", name, m.requests, m.rate(d),
						m.errors, m.cpu.Seconds(), m.cpuPerReq(), m.rssMB(), m.note)
				}
			}
		}
	}
}

// writeTable prints issue 12's table, in Markdown for the README: medians over the rounds.
func writeTable(w io.Writer, rows []row, rate int, d time.Duration) {
	fmt.Fprintf(w, "| generator | at %d/s: CPU µs/request | at its maximum: requests/s, CPU µs/request | peak RSS at %d/s, at max |\n", rate, rate)
	fmt.Fprintln(w, "|---|---|---|---|")
	for _, r := range rows {
		if r.skip != "" {
			fmt.Fprintf(w, "| %s | skipped: %s | | |\n", r.name, r.skip)
			continue
		}
		fixed, maxRate := "n/a", "failed"
		if r.fixed != nil {
			fixed = num(r.fixed.cpuPerReq(), 1)
			if r.fixed.err() != nil {
				fixed = "failed"
			}
		}
		if r.max.err() == nil && len(r.max.ok()) > 0 {
			maxRate = fmt.Sprintf("%s, %s", kilo(r.max.rate(d)), num(r.max.cpuPerReq(), 1))
		}
		rss := mb(r.fixed.rssMB()) + ", " + mb(r.max.rssMB())
		fmt.Fprintf(w, "| %s | %s | %s | %s |\n", r.name, fixed, maxRate, rss)
	}
}

// writeRatios prints, for each loadgen row, the ratios that issue 12's goals name: each the
// median of the rounds' ratios (each round's two runs minutes apart), the rounds' own after
// it when there are several.
func writeRatios(w io.Writer, rows []row, rate int, d time.Duration) {
	other := map[string]*row{}
	for i := range rows {
		if rows[i].kind != "loadgen" {
			other[rows[i].kind] = &rows[i]
		}
	}
	fixedOf := func(kind string) runs {
		if r := other[kind]; r != nil {
			return r.fixed
		}
		return nil
	}
	maxOf := func(kind string) runs {
		if r := other[kind]; r != nil {
			return r.max
		}
		return nil
	}
	cpu := func(x, y *measure) float64 { return x.cpuPerReq() / y.cpuPerReq() }
	rateOf := func(x, y *measure) float64 { return x.rate(d) / y.rate(d) }
	rss := func(x, y *measure) float64 { return x.rssMB() - y.rssMB() }
	for _, r := range rows {
		if r.kind != "loadgen" || r.skip != "" {
			continue
		}
		fmt.Fprintf(w, "%s:\n", r.name)
		line := func(what string, xs []float64, format func(float64) string, goal string) {
			value := format(stats.Median(xs))
			if len(xs) > 1 {
				var each []string
				for _, x := range xs {
					each = append(each, format(x))
				}
				goal += "; rounds: " + strings.Join(each, " ")
			}
			fmt.Fprintf(w, "  %-48s %9s   (%s)\n", what, value, goal)
		}
		two := func(f float64) string { return num(f, 2) }
		line(fmt.Sprintf("CPU per request / vegeta's at %d/s", rate), pairs(r.fixed, fixedOf("vegeta"), cpu), two, "goal ≤ 0.5")
		line("CPU per request / vegeta's at the maximum", pairs(r.max, maxOf("vegeta"), cpu), two, "goal ≤ 0.5")
		line("CPU per request / bombardier's at the maximum", pairs(r.max, maxOf("bombardier"), cpu), two, "goal ≤ 1.2")
		line("maximum rate / vegeta's", pairs(r.max, maxOf("vegeta"), rateOf), two, "goal ≥ 2")
		line(fmt.Sprintf("peak RSS at %d/s − vegeta's", rate), pairs(r.fixed, fixedOf("vegeta"), rss), signedMB, "goal ≤ +10 MB")
		line("CPU per request / wrk's at the maximum", pairs(r.max, maxOf("wrk"), cpu), two, "moonshot ≤ 2")
	}
}

func mb(f float64) string {
	if math.IsNaN(f) {
		return "n/a"
	}
	return fmt.Sprintf("%.1f MB", f)
}

func signedMB(f float64) string {
	if math.IsNaN(f) {
		return "n/a"
	}
	return fmt.Sprintf("%+.1f MB", f)
}

// num formats f with prec decimals, or "n/a" when it is not a number (a missing figure).
func num(f float64, prec int) string {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return "n/a"
	}
	return fmt.Sprintf("%.*f", prec, f)
}

// kilo formats a rate as the issue does: 38.6k.
func kilo(f float64) string {
	if math.IsNaN(f) {
		return "n/a"
	}
	if f >= 1000 {
		return fmt.Sprintf("%.1fk", f/1000)
	}
	return fmt.Sprintf("%.0f", f)
}
