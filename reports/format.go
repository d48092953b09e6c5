package reports

import (
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"

	"github.com/trendtactics/loadlab/result"
)

// Format is one way of writing a result: its name on the command line, the file it is
// written to in an output directory, and its writer.
type Format struct {
	Name  string // json, junit, md, html, text
	File  string // result.json, junit.xml, summary.md, report.html, summary.txt
	Write func(io.Writer, *result.Result) error
}

// Formats returns every output format, in the order they are written.
func Formats() []Format {
	return []Format{
		{Name: "json", File: "result.json", Write: result.WriteJSON},
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

// capacityLine describes the capacity measured before the load ("" when none was):
// "capacity " and capacityFigures.
func capacityLine(res *result.Result) string {
	if res.Capacity == nil {
		return ""
	}
	return "capacity " + capacityFigures(res.Capacity)
}

// capacityFigures says what the capacity ramp found: "120.0/s, measured by a ramp ...".
func capacityFigures(c *result.CapacityResult) string {
	s := fmt.Sprintf("%.1f/s, measured by a ramp %s → %s/s (%s of %s) keeping %s",
		c.RPS, strconv.FormatFloat(c.FromRPS, 'f', -1, 64), strconv.FormatFloat(c.ToRPS, 'f', -1, 64),
		seconds(c.StoppedS), seconds(c.RampS), c.Objective)
	if c.Saturated {
		s += fmt.Sprintf("; the knee was found (best three seconds ended at %s)", seconds(c.At))
	} else {
		s += "; the ramp ended before the objective broke: the capacity is a lower bound"
	}
	if !c.Valid {
		s += "; the generator did not hold the ramp"
	}
	return s
}

// shedLine describes load shedding over the run ("" when nothing was shed).
func shedLine(res *result.Result) string {
	t := res.Total
	if t == nil || t.Shed == 0 || t.Count == 0 {
		return ""
	}
	s := fmt.Sprintf("shed %d of %d answers (%s, 429 and 503); goodput %d answers", t.Shed, t.Count,
		percent(float64(t.Shed)/float64(t.Count)), t.Good)
	if secs := res.DurationMS / 1000; secs > 0 {
		s += fmt.Sprintf(" (%.1f/s)", float64(t.Good)/secs)
	}
	if a := t.Admitted; a != nil {
		s += fmt.Sprintf("; admitted requests p50 %s ms, p99 %s ms", ms(a.P50), ms(a.P99))
	}
	return s
}
