package scenarios

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// Limits that keep a hostile or mistaken file from exhausting memory.
const (
	maxFileSize  = 8 << 20
	maxAliases   = 10000
	maxPoolRows  = 1_000_000
	maxDataBytes = 64 << 20
)

// LoadFile reads, parses and validates a scenario file. Data files named by the
// scenario are read relative to its directory. On invalid input the error is an
// Errors value listing every problem; nothing but a complete valid Spec is returned.
// (It is not called Load because Load is the type of the load section.)
func LoadFile(path string) (*Spec, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("load scenario: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("load scenario: %w", err)
	}
	if st.Size() > maxFileSize {
		return nil, fmt.Errorf("load scenario %s: file is larger than %d bytes", path, maxFileSize)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("load scenario: %w", err)
	}
	return LoadBytes(path, data, filepath.Dir(path))
}

// LoadBytes parses and validates a scenario from memory. name is used in
// messages and as Spec.Path; data files are read relative to dir.
func LoadBytes(name string, data []byte, dir string) (*Spec, error) {
	if len(data) > maxFileSize {
		return nil, Errors{{File: name, Msg: fmt.Sprintf("file is larger than %d bytes", maxFileSize)}}
	}
	l := &loader{file: name, dir: dir}
	var doc yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&doc); err != nil && err != io.EOF {
		l.yamlError(err)
		return nil, l.errs
	}
	var more yaml.Node
	if err := dec.Decode(&more); err != io.EOF {
		line := 1
		if err == nil {
			line = more.Line
		}
		l.errs = append(l.errs, &Error{File: name, Line: line, Column: 1, Msg: "a scenario file holds one YAML document; remove the second ---"})
		return nil, l.errs
	}
	if doc.Kind == 0 || len(doc.Content) == 0 {
		l.errs = append(l.errs, &Error{File: name, Line: 1, Column: 1, Msg: "empty scenario file; start with version: 1"})
		return nil, l.errs
	}
	spec := l.spec(doc.Content[0])
	if len(l.errs) > 0 {
		l.errs.sort()
		return nil, l.errs
	}
	spec.Path = name
	return spec, nil
}

// loader walks the YAML node tree, collecting every problem with its place.
type loader struct {
	file    string
	dir     string
	errs    Errors
	aliases int

	pools    map[string]*Pool
	badPools map[string]bool // pools with errors of their own
	names    map[string]bool // workload item and step names
	faults   map[string]bool
	windows  map[string]bool // names of windows:
	isLab    bool
	hasLab   bool
	kube     *Kubernetes // target.kubernetes, nil without one
	loadEnds time.Duration
	// usesCapacity lists the values written relative to the capacity; capacityNode is the
	// capacity: block (nil without one).
	usesCapacity []capUse
	capacityNode *yaml.Node

	// labDBReplicas is target.lab.db-replicas (0 without a lab).
	labDBReplicas int
	// tlsNode is target.tls, labTLSNode target.lab.tls when true (nil otherwise; tls.go).
	tlsNode, labTLSNode *yaml.Node
}

var yamlLineRE = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// yamlError turns a yaml.v3 syntax error into positioned Errors.
func (l *loader) yamlError(err error) {
	var te *yaml.TypeError
	msgs := []string{err.Error()}
	if errors.As(err, &te) {
		msgs = te.Errors
	}
	for _, m := range msgs {
		e := &Error{File: l.file, Line: 1, Column: 1, Msg: strings.TrimPrefix(m, "yaml: ")}
		if sm := yamlLineRE.FindStringSubmatch(m); sm != nil {
			e.Line, _ = strconv.Atoi(sm[1])
			e.Msg = "yaml: " + sm[2]
		} else {
			e.Msg = "yaml: " + e.Msg
		}
		l.errs = append(l.errs, e)
	}
}

func (l *loader) errorf(n *yaml.Node, field, format string, args ...any) {
	e := &Error{File: l.file, Field: field, Msg: fmt.Sprintf(format, args...)}
	if n != nil {
		e.Line, e.Column = n.Line, n.Column
	}
	l.errs = append(l.errs, e)
}

// join appends a field name to a path; a name with a control character is quoted,
// so that a message never carries one.
func join(path, name string) string {
	if _, ok := firstControl(name, false); ok {
		name = strconv.Quote(name)
	}
	if path == "" {
		return name
	}
	return path + "." + name
}

func index(path string, i int) string { return fmt.Sprintf("%s[%d]", path, i) }

// resolve follows aliases, with a budget against alias bombs.
func (l *loader) resolve(n *yaml.Node) *yaml.Node {
	for n != nil && n.Kind == yaml.AliasNode {
		l.aliases++
		if l.aliases > maxAliases {
			return nil
		}
		n = n.Alias
	}
	return n
}

// kindName names the type of a node for messages.
func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		switch n.Tag {
		case "!!int", "!!float":
			return "a number (" + n.Value + ")"
		case "!!bool":
			return "a boolean (" + n.Value + ")"
		case "!!null":
			return "null"
		}
		return fmt.Sprintf("a string (%q)", n.Value)
	}
	return "nothing"
}

// fields is a checked YAML mapping: known keys in file order.
type fields struct {
	node *yaml.Node
	path string
	vals map[string]*yaml.Node
	keys map[string]*yaml.Node
}

func (f fields) get(name string) *yaml.Node { return f.vals[name] }
func (f fields) has(name string) bool       { return f.vals[name] != nil }

// mapping checks that n is a mapping with only known keys (reporting unknown
// keys with a suggestion, and duplicates). ok is false when n is no mapping.
func (l *loader) mapping(n *yaml.Node, path string, known ...string) (fields, bool) {
	f := fields{node: n, path: path, vals: map[string]*yaml.Node{}, keys: map[string]*yaml.Node{}}
	n = l.resolve(n)
	if n == nil {
		l.errorf(f.node, path, "too many aliases")
		return f, false
	}
	f.node = n
	if n.Kind != yaml.MappingNode {
		l.errorf(n, path, "want a mapping, got %s", kindName(n))
		return f, false
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		key := k.Value
		if k.Kind != yaml.ScalarNode {
			l.errorf(k, path, "keys must be strings")
			continue
		}
		if key == "<<" {
			l.errorf(k, path, "merge keys (<<) are not supported")
			continue
		}
		if known != nil && !contains(known, key) {
			l.errorf(k, join(path, key), "unknown field %q%s", key, didYouMean(key, known))
			continue
		}
		if f.keys[key] != nil {
			l.errorf(k, join(path, key), "duplicate field %q (first at line %d)", key, f.keys[key].Line)
			continue
		}
		f.keys[key], f.vals[key] = k, v
	}
	return f, true
}

// pairs returns the key/value pairs of a mapping with free keys, in file order.
func (l *loader) pairs(n *yaml.Node, path string) ([][2]*yaml.Node, bool) {
	n = l.resolve(n)
	if n == nil {
		return nil, false
	}
	if n.Kind != yaml.MappingNode {
		l.errorf(n, path, "want a mapping, got %s", kindName(n))
		return nil, false
	}
	var out [][2]*yaml.Node
	seen := map[string]int{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind != yaml.ScalarNode {
			l.errorf(k, path, "keys must be strings")
			continue
		}
		if line, dup := seen[k.Value]; dup {
			l.errorf(k, join(path, k.Value), "duplicate key %q (first at line %d)", k.Value, line)
			continue
		}
		seen[k.Value] = k.Line
		out = append(out, [2]*yaml.Node{k, v})
	}
	return out, true
}

// list returns the items of a sequence.
func (l *loader) list(n *yaml.Node, path string) ([]*yaml.Node, bool) {
	n = l.resolve(n)
	if n == nil {
		return nil, false
	}
	if n.Kind != yaml.SequenceNode {
		l.errorf(n, path, "want a list, got %s", kindName(n))
		return nil, false
	}
	return n.Content, true
}

// require reports a missing required field and returns its node or nil.
func (l *loader) require(f fields, name string) *yaml.Node {
	n := f.get(name)
	if n == nil {
		l.errorf(f.node, join(f.path, name), "missing required field")
	}
	return n
}

// scalar returns a non-null scalar node's text.
func (l *loader) scalar(n *yaml.Node, path string) (*yaml.Node, bool) {
	n = l.resolve(n)
	if n == nil {
		return nil, false
	}
	if n.Kind != yaml.ScalarNode || n.Tag == "!!null" {
		l.errorf(n, path, "want a string, got %s", kindName(n))
		return nil, false
	}
	return n, true
}

func (l *loader) str(n *yaml.Node, path string) (string, bool) {
	s, ok := l.scalar(n, path)
	if !ok {
		return "", false
	}
	return s.Value, true
}

func (l *loader) integer(n *yaml.Node, path string) (int64, bool) {
	s, ok := l.scalar(n, path)
	if !ok {
		return 0, false
	}
	var v int64
	if s.Tag != "!!int" || s.Decode(&v) != nil {
		l.errorf(s, path, "want an integer, got %s", kindName(s))
		return 0, false
	}
	return v, true
}

// intIn reads an integer within [lo, hi].
func (l *loader) intIn(n *yaml.Node, path string, lo, hi int64) (int, bool) {
	v, ok := l.integer(n, path)
	if !ok {
		return 0, false
	}
	if v < lo || v > hi {
		if hi == math.MaxInt32 {
			l.errorf(n, path, "must be at least %d, got %d", lo, v)
		} else {
			l.errorf(n, path, "must be from %d to %d, got %d", lo, hi, v)
		}
		return 0, false
	}
	return int(v), true
}

func (l *loader) number(n *yaml.Node, path string) (float64, bool) {
	s, ok := l.scalar(n, path)
	if !ok {
		return 0, false
	}
	var v float64
	if (s.Tag != "!!int" && s.Tag != "!!float") || s.Decode(&v) != nil || math.IsNaN(v) || math.IsInf(v, 0) {
		l.errorf(s, path, "want a number, got %s", kindName(s))
		return 0, false
	}
	return v, true
}

func (l *loader) boolean(n *yaml.Node, path string) (bool, bool) {
	s, ok := l.scalar(n, path)
	if !ok {
		return false, false
	}
	var v bool
	if s.Tag != "!!bool" || s.Decode(&v) != nil {
		l.errorf(s, path, "want true or false, got %s", kindName(s))
		return false, false
	}
	return v, true
}

// duration reads a duration; positive requires > 0, otherwise >= 0.
func (l *loader) duration(n *yaml.Node, path string, positive bool) (time.Duration, bool) {
	s, ok := l.scalar(n, path)
	if !ok {
		return 0, false
	}
	d, err := ParseDuration(s.Value)
	if err != nil {
		l.errorf(s, path, "%v", err)
		return 0, false
	}
	if d < 0 || positive && d == 0 {
		cmp := "at least 0"
		if positive {
			cmp = "above 0"
		}
		l.errorf(s, path, "duration must be %s, got %s", cmp, s.Value)
		return 0, false
	}
	return d, true
}

// oneOf reads a string from a fixed set.
func (l *loader) oneOf(n *yaml.Node, path string, set ...string) (string, bool) {
	s, ok := l.str(n, path)
	if !ok {
		return "", false
	}
	if !contains(set, s) {
		l.errorf(n, path, "unknown value %q, want one of %s%s", s, strings.Join(set, ", "), didYouMean(s, set))
		return "", false
	}
	return s, true
}

func contains(set []string, s string) bool {
	for _, x := range set {
		if x == s {
			return true
		}
	}
	return false
}

var nameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9-]*$`)

// spec walks the top level.
func (l *loader) spec(root *yaml.Node) *Spec {
	s := &Spec{}
	f, ok := l.mapping(root, "", "version", "name", "description", "target", "defaults", "data",
		"workload", "load", "thresholds", "faults", "windows", "verify", "probe", "capacity", "transport")
	if !ok {
		return s
	}
	if n := l.require(f, "version"); n != nil {
		if v, ok := l.integer(n, "version"); ok {
			if v != 1 {
				l.errorf(n, "version", "unsupported version %d: this loadlab reads version 1", v)
			}
			s.Version = int(v)
		}
	}
	if n := l.require(f, "name"); n != nil {
		if v, ok := l.str(n, "name"); ok {
			if !nameRE.MatchString(v) {
				l.errorf(n, "name", "bad name %q: use lower-case letters, digits and -", v)
			}
			s.Name = v
		}
	}
	if n := f.get("description"); n != nil {
		s.Description, _ = l.str(n, "description")
	}
	if n := l.require(f, "target"); n != nil {
		s.Target = l.target(n)
	}
	s.Defaults = Defaults{Timeout: 10 * time.Second}
	if n := f.get("defaults"); n != nil {
		s.Defaults = l.defaults(n)
	}
	s.Data = map[string]*Pool{}
	if n := f.get("data"); n != nil {
		s.Data = l.data(n)
	}
	l.pools = s.Data
	l.names = map[string]bool{}
	if n := l.require(f, "workload"); n != nil {
		s.Workload = l.workload(n, s.Defaults)
		l.kindSteps(n, s.Workload)
	}
	if n := f.get("probe"); n != nil {
		s.Probe = l.probe(n, s.Defaults)
	}
	if n := l.require(f, "load"); n != nil {
		s.Load = l.load(n)
		l.loadEnds = s.Load.Total()
	}
	if n := f.get("capacity"); n != nil {
		l.capacityNode = n
		s.Capacity = l.capacity(n)
	}
	l.faults = map[string]bool{}
	if n := f.get("faults"); n != nil {
		s.Faults = l.faultList(n)
	}
	l.windows = map[string]bool{}
	if n := f.get("windows"); n != nil {
		s.Windows = l.windowList(n)
	}
	if n := f.get("thresholds"); n != nil {
		s.Thresholds = l.thresholds(n)
	}
	if n := f.get("verify"); n != nil {
		s.Verify = l.verify(n)
	}
	if n := f.get("transport"); n != nil {
		if v, ok := l.oneOf(n, "transport", Transports()...); ok {
			s.Transport, s.TransportPos = v, Pos{Line: n.Line, Column: n.Column}
			if v == TransportAuto {
				s.Transport = "" // the default, left out of the spec
			}
		}
	}
	l.checkRunWide(s)
	l.checkCapacity(s)
	l.checkTLS(s, l.tlsNode, l.labTLSNode)
	l.errs = append(l.errs, s.transportErrors(s.Transport, l.file)...)
	return s
}

func (l *loader) target(n *yaml.Node) Target {
	var t Target
	f, ok := l.mapping(n, "target", "url", "lab", "kubernetes", "tls")
	if !ok {
		return t
	}
	if n := f.get("tls"); n != nil {
		l.tlsNode, t.TLS = f.keys["tls"], l.targetTLS(n)
	}
	if n := f.get("kubernetes"); n != nil {
		if f.has("url") || f.has("lab") {
			l.errorf(f.keys["kubernetes"], "target", "give one of url, lab or kubernetes (whose url: says where the load goes)")
		}
		l.kube = l.kubernetes(n)
		t.Kubernetes, t.URL = l.kube, l.kube.URL
		return t
	}
	switch {
	case f.has("url") && f.has("lab"):
		l.errorf(f.keys["lab"], "target", "give either url or lab, not both")
	case !f.has("url") && !f.has("lab"):
		l.errorf(f.node, "target", "missing url, lab or kubernetes: say where the traffic goes")
	}
	if n := f.get("url"); n != nil {
		if v, ok := l.str(n, "target.url"); ok {
			u, err := url.Parse(v)
			if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
				l.errorf(n, "target.url", "want an absolute http or https URL, got %q", v)
			}
			t.URL = strings.TrimRight(v, "/")
		}
	}
	if n := f.get("lab"); n != nil {
		l.hasLab = true
		l.isLab = !f.has("url")
		t.Lab = l.lab(n)
		l.labDBReplicas = t.Lab.DBReplicas
	}
	return t
}

func (l *loader) lab(n *yaml.Node) *Lab {
	lab := &Lab{Replicas: 1, Cache: "memory", Seed: LabSeed{Users: 1000, Courses: 50, Seed: 1}, BcryptCost: 4}
	f, ok := l.mapping(n, "target.lab", "replicas", "cache", "seed", "bcrypt-cost", "db-max-conns", "academy-args", "db-replicas", "tls")
	if !ok {
		return lab
	}
	if n := f.get("tls"); n != nil {
		if lab.TLS, _ = l.boolean(n, "target.lab.tls"); lab.TLS {
			l.labTLSNode = f.keys["tls"]
		}
	}
	if n := f.get("replicas"); n != nil {
		lab.Replicas, _ = l.intIn(n, "target.lab.replicas", 1, 32)
	}
	if n := f.get("db-replicas"); n != nil {
		lab.DBReplicas, _ = l.intIn(n, "target.lab.db-replicas", 0, 8)
	}
	if n := f.get("cache"); n != nil {
		lab.Cache, _ = l.oneOf(n, "target.lab.cache", "redis", "redis-cluster", "memory", "none")
	}
	if n := f.get("bcrypt-cost"); n != nil {
		lab.BcryptCost, _ = l.intIn(n, "target.lab.bcrypt-cost", 4, 16)
	}
	if n := f.get("db-max-conns"); n != nil {
		lab.DBMaxConns, _ = l.intIn(n, "target.lab.db-max-conns", 1, 1000)
	}
	if n := f.get("academy-args"); n != nil {
		if items, ok := l.list(n, "target.lab.academy-args"); ok {
			for i, item := range items {
				p := index("target.lab.academy-args", i)
				if v, ok := l.str(item, p); ok {
					if !strings.HasPrefix(v, "-") && (i == 0 || !strings.HasPrefix(lab.AcademyArgs[len(lab.AcademyArgs)-1], "-")) {
						l.errorf(item, p, "%q is not a flag: write flags of `academy serve`, like --db-queue-wait, each followed by its value", v)
					}
					lab.AcademyArgs = append(lab.AcademyArgs, v)
				}
			}
		}
	}
	if n := f.get("seed"); n != nil {
		sf, ok := l.mapping(n, "target.lab.seed", "users", "courses", "seed")
		if ok {
			if n := sf.get("users"); n != nil {
				lab.Seed.Users, _ = l.intIn(n, "target.lab.seed.users", 1, 10_000_000)
			}
			if n := sf.get("courses"); n != nil {
				lab.Seed.Courses, _ = l.intIn(n, "target.lab.seed.courses", 1, 1_000_000)
			}
			if n := sf.get("seed"); n != nil {
				lab.Seed.Seed, _ = l.integer(n, "target.lab.seed.seed")
			}
		}
	}
	return lab
}

func (l *loader) defaults(n *yaml.Node) Defaults {
	d := Defaults{Timeout: 10 * time.Second}
	f, ok := l.mapping(n, "defaults", "headers", "timeout")
	if !ok {
		return d
	}
	if n := f.get("headers"); n != nil {
		d.Headers = l.headers(n, "defaults.headers", nil)
	}
	if n := f.get("timeout"); n != nil {
		if v, ok := l.duration(n, "defaults.timeout", true); ok {
			d.Timeout = v
		}
	}
	return d
}

func (l *loader) verify(n *yaml.Node) []string {
	known := KnownVerifications()
	items, ok := l.list(n, "verify")
	if !ok {
		return nil
	}
	var out []string
	seen := map[string]bool{}
	for i, item := range items {
		p := index("verify", i)
		v, ok := l.str(item, p)
		if !ok {
			continue
		}
		switch {
		case !contains(known, v):
			l.errorf(item, p, "unknown check %q, want one of %s%s", v, strings.Join(known, ", "), didYouMean(v, known))
		case seen[v]:
			l.errorf(item, p, "duplicate check %q", v)
		default:
			seen[v] = true
			out = append(out, v)
		}
	}
	return out
}

// KnownVerifications lists the after-run checks a scenario's verify: may name.
func KnownVerifications() []string {
	return []string{"enrollments-durable", "seats-never-oversold", "progress-monotonic", "reads-see-own-writes"}
}

// Executors (Load.Executor).
const (
	ExecutorConstantArrivalRate = "constant-arrival-rate" // Rate iterations per TimeUnit for Duration (open model)
	ExecutorRampingArrivalRate  = "ramping-arrival-rate"  // from StartRate through Stages (open model)
	ExecutorConstantVUs         = "constant-vus"          // VUs in a closed loop for Duration
)

// Executors lists the executors a load: section may name.
func Executors() []string {
	return []string{ExecutorConstantArrivalRate, ExecutorRampingArrivalRate, ExecutorConstantVUs}
}

// Total is the load's length: the duration, or the sum of the stages.
func (ld Load) Total() time.Duration {
	if ld.Executor == ExecutorRampingArrivalRate {
		var t time.Duration
		for _, s := range ld.Stages {
			t += s.Duration
		}
		return t
	}
	return ld.Duration
}

func (l *loader) load(n *yaml.Node) Load {
	ld := Load{TimeUnit: time.Second, MaxInFlight: 1000}
	f, ok := l.mapping(n, "load", "executor", "rate", "timeUnit", "duration", "startRate", "stages", "vus", "maxInFlight", "maxLostWorkers", "maxLostShare")
	if !ok {
		return ld
	}
	if n := l.require(f, "executor"); n != nil {
		ld.Executor, _ = l.oneOf(n, "load.executor", Executors()...)
	}
	uses := map[string][]string{
		ExecutorConstantArrivalRate: {"rate", "timeUnit", "duration"},
		ExecutorRampingArrivalRate:  {"startRate", "timeUnit", "stages"},
		ExecutorConstantVUs:         {"vus", "duration"},
	}[ld.Executor]
	if uses != nil {
		for _, k := range []string{"rate", "timeUnit", "duration", "startRate", "stages", "vus"} {
			if f.has(k) && !contains(uses, k) {
				l.errorf(f.keys[k], join("load", k), "%s does not use %s (it uses %s)", ld.Executor, k, strings.Join(uses, ", "))
			}
		}
		for _, k := range uses {
			if k != "timeUnit" && k != "startRate" {
				l.require(f, k)
			}
		}
	}
	if n := f.get("rate"); n != nil && contains(uses, "rate") {
		if v, ofCap, ok := l.rate(n, "load.rate"); ok {
			if v <= 0 {
				l.errorf(n, "load.rate", "rate must be above 0, got %v", v)
			}
			ld.Rate, ld.RateOfCapacity = v, ofCap
		}
	}
	if n := f.get("timeUnit"); n != nil && contains(uses, "timeUnit") {
		if v, ok := l.duration(n, "load.timeUnit", true); ok {
			ld.TimeUnit = v
		}
	}
	if n := f.get("duration"); n != nil && contains(uses, "duration") {
		ld.Duration, _ = l.duration(n, "load.duration", true)
	}
	if n := f.get("startRate"); n != nil && contains(uses, "startRate") {
		if v, ofCap, ok := l.rate(n, "load.startRate"); ok {
			if v < 0 {
				l.errorf(n, "load.startRate", "startRate must be at least 0, got %v", v)
			}
			ld.StartRate, ld.StartRateOfCapacity = v, ofCap
		}
	}
	if n := f.get("stages"); n != nil && contains(uses, "stages") {
		if items, ok := l.list(n, "load.stages"); ok {
			if len(items) == 0 {
				l.errorf(n, "load.stages", "want at least one stage")
			}
			for i, item := range items {
				p := index("load.stages", i)
				sf, ok := l.mapping(item, p, "duration", "target")
				if !ok {
					continue
				}
				var st Stage
				if n := l.require(sf, "duration"); n != nil {
					st.Duration, _ = l.duration(n, join(p, "duration"), true)
				}
				if n := l.require(sf, "target"); n != nil {
					if v, ofCap, ok := l.rate(n, join(p, "target")); ok {
						if v < 0 {
							l.errorf(n, join(p, "target"), "target must be at least 0, got %v", v)
						}
						st.Target, st.OfCapacity = v, ofCap
					}
				}
				ld.Stages = append(ld.Stages, st)
			}
		}
	}
	if n := f.get("vus"); n != nil && contains(uses, "vus") {
		ld.VUs, _ = l.intIn(n, "load.vus", 1, 100_000)
	}
	if n := f.get("maxInFlight"); n != nil {
		if v, ok := l.intIn(n, "load.maxInFlight", 1, 1_000_000); ok {
			ld.MaxInFlight = v
		}
	}
	if n := f.get("maxLostWorkers"); n != nil {
		ld.MaxLostWorkers, _ = l.intIn(n, "load.maxLostWorkers", 0, 1_000_000)
		if f.has("maxLostShare") {
			l.errorf(f.keys["maxLostShare"], "load.maxLostShare", "give maxLostWorkers or maxLostShare, not both")
		}
	}
	if n := f.get("maxLostShare"); n != nil && !f.has("maxLostWorkers") {
		if s, ok := l.str(n, "load.maxLostShare"); ok {
			if v, err := ParseFraction(s); err != nil {
				l.errorf(n, "load.maxLostShare", "%v", err)
			} else {
				ld.MaxLostShare = v
			}
		}
	}
	if t := ld.Total(); t > 24*time.Hour {
		l.errorf(f.node, "load", "the load lasts %s; the longest run is 24h", t)
	}
	return ld
}
