package scenarios

import (
	"time"

	"gopkg.in/yaml.v3"
)

// Window is a named span of the run that is measured like a fault's window (thresholds
// address it as {window:NAME}, the result has its figures) but injects nothing and has no
// recovery time: a marker such as "from 10 s after the restart to the end".
type Window struct {
	Name     string
	At       time.Duration // start, from the start of the load
	Duration time.Duration // > 0; the window ends at At + Duration, within the load
	Pos      Pos
}

// End is when the window closes, from the start of the load.
func (w *Window) End() time.Duration { return w.At + w.Duration }

// windowList reads windows: after faults:, so that a window named like a fault is an error
// on the window.
func (l *loader) windowList(n *yaml.Node) []*Window {
	items, ok := l.list(n, "windows")
	if !ok {
		return nil
	}
	var out []*Window
	for i, item := range items {
		if w := l.window(item, index("windows", i)); w != nil {
			out = append(out, w)
		}
	}
	return out
}

func (l *loader) window(n *yaml.Node, path string) *Window {
	f, ok := l.mapping(n, path, "name", "at", "duration")
	if !ok {
		return nil
	}
	w := &Window{Pos: Pos{Line: f.node.Line, Column: f.node.Column}}
	if n := l.require(f, "name"); n != nil {
		if v, ok := l.str(n, join(path, "name")); ok {
			w.Name = v
			l.windowName(n, join(path, "name"), "window", v, l.windows)
		}
	}
	if n := f.get("at"); n != nil {
		w.At, _ = l.duration(n, join(path, "at"), false)
	}
	if n := l.require(f, "duration"); n != nil {
		var ok bool
		if w.Duration, ok = l.duration(n, join(path, "duration"), true); ok && l.loadEnds > 0 && w.End() > l.loadEnds {
			l.errorf(n, join(path, "duration"), "window %sends at %s, after the load ends at %s", nameThen(w.Name), w.End(), l.loadEnds)
		}
	}
	return w
}

// nameThen returns "name " for a message, or "" when there is no valid name.
func nameThen(name string) string {
	if !nameRE.MatchString(name) {
		return ""
	}
	return name + " "
}

// windowName checks the name of a fault or a window (what), which names a window of the
// run either way: lower-case letters, digits and -, not steady, unique among the names
// seen (the faults' or the windows'), and no window named like a fault. A good name is
// added to seen.
func (l *loader) windowName(n *yaml.Node, path, what, v string, seen map[string]bool) {
	switch {
	case !nameRE.MatchString(v):
		l.errorf(n, path, "bad %s name %q: use lower-case letters, digits and -", what, v)
	case v == "steady":
		l.errorf(n, path, "%s name %q is reserved for the time outside all faults and windows", what, v)
	case what == "window" && l.faults[v]:
		l.errorf(n, path, "window name %q is a fault's: a fault is measured in a window of its own name already", v)
	case seen[v]:
		l.errorf(n, path, "duplicate %s name %q", what, v)
	default:
		seen[v] = true
	}
}
