package scenarios

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// ParamKind is the unit of a fault parameter.
type ParamKind string

// Parameter units.
const (
	ParamDuration       ParamKind = "duration"        // > 0: 50ms
	ParamDurationOrZero ParamKind = "duration>=0"     // >= 0
	ParamSignedDuration ParamKind = "signed-duration" // may be negative, not 0: -5m
	ParamByteRate       ParamKind = "byte-rate"       // bytes per second: 1mb, 256kb/s
	ParamBytes          ParamKind = "bytes"           // 10kb, 1MiB
	ParamPercent        ParamKind = "percent"         // 50% or 0.5
	ParamStatus         ParamKind = "status"          // HTTP error status 400..599
	ParamCount          ParamKind = "count"           // integer >= 1
	ParamMethod         ParamKind = "method"          // HTTP method
	ParamRoute          ParamKind = "route"           // path starting with /
	ParamString         ParamKind = "string"
	ParamDirection      ParamKind = "direction" // upstream | downstream | both
)

// FaultParam describes one parameter of a fault kind.
type FaultParam struct {
	Name     string
	Kind     ParamKind
	Required bool
	Default  string // filled into Fault.Params when absent ("" = none)
}

// FaultKind describes a kind of fault: where it runs, what it targets, its parameters.
type FaultKind struct {
	Name        string
	Local       bool     // the local lab can inject it
	Kubernetes  bool     // Chaos Mesh can inject it
	Targets     []string // logical targets; "/route" means any route
	Params      []FaultParam
	DefaultMode string
}

// Fault kinds (Fault.Kind); FaultKinds describes each.
const (
	FaultNetworkDelay     = "network.delay"
	FaultNetworkBandwidth = "network.bandwidth"
	FaultNetworkDown      = "network.down"
	FaultNetworkReset     = "network.reset"
	FaultNetworkTimeout   = "network.timeout"
	FaultNetworkSlowClose = "network.slow-close"
	FaultNetworkLimitData = "network.limit-data"
	FaultNetworkLoss      = "network.loss"
	FaultNetworkCorrupt   = "network.corrupt"
	FaultProcessKill      = "process.kill"
	FaultProcessPause     = "process.pause"
	FaultHTTPAbort        = "http.abort"
	FaultHTTPDelay        = "http.delay"
	FaultHTTPStatus       = "http.status"
	FaultHTTPDropWrite    = "http.drop-write"
	FaultStressCPU        = "stress.cpu"
	FaultStressMemory     = "stress.memory"
	FaultClockSkew        = "clock.skew"
	FaultDNSError         = "dns.error"
	// FaultDatabaseReplicaLag pauses WAL replay on the lab's database read replicas
	// (pg_wal_replay_pause, resumed at the end): they fall behind the primary.
	FaultDatabaseReplicaLag = "database.replica-lag"
)

// FaultKinds returns the known fault kinds by name (a fresh map on every call).
func FaultKinds() map[string]FaultKind {
	network := []string{"edge", "app", "database", "cache"}
	procs := []string{"app", "database", "cache"}
	http := []string{"app", "/route"}
	opt := func(name string, k ParamKind, def string) FaultParam {
		return FaultParam{Name: name, Kind: k, Default: def}
	}
	req := func(name string, k ParamKind) FaultParam { return FaultParam{Name: name, Kind: k, Required: true} }
	httpScope := []FaultParam{opt("route", ParamRoute, ""), opt("method", ParamMethod, ""), opt("percent", ParamPercent, "100%")}
	dir := opt("direction", ParamDirection, "")
	ks := []FaultKind{
		{Name: FaultNetworkDelay, Local: true, Kubernetes: true, Targets: network, Params: []FaultParam{req("latency", ParamDuration), opt("jitter", ParamDurationOrZero, "0s"), dir}},
		{Name: FaultNetworkBandwidth, Local: true, Kubernetes: true, Targets: network, Params: []FaultParam{req("rate", ParamByteRate), dir}},
		{Name: FaultNetworkDown, Local: true, Kubernetes: true, Targets: network, Params: []FaultParam{dir}},
		{Name: FaultNetworkReset, Local: true, Targets: network, Params: []FaultParam{opt("after", ParamDurationOrZero, "0s"), dir}},
		{Name: FaultNetworkTimeout, Local: true, Targets: network, Params: []FaultParam{opt("timeout", ParamDurationOrZero, "0s"), dir}},
		{Name: FaultNetworkSlowClose, Local: true, Targets: network, Params: []FaultParam{req("delay", ParamDuration), dir}},
		{Name: FaultNetworkLimitData, Local: true, Targets: network, Params: []FaultParam{req("bytes", ParamBytes), dir}},
		{Name: FaultNetworkLoss, Kubernetes: true, Targets: network, Params: []FaultParam{req("loss", ParamPercent), opt("correlation", ParamPercent, "0%")}},
		{Name: FaultNetworkCorrupt, Kubernetes: true, Targets: network, Params: []FaultParam{req("corrupt", ParamPercent), opt("correlation", ParamPercent, "0%")}},
		{Name: FaultProcessKill, Local: true, Kubernetes: true, Targets: procs, DefaultMode: "one", Params: []FaultParam{opt("restart-after", ParamDurationOrZero, "0s")}},
		{Name: FaultProcessPause, Local: true, Kubernetes: true, Targets: procs, DefaultMode: "one"},
		{Name: FaultHTTPAbort, Local: true, Kubernetes: true, Targets: http, Params: append([]FaultParam{opt("status", ParamStatus, "503")}, httpScope...)},
		{Name: FaultHTTPDelay, Local: true, Kubernetes: true, Targets: http, Params: append([]FaultParam{req("delay", ParamDuration)}, httpScope...)},
		{Name: FaultHTTPStatus, Local: true, Kubernetes: true, Targets: http, Params: append([]FaultParam{req("status", ParamStatus)}, httpScope...)},
		// http.drop-write is the academy's test-only fault: enrollments answered 201 and not
		// stored, so that a run can prove its verification detects lost writes (lab only).
		{Name: FaultHTTPDropWrite, Local: true, Targets: http, Params: httpScope},
		{Name: FaultStressCPU, Kubernetes: true, Targets: procs, Params: []FaultParam{opt("workers", ParamCount, "1"), opt("load", ParamPercent, "100%")}},
		{Name: FaultStressMemory, Kubernetes: true, Targets: procs, Params: []FaultParam{opt("workers", ParamCount, "1"), req("size", ParamBytes)}},
		{Name: FaultClockSkew, Kubernetes: true, Targets: procs, Params: []FaultParam{req("offset", ParamSignedDuration)}},
		{Name: FaultDNSError, Kubernetes: true, Targets: []string{"app"}, Params: []FaultParam{opt("pattern", ParamString, "*")}},
		{Name: FaultDatabaseReplicaLag, Local: true, Targets: []string{"database"}},
	}
	m := make(map[string]FaultKind, len(ks))
	for _, k := range ks {
		if k.DefaultMode == "" {
			k.DefaultMode = "all"
		}
		m[k.Name] = k
	}
	return m
}

// ParamDuration returns a duration parameter (0 when absent).
func (f *Fault) ParamDuration(name string) time.Duration {
	d, _ := time.ParseDuration(strings.TrimSpace(f.Params[name]))
	return d
}

// ParamBytes returns a byte size or byte rate parameter in bytes (per second for rates).
func (f *Fault) ParamBytes(name string) int64 {
	n, _ := ParseByteRate(f.Params[name])
	return n
}

// ParamFraction returns a percentage parameter as a fraction 0..1.
func (f *Fault) ParamFraction(name string) float64 {
	v, _ := ParseFraction(f.Params[name])
	return v
}

// ParamInt returns an integer parameter (0 when absent).
func (f *Fault) ParamInt(name string) int {
	v, _ := strconv.Atoi(strings.TrimSpace(f.Params[name]))
	return v
}

// End is when the fault is healed, from the start of the load.
func (f *Fault) End() time.Duration { return f.At + f.Duration }

func (l *loader) faultList(n *yaml.Node) []*Fault {
	items, ok := l.list(n, "faults")
	if !ok {
		return nil
	}
	kinds := FaultKinds()
	var out []*Fault
	for i, item := range items {
		if f := l.fault(item, index("faults", i), kinds); f != nil {
			out = append(out, f)
		}
	}
	return out
}

func (l *loader) fault(n *yaml.Node, path string, kinds map[string]FaultKind) *Fault {
	f, ok := l.mapping(n, path, "name", "kind", "target", "at", "duration", "params", "toxicity", "mode", "value")
	if !ok {
		return nil
	}
	ft := &Fault{Toxicity: 1, Params: map[string]string{}, Pos: Pos{Line: f.node.Line, Column: f.node.Column}}
	valid := true
	if n := l.require(f, "name"); n != nil {
		if v, ok := l.str(n, join(path, "name")); ok {
			ft.Name = v
			l.windowName(n, join(path, "name"), "fault", v, l.faults)
		}
	} else {
		valid = false
	}
	var kind FaultKind
	hasKind := false
	if n := l.require(f, "kind"); n != nil {
		if v, ok := l.str(n, join(path, "kind")); ok {
			ft.Kind = v
			kind, hasKind = kinds[v]
			if !hasKind {
				names := mapKeys(kinds)
				l.errorf(n, join(path, "kind"), "unknown fault kind %q%s", v, didYouMean(v, names))
			} else if l.isLab && !kind.Local {
				l.errorf(n, join(path, "kind"), "fault kind %s has no local equivalent; run it on a cluster (target.kubernetes, with Chaos Mesh) or remove it", v)
			} else if !l.hasLab && !kind.Kubernetes {
				l.errorf(n, join(path, "kind"), "fault kind %s has no Chaos Mesh equivalent; run it in the local lab (target.lab) or remove it", v)
			} else if v == FaultDatabaseReplicaLag && l.labDBReplicas == 0 {
				l.errorf(n, join(path, "kind"), "fault kind %s needs read replicas: set target.lab.db-replicas to 1 or more", v)
			}
		}
	}
	if n := l.require(f, "target"); n != nil {
		if v, ok := l.str(n, join(path, "target")); ok {
			ft.Target = v
			if hasKind {
				isRoute := strings.HasPrefix(v, "/")
				if !(contains(kind.Targets, v) || isRoute && contains(kind.Targets, "/route")) {
					want := strings.ReplaceAll(strings.Join(kind.Targets, ", "), "/route", "a route like /v1/courses")
					l.errorf(n, join(path, "target"), "%s cannot target %q, want %s%s", ft.Kind, v, want, didYouMean(v, kind.Targets))
				}
			}
		}
	}
	if n := f.get("at"); n != nil {
		ft.At, _ = l.duration(n, join(path, "at"), false)
	}
	if n := l.require(f, "duration"); n != nil {
		var ok bool
		if ft.Duration, ok = l.duration(n, join(path, "duration"), true); ok && valid && l.loadEnds > 0 && ft.End() > l.loadEnds {
			l.errorf(n, join(path, "duration"), "fault %s ends at %s, after the load ends at %s", ft.Name, ft.End(), l.loadEnds)
		}
	}
	if n := f.get("toxicity"); n != nil {
		p := join(path, "toxicity")
		if s, ok := l.str(n, p); ok {
			v, err := ParseFraction(s)
			switch {
			case err != nil:
				l.errorf(n, p, "%v", err)
			case v == 0:
				l.errorf(n, p, "toxicity 0 affects nothing; want above 0, up to 1 or 100%%")
			default:
				ft.Toxicity = v
			}
		}
	}
	if hasKind {
		ft.Mode = kind.DefaultMode
	}
	if n := f.get("mode"); n != nil {
		ft.Mode, _ = l.oneOf(n, join(path, "mode"), "one", "all", "fixed", "percent")
	}
	if n := f.get("value"); n != nil {
		p := join(path, "value")
		if v, ok := l.str(n, p); ok {
			ft.Value = v
			switch ft.Mode {
			case "fixed":
				if c, err := strconv.Atoi(v); err != nil || c < 1 {
					l.errorf(n, p, "mode fixed wants a count of replicas at least 1, got %q", v)
				}
			case "percent":
				if x, err := ParseFraction(v); err != nil || x == 0 {
					l.errorf(n, p, "mode percent wants a share of replicas like 50%%, got %q", v)
				} else {
					ft.Value = formatPercent(x)
				}
			case "one", "all":
				l.errorf(n, p, "mode %s takes no value", ft.Mode)
			}
		}
	} else if ft.Mode == "fixed" || ft.Mode == "percent" {
		l.errorf(f.keys["mode"], join(path, "value"), "mode %s needs a value", ft.Mode)
	}
	var params [][2]*yaml.Node
	if n := f.get("params"); n != nil {
		params, _ = l.pairs(n, join(path, "params"))
	}
	if hasKind {
		l.faultParams(ft, kind, params, f, join(path, "params"))
	}
	l.kubeFault(ft, f, path)
	return ft
}

func (l *loader) faultParams(ft *Fault, kind FaultKind, params [][2]*yaml.Node, f fields, path string) {
	names := make([]string, len(kind.Params))
	for i, p := range kind.Params {
		names[i] = p.Name
	}
	given := map[string]*yaml.Node{}
	for _, kv := range params {
		name := kv[0].Value
		if !contains(names, name) {
			what := "takes no params"
			if len(names) > 0 {
				what = "takes " + strings.Join(names, ", ")
			}
			l.errorf(kv[0], join(path, name), "unknown param %q: %s %s%s", name, ft.Kind, what, didYouMean(name, names))
			continue
		}
		given[name] = kv[1]
	}
	for _, p := range kind.Params {
		n := given[p.Name]
		if n == nil {
			if p.Required {
				at := f.get("params")
				if at == nil {
					at = f.node
				}
				l.errorf(at, join(path, p.Name), "%s needs param %s (%s)", ft.Kind, p.Name, p.Kind)
			} else if p.Default != "" {
				ft.Params[p.Name] = p.Default
			}
			continue
		}
		pp := join(path, p.Name)
		v, ok := l.str(n, pp)
		if !ok {
			continue
		}
		if err := checkParam(p.Kind, v); err != nil {
			l.errorf(n, pp, "%v", err)
			continue
		}
		v = normalizeParam(p.Kind, v)
		ft.Params[p.Name] = v
	}
	if strings.HasPrefix(ft.Target, "/") && strings.HasPrefix(ft.Kind, "http.") {
		if r, ok := ft.Params["route"]; ok && r != ft.Target {
			l.errorf(given["route"], join(path, "route"), "route %q differs from the target %q; give one", r, ft.Target)
		} else {
			ft.Params["route"] = ft.Target
		}
	}
}

// checkParam validates a parameter value against its unit.
func checkParam(k ParamKind, v string) error {
	switch k {
	case ParamDuration, ParamDurationOrZero, ParamSignedDuration:
		d, err := ParseDuration(v)
		if err != nil {
			return err
		}
		switch {
		case k == ParamDuration && d <= 0:
			return fmt.Errorf("duration must be above 0, got %s", v)
		case k == ParamDurationOrZero && d < 0:
			return fmt.Errorf("duration must be at least 0, got %s", v)
		case k == ParamSignedDuration && d == 0:
			return fmt.Errorf("duration must not be 0")
		}
	case ParamByteRate:
		n, err := ParseByteRate(v)
		if err != nil {
			return err
		}
		if n <= 0 {
			return fmt.Errorf("rate must be above 0, got %s", v)
		}
	case ParamBytes:
		n, err := ParseByteSize(v)
		if err != nil {
			return err
		}
		if n <= 0 {
			return fmt.Errorf("size must be above 0, got %s", v)
		}
	case ParamPercent:
		if _, err := ParseFraction(v); err != nil {
			return err
		}
	case ParamStatus:
		n, err := strconv.Atoi(v)
		if err != nil || n < 400 || n > 599 {
			return fmt.Errorf("want an HTTP error status from 400 to 599, got %q", v)
		}
	case ParamCount:
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return fmt.Errorf("want a whole number at least 1, got %q", v)
		}
	case ParamMethod:
		if !contains(knownMethods(), strings.ToUpper(v)) {
			return fmt.Errorf("unknown HTTP method %q%s", v, didYouMean(v, knownMethods()))
		}
	case ParamDirection:
		if v != "upstream" && v != "downstream" && v != "both" {
			return fmt.Errorf("unknown direction %q, want upstream, downstream or both", v)
		}
	case ParamRoute:
		if !strings.HasPrefix(v, "/") {
			return fmt.Errorf("route %q must start with /", v)
		}
	}
	return nil
}

// normalizeParam stores a checked parameter in one canonical spelling:
// percentages as "N%", byte rates without "/s", methods in upper case.
func normalizeParam(k ParamKind, v string) string {
	v = strings.TrimSpace(v)
	switch k {
	case ParamPercent:
		f, _ := ParseFraction(v)
		return formatPercent(f)
	case ParamByteRate:
		if base, ok := strings.CutSuffix(strings.ToLower(v), "/s"); ok {
			return strings.TrimSpace(v[:len(base)])
		}
	case ParamMethod:
		return strings.ToUpper(v)
	}
	return v
}

// formatPercent writes a fraction as a percentage: 0.5 → "50%".
func formatPercent(f float64) string {
	return strconv.FormatFloat(math.Round(f*100*1e9)/1e9, 'f', -1, 64) + "%"
}
