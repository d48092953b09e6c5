package reports_test

import (
	"bytes"
	"strings"
	"testing"

	"github.com/trendtactics/loadlab/reports"
	"github.com/trendtactics/loadlab/result"
)

func TestParseAllowances(t *testing.T) {
	def := reports.DefaultAllowances()
	got, err := reports.ParseAllowances("p99=25%, errors=+0.05%,throughput=-5%,max=+20ms,p50=off,p90=1s", def)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]reports.Allowance{
		"p50":        {Off: true},
		"p90":        {Value: 1000},
		"p95":        def.ByMetric["p95"],
		"p99":        {Relative: true, Value: 0.25},
		"max":        {Value: 20},
		"errors":     {Value: 0.0005},
		"throughput": {Relative: true, Value: 0.05},
	}
	for m, w := range want {
		if g := got.ByMetric[m]; g != w {
			t.Errorf("%s: got %+v, want %+v", m, g, w)
		}
	}
	if def.ByMetric["p99"].Value != 0.10 {
		t.Error("ParseAllowances changed its base")
	}

	for _, tc := range []struct{ in, want string }{
		{"p99", `"p99": want METRIC=VALUE`},
		{"p98=10%", `unknown metric "p98"`},
		{"p99=-10%", "a latency allowance is how much it may grow"},
		{"p99=ten%", `"ten" is not a non-negative number`},
		{"p99=fast", "want a percentage (10%), a duration (+20ms) or off"},
		{"errors=0.05", "want the percentage points the error rate may grow by"},
		{"errors=-1%", "want the percentage points"},
		{"throughput=+5%", "want the relative drop"},
		{"throughput=-150%", "a drop of more than 100% means nothing"},
	} {
		_, err := reports.ParseAllowances(tc.in, def)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: got %v, want %q", tc.in, err, tc.want)
		}
	}
	// Every problem at once.
	_, err = reports.ParseAllowances("p98=1%,errors=1", def)
	if err == nil || !strings.Contains(err.Error(), "p98") || !strings.Contains(err.Error(), "errors=1") {
		t.Errorf("want both problems, got %v", err)
	}
}

// copyResult returns a deep enough copy of res for editing request figures.
func copyResult(res *result.Result) *result.Result {
	c := *res
	c.Requests = nil
	for _, st := range res.Requests {
		s := *st
		c.Requests = append(c.Requests, &s)
	}
	t := *res.Total
	c.Total = &t
	return &c
}

func find(c *reports.Comparison, req, metric string) reports.Delta {
	for _, d := range c.Deltas {
		if d.Request == req && d.Metric == metric {
			return d
		}
	}
	return reports.Delta{}
}

func TestCompare(t *testing.T) {
	base := evaluated(t)
	allow := reports.DefaultAllowances()

	same := reports.Compare(base, copyResult(base), allow)
	if n := same.Regressions(); n != 0 {
		t.Errorf("equal results: %d regressions", n)
	}
	if len(same.Deltas) != 3*7 {
		t.Errorf("%d deltas, want 21 (2 requests and total, 7 figures)", len(same.Deltas))
	}

	next := copyResult(base)
	next.Requests[0].Latency.P99 *= 2       // catalog 50 → 100 ms: beyond +10%
	next.Requests[1].Latency.P50 *= 1.09    // enroll 75 → 81.75 ms: within +10%
	next.Requests[1].Latency.Max *= 10      // max is off by default
	next.Requests[0].Errors = 5 + 1         // 10% → 12%: beyond +0.1 pp
	next.Total.Rate = base.Total.Rate * 0.9 // throughput −10%: beyond −5%
	next.Requests[1].Name = "enroll-v2"     // only in new; enroll only in base
	c := reports.Compare(base, next, allow)
	for _, tc := range []struct {
		req, metric string
		regressed   bool
	}{
		{"catalog", "p99", true},
		{"catalog", "p50", false},
		{"catalog", "errors", true},
		{"total", "throughput", true},
		{"total", "p99", false},
	} {
		if d := find(c, tc.req, tc.metric); d.Regressed != tc.regressed || d.Metric == "" {
			t.Errorf("%s %s: %+v, want regressed=%v", tc.req, tc.metric, d, tc.regressed)
		}
	}
	if c.Regressions() != 3 {
		t.Errorf("%d regressions, want 3", c.Regressions())
	}
	if strings.Join(c.OnlyInBase, ",") != "enroll" || strings.Join(c.OnlyInNew, ",") != "enroll-v2" {
		t.Errorf("only in base %v, only in new %v", c.OnlyInBase, c.OnlyInNew)
	}

	// Within a looser allowance; an absolute allowance; the latency floor.
	loose, err := reports.ParseAllowances("p99=+60ms,errors=+5%,throughput=-20%", allow)
	if err != nil {
		t.Fatal(err)
	}
	if n := reports.Compare(base, next, loose).Regressions(); n != 0 {
		t.Errorf("loose allowances: %d regressions, want 0", n)
	}
	fast := copyResult(base)
	fast.Requests[0].Latency.P99 = 0.4
	slower := copyResult(fast)
	slower.Requests[0].Latency.P99 = 0.9 // +125%, but by less than a 1 ms floor
	if d := find(reports.Compare(fast, slower, allow), "catalog", "p99"); !d.Regressed {
		t.Errorf("growth of 125%% judged within by default (the floor is off unless asked): %+v", d)
	}
	allow.LatencyFloorMS = 1 // --latency-floor 1ms
	if d := find(reports.Compare(fast, slower, allow), "catalog", "p99"); d.Regressed {
		t.Errorf("growth under the latency floor judged a regression: %+v", d)
	}
	allow.LatencyFloorMS = 0
	if d := find(reports.Compare(fast, slower, allow), "catalog", "p99"); !d.Regressed {
		t.Errorf("growth of 125%% without a floor not judged a regression: %+v", d)
	}

	// A request without responses is not judged.
	empty := copyResult(base)
	empty.Requests[0].Count, empty.Requests[0].Errors = 0, 0
	if d := find(reports.Compare(base, empty, reports.DefaultAllowances()), "catalog", "p99"); !d.NoData || d.Regressed {
		t.Errorf("request without responses: %+v", d)
	}
}

func TestWriteComparison(t *testing.T) {
	base := evaluated(t)
	next := copyResult(base)
	next.Requests[0].Latency.P99 *= 2
	next.Requests[0].Errors = 6
	next.Requests[1].Name = "enroll-v2"
	next.Verdict = reports.Invalid
	c := reports.Compare(base, next, reports.DefaultAllowances())
	var text, md bytes.Buffer
	if err := reports.WriteComparison(&text, c); err != nil {
		t.Fatal(err)
	}
	golden(t, "TestWriteComparison.txt", text.Bytes())
	if err := reports.WriteComparisonMarkdown(&md, c); err != nil {
		t.Fatal(err)
	}
	golden(t, "TestWriteComparison.md", md.Bytes())
}
