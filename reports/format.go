package reports

import (
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/trendtactics/loadlab/loadgen"
)

// Format is one way of writing a result: its name on the command line, the file it is
// written to in an output directory, and its writer.
type Format struct {
	Name  string // json, junit, md, html, text
	File  string // result.json, junit.xml, summary.md, report.html, summary.txt
	Write func(io.Writer, *loadgen.Result) error
}

// Formats returns every output format, in the order they are written.
func Formats() []Format {
	return []Format{
		{Name: "json", File: "result.json", Write: WriteJSON},
		{Name: "junit", File: "junit.xml", Write: WriteJUnit},
		{Name: "md", File: "summary.md", Write: WriteMarkdown},
		{Name: "html", File: "report.html", Write: WriteHTML},
		{Name: "text", File: "summary.txt", Write: WriteText},
	}
}

// ParseFormats parses a comma-separated list of format names ("json,junit,md,html")
// into formats in the order of Formats, each once. It reports every unknown name.
func ParseFormats(list string) ([]Format, error) {
	want := map[string]bool{}
	var unknown []string
	known := Formats()
	for _, name := range strings.Split(list, ",") {
		name = strings.ToLower(strings.TrimSpace(name))
		if name == "" {
			continue
		}
		switch name { // aliases
		case "markdown":
			name = "md"
		case "xml":
			name = "junit"
		}
		found := false
		for _, f := range known {
			if f.Name == name {
				found = true
				break
			}
		}
		if !found {
			unknown = append(unknown, fmt.Sprintf("%q", name))
			continue
		}
		want[name] = true
	}
	if len(unknown) > 0 {
		names := make([]string, len(known))
		for i, f := range known {
			names[i] = f.Name
		}
		return nil, fmt.Errorf("unknown format %s (want %s)", strings.Join(unknown, ", "), strings.Join(names, ", "))
	}
	if len(want) == 0 {
		return nil, fmt.Errorf("no format given (want a comma-separated list of json, junit, md, html, text)")
	}
	var out []Format
	for _, f := range known {
		if want[f.Name] {
			out = append(out, f)
		}
	}
	return out, nil
}

// sortedKeys returns the keys of m in order.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
