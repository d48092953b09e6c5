package scenarios

import (
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"
)

// data reads the named pools.
func (l *loader) data(n *yaml.Node) map[string]*Pool {
	pools := map[string]*Pool{}
	l.badPools = map[string]bool{}
	pairs, ok := l.pairs(n, "data")
	if !ok {
		return pools
	}
	for _, kv := range pairs {
		name, path := kv[0].Value, join("data", kv[0].Value)
		switch {
		case !isIdent(name) || strings.Contains(name, "-"):
			l.errorf(kv[0], path, "bad pool name %q: use letters, digits and _", name)
			continue
		case isTemplateFunc(name):
			l.errorf(kv[0], path, "pool name %q is a template function; choose another", name)
			continue
		}
		if p := l.pool(name, kv[1], path); p != nil {
			pools[name] = p
		} else {
			l.badPools[name] = true // already reported; templates naming it add nothing
		}
	}
	return pools
}

func (l *loader) pool(name string, n *yaml.Node, path string) *Pool {
	p := &Pool{Name: name, Order: "sequential"}
	if r := l.resolve(n); r != nil && r.Kind == yaml.SequenceNode {
		p.Rows = l.inlineRows(r, path)
		return l.checkRows(p, n, path)
	}
	f, ok := l.mapping(n, path, "rows", "file", "generate", "order")
	if !ok {
		return nil
	}
	if n := f.get("order"); n != nil {
		p.Order, _ = l.oneOf(n, join(path, "order"), "sequential", "random")
	}
	var sources []string
	for _, k := range []string{"rows", "file", "generate"} {
		if f.has(k) {
			sources = append(sources, k)
		}
	}
	if len(sources) != 1 {
		l.errorf(f.node, path, "want exactly one of rows, file or generate, got %d", len(sources))
		return nil
	}
	switch sources[0] {
	case "rows":
		items, ok := l.list(f.get("rows"), join(path, "rows"))
		if !ok {
			return nil
		}
		p.Rows = l.inlineRows(&yaml.Node{Kind: yaml.SequenceNode, Content: items}, join(path, "rows"))
	case "file":
		p.Rows = l.fileRows(f.get("file"), join(path, "file"))
	case "generate":
		p.Rows = l.generate(f.get("generate"), join(path, "generate"))
	}
	return l.checkRows(p, f.node, path)
}

func (l *loader) checkRows(p *Pool, n *yaml.Node, path string) *Pool {
	if p.Rows == nil {
		return nil
	}
	if len(p.Rows) == 0 {
		l.errorf(n, path, "pool %q has no rows", p.Name)
		return nil
	}
	return p
}

// inlineRows reads a list of mappings of scalars.
func (l *loader) inlineRows(n *yaml.Node, path string) []map[string]string {
	rows := []map[string]string{}
	for i, item := range n.Content {
		p := index(path, i)
		pairs, ok := l.pairs(item, p)
		if !ok {
			return nil
		}
		row := make(map[string]string, len(pairs))
		for _, kv := range pairs {
			v, ok := l.str(kv[1], join(p, kv[0].Value))
			if !ok {
				return nil
			}
			row[kv[0].Value] = v
		}
		rows = append(rows, row)
	}
	return rows
}

// fileRows reads a CSV (header row = field names) or JSON (a list of objects) file.
func (l *loader) fileRows(n *yaml.Node, path string) []map[string]string {
	name, ok := l.str(n, path)
	if !ok {
		return nil
	}
	ext := strings.ToLower(filepath.Ext(name))
	if ext != ".csv" && ext != ".json" {
		l.errorf(n, path, "data file %q must end in .csv or .json", name)
		return nil
	}
	full := name
	if !filepath.IsAbs(full) {
		full = filepath.Join(l.dir, name)
	}
	f, err := os.Open(full)
	if err != nil {
		l.errorf(n, path, "read data file: %v", err)
		return nil
	}
	defer f.Close()
	if st, err := f.Stat(); err != nil || !st.Mode().IsRegular() {
		l.errorf(n, path, "data file %q is not a regular file", name)
		return nil
	}
	r := io.LimitReader(f, maxDataBytes)
	var rows []map[string]string
	if ext == ".csv" {
		rows, err = csvRows(r)
	} else {
		rows, err = jsonRows(r)
	}
	if err != nil {
		l.errorf(n, path, "data file %s: %v", name, err)
		return nil
	}
	return rows
}

func csvRows(r io.Reader) ([]map[string]string, error) {
	cr := csv.NewReader(r)
	header, err := cr.Read()
	if err == io.EOF {
		return nil, errors.New("empty file, want a header row")
	}
	if err != nil {
		return nil, err
	}
	for i, h := range header {
		header[i] = strings.TrimSpace(strings.TrimPrefix(h, "\ufeff"))
		if header[i] == "" {
			return nil, fmt.Errorf("column %d has no name in the header row", i+1)
		}
	}
	rows := []map[string]string{}
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			return rows, nil
		}
		if err != nil {
			return nil, err
		}
		if len(rows) >= maxPoolRows {
			return nil, fmt.Errorf("more than %d rows", maxPoolRows)
		}
		row := make(map[string]string, len(header))
		for i, h := range header {
			row[h] = rec[i]
		}
		rows = append(rows, row)
	}
}

func jsonRows(r io.Reader) ([]map[string]string, error) {
	var items []map[string]any
	d := json.NewDecoder(r)
	d.UseNumber()
	if err := d.Decode(&items); err != nil {
		return nil, fmt.Errorf("want a JSON list of objects: %v", err)
	}
	if len(items) > maxPoolRows {
		return nil, fmt.Errorf("more than %d rows", maxPoolRows)
	}
	rows := make([]map[string]string, 0, len(items))
	for _, it := range items {
		row := make(map[string]string, len(it))
		for k, v := range it {
			row[k] = jsonText(v)
		}
		rows = append(rows, row)
	}
	return rows, nil
}

// generate makes count rows from field templates, with {{ seq }} = 1..count.
func (l *loader) generate(n *yaml.Node, path string) []map[string]string {
	f, ok := l.mapping(n, path, "count", "fields")
	if !ok {
		return nil
	}
	var count int
	cn, fn := l.require(f, "count"), l.require(f, "fields")
	if cn != nil {
		count, ok = l.intIn(cn, join(path, "count"), 1, maxPoolRows)
	}
	countOK := cn != nil && ok
	if fn == nil {
		return nil
	}
	pairs, ok := l.pairs(fn, join(path, "fields"))
	if !ok {
		return nil
	}
	if len(pairs) == 0 {
		l.errorf(fn, join(path, "fields"), "want at least one field")
		return nil
	}
	type field struct {
		name string
		t    *Template
	}
	var fields []field
	bad := false
	for _, kv := range pairs {
		p := join(join(path, "fields"), kv[0].Value)
		src, ok := l.str(kv[1], p)
		if !ok {
			bad = true
			continue
		}
		t, err := parseTemplate(src, false)
		if err != nil {
			l.errorf(kv[1], p, "template: %v", err)
			bad = true
			continue
		}
		for _, part := range t.parts {
			switch part.kind {
			case partLit, partSeq, partRandInt, partUUID:
			default:
				l.errorf(kv[1], p, "{{ %s }}: generated fields may use only seq, randint and uuid", part.expr)
				bad = true
			}
		}
		fields = append(fields, field{kv[0].Value, t})
	}
	if bad || !countOK {
		return nil
	}
	sort.SliceStable(fields, func(i, j int) bool { return fields[i].name < fields[j].name })
	rows := make([]map[string]string, count)
	var gen Spec
	for i := range rows {
		it := gen.NewIteration(uint64(i+1), 0)
		row := make(map[string]string, len(fields))
		for _, fd := range fields {
			v, err := fd.t.Execute(it)
			if err != nil {
				l.errorf(fn, join(path, "fields"), "%v", err)
				return nil
			}
			row[fd.name] = v
		}
		rows[i] = row
	}
	return rows
}

// poolFields lists the field names of a pool's rows.
func poolFields(p *Pool) []string {
	seen := map[string]bool{}
	var out []string
	for i, r := range p.Rows {
		if i > 100 {
			break
		}
		for k := range r {
			if !seen[k] {
				seen[k] = true
				out = append(out, k)
			}
		}
	}
	sort.Strings(out)
	return out
}

func hasField(p *Pool, field string) bool {
	for _, r := range p.Rows {
		if _, ok := r[field]; ok {
			return true
		}
	}
	return false
}
