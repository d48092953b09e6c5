package scenarios

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// partKind says what one piece of a parsed template renders.
type partKind uint8

const (
	partLit         partKind = iota // literal text
	partSeq                         // {{ seq }}
	partSeed                        // {{ seed }}
	partUUID                        // {{ uuid }}
	partRandInt                     // {{ randint A B }}
	partField                       // {{ pool.field }}: this iteration's row
	partRandomField                 // {{ random pool.field }}: a fresh random row
	partVar                         // {{ name }}: a captured value
)

// part is one pre-parsed piece of a template.
type part struct {
	kind  partKind
	text  string // literal text, or the variable name
	pool  string
	field string
	lo    int64 // randint bounds
	hi    int64
	expr  string // the expression as written, for messages
}

// templateFuncs are the names a template expression may start with besides pools and captures.
var templateFuncs = [...]string{"seq", "seed", "uuid", "randint", "random"}

// isTemplateFunc reports whether name is a template function (a reserved name).
func isTemplateFunc(name string) bool {
	for _, f := range templateFuncs {
		if f == name {
			return true
		}
	}
	return false
}

// ParseTemplate parses a template string. Names are not resolved: a bare name
// is read as a captured value and pool.field as a pool field (Load checks both).
func ParseTemplate(src string) (*Template, error) {
	t, err := parseTemplate(src, false)
	if err != nil {
		return nil, err
	}
	return t, nil
}

// MustTemplate is ParseTemplate for literals known to be valid (tests, code); it panics on error.
func MustTemplate(src string) *Template {
	t, err := ParseTemplate(src)
	if err != nil {
		panic(err)
	}
	return t
}

// String returns the template source.
func (t *Template) String() string {
	if t == nil {
		return ""
	}
	return t.Source
}

// IsLiteral reports whether the template renders the same text for every iteration.
func (t *Template) IsLiteral() bool {
	if t == nil {
		return true
	}
	if !t.parsed {
		p, err := parseTemplate(t.Source, t.json)
		return err == nil && p.IsLiteral()
	}
	for _, p := range t.parts {
		if p.kind != partLit {
			return false
		}
	}
	return true
}

// parseTemplate splits src into literal and expression parts.
// With jsonEsc, rendered values are escaped as JSON string content.
func parseTemplate(src string, jsonEsc bool) (*Template, error) {
	t := &Template{Source: src, json: jsonEsc, parsed: true}
	rest := src
	for rest != "" {
		i := strings.Index(rest, "{{")
		if i < 0 {
			t.parts = append(t.parts, part{kind: partLit, text: rest})
			break
		}
		if i > 0 {
			t.parts = append(t.parts, part{kind: partLit, text: rest[:i]})
		}
		rest = rest[i+2:]
		j := strings.Index(rest, "}}")
		if j < 0 {
			return nil, fmt.Errorf("unclosed {{ in %q", src)
		}
		p, err := parseExpr(rest[:j])
		if err != nil {
			return nil, err
		}
		t.parts = append(t.parts, p)
		rest = rest[j+2:]
	}
	return t, nil
}

// parseExpr parses the inside of {{ }}.
func parseExpr(s string) (part, error) {
	expr := strings.TrimSpace(s)
	f := strings.Fields(expr)
	p := part{expr: expr}
	if len(f) == 0 {
		return p, errors.New("empty {{ }}")
	}
	switch f[0] {
	case "seq", "seed", "uuid":
		if len(f) != 1 {
			return p, fmt.Errorf("{{ %s }} takes no arguments", f[0])
		}
		p.kind = map[string]partKind{"seq": partSeq, "seed": partSeed, "uuid": partUUID}[f[0]]
		return p, nil
	case "randint":
		if len(f) != 3 {
			return p, fmt.Errorf("{{ %s }}: want {{ randint A B }} with two integers", expr)
		}
		lo, err1 := strconv.ParseInt(f[1], 10, 64)
		hi, err2 := strconv.ParseInt(f[2], 10, 64)
		if err1 != nil || err2 != nil {
			return p, fmt.Errorf("{{ %s }}: want {{ randint A B }} with two integers", expr)
		}
		if lo > hi {
			return p, fmt.Errorf("{{ %s }}: lower bound %d is above upper bound %d", expr, lo, hi)
		}
		p.kind, p.lo, p.hi = partRandInt, lo, hi
		return p, nil
	case "random":
		if len(f) != 2 {
			return p, fmt.Errorf("{{ %s }}: want {{ random pool.field }}", expr)
		}
		pool, field, ok := splitPoolField(f[1])
		if !ok {
			return p, fmt.Errorf("{{ %s }}: want {{ random pool.field }}", expr)
		}
		p.kind, p.pool, p.field = partRandomField, pool, field
		return p, nil
	}
	if len(f) != 1 {
		return p, fmt.Errorf("{{ %s }}: unknown function %q", expr, f[0])
	}
	if strings.Contains(f[0], ".") {
		pool, field, ok := splitPoolField(f[0])
		if !ok {
			return p, fmt.Errorf("{{ %s }}: want {{ pool.field }}", expr)
		}
		p.kind, p.pool, p.field = partField, pool, field
		return p, nil
	}
	if !isIdent(f[0]) {
		return p, fmt.Errorf("{{ %s }}: %q is not a name", expr, f[0])
	}
	p.kind, p.text = partVar, f[0]
	return p, nil
}

func splitPoolField(s string) (pool, field string, ok bool) {
	pool, field, ok = strings.Cut(s, ".")
	if !ok || !isIdent(pool) || field == "" || strings.Contains(field, ".") {
		return "", "", false
	}
	for _, r := range field {
		if !isNameRune(r) {
			return "", "", false
		}
	}
	return pool, field, true
}

// isIdent reports whether s is a name: a letter or _, then letters, digits, _ or -.
func isIdent(s string) bool {
	if s == "" {
		return false
	}
	for i, r := range s {
		if i == 0 && !(r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') {
			return false
		}
		if !isNameRune(r) {
			return false
		}
	}
	return true
}

func isNameRune(r rune) bool {
	return r == '_' || r == '-' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9'
}

// Execute renders the template for an iteration.
// It is safe for concurrent use by many goroutines, each with its own Iteration.
func (t *Template) Execute(it *Iteration) (string, error) {
	if t == nil {
		return "", nil
	}
	if !t.parsed {
		p, err := parseTemplate(t.Source, t.json)
		if err != nil {
			return "", err
		}
		return p.Execute(it)
	}
	switch len(t.parts) {
	case 0:
		return "", nil
	case 1:
		p := &t.parts[0]
		if p.kind == partLit {
			return p.text, nil
		}
		if !t.json && (p.kind == partField || p.kind == partVar) {
			return value(p, it)
		}
	}
	var b strings.Builder
	b.Grow(len(t.Source) + 32)
	var buf [40]byte
	for i := range t.parts {
		p := &t.parts[i]
		switch p.kind {
		case partLit:
			b.WriteString(p.text)
		case partSeq:
			if it == nil {
				return "", errNoIteration(p)
			}
			b.Write(strconv.AppendUint(buf[:0], it.Seq, 10))
		case partSeed:
			if it == nil {
				return "", errNoIteration(p)
			}
			b.Write(strconv.AppendInt(buf[:0], it.seed, 10))
		case partUUID:
			if it == nil {
				return "", errNoIteration(p)
			}
			b.Write(it.appendUUID(buf[:0]))
		case partRandInt:
			if it == nil {
				return "", errNoIteration(p)
			}
			b.Write(strconv.AppendInt(buf[:0], it.randInt(p.lo, p.hi), 10))
		default:
			v, err := value(p, it)
			if err != nil {
				return "", err
			}
			if t.json {
				writeJSONString(&b, v)
			} else {
				b.WriteString(v)
			}
		}
	}
	return b.String(), nil
}

func errNoIteration(p *part) error {
	return fmt.Errorf("{{ %s }}: no iteration to render with", p.expr)
}

// value returns the string a pool-field, random-field or variable part stands for.
func value(p *part, it *Iteration) (string, error) {
	if it == nil {
		return "", errNoIteration(p)
	}
	switch p.kind {
	case partVar:
		v, ok := it.Vars[p.text]
		if !ok {
			return "", fmt.Errorf("{{ %s }}: no captured value %q in this iteration", p.expr, p.text)
		}
		return v, nil
	case partField, partRandomField:
		var pool *Pool
		if it.spec != nil {
			pool = it.spec.Data[p.pool]
		}
		if pool == nil || len(pool.Rows) == 0 {
			return "", fmt.Errorf("{{ %s }}: no data pool %q", p.expr, p.pool)
		}
		var row int
		if p.kind == partField {
			row = it.rowIndex(pool)
		} else {
			row = int(it.rng.Uint64N(uint64(len(pool.Rows))))
		}
		v, ok := pool.Rows[row][p.field]
		if !ok {
			return "", fmt.Errorf("{{ %s }}: row %d of pool %q has no field %q", p.expr, row+1, p.pool, p.field)
		}
		return v, nil
	}
	return "", fmt.Errorf("{{ %s }}: not a value", p.expr)
}

// writeJSONString writes s escaped as the content of a JSON string (without quotes).
func writeJSONString(b *strings.Builder, s string) {
	const hex = "0123456789abcdef"
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b.WriteString(s[start:i])
			switch c {
			case '"', '\\':
				b.WriteByte('\\')
				b.WriteByte(c)
			case '\n':
				b.WriteString(`\n`)
			case '\r':
				b.WriteString(`\r`)
			case '\t':
				b.WriteString(`\t`)
			default:
				b.WriteString(`\u00`)
				b.WriteByte(hex[c>>4])
				b.WriteByte(hex[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b.WriteString(s[start:i])
			b.WriteString(`\ufffd`)
			i += size
			start = i
			continue
		}
		i += size
	}
	b.WriteString(s[start:])
}
