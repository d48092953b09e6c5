package reports

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/trendtactics/loadlab/result"
)

// Compared figures of a request, in the order they are listed.
var compareMetrics = []string{"p50", "p90", "p95", "p99", "max", "errors", "throughput"}

// Allowance is how much one figure may get worse from a base run to a new one.
//
//	latency (p50 p90 p95 p99 max)  may grow by Value: relative (0.1 = 10 % of the base) or absolute ms
//	errors                         the error rate may grow by Value percentage points ÷ 100 (absolute; 0.0005 = 0.05 %)
//	throughput                     the response rate may drop by Value, relative (0.05 = 5 %)
type Allowance struct {
	Relative bool    // Value is a fraction of the base figure; else an absolute amount
	Value    float64 // always ≥ 0
	Off      bool    // the figure is listed but never a regression
}

// string renders an allowance as --allow takes it: "+10%", "+20ms", "+0.05%", "-5%", "off".
func (a Allowance) string(metric string) string {
	switch {
	case a.Off:
		return "off"
	case metric == "throughput":
		return "-" + trimFloat(a.Value*100) + "%"
	case metric == "errors":
		return "+" + trimFloat(a.Value*100) + "%"
	case a.Relative:
		return "+" + trimFloat(a.Value*100) + "%"
	}
	return "+" + trimFloat(a.Value) + "ms"
}

// Allowances are the allowed regressions of a comparison, by figure.
type Allowances struct {
	// ByMetric holds one allowance for each of p50, p90, p95, p99, max, errors, throughput.
	ByMetric map[string]Allowance
	// LatencyFloorMS: a latency that grows by less than this many ms is never a regression,
	// whatever the relative allowance says. 0 (the default) turns it off: a comparison with
	// repetitions tells noise from change without it.
	LatencyFloorMS float64
}

// DefaultAllowances are the allowances of `loadgen compare` without --allow:
// p50, p90, p95 and p99 may grow by 10 %, max is not judged (one slow request moves it),
// the error rate may grow by 0.1 percentage points, throughput may drop by 5 %. There is
// no latency floor: set LatencyFloorMS (--latency-floor) to ignore small absolute growth.
func DefaultAllowances() Allowances {
	return Allowances{
		ByMetric: map[string]Allowance{
			"p50":        {Relative: true, Value: 0.10},
			"p90":        {Relative: true, Value: 0.10},
			"p95":        {Relative: true, Value: 0.10},
			"p99":        {Relative: true, Value: 0.10},
			"max":        {Off: true},
			"errors":     {Value: 0.001},
			"throughput": {Relative: true, Value: 0.05},
		},
	}
}

// ParseAllowances applies a comma-separated list of METRIC=VALUE to a copy of base:
//
//	p50 p90 p95 p99 max   N% (relative growth), +Nms or a Go duration like 20ms (absolute growth), off
//	errors                +N% or N%: percentage points the error rate may grow by; off
//	throughput            -N% or N%: relative drop; off
//
// For example "p99=10%,errors=+0.05%,throughput=-5%". It reports every bad entry at once.
func ParseAllowances(s string, base Allowances) (Allowances, error) {
	out := Allowances{ByMetric: map[string]Allowance{}, LatencyFloorMS: base.LatencyFloorMS}
	for k, v := range base.ByMetric {
		out.ByMetric[k] = v
	}
	var errs []error
	for _, item := range strings.Split(s, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		metric, value, ok := strings.Cut(item, "=")
		metric, value = strings.ToLower(strings.TrimSpace(metric)), strings.TrimSpace(value)
		if !ok || value == "" {
			errs = append(errs, fmt.Errorf("%q: want METRIC=VALUE, for example p99=10%%", item))
			continue
		}
		a, err := parseAllowance(metric, value)
		if err != nil {
			errs = append(errs, fmt.Errorf("%q: %w", item, err))
			continue
		}
		out.ByMetric[metric] = a
	}
	if len(errs) > 0 {
		return Allowances{}, fmt.Errorf("allowed regressions: %w", errors.Join(errs...))
	}
	return out, nil
}

func parseAllowance(metric, value string) (Allowance, error) {
	if value == "off" {
		return Allowance{Off: true}, nil
	}
	switch metric {
	case "p50", "p90", "p95", "p99", "max":
		if strings.HasPrefix(value, "-") {
			return Allowance{}, errors.New("a latency allowance is how much it may grow: write 10% or +20ms")
		}
		v := strings.TrimPrefix(value, "+")
		if p, ok := strings.CutSuffix(v, "%"); ok {
			f, err := nonNegative(p)
			return Allowance{Relative: true, Value: f / 100}, err
		}
		d, err := time.ParseDuration(v)
		if err != nil || d < 0 {
			return Allowance{}, errors.New("want a percentage (10%), a duration (+20ms) or off")
		}
		return Allowance{Value: float64(d) / float64(time.Millisecond)}, nil
	case "errors":
		v, ok := strings.CutSuffix(strings.TrimPrefix(value, "+"), "%")
		if !ok || strings.HasPrefix(v, "-") {
			return Allowance{}, errors.New("want the percentage points the error rate may grow by (+0.05%) or off")
		}
		f, err := nonNegative(v)
		return Allowance{Value: f / 100}, err
	case "throughput":
		v, ok := strings.CutSuffix(strings.TrimPrefix(value, "-"), "%")
		if !ok || strings.HasPrefix(v, "+") || strings.HasPrefix(v, "-") {
			return Allowance{}, errors.New("want the relative drop throughput may have (-5%) or off")
		}
		f, err := nonNegative(v)
		if err == nil && f > 100 {
			err = errors.New("a drop of more than 100% means nothing")
		}
		return Allowance{Relative: true, Value: f / 100}, err
	}
	return Allowance{}, fmt.Errorf("unknown metric %q (want %s)", metric, strings.Join(compareMetrics, ", "))
}

func nonNegative(s string) (float64, error) {
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || f < 0 || math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, fmt.Errorf("%q is not a non-negative number", s)
	}
	return f, nil
}

// Comparison is the difference between a base result and a new one.
type Comparison struct {
	Base, New  *result.Result
	Allowances Allowances
	// Deltas lists every compared figure: per request present in both (by name), then total.
	Deltas []Delta
	// OnlyInBase and OnlyInNew name the requests present in one result only: listed, never failed.
	OnlyInBase, OnlyInNew []string
}

// Delta is one figure of one request in both results.
type Delta struct {
	Request string // request name, or "total"
	Metric  string // p50, p90, p95, p99, max (ms), errors (a rate 0..1), throughput (responses/s)
	Base    float64
	New     float64
	Allowed string // the allowance, as --allow writes it
	// NoData is set when one side has no responses: the figure is not judged.
	NoData    bool
	Regressed bool
}

// Regressions counts the figures beyond their allowance.
func (c *Comparison) Regressions() int {
	n := 0
	for _, d := range c.Deltas {
		if d.Regressed {
			n++
		}
	}
	return n
}

// Compare compares each request present in both results (by name), and the totals, figure by
// figure, against the allowances. Requests in only one result are listed, not judged.
func Compare(base, next *result.Result, allow Allowances) *Comparison {
	c := &Comparison{Base: base, New: next, Allowances: allow}
	newByName := map[string]*result.RequestStats{}
	for _, st := range next.Requests {
		if st != nil {
			newByName[st.Name] = st
		}
	}
	seen := map[string]bool{}
	for _, b := range base.Requests {
		if b == nil {
			continue
		}
		seen[b.Name] = true
		n, ok := newByName[b.Name]
		if !ok {
			c.OnlyInBase = append(c.OnlyInBase, b.Name)
			continue
		}
		c.Deltas = append(c.Deltas, compareStats(b.Name, b, n, allow)...)
	}
	for _, n := range next.Requests {
		if n != nil && !seen[n.Name] {
			c.OnlyInNew = append(c.OnlyInNew, n.Name)
		}
	}
	if base.Total != nil && next.Total != nil {
		c.Deltas = append(c.Deltas, compareStats("total", base.Total, next.Total, allow)...)
	}
	return c
}

func compareStats(name string, b, n *result.RequestStats, allow Allowances) []Delta {
	out := make([]Delta, 0, len(compareMetrics))
	noData := b.Count == 0 || n.Count == 0
	for _, m := range compareMetrics {
		a, ok := allow.ByMetric[m]
		if !ok {
			a = Allowance{Off: true}
		}
		d := Delta{Request: name, Metric: m, Allowed: a.string(m), NoData: noData}
		switch m {
		case "errors":
			if b.Count > 0 {
				d.Base = float64(b.Errors) / float64(b.Count)
			}
			if n.Count > 0 {
				d.New = float64(n.Errors) / float64(n.Count)
			}
			d.Regressed = !a.Off && !noData && d.New-d.Base > a.Value+1e-12
		case "throughput":
			d.Base, d.New = b.Rate, n.Rate
			d.NoData = b.Rate <= 0
			d.Regressed = !a.Off && !d.NoData && d.New < d.Base*(1-a.Value)-1e-9
		default:
			d.Base, d.New = latencyOf(b.Latency, m), latencyOf(n.Latency, m)
			allowed := a.Value
			if a.Relative {
				allowed = d.Base * a.Value
			}
			growth := d.New - d.Base
			d.Regressed = !a.Off && !noData && growth > allowed+1e-9 && growth > allow.LatencyFloorMS
		}
		out = append(out, d)
	}
	return out
}

func latencyOf(s result.Summary, m string) float64 {
	switch m {
	case "p50":
		return s.P50
	case "p90":
		return s.P90
	case "p95":
		return s.P95
	case "p99":
		return s.P99
	case "max":
		return s.Max
	}
	return 0
}

// cells renders the base, new and change of a delta.
func (d Delta) cells() (base, next, change string) {
	switch d.Metric {
	case "errors":
		base, next = percent(d.Base), percent(d.New)
		pp := (d.New - d.Base) * 100
		change = signed(pp, 2) + " pp"
	case "throughput":
		base, next = strconv.FormatFloat(d.Base, 'f', 1, 64)+"/s", strconv.FormatFloat(d.New, 'f', 1, 64)+"/s"
		change = relChange(d.Base, d.New)
	default:
		base, next = ms(d.Base)+"ms", ms(d.New)+"ms"
		change = relChange(d.Base, d.New)
	}
	if d.NoData {
		change = "no data"
	}
	return base, next, change
}

func relChange(b, n float64) string {
	if b == 0 {
		if n == 0 {
			return "0%"
		}
		return "new"
	}
	return signed((n-b)/b*100, 1) + "%"
}

func signed(v float64, digits int) string {
	s := strconv.FormatFloat(v, 'f', digits, 64)
	if s == strconv.FormatFloat(0, 'f', digits, 64) || s == "-"+strconv.FormatFloat(0, 'f', digits, 64) {
		return "±" + strconv.FormatFloat(0, 'f', digits, 64)
	}
	if v > 0 {
		return "+" + s
	}
	return s
}

func (d Delta) mark() string {
	switch {
	case d.Regressed:
		return "✗ regression"
	case d.NoData || d.Allowed == "off":
		return "–"
	}
	return "✓"
}

func trimFloat(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }

// Summary is the comparison's last line: "compare: OK (28 figures within their allowance)"
// or "compare: REGRESSION (2 of 28 figures beyond their allowance)".
func (c *Comparison) Summary() string { return "compare: " + c.judgement() }

// judgement is the comparison's outcome: "OK (28 figures within their allowance)".
func (c *Comparison) judgement() string {
	judged := 0
	for _, d := range c.Deltas {
		if !d.NoData && d.Allowed != "off" {
			judged++
		}
	}
	if n := c.Regressions(); n > 0 {
		return fmt.Sprintf("REGRESSION (%d of %d figures beyond their allowance)", n, judged)
	}
	return fmt.Sprintf("OK (%d figures within their allowance)", judged)
}

func runLabel(r *result.Result) string {
	s := r.Scenario
	if !r.Start.IsZero() {
		s += " " + r.Start.UTC().Format("2006-01-02T15:04:05Z")
	}
	if r.Verdict != "" {
		s += " " + r.Verdict
	}
	return s
}

// notes are warnings about what the comparison compares.
func (c *Comparison) notes() []string {
	var out []string
	if c.Base.Scenario != c.New.Scenario {
		out = append(out, fmt.Sprintf("the results are of different scenarios (%s, %s)", c.Base.Scenario, c.New.Scenario))
	}
	for _, r := range []struct {
		which string
		res   *result.Result
	}{{"base", c.Base}, {"new", c.New}} {
		switch r.res.Verdict {
		case Invalid:
			out = append(out, fmt.Sprintf("the %s run is INVALID: the generator could not hold its schedule, its figures cannot be trusted", r.which))
		case Interrupted:
			out = append(out, fmt.Sprintf("the %s run was interrupted", r.which))
		}
	}
	return out
}

// WriteComparison writes the comparison as a text table: one row per request and figure
// with base, new, change, allowance and mark, the requests present in only one result,
// and the summary line.
func WriteComparison(w io.Writer, c *Comparison) error {
	bw := bufio.NewWriter(w)
	fmt.Fprintf(bw, "base  %s\nnew   %s\n", runLabel(c.Base), runLabel(c.New))
	fmt.Fprint(bw, "latency in ms from the intended send time")
	if c.Allowances.LatencyFloorMS > 0 {
		fmt.Fprintf(bw, "; latency growth under %sms is never a regression", trimFloat(c.Allowances.LatencyFloorMS))
	}
	fmt.Fprint(bw, "\n\n")
	tw := tabwriter.NewWriter(bw, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "request\tmetric\tbase\tnew\tchange\tallowed\t\t")
	prev := ""
	for _, d := range c.Deltas {
		name := d.Request
		if name == prev {
			name = ""
		}
		prev = d.Request
		b, n, ch := d.cells()
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t\n", name, d.Metric, b, n, ch, d.Allowed, d.mark())
	}
	tw.Flush()
	if len(c.OnlyInBase) > 0 {
		fmt.Fprintf(bw, "\nonly in base (not compared): %s\n", strings.Join(c.OnlyInBase, ", "))
	}
	if len(c.OnlyInNew) > 0 {
		fmt.Fprintf(bw, "\nonly in new (not compared): %s\n", strings.Join(c.OnlyInNew, ", "))
	}
	for _, n := range c.notes() {
		fmt.Fprintf(bw, "\nnote: %s\n", n)
	}
	fmt.Fprintf(bw, "\n%s\n", c.Summary())
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("write comparison: %w", err)
	}
	return nil
}

// WriteComparisonMarkdown writes the comparison as Markdown for a CI job summary:
// the summary, then a table of the regressions and one of every figure.
func WriteComparisonMarkdown(w io.Writer, c *Comparison) error {
	bw := bufio.NewWriter(w)
	emoji := "✅"
	if c.Regressions() > 0 {
		emoji = "❌"
	}
	fmt.Fprintf(bw, "## %s %s\n\n", emoji, mdText(c.judgement()))
	fmt.Fprintf(bw, "base: %s · new: %s\n", mdText(runLabel(c.Base)), mdText(runLabel(c.New)))
	for _, n := range c.notes() {
		fmt.Fprintf(bw, "\n**Note:** %s\n", mdText(n))
	}
	if len(c.OnlyInBase) > 0 || len(c.OnlyInNew) > 0 {
		fmt.Fprintln(bw)
		if len(c.OnlyInBase) > 0 {
			fmt.Fprintf(bw, "Only in base (not compared): %s  \n", mdList(c.OnlyInBase))
		}
		if len(c.OnlyInNew) > 0 {
			fmt.Fprintf(bw, "Only in new (not compared): %s\n", mdList(c.OnlyInNew))
		}
	}
	fmt.Fprint(bw, "\n| request | metric | base | new | change | allowed | |\n|---|---|--:|--:|--:|--:|---|\n")
	for _, d := range c.Deltas {
		b, n, ch := d.cells()
		mark := d.mark()
		if d.Regressed {
			mark = "❌ regression"
		} else if mark == "✓" {
			mark = "✅"
		}
		fmt.Fprintf(bw, "| %s | %s | %s | %s | %s | %s | %s |\n", mdCode(d.Request), d.Metric, b, n, ch, mdText(d.Allowed), mark)
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("write comparison: %w", err)
	}
	return nil
}

func mdList(names []string) string {
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = mdCode(n)
	}
	return strings.Join(out, ", ")
}
