package scenarios

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

var requestNameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_./-]*$`)

// scope is what a template may name at one place of the workload.
type scope struct {
	captures []string // captured by earlier steps of the flow
	later    []string // captured by this or later steps (for a hint)
}

func (l *loader) workload(n *yaml.Node, defaults Defaults) []*Item {
	items, ok := l.list(n, "workload")
	if !ok {
		return nil
	}
	if len(items) == 0 {
		l.errorf(n, "workload", "want at least one item")
	}
	var out []*Item
	for i, node := range items {
		if it := l.item(node, index("workload", i), defaults); it != nil {
			out = append(out, it)
		}
	}
	return out
}

// claimName records a request name, reporting a duplicate.
func (l *loader) claimName(n *yaml.Node, path, name string) {
	if !requestNameRE.MatchString(name) {
		l.errorf(n, path, "bad name %q: use letters, digits, and _ . / -", name)
		return
	}
	if l.names[name] {
		l.errorf(n, path, "duplicate request name %q", name)
		return
	}
	l.names[name] = true
}

func (l *loader) item(n *yaml.Node, path string, defaults Defaults) *Item {
	f, ok := l.mapping(n, path, "name", "weight", "request", "flow")
	if !ok {
		return nil
	}
	it := &Item{Weight: 1}
	if n := l.require(f, "name"); n != nil {
		if v, ok := l.str(n, join(path, "name")); ok {
			it.Name = v
			l.claimName(n, join(path, "name"), v)
		}
	}
	if n := f.get("weight"); n != nil {
		if v, ok := l.integer(n, join(path, "weight")); ok {
			if v <= 0 || v > 1_000_000 {
				l.errorf(n, join(path, "weight"), "weight must be from 1 to 1000000, got %d", v)
			}
			it.Weight = int(v)
		}
	}
	switch {
	case f.has("request") && f.has("flow"):
		l.errorf(f.keys["flow"], path, "give either request or flow, not both")
	case !f.has("request") && !f.has("flow"):
		l.errorf(f.node, path, "missing request or flow")
	}
	if n := f.get("request"); n != nil {
		it.Request = l.request(n, join(path, "request"), defaults, scope{})
	}
	if n := f.get("flow"); n != nil {
		it.Flow = l.flow(n, join(path, "flow"), it.Name, defaults)
	}
	return it
}

func (l *loader) flow(n *yaml.Node, path, item string, defaults Defaults) []*Step {
	items, ok := l.list(n, path)
	if !ok {
		return nil
	}
	if len(items) == 0 {
		l.errorf(n, path, "want at least one step")
		return nil
	}
	// First pass: names and captures, so templates can be checked against earlier steps.
	type raw struct {
		f    fields
		step *Step
	}
	raws := make([]raw, len(items))
	var all []string
	for i, node := range items {
		p := index(path, i)
		f, ok := l.mapping(node, p, "name", "request", "capture")
		if !ok {
			continue
		}
		s := &Step{Name: fmt.Sprintf("%s/%d", item, i+1)}
		if n := f.get("name"); n != nil {
			if v, ok := l.str(n, join(p, "name")); ok {
				s.Name = v
				l.claimName(n, join(p, "name"), v)
			}
		} else if item != "" {
			l.claimName(f.node, join(p, "name"), s.Name)
		}
		if n := f.get("capture"); n != nil {
			s.Capture = l.captures(n, join(p, "capture"))
			for _, c := range s.Capture {
				all = append(all, c.Name)
			}
		}
		raws[i] = raw{f, s}
	}
	var out []*Step
	var captured []string
	for i, r := range raws {
		if r.step == nil {
			continue
		}
		p := index(path, i)
		if n := l.require(r.f, "request"); n != nil {
			r.step.Request = l.request(n, join(p, "request"), defaults, scope{captures: captured, later: all})
		}
		for _, c := range r.step.Capture {
			captured = append(captured, c.Name)
		}
		out = append(out, r.step)
	}
	return out
}

func (l *loader) captures(n *yaml.Node, path string) []*Capture {
	pairs, ok := l.pairs(n, path)
	if !ok {
		return nil
	}
	var out []*Capture
	for _, kv := range pairs {
		name, p := kv[0].Value, join(path, kv[0].Value)
		switch {
		case !isIdent(name):
			l.errorf(kv[0], p, "bad capture name %q: use letters, digits, _ and -", name)
			continue
		case isTemplateFunc(name):
			l.errorf(kv[0], p, "capture name %q is a template function; choose another", name)
			continue
		case l.pools[name] != nil:
			l.errorf(kv[0], p, "capture name %q is also a data pool; choose another", name)
			continue
		}
		from, ok := l.str(kv[1], p)
		if !ok {
			continue
		}
		c := &Capture{Name: name, From: from}
		if h, isHeader := strings.CutPrefix(from, "header:"); isHeader {
			if !validHeaderName(strings.TrimSpace(h)) {
				l.errorf(kv[1], p, "bad header name %q", h)
				continue
			}
		} else {
			path, err := parseJSONPath(from)
			if err != nil {
				l.errorf(kv[1], p, "%v (or header:Name for a response header)", err)
				continue
			}
			c.path = path
		}
		out = append(out, c)
	}
	return out
}

func validHeaderName(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if r >= 0x7f || r <= ' ' || strings.ContainsRune(`"(),/:;<=>?@[\]{}`, r) {
			return false
		}
	}
	return true
}

func knownMethods() []string {
	return []string{"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "CONNECT", "TRACE"}
}

func (l *loader) request(n *yaml.Node, path string, defaults Defaults, sc scope) *Request {
	f, ok := l.mapping(n, path, requestFields("method", "url", "headers", "body", "json", "timeout", "expect", "write", "read")...)
	if !ok {
		return nil
	}
	r := &Request{Method: http.MethodGet, Timeout: defaults.Timeout}
	if n := f.get("method"); n != nil {
		if v, ok := l.str(n, join(path, "method")); ok {
			if up := strings.ToUpper(v); contains(knownMethods(), up) {
				r.Method = up
				if up == http.MethodConnect {
					r.slowPos = Pos{Line: n.Line, Column: n.Column}
				}
			} else {
				l.errorf(n, join(path, "method"), "unknown HTTP method %q%s", v, didYouMean(v, knownMethods()))
			}
		}
	}
	if n := l.require(f, "url"); n != nil {
		p := join(path, "url")
		if v, ok := l.str(n, p); ok {
			r.URL = l.template(n, p, v, false, sc)
			if r.URL != nil {
				l.checkURL(n, p, r.URL)
			}
		}
	}
	r.Headers = map[string]*Template{}
	if n := f.get("headers"); n != nil {
		r.Headers = l.headers(n, join(path, "headers"), &sc)
	}
	for k, v := range defaults.Headers {
		if _, ok := r.Headers[k]; !ok {
			r.Headers[k] = v
		}
	}
	if f.has("body") && f.has("json") {
		l.errorf(f.keys["json"], path, "give either body or json, not both")
	}
	if n := f.get("body"); n != nil {
		p := join(path, "body")
		if v, ok := l.str(n, p); ok {
			r.Body = l.template(n, p, v, false, sc)
		}
	}
	if n := f.get("json"); n != nil {
		p := join(path, "json")
		var b strings.Builder
		if l.renderJSON(&b, n, p, 0, sc) {
			// Each string was checked where it stands; the whole body cannot fail to parse.
			t, err := parseTemplate(b.String(), true)
			if err != nil {
				l.errorf(n, p, "template: %v", err)
			}
			r.Body = t
		}
		if _, ok := r.Headers["Content-Type"]; !ok {
			r.Headers["Content-Type"] = &Template{Source: "application/json", parsed: true,
				parts: []part{{kind: partLit, text: "application/json"}}}
		}
	}
	if n := f.get("timeout"); n != nil {
		if v, ok := l.duration(n, join(path, "timeout"), true); ok {
			r.Timeout = v
		}
	}
	if n := f.get("expect"); n != nil {
		r.Expect = l.expect(n, join(path, "expect"))
	}
	if n := f.get("write"); n != nil {
		r.Write = l.write(n, join(path, "write"), r)
	}
	if n := f.get("read"); n != nil {
		r.Read = l.read(n, join(path, "read"), r, f.has("write"))
	}
	l.requestKind(f, path, r, sc)
	return r
}

// checkURL checks a URL template: relative (starting with / or ?) or absolute http(s),
// with no control character in its literal text (values of {{ }} are rendered at run time).
// A literal URL is parsed as Request.Build parses it.
func (l *loader) checkURL(n *yaml.Node, path string, t *Template) {
	src := t.Source
	if c, ok := t.literalControl(false); ok {
		l.errorf(n, path, "%s", urlControlMsg(src, c))
		return
	}
	if isAbsURL(src) {
		if t.IsLiteral() {
			if u, err := parseAbsURL(src); err != nil || u == "" {
				l.errorf(n, path, "bad absolute URL %q", src)
			}
		}
		return
	}
	if strings.HasPrefix(src, "{{") {
		return
	}
	if !strings.HasPrefix(src, "/") && !strings.HasPrefix(src, "?") {
		l.errorf(n, path, "url %q must start with / (relative to the target) or http:// or https://", src)
		return
	}
	if t.IsLiteral() {
		if _, err := url.Parse(joinURL("http://target", src)); err != nil {
			l.errorf(n, path, "bad url %q: %v", src, errors.Unwrap(err))
		}
	}
}

// urlControlMsg says that the URL u has the control character c.
func urlControlMsg(u string, c byte) string {
	return fmt.Sprintf("url %q has control character %U; percent-encode it (%%%02X) if it belongs there", u, c, c)
}

// isControl reports whether b is an ASCII control character (C0 or DEL), which no URL,
// header name or header value may carry as it is (a header value may carry a tab).
func isControl(b byte) bool { return b < ' ' || b == 0x7f }

// firstControl returns the first control character of s; a tab passes when tab is set.
func firstControl(s string, tab bool) (byte, bool) {
	for i := 0; i < len(s); i++ {
		if isControl(s[i]) && !(tab && s[i] == '\t') {
			return s[i], true
		}
	}
	return 0, false
}

// literalControl returns the first control character of the template's literal text.
func (t *Template) literalControl(tab bool) (byte, bool) {
	for _, p := range t.parts {
		if p.kind != partLit {
			continue
		}
		if c, ok := firstControl(p.text, tab); ok {
			return c, true
		}
	}
	return 0, false
}

func parseAbsURL(s string) (string, error) {
	req, err := http.NewRequest(http.MethodGet, s, nil)
	if err != nil {
		return "", err
	}
	return req.URL.Host, nil
}

func (l *loader) headers(n *yaml.Node, path string, sc *scope) map[string]*Template {
	out := map[string]*Template{}
	pairs, ok := l.pairs(n, path)
	if !ok {
		return out
	}
	s := scope{}
	if sc != nil {
		s = *sc
	}
	for _, kv := range pairs {
		name, p := kv[0].Value, join(path, kv[0].Value)
		if !validHeaderName(name) {
			l.errorf(kv[0], p, "bad header name %q", name)
			continue
		}
		v, ok := l.str(kv[1], p)
		if !ok {
			continue
		}
		if strings.ContainsAny(v, "\r\n") {
			l.errorf(kv[1], p, "header value has a line break")
			continue
		}
		canon := http.CanonicalHeaderKey(name)
		if _, dup := out[canon]; dup {
			l.errorf(kv[0], p, "duplicate header %s", canon)
			continue
		}
		t := l.template(kv[1], p, v, false, s)
		if t == nil {
			continue
		}
		if c, bad := t.literalControl(true); bad {
			l.errorf(kv[1], p, "header value has control character %U (a tab is the only one allowed)", c)
			continue
		}
		out[canon] = t
	}
	return out
}

// renderJSON writes a YAML value as JSON; strings keep their {{ }} for the template parser.
func (l *loader) renderJSON(b *strings.Builder, n *yaml.Node, path string, depth int, sc scope) bool {
	n = l.resolve(n)
	if n == nil {
		l.errorf(nil, path, "too many aliases")
		return false
	}
	if depth > 100 {
		l.errorf(n, path, "json body nests too deep")
		return false
	}
	switch n.Kind {
	case yaml.MappingNode:
		pairs, ok := l.pairs(n, path)
		if !ok {
			return false
		}
		b.WriteByte('{')
		all := true
		for i, kv := range pairs {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteByte('"')
			writeJSONString(b, kv[0].Value)
			b.WriteString(`":`)
			if strings.Contains(kv[0].Value, "{{") {
				l.errorf(kv[0], join(path, kv[0].Value), "json keys are not templates; {{ is allowed only in values")
				all = false
			}
			all = l.renderJSON(b, kv[1], join(path, kv[0].Value), depth+1, sc) && all
		}
		b.WriteByte('}')
		return all
	case yaml.SequenceNode:
		b.WriteByte('[')
		all := true
		for i, item := range n.Content {
			if i > 0 {
				b.WriteByte(',')
			}
			all = l.renderJSON(b, item, index(path, i), depth+1, sc) && all
		}
		b.WriteByte(']')
		return all
	case yaml.ScalarNode:
		switch n.Tag {
		case "!!null":
			b.WriteString("null")
		case "!!bool":
			var v bool
			if n.Decode(&v) != nil {
				l.errorf(n, path, "bad boolean %q", n.Value)
				return false
			}
			b.WriteString(strconv.FormatBool(v))
		case "!!int", "!!float":
			var v float64
			if n.Decode(&v) != nil || math.IsNaN(v) || math.IsInf(v, 0) {
				l.errorf(n, path, "%s is not a JSON number", n.Value)
				return false
			}
			var i int64
			if n.Tag == "!!int" && n.Decode(&i) == nil {
				b.WriteString(strconv.FormatInt(i, 10))
			} else {
				j, _ := json.Marshal(v)
				b.Write(j)
			}
		default:
			if l.template(n, path, n.Value, false, sc) == nil {
				return false
			}
			b.WriteByte('"')
			b.WriteString(escapeOutsideTemplates(n.Value))
			b.WriteByte('"')
		}
	default:
		l.errorf(n, path, "unsupported YAML value")
		return false
	}
	return true
}

// escapeOutsideTemplates JSON-escapes the literal text of a string, keeping {{ }} expressions as they are.
func escapeOutsideTemplates(s string) string {
	var b strings.Builder
	for s != "" {
		i := strings.Index(s, "{{")
		if i < 0 {
			writeJSONString(&b, s)
			break
		}
		writeJSONString(&b, s[:i])
		j := strings.Index(s[i:], "}}")
		if j < 0 {
			b.WriteString(s[i:]) // the template parser reports the unclosed {{
			break
		}
		b.WriteString(s[i : i+j+2])
		s = s[i+j+2:]
	}
	return b.String()
}

// template parses and resolves a template at a place of the file.
func (l *loader) template(n *yaml.Node, path, src string, jsonEsc bool, sc scope) *Template {
	t, err := parseTemplate(src, jsonEsc)
	if err != nil {
		l.errorf(n, path, "template: %v", err)
		return nil
	}
	ok := true
	for _, p := range t.parts {
		switch p.kind {
		case partField, partRandomField:
			pool := l.pools[p.pool]
			if l.badPools[p.pool] {
				ok = false
			} else if pool == nil {
				l.errorf(n, path, "{{ %s }}: unknown data pool %q%s", p.expr, p.pool, didYouMean(p.pool, mapKeys(l.pools)))
				ok = false
			} else if !hasField(pool, p.field) {
				l.errorf(n, path, "{{ %s }}: pool %q has no field %q%s", p.expr, p.pool, p.field, didYouMean(p.field, poolFields(pool)))
				ok = false
			}
		case partVar:
			if contains(sc.captures, p.text) {
				continue
			}
			ok = false
			switch {
			case l.pools[p.text] != nil:
				fs := poolFields(l.pools[p.text])
				ex := "field"
				if len(fs) > 0 {
					ex = fs[0]
				}
				l.errorf(n, path, "{{ %s }}: %q is a data pool; name a field, like {{ %s.%s }}", p.expr, p.text, p.text, ex)
			case contains(sc.later, p.text):
				l.errorf(n, path, "{{ %s }}: %q is captured by this or a later step; a request can use only values captured by earlier steps", p.expr, p.text)
			default:
				cands := append(append([]string{}, templateFuncs[:]...), mapKeys(l.pools)...)
				cands = append(cands, sc.captures...)
				l.errorf(n, path, "{{ %s }}: unknown template name %q%s", p.expr, p.text, didYouMean(p.text, cands))
			}
		}
	}
	if !ok {
		return nil
	}
	return t
}

func mapKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func (l *loader) expect(n *yaml.Node, path string) *Expect {
	f, ok := l.mapping(n, path, "status", "json", "latency")
	if !ok {
		return nil
	}
	e := &Expect{}
	if n := f.get("status"); n != nil {
		p := join(path, "status")
		nodes := []*yaml.Node{n}
		if r := l.resolve(n); r != nil && r.Kind == yaml.SequenceNode {
			nodes = r.Content
			if len(nodes) == 0 {
				l.errorf(n, p, "want at least one status")
			}
		}
		for i, sn := range nodes {
			ip := p
			if len(nodes) > 1 || sn != n {
				ip = index(p, i)
			}
			if v, ok := l.intIn(sn, ip, 100, 599); ok {
				e.Status = append(e.Status, v)
			}
		}
	}
	if n := f.get("latency"); n != nil {
		e.MaxLatency, _ = l.duration(n, join(path, "latency"), true)
	}
	if n := f.get("json"); n != nil {
		items, ok := l.list(n, join(path, "json"))
		if ok {
			for i, item := range items {
				if c := l.jsonCheck(item, index(join(path, "json"), i)); c != nil {
					e.JSON = append(e.JSON, c)
				}
			}
		}
	}
	return e
}

func (l *loader) jsonCheck(n *yaml.Node, path string) *JSONCheck {
	f, ok := l.mapping(n, path, "path", "exists", "equals")
	if !ok {
		return nil
	}
	c := &JSONCheck{}
	if n := l.require(f, "path"); n != nil {
		if v, ok := l.str(n, join(path, "path")); ok {
			p, err := parseJSONPath(v)
			if err != nil {
				l.errorf(n, join(path, "path"), "%v", err)
			}
			c.Path, c.path = v, p
		}
	}
	if n := f.get("exists"); n != nil {
		if v, ok := l.boolean(n, join(path, "exists")); ok {
			c.Exists = &v
		}
	}
	if n := f.get("equals"); n != nil {
		if v, ok := l.str(n, join(path, "equals")); ok {
			c.Equals = &v
		}
	}
	if c.Exists != nil && !*c.Exists && c.Equals != nil {
		l.errorf(f.node, path, "equals contradicts exists: false")
	}
	return c
}
