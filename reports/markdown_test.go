package reports_test

import (
	"bytes"
	"strings"
	"testing"

	"github.com/trendtactics/loadlab/reports"
)

func TestWriteMarkdown(t *testing.T) {
	for _, tc := range junitVariants {
		t.Run(tc.name, func(t *testing.T) {
			res := evaluated(t)
			tc.edit(res)
			res.Verdict = reports.Verdict(res)
			var buf bytes.Buffer
			if err := reports.WriteMarkdown(&buf, res); err != nil {
				t.Fatal(err)
			}
			golden(t, "TestWriteMarkdown."+tc.name+".md", buf.Bytes())
		})
	}
}

// TestMarkdownEscapes checks that names cannot break a table row or inject markup.
func TestMarkdownEscapes(t *testing.T) {
	res := evaluated(t)
	res.Scenario = "*bold* <img src=x> [link](http://x)"
	res.Requests[0].Name = "a|b`c``d\ne"
	var buf bytes.Buffer
	if err := reports.WriteMarkdown(&buf, res); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	if !strings.Contains(out, `\*bold\* \<img src=x\> \[link\](http://x)`) {
		t.Errorf("scenario name not escaped:\n%s", out)
	}
	if !strings.Contains(out, "| ```a\\|b`c``d e``` | 50 |") {
		t.Errorf("request name not fenced:\n%s", out)
	}
	// Every row of the request table has its 12 cell separators (pipes not escaped).
	for _, line := range strings.Split(out, "\n") {
		if strings.HasPrefix(line, "| ```a") {
			if n := strings.Count(line, "|") - strings.Count(line, `\|`); n != 12 {
				t.Errorf("row has %d separators, want 12: %s", n, line)
			}
		}
	}
}
