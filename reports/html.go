package reports

import (
	"bufio"
	_ "embed"
	"fmt"
	"html/template"
	"io"
	"math"
	"strconv"
	"strings"

	"github.com/trendtactics/loadlab/result"
)

// The HTML report inlines uPlot (MIT, see assets/README.md), its own script and styles,
// and the result's timeline as JSON: it opens in a browser with no network at all.
var (
	//go:embed assets/uPlot.iife.min.js
	uplotJS string
	//go:embed assets/uPlot.min.css
	uplotCSS string
	//go:embed assets/uPlot.LICENSE
	uplotLicense string
	//go:embed assets/report.js
	reportJS string
	//go:embed assets/report.css
	reportCSS string
)

// htmlTemplate is parsed once per WriteHTML call: a package-level parsed template would
// be global state built at init.
const htmlTemplate = `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="loadlab">
<title>{{.Headline}} · {{.Scenario}} · loadlab report</title>
<script>
(function () {
  var errs = [];
  window.__loadlabErrors = errs;
  function push(m) {
    errs.push(String(m));
    if (window.__loadlabFlush) window.__loadlabFlush();
  }
  window.addEventListener("error", function (e) {
    if (e.target && e.target !== window && e.target.tagName) {
      push("failed to load " + e.target.tagName.toLowerCase() + " " + (e.target.src || e.target.href || ""));
      return;
    }
    push((e.message || "error") + (e.filename ? " at " + e.filename + ":" + e.lineno : ""));
  }, true);
  window.addEventListener("unhandledrejection", function (e) { push("unhandled rejection: " + e.reason); });
  var ce = console.error;
  console.error = function () {
    push(Array.prototype.slice.call(arguments).join(" "));
    return ce.apply(console, arguments);
  };
})();
</script>
<style>{{.UPlotCSS}}</style>
<style>{{.ReportCSS}}</style>
</head>
<body>
<header>
<h1><span class="badge {{.Badge}}">{{.Headline}}</span>{{.Scenario}}</h1>
<div>{{.VerdictLine}}</div>
<div class="meta">{{if .Path}}scenario <code>{{.Path}}</code> · {{end}}seed {{.Seed}} · duration {{.Duration}}{{if .Started}} · started {{.Started}}{{end}}</div>
{{if .StopReason}}<p class="warn"><strong>Stopped early:</strong> {{.StopReason}}</p>{{end}}
</header>

<h2>Thresholds{{if .Thresholds}} ({{.Passed}} of {{len .Thresholds}} passed){{end}}</h2>
{{if .Thresholds}}<table>
<tr><th></th><th>metric</th><th>threshold</th><th>measured</th></tr>
{{range .Thresholds}}<tr><td class="{{if .Pass}}ok{{else}}bad{{end}}">{{if .Pass}}✓ pass{{else}}✗ fail{{end}}</td><td><code>{{.Metric}}</code></td><td><code>{{.Source}}</code></td><td class="num">{{.Measured}}{{if .Aborted}} <span class="bad">(aborted the run)</span>{{end}}</td></tr>
{{end}}</table>{{else}}<p class="note">none</p>{{end}}

<h2>Over time</h2>
<p class="note">One point per second. Shaded: fault windows.{{if not .HasTimeline}} This result has no timeline.{{end}}</p>
<noscript><p class="warn">The charts need JavaScript (inlined in this file; nothing is fetched).</p></noscript>
<div id="chart-latency" class="chart"></div>
<div id="chart-throughput" class="chart"></div>
<div id="chart-requests-sent" class="chart"></div>
<div id="chart-errors" class="chart"></div>
{{if .Data.Requests}}<div id="chart-requests" class="chart"></div>{{end}}
{{if .Data.Capacity}}<h2>Capacity ramp</h2>
<p class="note">Before the load: offered and answered per second of the ramp, and the objective's percentile of the admitted latency (right axis). The capacity is the best goodput over three seconds in a row that kept the objective.</p>
<div id="chart-capacity" class="chart"></div>{{end}}

<h2>Requests</h2>
<p class="note">Latency from the intended send time (corrected for coordinated omission); service time from the actual send. Milliseconds.</p>
<table>
<tr><th>request</th><th>count</th><th>rate/s</th><th>errors</th><th>checks failed</th><th>p50</th><th>p90</th><th>p95</th><th>p99</th><th>max</th><th>service p99</th><th>statuses</th></tr>
{{range .Requests}}<tr{{if .Total}} class="total"{{end}}><td>{{if .Total}}total{{else}}<code>{{.Name}}</code>{{end}}</td><td class="num">{{.Count}}</td><td class="num">{{.Rate}}</td><td class="num">{{.Errors}}</td><td class="num">{{.Checks}}</td><td class="num">{{.P50}}</td><td class="num">{{.P90}}</td><td class="num">{{.P95}}</td><td class="num">{{.P99}}</td><td class="num">{{.Max}}</td><td class="num">{{.SvcP99}}</td><td>{{.Statuses}}</td></tr>
{{end}}</table>

{{with .Browser}}<h2>Browser</h2>
<p>{{.Summary}}</p>
<p class="note">{{.Note}}</p>
<table>
<tr><th>request</th><th>navigations</th>{{range .Columns}}<th>{{.}}</th>{{end}}<th>JS errors</th><th>failed subresources</th></tr>
{{range .Rows}}<tr><td><code>{{.Name}}</code></td><td class="num">{{.Navigations}}</td>{{range .Figures}}<td class="num">{{.}}</td>{{end}}<td class="num">{{.JSErrors}}</td><td class="num">{{.FailedResources}}</td></tr>
{{end}}</table>
{{end}}{{if .Windows}}<h2>Windows</h2>
<table>
<tr><th>window</th><th>when</th><th>count</th><th>errors</th><th>p50</th><th>p99</th><th>max</th></tr>
{{range .Windows}}<tr><td><code>{{.Name}}</code></td><td class="num">{{.When}}</td><td class="num">{{.Count}}</td><td class="num">{{.Errors}}</td><td class="num">{{.P50}}</td><td class="num">{{.P99}}</td><td class="num">{{.Max}}</td></tr>
{{end}}</table>{{end}}

{{if .Faults}}<h2>Faults and recovery</h2>
<p class="note">Recovery: from the fault's end until the rolling p99 and error rate were back within their thresholds.</p>
<table>
<tr><th>fault</th><th>kind</th><th>target</th><th>from</th><th>to</th><th>recovery</th></tr>
{{range .Faults}}<tr><td><code>{{.Name}}</code></td><td><code>{{.Kind}}</code></td><td><code>{{.Target}}</code></td><td class="num">{{.From}}</td><td class="num">{{.To}}</td><td class="{{.Class}}">{{.Recovery}}</td></tr>
{{end}}</table>{{end}}{{with .Verification}}<h2>Verification</h2>
<p class="note">{{.Writes}}; state read from the {{.Source}}.</p>
{{if .Error}}<p class="bad">{{.Error}}</p>
{{end}}{{if .Checks}}<table>
<tr><th></th><th>check</th><th>figures</th><th>detail</th></tr>
{{range .Checks}}<tr><td class="{{if .Pass}}ok{{else}}bad{{end}}">{{if .Pass}}✓ pass{{else}}✗ fail{{end}}</td><td><code>{{.Name}}</code></td><td>{{.Figures}}</td><td>{{.Detail}}{{range .Samples}}<br><code>{{.}}</code>{{end}}</td></tr>
{{end}}</table>
{{end}}{{end}}

<h2>Generator</h2>
<table>
{{range .Generator}}<tr><th>{{.Name}}</th><td{{if .Class}} class="{{.Class}}"{{end}}>{{.Value}}</td></tr>
{{end}}</table>

<h2>Game-day journal</h2>
<table>
{{range .Journal}}<tr><td class="num">{{.Time}}</td><td>{{.Text}}</td></tr>
{{end}}</table>

<details><summary>About this report</summary>
<p>Written by loadlab from a result of schema <code>{{.Schema}}</code>. Charts drawn with uPlot 1.6.32, inlined under its license:</p>
<pre>{{.License}}</pre>
</details>

<script>window.LOADLAB = {{.Data}};</script>
<script>{{.UPlotJS}}</script>
<script>{{.ReportJS}}</script>
</body>
</html>
`

type htmlPage struct {
	Scenario, Path, Schema, Headline, VerdictLine string
	Badge                                         string // the badge's class: the verdict, or none
	Seed                                          int64
	Duration, Started, StopReason                 string
	Passed                                        int
	Thresholds                                    []htmlThreshold
	Verification                                  *htmlVerification // nil without a verification
	Requests                                      []htmlRequest
	Browser                                       *htmlBrowser // nil without browser requests
	Windows                                       []htmlWindow
	Faults                                        []htmlFault
	Generator                                     []htmlRow
	Journal                                       []htmlJournal
	HasTimeline                                   bool
	Data                                          htmlData
	License                                       string
	UPlotJS, ReportJS                             template.JS
	UPlotCSS, ReportCSS                           template.CSS
}

type htmlThreshold struct {
	Pass, Aborted            bool
	Metric, Source, Measured string
}

type htmlRequest struct {
	Name                                                            string
	Total                                                           bool
	Count                                                           uint64
	Rate, Errors, Checks, P50, P90, P95, P99, Max, SvcP99, Statuses string
}

// htmlBrowser is the browser section: the pool's line and a row per request name.
type htmlBrowser struct {
	Summary, Note string
	Columns       []string
	Rows          []browserRow
}

type htmlWindow struct {
	Name, When    string
	Count         uint64
	Errors        string
	P50, P99, Max string
}

type htmlFault struct {
	Name, Kind, Target, From, To, Recovery, Class string
}

type htmlRow struct{ Name, Value, Class string }

// htmlData is the timeline for the charts, as columns (uPlot's layout): one entry per
// second; latencies are null in seconds without responses.
type htmlData struct {
	T   []int      `json:"t"`
	P50 []*float64 `json:"p50"`
	P90 []*float64 `json:"p90"`
	P99 []*float64 `json:"p99"`
	// Iterations are planned against sent iterations; Answers are requests sent against
	// responses: each chart plots one unit.
	Iterations htmlRates       `json:"iterations"`
	Answers    htmlRates       `json:"answers"`
	Errors     []uint64        `json:"errors"`
	ErrorPct   []*float64      `json:"errorPct"`
	Requests   []htmlSeries    `json:"requests"`
	Faults     []htmlFaultSpan `json:"faults"`
	// Capacity is the capacity ramp, second by second (nil without capacity:).
	Capacity *htmlCapacity `json:"capacity,omitempty"`
}

// htmlCapacity is the capacity ramp in columns: offered (planned), good and shed answers,
// errors, and the objective's percentile of the admitted latency; rps is the capacity found.
type htmlCapacity struct {
	T       []int      `json:"t"`
	Planned []uint64   `json:"planned"`
	Good    []uint64   `json:"good"`
	Shed    []uint64   `json:"shed"`
	Errors  []uint64   `json:"errors"`
	P       []*float64 `json:"p"`
	RPS     float64    `json:"rps"`
	Label   string     `json:"label"`
}

// htmlRates is a chart of counts per second, every series in the one unit the y axis names.
type htmlRates struct {
	Title  string     `json:"title"`
	Unit   string     `json:"unit"` // iterations/s, requests/s
	Series []htmlRate `json:"series"`
}

// htmlRate is one series of an htmlRates chart; a planned series is drawn dashed.
type htmlRate struct {
	Label   string   `json:"label"`
	Planned bool     `json:"planned,omitempty"`
	Values  []uint64 `json:"values"`
}

type htmlSeries struct {
	Name string     `json:"name"`
	P99  []*float64 `json:"p99"`
}

type htmlFaultSpan struct {
	Name     string  `json:"name"`
	Start    float64 `json:"start"`
	End      float64 `json:"end"`
	Injected bool    `json:"injected"`
}

// WriteHTML writes res as one self-contained HTML page: the verdict, thresholds with
// measured values, charts over time (latency p50/p90/p99, planned against sent
// iterations, sent requests against responses, errors, p99 per request) with fault
// windows shaded, per-request, browser (browser requests) and window
// tables, faults with recovery times, and the generator's health. uPlot, the page's
// script and styles, and the data are inlined; nothing is fetched. Every value from the
// result is escaped by html/template (the data as JSON inside the script).
//
// Once every chart is drawn the page's body carries data-charts (charts drawn),
// data-charts-expected, and data-errors (a JSON array of script errors and
// console.error messages, [] when none), so a headless browser can check it.
func WriteHTML(w io.Writer, res *result.Result) error {
	tmpl, err := template.New("report").Parse(htmlTemplate)
	if err != nil {
		return fmt.Errorf("write html: %w", err)
	}
	bw := bufio.NewWriterSize(w, 64<<10)
	if err := tmpl.Execute(bw, newHTMLPage(res)); err != nil {
		return fmt.Errorf("write html: %w", err)
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("write html: %w", err)
	}
	return nil
}

func newHTMLPage(res *result.Result) *htmlPage {
	p := &htmlPage{
		Scenario: res.Scenario, Path: res.Path, Schema: res.Schema, Seed: res.Seed,
		Headline:    verdictHeadline(res),
		Badge:       verdictOf(res),
		VerdictLine: verdictSummary(res),
		Duration:    seconds(res.DurationMS / 1000),
		StopReason:  res.StopReason,
		HasTimeline: len(res.Timeline) > 0,
		Data:        htmlTimeline(res),
		License:     uplotLicense,
		UPlotJS:     template.JS(uplotJS),
		ReportJS:    template.JS(reportJS),
		UPlotCSS:    template.CSS(uplotCSS),
		ReportCSS:   template.CSS(reportCSS),
	}
	if unjudged(res) {
		p.Badge = "none"
	}
	if !res.Start.IsZero() {
		p.Started = res.Start.UTC().Format("2006-01-02 15:04:05Z")
	}
	p.Passed = len(res.Thresholds) - thresholdsFailed(res)
	for _, t := range res.Thresholds {
		p.Thresholds = append(p.Thresholds, htmlThreshold{Pass: t.Pass, Aborted: t.Aborted,
			Metric: t.Metric, Source: t.Source, Measured: FormatMeasured(t)})
	}
	rows, total := requestRows(res)
	for i, st := range rows {
		p.Requests = append(p.Requests, htmlRequest{
			Name: st.Name, Total: total && i == len(rows)-1,
			Count: st.Count, Rate: strconv.FormatFloat(st.Rate, 'f', 1, 64), Errors: errorsCell(st), Checks: checksCell(st),
			P50: lat(st, st.Latency.P50), P90: lat(st, st.Latency.P90), P95: lat(st, st.Latency.P95),
			P99: lat(st, st.Latency.P99), Max: lat(st, st.Latency.Max), SvcP99: lat(st, st.ServiceTime.P99),
			Statuses: statusList(st),
		})
	}
	if bs := res.Browser; bs != nil {
		p.Browser = &htmlBrowser{Summary: browserSummary(bs), Note: browserNote, Columns: browserColumns(), Rows: browserRows(bs)}
	}
	for _, win := range res.Windows {
		if win == nil || win.Total == nil {
			continue
		}
		t := win.Total
		p.Windows = append(p.Windows, htmlWindow{Name: win.Name, When: windowSpan(win),
			Count: t.Count, Errors: errorsCell(t), P50: lat(t, t.Latency.P50), P99: lat(t, t.Latency.P99), Max: lat(t, t.Latency.Max)})
	}
	for _, f := range res.Faults {
		hf := htmlFault{Name: f.Name, Kind: f.Kind, Target: f.Target, From: seconds(f.Start), To: seconds(f.End)}
		switch {
		case !f.Injected:
			hf.Recovery, hf.Class = "not injected", "bad"
			if f.Error != "" {
				hf.Recovery += ": " + f.Error
			}
		case f.RecoveryS < 0:
			hf.Recovery, hf.Class = "not recovered before the run ended", "warn"
		default:
			hf.Recovery, hf.Class = seconds(f.RecoveryS), "ok"
		}
		hf.Recovery += restartNote(f)
		p.Faults = append(p.Faults, hf)
	}
	p.Generator = htmlGenerator(res.Generator)
	if c := res.Capacity; c != nil {
		p.Generator = append(p.Generator, htmlRow{Name: "capacity", Value: capacityFigures(c)})
	}
	if l := shedLine(res); l != "" {
		p.Generator = append(p.Generator, htmlRow{Name: "shedding", Value: l})
	}
	p.Verification = newHTMLVerification(res.Verification)
	for _, e := range Journal(res) {
		p.Journal = append(p.Journal, htmlJournal{Time: journalTime(e), Text: e.Text})
	}
	return p
}

// htmlVerification is the verification section: the writes, and one row per check.
type htmlVerification struct {
	Writes, Source, Error string
	Checks                []htmlCheck
}

type htmlCheck struct {
	Pass                  bool
	Name, Figures, Detail string
	Samples               []string
}

func newHTMLVerification(v *result.VerificationResult) *htmlVerification {
	if v == nil {
		return nil
	}
	hv := &htmlVerification{Writes: writesLine(v), Source: v.Source, Error: v.Error}
	for _, c := range v.Checks {
		hv.Checks = append(hv.Checks, htmlCheck{Pass: c.Pass, Name: c.Name, Figures: checkFigures(c), Detail: c.Detail, Samples: c.Samples})
	}
	return hv
}

// htmlJournal is one line of the game-day journal.
type htmlJournal struct{ Time, Text string }

func htmlGenerator(g result.Health) []htmlRow {
	limit := "unbounded"
	if g.InFlightLimit > 0 {
		limit = strconv.Itoa(g.InFlightLimit)
	}
	rows := []htmlRow{
		{Name: "iterations", Value: fmt.Sprintf("planned %d, sent %d, completed %d, dropped %d, cancelled in flight %d", g.Planned, g.Sent, g.Completed, g.Dropped, g.Cancelled)},
		{Name: "send lateness", Value: fmt.Sprintf("p99 %sms, max %sms; the generator's own p99 %sms (bound %sms)", ms(g.LatenessP99MS), ms(g.LatenessMaxMS), ms(g.GeneratorLatenessP99MS), ms(g.LatenessBound))},
		{Name: "in flight", Value: fmt.Sprintf("max %d, limit %s; %d iterations waited for a free worker", g.MaxInFlight, limit, g.PoolFull)},
	}
	if g.Valid {
		rows = append(rows, htmlRow{Name: "valid", Value: "yes: the generator held the schedule", Class: "ok"})
	} else {
		v := "no: the generator could not hold the schedule"
		if len(g.Reasons) > 0 {
			v += " (" + strings.Join(g.Reasons, "; ") + ")"
		}
		rows = append(rows, htmlRow{Name: "valid", Value: v, Class: "bad"})
	}
	return rows
}

// htmlTimeline turns the per-second timeline (all requests, and each request's) into columns.
func htmlTimeline(res *result.Result) htmlData {
	n := len(res.Timeline)
	d := htmlData{
		T: make([]int, n), P50: make([]*float64, n), P90: make([]*float64, n), P99: make([]*float64, n),
		Errors: make([]uint64, n), ErrorPct: make([]*float64, n), Requests: []htmlSeries{}, Faults: []htmlFaultSpan{},
	}
	planned, sent, answered := make([]uint64, n), make([]uint64, n), make([]uint64, n)
	index := make(map[int]int, n)
	for i, pt := range res.Timeline {
		index[pt.T] = i
		d.T[i] = pt.T
		planned[i], sent[i], answered[i], d.Errors[i] = pt.Planned, pt.Sent, pt.Count, pt.Errors
		if pt.Count > 0 {
			d.P50[i], d.P90[i], d.P99[i] = num(pt.P50), num(pt.P90), num(pt.P99)
			d.ErrorPct[i] = num(100 * float64(pt.Errors) / float64(pt.Count))
		}
	}
	d.Iterations = htmlRates{Title: "Throughput: planned against sent iterations", Unit: "iterations/s",
		Series: []htmlRate{{Label: "planned", Planned: true, Values: planned}, {Label: "sent", Values: sent}}}
	// A request's timeline counts the requests of its name sent (a flow's later steps too):
	// their sum is every request sent, the unit of the responses.
	var requestsSent []uint64
	for _, st := range res.Requests {
		if st == nil || len(st.Timeline) == 0 || n == 0 {
			continue
		}
		if requestsSent == nil {
			requestsSent = make([]uint64, n)
		}
		s := htmlSeries{Name: st.Name, P99: make([]*float64, n)}
		for _, pt := range st.Timeline {
			i, ok := index[pt.T]
			if !ok {
				continue
			}
			requestsSent[i] += pt.Sent
			if pt.Count > 0 {
				s.P99[i] = num(pt.P99)
			}
		}
		d.Requests = append(d.Requests, s)
	}
	d.Answers = htmlRates{Title: "Requests: sent against answered", Unit: "requests/s"}
	if requestsSent != nil {
		d.Answers.Series = append(d.Answers.Series, htmlRate{Label: "sent", Values: requestsSent})
	}
	d.Answers.Series = append(d.Answers.Series, htmlRate{Label: "responses", Values: answered})
	for _, f := range res.Faults {
		d.Faults = append(d.Faults, htmlFaultSpan{Name: f.Name, Start: f.Start, End: f.End, Injected: f.Injected})
	}
	if c := res.Capacity; c != nil && len(c.Seconds) > 0 {
		hc := &htmlCapacity{RPS: c.RPS, Label: "p of admitted (" + c.Objective + ")"}
		for _, s := range c.Seconds {
			hc.T = append(hc.T, s.T)
			hc.Planned = append(hc.Planned, s.Planned)
			hc.Good = append(hc.Good, s.Good)
			hc.Shed = append(hc.Shed, s.Shed)
			hc.Errors = append(hc.Errors, s.Answers-min(s.Answers, s.Good+s.Shed))
			var p *float64
			if s.Answers > 0 {
				p = num(s.PMS)
			}
			hc.P = append(hc.P, p)
		}
		d.Capacity = hc
	}
	return d
}

// num rounds v to microseconds (or 1e-3 of a percent) for compact JSON and returns a
// pointer to it.
func num(v float64) *float64 {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return nil
	}
	r, _ := strconv.ParseFloat(strconv.FormatFloat(v, 'f', 3, 64), 64)
	return &r
}
