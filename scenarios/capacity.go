package scenarios

import (
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// Capacity asks for the service's capacity to be measured before the load: the workload is
// sent at a rate ramping linearly from From to To over Duration, and the capacity is the
// highest goodput (expected, not shed, answers per second) held for three consecutive
// seconds that each kept the objective (the admitted requests' latency percentile under
// Latency, answers that are neither good nor shed under Errors: shedding is how a service
// keeps its objective). The ramp stops early after three seconds in a row that were
// saturated: the latency missed, or errors and sheds together above Errors. Rates and throughput or goodput thresholds written as
// "2x capacity" or "80% capacity" are multiples of the figure found.
type Capacity struct {
	From, To   float64       // requests per second at the ramp's start and end
	Duration   time.Duration // of the ramp
	Percentile float64       // of the latency objective: p(Percentile) < Latency
	Latency    time.Duration
	Errors     float64       // fraction of answers that may be errors (or, before saturation, errors and sheds)
	Cooldown   time.Duration // pause between the measurement and the load, so its backlog drains
	Pos        Pos
}

// Capacity defaults.
const (
	DefaultCapacityErrors   = 0.01
	DefaultCapacityCooldown = 5 * time.Second
)

// ofCapacityRE matches a multiple of the measured capacity: "2x capacity", "80% capacity".
var ofCapacityRE = regexp.MustCompile(`^\s*([0-9]+(?:\.[0-9]+)?)\s*(x|%)\s*capacity\s*$`)

// parseOfCapacity parses "2x capacity" (2) or "80% capacity" (0.8); ok is false when s is
// not of that form.
func parseOfCapacity(s string) (float64, bool) {
	m := ofCapacityRE.FindStringSubmatch(s)
	if m == nil {
		return 0, false
	}
	v, err := strconv.ParseFloat(m[1], 64)
	if err != nil || math.IsInf(v, 0) {
		return 0, false
	}
	if m[2] == "%" {
		v /= 100
	}
	return v, true
}

// rate reads a load rate: a number, or a multiple of the measured capacity. ofCap says which.
func (l *loader) rate(n *yaml.Node, path string) (v float64, ofCap, ok bool) {
	if r := l.resolve(n); r != nil && r.Kind == yaml.ScalarNode && r.Tag == "!!str" {
		if v, ok := parseOfCapacity(r.Value); ok {
			l.usesCapacity = append(l.usesCapacity, capUse{n, path})
			return v, true, true
		}
		l.errorf(n, path, "want a number or a multiple of the measured capacity (like 2x capacity or 150%% capacity), got %q", r.Value)
		return 0, false, false
	}
	v, ok = l.number(n, path)
	return v, false, ok
}

// capUse is a value written relative to the capacity, for the check that capacity: exists.
type capUse struct {
	n    *yaml.Node
	path string
}

func (l *loader) capacity(n *yaml.Node) *Capacity {
	f, ok := l.mapping(n, "capacity", "from", "to", "duration", "latency", "errors", "cooldown")
	if !ok {
		return nil
	}
	c := &Capacity{From: 1, Errors: DefaultCapacityErrors, Cooldown: DefaultCapacityCooldown,
		Pos: Pos{f.node.Line, f.node.Column}}
	if n := f.get("from"); n != nil {
		if v, ok := l.number(n, "capacity.from"); ok {
			if v <= 0 {
				l.errorf(n, "capacity.from", "from must be above 0, got %v", v)
			}
			c.From = v
		}
	}
	if n := l.require(f, "to"); n != nil {
		if v, ok := l.number(n, "capacity.to"); ok {
			if v <= c.From {
				l.errorf(n, "capacity.to", "to (%v) must be above from (%v)", v, c.From)
			}
			c.To = v
		}
	}
	if n := l.require(f, "duration"); n != nil {
		if v, ok := l.duration(n, "capacity.duration", true); ok {
			if v < 3*time.Second {
				l.errorf(n, "capacity.duration", "the ramp needs at least 3s (capacity is judged over three seconds), got %s", v)
			}
			c.Duration = v
		}
	}
	if n := l.require(f, "latency"); n != nil {
		if src, ok := l.str(n, "capacity.latency"); ok {
			th := &Threshold{}
			err := parseThresholdExpr(th, "latency", src)
			switch {
			case err != nil:
				l.errorf(n, "capacity.latency", "%v", err)
			case th.Aggregation != "p" || (th.Op != "<" && th.Op != "<="):
				l.errorf(n, "capacity.latency", "want a percentile bound like \"p(99) < 250ms\", got %q", src)
			default:
				c.Percentile, c.Latency = th.Percentile, time.Duration(th.Value*float64(time.Second))
			}
		}
	}
	if n := f.get("errors"); n != nil {
		if s, ok := l.str(n, "capacity.errors"); ok {
			if v, err := ParseFraction(s); err != nil {
				l.errorf(n, "capacity.errors", "%v", err)
			} else {
				c.Errors = v
			}
		}
	}
	if n := f.get("cooldown"); n != nil {
		c.Cooldown, _ = l.duration(n, "capacity.cooldown", false)
	}
	return c
}

// checkCapacity refuses values relative to the capacity without a capacity: block, and a
// capacity: block that the load does not use (it would measure for nothing) or cannot use.
func (l *loader) checkCapacity(s *Spec) {
	if s.Capacity == nil {
		for _, u := range l.usesCapacity {
			l.errorf(u.n, u.path, "a multiple of the capacity needs a capacity: block that measures it")
		}
		return
	}
	if s.Load.Executor == ExecutorConstantVUs {
		l.errorf(l.capacityNode, "capacity", "capacity is measured with an arrival rate: it does not apply to the constant-vus executor")
	}
}

// NeedsCapacity reports whether the spec measures the capacity before its load.
func (s *Spec) NeedsCapacity() bool { return s.Capacity != nil }

// WithCapacity returns a copy of s whose rates and thresholds written relative to the
// capacity are resolved with capacity c (requests per second). s is not modified.
func (s *Spec) WithCapacity(c float64) *Spec {
	out := *s
	if s.Load.RateOfCapacity {
		out.Load.Rate = s.Load.Rate * c * s.Load.TimeUnit.Seconds()
		out.Load.RateOfCapacity = false
	}
	if s.Load.StartRateOfCapacity {
		out.Load.StartRate = s.Load.StartRate * c * s.Load.TimeUnit.Seconds()
		out.Load.StartRateOfCapacity = false
	}
	out.Load.Stages = append([]Stage(nil), s.Load.Stages...)
	for i, st := range out.Load.Stages {
		if st.OfCapacity {
			out.Load.Stages[i].Target = st.Target * c * s.Load.TimeUnit.Seconds()
			out.Load.Stages[i].OfCapacity = false
		}
	}
	out.Thresholds = make([]*Threshold, len(s.Thresholds))
	for i, th := range s.Thresholds {
		if th.OfCapacity {
			t := *th
			t.Value, t.OfCapacity = th.Value*c, false
			th = &t
		}
		out.Thresholds[i] = th
	}
	return &out
}

// String renders the objective: "p(99) < 250ms, errors < 1%".
func (c *Capacity) String() string {
	return fmt.Sprintf("p(%s) < %s, errors < %s",
		strconv.FormatFloat(c.Percentile, 'f', -1, 64), c.Latency, strings.TrimSuffix(strconv.FormatFloat(c.Errors*100, 'f', 2, 64), ".00")+"%")
}
