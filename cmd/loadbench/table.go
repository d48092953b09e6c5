package main

import (
	"fmt"
	"io"
	"math"
	"time"
)

// writeRuns prints every run with its raw figures.
func writeRuns(w io.Writer, rows []row, rate int, d time.Duration) {
	fmt.Fprintf(w, "%-52s %9s %9s %7s %7s %9s %8s  %s\n", "run", "requests", "req/s", "errors", "CPU s", "CPU µs/req", "RSS MB", "note")
	for _, r := range rows {
		if r.skip != "" {
			fmt.Fprintf(w, "%-52s skipped: %s\n", r.name, r.skip)
			continue
		}
		for _, x := range []struct {
			label string
			m     *measure
		}{{fmt.Sprintf("at %d/s", rate), r.fixed}, {"at its maximum", r.max}} {
			name := r.name + ", " + x.label
			switch {
			case x.m == nil:
				fmt.Fprintf(w, "%-52s n/a (no fixed rate)\n", name)
			case x.m.err != nil:
				fmt.Fprintf(w, "%-52s failed: %v\n", name, x.m.err)
			default:
				fmt.Fprintf(w, "%-52s %9d %9.0f %7d %7.2f %9.1f %8.1f  %s\n", name, x.m.requests, x.m.rate(d),
					x.m.errors, x.m.cpu.Seconds(), x.m.cpuPerReq(), x.m.rssMB(), x.m.note)
			}
		}
	}
}

// writeTable prints issue 12's table, in Markdown for the README.
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
			if r.fixed.err != nil {
				fixed = "failed"
			}
		}
		if r.max != nil && r.max.err == nil {
			maxRate = fmt.Sprintf("%s, %s", kilo(r.max.rate(d)), num(r.max.cpuPerReq(), 1))
		}
		rss := mb(r.fixed.rssMB()) + ", " + mb(r.max.rssMB())
		fmt.Fprintf(w, "| %s | %s | %s | %s |\n", r.name, fixed, maxRate, rss)
	}
}

// writeRatios prints, for each loadgen row, the ratios that issue 12's goals name.
func writeRatios(w io.Writer, rows []row, rate int, d time.Duration) {
	other := map[string]*row{}
	for i := range rows {
		if rows[i].kind != "loadgen" {
			other[rows[i].kind] = &rows[i]
		}
	}
	fixedOf := func(kind string) *measure {
		if r := other[kind]; r != nil {
			return r.fixed
		}
		return nil
	}
	maxOf := func(kind string) *measure {
		if r := other[kind]; r != nil {
			return r.max
		}
		return nil
	}
	for _, r := range rows {
		if r.kind != "loadgen" || r.skip != "" {
			continue
		}
		fmt.Fprintf(w, "%s:\n", r.name)
		line := func(what, value, goal string) {
			fmt.Fprintf(w, "  %-48s %9s   (%s)\n", what, value, goal)
		}
		line(fmt.Sprintf("CPU per request / vegeta's at %d/s", rate), num(r.fixed.cpuPerReq()/fixedOf("vegeta").cpuPerReq(), 2), "goal ≤ 0.5")
		line("CPU per request / vegeta's at the maximum", num(r.max.cpuPerReq()/maxOf("vegeta").cpuPerReq(), 2), "goal ≤ 0.5")
		line("CPU per request / bombardier's at the maximum", num(r.max.cpuPerReq()/maxOf("bombardier").cpuPerReq(), 2), "goal ≤ 1.2")
		line("maximum rate / vegeta's", num(r.max.rate(d)/maxOf("vegeta").rate(d), 2), "goal ≥ 2")
		line(fmt.Sprintf("peak RSS at %d/s − vegeta's", rate), signedMB(r.fixed.rssMB()-fixedOf("vegeta").rssMB()), "goal ≤ +10 MB")
		line("CPU per request / wrk's at the maximum", num(r.max.cpuPerReq()/maxOf("wrk").cpuPerReq(), 2), "moonshot ≤ 2")
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
