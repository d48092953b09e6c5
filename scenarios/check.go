package scenarios

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// jsonPath is a parsed path like $.a.b[0]: a list of object keys and array indexes.
type jsonPath []pathStep

type pathStep struct {
	key   string
	index int
	isIdx bool
}

// parseJSONPath parses the small path language: $ then any of .key, [N] (N < 0 counts
// from the end), ["key"] or ['key'].
func parseJSONPath(s string) (jsonPath, error) {
	if !strings.HasPrefix(s, "$") {
		return nil, fmt.Errorf("json path %q must start with $", s)
	}
	p := jsonPath{}
	rest := s[1:]
	for rest != "" {
		switch rest[0] {
		case '.':
			rest = rest[1:]
			end := strings.IndexAny(rest, ".[")
			if end < 0 {
				end = len(rest)
			}
			if end == 0 {
				return nil, fmt.Errorf("json path %q: empty key", s)
			}
			p = append(p, pathStep{key: rest[:end]})
			rest = rest[end:]
		case '[':
			end := strings.IndexByte(rest, ']')
			if end < 0 {
				return nil, fmt.Errorf("json path %q: unclosed [", s)
			}
			in := strings.TrimSpace(rest[1:end])
			if len(in) >= 2 && (in[0] == '"' || in[0] == '\'') && in[len(in)-1] == in[0] {
				key := in[1 : len(in)-1]
				if strings.ContainsAny(key, `"']`) {
					return nil, fmt.Errorf("json path %q: bad key %s", s, in)
				}
				p = append(p, pathStep{key: key})
			} else {
				n, err := strconv.Atoi(in)
				if err != nil {
					return nil, fmt.Errorf("json path %q: index %q is not an integer", s, in)
				}
				p = append(p, pathStep{index: n, isIdx: true})
			}
			rest = rest[end+1:]
		default:
			return nil, fmt.Errorf("json path %q: want . or [ after %q", s, s[:len(s)-len(rest)])
		}
	}
	return p, nil
}

// lookup follows the path in a decoded JSON value (decoded with UseNumber).
func (p jsonPath) lookup(v any) (any, bool) {
	for _, st := range p {
		if st.isIdx {
			a, ok := v.([]any)
			if !ok {
				return nil, false
			}
			i := st.index
			if i < 0 {
				i += len(a)
			}
			if i < 0 || i >= len(a) {
				return nil, false
			}
			v = a[i]
			continue
		}
		m, ok := v.(map[string]any)
		if !ok {
			return nil, false
		}
		if v, ok = m[st.key]; !ok {
			return nil, false
		}
	}
	return v, true
}

// jsonText is the string form of a JSON value used by equals and captures:
// strings as they are, numbers as written, true/false/null, compact JSON otherwise.
func jsonText(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case json.Number:
		return x.String()
	case bool:
		return strconv.FormatBool(x)
	case nil:
		return "null"
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

// decodeJSON decodes a response body, keeping numbers as written.
func decodeJSON(body []byte) (any, error) {
	d := json.NewDecoder(bytes.NewReader(body))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		return nil, err
	}
	if d.More() {
		return nil, errors.New("trailing data after the JSON value")
	}
	return v, nil
}

// Apply runs the captures of a step on a response, storing values in it.Vars.
// It returns an error naming the capture that found nothing.
func (s *Step) Apply(it *Iteration, status int, header http.Header, body []byte) error {
	if s == nil || len(s.Capture) == 0 {
		return nil
	}
	if it.Vars == nil {
		it.Vars = make(map[string]string, len(s.Capture))
	}
	var (
		doc     any
		docErr  error
		decoded bool
		errs    []error
	)
	for _, c := range s.Capture {
		if name, ok := strings.CutPrefix(c.From, "header:"); ok {
			vs := header.Values(strings.TrimSpace(name))
			if len(vs) == 0 {
				errs = append(errs, fmt.Errorf("capture %q: no header %s in the response (status %d)", c.Name, strings.TrimSpace(name), status))
				continue
			}
			it.Vars[c.Name] = vs[0]
			continue
		}
		path := c.path
		if path == nil {
			var err error
			if path, err = parseJSONPath(c.From); err != nil {
				errs = append(errs, fmt.Errorf("capture %q: %w", c.Name, err))
				continue
			}
		}
		if !decoded {
			doc, docErr = decodeJSON(body)
			decoded = true
		}
		if docErr != nil {
			errs = append(errs, fmt.Errorf("capture %q: response body is not JSON (status %d): %v", c.Name, status, docErr))
			continue
		}
		v, ok := path.lookup(doc)
		if !ok {
			errs = append(errs, fmt.Errorf("capture %q: %s not found in the response body (status %d)", c.Name, c.From, status))
			continue
		}
		it.Vars[c.Name] = jsonText(v)
	}
	return errors.Join(errs...)
}

// Check returns the failed expectations of a response ("status 500 not in [200 201]"); none means passed.
// A nil Expect checks the default: any 2xx or 3xx status.
func (e *Expect) Check(status int, header http.Header, body []byte, latency time.Duration) []string {
	var fails []string
	if e == nil || len(e.Status) == 0 {
		if status < 200 || status > 399 {
			fails = append(fails, fmt.Sprintf("status %d not 2xx/3xx", status))
		}
	} else {
		ok := false
		for _, s := range e.Status {
			if s == status {
				ok = true
				break
			}
		}
		if !ok {
			fails = append(fails, fmt.Sprintf("status %d not in %v", status, e.Status))
		}
	}
	if e == nil {
		return fails
	}
	if e.MaxLatency > 0 && latency > e.MaxLatency {
		fails = append(fails, fmt.Sprintf("latency %s over %s", latency, e.MaxLatency))
	}
	if len(e.JSON) == 0 {
		return fails
	}
	doc, err := decodeJSON(body)
	if err != nil {
		return append(fails, fmt.Sprintf("body is not JSON: %v", err))
	}
	for _, c := range e.JSON {
		fails = c.check(doc, fails)
	}
	return fails
}

func (c *JSONCheck) check(doc any, fails []string) []string {
	path := c.path
	if path == nil {
		var err error
		if path, err = parseJSONPath(c.Path); err != nil {
			return append(fails, err.Error())
		}
	}
	v, found := path.lookup(doc)
	wantExists := c.Exists == nil || *c.Exists
	switch {
	case !wantExists && found:
		return append(fails, fmt.Sprintf("json %s present, want absent", c.Path))
	case !wantExists:
		return fails
	case !found:
		return append(fails, fmt.Sprintf("json %s missing", c.Path))
	}
	if c.Equals != nil {
		if got := jsonText(v); got != *c.Equals {
			return append(fails, fmt.Sprintf("json %s = %q, want %q", c.Path, got, *c.Equals))
		}
	}
	return fails
}
