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

// Metrics lists the metrics a threshold may name.
func Metrics() []string {
	return []string{"latency", "service_time", "admitted_latency", "errors", "checks", "availability",
		"throughput", "goodput", "shed", "uptime", "connections", "drops", "memory"}
}

// MemoryProcesses are the values of a memory threshold's process tag: loadgen itself, and
// the lab's academy replicas, PostgreSQL server and Redis (lab targets only).
func MemoryProcesses() []string { return []string{"loadgen", "academy", "postgres", "redis"} }

// runMetrics are measured over the whole run and take no tags.
var runMetrics = map[string]string{
	"uptime":      "probes run beside the whole load",
	"connections": "it is the most WebSocket connections held at once over the run",
	"drops":       "it counts the run's WebSocket connections dropped before their hold ended",
}

// metricAggregations lists the aggregations each metric allows.
func metricAggregations(metric string) []string {
	switch metric {
	case "latency", "service_time", "admitted_latency":
		return []string{"p", "avg", "min", "max", "med"}
	case "errors", "checks", "availability", "throughput", "goodput", "shed", "uptime", "drops":
		return []string{"rate", "count"}
	case "connections":
		return []string{"max"}
	case "memory":
		return []string{"growth", "max"}
	}
	return nil
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
	if !contains(Metrics(), metric) {
		l.errorf(n, path, "unknown metric %q, want one of %s%s", metric, strings.Join(Metrics(), ", "), didYouMean(metric, Metrics()))
		ok = false
	}
	tags := map[string]string{}
	if metric == "memory" && !strings.Contains(m[2], "process") {
		l.errorf(n, path, "memory needs a process tag: memory{process:academy} (one of %s)", strings.Join(MemoryProcesses(), ", "))
		ok = false
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
		switch k {
		case "request", "window":
			if metric == "memory" {
				l.errorf(n, path, "memory takes the process tag only: it is sampled over the whole run")
				ok = false
				continue
			}
		}
		switch k {
		case "request":
			if !l.names[v] {
				l.errorf(n, path, "unknown request %q: no workload item or step has this name%s", v, didYouMean(v, mapKeys(l.names)))
				ok = false
			}
		case "window":
			if v != "steady" && !l.faults[v] {
				l.errorf(n, path, "unknown window %q, want steady or a fault name%s", v, didYouMean(v, append(mapKeys(l.faults), "steady")))
				ok = false
			}
		case "process":
			if metric != "memory" {
				l.errorf(n, path, "the process tag applies to memory only")
				ok = false
				continue
			}
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

// parseThresholdExpr fills th from "<aggregation> <op> <value>" for metric.
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
		agg, th.Percentile = "p", pct
	}
	allAggs := []string{"p", "avg", "min", "max", "med", "rate", "count", "growth"}
	if !contains(allAggs, agg) {
		return fmt.Errorf("unknown aggregation %q in %q, want p(N), avg, min, max, med, rate, count or growth%s", agg, src, didYouMean(agg, allAggs))
	}
	allowed := metricAggregations(metric)
	if !contains(allowed, agg) {
		names := make([]string, len(allowed))
		for i, a := range allowed {
			names[i] = a
			if a == "p" {
				names[i] = "p(N)"
			}
		}
		show := agg
		if agg == "p" {
			show = "p(N)"
		}
		return fmt.Errorf("aggregation %s does not apply to %s (use %s)", show, metric, strings.Join(names, ", "))
	}
	th.Aggregation, th.Op = agg, op
	if v, ok := parseOfCapacity(val); ok {
		if (metric != "throughput" && metric != "goodput") || agg != "rate" {
			return fmt.Errorf("%s threshold %q: only throughput and goodput rates can be a multiple of the capacity", metric, src)
		}
		th.Value, th.OfCapacity = v, true
		return nil
	}
	switch {
	case metric == "memory" && agg == "max":
		v, err := ParseByteSize(val)
		if err != nil {
			return fmt.Errorf("memory threshold %q: %v", src, err)
		}
		th.Value = float64(v)
	case metric == "latency" || metric == "service_time" || metric == "admitted_latency":
		d, err := ParseDuration(val)
		if err != nil {
			return fmt.Errorf("%s threshold %q: %v", metric, src, err)
		}
		if d < 0 {
			return fmt.Errorf("%s threshold %q: negative duration", metric, src)
		}
		th.Value = d.Seconds()
	case agg == "count" || metric == "connections":
		v, err := strconv.ParseInt(val, 10, 64)
		if err != nil || v < 0 {
			return fmt.Errorf("count threshold %q: want a whole number at least 0, got %q", src, val)
		}
		th.Value = float64(v)
	case metric == "throughput" || metric == "goodput":
		v, err := strconv.ParseFloat(strings.TrimSuffix(val, "/s"), 64)
		if err != nil || math.IsNaN(v) || math.IsInf(v, 0) || v < 0 {
			return fmt.Errorf("%s threshold %q: want requests per second like 100 or 100/s, or a multiple of the capacity like 80%% capacity, got %q", metric, src, val)
		}
		th.Value = v
	default:
		v, err := ParseFraction(val)
		if err != nil {
			return fmt.Errorf("%s threshold %q: %v", metric, src, err)
		}
		th.Value = v
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
