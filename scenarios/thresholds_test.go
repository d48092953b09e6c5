package scenarios_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/trendtactics/loadlab/scenarios"
)

// loadThreshold loads a minimal scenario with one threshold key and expression.
func loadThreshold(key, expr string) (*scenarios.Spec, error) {
	doc := `version: 1
name: t
target: {lab: {}}
workload:
  - {name: catalog, request: {url: /v1/courses}}
  - name: enroll
    flow: [{name: login, request: {url: /a}}, {request: {url: /b}}]
load: {executor: constant-arrival-rate, rate: 1, duration: 1m}
faults:
  - {name: slow-db, kind: network.delay, target: database, duration: 10s, params: {latency: 10ms}}
thresholds:
  "` + key + `": ["` + expr + `"]
`
	return scenarios.LoadBytes("t.yaml", []byte(doc), "")
}

func TestThresholdParsing(t *testing.T) {
	tests := []struct {
		key, expr string
		agg       string
		pct       float64
		op        string
		value     float64
		tags      string
	}{
		{"latency", "p(99) < 100ms", "p", 99, "<", 0.1, ""},
		{"latency", "p(99.9)<=1.5s", "p", 99.9, "<=", 1.5, ""},
		{"latency", "  p( 50 )  >  0s ", "p", 50, ">", 0, ""},
		{"service_time", "avg < 250us", "avg", 0, "<", 0.00025, ""},
		{"latency", "med != 1m", "med", 0, "!=", 60, ""},
		{"latency{request:enroll}", "max < 2s", "max", 0, "<", 2, "request=enroll"},
		{"latency{request:enroll/2, window:slow-db}", "min >= 1ms", "min", 0, ">=", 0.001, "request=enroll/2 window=slow-db"},
		{"errors", "rate < 0.1%", "rate", 0, "<", 0.001, ""},
		{"errors{window:steady}", "rate < 0.05", "rate", 0, "<", 0.05, "window=steady"},
		{"errors", "count == 0", "count", 0, "==", 0, ""},
		{"checks{request:login}", "rate >= 99%", "rate", 0, ">=", 0.99, "request=login"},
		{"availability", "rate >= 99.99%", "rate", 0, ">=", 0.9999, ""},
		{"throughput", "rate > 100/s", "rate", 0, ">", 100, ""},
		{"throughput", "count >= 5000", "count", 0, ">=", 5000, ""},
	}
	for _, tt := range tests {
		t.Run(tt.key+" "+tt.expr, func(t *testing.T) {
			spec, err := loadThreshold(tt.key, tt.expr)
			if err != nil {
				t.Fatal(err)
			}
			th := spec.Thresholds[0]
			var tags []string
			for _, k := range []string{"request", "window"} {
				if v, ok := th.Tags[k]; ok {
					tags = append(tags, k+"="+v)
				}
			}
			if th.Aggregation != tt.agg || th.Percentile != tt.pct || th.Op != tt.op || th.Value != tt.value ||
				strings.Join(tags, " ") != tt.tags || th.Source != tt.expr || th.Pos.Line != 12 {
				t.Errorf("got %+v", th)
			}
		})
	}
}

func TestThresholdErrors(t *testing.T) {
	tests := []struct{ key, expr, want string }{
		{"latency", "rate < 1%", "aggregation rate does not apply to latency (use p(N), avg, min, max, med)"},
		{"errors", "p(99) < 1%", "aggregation p(N) does not apply to errors (use rate, count)"},
		{"availability", "avg > 1", "aggregation avg does not apply to availability (use rate, count)"},
		{"latency", "p(0) < 1s", `bad percentile "0" in "p(0) < 1s": want p(N) with 0 < N <= 100, like p(99.9)`},
		{"latency", "p99 < 1s", `bad threshold "p99 < 1s": want <aggregation> <op> <value>, like "p(99) < 100ms"`},
		{"latency", "p(99) =< 1s", `bad threshold "p(99) =< 1s": want <aggregation> <op> <value>, like "p(99) < 100ms"`},
		{"latency", "p(99) <", `bad threshold "p(99) <": want <aggregation> <op> <value>, like "p(99) < 100ms"`},
		{"latency", "avgg < 1s", `unknown aggregation "avgg" in "avgg < 1s", want p(N), avg, min, max, med, rate, count or growth, did you mean "avg"?`},
		{"latency", "avg < -1s", `latency threshold "avg < -1s": negative duration`},
		{"errors", "count < -1", `count threshold "count < -1": want a whole number at least 0, got "-1"`},
		{"latency{request:nope}", "avg < 1s", `unknown request "nope": no workload item or step has this name`},
		{"latency{window:slowdb}", "avg < 1s", `unknown window "slowdb", want steady, a fault's or a window's name, did you mean "slow-db"?`},
		{"latency{zone:eu}", "avg < 1s", `unknown tag "zone", want request or window`},
		{"latency{request}", "avg < 1s", `bad tag "request", want tag:value`},
		{"latency{request:enroll,request:login}", "avg < 1s", `duplicate tag "request"`},
		{"latency{}", "avg < 1s", `empty tag list in "latency{}"`},
		{"p99", "avg < 1s", `unknown metric "p99", want one of latency, service_time, admitted_latency, errors, checks, availability, throughput, goodput, shed, uptime, connections, drops, memory, browser_ttfb, browser_dcl, browser_load, browser_fcp, browser_lcp`},
	}
	for _, tt := range tests {
		t.Run(tt.key+" "+tt.expr, func(t *testing.T) {
			_, err := loadThreshold(tt.key, tt.expr)
			es, ok := err.(scenarios.Errors)
			if !ok || len(es) != 1 {
				t.Fatalf("got %v, want one error", err)
			}
			if es[0].Msg != tt.want || es[0].Line != 12 {
				t.Errorf("got  %d: %s\nwant %s", es[0].Line, es[0].Msg, tt.want)
			}
		})
	}
}

func TestThresholdPass(t *testing.T) {
	th := &scenarios.Threshold{Op: "<", Value: 0.1}
	if !th.Pass(0.05) || th.Pass(0.1) {
		t.Error("< wrong")
	}
	for op, want := range map[string][3]bool{"<=": {true, true, false}, ">": {false, false, true}, ">=": {false, true, true}, "==": {false, true, false}, "!=": {true, false, true}} {
		th.Op = op
		for i, v := range []float64{0.05, 0.1, 0.2} {
			if th.Pass(v) != want[i] {
				t.Errorf("%s %v: got %v", op, v, !want[i])
			}
		}
	}
}

// TestMetricsTable loads a threshold for every metric of scenarios.Metrics with every
// aggregation any metric has, and with each tag: the loader accepts exactly what the table says.
func TestMetricsTable(t *testing.T) {
	value := map[scenarios.Unit]string{
		scenarios.UnitSeconds:   "100ms",
		scenarios.UnitFraction:  "1%",
		scenarios.UnitCount:     "5",
		scenarios.UnitPerSecond: "10/s",
		scenarios.UnitBytes:     "256MB",
	}
	load := func(key, expr string, capacity bool) (*scenarios.Spec, error) {
		doc := `version: 1
name: t
target: {lab: {}}
workload:
  - {name: catalog, request: {url: /v1/courses}}
  - {name: chat, request: {kind: websocket, url: /ws, hold: 1s}}
  - {name: landing, request: {kind: browser, url: /}}
probe: {url: /healthz}
load: {executor: constant-arrival-rate, rate: 1, duration: 1m}
faults:
  - {name: slow-db, kind: network.delay, target: database, duration: 10s, params: {latency: 10ms}}
thresholds:
  "` + key + `": ["` + expr + `"]
`
		if capacity {
			doc += "capacity: {to: 50, duration: 10s, latency: \"p(99) < 1s\"}\n"
		}
		return scenarios.LoadBytes("t.yaml", []byte(doc), "")
	}
	all := map[string]bool{}
	for _, m := range scenarios.Metrics() {
		for _, a := range m.Aggregations {
			all[a.Name] = true
		}
	}
	metrics := scenarios.Metrics()
	if len(metrics) == 0 {
		t.Fatal("no metrics")
	}
	for _, m := range metrics {
		if got, ok := scenarios.LookupMetric(m.Name); !ok || got.Name != m.Name {
			t.Errorf("LookupMetric(%q) = %v, %v", m.Name, got.Name, ok)
		}
		base := m.Name
		for _, tag := range m.RequiredTags {
			if tag != scenarios.TagProcess {
				t.Fatalf("%s requires tag %s: the test knows values for process only", m.Name, tag)
			}
			base += "{process:academy}"
		}
		for agg := range all {
			expr := agg
			if agg == scenarios.AggPercentile {
				expr = "p(99)"
			}
			def, allowed := m.Aggregation(agg)
			v, ok := value[def.Unit]
			if allowed && !ok {
				t.Errorf("%s %s: unit %q has no example value", m.Name, agg, def.Unit)
				continue
			}
			if !allowed {
				v = "1"
			}
			spec, err := load(base, expr+" < "+v, false)
			if allowed != (err == nil) {
				t.Errorf("%s %s < %s: allowed %v by the table, loader error %v", base, expr, v, allowed, err)
				continue
			}
			if allowed && (spec.Thresholds[0].Metric != m.Name || spec.Thresholds[0].Aggregation != agg) {
				t.Errorf("%s %s: loaded as %s %s", m.Name, agg, spec.Thresholds[0].Metric, spec.Thresholds[0].Aggregation)
			}
			if def.OfCapacity {
				if _, err := load(base, expr+" >= 80% capacity", true); err != nil {
					t.Errorf("%s %s: the table allows a multiple of the capacity: %v", m.Name, agg, err)
				}
			} else if allowed {
				if _, err := load(base, expr+" >= 80% capacity", true); err == nil {
					t.Errorf("%s %s: a multiple of the capacity loaded; the table does not allow it", m.Name, agg)
				}
			}
		}
		agg := m.Aggregations[0]
		expr := agg.Name + " < " + value[agg.Unit]
		if agg.Name == scenarios.AggPercentile {
			expr = "p(99) < " + value[agg.Unit]
		}
		for tag, val := range map[string]string{scenarios.TagRequest: "catalog", scenarios.TagWindow: "slow-db", scenarios.TagProcess: "loadgen"} {
			if slices.Contains(m.RequiredTags, tag) {
				continue
			}
			key := m.Name + "{" + tag + ":" + val + "}"
			if len(m.RequiredTags) > 0 {
				key = m.Name + "{process:academy," + tag + ":" + val + "}"
			}
			_, err := load(key, expr, false)
			if want := slices.Contains(m.Tags, tag); want != (err == nil) {
				t.Errorf("%s %s: tag allowed %v by the table, loader error %v", key, expr, want, err)
			}
		}
	}
}
