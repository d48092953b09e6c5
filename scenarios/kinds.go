package scenarios

import (
	"regexp"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// Request kinds (Request.Kind). A plain HTTP request has the kind "" (written `kind: http`
// or left out); the other kinds are journeys the engine runs as one measured request.
const (
	KindPage      = "page"      // an HTML page and its same-origin assets
	KindVideo     = "video"     // an HLS master playlist, one rendition's playlist and its first segments
	KindWebSocket = "websocket" // a WebSocket held open, sending chat messages and timing their echo
	KindBrowser   = "browser"   // a page loaded by headless Chromium, with optional steps (browser.go)
)

// RequestKinds lists the values of a request's kind: field.
func RequestKinds() []string {
	return []string{"http", KindPage, KindVideo, KindWebSocket, KindBrowser}
}

// Defaults of the request kinds and of the uptime probe.
const (
	DefaultPageConnections = 6
	DefaultVideoSegments   = 3
	DefaultVideoRendition  = "lowest"
	DefaultChatText        = "loadlab"
	DefaultProbeInterval   = time.Second
)

// SegmentsSuffix is appended to a video request's name for its second series: the time
// until the last of its segments arrived ("watch" and "watch/segments").
const SegmentsSuffix = "/segments"

// PageOptions are the settings of a page request.
type PageOptions struct {
	Connections int // concurrent asset requests, as a browser's connections per host; default 6
}

// VideoOptions are the settings of a video request.
type VideoOptions struct {
	Rendition string // "lowest" (default), "highest" (by BANDWIDTH), or a name such as 480p
	Segments  int    // segments fetched after the media playlist; default 3
}

// WebSocketOptions are the settings of a websocket request.
type WebSocketOptions struct {
	Interval time.Duration // between chat messages; 0 sends none (the connection is only held)
	Hold     time.Duration // how long the connection is held open
	Message  *Template     // chat text; default "loadlab"
}

// Probe is the spec-level uptime probe: one GET per Interval beside the load, counted apart.
type Probe struct {
	URL      string        // relative to the target (starts with /) or absolute http(s)
	Interval time.Duration // default 1s
	Timeout  time.Duration // default: the interval, at most defaults.timeout
	Pos      Pos
}

// kindFields maps each kind-specific request field to its kind.
var kindFields = map[string]string{
	"connections": KindPage,
	"rendition":   KindVideo,
	"segments":    KindVideo,
	"interval":    KindWebSocket,
	"hold":        KindWebSocket,
	"message":     KindWebSocket,
	"cache":       KindBrowser,
	"contexts":    KindBrowser,
	"steps":       KindBrowser,
}

// requestFields are the fields of a request mapping, with those of the kinds.
func requestFields(base ...string) []string {
	return append(base, "kind", "connections", "rendition", "segments", "interval", "hold", "message",
		"cache", "contexts", "steps")
}

var renditionRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]*$`)

// requestKind reads kind: and the fields of that kind into r, after the rest of the
// request was read; it reports fields that don't apply to the kind.
func (l *loader) requestKind(f fields, path string, r *Request, sc scope) {
	if n := f.get("kind"); n != nil {
		if v, ok := l.oneOf(n, join(path, "kind"), RequestKinds()...); ok && v != "http" {
			r.Kind = v
			r.slowPos = Pos{Line: n.Line, Column: n.Column}
		}
	}
	shown := r.Kind
	if shown == "" {
		shown = "http"
	}
	for field, kind := range kindFields {
		if f.has(field) && kind != r.Kind {
			l.errorf(f.keys[field], join(path, field), "%s applies to kind %s; this request is kind %s", field, kind, shown)
		}
	}
	if r.Kind == "" {
		return
	}
	if n := f.get("method"); n != nil && r.Method != "GET" {
		l.errorf(n, join(path, "method"), "a %s request is sent with GET, not %s", r.Kind, r.Method)
	}
	for _, field := range []string{"body", "json", "write", "read"} {
		if f.has(field) {
			l.errorf(f.keys[field], join(path, field), "%s does not apply to kind %s", field, r.Kind)
		}
	}
	if n := f.get("expect"); n != nil && r.Expect != nil {
		switch {
		case r.Kind == KindWebSocket:
			l.errorf(f.keys["expect"], join(path, "expect"), "expect does not apply to kind websocket; judge delivery with thresholds on latency{request:...} and errors{request:...}")
		case len(r.Expect.JSON) > 0:
			l.errorf(f.keys["expect"], join(path, "expect.json"), "expect.json does not apply to kind %s (status and latency do)", r.Kind)
		}
	}
	switch r.Kind {
	case KindPage:
		r.Page = &PageOptions{Connections: DefaultPageConnections}
		if n := f.get("connections"); n != nil {
			if v, ok := l.intIn(n, join(path, "connections"), 1, 64); ok {
				r.Page.Connections = v
			}
		}
	case KindVideo:
		r.Video = &VideoOptions{Rendition: DefaultVideoRendition, Segments: DefaultVideoSegments}
		if n := f.get("rendition"); n != nil {
			if v, ok := l.str(n, join(path, "rendition")); ok {
				if !renditionRE.MatchString(v) {
					l.errorf(n, join(path, "rendition"), "bad rendition %q: want lowest, highest, or a rendition name such as 480p", v)
				}
				r.Video.Rendition = v
			}
		}
		if n := f.get("segments"); n != nil {
			if v, ok := l.intIn(n, join(path, "segments"), 1, 1000); ok {
				r.Video.Segments = v
			}
		}
	case KindWebSocket:
		r.WebSocket = &WebSocketOptions{Message: MustTemplate(DefaultChatText)}
		if n := l.require(f, "hold"); n != nil {
			r.WebSocket.Hold, _ = l.duration(n, join(path, "hold"), true)
		}
		if n := f.get("interval"); n != nil {
			r.WebSocket.Interval, _ = l.duration(n, join(path, "interval"), false)
		}
		if n := f.get("message"); n != nil {
			p := join(path, "message")
			if v, ok := l.str(n, p); ok {
				if v == "" {
					l.errorf(n, p, "a chat message needs some text")
				} else if t := l.template(n, p, v, false, sc); t != nil {
					r.WebSocket.Message = t
				}
			}
		}
	case KindBrowser:
		r.Browser = l.browserOptions(f, path, sc)
	}
}

// kindSteps checks what the kinds ask of the workload as a whole: a video request's second
// series takes the name <name>/segments, and a step of a kind captures nothing. n is the
// workload node, for positions.
func (l *loader) kindSteps(n *yaml.Node, items []*Item) {
	var nodes []*yaml.Node
	if r := l.resolve(n); r != nil && r.Kind == yaml.SequenceNode {
		nodes = r.Content
	}
	at := func(i int, keys ...string) *yaml.Node { // the node at keys under item i, or the closest one found
		if i >= len(nodes) {
			return n
		}
		cur := nodes[i]
		for _, k := range keys {
			next := childNode(l.resolve(cur), k)
			if next == nil {
				break
			}
			cur = next
		}
		return cur
	}
	claim := func(node *yaml.Node, path, name string) {
		seg := name + SegmentsSuffix
		if l.names[seg] {
			l.errorf(node, path, "video request %q records its segments as %q, which another request is named; rename one", name, seg)
			return
		}
		l.names[seg] = true
	}
	for i, it := range items {
		if i >= len(nodes) {
			break
		}
		path := index("workload", i)
		if it.Request != nil && it.Request.Kind == KindVideo {
			claim(at(i, "name"), join(path, "name"), it.Name)
		}
		flow := at(i, "flow")
		var steps []*yaml.Node
		if r := l.resolve(flow); r != nil && r.Kind == yaml.SequenceNode {
			steps = r.Content
		}
		for j, s := range it.Flow {
			if s.Request == nil || s.Request.Kind == "" || j >= len(steps) {
				continue
			}
			p := index(join(path, "flow"), j)
			step := l.resolve(steps[j])
			if s.Request.Kind == KindVideo {
				node := step
				if c := childNode(step, "name"); c != nil {
					node = c
				}
				claim(node, join(p, "name"), s.Name)
			}
			if len(s.Capture) > 0 {
				node := step
				if c := childNode(step, "capture"); c != nil {
					node = c
				}
				l.errorf(node, join(p, "capture"), "a %s step captures nothing; capture in a plain request before it", s.Request.Kind)
			}
		}
	}
}

// childNode returns the value of key in a mapping node, or nil.
func childNode(m *yaml.Node, key string) *yaml.Node {
	if m == nil || m.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i+1]
		}
	}
	return nil
}

// probe reads the spec-level probe: section.
func (l *loader) probe(n *yaml.Node, defaults Defaults) *Probe {
	f, ok := l.mapping(n, "probe", "url", "interval", "timeout")
	if !ok {
		return nil
	}
	p := &Probe{Interval: DefaultProbeInterval, Pos: Pos{f.node.Line, f.node.Column}}
	if n := l.require(f, "url"); n != nil {
		if v, ok := l.str(n, "probe.url"); ok {
			c, hasControl := firstControl(v, false)
			switch {
			case hasControl:
				l.errorf(n, "probe.url", "%s", urlControlMsg(v, c))
			case strings.HasPrefix(v, "/"):
			case isAbsURL(v):
				if u, err := parseAbsURL(v); err != nil || u == "" {
					l.errorf(n, "probe.url", "bad absolute URL %q", v)
				}
			default:
				l.errorf(n, "probe.url", "url %q must start with / (relative to the target) or http:// or https://", v)
			}
			if strings.Contains(v, "{{") {
				l.errorf(n, "probe.url", "a probe URL is not a template")
			}
			p.URL = v
		}
	}
	if n := f.get("interval"); n != nil {
		if v, ok := l.duration(n, "probe.interval", true); ok {
			if v < 10*time.Millisecond {
				l.errorf(n, "probe.interval", "interval must be at least 10ms, got %s", n.Value)
			}
			p.Interval = v
		}
	}
	p.Timeout = min(p.Interval, defaults.Timeout)
	if n := f.get("timeout"); n != nil {
		if v, ok := l.duration(n, "probe.timeout", true); ok {
			p.Timeout = v
		}
	}
	return p
}

// hasWebSocket reports whether any request of the workload is of kind websocket.
func hasWebSocket(s *Spec) bool {
	for _, it := range s.Workload {
		if it.Request != nil && it.Request.Kind == KindWebSocket {
			return true
		}
		for _, st := range it.Flow {
			if st.Request != nil && st.Request.Kind == KindWebSocket {
				return true
			}
		}
	}
	return false
}

// checkRunWide reports thresholds that can't be measured: a metric without what it needs
// (uptime without a probe, connections or drops without a websocket request), and a
// run-wide metric that takes no tags, with tags.
func (l *loader) checkRunWide(s *Spec) {
	for _, th := range s.Thresholds {
		def, ok := LookupMetric(th.Metric)
		if !ok {
			continue
		}
		e := &Error{File: l.file, Line: th.Pos.Line, Column: th.Pos.Column, Field: "thresholds." + th.Metric}
		switch {
		case def.Needs == NeedsProbe && s.Probe == nil:
			e.Msg = th.Metric + " is measured by probes: add probe: {url: /healthz, interval: 1s}"
		case def.Needs == NeedsWebSocket && !hasWebSocket(s):
			e.Msg = th.Metric + " is measured on WebSocket connections: the workload has no request of kind websocket"
		case def.Needs == NeedsBrowser && !HasBrowser(s):
			e.Msg = th.Metric + " is measured by headless Chromium: the workload has no request of kind browser"
		case len(th.Tags) > 0 && len(def.Tags) == 0:
			e.Msg = th.Metric + " takes no tags: " + def.RunWide
		default:
			continue
		}
		l.errs = append(l.errs, e)
	}
}
