package scenarios

import (
	"fmt"
	"math"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// Threshold metrics (Threshold.Metric).
const (
	MetricLatency         = "latency"          // from the intended send time
	MetricServiceTime     = "service_time"     // from the actual send
	MetricAdmittedLatency = "admitted_latency" // latency of every answer but the sheds
	MetricErrors          = "errors"           // failed requests
	MetricChecks          = "checks"           // passed checks
	MetricAvailability    = "availability"     // successful requests
	MetricThroughput      = "throughput"       // requests
	MetricGoodput         = "goodput"          // good answers: expected and not shed
	MetricShed            = "shed"             // answers that are 429 or 503
	MetricUptime          = "uptime"           // successful probes
	MetricConnections     = "connections"      // WebSocket connections held at once
	MetricDrops           = "drops"            // WebSocket connections dropped before their hold ended
	MetricMemory          = "memory"           // resident memory of a process
	// The figures of browser requests (kind browser), from the intended start time.
	MetricBrowserTTFB = "browser_ttfb" // first byte of the document (Navigation Timing responseStart)
	MetricBrowserDCL  = "browser_dcl"  // DOMContentLoaded handled (domContentLoadedEventEnd)
	MetricBrowserLoad = "browser_load" // load event handled (loadEventEnd)
	MetricBrowserFCP  = "browser_fcp"  // first contentful paint
	MetricBrowserLCP  = "browser_lcp"  // largest contentful paint
)

// BrowserMetrics lists the browser_* metrics, in the order reports show them.
func BrowserMetrics() []string {
	return []string{MetricBrowserTTFB, MetricBrowserDCL, MetricBrowserLoad, MetricBrowserFCP, MetricBrowserLCP}
}

// Aggregations (Threshold.Aggregation). AggPercentile is written p(N), N in Threshold.Percentile.
const (
	AggPercentile = "p"
	AggAvg        = "avg"
	AggMin        = "min"
	AggMax        = "max"
	AggMed        = "med"
	AggRate       = "rate"
	AggCount      = "count"
	AggGrowth     = "growth"
)

// Threshold tags: metric{tag:value}.
const (
	TagRequest = "request" // a workload item or step name
	TagWindow  = "window"  // a fault name (while it is active) or steady (outside all faults)
	TagProcess = "process" // one of MemoryProcesses
)

// Unit is the unit of a threshold's value, and so of the figure a report measures for it.
type Unit string

// Threshold units; Threshold.Value holds the value in the unit given here.
const (
	UnitSeconds   Unit = "seconds"    // written as a duration: 100ms
	UnitFraction  Unit = "fraction"   // written as a share: 1%, 0.01
	UnitCount     Unit = "count"      // a whole number
	UnitPerSecond Unit = "per-second" // written 100 or 100/s, or as a multiple of the capacity where allowed
	UnitBytes     Unit = "bytes"      // written as a byte size: 256MB
)

// AggregationDef is one aggregation a metric allows and the unit of its value.
type AggregationDef struct {
	Name string // AggPercentile, AggAvg, ...
	Unit Unit
	// OfCapacity says the value may be written as a multiple of the capacity (80% capacity).
	OfCapacity bool
}

// Needs is what a scenario must have for a metric to be measured ("" = nothing).
type Needs string

// What a metric may need.
const (
	NeedsProbe     Needs = "probe"     // a probe: section
	NeedsWebSocket Needs = "websocket" // a request of kind websocket
	NeedsBrowser   Needs = "browser"   // a request of kind browser
)

// MetricDef defines a threshold metric: what the loader accepts for it, and so what a
// report must evaluate.
type MetricDef struct {
	Name         string
	Aggregations []AggregationDef // the aggregations it allows, in the order messages list them
	// Tags are the tags it takes (TagRequest, TagWindow, TagProcess); none for a metric
	// measured over the whole run. RequiredTags must be given.
	Tags         []string
	RequiredTags []string
	// RunWide, when set, says why the metric is measured over the whole run, not per
	// request or window.
	RunWide string
	Needs   Needs
}

// Aggregation returns the definition of an aggregation of the metric.
func (m MetricDef) Aggregation(name string) (AggregationDef, bool) {
	for _, a := range m.Aggregations {
		if a.Name == name {
			return a, true
		}
	}
	return AggregationDef{}, false
}

// AggregationNames lists the names of the metric's aggregations.
func (m MetricDef) AggregationNames() []string {
	out := make([]string, len(m.Aggregations))
	for i, a := range m.Aggregations {
		out[i] = a.Name
	}
	return out
}

// Metrics returns the metrics a threshold may name, in the order messages list them
// (a fresh slice on every call). The loader accepts exactly these metrics, aggregations and tags.
func Metrics() []MetricDef {
	perRequest := []string{TagRequest, TagWindow}
	agg := func(name string, u Unit) AggregationDef { return AggregationDef{Name: name, Unit: u} }
	durations := func() []AggregationDef {
		return []AggregationDef{agg(AggPercentile, UnitSeconds), agg(AggAvg, UnitSeconds), agg(AggMin, UnitSeconds),
			agg(AggMax, UnitSeconds), agg(AggMed, UnitSeconds)}
	}
	shares := func() []AggregationDef { return []AggregationDef{agg(AggRate, UnitFraction), agg(AggCount, UnitCount)} }
	rates := func() []AggregationDef {
		return []AggregationDef{{Name: AggRate, Unit: UnitPerSecond, OfCapacity: true}, agg(AggCount, UnitCount)}
	}
	out := []MetricDef{
		{Name: MetricLatency, Aggregations: durations(), Tags: perRequest},
		{Name: MetricServiceTime, Aggregations: durations(), Tags: perRequest},
		{Name: MetricAdmittedLatency, Aggregations: durations(), Tags: perRequest},
		{Name: MetricErrors, Aggregations: shares(), Tags: perRequest},
		{Name: MetricChecks, Aggregations: shares(), Tags: perRequest},
		{Name: MetricAvailability, Aggregations: shares(), Tags: perRequest},
		{Name: MetricThroughput, Aggregations: rates(), Tags: perRequest},
		{Name: MetricGoodput, Aggregations: rates(), Tags: perRequest},
		{Name: MetricShed, Aggregations: shares(), Tags: perRequest},
		{Name: MetricUptime, Aggregations: shares(), RunWide: "probes run beside the whole load", Needs: NeedsProbe},
		{Name: MetricConnections, Aggregations: []AggregationDef{agg(AggMax, UnitCount)},
			RunWide: "it is the most WebSocket connections held at once over the run", Needs: NeedsWebSocket},
		{Name: MetricDrops, Aggregations: shares(),
			RunWide: "it counts the run's WebSocket connections dropped before their hold ended", Needs: NeedsWebSocket},
		{Name: MetricMemory, Aggregations: []AggregationDef{agg(AggGrowth, UnitFraction), agg(AggMax, UnitBytes)},
			Tags: []string{TagProcess}, RequiredTags: []string{TagProcess}, RunWide: "it is sampled over the whole run"},
	}
	for _, name := range BrowserMetrics() {
		out = append(out, MetricDef{Name: name, Aggregations: durations(), Tags: perRequest, Needs: NeedsBrowser})
	}
	return out
}

// LookupMetric returns the definition of the named metric.
func LookupMetric(name string) (MetricDef, bool) {
	for _, m := range Metrics() {
		if m.Name == name {
			return m, true
		}
	}
	return MetricDef{}, false
}

// MemoryProcesses are the values of a memory threshold's process tag: loadgen itself, and
// the lab's academy replicas, PostgreSQL server and Redis (lab targets only).
func MemoryProcesses() []string { return []string{"loadgen", "academy", "postgres", "redis"} }

// tagValues returns the values a tag may take, when they are a fixed set, and an example.
func tagValues(tag string) (values []string, example string) {
	if tag == TagProcess {
		return MemoryProcesses(), "academy"
	}
	return nil, "name"
}

// metricNames lists the names of the metrics.
func metricNames(ms []MetricDef) []string {
	out := make([]string, len(ms))
	for i, m := range ms {
		out[i] = m.Name
	}
	return out
}

// aggregationNames lists every aggregation of any metric, each once, in table order.
func aggregationNames(ms []MetricDef) []string {
	var out []string
	for _, m := range ms {
		for _, a := range m.Aggregations {
			if !contains(out, a.Name) {
				out = append(out, a.Name)
			}
		}
	}
	return out
}

// showAggregation writes an aggregation as a threshold does: p(N) for the percentile.
func showAggregation(name string) string {
	if name == AggPercentile {
		return "p(N)"
	}
	return name
}

// listOr joins words as "a, b or c" (with and: "a, b and c").
func listOr(words []string, last string) string {
	if len(words) <= 1 {
		return strings.Join(words, "")
	}
	return strings.Join(words[:len(words)-1], ", ") + " " + last + " " + words[len(words)-1]
}

var (
	thresholdKeyRE  = regexp.MustCompile(`^\s*([A-Za-z_][A-Za-z0-9_]*)\s*(?:\{(.*)\})?\s*$`)
	thresholdExprRE = regexp.MustCompile(`^\s*(p\s*\(\s*([^)]*?)\s*\)|[a-z]+)\s*(<=|>=|==|!=|<|>)\s*(.*?)\s*$`)
)

func (l *loader) thresholds(n *yaml.Node) []*Threshold {
	pairs, ok := l.pairs(n, "thresholds")
	if !ok {
		return nil
	}
	var out []*Threshold
	for _, kv := range pairs {
		key, path := kv[0].Value, "thresholds."+kv[0].Value
		metric, tags, ok := l.thresholdKey(kv[0], path, key)
		exprs := []*yaml.Node{kv[1]}
		if r := l.resolve(kv[1]); r != nil && r.Kind == yaml.SequenceNode {
			exprs = r.Content
			if len(exprs) == 0 {
				l.errorf(kv[1], path, "want at least one threshold expression")
			}
		}
		for i, en := range exprs {
			p := path
			if len(exprs) > 1 || en != kv[1] {
				p = index(path, i)
			}
			th := l.threshold(en, p, metric, ok)
			if th != nil && ok {
				th.Metric, th.Tags = metric, tags
				out = append(out, th)
			}
		}
	}
	return out
}

// thresholdKey parses metric{tag:value,...}.
func (l *loader) thresholdKey(n *yaml.Node, path, key string) (string, map[string]string, bool) {
	m := thresholdKeyRE.FindStringSubmatch(key)
	if m == nil {
		l.errorf(n, path, "bad threshold key %q, want metric or metric{tag:value,...}, like latency{request:enroll}", key)
		return "", nil, false
	}
	metric, ok := m[1], true
	metrics := Metrics()
	def, known := LookupMetric(metric)
	if !known {
		names := metricNames(metrics)
		l.errorf(n, path, "unknown metric %q, want one of %s%s", metric, strings.Join(names, ", "), didYouMean(metric, names))
		ok = false
	}
	tags := map[string]string{}
	for _, t := range def.RequiredTags {
		if !strings.Contains(m[2], t) {
			values, example := tagValues(t)
			l.errorf(n, path, "%s needs a %s tag: %s{%s:%s} (one of %s)", metric, t, metric, t, example, strings.Join(values, ", "))
			ok = false
		}
	}
	if strings.TrimSpace(m[2]) == "" {
		if strings.Contains(key, "{") {
			l.errorf(n, path, "empty tag list in %q", key)
			ok = false
		}
		return metric, tags, ok
	}
	for _, tv := range strings.Split(m[2], ",") {
		k, v, found := strings.Cut(tv, ":")
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		if !found || k == "" || v == "" {
			l.errorf(n, path, "bad tag %q, want tag:value", strings.TrimSpace(tv))
			ok = false
			continue
		}
		if _, dup := tags[k]; dup {
			l.errorf(n, path, "duplicate tag %q", k)
			ok = false
			continue
		}
		if !contains(def.Tags, k) && contains([]string{TagRequest, TagWindow, TagProcess}, k) {
			switch {
			case k == TagProcess:
				var with []string
				for _, m := range metrics {
					if contains(m.Tags, k) {
						with = append(with, m.Name)
					}
				}
				l.errorf(n, path, "the %s tag applies to %s only", k, listOr(with, "and"))
				ok = false
				continue
			case len(def.Tags) > 0:
				l.errorf(n, path, "%s takes the %s tag only: %s", metric, listOr(def.Tags, "and"), def.RunWide)
				ok = false
				continue
			}
			// A metric that takes no tags: checkRunWide says so, after what it needs.
		}
		switch k {
		case TagRequest:
			if !l.names[v] {
				l.errorf(n, path, "unknown request %q: no workload item or step has this name%s", v, didYouMean(v, mapKeys(l.names)))
				ok = false
			}
		case TagWindow:
			if v != "steady" && !l.faults[v] && !l.windows[v] {
				names := append(append(mapKeys(l.faults), mapKeys(l.windows)...), "steady")
				l.errorf(n, path, "unknown window %q, want steady, a fault's or a window's name%s", v, didYouMean(v, names))
				ok = false
			}
		case TagProcess:
			if !contains(MemoryProcesses(), v) {
				l.errorf(n, path, "unknown process %q, want one of %s%s", v, strings.Join(MemoryProcesses(), ", "), didYouMean(v, MemoryProcesses()))
				ok = false
			} else if v != "loadgen" && !l.isLab {
				l.errorf(n, path, "the memory of %s is watched in a lab only (target.lab); a URL target has loadgen's", v)
				ok = false
			}
		default:
			l.errorf(n, path, "unknown tag %q, want request or window%s", k, didYouMean(k, []string{"request", "window"}))
			ok = false
			continue
		}
		tags[k] = v
	}
	return metric, tags, ok
}

// threshold parses one expression: a string, or {threshold, abortOnFail, delayAbortEval}.
func (l *loader) threshold(n *yaml.Node, path, metric string, metricOK bool) *Threshold {
	th := &Threshold{}
	exprNode := n
	if r := l.resolve(n); r != nil && r.Kind == yaml.MappingNode {
		f, ok := l.mapping(r, path, "threshold", "abortOnFail", "delayAbortEval")
		if !ok {
			return nil
		}
		exprNode = l.require(f, "threshold")
		if n := f.get("abortOnFail"); n != nil {
			th.AbortOnFail, _ = l.boolean(n, join(path, "abortOnFail"))
		}
		if n := f.get("delayAbortEval"); n != nil {
			th.DelayAbortEval, _ = l.duration(n, join(path, "delayAbortEval"), false)
			if !th.AbortOnFail {
				l.errorf(n, join(path, "delayAbortEval"), "delayAbortEval needs abortOnFail: true")
			}
		}
		if exprNode == nil {
			return nil
		}
		path = join(path, "threshold")
	}
	src, ok := l.str(exprNode, path)
	if !ok {
		return nil
	}
	exprNode = l.resolve(exprNode)
	th.Source = src
	th.Pos = Pos{Line: exprNode.Line, Column: exprNode.Column}
	if !metricOK {
		return nil
	}
	if err := parseThresholdExpr(th, metric, src); err != nil {
		l.errorf(exprNode, path, "%v", err)
		return nil
	}
	if th.OfCapacity {
		l.usesCapacity = append(l.usesCapacity, capUse{exprNode, path})
	}
	return th
}

// parseThresholdExpr fills th from "<aggregation> <op> <value>" for metric, as the table
// of Metrics allows.
func parseThresholdExpr(th *Threshold, metric, src string) error {
	m := thresholdExprRE.FindStringSubmatch(src)
	if m == nil || m[4] == "" {
		return fmt.Errorf("bad threshold %q: want <aggregation> <op> <value>, like \"p(99) < 100ms\"", src)
	}
	agg, op, val := m[1], m[3], m[4]
	if strings.HasPrefix(agg, "p") && strings.Contains(agg, "(") {
		pct, err := strconv.ParseFloat(m[2], 64)
		if err != nil || math.IsNaN(pct) || pct <= 0 || pct > 100 {
			return fmt.Errorf("bad percentile %q in %q: want p(N) with 0 < N <= 100, like p(99.9)", m[2], src)
		}
		agg, th.Percentile = AggPercentile, pct
	}
	metrics := Metrics()
	if all := aggregationNames(metrics); !contains(all, agg) {
		shown := make([]string, len(all))
		for i, a := range all {
			shown[i] = showAggregation(a)
		}
		return fmt.Errorf("unknown aggregation %q in %q, want %s%s", agg, src, listOr(shown, "or"), didYouMean(agg, all))
	}
	def, _ := LookupMetric(metric)
	ad, ok := def.Aggregation(agg)
	if !ok {
		names := def.AggregationNames()
		for i, a := range names {
			names[i] = showAggregation(a)
		}
		return fmt.Errorf("aggregation %s does not apply to %s (use %s)", showAggregation(agg), metric, strings.Join(names, ", "))
	}
	th.Aggregation, th.Op = agg, op
	if v, ok := parseOfCapacity(val); ok {
		if !ad.OfCapacity {
			var with []string
			for _, m := range metrics {
				for _, a := range m.Aggregations {
					if a.OfCapacity {
						with = append(with, m.Name)
					}
				}
			}
			return fmt.Errorf("%s threshold %q: only %s rates can be a multiple of the capacity", metric, src, listOr(with, "and"))
		}
		th.Value, th.OfCapacity = v, true
		return nil
	}
	switch ad.Unit {
	case UnitBytes:
		v, err := ParseByteSize(val)
		if err != nil {
			return fmt.Errorf("%s threshold %q: %v", metric, src, err)
		}
		th.Value = float64(v)
	case UnitSeconds:
		d, err := ParseDuration(val)
		if err != nil {
			return fmt.Errorf("%s threshold %q: %v", metric, src, err)
		}
		if d < 0 {
			return fmt.Errorf("%s threshold %q: negative duration", metric, src)
		}
		th.Value = d.Seconds()
	case UnitCount:
		v, err := strconv.ParseInt(val, 10, 64)
		if err != nil || v < 0 {
			return fmt.Errorf("count threshold %q: want a whole number at least 0, got %q", src, val)
		}
		th.Value = float64(v)
	case UnitPerSecond:
		v, err := strconv.ParseFloat(strings.TrimSuffix(val, "/s"), 64)
		if err != nil || math.IsNaN(v) || math.IsInf(v, 0) || v < 0 {
			return fmt.Errorf("%s threshold %q: want requests per second like 100 or 100/s, or a multiple of the capacity like 80%% capacity, got %q", metric, src, val)
		}
		th.Value = v
	case UnitFraction:
		v, err := ParseFraction(val)
		if err != nil {
			return fmt.Errorf("%s threshold %q: %v", metric, src, err)
		}
		th.Value = v
	default:
		return fmt.Errorf("%s threshold %q: aggregation %s has no unit", metric, src, agg)
	}
	return nil
}

// String renders the threshold as metric{tags} expression, tags sorted.
func (t *Threshold) String() string {
	var b strings.Builder
	b.WriteString(t.Metric)
	if len(t.Tags) > 0 {
		keys := mapKeys(t.Tags)
		sort.Strings(keys)
		b.WriteByte('{')
		for i, k := range keys {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString(k + ":" + t.Tags[k])
		}
		b.WriteByte('}')
	}
	b.WriteString(" " + t.Source)
	return b.String()
}

// Pass reports whether a measured value satisfies the threshold (value in the
// threshold's unit: seconds, a fraction, a count or requests per second).
func (t *Threshold) Pass(v float64) bool {
	switch t.Op {
	case "<":
		return v < t.Value
	case "<=":
		return v <= t.Value
	case ">":
		return v > t.Value
	case ">=":
		return v >= t.Value
	case "==":
		return v == t.Value
	case "!=":
		return v != t.Value
	}
	return false
}
