package scenarios

import (
	"strings"

	"gopkg.in/yaml.v3"
)

// Browser request defaults and bounds (kind browser).
const (
	BrowserCold            = "cold" // every iteration starts with an empty HTTP cache (default)
	BrowserWarm            = "warm" // a context keeps its HTTP cache across iterations
	DefaultBrowserContexts = 2
	MaxBrowserContexts     = 32
	maxBrowserSteps        = 64
)

// Browser step actions (BrowserStep.Action).
const (
	StepClick = "click" // click the first element the selector matches
	StepType  = "type"  // type Text into the element the selector matches
	StepWait  = "wait"  // wait until an element the selector matches is visible
)

// BrowserOptions are the settings of a browser request: headless Chromium loads the URL
// in one of a bounded pool of browser contexts, then runs the steps in order.
type BrowserOptions struct {
	// Cache is BrowserCold (default: the context's HTTP cache is cleared before each
	// iteration) or BrowserWarm (kept: a returning visitor). Cookies and storage are
	// cleared before each iteration either way.
	Cache string
	// Contexts bounds the browser contexts open at once (the pool's size; each is a fresh
	// profile, as one virtual user). An iteration waits for a free one; the engine's pool
	// is as large as the largest Contexts of its browser requests. Default 2.
	Contexts int
	Steps    []*BrowserStep
}

// BrowserStep is one action after the page loaded: a click, typing, or a wait.
type BrowserStep struct {
	Action   string    // StepClick, StepType, StepWait
	Selector string    // a CSS selector
	Text     *Template // StepType only
	Pos      Pos
}

// HasBrowser reports whether any request of the workload is of kind browser.
func HasBrowser(s *Spec) bool {
	for _, r := range s.Requests() {
		if r.Kind == KindBrowser {
			return true
		}
	}
	return false
}

// Requests returns every request of the workload, single requests and flow steps, in order.
func (s *Spec) Requests() []*Request {
	var out []*Request
	for _, it := range s.Workload {
		if it.Request != nil {
			out = append(out, it.Request)
		}
		for _, st := range it.Flow {
			if st.Request != nil {
				out = append(out, st.Request)
			}
		}
	}
	return out
}

// BrowserKindPos returns where the first browser request's kind: is written and its field
// path (workload[0].request.kind); ok is false when the spec has no browser request.
// The position is zero for a Spec not loaded from a file.
func BrowserKindPos(s *Spec) (pos Pos, field string, ok bool) {
	for i, it := range s.Workload {
		p := index("workload", i)
		if r := it.Request; r != nil && r.Kind == KindBrowser {
			return r.slowPos, join(p, "request.kind"), true
		}
		for j, st := range it.Flow {
			if r := st.Request; r != nil && r.Kind == KindBrowser {
				return r.slowPos, join(index(join(p, "flow"), j), "request.kind"), true
			}
		}
	}
	return Pos{}, "", false
}

// browserOptions reads the fields of a browser request.
func (l *loader) browserOptions(f fields, path string, sc scope) *BrowserOptions {
	b := &BrowserOptions{Cache: BrowserCold, Contexts: DefaultBrowserContexts}
	if n := f.get("cache"); n != nil {
		if v, ok := l.oneOf(n, join(path, "cache"), BrowserCold, BrowserWarm); ok {
			b.Cache = v
		}
	}
	if n := f.get("contexts"); n != nil {
		if v, ok := l.intIn(n, join(path, "contexts"), 1, MaxBrowserContexts); ok {
			b.Contexts = v
		}
	}
	n := f.get("steps")
	if n == nil {
		return b
	}
	p := join(path, "steps")
	items, ok := l.list(n, p)
	if !ok {
		return b
	}
	if len(items) > maxBrowserSteps {
		l.errorf(n, p, "at most %d steps, got %d", maxBrowserSteps, len(items))
		return b
	}
	for i, item := range items {
		if st := l.browserStep(item, index(p, i), sc); st != nil {
			b.Steps = append(b.Steps, st)
		}
	}
	return b
}

// browserStep reads one step: {click: SEL}, {wait: SEL} or {type: SEL, text: TEMPLATE}.
func (l *loader) browserStep(n *yaml.Node, path string, sc scope) *BrowserStep {
	f, ok := l.mapping(n, path, StepClick, StepType, StepWait, "text")
	if !ok {
		return nil
	}
	st := &BrowserStep{Pos: Pos{Line: f.node.Line, Column: f.node.Column}}
	var actions []string
	for _, a := range []string{StepClick, StepType, StepWait} {
		if f.has(a) {
			actions = append(actions, a)
		}
	}
	if len(actions) != 1 {
		got := "none"
		if len(actions) > 1 {
			got = listOr(actions, "and")
		}
		l.errorf(f.node, path, "a step is one of click: SELECTOR, type: SELECTOR with text:, or wait: SELECTOR; got %s", got)
		return nil
	}
	st.Action = actions[0]
	sp := join(path, st.Action)
	v, ok := l.str(f.get(st.Action), sp)
	if !ok {
		return nil
	}
	if strings.TrimSpace(v) == "" {
		l.errorf(f.get(st.Action), sp, "a step needs a CSS selector, such as #email or button[type=submit]")
		return nil
	}
	st.Selector = v
	tn := f.get("text")
	switch {
	case st.Action == StepType && tn == nil:
		l.errorf(f.node, join(path, "text"), "missing required field: the text to type")
		return nil
	case st.Action != StepType && tn != nil:
		l.errorf(f.keys["text"], join(path, "text"), "text applies to a type step only")
		return nil
	case tn != nil:
		tp := join(path, "text")
		s, ok := l.str(tn, tp)
		if !ok {
			return nil
		}
		if st.Text = l.template(tn, tp, s, false, sc); st.Text == nil {
			return nil
		}
	}
	return st
}
