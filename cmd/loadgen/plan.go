package main

import (
	"fmt"
	"io"
	"math"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/trendtactics/loadlab/loadgen"
	"github.com/trendtactics/loadlab/reports"
	"github.com/trendtactics/loadlab/scenarios"
)

// exampleCapacity stands for the capacity in a dry run's plan, which measures nothing.
const exampleCapacity = 100

// writePlan prints what a run of spec would do, without doing any of it.
func writePlan(w io.Writer, spec *scenarios.Spec, base string) {
	fmt.Fprintf(w, "scenario  %s\n", spec.Name)
	if spec.Description != "" {
		fmt.Fprintf(w, "          %s\n", spec.Description)
	}
	fmt.Fprintf(w, "target    %s\n", describeTarget(spec, base))
	if c := spec.Capacity; c != nil {
		fmt.Fprintf(w, "capacity  measured first: %s → %s/s over %s, until three seconds in a row are saturated under %s; then %s of rest\n",
			num(c.From), num(c.To), dur(c.Duration), c, dur(c.Cooldown))
		fmt.Fprintf(w, "          (below, rates relative to the capacity are shown for an example capacity of %s/s)\n", num(exampleCapacity))
		spec = spec.WithCapacity(exampleCapacity)
	}
	p := loadgen.Plan(spec)
	switch {
	case p.VUs > 0:
		fmt.Fprintf(w, "executor  %s: %d VUs for %s (closed model: requests are not planned)\n", p.Executor, p.VUs, dur(p.Duration))
	default:
		fmt.Fprintf(w, "executor  %s, at most %d in flight\n", p.Executor, p.MaxInFlight)
	}

	tbase := base
	if lab := spec.Target.Lab; tbase == "" && lab != nil && lab.TLS {
		tbase = "https://127.0.0.1" // the lab's edge serves https: auto sends by net/http
	}
	if ts, err := loadgen.Transports(spec, tbase, ""); err == nil {
		fmt.Fprintf(w, "transport %s\n", describeTransports(spec.Transport, ts))
	}
	if b := loadgen.DescribeBrowser(spec); b != "" {
		fmt.Fprintf(w, "browser   %s\n", b)
	}

	if len(p.Stages) > 0 && p.VUs == 0 {
		fmt.Fprintln(w, "\nstages (iterations per second)")
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "  #\tstart\tduration\trate\titerations")
		for i, s := range p.Stages {
			rate := num(s.From)
			if s.From != s.To {
				rate += " → " + num(s.To)
			}
			fmt.Fprintf(tw, "  %d\t%s\t%s\t%s/s\t%d\n", i+1, dur(s.Start), dur(s.Duration), rate, s.Iterations)
		}
		tw.Flush()
		fmt.Fprintf(w, "\nexpected  %d iterations, %s requests (%s per iteration) over %s\n",
			p.Iterations, num(p.Requests), num(p.StepsPerIt), dur(p.Duration))
	}

	fmt.Fprintln(w, "\nfaults")
	if len(spec.Faults) == 0 {
		fmt.Fprintln(w, "  none")
	}
	faults := append([]*scenarios.Fault(nil), spec.Faults...)
	sort.SliceStable(faults, func(i, j int) bool { return faults[i].At < faults[j].At })
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, f := range faults {
		fmt.Fprintf(tw, "  %s → %s\t%s\t%s\t%s\n", dur(f.At), dur(f.At+f.Duration), f.Name, f.Kind+" on "+f.Target, params(f.Params))
	}
	tw.Flush()

	if len(spec.Windows) > 0 {
		fmt.Fprintln(w, "\nwindows (measured like a fault's, nothing injected)")
		windows := append([]*scenarios.Window(nil), spec.Windows...)
		sort.SliceStable(windows, func(i, j int) bool { return windows[i].At < windows[j].At })
		tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		for _, win := range windows {
			fmt.Fprintf(tw, "  %s → %s\t%s\n", dur(win.At), dur(win.End()), win.Name)
		}
		tw.Flush()
	}

	fmt.Fprintln(w, "\nthresholds")
	if len(spec.Thresholds) == 0 {
		fmt.Fprintln(w, "  none")
	}
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, th := range spec.Thresholds {
		expr := strings.TrimSpace(strings.TrimPrefix(reports.Expression(th), reports.MetricName(th)))
		line := fmt.Sprintf("  %s\t%s", reports.MetricName(th), expr)
		if th.AbortOnFail {
			line += "\tabortOnFail"
			if th.DelayAbortEval > 0 {
				line += " after " + dur(th.DelayAbortEval)
			}
		}
		fmt.Fprintln(tw, line)
	}
	tw.Flush()
	fmt.Fprintln(w, "\ndry run: nothing was started")
}

func describeTarget(spec *scenarios.Spec, base string) string {
	if base != "" {
		return base
	}
	if lab := spec.Target.Lab; lab != nil {
		d := fmt.Sprintf("local lab: %d replicas, cache %s, seed %d users %d courses (seed %d)",
			lab.Replicas, lab.Cache, lab.Seed.Users, lab.Seed.Courses, lab.Seed.Seed)
		if lab.TLS {
			d += ", https with a throwaway CA"
		}
		return d
	}
	return "none"
}

// describeTransports says which client sends which request: "auto: fast for a, b; nethttp
// for c (a page request)".
func describeTransports(mode string, ts []loadgen.TransportChoice) string {
	if mode == "" {
		mode = scenarios.TransportAuto
	}
	var fast, slow []string
	for _, t := range ts {
		if t.Transport == "fast" {
			fast = append(fast, t.Request)
		} else if t.Why != "" {
			slow = append(slow, t.Request+" ("+t.Why+")")
		} else {
			slow = append(slow, t.Request)
		}
	}
	var parts []string
	if len(fast) > 0 {
		parts = append(parts, "fast for "+strings.Join(fast, ", "))
	}
	if len(slow) > 0 {
		parts = append(parts, "nethttp for "+strings.Join(slow, ", "))
	}
	return mode + ": " + strings.Join(parts, "; ")
}

func params(m map[string]string) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + "=" + m[k]
	}
	return strings.Join(parts, " ")
}

// dur prints a duration the way a scenario writes it: 20s, 1m30s, 500ms, 0s.
func dur(d time.Duration) string {
	if d == 0 {
		return "0s"
	}
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// num prints a number without needless decimals: 200, 2.5, 0.333.
func num(f float64) string {
	return strconv.FormatFloat(math.Round(f*1000)/1000, 'f', -1, 64)
}
